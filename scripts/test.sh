#!/usr/bin/env bash
# Runs Lakewatch's whole test suite: formatting, lints, unit and integration tests.
#
# Integration tests talk to real components (promtool, Debian's node_exporter, ...).
# Run as root, this script installs the Debian packages they need; otherwise it prints
# the command to run. Tests whose component is missing skip with a reason, unless
# CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, and the binary that proves each is installed.
declare -A PACKAGES=(
  [prometheus]=/usr/bin/promtool
  [prometheus-node-exporter]=/usr/bin/prometheus-node-exporter
  [openssl]=/usr/bin/openssl
  [curl]=/usr/bin/curl
  [prometheus-postgres-exporter]=/usr/bin/prometheus-postgres-exporter
  [postgresql]=/usr/bin/psql
  [prometheus-alertmanager]=/usr/bin/amtool
  # scripts/postgres-version.sh: Postgres 13 and 17 from other Debian releases.
  [patchelf]=/usr/bin/patchelf
  # Deploy tests: kustomize, the unit verifier, Compose.
  [kubernetes-client]=/usr/bin/kubectl
  [systemd]=/usr/bin/systemd-analyze
  [docker-compose]=/usr/bin/docker-compose
  [lintian]=/usr/bin/lintian
)

missing=()
for pkg in "${!PACKAGES[@]}"; do
  [ -x "${PACKAGES[$pkg]}" ] || missing+=("$pkg")
done
# The container tests build their Docker image from a static busybox (the dynamic one of
# the `busybox` package cannot run in an empty rootfs). busybox-static conflicts with
# `busybox`; where that is installed the tests fetch the .deb with `apt-get download`
# instead of replacing it.
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" \
  && ! dpkg-query -W -f='${Status}' busybox 2>/dev/null | grep -q "ok installed"; then
  missing+=(busybox-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Debian starts packaged daemons where it can; the tests start their own copies.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "==> missing test dependencies; their tests will skip (or fail under CI=true):"
    echo "    sudo apt-get install -y ${missing[*]}"
  fi
fi

# Python packages the tests use (moto's S3 server), installed the same way: only when
# missing, and only where we may (root, or a user-writable Python).
# kubernetes-validate: the Kubernetes schemas for the deploy tests, offline.
pip_missing=()
command -v moto_server >/dev/null || pip_missing+=('moto[server]')
python3 -c 'import kubernetes_validate' 2>/dev/null || pip_missing+=(kubernetes-validate)
if [ ${#pip_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && python3 -m pip --version >/dev/null 2>&1; then
    echo "==> installing ${pip_missing[*]}"
    python3 -m pip install -q "${pip_missing[@]}"
  else
    echo "==> missing Python packages; their tests will skip (or fail under CI=true):"
    echo "    pip install ${pip_missing[*]}"
  fi
fi

# cargo-deb builds the .deb the deploy test installs (a few minutes to compile, once).
if ! command -v cargo-deb >/dev/null; then
  echo "==> installing cargo-deb"
  cargo install --locked --quiet cargo-deb
fi

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The deploy tests package the release binaries (image, .deb). Built here first, so
# their nested cargo finds them done instead of compiling while timing-sensitive tests run.
echo "==> release binaries"
cargo build --release --locked -p lakewatch-exporter -p lakewatch-rulegen

echo "==> tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast -E 'not test(/^lab::/)'
  # The lab (exporter/tests/it/lab/, README "The lab"): Prometheus, Alertmanager,
  # Postgres, moto, Docker containers and two tmpfs mounts around the real exporter,
  # proving every shipped query and stock alert live. It runs alone, after the rest: for
  # about five minutes it keeps both cores of a CI machine busy enough to upset the
  # timing of other tests. It needs root (the mounts) and the packages above; without
  # them it skips, under CI=true it fails.
  echo "==> the lab"
  cargo nextest run -p lakewatch-exporter --locked -E 'test(/^lab::/)' --no-capture
  # nextest does not run doctests.
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi

# The Postgres tests (postgres:: and pg_depth::) again on the oldest and newest
# supported major versions (the run above used the installed one, 15 on bookworm),
# unpacked from the Debian releases that package them. Skipped without network to deb.debian.org, except under CI=true.
for major in 13 17; do
  echo "==> Postgres tests on PostgreSQL $major"
  if ! bin=$(scripts/postgres-version.sh "$major"); then
    if [ "${CI:-}" = true ]; then
      echo "PostgreSQL $major could not be fetched" >&2
      exit 1
    fi
    echo "SKIPPED: PostgreSQL $major could not be fetched (scripts/postgres-version.sh $major)"
    continue
  fi
  if cargo nextest --version >/dev/null 2>&1; then
    LAKEWATCH_PG_BIN="$bin" cargo nextest run -p lakewatch-exporter --locked --no-fail-fast \
      -E 'test(/^postgres::|^pg_depth::/)'
  else
    LAKEWATCH_PG_BIN="$bin" cargo test -p lakewatch-exporter --locked --no-fail-fast \
      --test it -- postgres:: pg_depth::
  fi
done

# A short fuzz run of every parser; the corpus replay above already ran with the tests.
echo "==> fuzz"
scripts/fuzz.sh "${LAKEWATCH_FUZZ_SECONDS:-20}"
