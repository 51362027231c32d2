#!/usr/bin/env bash
# Fetches Debian's PostgreSQL N server and client from the Debian release that packages
# it, unpacks them with their whole library closure (the C library included) into
# $LAKEWATCH_PG_ROOT/N, and prints the server's `bin` directory, ready for
# `LAKEWATCH_PG_BIN`:
#
#   LAKEWATCH_PG_BIN=$(scripts/postgres-version.sh 17) cargo nextest run -E 'test(/^postgres::/)'
#
# Debian stable carries one major version (bookworm: 15). 13 comes from bullseye and 17
# from trixie, whose binaries need a newer C library than bookworm's. So every binary is
# rewritten with patchelf to start with the dynamic loader it was built against and to
# find its libraries (and those of the modules postgres loads, e.g. pg_stat_statements)
# in the unpacked tree first: it runs natively, as any user, on host paths, with the
# exact bits Debian ships. Nothing is installed on the host; the apt state is private.
# A second call with the tree in place only prints the path.
set -euo pipefail

major="${1:?usage: $0 MAJOR   (13, 15 or 17)}"
case "$major" in
  13) suite=bullseye ;;
  15) suite=bookworm ;;
  17) suite=trixie ;;
  *) echo "$0: no Debian release packages PostgreSQL $major (13, 15 or 17)" >&2; exit 2 ;;
esac
base="${LAKEWATCH_PG_ROOT:-/var/tmp/lakewatch-pg}"
root="$base/$major"
bin="$root/usr/lib/postgresql/$major/bin"
if [ -f "$root/.complete" ]; then
  echo "$bin"
  exit 0
fi

for tool in apt-get dpkg-deb patchelf; do
  if ! command -v "$tool" >/dev/null; then
    echo "$0: needs $tool (apt-get install patchelf)" >&2
    exit 1
  fi
done

rm -rf "$root" "$base/apt-$major"
apt="$base/apt-$major"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$root"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
  >"$apt/sources.list"
: >"$apt/status"
# An apt of its own: its own sources, lists, cache and an empty dpkg status, so it
# resolves the package's whole dependency closure and downloads it without touching the
# host's package state.
opts=(
  -o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
  -o "Dir::Etc::Preferences=$apt/preferences" -o "Dir::Etc::PreferencesParts=$apt/parts"
  -o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status"
  -o "Dir::Cache=$apt/cache" -o "Debug::NoLocking=1" -o "APT::Install-Recommends=false"
  -o "APT::Sandbox::User=root"
)
echo "==> PostgreSQL $major from Debian $suite into $root" >&2
apt-get -qq "${opts[@]}" update >&2
apt-get -qq -y "${opts[@]}" install --download-only "postgresql-$major" "postgresql-client-$major" >&2
for deb in "$apt"/cache/archives/*.deb; do
  dpkg-deb -x "$deb" "$root"
done

# The loader as a regular file inside the tree (bullseye's /lib64 link is absolute).
loader=$(find "$root/lib/x86_64-linux-gnu" "$root/usr/lib/x86_64-linux-gnu" -maxdepth 1 \
  \( -name 'ld-linux-x86-64.so.2' -o -name 'ld-2.*.so' \) -type f 2>/dev/null | head -n1 || true)
[ -n "$loader" ] || { echo "$0: no dynamic loader in $root" >&2; exit 1; }
libs="$root/usr/lib/postgresql/$major/lib:$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu"
for exe in "$bin"/*; do
  [ -f "$exe" ] && [ ! -L "$exe" ] || continue
  # Only dynamically linked ELF executables (bin/ also holds scripts).
  patchelf --print-interpreter "$exe" >/dev/null 2>&1 || continue
  # DT_RPATH, not RUNPATH: it also applies to the libraries and modules the binary loads.
  patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$libs" "$exe"
done
"$bin/postgres" --version >&2
touch "$root/.complete"
rm -rf "$apt"
echo "$bin"
