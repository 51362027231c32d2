#!/usr/bin/env bash
# Soak (issue 10): SOAK_SECONDS (default 600) of wrk load on /metrics while everything the
# exporter watches churns, sampling RSS and open fds every 10 s. Not a test: it writes a
# section of BENCHMARKS.md (flat memory, zero errors is the expected result).
#
# Churn, every 30 s in turn: Postgres restarted; a container started or removed; the S3
# server (moto) killed or restarted. Throughout: a Trino target that accepts connections
# and never answers (every cycle times out), and a Trino replay target that answers.
#
# Usage: SOAK_SECONDS=600 benches/soak/run.sh
# Needs: wrk, postgresql, a Docker engine (optional), python3 with moto[server] (optional).
set -euo pipefail
cd "$(dirname "$0")/../.."
SOAK=${SOAK_SECONDS:-600}
OUT=${LAKEWATCH_BENCH_OUT:-BENCHMARKS.md}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
LOAD=benches/load
IMAGE=lakewatch-test-busybox:latest
LABEL=lakewatch-bench=soak

command -v wrk >/dev/null || { echo "missing wrk: apt-get install -y wrk" >&2; exit 1; }
# The same package set as load/run.sh, so features unify alike and the build is shared.
cargo build --release --quiet -p lakewatch-exporter -p lakewatch-benches --bin lakewatch-exporter
BIN="$CARGO_TARGET_DIR/release"
cleanup_extra() {
  command -v docker >/dev/null && docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null 2>&1
}
# shellcheck source=../load/lib.sh
source "$LOAD/lib.sh"
bench_init

pg_start
TRINO_PORT=$(free_port)
python3 "$LOAD/trino_replay.py" "$TRINO_PORT" 500 &
PIDS+=($!)
HANG_PORT=$(free_port)  # listens, never accepts: the kernel completes the handshake, nobody answers
python3 -c "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', $HANG_PORT)); s.listen(1024); time.sleep(1e9)" &
PIDS+=($!)
S3_PORT=""; MOTO_PID=""
start_moto() { python3 -m moto.server -H 127.0.0.1 -p "$S3_PORT" >/dev/null 2>&1 & MOTO_PID=$!; PIDS+=("$MOTO_PID"); }
if python3 -c 'import moto.server' 2>/dev/null; then S3_PORT=$(free_port); start_moto; fi
DOCKER=false
docker image inspect "$IMAGE" >/dev/null 2>&1 && DOCKER=true

cat > "$WORK/soak.yml" <<YML
collectors:
  disk: { interval: 5s }
  container: { enabled: $DOCKER, interval: 5s, timeout: 4s }
  postgres:
    interval: 5s
    timeout: 4s
    targets:
      - name: bench
        dsn: postgresql://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable
        password_file: $PG_PASSWORD_FILE
  trino:
    interval: 5s
    timeout: 2s
    targets:
      - { name: replay, url: "http://127.0.0.1:$TRINO_PORT", user: lakewatch }
      - { name: hanging, url: "http://127.0.0.1:$HANG_PORT", user: lakewatch }
YML
if [ -n "$S3_PORT" ]; then cat >> "$WORK/soak.yml" <<YML
  s3:
    interval: 10s
    timeout: 5s
    targets:
      - { name: moto, endpoint: "http://127.0.0.1:$S3_PORT", region: us-east-1, access_key: soak, secret_key: soak-secret, path_style: true }
YML
fi
PORT=$(free_port)
"$BIN/lakewatch-exporter" --web.listen-address "127.0.0.1:$PORT" --log.level warn --config "$WORK/soak.yml" 2>"$WORK/exporter.log" &
PID=$!; PIDS+=("$PID")
wait_http "http://127.0.0.1:$PORT/readyz"
sleep 6

wrk -t1 -c8 -d"${SOAK}s" --timeout 2s -H "Accept-Encoding: gzip" "http://127.0.0.1:$PORT/metrics" > "$WORK/wrk.txt" 2>&1 &
WRK_PID=$!; PIDS+=("$WRK_PID")

# Runs in this shell (not in $(...)): it updates PG_PID and MOTO_PID, and a server started
# inside a command substitution would hold its output pipe open forever.
churn() {
  case $(( $1 % 3 )) in
    0) pg_stop; sleep 2; pg_run; CHURNED="postgres restarted" ;;
    1) if $DOCKER; then
         if docker ps -q --filter "label=$LABEL" | grep -q .; then docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null; CHURNED="container removed"
         else docker run -d --label "$LABEL" "$IMAGE" sleep 86400 >/dev/null; CHURNED="container started"; fi
       else CHURNED="no docker image: skipped"; fi ;;
    2) if [ -n "$S3_PORT" ]; then
         if kill -0 "$MOTO_PID" 2>/dev/null; then kill "$MOTO_PID"; CHURNED="moto killed"; else start_moto; CHURNED="moto started"; fi
       else CHURNED="no moto: skipped"; fi ;;
  esac
}

START=$(date +%s); : > "$WORK/samples"; step=0; churned=0
while kill -0 "$WRK_PID" 2>/dev/null; do
  elapsed=$(( $(date +%s) - START ))
  printf '%s\t%s\t%s\n' "$elapsed" "$(rss_kb "$PID")" "$(ls "/proc/$PID/fd" | wc -l)" >> "$WORK/samples"
  if [ $(( elapsed / 30 )) -gt "$churned" ]; then churned=$(( elapsed / 30 )); churn "$step"; echo "t=${elapsed}s $CHURNED" >&2; step=$((step + 1)); fi
  sleep 10
done
wait "$WRK_PID" || true
curl -fsS "http://127.0.0.1:$PORT/metrics" > "$WORK/metrics.txt"
kill -0 "$PID" || { echo "the exporter died" >&2; cat "$WORK/exporter.log" >&2; exit 1; }

python3 - "$WORK/samples" "$WORK/wrk.txt" "$SOAK" "$step" "$RUN_AT" "$WORK/metrics.txt" > "$WORK/section" <<'PY'
import re, sys
samples = [tuple(map(int, l.split("\t"))) for l in open(sys.argv[1]) if l.strip()]
wrk = open(sys.argv[2]).read()
soak, churns, run_at = sys.argv[3], sys.argv[4], sys.argv[5]
reqs = re.search(r"(\d+) requests in", wrk)
errs = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: [^\n]+)", wrk)
rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk)
rss = [s[1] for s in samples]; fds = [s[2] for s in samples]
metrics = open(sys.argv[6]).read()
errors = {}
for line in metrics.splitlines():
    m = re.match(r'lakewatch_collector_errors_total\{(.*)\} (\S+)', line)
    if m:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        key = (labels.get("collector"), labels.get("target"))
        errors[key] = errors.get(key, 0) + float(m.group(2))
print(f"Run {run_at}: {soak} s, wrk 1 thread × 8 connections (gzip) on /metrics; {churns} churn events (Postgres restart, container start/remove, moto kill/restart, every 30 s in turn); a Trino target that never answers throughout.")
print()
print(f"- Scrapes: {reqs.group(1) if reqs else '?'} ({rps.group(1) if rps else '?'} req/s); wrk errors: {', '.join(errs) if errs else 'none'}.")
print(f"- RSS: first {rss[0]} KiB, last {rss[-1]} KiB, max {max(rss)} KiB over {len(rss)} samples (every 10 s).")
print(f"- Open fds: first {fds[0]}, last {fds[-1]}, max {max(fds)}.")
print("- Collector errors counted by the exporter (expected: the churned targets and the hanging Trino):")
for (c, t), v in sorted(errors.items()):
    print(f"  - {c}/{t}: {v:.0f}")
print()
print("RSS samples (KiB): " + " ".join(str(r) for r in rss))
PY
replace_section "$OUT" soak "$WORK/section"
cat "$WORK/section"
