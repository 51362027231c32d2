# Shared helpers of the load and soak scripts (sourced, not run; starts nothing by
# itself). A script calls bench_init first: it makes $WORK (a temp dir) and the PIDS
# array the helpers below use.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http URL: until it answers 2xx (10 s).
wait_http() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# CPU ticks of a process: utime+stime plus cutime+cstime: CPU of reaped children (exited Postgres backends) counts.
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
# The same process's own user and system CPU time so far, apart: "USER SYSTEM" in ticks.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)

# Ticks of a process and all its descendants (Postgres: postmaster plus backends).
tree_ticks() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" 2>/dev/null); do
    if [ "$p" = "$1" ]; then
      [ -r "/proc/$p/stat" ] && total=$((total + $(ticks "$p" 2>/dev/null || echo 0)))
    else
      total=$((total + $(tree_ticks "$p")))
    fi
  done
  echo "$total"
}

# pg_start: a throw-away PostgreSQL on a free port, data in $WORK/pg, as the postgres user
# when run as root (initdb refuses root). Sets PG_PORT, PG_PID, PG_PASSWORD_FILE.
pg_start() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$PG_BIN/postgres" ] || { echo "missing postgresql: apt-get install -y postgresql" >&2; exit 1; }
  PG_AS=()
  # setpriv execs (runuser would fork): PG_PID is then the postmaster itself.
  [ "$(id -u)" = 0 ] && PG_AS=(setpriv --reuid=postgres --regid=postgres --init-groups)
  chmod 755 "$WORK"
  mkdir -p "$WORK/pg"
  echo bench-password > "$WORK/pg/pw"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$WORK/pg"
  "${PG_AS[@]}" "$PG_BIN/initdb" -U postgres -E UTF8 --no-sync --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$WORK/pg/pw" -D "$WORK/pg/data" >/dev/null
  PG_PORT=$(free_port)
  PG_PASSWORD_FILE="$WORK/pg/pw"
  pg_run
}

# pg_run: (re)starts the server of pg_start on the same port and data; sets PG_PID.
# PG_EXTRA (an array of -c name=value pairs), when set, is added to the command line.
pg_run() {
  "${PG_AS[@]}" "$PG_BIN/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$WORK/pg" -c fsync=off -c max_connections=300 \
    ${PG_EXTRA[@]+"${PG_EXTRA[@]}"} >/dev/null 2>>"$WORK/pg/server.log" &
  PG_PID=$!; PIDS+=("$PG_PID")
  for _ in $(seq 100); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.1
  done
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || { cat "$WORK/pg/server.log" >&2; exit 1; }
}

# pg_stop: fast shutdown (clients disconnected), waiting for the exit.
pg_stop() {
  kill -INT "$PG_PID" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$PG_PID" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$PG_PID" 2>/dev/null || true
}

# wrk_cell NAME PID URL CONNS ENCODING [DB_PID]: one wrk run; appends a tab-separated row
# (name conns enc req/s p50 p99 cpu_s_per_1k errors db_cpu_s_per_1k) to $WORK/rows.
# DB_PID, when given, also charges the database server's CPU to the scrapes. WRK_CPUS,
# when set, is the CPU list wrk runs on (taskset).
wrk_cell() {
  local name=$1 pid=$2 url=$3 conns=$4 enc=$5 db=${6:-} hdr=() threads=2 pin=()
  [ -n "${WRK_CPUS:-}" ] && pin=(taskset -c "$WRK_CPUS")
  [ "$enc" = gzip ] && hdr=(-H "Accept-Encoding: gzip")
  # "paced": plain, each connection pausing 10 ms between requests (below saturation).
  [ "$enc" = paced ] && hdr=(-s "$(dirname "${BASH_SOURCE[0]}")/paced.lua")
  [ "$conns" = 1 ] && threads=1
  # Its own output file: cells may run at once (overhead.sh SIDE_BY_SIDE=1).
  local out="$WORK/wrk.$BASHPID.txt"
  local t0 d0=0; t0=$(ticks "$pid"); [ -n "$db" ] && d0=$(tree_ticks "$db")
  "${pin[@]}" wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout "${WRK_TIMEOUT:-2}s" --latency "${hdr[@]}" "$url" > "$out" 2>&1
  local t1 d1=0; t1=$(ticks "$pid"); [ -n "$db" ] && d1=$(tree_ticks "$db")
  local rps p50 p99 reqs errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$out")
  reqs=$(awk '/requests in/ {print $1}' "$out")
  p50=$(awk '$1=="50%" {print $2}' "$out")
  p99=$(awk '$1=="99%" {print $2}' "$out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' "$out" | tr '\n' ' ' | sed 's/  */ /g')
  local cpu_per_k db_per_k=""
  # No answer at all (a peer stuck on a slow target): no per-scrape cost to report.
  cpu_per_k=$(python3 -c "print(f'{($t1-$t0)/$HZ/$reqs*1000:.4f}' if ${reqs:-0} else '')")
  [ -n "$db" ] && db_per_k=$(python3 -c "print(f'{($d1-$d0)/$HZ/max($reqs,1)*1000:.4f}')")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$enc" "${rps:-0}" "${p50:-}" "${p99:-}" \
    "$cpu_per_k" "${errs:-}" "$db_per_k" >> "$WORK/rows"
  echo "  $name c=$conns $enc: ${rps:-0} req/s p50 ${p50:-} p99 ${p99:-} cpu/1k $cpu_per_k s ${db_per_k:+db/1k $db_per_k s }${errs:-}" >&2
}

# replace_section FILE MARKER TEXT_FILE: replaces <!-- MARKER:start --> … <!-- MARKER:end -->
# in FILE (appending the markers when absent) with the contents of TEXT_FILE. Refuses a
# FILE with the markers more than once (a merge can leave a second, stale copy that no
# run would ever update).
replace_section() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
path, marker, text = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().strip()
start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
try:
    doc = open(path).read()
except FileNotFoundError:
    doc = "# Benchmarks\n"
if doc.count(start) > 1 or doc.count(end) > 1:
    sys.exit(f"{path} has the {marker} section more than once: delete the stale copy, then re-run")
if start not in doc:
    doc = doc.rstrip("\n") + f"\n\n{start}\n{end}\n"
i, j = doc.index(start), doc.index(end) + len(end)
open(path, "w").write(doc[:i] + f"{start}\n{text}\n{end}" + doc[j:])
PY
}

machine_line() {
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
}

# bench_bins PACKAGE:BINARY ...: sets BIN, the directory of the release binaries a script
# runs: $LAKEWATCH_BIN when set (binaries already built: no cargo build), else the
# release directory of $CARGO_TARGET_DIR after building the binaries named.
bench_bins() {
  if [ -n "${LAKEWATCH_BIN:-}" ]; then BIN=$LAKEWATCH_BIN; return; fi
  local args=() spec
  for spec in "$@"; do args+=(-p "${spec%%:*}" --bin "${spec#*:}"); done
  cargo build --release --quiet "${args[@]}"
  BIN="${CARGO_TARGET_DIR:-target}/release"
}

# bench_init: $WORK, the PIDS array, a cleanup on exit that stops every PID and removes
# $WORK (after cleanup_extra, if the script defines one: e.g. removing its containers),
# and RUN_AT / LOAD_BEFORE for the results header.
bench_init() {
  WORK=$(mktemp -d)
  PIDS=()
  BENCH_SHELL=$BASHPID
  trap bench_cleanup EXIT
  RUN_AT="$(date -u '+%Y-%m-%d %H:%M') UTC on $(hostname): $(machine_line)"
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
}

bench_cleanup() {
  # Background subshells inherit the trap: only the script's own shell cleans up.
  [ "$BASHPID" = "$BENCH_SHELL" ] || return 0
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if declare -F cleanup_extra >/dev/null; then cleanup_extra || true; fi
  rm -rf "$WORK"
}
