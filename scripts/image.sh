#!/usr/bin/env bash
# Builds the lakewatch container image from the repository's Dockerfile.
#
#   scripts/image.sh [TAG]          # default tag: lakewatch:<version>
#
# 1. Builds the release binaries and copies them, without debug info, to
#    .build/<os>-<arch>/ where the Dockerfile expects them (scripts/release-binaries.sh).
# 2. Unless BASE names an image to build on (e.g. gcr.io/distroless/cc-debian12:nonroot
#    where a registry is reachable), assembles an equivalent base from this machine's
#    Debian packages: libc6 and libgcc-s1 unpacked into an empty rootfs, the system CA
#    bundle, a passwd with distroless' users (root, nobody, nonroot 65532), loaded with
#    `docker import`. Nothing is pulled.
# 3. docker build with the version, git revision and date as build args (OCI labels).
#
# Prints the image tag as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(cargo metadata --no-deps --format-version 1 --locked \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "lakewatch-exporter"))')
tag=${1:-lakewatch:$version}
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
os=linux
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

scripts/release-binaries.sh ".build/$os-$arch"

base=${BASE:-}
if [ -z "$base" ]; then
  base=lakewatch-base:cc-debian12
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    echo "==> assembling $base from Debian packages" >&2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && apt-get download -qq libc6 libgcc-s1 >&2)
    mkdir -p "$work/rootfs"
    for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/rootfs"; done
    rm -rf "$work/rootfs/usr/share/doc" "$work/rootfs/usr/share/lintian" "$work/rootfs/usr/share/locale"
    mkdir -p "$work/rootfs/etc/ssl/certs" "$work/rootfs/tmp" "$work/rootfs/home/nonroot"
    chmod 1777 "$work/rootfs/tmp"
    cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
      > "$work/rootfs/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$work/rootfs/etc/group"
    chown 65532:65532 "$work/rootfs/home/nonroot" 2>/dev/null || true
    tar -C "$work/rootfs" --numeric-owner -c . | docker import - "$base" >/dev/null
  fi
fi

echo "==> docker build $tag on $base" >&2
docker build -q \
  --build-arg "BASE=$base" --build-arg "OS=$os" --build-arg "ARCH=$arch" \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$tag" . >&2
echo "$tag"
