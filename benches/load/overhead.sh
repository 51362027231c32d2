#!/usr/bin/env bash
# Serving overhead (issue 21): our /metrics against benches' static-baseline (the
# smallest hyper server writing the same bytes), in paired, interleaved wrk cells, so a
# drift of the shared machine's speed hits both sides of a ratio alike.
#
# Our exporter runs with the disk collector only, on a 1 h interval: after its first
# cycle the snapshot no longer changes, and the baseline serves byte-for-byte copies of
# its plain and gzip bodies. With BEFORE_BINARY (an exporter built from another commit,
# e.g. main), that binary runs on the same config in the same rounds, for an A/B of a
# change. Each round runs every cell (1, 16 and 256 connections, plain and
# Accept-Encoding: gzip) once per server, the servers' order rotating from round to
# round; the table gives the median over rounds of each server's req/s and of the
# per-round ratios, with their min–max. Writes BENCHMARKS.md's "overhead" section.
#
# With PIN=1 the servers run on CPU 0 and wrk on CPU 1 (taskset): each server is then
# the bottleneck on a core of its own, so req/s ÷ req/s is its CPU per request ÷ the
# other's, undiluted by the client's share of a common core, and the two programs do not
# preempt each other.
#
# With SIDE_BY_SIDE=1 (implies PIN=1) the servers of a cell run at once, each with its
# own wrk: both on CPU 0, sharing it, both wrks on CPU 1. Whatever slows the machine
# during a cell (another guest, a frequency change) then slows both alike, so the CPU
# per scrape of one ÷ the other's is steady from round to round (±1% on this VM, where
# cells run one after the other spread ±20%). req/s ÷ req/s is not a figure of this
# mode: sharing a core, a server's rate follows its share of it.
#
# With BASELINE_TIMER=1 the static server keeps one timer pending (a task sleeping an
# hour), as every server with deadlines does: with a timer pending, tokio parks with a
# timeout, and the kernel arms a timer for every epoll_wait.
#
# Usage: benches/load/overhead.sh [SECONDS_PER_CELL] [ROUNDS] [BEFORE_BINARY]
#        (defaults: 4 s, 5 rounds, no before)
# Needs: wrk, curl, python3 (and taskset, with PIN=1).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-4}
ROUNDS=${2:-5}
BEFORE=${3:-}
OUT=${LAKEWATCH_BENCH_OUT:-BENCHMARKS.md}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
LOAD=benches/load

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y $tool" >&2; exit 1; }
done
# shellcheck source=lib.sh
source "$LOAD/lib.sh"
# LAKEWATCH_BIN: a directory of release binaries already built (no cargo build then).
bench_bins lakewatch-exporter:lakewatch-exporter lakewatch-benches:static-baseline
bench_init

cat > "$WORK/fixed.yml" <<YML
collectors:
  container: { enabled: false }
  disk: { interval: 1h, timeout: 10s }
YML

SIDE_BY_SIDE=${SIDE_BY_SIDE:-}
[ "$SIDE_BY_SIDE" = 1 ] && PIN=1
SERVER_PIN=()
if [ "${PIN:-}" = 1 ]; then SERVER_PIN=(taskset -c 0); export WRK_CPUS=1; fi

# start_exporter NAME BINARY: on the fixed config; sets PORT_<NAME>, PID_<NAME>.
start_exporter() {
  local port; port=$(free_port)
  "${SERVER_PIN[@]}" "$2" --web.listen-address "127.0.0.1:$port" --log.level warn --config "$WORK/fixed.yml" 2>>"$WORK/$1.log" &
  PIDS+=($!); printf -v "PID_$1" '%s' $!; printf -v "PORT_$1" '%s' "$port"
  wait_http "http://127.0.0.1:$port/readyz"
}
start_exporter ours "$BIN/lakewatch-exporter"
SERVERS=(ours baseline)
if [ -n "$BEFORE" ]; then start_exporter before "$BEFORE"; SERVERS+=(before); fi

# The baseline serves exactly our bytes: the plain body, and the gzip body as we send it;
# wrk asks both for /metrics (the baseline ignores the path), so requests match too.
URL_ours="http://127.0.0.1:$PORT_ours/metrics"
curl -fsS "$URL_ours" > "$WORK/body"
curl -fsS -H 'Accept-Encoding: gzip' "$URL_ours" > "$WORK/body.gz"
for enc in plain gzip; do
  port=$(free_port)
  if [ "$enc" = gzip ]; then "${SERVER_PIN[@]}" "$BIN/static-baseline" "127.0.0.1:$port" "$WORK/body.gz" gzip 2>/dev/null &
  else "${SERVER_PIN[@]}" "$BIN/static-baseline" "127.0.0.1:$port" "$WORK/body" 2>/dev/null &
  fi
  PIDS+=($!); printf -v "PID_baseline_$enc" '%s' $!; printf -v "URL_baseline_$enc" '%s' "http://127.0.0.1:$port/metrics"
  wait_http "http://127.0.0.1:$port/"
done
[ -n "$BEFORE" ] && URL_before="http://127.0.0.1:$PORT_before/metrics"
# Same bytes: the bodies must not have changed while the cells ran (checked at the end).
BYTES=$(wc -c < "$WORK/body"); GZ_BYTES=$(wc -c < "$WORK/body.gz")

: > "$WORK/rows"
for round in $(seq "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  for conns in 1 16 256; do
    for enc in plain gzip; do
      n=${#SERVERS[@]}
      cells=()
      for i in $(seq 0 $((n - 1))); do
        s=${SERVERS[$(( (i + round) % n ))]}
        if [ "$s" = baseline ]; then pid="PID_baseline_$enc"; url="URL_baseline_$enc"
        else pid="PID_$s"; url="URL_$s"; fi
        if [ "$SIDE_BY_SIDE" = 1 ]; then
          wrk_cell "$s#$round" "${!pid}" "${!url}" "$conns" "$enc" & cells+=($!)
        else
          wrk_cell "$s#$round" "${!pid}" "${!url}" "$conns" "$enc"
        fi
      done
      [ ${#cells[@]} -eq 0 ] || wait "${cells[@]}"
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
curl -fsS "$URL_ours" | cmp -s - "$WORK/body" || echo "warning: our plain body changed during the run" >&2

{
  if [ "$SIDE_BY_SIDE" = 1 ]; then where="the servers of a cell at once, sharing CPU 0, their wrks on CPU 1 (SIDE_BY_SIDE=1)"
  elif [ "${PIN:-}" = 1 ]; then where="the servers on CPU 0, wrk on CPU 1 (PIN=1)"; else where="wrk shares the cores with the servers"; fi
  [ "${BASELINE_TIMER:-}" = 1 ] && where="$where; the static server with a timer pending (BASELINE_TIMER=1)"
  echo "Run $RUN_AT; load average $LOAD_BEFORE before, $LOAD_AFTER after (1, 5, 15 min). $ROUNDS rounds of $DURATION s wrk cells, the servers' order rotating each round; $where."
  echo "Bodies: $BYTES bytes plain, $GZ_BYTES gzip (disk collector only, 1 h interval: fixed after its first cycle); the baseline serves the same bytes."
  echo
  python3 "$LOAD/overhead_table.py" "$WORK/rows" "${SERVERS[@]}"
} > "$WORK/section"
replace_section "$OUT" overhead "$WORK/section"
cat "$WORK/section"
