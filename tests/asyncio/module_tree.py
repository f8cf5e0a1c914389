"""module_tree: parent/child task trees logged by coroner_asyncio through stdlib logging.

usage: python3 module_tree.py OUTDIR   -> OUTDIR/module_tree.jsonl, OUTDIR/module_tree.truth.json

coroner_asyncio.install(logger="coroner", scope=True): the records go through the "coroner"
logger, whose FileHandler writes just the message (the JSON line).

- unobserved-child: batch-1 and batch-2 each start part-1..3 with create_task, keep them in a
  list and never await them; part-2 raises ValueError (logged "failed"); the parent logs
  "committed" and ends ok. Expected: batch-N/part-2 lost-exception. The parents are in neither
  list (the finding belongs to the child; a tool may also point at the parent).
- orphan: sync-1 starts sync-1/heartbeat, which ticks every 20 ms until the end of the log, and
  ends ok 10 ms later without awaiting or cancelling it. The heartbeat is recently active at the
  end of the log (in flight, not hung), but its parent is long gone: orphan. sync-1 is in neither
  list.
- timeout: quote-1..3 run asyncio.wait_for(timeout=0.02) on a 0.5 s call inside
  `with stage("fetch quote")`: the stage logs an error record (TimeoutError) and the task ends
  "failed" with error_type TimeoutError. Their parent quotes gathers them with
  return_exceptions=True (healthy).
- swallowed: import-1..2 parse three rows each inside `with stage("parse")`; row 1 raises
  ValueError, logged as an error record by the stage, and `except ValueError: continue` goes on;
  then "commit" and done.
- poller-1, poller-2 poll every 15 ms; main cancels them before the end, which is logged
  ("cancelled"): ended, so clean.
- Healthy: order-NN parents gathering order-NN/charge and order-NN/ship.

The end: main logs a shutdown record (no task), flushes the handler and leaves with os._exit(0),
so the heartbeat stays running and nothing logs a cancellation for it.
"""

import asyncio
import json
import logging
import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# CORONER_ASYNCIO_DIR: another copy of the module to try (run_scenarios.py passes it on).
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage, traced_gather  # noqa: E402

NAME = "module_tree"
ORDERS = 40
KEEP = []


async def work(what, ms):
    stage(what)
    await asyncio.sleep(ms / 1000)


async def order(n):
    stage("received", order=n)
    await asyncio.sleep(0.002)
    charge = asyncio.create_task(work("charging", 3 + n % 3), name="order-%02d/charge" % n)
    ship = asyncio.create_task(work("shipping", 2 + n % 4), name="order-%02d/ship" % n)
    await traced_gather(charge, ship, stage="waiting for charge and ship")
    stage("confirmed", order=n)


async def part(batch, i):
    stage("writing", part=i)
    await asyncio.sleep(0.003)
    if i == 2:
        raise ValueError("disk quota exceeded writing part %d of %s" % (i, batch))
    stage("written", part=i)


async def batch(name):
    stage("splitting")
    parts = [asyncio.create_task(part(name, i), name="%s/part-%d" % (name, i)) for i in (1, 2, 3)]
    KEEP.extend(parts)  # kept, never awaited: nobody looks at their outcome
    await asyncio.sleep(0.015)
    stage("committed")


async def heartbeat():
    while True:
        stage("tick")
        await asyncio.sleep(0.02)


async def sync(name):
    stage("syncing")
    KEEP.append(asyncio.create_task(heartbeat(), name=name + "/heartbeat"))
    await asyncio.sleep(0.01)
    stage("synced")


async def quote(i):
    stage("pricing")
    await asyncio.sleep(0.002)
    with stage("fetch quote", provider="p%d" % i):
        await asyncio.wait_for(asyncio.sleep(0.5), timeout=0.02)
    stage("priced")


async def quotes():
    kids = [asyncio.create_task(quote(i), name="quote-%d" % i) for i in (1, 2, 3)]
    await traced_gather(*kids, stage="waiting for quotes", return_exceptions=True)
    stage("quotes collected")


async def import_rows(name):
    for row in (0, 1, 2):
        try:
            with stage("parse", row=row):
                await asyncio.sleep(0.002)
                if row == 1:
                    int("12,5")
        except ValueError:
            continue  # the bug: logged (by the stage) and skipped
    stage("commit")
    await asyncio.sleep(0.002)


async def poller(name):
    while True:
        stage("poll")
        await asyncio.sleep(0.015)


async def main():
    asyncio.current_task().set_name("main")
    ca.install(logger="coroner", scope=True)
    make = asyncio.create_task
    pollers = [make(poller(n), name=n) for n in ("poller-1", "poller-2")]
    others = [make(batch("batch-1"), name="batch-1"), make(sync("sync-1"), name="sync-1"),
              make(quotes(), name="quotes"), make(import_rows("import-1"), name="import-1")]
    orders = []
    for n in range(1, ORDERS + 1):
        orders.append(make(order(n), name="order-%02d" % n))
        if n == 20:
            others.append(make(batch("batch-2"), name="batch-2"))
            others.append(make(import_rows("import-2"), name="import-2"))
        await asyncio.sleep(0.004)
    await asyncio.wait(orders + others, timeout=2)
    for p in pollers:
        p.cancel()
    await asyncio.wait(pollers)
    await asyncio.sleep(0.1)  # the heartbeat keeps ticking, its parent long gone
    ca.emit({"task": None, "stage": "shutdown"})
    assert all(t.done() for t in orders + others)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds):
        return {"task": task, "scope": scope, "kinds": list(kinds)}

    expected = [entry("batch-1/part-2", "lost-exception"), entry("batch-2/part-2", "lost-exception"),
                entry("sync-1/heartbeat", "orphan"),
                entry("quote-1", "timeout"), entry("quote-2", "timeout"), entry("quote-3", "timeout"),
                entry("import-1", "lost-exception"), entry("import-2", "lost-exception")]
    clean = ["batch-1/part-1", "batch-1/part-3", "batch-2/part-1", "batch-2/part-3", "quotes",
             "poller-1", "poller-2"]
    for n in range(1, ORDERS + 1):
        clean += ["order-%02d" % n, "order-%02d/charge" % n, "order-%02d/ship" % n]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    handler = logging.FileHandler(out / (NAME + ".jsonl"), mode="w")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("coroner")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    asyncio.new_event_loop().run_until_complete(main())
    handler.flush()
    os._exit(0)  # the heartbeat is still running: no cancellation is logged for it
