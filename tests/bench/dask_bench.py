#!/usr/bin/env python3
"""What coroner over Dask costs: state bytes, merge time, and a sharded run against one analyze.

usage: dask_bench.py CORONER DIR [--tasks N] [--rounds R] [--python PY]

Writes (once, kept in DIR) a seed-format log of N tasks (default 10 million, 2.3 GB;
tests/bench/generate.py) cut by lines into 8 files, so some tasks span two files. Prints:
- the state of each file (`coroner partial -j 1`): bytes per task and per record;
- `coroner merge` of the first two states, as a report and with --emit-state (one level of the
  tree), and `coroner analyze` of their two files: seconds and CPU seconds per million tasks,
  median of R runs;
- the wall time of contrib/dask/coroner_dask.py (LocalCluster of 2 worker processes, 8 shards),
  with --fan-in 2 (the default, the whole tree: pairs merged on the workers down to 2 states)
  and with --fan-in 8 (no merge on the workers: the last merge reads the 8
  states), against one `coroner analyze` over the same files, R rounds interleaved, medians;
  every report is checked against analyze's.
PY (default /usr/bin/python3) runs the script and needs dask and distributed.
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE.parent.parent / "contrib" / "dask" / "coroner_dask.py"
PARTS = 8


def timed(argv, **kwargs):
    """(wall seconds, CPU seconds of the children, stdout bytes) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(argv, stdout=subprocess.PIPE, **kwargs)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit("dask_bench: %s exited with %d" % (" ".join(argv[:3]), done.returncode))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def make_parts(directory, tasks):
    parts = [directory / ("part-%02d.jsonl" % i) for i in range(PARTS)]
    if all(part.exists() for part in parts):
        return parts
    log = directory / "log.jsonl"
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(tasks), str(log)], check=True)
    subprocess.run(["split", "-n", "l/%d" % PARTS, "-d", "--additional-suffix=.jsonl", log.name,
                    "part-"], cwd=directory, check=True)
    log.unlink()
    return parts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("coroner")
    parser.add_argument("dir")
    parser.add_argument("--tasks", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", default="/usr/bin/python3")
    args = parser.parse_args()
    coroner, directory = os.path.abspath(args.coroner), Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    parts = make_parts(directory, args.tasks)
    names = [part.name for part in parts]

    _, _, report = timed([coroner, "analyze", *names], cwd=directory)
    records, tasks = map(int, re.search(rb"([0-9]+) records, ([0-9]+) tasks", report).groups())
    states = [part.with_suffix(".state") for part in parts]
    for part, state in zip(parts, states):
        subprocess.run([coroner, "partial", "-j", "1", part.name, "-o", state.name],
                       cwd=directory, check=True)
    size = sum(state.stat().st_size for state in states)
    print("%d tasks, %d records, %.0f MB of log in %d files; states %.0f MB: "
          "%.1f bytes per task, %.1f per record"
          % (tasks, records, sum(p.stat().st_size for p in parts) / 1e6, PARTS, size / 1e6,
             size / tasks, size / records))

    pair_tasks = tasks * 2 / PARTS / 1e6
    pair = [state.name for state in states[:2]]
    for label, argv in (("analyze (the logs)", [coroner, "analyze", *names[:2]]),
                        ("merge (report)", [coroner, "merge", *pair]),
                        ("merge --emit-state",
                         [coroner, "merge", *pair, "--emit-state", "m.state"])):
        runs = [timed(argv, cwd=directory) for _ in range(args.rounds)]
        print("%-20s %.2f M tasks: %.2f s, %.2f CPU s per million tasks (median of %d)"
              % (label, pair_tasks, statistics.median(r[0] for r in runs) / pair_tasks,
                 statistics.median(r[1] for r in runs) / pair_tasks, args.rounds))
    (directory / "m.state").unlink()
    for state in states:
        state.unlink()

    dask = [args.python, str(SCRIPT), "--coroner", coroner, "--workers", "2", "--shards",
            str(PARTS)]
    lines = {"coroner analyze (one run)": [coroner, "analyze", *names],
             "dask, --fan-in 2 (tree)": [*dask, "--fan-in", "2", *names],
             "dask, --fan-in 8": [*dask, "--fan-in", "8", *names]}
    times = {label: [] for label in lines}
    for _ in range(args.rounds):
        for label, argv in lines.items():
            wall, _, out = timed(argv, cwd=directory)
            if out != report:
                sys.exit("dask_bench: %s: the report differs from analyze's" % label)
            times[label].append(wall)
    base = statistics.median(times["coroner analyze (one run)"])
    for label, walls in times.items():
        print("%-28s %6.2f s (median of %d; best %.2f)  %.2fx analyze"
              % (label, statistics.median(walls), len(walls), min(walls),
                 statistics.median(walls) / base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
