#!/usr/bin/env bash
# Postgres with 10,000 tables (issue 18): what one collection cycle costs, ours against
# Debian's prometheus-postgres-exporter (0.11) given 0.20's per-table queries.
#
# A throw-away PostgreSQL (autovacuum off, so only the exporters make it work) gets
# TABLES tables (id int PRIMARY KEY, v int) created in one DO block, rows in every tenth
# one, then ANALYZE. Each exporter then runs CYCLES cycles alone against it, on a role of
# its own:
# - lakewatch, default settings (per-table series: top 200 tables by size), a cycle every
#   5 s; the cycle time is lakewatch_collector_duration_seconds;
# - lakewatch with tables_limit: 3000 (87,000 table series, under the default
#   limits.series_per_target of 100,000);
# - postgres_exporter 0.11 with --extend.query-path holding 0.20's stat_user_tables and
#   statio_user_tables queries (every table, pg_table_size and pg_indexes_size each):
#   0.11 collects on scrape, so its cycle is one scrape (back to back, timed by curl).
# Per cycle: the exporter's CPU (utime+stime of its process), the database's CPU (the
# postmaster and all its backends, reaped ones included), the exporter's queries'
# execution time in Postgres (pg_stat_statements, by role), and the series served.
#
# Usage: benches/pg_tables.sh [CYCLES] (default 10); LAKEWATCH_BENCH_TABLES=N for another
# table count. Writes BENCHMARKS.md's pg_tables section (LAKEWATCH_BENCH_OUT=file for
# another). Needs postgresql, prometheus-postgres-exporter, curl. Not part of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES=${1:-10}
TABLES=${LAKEWATCH_BENCH_TABLES:-10000}
OUT=${LAKEWATCH_BENCH_OUT:-BENCHMARKS.md}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

for tool in prometheus-postgres-exporter curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y $tool" >&2; exit 1; }
done
cargo build --release --quiet -p lakewatch-exporter --bin lakewatch-exporter
BIN="$CARGO_TARGET_DIR/release"
# shellcheck source=load/lib.sh
source benches/load/lib.sh
bench_init

# 10,000 new tables and their primary keys are 20,000 locks in one transaction.
PG_EXTRA=(-c autovacuum=off -c max_locks_per_transaction=1024
  -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=10000)
pg_start
sql() { "$PG_BIN/psql" -h "$WORK/pg" -p "$PG_PORT" -U postgres -d postgres -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
t0=$(date +%s)
sql "DO \$\$ BEGIN FOR i IN 1..$TABLES LOOP
       EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v int)', i);
     END LOOP; END \$\$"
sql "DO \$\$ BEGIN FOR i IN 1..$TABLES BY 10 LOOP
       EXECUTE format('INSERT INTO t%s SELECT g, g FROM generate_series(1, %s) g', i, i / 10 + 1);
     END LOOP; END \$\$"
sql "ANALYZE"
echo "created $TABLES tables in $(($(date +%s) - t0)) s" >&2
PW=$(cat "$PG_PASSWORD_FILE")
sql "CREATE EXTENSION pg_stat_statements"
for role in lw lw3000 pe; do sql "CREATE ROLE $role LOGIN SUPERUSER PASSWORD '$PW'"; done

# Execution time (s) of a role's statements since the last reset.
exec_s() { sql "SELECT COALESCE(sum(total_exec_time), 0) / 1000 FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '$1'"; }
# The value of a metric's first sample (reads all its input: curl must not see a closed pipe).
metric() { awk -v n="$1" '!done && ($1 ~ "^"n"[{ ]" || $1 == n) {print $NF; done = 1}'; }
series() { grep -c '^pg_' || true; }
ROWS=()

# run_ours NAME ROLE EXTRA_CONFIG: CYCLES cycles of our exporter, after one to warm up.
run_ours() {
  local name=$1 role=$2 port cfg="$WORK/$1.yml"
  cat > "$cfg" <<EOF
collectors:
  disk: {enabled: false}
  container: {enabled: false}
  postgres:
    interval: 5s
    timeout: 5s
$3    targets:
      - name: bench
        dsn: postgresql://$role@127.0.0.1:$PG_PORT/postgres?sslmode=disable
        password_file: $PG_PASSWORD_FILE
EOF
  port=$(free_port)
  "$BIN/lakewatch-exporter" --web.listen-address "127.0.0.1:$port" --log.level warn --config "$cfg" 2>>"$WORK/$name.log" &
  local pid=$!; PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/readyz"
  local url="http://127.0.0.1:$port/metrics" last seen=0 body durations=0 c0 d0 c1 d1
  last=$(curl -fsS "$url" | metric lakewatch_collector_last_success_timestamp_seconds)
  sql "SELECT pg_stat_statements_reset()" >/dev/null
  c0=$(ticks "$pid"); d0=$(tree_ticks "$PG_PID")
  while [ "$seen" -lt "$CYCLES" ]; do
    sleep 0.2
    body=$(curl -fsS "$url")
    local now; now=$(metric lakewatch_collector_last_success_timestamp_seconds <<<"$body")
    if [ "$now" != "$last" ]; then
      last=$now; seen=$((seen + 1))
      durations=$(awk -v a="$durations" -v b="$(metric lakewatch_collector_duration_seconds <<<"$body")" 'BEGIN {print a + b}')
    fi
  done
  c1=$(ticks "$pid"); d1=$(tree_ticks "$PG_PID")
  ROWS+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$name" \
    "$(awk -v d="$durations" -v n="$CYCLES" 'BEGIN {printf "%.3f", d / n}')" \
    "$(awk -v t=$((c1 - c0)) -v n="$CYCLES" -v hz="$HZ" 'BEGIN {printf "%.3f", t / hz / n}')" \
    "$(awk -v t=$((d1 - d0)) -v n="$CYCLES" -v hz="$HZ" 'BEGIN {printf "%.3f", t / hz / n}')" \
    "$(awk -v s="$(exec_s "$role")" -v n="$CYCLES" 'BEGIN {printf "%.3f", s / n}')" \
    "$(series <<<"$body")")")
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_ours "lakewatch (default: top 200 tables)" lw ""
run_ours "lakewatch (tables_limit: 3000)" lw3000 "    tables_limit: 3000
"

# postgres_exporter 0.11 with 0.20's per-table queries in its queries.yaml format.
cat > "$WORK/queries.yaml" <<'EOF'
pg_stat_user_tables:
  query: |
    SELECT current_database() datname, schemaname, relname, seq_scan, seq_tup_read, idx_scan,
      idx_tup_fetch, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd, n_live_tup, n_dead_tup,
      n_mod_since_analyze, COALESCE(last_vacuum, '1970-01-01Z') as last_vacuum,
      COALESCE(last_autovacuum, '1970-01-01Z') as last_autovacuum,
      COALESCE(last_analyze, '1970-01-01Z') as last_analyze,
      COALESCE(last_autoanalyze, '1970-01-01Z') as last_autoanalyze, vacuum_count,
      autovacuum_count, analyze_count, autoanalyze_count,
      pg_indexes_size(relid) as indexes_size, pg_table_size(relid) as table_size
    FROM pg_stat_user_tables
  metrics:
    - datname: {usage: LABEL, description: Database}
    - schemaname: {usage: LABEL, description: Schema}
    - relname: {usage: LABEL, description: Table}
    - seq_scan: {usage: COUNTER, description: seq_scan}
    - seq_tup_read: {usage: COUNTER, description: seq_tup_read}
    - idx_scan: {usage: COUNTER, description: idx_scan}
    - idx_tup_fetch: {usage: COUNTER, description: idx_tup_fetch}
    - n_tup_ins: {usage: COUNTER, description: n_tup_ins}
    - n_tup_upd: {usage: COUNTER, description: n_tup_upd}
    - n_tup_del: {usage: COUNTER, description: n_tup_del}
    - n_tup_hot_upd: {usage: COUNTER, description: n_tup_hot_upd}
    - n_live_tup: {usage: GAUGE, description: n_live_tup}
    - n_dead_tup: {usage: GAUGE, description: n_dead_tup}
    - n_mod_since_analyze: {usage: GAUGE, description: n_mod_since_analyze}
    - last_vacuum: {usage: GAUGE, description: last_vacuum}
    - last_autovacuum: {usage: GAUGE, description: last_autovacuum}
    - last_analyze: {usage: GAUGE, description: last_analyze}
    - last_autoanalyze: {usage: GAUGE, description: last_autoanalyze}
    - vacuum_count: {usage: COUNTER, description: vacuum_count}
    - autovacuum_count: {usage: COUNTER, description: autovacuum_count}
    - analyze_count: {usage: COUNTER, description: analyze_count}
    - autoanalyze_count: {usage: COUNTER, description: autoanalyze_count}
    - indexes_size: {usage: GAUGE, description: indexes_size}
    - table_size: {usage: GAUGE, description: table_size}
pg_statio_user_tables:
  query: |
    SELECT current_database() datname, schemaname, relname, heap_blks_read, heap_blks_hit,
      idx_blks_read, idx_blks_hit, toast_blks_read, toast_blks_hit, tidx_blks_read, tidx_blks_hit
    FROM pg_statio_user_tables
  metrics:
    - datname: {usage: LABEL, description: Database}
    - schemaname: {usage: LABEL, description: Schema}
    - relname: {usage: LABEL, description: Table}
    - heap_blks_read: {usage: COUNTER, description: heap_blks_read}
    - heap_blks_hit: {usage: COUNTER, description: heap_blks_hit}
    - idx_blks_read: {usage: COUNTER, description: idx_blks_read}
    - idx_blks_hit: {usage: COUNTER, description: idx_blks_hit}
    - toast_blks_read: {usage: COUNTER, description: toast_blks_read}
    - toast_blks_hit: {usage: COUNTER, description: toast_blks_hit}
    - tidx_blks_read: {usage: COUNTER, description: tidx_blks_read}
    - tidx_blks_hit: {usage: COUNTER, description: tidx_blks_hit}
EOF
PE_PORT=$(free_port)
DATA_SOURCE_NAME="postgresql://pe:$PW@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address="127.0.0.1:$PE_PORT" \
  --extend.query-path="$WORK/queries.yaml" >/dev/null 2>>"$WORK/pe.log" &
PE_PID=$!; PIDS+=("$PE_PID")
wait_http "http://127.0.0.1:$PE_PORT/"
PE_URL="http://127.0.0.1:$PE_PORT/metrics"
curl -fsS -o /dev/null "$PE_URL"   # warm-up: connection, version, settings
sql "SELECT pg_stat_statements_reset()" >/dev/null
c0=$(ticks "$PE_PID"); d0=$(tree_ticks "$PG_PID"); total=0
for _ in $(seq "$CYCLES"); do
  t=$(curl -fsS -o "$WORK/pe.body" -w '%{time_total}' "$PE_URL")
  total=$(awk -v a="$total" -v b="$t" 'BEGIN {print a + b}')
done
c1=$(ticks "$PE_PID"); d1=$(tree_ticks "$PG_PID")
ROWS+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s' "postgres_exporter 0.11 + 0.20's table queries" \
  "$(awk -v d="$total" -v n="$CYCLES" 'BEGIN {printf "%.3f", d / n}')" \
  "$(awk -v t=$((c1 - c0)) -v n="$CYCLES" -v hz="$HZ" 'BEGIN {printf "%.3f", t / hz / n}')" \
  "$(awk -v t=$((d1 - d0)) -v n="$CYCLES" -v hz="$HZ" 'BEGIN {printf "%.3f", t / hz / n}')" \
  "$(awk -v s="$(exec_s pe)" -v n="$CYCLES" 'BEGIN {printf "%.3f", s / n}')" \
  "$(series < "$WORK/pe.body")")")

{
  echo "Run $RUN_AT; Postgres $(sql 'SHOW server_version' | cut -d' ' -f1), $TABLES tables, $CYCLES cycles each after a warm-up."
  echo
  echo "| exporter | cycle s | exporter CPU s / cycle | database CPU s / cycle | query time s / cycle (pg_stat_statements) | pg_* series |"
  echo "|---|---:|---:|---:|---:|---:|"
  for r in "${ROWS[@]}"; do
    IFS=$'\t' read -r n a b c d e <<<"$r"
    echo "| $n | $a | $b | $c | $d | $e |"
  done
} > "$WORK/section.md"
cat "$WORK/section.md"
python3 - "$OUT" "$WORK/section.md" <<'EOF'
import sys
out, section = sys.argv[1], open(sys.argv[2]).read()
text = open(out).read()
start, end = "<!-- pg_tables:start -->\n", "<!-- pg_tables:end -->"
i, j = text.index(start) + len(start), text.index(end)
open(out, "w").write(text[:i] + section + text[j:])
EOF
