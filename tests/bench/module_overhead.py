"""What python/coroner_asyncio.py costs a program of many short tasks.

usage: python3 tests/bench/module_overhead.py [--tasks N] [--runs R] [--profile] [--module DIR]

The program: N tasks (default 20,000), each three stages of ``stage(name)`` then
``await asyncio.sleep(0)``, all created by one main task and gathered. Measured on the python
running this script, each variant in a fresh subprocess, R runs (default 5), median:

- baseline: the module imported, install() not called: stage() is then the module's no-op
  (a logging level check: the "coroner" logger has no handler and is not enabled for INFO).
- installed: install(stream=...) writing the JSON lines to a file (page cache).

Prints both times, their ratio, and the module's cost per record:
(installed - baseline) / records written; by wall time, and by the process's CPU time
(time.process_time, which other load moves less). No pass/fail: a benchmark, not a test.
--profile: run the installed variant once under cProfile and print the top functions.
--module DIR: measure the coroner_asyncio.py in DIR instead (to compare two versions).

Last measured (2026-11-26 around 23:00 UTC, this version then the one before it, interleaved,
each with its own baseline runs; a shared 2-core VM, load average 3.2 to 3.7, then 3.8 to 5.9
for 3.9-3.13), ratio installed / baseline and us per record:
  pyenv 3.11.7  7 runs: 1.82x 2.23 us (1.82x 2.29 us); again: 1.74x 2.06 us (1.75x 2.24 us);
                9 runs by CPU time (process_time): 1.74x 2.04 us (1.79x 2.17 us)
  Debian 3.11.2 7 runs: 1.81x 1.97 us (1.77x 1.92 us); again: 1.74x 1.94 us (1.74x 1.92 us)
  5 runs:       3.9.18 1.57x (1.75x)   3.10.13 1.53x (1.82x)   3.12.1 1.78x (1.83x)
                3.13.0 1.91x (2.00x)
Instructions do not move with the load: callgrind (valgrind --tool=callgrind on both variants,
(installed - baseline) / records) on 3.11.7: 9,020 instructions a record, 1.48x the whole
process's (the version before, measured the same way: 10,875, 1.58x; its docstring said 10,500);
Debian's 3.11.2, 5,000 tasks: 8,330 (9,210), a tenth fewer only (the timestamp's few more
bytecodes weigh more there).
The time gained is smaller than the instructions: what went (the timestamp's 19-digit integer
turned into text, %-formats, the task name encoded per record) was cheap work per instruction;
what is left is interpreter dispatch, allocation, the collector, and asyncio's scheduling of
each task's done callback (about a fifth of the time, record included).
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
    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*[asyncio.create_task(job(n)) for n in range(N)])
    return "%%f %%f" %% (time.perf_counter() - t0, time.process_time() - c0)

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
        return 0.0, 0.0
    wall, cpu = res.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


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
    b, i = statistics.median(w for w, _ in base), statistics.median(w for w, _ in inst)
    bc, ic = statistics.median(c for _, c in base), statistics.median(c for _, c in inst)
    print("python %s, %d tasks x 3 stages, median of %d runs" % (sys.version.split()[0], n, runs))
    print("baseline (imported, not installed): %.3f s" % b)
    print("installed (stream sink):            %.3f s   (%d records)" % (i, records))
    print("by CPU time (less moved by other load): %.3f s, %.3f s" % (bc, ic))
    print("ratio %.2fx, %.2f us per record; by CPU time %.2fx, %.2f us" % (
        i / b, (i - b) / records * 1e6, ic / bc, (ic - bc) / records * 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
