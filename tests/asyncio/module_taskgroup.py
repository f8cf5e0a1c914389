"""module_taskgroup: asyncio.TaskGroup trees logged by coroner_asyncio (Python 3.11+).

usage: python3 module_taskgroup.py OUTDIR
       -> OUTDIR/module_taskgroup.jsonl, OUTDIR/module_taskgroup.truth.json

coroner_asyncio.install(stream=..., scope=True); the module logs a TaskGroup's wait on its
children by itself ({"coroner": "wait", "waiting_for": "TaskGroup of N tasks", "awaits": [...]}).

- pipeline: `async with TaskGroup()` of pipeline/extract (ok) and pipeline/load, which logs
  "working" and awaits an asyncio.Event nobody sets. Expected: pipeline/load hung; pipeline
  blocked (root pipeline/load) or hung.
- nightly: a TaskGroup of nightly/shard-1, itself a TaskGroup of nightly/shard-1/scan, stuck
  the same way. Expected: nightly/shard-1/scan hung; nightly/shard-1 and nightly blocked with
  root nightly/shard-1/scan (or hung).
- importer-1..importer-3: `try: async with TaskGroup()` of importer-N/rows-1..3; rows-2 raises
  ValueError after 3 ms, the group cancels rows-1 and rows-3 (still working) and raises an
  ExceptionGroup that `except* ValueError` handles ("rows skipped"); the importer ends ok. The
  child's exception was observed by its parent: no alarm on anyone (no unobserved-child, no lost
  exception); the cancelled siblings were cancelled promptly. Clean, all twelve.
- order-01..order-30: a TaskGroup of order-NN/charge and order-NN/ship. Clean.
main is in neither list: the process ends with os._exit(0) after a task-less shutdown record,
the stuck tasks still pending, as when a worker is killed.
"""

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

MIN_PYTHON = (3, 11)

HERE = Path(__file__).resolve().parent
# CORONER_ASYNCIO_DIR: another copy of the module to try (run_scenarios.py passes it on).
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_taskgroup"
ORDERS = 30
IMPORTERS = 3


async def work(ms):
    stage("loading")
    await asyncio.sleep(0.002)
    stage("working")
    await asyncio.sleep(ms / 1000)


async def stuck(never_set):
    stage("loading")
    await asyncio.sleep(0.002)
    stage("working")
    await never_set.wait()  # nobody ever sets it


async def pipeline(never_set):
    stage("planning")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(work(3), name="pipeline/extract")
        tg.create_task(stuck(never_set), name="pipeline/load")
    stage("published")


async def shard(never_set):
    stage("planning")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(stuck(never_set), name="nightly/shard-1/scan")


async def nightly(never_set):
    stage("planning")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(shard(never_set), name="nightly/shard-1")


async def rows(i):
    stage("loading")
    await asyncio.sleep(0.003)
    if i == 2:
        raise ValueError("row 2: bad date '31/02'")
    stage("working")
    await asyncio.sleep(0.02)


async def importer(n):
    stage("planning")
    try:
        async with asyncio.TaskGroup() as tg:
            for i in (1, 2, 3):
                tg.create_task(rows(i), name="importer-%d/rows-%d" % (n, i))
    except* ValueError as eg:
        stage("rows skipped", errors=len(eg.exceptions))
    stage("published")


async def order(n):
    stage("planning")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(work(2 + n % 3), name="order-%02d/charge" % n)
        tg.create_task(work(3 + n % 2), name="order-%02d/ship" % n)
    stage("published")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    never_set = asyncio.Event()
    stuck_ones = [asyncio.create_task(pipeline(never_set), name="pipeline"),
                  asyncio.create_task(nightly(never_set), name="nightly")]
    healthy = [asyncio.create_task(importer(n), name="importer-%d" % n) for n in range(1, IMPORTERS + 1)]
    for n in range(1, ORDERS + 1):
        healthy.append(asyncio.create_task(order(n), name="order-%02d" % n))
        await asyncio.sleep(0.006)
    await asyncio.wait(healthy, timeout=2)
    await asyncio.sleep(0.4)  # the stuck ones stay silent
    ca.emit({"task": None, "stage": "shutdown"})  # through the module: its lines stay in order
    return all(t.done() and t.exception() is None for t in healthy) and not any(t.done() for t in stuck_ones)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds, **blame):
        return dict({"task": task, "scope": scope, "kinds": list(kinds)}, **blame)

    expected = [entry("pipeline/load", "hung"), entry("pipeline", "blocked", "hung", root="pipeline/load"),
                entry("nightly/shard-1/scan", "hung"),
                entry("nightly/shard-1", "blocked", "hung", root="nightly/shard-1/scan"),
                entry("nightly", "blocked", "hung", root="nightly/shard-1/scan")]
    clean = ["pipeline/extract"]
    for n in range(1, IMPORTERS + 1):
        clean += ["importer-%d" % n] + ["importer-%d/rows-%d" % (n, i) for i in (1, 2, 3)]
    for n in range(1, ORDERS + 1):
        clean += ["order-%02d" % n, "order-%02d/charge" % n, "order-%02d/ship" % n]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    log = open(out / (NAME + ".jsonl"), "w")
    ok = asyncio.new_event_loop().run_until_complete(main(log))
    log.flush()
    sys.stdout.flush()
    if not ok:
        print("module_taskgroup: the healthy tasks did not all end ok, or a stuck one ended", file=sys.stderr)
        os._exit(1)
    os._exit(0)  # the stuck tasks stay pending: no cancellation is ever logged for them
