"""module_logging: coroner_asyncio through the "coroner" logger with only a handler on it, tasks
that existed before install(), and a user's own fields on stages.

usage: python3 module_logging.py OUTDIR
       -> OUTDIR/module_logging.jsonl, OUTDIR/module_logging.truth.json

The program does what a user would: `logging.getLogger("coroner").addHandler(FileHandler)` with
a `%(message)s` formatter, and nothing else (no level set on that logger, no propagate change,
the root logger untouched), then `coroner_asyncio.install(scope=True)` with no stream. Every
record must reach the file: the program counts its own stage() calls per task and, reading the
log back, checks that each task's stage records, its start and (when it ended) its end are all
there; what is missing goes into the truth's "problems", the counts into its "records".

- early-1..early-3 are created (and started: suspended in their first sleep) *before* install();
  the module adopts them. They then log "warming" -> "warmed" and end ok. Clean (not hung: their
  end is logged although their creation was not).
- early-stuck, created before install() too, logs "warming" and awaits an asyncio.Event nobody
  sets. Expected: hung.
- order-01..order-40: stage("pick", item=...), stage("ship", worker=n % 3) and
  stage("label", task="print-label"): the user's fields go under "data", so `worker` (a scope
  name) and `task` (the task role) change neither the task's identity nor its scope. Clean: no
  split task, no false hung.
- ledger-sync logs stage("ship", worker=9) and awaits an Event nobody sets. Expected: hung, in
  its own scope (pid/hostname), not split by its worker field.
main is in neither list: the process ends with os._exit(0) after a shutdown record logged
through the same logger, the stuck tasks still pending.
"""

import asyncio
import json
import logging
import os
import socket
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
# CORONER_ASYNCIO_DIR: another copy of the module to try (run_scenarios.py passes it on).
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402

NAME = "module_logging"
ORDERS = 40
CALLS = Counter()  # stage() calls per task, as the program made them
ENDED = set()


def stage(name, **fields):
    CALLS[asyncio.current_task().get_name()] += 1
    ca.stage(name, **fields)


async def early(n, never_set):
    await asyncio.sleep(0.01)  # install() runs meanwhile
    stage("warming", n=n)
    await asyncio.sleep(0.003)
    if never_set is not None:
        await never_set.wait()  # nobody ever sets it
    stage("warmed", n=n)
    ENDED.add(asyncio.current_task().get_name())


async def order(n):
    stage("pick", item="sku-%d" % (n * 7))
    await asyncio.sleep(0.002 + n % 3 * 0.001)
    stage("ship", worker=n % 3)
    await asyncio.sleep(0.003)
    stage("label", task="print-label")
    await asyncio.sleep(0.001)
    ENDED.add(asyncio.current_task().get_name())


async def ledger_sync(never_set):
    stage("ship", worker=9)
    await never_set.wait()  # nobody ever sets it


async def main():
    asyncio.current_task().set_name("main")
    never_set = asyncio.Event()
    early_ones = [asyncio.create_task(early(n, None), name="early-%d" % n) for n in (1, 2, 3)]
    early_ones.append(asyncio.create_task(early(4, never_set), name="early-stuck"))
    await asyncio.sleep(0.001)  # they run their first step before install()
    ca.install(scope=True)
    keep = [asyncio.create_task(ledger_sync(never_set), name="ledger-sync")]
    orders = []
    for n in range(1, ORDERS + 1):
        orders.append(asyncio.create_task(order(n), name="order-%02d" % n))
        await asyncio.sleep(0.004)
    await asyncio.wait(orders + early_ones[:3], timeout=2)
    await asyncio.sleep(0.4)  # the stuck ones stay silent
    ca.emit({"task": None, "stage": "shutdown"})
    return keep


def check_log(path):
    recs = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            recs.append(rec)
    stages, starts, ends = Counter(), set(), set()
    for r in recs:
        task = r.get("task")
        if r.get("stage") is not None and r.get("level") != "error":
            stages[task] += 1
        if r.get("status") in ("created", "started"):
            starts.add(task)
        if r.get("status") in ("done", "failed", "cancelled"):
            ends.add(task)
    short_stages = sorted(t for t, n in CALLS.items() if stages[t] != n)
    unstarted = sorted(t for t in CALLS if t not in starts)
    unended = sorted(ENDED - ends)
    problems = []
    for what, tasks in (("fewer stage records in the log than stage() calls", short_stages),
                        ("no created/started record in the log", unstarted),
                        ("ended but no end record in the log", unended)):
        if tasks:
            problems.append("%d tasks with %s: %s%s" % (len(tasks), what, ", ".join(tasks[:4]),
                                                        ", ..." if len(tasks) > 4 else ""))
    counts = {"lines": len(recs), "stage calls": sum(CALLS.values()), "stage records": sum(stages.values()),
              "tasks started": len(starts), "tasks ended": len(ends)}
    return problems, counts


def truth(files, problems, counts):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": t, "scope": scope, "kinds": ["hung"]} for t in ("early-stuck", "ledger-sync")]
    clean = ["early-1", "early-2", "early-3"] + ["order-%02d" % n for n in range(1, ORDERS + 1)]
    return {"scenario": NAME, "files": files, "args": [], "records": counts, "problems": problems,
            "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    path = out / (NAME + ".jsonl")
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("coroner").addHandler(handler)  # and nothing else
    asyncio.new_event_loop().run_until_complete(main())
    handler.flush()
    problems, counts = check_log(path)
    for p in problems:
        print("module_logging: " + p, file=sys.stderr)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"], problems, counts), indent=1) + "\n")
    sys.stdout.flush()
    os._exit(0)  # the stuck tasks stay pending: no cancellation is ever logged for them
