#!/usr/bin/env bash
# Load comparison for /metrics, all servers on this machine in one run (issue 9):
#
# 1. Host metrics: our exporter on its embedded default config, benches' static-baseline
#    serving a byte-for-byte copy of our /metrics body (the limit for serving those bytes),
#    and Debian's prometheus-node-exporter with its default collectors.
# 2. Postgres: a throw-away PostgreSQL; our exporter with disk + Postgres collectors, the
#    static baseline serving our body, and Debian's prometheus-postgres-exporter on the
#    same server. The database's own CPU per 1,000 scrapes is reported too.
# 3. Slow Postgres: the same two exporters behind a proxy that delays everything Postgres
#    sends by 2 s (every query and handshake step takes >= 2 s).
# 4. Memory: our exporter with disk + Postgres + S3 (moto) + Trino (replay of the test
#    fixtures, 2,000 listed queries) collectors, under load; RSS against node_exporter's.
#
# Each cell is one wrk run (1, 16 and 256 connections, plain and Accept-Encoding: gzip).
# Reported: requests/s, p50/p99 latency, CPU-seconds per 1,000 scrapes (server process,
# from /proc/<pid>/stat), peak RSS (VmHWM). Writes BENCHMARKS.md's generated sections.
#
# Usage: benches/load/run.sh [SECONDS_PER_CELL]   (default 10)
# Needs: wrk, prometheus-node-exporter, prometheus-postgres-exporter, postgresql,
#        python3 with moto[server] for the S3 part (skipped with a note when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
OUT=${LAKEWATCH_BENCH_OUT:-BENCHMARKS.md}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
LOAD=benches/load

for tool in wrk prometheus-node-exporter prometheus-postgres-exporter curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y ${tool}" >&2; exit 1; }
done

cargo build --release --quiet -p lakewatch-exporter -p lakewatch-benches --bin lakewatch-exporter --bin static-baseline
BIN="$CARGO_TARGET_DIR/release"
# shellcheck source=lib.sh
source "$LOAD/lib.sh"
bench_init

# start_ours NAME [CONFIG] [READY_PATH]: our exporter; sets PORT_<NAME> and PID_<NAME>.
# Waits for READY_PATH (default /readyz: every collector's first cycle has ended).
start_ours() {
  local port; port=$(free_port)
  "$BIN/lakewatch-exporter" --web.listen-address "127.0.0.1:$port" --log.level warn ${2:+--config "$2"} \
    2>>"$WORK/$1.log" &
  PIDS+=($!); printf -v "PID_$1" '%s' $!; printf -v "PORT_$1" '%s' "$port"
  wait_http "http://127.0.0.1:$port${3:-/readyz}"
}

# start_baseline NAME BODY_URL: the static baseline serving a copy of BODY_URL's body,
# plain on PORT_<NAME>, gzip on PORT_<NAME>_gz.
start_baseline() {
  curl -fsS "$2" > "$WORK/$1.body"
  gzip -6 -c "$WORK/$1.body" > "$WORK/$1.body.gz"
  local p; p=$(free_port)
  "$BIN/static-baseline" "127.0.0.1:$p" "$WORK/$1.body" 2>/dev/null &
  PIDS+=($!); printf -v "PID_$1" '%s' $!; printf -v "PORT_$1" '%s' "$p"
  wait_http "http://127.0.0.1:$p/"
  p=$(free_port)
  "$BIN/static-baseline" "127.0.0.1:$p" "$WORK/$1.body.gz" gzip 2>/dev/null &
  PIDS+=($!); printf -v "PID_$1_gz" '%s' $!; printf -v "PORT_$1_gz" '%s' "$p"
  wait_http "http://127.0.0.1:$p/"
}

# matrix OURS BASE PEER PEER_URL [DB_PID]: every connection count and encoding.
matrix() {
  local ours=$1 base=$2 peer=$3 peer_url=$4 db=${5:-} conns enc pid port
  for conns in 1 16 256; do
    for enc in plain gzip; do
      pid="PID_$ours"; port="PORT_$ours"
      wrk_cell "$ours" "${!pid}" "http://127.0.0.1:${!port}/metrics" "$conns" "$enc" "$db"
      if [ "$enc" = gzip ]; then pid="PID_${base}_gz"; port="PORT_${base}_gz"; else pid="PID_$base"; port="PORT_$base"; fi
      wrk_cell baseline "${!pid}" "http://127.0.0.1:${!port}/" "$conns" "$enc"
      pid="PID_$peer"
      wrk_cell "$peer" "${!pid}" "$peer_url" "$conns" "$enc" "$db"
    done
  done
  # Latency below saturation: 16 connections, ~1,600 requests/s asked.
  pid="PID_$ours"; port="PORT_$ours"
  wrk_cell "$ours" "${!pid}" "http://127.0.0.1:${!port}/metrics" 16 paced "$db"
  pid="PID_$base"; port="PORT_$base"
  wrk_cell baseline "${!pid}" "http://127.0.0.1:${!port}/" 16 paced
}

# ---- 1. host metrics -------------------------------------------------------------------
echo "1/4 host metrics: lakewatch (default config) vs baseline vs node_exporter" >&2
start_ours lakewatch
start_baseline base "http://127.0.0.1:$PORT_lakewatch/metrics"
PORT_node_exporter=$(free_port)
prometheus-node-exporter --web.listen-address "127.0.0.1:$PORT_node_exporter" --log.level=warn 2>/dev/null &
PIDS+=($!); PID_node_exporter=$!
wait_http "http://127.0.0.1:$PORT_node_exporter/metrics"
: > "$WORK/rows"
matrix lakewatch base node_exporter "http://127.0.0.1:$PORT_node_exporter/metrics"
cp "$WORK/rows" "$WORK/rows.host"
BYTES_OURS=$(wc -c < "$WORK/base.body"); GZ_OURS=$(wc -c < "$WORK/base.body.gz")
BYTES_NODE=$(curl -fsS "http://127.0.0.1:$PORT_node_exporter/metrics" | wc -c)
RSS_OURS=$(hwm_kb "$PID_lakewatch"); RSS_BASE=$(hwm_kb "$PID_base"); RSS_NODE=$(hwm_kb "$PID_node_exporter")
kill "$PID_lakewatch"

# ---- 2. Postgres ------------------------------------------------------------------------
echo "2/4 Postgres: lakewatch (disk + postgres) vs baseline vs postgres_exporter" >&2
pg_start
pg_config() {  # pg_config PORT FILE: disk + one Postgres target on 127.0.0.1:PORT
  cat > "$2" <<YML
collectors:
  container: { enabled: false }
  postgres:
    interval: 15s
    timeout: 10s
    statement_timeout: 5s
    targets:
      - name: bench
        dsn: postgresql://postgres@127.0.0.1:$1/postgres?sslmode=disable
        password_file: $PG_PASSWORD_FILE
YML
}
pg_config "$PG_PORT" "$WORK/pg.yml"
start_ours lakewatch_pg "$WORK/pg.yml"
PG_DSN="postgresql://postgres:bench-password@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
PORT_postgres_exporter=$(free_port)
DATA_SOURCE_NAME="$PG_DSN" prometheus-postgres-exporter --web.listen-address "127.0.0.1:$PORT_postgres_exporter" \
  --log.level=warn 2>/dev/null &
PIDS+=($!); PID_postgres_exporter=$!
wait_http "http://127.0.0.1:$PORT_postgres_exporter/metrics"
# Our collector's first cycle must have run: wait for pg_up 1.
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT_lakewatch_pg/metrics" | grep -q '^pg_up{.*} 1' && break; sleep 0.2; done
start_baseline base_pg "http://127.0.0.1:$PORT_lakewatch_pg/metrics"
: > "$WORK/rows"
matrix lakewatch_pg base_pg postgres_exporter "http://127.0.0.1:$PORT_postgres_exporter/metrics" "$PG_PID"
cp "$WORK/rows" "$WORK/rows.pg"
BYTES_PG_OURS=$(wc -c < "$WORK/base_pg.body")
BYTES_PGX=$(curl -fsS "http://127.0.0.1:$PORT_postgres_exporter/metrics" | wc -c)
RSS_PG_OURS=$(hwm_kb "$PID_lakewatch_pg"); RSS_PGX=$(hwm_kb "$PID_postgres_exporter")
kill "$PID_lakewatch_pg" "$PID_postgres_exporter"

# ---- 3. slow Postgres -------------------------------------------------------------------
echo "3/4 slow Postgres (every reply delayed 2 s): lakewatch vs postgres_exporter at 16 connections" >&2
SLOW_PORT=$(free_port)
python3 "$LOAD/slowproxy.py" "$SLOW_PORT" "$PG_PORT" 2 &
PIDS+=($!)
sleep 0.5
cat > "$WORK/slow.yml" <<YML
collectors:
  container: { enabled: false }
  postgres:
    interval: 30s
    timeout: 25s
    statement_timeout: 20s
    targets:
      - name: slow
        dsn: postgresql://postgres@127.0.0.1:$SLOW_PORT/postgres?sslmode=disable
        password_file: $PG_PASSWORD_FILE
YML
# Its first cycle takes longer than wait_http waits: /metrics answers meanwhile.
start_ours lakewatch_slow "$WORK/slow.yml" /metrics
PORT_postgres_exporter_slow=$(free_port)
DATA_SOURCE_NAME="postgresql://postgres:bench-password@127.0.0.1:$SLOW_PORT/postgres?sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address "127.0.0.1:$PORT_postgres_exporter_slow" --log.level=warn 2>/dev/null &
PIDS+=($!); PID_postgres_exporter_slow=$!
sleep 1
: > "$WORK/rows"
SLOW_DURATION=$(( DURATION < 30 ? 30 : DURATION ))
DURATION_SAVED=$DURATION; DURATION=$SLOW_DURATION
WRK_TIMEOUT=30 wrk_cell lakewatch_slow "$PID_lakewatch_slow" "http://127.0.0.1:$PORT_lakewatch_slow/metrics" 16 plain
WRK_TIMEOUT=30 wrk_cell lakewatch_slow "$PID_lakewatch_slow" "http://127.0.0.1:$PORT_lakewatch_slow/metrics" 16 paced
WRK_TIMEOUT=30 wrk_cell postgres_exporter_slow "$PID_postgres_exporter_slow" "http://127.0.0.1:$PORT_postgres_exporter_slow/metrics" 16 plain
DURATION=$DURATION_SAVED
cp "$WORK/rows" "$WORK/rows.slow"
SLOW_UP=$(curl -fsS "http://127.0.0.1:$PORT_lakewatch_slow/metrics" | awk '/^pg_up\{/ {print $2}')
kill "$PID_lakewatch_slow" "$PID_postgres_exporter_slow"

# ---- 4. memory with every collector -----------------------------------------------------
echo "4/4 memory: lakewatch with disk + container + postgres + s3 + trino under load" >&2
TRINO_PORT=$(free_port)
python3 "$LOAD/trino_replay.py" "$TRINO_PORT" 2000 &
PIDS+=($!)
S3_YML=""; S3_NOTE="S3 collector off (moto not installed: pip install 'moto[server]')"
if python3 -c 'import moto.server, boto3' 2>/dev/null; then
  S3_PORT=$(free_port)
  python3 -m moto.server -H 127.0.0.1 -p "$S3_PORT" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$S3_PORT/"
  python3 - "$S3_PORT" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench-secret")
for b in range(3):
    s3.create_bucket(Bucket=f"lake-{b}")
    for i in range(300):
        s3.put_object(Bucket=f"lake-{b}", Key=f"part-{i:05d}.parquet", Body=b"x" * (i % 97))
PY
  S3_YML="  s3:
    interval: 30s
    targets:
      - name: moto
        endpoint: http://127.0.0.1:$S3_PORT
        region: us-east-1
        access_key: bench
        secret_key: bench-secret
        path_style: true"
  S3_NOTE="S3: moto with 3 buckets × 300 objects"
fi
cat > "$WORK/all.yml" <<YML
collectors:
  postgres:
    interval: 15s
    targets:
      - name: bench
        dsn: postgresql://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable
        password_file: $PG_PASSWORD_FILE
  trino:
    interval: 5s
    targets:
      - name: replay
        url: http://127.0.0.1:$TRINO_PORT
        user: lakewatch
$S3_YML
YML
start_ours lakewatch_all "$WORK/all.yml"
sleep 6
: > "$WORK/rows"
wrk_cell lakewatch_all "$PID_lakewatch_all" "http://127.0.0.1:$PORT_lakewatch_all/metrics" 16 plain
wrk_cell lakewatch_all "$PID_lakewatch_all" "http://127.0.0.1:$PORT_lakewatch_all/metrics" 16 gzip
cp "$WORK/rows" "$WORK/rows.all"
ALL_RSS=$(rss_kb "$PID_lakewatch_all"); ALL_HWM=$(hwm_kb "$PID_lakewatch_all")
ALL_SERIES=$(curl -fsS "http://127.0.0.1:$PORT_lakewatch_all/metrics" | grep -vc '^#')
ALL_UP=$(curl -fsS "http://127.0.0.1:$PORT_lakewatch_all/metrics" | awk '/^lakewatch_collector_up\{/ {printf "%s ", $0}')
NODE_RSS_NOW=$(rss_kb "$PID_node_exporter")

# ---- report -----------------------------------------------------------------------------
{
  echo "Run $RUN_AT; each cell is one $DURATION s wrk run; wrk shares the cores with the servers."
  echo "Bodies: lakewatch $BYTES_OURS bytes plain / $GZ_OURS gzip (embedded default config: disk, plus container when Docker answers); node_exporter $BYTES_NODE bytes plain (default collectors)."
  echo
  python3 "$LOAD/table.py" "$WORK/rows.host" lakewatch lakewatch baseline node_exporter
  echo
  echo "Peak RSS (VmHWM): lakewatch $RSS_OURS KiB, static baseline $RSS_BASE KiB, node_exporter $RSS_NODE KiB."
} > "$WORK/section.load"
replace_section "$OUT" load "$WORK/section.load"

{
  echo "Run $RUN_AT; each cell is one $DURATION s wrk run. Both exporters watch the same throw-away PostgreSQL $(ls -d /usr/lib/postgresql/*/ | sort -V | tail -1 | xargs basename) server; \"Postgres CPU\" is the database server's CPU (postmaster and all backends) during the cell, per 1,000 scrapes."
  echo "Bodies: lakewatch_pg $BYTES_PG_OURS bytes plain (disk + postgres); postgres_exporter $BYTES_PGX bytes plain ($(prometheus-postgres-exporter --version 2>&1 | head -1 | awk '{print $1, $2, $3}'), default collectors)."
  echo
  python3 "$LOAD/table.py" "$WORK/rows.pg" lakewatch_pg lakewatch_pg baseline postgres_exporter
  echo
  echo "Peak RSS (VmHWM): lakewatch_pg $RSS_PG_OURS KiB, postgres_exporter $RSS_PGX KiB."
  echo
  echo "Slow Postgres: every reply from the server delayed 2 s by \`benches/load/slowproxy.py\`; 16 connections, plain, one ${SLOW_DURATION} s cell each, wrk timeout 30 s. Our pg_up at the end: ${SLOW_UP:-none}. Our scrapes never wait for the database; postgres_exporter's wait for every query."
  echo
  python3 "$LOAD/table.py" "$WORK/rows.slow" lakewatch_slow lakewatch_slow postgres_exporter_slow
} > "$WORK/section.pg"
replace_section "$OUT" load-postgres "$WORK/section.pg"

{
  echo "Run $RUN_AT. Our exporter with every collector on: disk, container (when Docker answers), Postgres (the server above), Trino (\`benches/load/trino_replay.py\`: the test fixtures, 2,000 listed queries, polled every 5 s), $S3_NOTE. Loaded with wrk (16 connections, plain then gzip, $DURATION s each)."
  echo
  echo "| process | RSS now | peak RSS (VmHWM) | series served |"
  echo "|---|---:|---:|---:|"
  echo "| lakewatch, all collectors | $ALL_RSS KiB | $ALL_HWM KiB | $ALL_SERIES |"
  echo "| node_exporter (after its load cells above) | $NODE_RSS_NOW KiB | $RSS_NODE KiB | — |"
  echo
  echo "Collectors up at the end: \`${ALL_UP}\`"
  echo
  python3 "$LOAD/table.py" "$WORK/rows.all" lakewatch_all lakewatch_all
} > "$WORK/section.rss"
replace_section "$OUT" load-rss "$WORK/section.rss"

cat "$WORK/section.load" "$WORK/section.pg" "$WORK/section.rss"
