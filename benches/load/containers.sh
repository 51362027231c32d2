#!/usr/bin/env bash
# Container collection at scale (issue 9): with 50 and 200 running busybox containers,
# the wall time and CPU of one container collection cycle on the cgroup path and on the
# stats-API path, against `docker stats --no-stream` for the same containers.
#
# Wall per cycle is the exporter's own lakewatch_collector_duration_seconds (median of the
# cycles seen); CPU per cycle is the exporter's (and dockerd's) utime+stime over the
# observation window divided by the cycles completed in it.
#
# Usage: [SOURCES="cgroup api"] benches/load/containers.sh [SECONDS_PER_RUN]   (default 40)
# Needs: a Docker engine, busybox-static (the image is built locally, nothing is pulled).
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
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=lib.sh
source "$LOAD/lib.sh"
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

# measure N SOURCE: one exporter with only the container collector on SOURCE's path.
measure() {
  local n=$1 src=$2 interval=5s timeout=4s
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
YML
  local port; port=$(free_port)
  "$BIN/lakewatch-exporter" --web.listen-address "127.0.0.1:$port" --log.level warn --config "$WORK/c.yml" 2>>"$WORK/exporter.log" &
  local pid=$!; PIDS+=("$pid")
  # /metrics, not /readyz: a slow first cycle (the API path) outlasts wait_http.
  wait_http "http://127.0.0.1:$port/metrics"
  # Skip the first cycle (it also lists and inspects every container); give up after
  # 120 s without a successful cycle (the path cannot keep up at this scale).
  local last give_up=$(( $(date +%s) + 120 )); last=$(metric "$port" lakewatch_collector_last_success_timestamp_seconds)
  while [ "$(metric "$port" lakewatch_collector_last_success_timestamp_seconds)" = "$last" ]; do
    if [ "$(date +%s)" -gt "$give_up" ]; then
      echo "| $n | lakewatch, $src path | — | — | — | no successful cycle within 120 s |" >> "$WORK/rows"; kill "$pid"; return
    fi
    sleep 0.2
  done
  local t0 d0 end cycles=0 durations=()
  t0=$(ticks "$pid"); d0=$(ticks "$DOCKERD")
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
  local t1 d1; t1=$(ticks "$pid"); d1=$(ticks "$DOCKERD")
  local series; series=$(curl -fsS "http://127.0.0.1:$port/metrics" | grep -c '^container_cpu_usage_seconds_total{' || true)
  kill "$pid"
  python3 - "$n" "$src" "$cycles" "$((t1 - t0))" "$((d1 - d0))" "$HZ" "$series" "${durations[@]}" >> "$WORK/rows" <<'PY'
import statistics, sys
n, src, cycles, t, d, hz, series = sys.argv[1:8]
durs = sorted(float(x) for x in sys.argv[8:] if x)
cycles = max(int(cycles), 1)
wall = statistics.median(durs) * 1000 if durs else float("nan")
print(f"| {n} | lakewatch, {src} path | {wall:.0f} | {int(t) / int(hz) / cycles * 1000:.0f} | {int(d) / int(hz) / cycles * 1000:.0f} | {len(durs)} cycles, {series} containers reported |")
PY
}

docker_stats() {  # docker_stats N: median wall of 3 `docker stats --no-stream` runs
  local ids; ids=$(docker ps -q --filter "label=$LABEL")
  local walls=() d0 d1 t
  d0=$(ticks "$DOCKERD")
  for _ in 1 2 3; do
    t=$(date +%s.%N); docker stats --no-stream $ids >/dev/null; walls+=("$(python3 -c "import time; print(time.time() - $t)")")
  done
  d1=$(ticks "$DOCKERD")
  python3 - "$1" "$((d1 - d0))" "$HZ" "${walls[@]}" >> "$WORK/rows" <<'PY'
import statistics, sys
n, d, hz = sys.argv[1:4]
walls = [float(x) for x in sys.argv[4:]]
print(f"| {n} | docker stats --no-stream | {statistics.median(walls) * 1000:.0f} | — | {int(d) / int(hz) / len(walls) * 1000:.0f} | 3 runs |")
PY
}

: > "$WORK/rows"
for n in 50 200; do
  echo "scaling to $n containers" >&2
  scale_to "$n"
  for src in ${SOURCES:-cgroup api}; do
    echo "  measuring $src path" >&2
    measure "$n" "$src"
  done
  echo "  docker stats --no-stream" >&2
  docker_stats "$n"
done

{
  echo "Run $RUN_AT; ${WINDOW} s observation per row."
  echo
  echo "| containers | collector | wall per cycle, ms (median) | exporter CPU per cycle, ms | dockerd CPU per cycle, ms | notes |"
  echo "|---:|---|---:|---:|---:|---|"
  cat "$WORK/rows"
} > "$WORK/section"
replace_section "$OUT" containers "$WORK/section"
cat "$WORK/section"
