#!/usr/bin/env python3
"""What `pytest --coroner` costs a test.

usage: plugin_overhead.py CORONER [--python PY] [--tests N] [--runs R]

Writes N small tests (default 200) to a scratch folder, in two kinds: asyncio tests
(pytest-asyncio, a gather of 3 tasks with a logged stage each) and plain tests (no asyncio),
and runs pytest on each kind with and without --coroner, the four runs interleaved, R times
(default 5). Prints, per kind, the median wall time and CPU time (pytest's and its children's,
less noisy on a shared machine) of a run, and the cost per test, (median with - median
without) / N. The plugin comes from the source tree's python/.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE_PYTHON_DIR = Path(__file__).resolve().parent.parent.parent / "python"

ASYNC_TEST = '''
@pytest.mark.asyncio
async def test_{n}():
    async def job(i):
        with stage("fetch", item=i):
            await asyncio.sleep(0)
        return i

    assert await asyncio.gather(*(job(i) for i in range(3))) == [0, 1, 2]
'''

PLAIN_TEST = '''
def test_{n}():
    assert sum(range({n})) == {total}
'''


def write_tests(folder, n):
    with open(os.path.join(folder, "test_async.py"), "w") as f:
        f.write("import asyncio\nimport pytest\nfrom coroner_asyncio import stage\n")
        for i in range(n):
            f.write(ASYNC_TEST.format(n=i))
    with open(os.path.join(folder, "test_plain.py"), "w") as f:
        for i in range(n):
            f.write(PLAIN_TEST.format(n=i, total=sum(range(i))))


def run(python, coroner, folder, test_file, plugin_on):
    env = dict(os.environ, PYTHONPATH=str(SOURCE_PYTHON_DIR), CORONER_BINARY=coroner)
    cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "coroner_pytest",
           test_file]
    if plugin_on:
        cmd.insert(-1, "--coroner")
    start, cpu_start = time.perf_counter(), _children_cpu()
    done = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu_start
    if done.returncode != 0:
        sys.exit(f"plugin_overhead: pytest failed:\n{done.stdout}{done.stderr}")
    return elapsed, cpu


def _children_cpu():
    """User + system CPU seconds of the finished children (pytest, and the coroner it ran):
    on a shared VM, less noisy than the wall clock."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("coroner")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--tests", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    coroner = os.path.abspath(a.coroner)
    with tempfile.TemporaryDirectory() as folder:
        write_tests(folder, a.tests)
        times = {(kind, on): [] for kind in ("test_async.py", "test_plain.py") for on in (False, True)}
        for _ in range(a.runs):
            for key in times:
                times[key].append(run(a.python, coroner, folder, key[0], key[1]))
    for kind in ("test_async.py", "test_plain.py"):
        for i, what in ((0, "wall"), (1, "cpu")):
            off = statistics.median(t[i] for t in times[(kind, False)])
            on = statistics.median(t[i] for t in times[(kind, True)])
            print(f"{kind}: {a.tests} tests, {what} time, median of {a.runs}: {off:.2f} s without, "
                  f"{on:.2f} s with --coroner: {(on - off) / a.tests * 1000:.1f} ms a test "
                  f"({on / off:.2f}x)")


if __name__ == "__main__":
    main()
