#!/usr/bin/env bash
# Growth table of issue 21: how CPU per publish, RSS, body sizes and /metrics throughput
# grow with the number of series, for the incremental encoder and the full re-encode
# (the build before issue 21), in one run on one machine.
#
# Each cell starts benches' `scale-serve` (src/bin/scale-serve.rs: 10 synthetic targets
# through the real scheduler, snapshot builder and server, one target changing per
# publish) with one size and one build, and measures:
#   - CPU per publish: the process' CPU time (minus the thread making the synthetic
#     series) over K publishes with no scrapes, divided by the publishes;
#   - RSS after those publishes (VmRSS) and the peak over the whole cell (VmHWM);
#   - /metrics throughput with wrk, 16 connections, plain then Accept-Encoding: gzip,
#     while publishing goes on (text format 0.0.4, what wrk's request negotiates).
# Sizes run in turn; at each size the two builds alternate (ROUNDS rounds, the order
# flipped every round). Writes BENCHMARKS.md's "scale-load" section.
#
# Usage: benches/load/scale.sh [SECONDS_PER_WRK_CELL] [ROUNDS] [SIZES...]
#        (defaults: 5 s, 1 round, 10000 100000 1000000)
# Needs: wrk, curl, python3. About 2 GB of free memory at 1M series.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-5}
ROUNDS=${2:-1}
shift $(( $# < 2 ? $# : 2 ))
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000 1000000)
OUT=${LAKEWATCH_BENCH_OUT:-BENCHMARKS.md}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
LOAD=benches/load

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y $tool" >&2; exit 1; }
done
# shellcheck source=lib.sh
source "$LOAD/lib.sh"
# LAKEWATCH_BIN: a directory of release binaries already built (no cargo build then).
bench_bins lakewatch-benches:scale-serve
bench_init

# Publish period (ms) and publishes measured per size: the period leaves the full
# re-encode time to finish before the next change (else publishes coalesce), and the
# window holds enough publishes for a stable mean.
period_ms() { if [ "$1" -le 20000 ]; then echo 250; elif [ "$1" -le 200000 ]; then echo 1500; else echo 12000; fi; }
window() { if [ "$1" -le 20000 ]; then echo 20; elif [ "$1" -le 200000 ]; then echo 10; else echo 4; fi; }

# field LINE NAME: the value after NAME in a `publish` line.
field() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) {print $(i + 1); exit}}' <<<"$1"; }
last_publish() { grep '^publish ' "$1" | tail -1; }
# wait_for FILE PATTERN_COUNT_CMD: polls (10 minutes at most).
wait_publishes() {  # wait_publishes FILE N: until the N-th publish line after `ready`
  for _ in $(seq 3000); do
    [ "$(sed -n '/^ready$/,$p' "$1" | grep -c '^publish ')" -ge "$2" ] && return 0
    kill -0 "$PID" 2>/dev/null || { echo "scale-serve exited" >&2; cat "$WORK/serve.err" >&2; exit 1; }
    sleep 0.2
  done
  echo "timed out waiting for $2 publishes" >&2; exit 1
}

: > "$WORK/rows"
: > "$WORK/cells"
cell() {  # cell SIZE MODE
  local size=$1 mode=$2 period k port a b
  period=$(period_ms "$size"); k=$(window "$size")
  port=$(free_port)
  : > "$WORK/serve.out"
  "$BIN/scale-serve" "127.0.0.1:$port" "$size" "$mode" "$period" > "$WORK/serve.out" 2> "$WORK/serve.err" &
  PID=$!; PIDS+=("$PID")
  # Warm-up: two publishes after every target's first cycle.
  wait_publishes "$WORK/serve.out" 3
  a=$(last_publish "$WORK/serve.out")
  wait_publishes "$WORK/serve.out" $((3 + k))
  b=$(last_publish "$WORK/serve.out")
  local n cpu_ms changes
  n=$(( $(field "$b" publish) - $(field "$a" publish) ))
  cpu_ms=$(python3 -c "print(f'{($(field "$b" cpu_ns) - $(field "$a" cpu_ns)) / $n / 1e6:.2f}')")
  changes=$(python3 -c "print(f'{($(field "$b" changes) - $(field "$a" changes)) / $n:.2f}')")
  WRK_TIMEOUT=60 wrk_cell "$mode/$size" "$PID" "http://127.0.0.1:$port/metrics" 16 plain
  WRK_TIMEOUT=60 wrk_cell "$mode/$size" "$PID" "http://127.0.0.1:$port/metrics" 16 gzip
  # size mode publishes cpu_ms changes_per_publish rss_kb hwm_kb text text_gz om om_gz
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$mode" "$n" "$cpu_ms" "$changes" \
    "$(field "$b" rss_kb)" "$(hwm_kb "$PID")" "$(field "$b" text)" "$(field "$b" text_gz)" \
    "$(field "$b" om)" "$(field "$b" om_gz)" >> "$WORK/cells"
  echo "  $mode/$size: $cpu_ms ms CPU per publish over $n publishes ($changes changes each), RSS $(field "$b" rss_kb) KiB, peak $(hwm_kb "$PID") KiB" >&2
  kill "$PID"; wait "$PID" 2>/dev/null || true
}

for size in "${SIZES[@]}"; do
  for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order=(full incremental); else order=(incremental full); fi
    for mode in "${order[@]}"; do
      echo "scale: $size series, $mode (round $round of $ROUNDS)" >&2
      cell "$size" "$mode"
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "Run $RUN_AT; load average $LOAD_BEFORE before, $LOAD_AFTER after (1, 5, 15 min). $ROUNDS round(s), the builds alternating at each size; wrk cells of $DURATION s, 16 connections, while publishing goes on."
  echo
  python3 "$LOAD/scale_table.py" "$WORK/cells" "$WORK/rows"
} > "$WORK/section"
replace_section "$OUT" scale-load "$WORK/section"
cat "$WORK/section"
