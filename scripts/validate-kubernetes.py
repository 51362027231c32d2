#!/usr/bin/env python3
"""Validates rendered Kubernetes manifests offline, strictly (unknown fields are errors).

    kubectl kustomize deploy/kubernetes/base | scripts/validate-kubernetes.py -

Core kinds go through kubernetes-validate (PyPI: the Kubernetes OpenAPI schemas);
Prometheus Operator kinds (ServiceMonitor, PrometheusRule, PodMonitor) through the
openAPIV3Schema of the operator's own CRDs, vendored in ../shared/schemas. Prints one
line per object and exits 1 when any fails.
"""
import os
import sys

import jsonschema
import kubernetes_validate
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRDS = os.path.join(ROOT, "..", "shared", "schemas", "prometheus-operator")
KUBERNETES_VERSION = os.environ.get("KUBERNETES_VERSION", "1.32.0")


def crd_schema(kind):
    """The CRD's schema for `kind` (monitoring.coreos.com/v1), or None."""
    for name in os.listdir(CRDS):
        with open(os.path.join(CRDS, name)) as f:
            crd = yaml.safe_load(f)
        if crd["spec"]["names"]["kind"] == kind:
            return next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"][
                "openAPIV3Schema"
            ]
    return None


def unknown_fields(value, schema, path):
    """Fields the schema does not declare (the API server would prune them silently)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found = []
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in value.items():
            if key in schema["properties"]:
                found += unknown_fields(sub, schema["properties"][key], f"{path}.{key}")
            elif "additionalProperties" not in schema:
                found.append(f"{path}.{key}")
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, sub in value.items():
            found += unknown_fields(sub, schema["additionalProperties"], f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, sub in enumerate(value):
            found += unknown_fields(sub, schema["items"], f"{path}[{i}]")
    return found


def check(doc):
    kind, api = doc.get("kind"), doc.get("apiVersion", "")
    if api.startswith("monitoring.coreos.com/"):
        schema = crd_schema(kind)
        if schema is None:
            return f"no CRD schema for {kind}"
        # No check_schema(): the CRDs' patterns are Go regexes (`^(?i)(abort|warn)?$`)
        # that Python's re refuses; they are only compiled for fields that are present.
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))
        if errors:
            e = errors[0]
            return f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        extra = unknown_fields(doc, schema, "")
        return f"unknown fields {extra}" if extra else None
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return f"{'/'.join(map(str, e.path))}: {e.message}"
    except kubernetes_validate.SchemaNotFoundError as e:
        return str(e)
    return None


def main(paths):
    failed = 0
    for path in paths:
        text = sys.stdin.read() if path == "-" else open(path).read()
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            what = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            problem = check(doc)
            if problem:
                failed += 1
                print(f"FAIL {what}: {problem}")
            else:
                print(f"ok   {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["-"]))
