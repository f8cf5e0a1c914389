#!/usr/bin/env bash
# The pip package as a user installs it (README, "Install with pip"): Debian's Python, a fresh
# venv that sees Debian's meson-python, `pip install --no-build-isolation .` offline. Then the
# installed coroner analyses a sample trace, the installed coroner_asyncio logs a tiny program
# that coroner judges, and the plugin's suite runs through the pytest11 entry point.
# usage: tests/package/check_pip_install.sh [PYTHON] (default /usr/bin/python3)
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
python="${1:-/usr/bin/python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --no-build-isolation --no-index --quiet \
  --config-settings=compile-args=-j2 .  # two jobs: the machine is shared
bin="$work/venv/bin"

echo "installed: $(command -v "$bin/coroner") ($("$bin/coroner" --version))"
status=0
"$bin/coroner" sample_traces/deadlock.jsonl > "$work/report.txt" || status=$?
grep -q '^deadlock' "$work/report.txt" || { echo "FAIL: no deadlock in the sample's report" >&2; exit 1; }
[ "$status" -eq 1 ] || { echo "FAIL: coroner exited $status on a trace with findings, not 1" >&2; exit 1; }
echo "ok   the installed coroner finds the sample's deadlocks (exit 1)"

# The wheel's binary is built for AVX2 (x86-64): on a CPU without it, one line and exit 2.
if [ "$(uname -m)" = x86_64 ]; then
  status=0
  CORONER_FAKE_OLD_CPU=1 "$bin/coroner" sample_traces/deadlock.jsonl > "$work/out" 2> "$work/err" || status=$?
  [ "$status" -eq 2 ] && [ ! -s "$work/out" ] && [ "$(wc -l < "$work/err")" -eq 1 ] &&
    grep -q 'lacks AVX2' "$work/err" ||
    { echo "FAIL: on a CPU without AVX2: exit $status, stderr:" >&2; cat "$work/err" >&2; exit 1; }
  echo "ok   on a CPU without AVX2 it says so in one line and exits 2: $(cat "$work/err")"
fi

# Found on the venv's PATH, as a console command is.
PATH="$bin:$PATH" command -v coroner | grep -qx "$bin/coroner" ||
  { echo "FAIL: coroner is not on the venv's PATH" >&2; exit 1; }
echo "ok   coroner is on the venv's PATH"

where="$("$bin/python" tests/package/deadlock_program.py "$work/run.jsonl")"
case "$where" in
  "$work/venv/"*) echo "ok   coroner_asyncio imported from the venv ($where)" ;;
  *) echo "FAIL: coroner_asyncio came from $where, not the venv" >&2; exit 1 ;;
esac
status=0
"$bin/coroner" --kind deadlock --format ndjson "$work/run.jsonl" > "$work/findings" || status=$?
cycle="$(grep -c '"kind":"deadlock"' "$work/findings" || true)"
[ "$status" -eq 1 ] && [ "$cycle" -eq 2 ] ||
  { echo "FAIL: the program's deadlock: exit $status, $cycle findings" >&2; cat "$work/findings" >&2; exit 1; }
echo "ok   the installed module's log shows the lock-order deadlock of both tasks"

"$bin/python" tests/pytest_plugin/run_plugin_tests.py "$bin/coroner" --python "$bin/python" --installed
