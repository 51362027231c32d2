#!/usr/bin/env bash
# Reload under load (issue #19): what a configuration reload costs the scrapes that run
# meanwhile, in one run against the same exporter without reloads.
#
# Our exporter (release build) with the disk collector and one Postgres target scrapes a
# throw-away PostgreSQL; wrk drives /metrics at 16 connections, paced (each connection
# pauses 10 ms: below saturation, so latency is the exporter's and not the run queue's)
# and saturated. Each cell runs twice: quiet, and while a loop reloads every 100 ms with
# `POST /-/reload`, alternating between the config and the config plus a second target
# (each reload keeps one target and starts or stops the other). Reported: req/s, p50/p99,
# non-2xx answers, reloads done and their own latency (curl's time_total), and the
# exporter's open fds and RSS before and after.
#
# Usage: benches/load/reload.sh [SECONDS_PER_CELL]   (default 10)
# Needs: wrk, curl, postgresql. Writes BENCHMARKS.md's "reload" section.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
OUT=${LAKEWATCH_BENCH_OUT:-BENCHMARKS.md}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
LOAD=benches/load

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y ${tool}" >&2; exit 1; }
done

cargo build --release --quiet -p lakewatch-exporter --bin lakewatch-exporter
BIN="$CARGO_TARGET_DIR/release"
# shellcheck source=lib.sh
source "$LOAD/lib.sh"
bench_init

pg_start
target() {  # target NAME: one Postgres target entry on the bench server
  cat <<YML
      - name: $1
        dsn: postgresql://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable
        password_file: $PG_PASSWORD_FILE
YML
}
header() {
  cat <<YML
collectors:
  container: { enabled: false }
  postgres:
    interval: 5s
    timeout: 4s
    targets:
YML
}
{ header; target bench; } > "$WORK/one.yml"
{ header; target bench; target extra; } > "$WORK/two.yml"
cp "$WORK/one.yml" "$WORK/config.yml"

PORT=$(free_port)
"$BIN/lakewatch-exporter" --web.listen-address "127.0.0.1:$PORT" --log.level warn \
  --web.enable-lifecycle --config "$WORK/config.yml" 2>>"$WORK/exporter.log" &
PID=$!; PIDS+=("$PID")
wait_http "http://127.0.0.1:$PORT/readyz"
URL="http://127.0.0.1:$PORT/metrics"
fds() { ls "/proc/$PID/fd" | wc -l; }
FDS0=$(fds); RSS0=$(rss_kb "$PID")

# reloader: every 100 ms swap the config and POST /-/reload; one line per reload
# (HTTP code, seconds) in $WORK/reloads until $WORK/stop exists.
reloader() {
  local i=0
  while [ ! -e "$WORK/stop" ]; do
    if [ $((i % 2)) = 0 ]; then cp "$WORK/two.yml" "$WORK/config.yml"; else cp "$WORK/one.yml" "$WORK/config.yml"; fi
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X POST "http://127.0.0.1:$PORT/-/reload" >> "$WORK/reloads"
    i=$((i + 1))
    sleep 0.1
  done
}

: > "$WORK/rows"
: > "$WORK/reload_rows"
for enc in paced plain; do
  wrk_cell quiet "$PID" "$URL" 16 "$enc"
  rm -f "$WORK/stop"; : > "$WORK/reloads"
  reloader & RPID=$!
  wrk_cell reloading "$PID" "$URL" 16 "$enc"
  touch "$WORK/stop"; wait "$RPID"
  python3 - "$WORK/reloads" "$enc" >> "$WORK/reload_rows" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = sorted(float(t) for c, t in rows if c == "200")
bad = sum(1 for c, _ in rows if c != "200")
q = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))] * 1000 if ok else float("nan")
print(f"{sys.argv[2]}\t{len(rows)}\t{bad}\t{q(0.5):.2f}\t{q(0.99):.2f}\t{(ok[-1] * 1000 if ok else float('nan')):.2f}")
PY
done
cp "$WORK/one.yml" "$WORK/config.yml"
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$PORT/-/reload"
FDS1=$(fds); RSS1=$(rss_kb "$PID")
RELOADED=$(curl -fsS "$URL" | awk '/^lakewatch_config_last_reload_successful/ {print $2}')

python3 - "$WORK/rows" "$WORK/reload_rows" > "$WORK/section" <<PY
import re, sys
def ms(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s or "")
    if not m:
        return "—"
    v, u = float(m.group(1)), m.group(2)
    return f"{v / 1000 if u == 'us' else v * 1000 if u == 's' else v * 60000 if u == 'm' else v:.3f}"
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
rel = {r[0]: r[1:] for r in (l.rstrip("\n").split("\t") for l in open(sys.argv[2]))}
print("Run $RUN_AT; each cell is one ${DURATION} s wrk run at 16 connections; wrk, the reload loop and Postgres share the cores with the exporter.")
print("Command: \`benches/load/reload.sh ${DURATION}\`. \"reloading\": a \`POST /-/reload\` every 100 ms, alternating between one and two Postgres targets (one kept, one started or stopped each time).")
print()
print("| load | scrapes | req/s | p50 ms | p99 ms | failed scrapes | reloads (failed) | reload p50 / p99 / max ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for name, conns, enc, rps, p50, p99, cpu, errs, _ in rows:
    r = rel.get(enc) if name == "reloading" else None
    reloads = f"{r[0]} ({r[1]})" if r else "—"
    lat = f"{r[2]} / {r[3]} / {r[4]}" if r else "—"
    print(f"| {enc} | {name} | {float(rps):,.0f} | {ms(p50)} | {ms(p99)} | {errs.strip() or 0} | {reloads} | {lat} |")
print()
print("Open fds $FDS0 before, $FDS1 after; RSS $RSS0 KiB before, $RSS1 KiB after; lakewatch_config_last_reload_successful $RELOADED at the end.")
PY
cat "$WORK/section"
replace_section "$OUT" reload "$WORK/section"
