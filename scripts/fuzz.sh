#!/usr/bin/env bash
# Bounded fuzz run: every cargo-fuzz target in fuzz/ for SECONDS each (README: "Fuzzing").
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      # default: 60 s, every target
#
# Fails when a target panics, hangs (-timeout) or runs out of memory (-rss_limit_mb);
# libFuzzer leaves the input under fuzz/artifacts/<target>/. Inputs found along the way
# grow a working corpus outside the clone ($LAKEWATCH_FUZZ_TARGET_DIR/corpus), so
# repeated runs start where the last one stopped; the checked-in seeds stay as they are.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
shift || true
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=(config web_config rulegen_spec passthrough trino_airlift trino_query_list)
fi

# Largest input per target, a little above the largest real file of its kind: longer
# inputs only slow the search down.
declare -A MAX_LEN=(
  [config]=12000          # the embedded default config is 7.7 kB
  [web_config]=2000
  [rulegen_spec]=20000    # the stock alert spec is 17 kB
  [passthrough]=8000      # MinIO's cluster metrics fixture is 4.9 kB
  [trino_airlift]=64
  [trino_query_list]=12000
)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  if ! cargo install cargo-fuzz --locked; then
    if [ "${CI:-}" = true ]; then
      echo "fuzz: cannot install cargo-fuzz" >&2
      exit 1
    fi
    echo "SKIPPED: fuzzing (cargo-fuzz could not be installed)"
    exit 0
  fi
fi

# The fuzz crate is its own workspace with its own target directory: its dependencies
# are built with coverage instrumentation and would never be shared with the main build.
export CARGO_TARGET_DIR="${LAKEWATCH_FUZZ_TARGET_DIR:-$PWD/target}"
# No sanitizer: the crates forbid unsafe code, and we hunt panics, hangs and memory
# blow-ups, which libFuzzer catches by itself. It also keeps us on stable Rust: without a
# sanitizer cargo-fuzz passes only stable flags (-Cpasses=sancov-module, -Cllvm-args);
# -Zsanitizer=address would need nightly, or RUSTC_BOOTSTRAP=1 on stable. 16 codegen
# units: a much faster build on 2 cores for slightly slower fuzzing.
build=(-s none --codegen-units 16)

echo "==> cargo fuzz build"
cargo fuzz build "${build[@]}"

work="$CARGO_TARGET_DIR/corpus"
logs="$CARGO_TARGET_DIR/logs"
mkdir -p "$logs"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  dirs=("$work/$t" "corpus/$t")
  [ -d "regressions/$t" ] && dirs+=("regressions/$t")
  # The first directory receives new inputs; the others are read only.
  if cargo fuzz run "${build[@]}" "$t" "${dirs[@]}" -- \
    -max_total_time="$seconds" -max_len="${MAX_LEN[$t]}" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    >"$logs/$t.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log")
    corpus=$(find "$work/$t" -type f | wc -l)
    echo "fuzz $t: ${runs:-?} runs in ${seconds}s (${rate:-?}/s), corpus $corpus, no failure"
  else
    echo "fuzz $t: FAILED; the last lines of $logs/$t.log:"
    tail -n 40 "$logs/$t.log"
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed. Reproduce with"
  echo "  (cd fuzz && cargo fuzz run ${build[*]} <target> artifacts/<target>/<file>)"
  echo "then fix the bug and keep the input as fuzz/regressions/<target>/<name>."
  exit 1
fi
