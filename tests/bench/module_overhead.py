"""What python/coroner_asyncio.py costs a program of many short tasks.

usage: python3 tests/bench/module_overhead.py [--tasks N] [--runs R] [--profile] [--module DIR]

The program: N tasks (default 20,000), each three stages of ``stage(name)`` then
``await asyncio.sleep(0)``, all created by one main task and gathered. Measured on the python
running this script, each variant in a fresh subprocess, R runs (default 5), median:

- baseline: the module imported, install() not called: stage() is then the module's no-op
  (a logging level check: the "coroner" logger has no handler and is not enabled for INFO).
- installed: install(stream=...) writing the JSON lines to a file (page cache).

Prints both times, their ratio, and the module's cost per record:
(installed - baseline) / records written. No pass/fail: a benchmark, not a test.
--profile: run the installed variant once under cProfile and print the top functions.
--module DIR: measure the coroner_asyncio.py in DIR instead (to compare two versions).

Last measured (2026-11-26, a shared 2-core VM under load: baselines 0.4 to 1.0 s, twice a quiet
run's), ratio installed / baseline, median of 5 runs, this version then the one before it
(each with its own baseline runs):
  pyenv 3.11.7  1.78x (2.10x); 7 runs, less load: 1.59x, 3.48 us per record
                quiet moment (baseline 0.34 s), interleaved: 1.77x, 2.16 us (1.94x, 2.61 us)
  Debian 3.11.2 1.71x (1.89x)     3.9.18  1.73x (1.92x)     3.10.13 1.64x (1.80x)
  3.12.1        1.87x (2.11x)     3.13.0  1.91x (3.53x, a noisy run)
The us per record moved with the load (2.7 to 6.6 us); instructions do not: callgrind on
3.11.7, 1.71x and 10,500 instructions a record (the version before: 1.80x, 12,000).
"""

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULE_DIR = HERE.parent.parent / "python"

PROGRAM = r"""
import asyncio, sys, time
sys.path.insert(0, %(moddir)r)
import coroner_asyncio as ca
from coroner_asyncio import stage

N, MODE, OUT = %(n)d, %(mode)r, %(out)r

async def job(n):
    stage("fetch")
    await asyncio.sleep(0)
    stage("parse")
    await asyncio.sleep(0)
    stage("store")
    await asyncio.sleep(0)

async def main():
    if MODE == "installed":
        ca.install(stream=open(OUT, "w"))
    t0 = time.perf_counter()
    await asyncio.gather(*[asyncio.create_task(job(n)) for n in range(N)])
    return time.perf_counter() - t0

def run():
    return asyncio.run(main())

if %(profile)r:
    import cProfile, pstats
    cProfile.run("print(run())", "/tmp/coroner_bench.prof")
    pstats.Stats("/tmp/coroner_bench.prof").sort_stats("tottime").print_stats(18)
else:
    print(run())
"""


def run_once(mode, n, out, profile=False):
    src = PROGRAM % {"moddir": str(MODULE_DIR), "n": n, "mode": mode, "out": out, "profile": profile}
    res = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, check=True)
    if profile:
        print(res.stdout)
        return 0.0
    return float(res.stdout.strip().splitlines()[-1])


def main(argv):
    global MODULE_DIR
    if "--module" in argv:
        MODULE_DIR = Path(argv[argv.index("--module") + 1]).resolve()
    n = int(argv[argv.index("--tasks") + 1]) if "--tasks" in argv else 20000
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 5
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.jsonl")
        if "--profile" in argv:
            run_once("installed", n, out, profile=True)
            return 0
        base, inst = [], []
        for _ in range(runs):  # interleaved, so that a noisy neighbour hits both alike
            base.append(run_once("baseline", n, out))
            inst.append(run_once("installed", n, out))
        with open(out) as f:
            records = sum(1 for _ in f)
    b, i = statistics.median(base), statistics.median(inst)
    print("python %s, %d tasks x 3 stages, median of %d runs" % (sys.version.split()[0], n, runs))
    print("baseline (imported, not installed): %.3f s" % b)
    print("installed (stream sink):            %.3f s   (%d records)" % (i, records))
    print("ratio %.2fx, %.2f us per record" % (i / b, (i - b) / records * 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
