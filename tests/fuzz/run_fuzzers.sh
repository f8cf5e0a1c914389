#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ (clang, -Dfuzz=true) and runs each for SECONDS.
#
#   tests/fuzz/run_fuzzers.sh SECONDS [TARGET...]     (default: every target, one after another)
#
# Each target starts from its seed corpus tests/fuzz/corpus/TARGET/ (read only) and keeps what it
# learns in build-fuzz/corpus/TARGET/. Crashes, leaks and timeouts are written to
# build-fuzz/crashes/ (replay one: build-fuzz/tests/fuzz/TARGET FILE). Exits 1 when a target
# found one, 0 otherwise. FUZZ_JOBS=N runs N targets at once (default 1). FUZZ_KEEP_GOING=1 goes
# on past a crash (libFuzzer's -fork=1 -ignore_crashes=1), to collect several in one long run.
# FUZZ_BUILD=DIR takes the targets from another configured build directory (say, of a snapshot of
# the sources); corpus, crashes and logs stay in build-fuzz/.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."

seconds="${1:-}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: tests/fuzz/run_fuzzers.sh SECONDS [TARGET...]" >&2
  exit 2
fi
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_reader fuzz_timestamp fuzz_pipeline fuzz_stage_template fuzz_dialects fuzz_state)
jobs="${FUZZ_JOBS:-1}"

build=build-fuzz
bin="${FUZZ_BUILD:-$build}"
if ! command -v clang++ >/dev/null; then
  echo "run_fuzzers.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi
if [ ! -d "$bin/meson-private" ]; then
  CXX=clang++ CC=clang meson setup "$bin" -Dfuzz=true -Dtests=false \
    -Dbuildtype=debugoptimized -Db_ndebug=false >/dev/null
fi
mkdir -p "$build/crashes" "$build/logs"
if ! ninja -C "$bin" "${targets[@]/#/tests/fuzz/}" >"$build/logs/build.log" 2>&1; then
  grep -m5 -E 'error|FAILED' "$build/logs/build.log" >&2 || tail -5 "$build/logs/build.log" >&2
  echo "run_fuzzers.sh: the fuzz targets do not build (log: $build/logs/build.log)" >&2
  exit 2
fi
status=0
run_one() {
  local target="$1"
  local max_len=65536
  [ "$target" = fuzz_timestamp ] && max_len=256
  mkdir -p "$build/corpus/$target"
  local dict=()
  [ "$target" != fuzz_timestamp ] && dict=(-dict=tests/fuzz/json.dict)
  local log="$build/logs/$target.log"
  local keep_going=()
  [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && keep_going=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  set +e
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    "$bin/tests/fuzz/$target" "$build/corpus/$target" "tests/fuzz/corpus/$target" \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=20 -rss_limit_mb=2560 \
    -artifact_prefix="$build/crashes/$target-" -print_final_stats=1 "${dict[@]}" "${keep_going[@]}" \
    >"$log" 2>&1
  local rc=$?
  set -e
  local execs cov
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  cov="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)"
  if [ "$rc" -eq 0 ]; then
    echo "$target: ok, ${execs:-?} executions, ${cov:-no coverage line} (log: $log)"
  else
    echo "$target: FAILED (exit $rc), see $log and $build/crashes/"
    grep -m3 -E 'ERROR|runtime error|SUMMARY' "$log" | sed 's/^/  /' || true
  fi
  return "$rc"
}

running=0
pids=()
for target in "${targets[@]}"; do
  run_one "$target" &
  pids+=($!)
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit "$status"
