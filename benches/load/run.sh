#!/usr/bin/env bash
# Load comparison for /metrics, all servers on this machine in one run:
#   lakewatch    our exporter (embedded default config)
#   baseline     benches' static-baseline serving a copy of our exact /metrics bytes
#   node         Debian's prometheus-node-exporter with its default collectors
# Each is driven with wrk at 1, 16 and 256 connections, plain and gzip. Reported:
# requests/s, p50/p99 latency, CPU-seconds per 1,000 scrapes (server process, from
# /proc/<pid>/stat) and peak RSS (VmHWM). Writes BENCHMARKS.md's table section.
#
# Usage: benches/load/run.sh [SECONDS_PER_RUN]   (default 10)
# Needs: wrk, prometheus-node-exporter (apt-get install wrk prometheus-node-exporter).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
OUT=${LAKEWATCH_BENCH_OUT:-BENCHMARKS.md}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

for tool in wrk prometheus-node-exporter; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y ${tool}" >&2; exit 1; }
done

cargo build --release --quiet -p lakewatch-exporter -p lakewatch-benches --bin lakewatch-exporter --bin static-baseline
BIN="$CARGO_TARGET_DIR/release"
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

P_OURS=$(free_port)
"$BIN/lakewatch-exporter" --web.listen-address "127.0.0.1:$P_OURS" --log.level warn &
PIDS+=($!); PID_OURS=$!
wait_http "http://127.0.0.1:$P_OURS/readyz"

P_NODE=$(free_port)
prometheus-node-exporter --web.listen-address "127.0.0.1:$P_NODE" --log.level=warn 2>/dev/null &
PIDS+=($!); PID_NODE=$!
wait_http "http://127.0.0.1:$P_NODE/metrics"

curl -fsS "http://127.0.0.1:$P_OURS/metrics" > "$WORK/body"
gzip -6 -c "$WORK/body" > "$WORK/body.gz"
P_BASE=$(free_port); P_BASE_GZ=$(free_port)
"$BIN/static-baseline" "127.0.0.1:$P_BASE" "$WORK/body" 2>/dev/null &
PIDS+=($!); PID_BASE=$!
"$BIN/static-baseline" "127.0.0.1:$P_BASE_GZ" "$WORK/body.gz" gzip 2>/dev/null &
PIDS+=($!); PID_BASE_GZ=$!
wait_http "http://127.0.0.1:$P_BASE/"
wait_http "http://127.0.0.1:$P_BASE_GZ/"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)

# run NAME PID URL CONNS ENCODING -> appends one row to $WORK/rows
run() {
  local name=$1 pid=$2 url=$3 conns=$4 enc=$5 hdr=() threads=2
  [ "$enc" = gzip ] && hdr=(-H "Accept-Encoding: gzip")
  [ "$conns" = 1 ] && threads=1
  local t0; t0=$(ticks "$pid")
  wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency "${hdr[@]}" "$url" > "$WORK/wrk.txt" 2>&1
  local t1; t1=$(ticks "$pid")
  local rps p50 p99 reqs errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  reqs=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' "$WORK/wrk.txt" | tr '\n' ' ')
  local cpu_per_k
  cpu_per_k=$(python3 -c "print(f'{($t1-$t0)/$HZ/max($reqs,1)*1000:.4f}')")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$enc" "$rps" "$p50" "$p99" "$cpu_per_k" "${errs:-}" >> "$WORK/rows"
  echo "  $name c=$conns $enc: $rps req/s p50 $p50 p99 $p99 cpu/1k $cpu_per_k s ${errs:-}" >&2
}

: > "$WORK/rows"
for conns in 1 16 256; do
  for enc in plain gzip; do
    run lakewatch "$PID_OURS" "http://127.0.0.1:$P_OURS/metrics" "$conns" "$enc"
    if [ "$enc" = gzip ]; then
      run baseline "$PID_BASE_GZ" "http://127.0.0.1:$P_BASE_GZ/" "$conns" "$enc"
    else
      run baseline "$PID_BASE" "http://127.0.0.1:$P_BASE/" "$conns" "$enc"
    fi
    run node_exporter "$PID_NODE" "http://127.0.0.1:$P_NODE/metrics" "$conns" "$enc"
  done
done

RSS_OURS=$(hwm_kb "$PID_OURS"); RSS_NODE=$(hwm_kb "$PID_NODE"); RSS_BASE=$(hwm_kb "$PID_BASE")
BODY_BYTES=$(wc -c < "$WORK/body"); GZ_BYTES=$(wc -c < "$WORK/body.gz")
NODE_BYTES=$(curl -fsS "http://127.0.0.1:$P_NODE/metrics" | wc -c)

python3 - "$WORK/rows" "$OUT" <<PY
import sys, re, datetime, platform, subprocess
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
def ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s or "")
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
by = {(r[0], r[1], r[2]): r for r in rows}
lines = ["| connections | encoding | server | req/s | p50 ms | p99 ms | CPU s / 1k scrapes | ours ÷ this (req/s) |",
         "|---|---|---|---:|---:|---:|---:|---:|"]
for conns in ["1", "16", "256"]:
    for enc in ["plain", "gzip"]:
        ours = float(by[("lakewatch", conns, enc)][3])
        for name in ["lakewatch", "baseline", "node_exporter"]:
            r = by[(name, conns, enc)]
            rps = float(r[3])
            ratio = "—" if name == "lakewatch" else f"{ours / rps:.2f}×"
            err = f" ({r[7].strip()})" if len(r) > 7 and r[7].strip() else ""
            lines.append(f"| {conns} | {enc} | {name}{err} | {rps:,.0f} | {ms(r[4]):.3f} | {ms(r[5]):.3f} | {float(r[6]):.4f} | {ratio} |")
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
table = "\n".join(lines)
section = f"""<!-- load:start -->
Run {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: {cpu}, $(nproc) cores; each cell is one {sys.argv[2] and '$DURATION'} s wrk run; wrk shares the cores with the server.
Bodies: lakewatch $BODY_BYTES bytes plain / $GZ_BYTES gzip (embedded default config: disk, plus container when Docker answers); node_exporter $NODE_BYTES bytes plain (default collectors).

{table}

Peak RSS (VmHWM): lakewatch $RSS_OURS KiB, static baseline $RSS_BASE KiB, node_exporter $RSS_NODE KiB.
<!-- load:end -->"""
path = sys.argv[2]
try:
    doc = open(path).read()
except FileNotFoundError:
    doc = "# Benchmarks\n\n<!-- load:start -->\n<!-- load:end -->\n"
start, end = doc.index("<!-- load:start -->"), doc.index("<!-- load:end -->") + len("<!-- load:end -->")
open(path, "w").write(doc[:start] + section + doc[end:])
print(table)
PY
