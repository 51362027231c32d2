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

# Everything the package takes that is built, not checked in, goes to .build/deb/ (the
# asset paths in exporter/Cargo.toml).
gen=.build/deb
rm -rf "$gen"
scripts/release-binaries.sh "$gen"
for bin in lakewatch-exporter lakewatch-rulegen; do
  "$gen/$bin" --help-man | gzip -9n > "$gen/$bin.1.gz"
  "$gen/$bin" --completion-script bash > "$gen/$bin.bash"
  "$gen/$bin" --completion-script zsh > "$gen/_$bin"
  "$gen/$bin" --completion-script fish > "$gen/$bin.fish"
done

echo "==> cargo deb" >&2
deb=$(cargo deb -p lakewatch-exporter --no-build --locked --output "${CARGO_TARGET_DIR:-target}/debian/" | tail -n 1)
echo "$deb"
