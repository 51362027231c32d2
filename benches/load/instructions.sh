#!/usr/bin/env bash
# Serving overhead (issue 21), counted instead of timed: per request, our /metrics and
# benches' static-baseline (the smallest hyper server writing the same bytes) are
# compared on figures a busy machine does not move.
#
# - perf stat on the running server during a wrk cell: syscalls, context switches and
#   CPU time (task-clock) per request. Equal syscalls and switches mean the kernel does
#   the same work for both, so what differs is our own code.
# - the server's user and system CPU time (/proc/PID/stat) during a wrk cell without
#   perf: which share of a request's CPU is user space, where the two differ.
# - valgrind's callgrind on the server during a wrk cell: user-space instructions per
#   request, exactly (the same count on a quiet or a loaded machine), and, with
#   ANNOTATE=1, callgrind_annotate's top functions of each side in $OUT_DIR.
#
# Same setup as overhead.sh: our exporter on the disk collector alone (1 h interval, so
# the snapshot is fixed after the first cycle), the baseline serving byte-for-byte copies
# of our plain and gzip bodies. wrk stops with up to CONNS requests unanswered; the
# server is given a second to finish them before its counters are read, and those few
# are the error of a cell (below 1% at the request counts printed).
#
# Usage: benches/load/instructions.sh [SECONDS_PER_CELL] [CONNS...]
#        (defaults: 5 s; 1 16 256 connections; each cell plain and gzip)
# Needs: wrk, curl, python3, perf (linux-perf), valgrind.
# Env: LAKEWATCH_BIN (a directory with lakewatch-exporter and static-baseline, else they
#      are built), OUT_DIR (callgrind files; default a temp dir, removed), ANNOTATE=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-5}
shift || true
CONNS=("$@")
[ ${#CONNS[@]} -gt 0 ] || CONNS=(1 16 256)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
LOAD=benches/load

for tool in wrk curl python3 perf valgrind callgrind_control; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y wrk curl python3 linux-perf valgrind" >&2; exit 1; }
done
# shellcheck source=lib.sh
source "$LOAD/lib.sh"
# LAKEWATCH_BIN: a directory of release binaries already built (no cargo build then).
bench_bins lakewatch-exporter:lakewatch-exporter lakewatch-benches:static-baseline
bench_init
OUT_DIR=${OUT_DIR:-$WORK/callgrind}
mkdir -p "$OUT_DIR"

cat > "$WORK/fixed.yml" <<YML
collectors:
  container: { enabled: false }
  disk: { interval: 1h, timeout: 10s }
YML

# Bodies: from a plain run of ours.
port=$(free_port)
"$BIN/lakewatch-exporter" --web.listen-address "127.0.0.1:$port" --log.level warn --config "$WORK/fixed.yml" 2>>"$WORK/ours.log" &
pid=$!; PIDS+=("$pid")
wait_http "http://127.0.0.1:$port/readyz"
curl -fsS "http://127.0.0.1:$port/metrics" > "$WORK/body"
curl -fsS -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics" > "$WORK/body.gz"
kill "$pid"; wait "$pid" 2>/dev/null || true

# start NAME ENC [WRAPPER...]: ours (ENC ignored: negotiated per request) or the baseline
# for ENC, optionally under a wrapper (valgrind); sets PID, URL.
start() {
  local name=$1 enc=$2; shift 2
  local port; port=$(free_port)
  if [ "$name" = ours ]; then
    "$@" "$BIN/lakewatch-exporter" --web.listen-address "127.0.0.1:$port" --log.level warn --config "$WORK/fixed.yml" 2>>"$WORK/$name.log" &
    URL="http://127.0.0.1:$port/metrics"
  else
    local file=$WORK/body extra=()
    [ "$enc" = gzip ] && { file=$WORK/body.gz; extra=(gzip); }
    "$@" "$BIN/static-baseline" "127.0.0.1:$port" "$file" "${extra[@]}" 2>>"$WORK/$name.log" &
    URL="http://127.0.0.1:$port/metrics"
  fi
  PID=$!; PIDS+=("$PID")
  # Under valgrind start-up takes seconds: wait up to a minute.
  for _ in $(seq 600); do curl -fsS -o /dev/null "${URL%metrics}readyz" 2>/dev/null && break
    [ "$name" != ours ] && curl -fsS -o /dev/null "$URL" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "$URL" || { echo "$name did not start" >&2; cat "$WORK/$name.log" >&2; exit 1; }
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# wrk_requests CONNS ENC URL: runs one cell, prints the requests answered.
wrk_requests() {
  local conns=$1 enc=$2 url=$3 hdr=() threads=2
  [ "$enc" = gzip ] && hdr=(-H "Accept-Encoding: gzip")
  [ "$conns" = 1 ] && threads=1
  wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 10s "${hdr[@]}" "$url" > "$WORK/wrk.txt" 2>&1
  if grep -q 'Non-2xx\|Socket errors' "$WORK/wrk.txt"; then cat "$WORK/wrk.txt" >&2; exit 1; fi
  awk '/requests in/ {print $1}' "$WORK/wrk.txt"
}

: > "$WORK/rows"
for enc in plain gzip; do
  for name in ours baseline; do
    # perf stat: the kernel's side.
    start "$name" "$enc"
    for conns in "${CONNS[@]}"; do
      read -r u0 s0 < <(cpu_ticks "$PID")
      reqs=$(wrk_requests "$conns" "$enc" "$URL")
      sleep 1
      read -r u1 s1 < <(cpu_ticks "$PID")
      printf 'split\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$enc" "$reqs" $((u1 - u0)) $((s1 - s0)) >> "$WORK/rows"
      echo "  split $name c=$conns $enc: $reqs requests, $((u1 - u0)) user and $((s1 - s0)) system ticks" >&2
    done
    for conns in "${CONNS[@]}"; do
      perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p "$PID" -o "$WORK/perf.txt" &
      perf_pid=$!
      sleep 0.2
      reqs=$(wrk_requests "$conns" "$enc" "$URL")
      sleep 1
      kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
      sys=$(awk -F, '$3=="raw_syscalls:sys_enter" {print $1}' "$WORK/perf.txt")
      cs=$(awk -F, '$3=="context-switches" {print $1}' "$WORK/perf.txt")
      clock=$(awk -F, '$3=="task-clock" {print $1}' "$WORK/perf.txt")
      printf 'perf\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$enc" "$reqs" "$sys" "$cs" "$clock" >> "$WORK/rows"
      echo "  perf $name c=$conns $enc: $reqs requests, $sys syscalls, $cs switches, $clock ms CPU" >&2
    done
    stop "$PID"
    # callgrind: our user space's side.
    start "$name" "$enc" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT_DIR/$name-$enc.%p"
    for conns in "${CONNS[@]}"; do
      callgrind_control -z "$PID" >/dev/null
      callgrind_control -i on "$PID" >/dev/null
      reqs=$(wrk_requests "$conns" "$enc" "$URL")
      sleep 1
      callgrind_control -i off "$PID" >/dev/null
      callgrind_control -d "c$conns" "$PID" >/dev/null
      file=$(ls -t "$OUT_DIR/$name-$enc.$PID"* | head -1)
      ir=$(awk '/^totals:/ {print $2}' "$file")
      if [ "${ANNOTATE:-}" = 1 ]; then
        callgrind_annotate --inclusive=no "$file" > "$OUT_DIR/$name-$enc-c$conns.top.txt" 2>/dev/null || true
      fi
      printf 'callgrind\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$enc" "$reqs" "$ir" >> "$WORK/rows"
      echo "  callgrind $name c=$conns $enc: $reqs requests, $ir instructions" >&2
    done
    stop "$PID"
  done
done

{
  echo "Run $RUN_AT; load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after. $DURATION s wrk cells."
  echo "Bodies: $(wc -c < "$WORK/body") bytes plain, $(wc -c < "$WORK/body.gz") gzip; the baseline serves the same bytes."
  echo
  python3 "$LOAD/instructions_table.py" "$WORK/rows"
} > "$WORK/section"
replace_section "${LAKEWATCH_BENCH_OUT:-BENCHMARKS.md}" instructions "$WORK/section"
cat "$WORK/section"
