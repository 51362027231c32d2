#!/usr/bin/env bash
# Container collection at scale (issues 9 and 21): with 50 and 200 running busybox
# containers, the wall time and CPU of one container collection cycle on the cgroup path
# and on the stats-API path, against `docker stats --no-stream` for the same containers,
# and what long-lived `stream=true` stats streams would cost dockerd per 15 s cycle.
#
# Wall per cycle is the exporter's own lakewatch_collector_duration_seconds (median of the
# cycles seen); CPU per cycle is the exporter's (and dockerd's, and containerd's with its
# shims') utime+stime over the observation window divided by the cycles completed in it,
# so work the exporter does between cycles (the API path's background reads) counts.
# The load column is the 1-minute load average at the end of the row (the machine may be
# shared); the background row is dockerd's and containerd's CPU with none of ours running.
#
# BEFORE_BIN=path/to/another/lakewatch-exporter adds that build's API path, measured in
# turn with this one (interleaved, twice each), and writes the table to the
# `containers-api` section instead of `containers`.
#
# Usage: [SOURCES="cgroup api"] [BEFORE_BIN=...] benches/load/containers.sh [SECONDS_PER_RUN]   (default 40)
# Needs: a Docker engine, busybox-static (the image is built locally, nothing is pulled),
# curl (for the streams row).
set -euo pipefail
cd "$(dirname "$0")/../.."
WINDOW=${1:-40}
OUT=${LAKEWATCH_BENCH_OUT:-BENCHMARKS.md}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
LOAD=benches/load
IMAGE=lakewatch-test-busybox:latest
LABEL=lakewatch-bench=containers

command -v docker >/dev/null || { echo "missing docker" >&2; exit 1; }
# The same package set as load/run.sh, so features unify alike and the build is shared.
cargo build --release --quiet -p lakewatch-exporter -p lakewatch-benches --bin lakewatch-exporter
BIN="$CARGO_TARGET_DIR/release"
cleanup_extra() {
  docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null 2>&1 || true
}
# shellcheck source=lib.sh
source "$LOAD/lib.sh"
bench_init
RUN_AT="$(date -u '+%Y-%m-%d %H:%M') UTC on $(hostname): $(machine_line), $(docker version --format 'Docker {{.Server.Version}}, cgroup driver ')$(docker info --format '{{.CgroupDriver}} (cgroup v{{.CgroupVersion}})')"

# The same image the integration tests build: a busybox-static rootfs, docker import-ed.
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  BB=$(command -v busybox || echo /bin/busybox)
  [ -x "$BB" ] && "$BB" --list >/dev/null || { echo "missing busybox-static: apt-get install -y busybox-static" >&2; exit 1; }
  mkdir -p "$WORK/rootfs/"{bin,tmp,proc,sys,dev,etc}
  cp "$BB" "$WORK/rootfs/bin/busybox"
  for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$WORK/rootfs/bin/$a"; done
  tar -C "$WORK/rootfs" -c . | docker import - "$IMAGE" >/dev/null
fi
DOCKERD=$(pidof dockerd | awk '{print $1}')
# containerd and the bench containers' shims do the sampling dockerd asks for (cgroup
# reads per sample); other containers' shims come and go on a shared machine.
CONTAINERD_PIDS=""
find_containerd() {
  local ids p; ids=$(docker ps -q --no-trunc --filter "label=$LABEL" | paste -sd'|')
  CONTAINERD_PIDS=$(pidof containerd)
  for p in $(pgrep -x 'containerd-shim(-runc-v2)?'); do
    grep -qaE "$ids" "/proc/$p/cmdline" 2>/dev/null && CONTAINERD_PIDS="$CONTAINERD_PIDS $p"
  done
}
containerd_ticks() {
  local total=0 p
  for p in $CONTAINERD_PIDS; do
    total=$((total + $(ticks "$p" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
load1() { cut -d' ' -f1 /proc/loadavg; }

scale_to() {  # scale_to N: exactly N running bench containers
  local have; have=$(docker ps -q --filter "label=$LABEL" | wc -l)
  if [ "$have" -lt "$1" ]; then
    seq "$have" $(( $1 - 1 )) | xargs -P 4 -I{} docker run -d --label "$LABEL" --name "lw-bench-{}" "$IMAGE" sleep 86400 >/dev/null
  fi
}

metric() {  # metric PORT NAME: the value of the container collector's self-metric NAME
  # awk reads to the end: exiting early would fail curl's write (and the pipeline).
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v n="$2" '!f && $1 ~ "^"n"\\{" && $1 ~ /collector="container"/ {print $2; f=1}'
}

# measure N SOURCE [BIN LABEL]: one exporter (BIN, default this tree's) with only the
# container collector on SOURCE's path.
measure() {
  local n=$1 src=$2 bin=${3:-$BIN/lakewatch-exporter} label=${4:-$THIS} interval=5s timeout=4s
  [ "$src" = api ] && { interval=15s; timeout=14s; }
  cat > "$WORK/c.yml" <<YML
collectors:
  disk: { enabled: false }
  container:
    enabled: true
    interval: $interval
    timeout: $timeout
    stats_source: $src
    max_containers: 1000
    # Only the bench's containers: other containers on a shared machine come and go.
    labels_include: ['$LABEL']
YML
  local port; port=$(free_port)
  "$bin" --web.listen-address "127.0.0.1:$port" --log.level warn --config "$WORK/c.yml" 2>>"$WORK/exporter.log" &
  local pid=$!; PIDS+=("$pid")
  # /metrics, not /readyz: a slow first cycle (the API path) outlasts wait_http.
  wait_http "http://127.0.0.1:$port/metrics"
  # Skip the first cycle (it also lists and inspects every container); give up after
  # 120 s without a successful cycle (the path cannot keep up at this scale).
  local last give_up=$(( $(date +%s) + 120 )); last=$(metric "$port" lakewatch_collector_last_success_timestamp_seconds)
  while [ "$(metric "$port" lakewatch_collector_last_success_timestamp_seconds)" = "$last" ]; do
    if [ "$(date +%s)" -gt "$give_up" ]; then
      echo "| $n | $label, $src path | — | — | — | — | no successful cycle within 120 s |" >> "$WORK/rows"; kill "$pid"; return
    fi
    sleep 0.2
  done
  local t0 d0 c0 end cycles=0 durations=()
  t0=$(ticks "$pid"); d0=$(ticks "$DOCKERD"); c0=$(containerd_ticks)
  last=$(metric "$port" lakewatch_collector_last_success_timestamp_seconds)
  end=$(( $(date +%s) + WINDOW ))
  while [ "$(date +%s)" -lt "$end" ]; do
    sleep 0.5
    local now; now=$(metric "$port" lakewatch_collector_last_success_timestamp_seconds)
    if [ "$now" != "$last" ]; then
      cycles=$((cycles + 1)); last=$now
      durations+=("$(metric "$port" lakewatch_collector_duration_seconds)")
    fi
  done
  local t1 d1 c1; t1=$(ticks "$pid"); d1=$(ticks "$DOCKERD"); c1=$(containerd_ticks)
  local series; series=$(curl -fsS "http://127.0.0.1:$port/metrics" | grep -c '^container_cpu_usage_seconds_total{' || true)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$n" "$label, $src path" "$cycles" "$((t1 - t0))" "$((d1 - d0))" "$((c1 - c0))" "$HZ" "$series" "$(load1)" "${durations[@]}" >> "$WORK/rows" <<'PY'
import statistics, sys
n, what, cycles, t, d, c, hz, series, load = sys.argv[1:10]
durs = sorted(float(x) for x in sys.argv[10:] if x)
cycles = max(int(cycles), 1)
ms = lambda ticks: int(ticks) / int(hz) / cycles * 1000
wall = f"{statistics.median(durs) * 1000:.0f}" if durs else "—"
print(f"| {n} | {what} | {wall} | {ms(t):.0f} | {ms(d):.0f} | {ms(c):.0f} | {len(durs)} cycles, {series} containers reported, load {load} |")
PY
}

docker_stats() {  # docker_stats N: median wall of 3 `docker stats --no-stream` runs
  local ids; ids=$(docker ps -q --filter "label=$LABEL")
  local walls=() d0 d1 c0 c1 t
  d0=$(ticks "$DOCKERD"); c0=$(containerd_ticks)
  for _ in 1 2 3; do
    t=$(date +%s.%N); docker stats --no-stream $ids >/dev/null; walls+=("$(python3 -c "import time; print(time.time() - $t)")")
  done
  d1=$(ticks "$DOCKERD"); c1=$(containerd_ticks)
  python3 - "$1" "$((d1 - d0))" "$((c1 - c0))" "$HZ" "$(load1)" "${walls[@]}" >> "$WORK/rows" <<'PY'
import statistics, sys
n, d, c, hz, load = sys.argv[1:6]
walls = [float(x) for x in sys.argv[6:]]
ms = lambda ticks: int(ticks) / int(hz) / len(walls) * 1000
print(f"| {n} | docker stats --no-stream | {statistics.median(walls) * 1000:.0f} | — | {ms(d):.0f} | {ms(c):.0f} | 3 runs, load {load} |")
PY
}

# streams N: what long-lived stats streams would cost: one `stream=true` connection per
# container (curl), read continuously; dockerd's and containerd's CPU over 20 s after a
# 5 s settle, scaled to one 15 s cycle (the default interval).
streams() {
  local ids; ids=$(docker ps -q --filter "label=$LABEL")
  local curls=() id d0 d1 c0 c1
  for id in $ids; do
    curl -s --unix-socket /var/run/docker.sock "http://docker/containers/$id/stats?stream=true" >/dev/null &
    curls+=($!)
  done
  sleep 5
  d0=$(ticks "$DOCKERD"); c0=$(containerd_ticks)
  sleep 20
  d1=$(ticks "$DOCKERD"); c1=$(containerd_ticks)
  kill "${curls[@]}" 2>/dev/null || true
  wait "${curls[@]}" 2>/dev/null || true
  python3 - "$1" "$((d1 - d0))" "$((c1 - c0))" "$HZ" "$(load1)" >> "$WORK/rows" <<'PY'
import sys
n, d, c, hz, load = sys.argv[1:6]
ms = lambda ticks: int(ticks) / int(hz) / 20 * 15 * 1000
print(f"| {n} | {n} stats streams (`stream=true`), per 15 s | — | — | {ms(d):.0f} | {ms(c):.0f} | 20 s observed, load {load} |")
PY
}

# idle N: the machine's background: dockerd's and containerd's CPU over 30 s with none of
# ours running, per 15 s (other users of the same Docker engine show up here).
idle() {
  local d0 d1 c0 c1
  d0=$(ticks "$DOCKERD"); c0=$(containerd_ticks)
  sleep 30
  d1=$(ticks "$DOCKERD"); c1=$(containerd_ticks)
  python3 - "$1" "$((d1 - d0))" "$((c1 - c0))" "$HZ" "$(load1)" >> "$WORK/rows" <<'PY'
import sys
n, d, c, hz, load = sys.argv[1:6]
ms = lambda ticks: int(ticks) / int(hz) / 30 * 15 * 1000
print(f"| {n} | nothing of ours (background), per 15 s | — | — | {ms(d):.0f} | {ms(c):.0f} | 30 s observed, load {load} |")
PY
}

SECTION=containers THIS=lakewatch
if [ -n "${BEFORE_BIN:-}" ]; then
  THIS=after
  [ -x "$BEFORE_BIN" ] || { echo "BEFORE_BIN=$BEFORE_BIN is not an executable" >&2; exit 1; }
  SECTION=containers-api
fi
: > "$WORK/rows"
for n in 50 200; do
  echo "scaling to $n containers" >&2
  scale_to "$n"
  find_containerd
  echo "  background" >&2
  idle "$n"
  for src in ${SOURCES:-cgroup api}; do
    if [ "$src" = api ] && [ -n "${BEFORE_BIN:-}" ]; then
      for run in 1 2; do
        echo "  measuring the api path, before and after ($run of 2)" >&2
        measure "$n" api "$BEFORE_BIN" "before"
        measure "$n" api "$BIN/lakewatch-exporter" "after"
      done
    else
      echo "  measuring $src path" >&2
      measure "$n" "$src"
    fi
  done
  echo "  docker stats --no-stream" >&2
  docker_stats "$n"
  if command -v curl >/dev/null; then
    echo "  stats streams" >&2
    streams "$n"
  fi
done

{
  echo "Run $RUN_AT; ${WINDOW} s observation per row."
  echo
  echo "| containers | collector | wall per cycle, ms (median) | exporter CPU per cycle, ms | dockerd CPU per cycle, ms | containerd + shims CPU per cycle, ms | notes |"
  echo "|---:|---|---:|---:|---:|---:|---|"
  cat "$WORK/rows"
} > "$WORK/section"
replace_section "$OUT" "$SECTION" "$WORK/section"
cat "$WORK/section"
