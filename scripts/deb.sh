#!/usr/bin/env bash
# Builds the Debian package with cargo-deb: both binaries, the systemd unit, the default
# config as a conffile, man pages and shell completions (printed by the binaries' hidden
# --help-man and --completion-script flags), the stock rules and dashboards.
#
#   scripts/deb.sh            # prints the path of the .deb as its last line
#
# Needs cargo-deb (`cargo install --locked cargo-deb`).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> release binaries" >&2
cargo build --release --locked -p lakewatch-exporter -p lakewatch-rulegen >&2
target=${CARGO_TARGET_DIR:-target}
# cargo-deb reads assets named `target/release/...` from the real target directory.
gen="$target/release/deb-assets"
rm -rf "$gen"
mkdir -p "$gen"
for bin in lakewatch-exporter lakewatch-rulegen; do
  "$target/release/$bin" --help-man | gzip -9n > "$gen/$bin.1.gz"
  "$target/release/$bin" --completion-script bash > "$gen/$bin.bash"
  "$target/release/$bin" --completion-script zsh > "$gen/_$bin"
  "$target/release/$bin" --completion-script fish > "$gen/$bin.fish"
done

echo "==> cargo deb" >&2
deb=$(cargo deb -p lakewatch-exporter --no-build --locked --output "$target/debian/" 2>&2 | tail -n 1)
echo "$deb"
