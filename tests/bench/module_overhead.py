"""What python/coroner_asyncio.py costs a program of many short tasks.

usage: python3 tests/bench/module_overhead.py [--tasks N] [--runs R] [--profile] [--module DIR]
                                            [--callgrind]

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
--callgrind: count instructions instead of time, one run of each variant under valgrind's
callgrind (--tasks defaults to 5,000 then): (installed - baseline) / records, which the load of
the machine does not move (startup varies by some 300 a record from run to run).

Last measured (2026-11-26 around 23:30 UTC, this version then the one before it, interleaved,
each with its own baseline runs, on a shared 2-core VM), ratio installed / baseline and us per
record, by wall time then by CPU time:
  load average 1.6 to 1.9, 7 runs:
    pyenv 3.11.7   1.64x 1.82 us, CPU 1.64x 1.82 us   (before: 1.75x 2.16 us, CPU 1.75x 2.16 us)
    Debian 3.11.2  1.75x 1.86 us, CPU 1.75x 1.85 us   (before: 1.81x 2.01 us, CPU 1.68x 1.68 us)
  load average 2.0 to 3.4, 7 runs (wall time moved by the load, CPU time much less):
    pyenv 3.11.7   2.14x 3.30 us, CPU 1.66x 1.82 us   (before: 1.87x 2.74 us, CPU 1.76x 2.13 us)
    Debian 3.11.2  1.67x 2.56 us, CPU 1.66x 1.65 us   (before: 1.86x 2.93 us, CPU 1.68x 1.73 us)
  load average 4 to 5, 5 runs, CPU time: 3.9.18 1.62x (1.73x), 3.10.13 1.68x (1.79x),
    3.12.1 1.73x (1.79x), 3.13.0 1.83x (1.95x)
Instructions do not move with the load: callgrind (valgrind --tool=callgrind on both variants,
(installed - baseline) / records) on 3.11.7: 9,070 instructions a record, 1.49x the whole
process's (the version before, measured the same way: 10,875, 1.58x; its docstring said 10,500);
on Debian's 3.11.2, 5,000 tasks: 8,300 (9,210). What went: the 19-digit time_ns() turned into
text and sliced for every record, %-formats (now f-strings), a parent's name encoded per task.
The time gained is smaller than the instructions (on Debian's 3.11.2, within the noise), and a
cache of the live tasks' JSON names, 50 fewer instructions a record, was slower and was dropped.
What is left is interpreter dispatch, allocation, the collector, and asyncio's scheduling of
each task's done callback (about a fifth of the time, record included).
Stop 28's task identities took it to 10,490 (--callgrind, 3.11.7), mostly str.startswith
("Task-") on every record: a method call that parses its arguments, 900 instructions; a dict
lookup of the name brought it back to 9,130, and the type check that tasks of another factory
need (their names are not seen when given) to 9,650 (stop 29).
"""

import os
import re
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


def instructions(mode, n, out):
    """Instructions the program ran in `mode`, by callgrind."""
    src = PROGRAM % {"moddir": str(MODULE_DIR), "n": n, "mode": mode, "out": out, "profile": False}
    res = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, "-c", src], capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", res.stderr).group(1))


def main(argv):
    global MODULE_DIR
    if "--module" in argv:
        MODULE_DIR = Path(argv[argv.index("--module") + 1]).resolve()
    if "--callgrind" in argv:
        n = int(argv[argv.index("--tasks") + 1]) if "--tasks" in argv else 5000
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "run.jsonl")
            base, inst = instructions("baseline", n, out), instructions("installed", n, out)
            with open(out) as f:
                records = sum(1 for _ in f)
        print("python %s, %d tasks x 3 stages, by callgrind" % (sys.version.split()[0], n))
        print("instructions: baseline %d, installed %d, %d records: %.0f a record" % (
            base, inst, records, (inst - base) / records))
        return 0
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
