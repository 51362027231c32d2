#!/usr/bin/env bash
# Builds the release binaries and copies them to DIR stripped, as they ship in the
# image and the .deb (Debian policy: no symbol tables or debug info in /usr/bin). The
# release profile keeps line tables for profiling and benchmarks; the binaries in the
# target directory keep them.
#
#   scripts/release-binaries.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/release-binaries.sh DIR}

echo "==> release binaries" >&2
cargo build --release --locked -p lakewatch-exporter -p lakewatch-rulegen >&2
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$out"
for bin in lakewatch-exporter lakewatch-rulegen; do
  strip --strip-unneeded -o "$out/$bin" "$target/release/$bin"
done
