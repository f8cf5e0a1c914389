"""module_loop_blocked: a task that blocks the event loop in a synchronous call.

usage: python3 module_loop_blocked.py OUTDIR   -> OUTDIR/module_loop_blocked.jsonl + .truth.json

Run as a child stopped by SIGTERM (_sigterm_child.py); logged by
coroner_asyncio.install(stream=..., scope=True).
- item-0..item-5, started 20 ms apart, each "load" (5 ms) and "enrich" (5 ms); item-3's enrich
  calls a blocking
  function (time.sleep(3), as a synchronous HTTP client or a socket.recv() would) inside the
  coroutine: no task runs while it sleeps. A watchdog *thread* sends the process SIGTERM 1 s
  in: the module writes item-3 as running, holding the loop, at the time.sleep line: *hung*.
- main starts the items 20 ms apart: its sleep before item-4 is long overdue at the stop, as
  it could not run: clean (in flight); item-4 and item-5 never start.
- poller sleeps 10 ms between "poll" records: its sleep is long overdue at the stop, as it
  could not run: clean (in flight).
- The other items: clean.
"""

import asyncio
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
sys.path.insert(0, str(HERE))
import _sigterm_child  # noqa: E402
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_loop_blocked"


def fetch_synchronously():
    time.sleep(3)  # the bug: a blocking call in a coroutine


async def item(i):
    with stage("load", item=i):
        await asyncio.sleep(0.005)
    with stage("enrich", item=i):
        await asyncio.sleep(0.005)
        if i == 3:
            fetch_synchronously()


async def poller():
    while True:
        with stage("poll"):
            await asyncio.sleep(0.01)


async def child_main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    # A watchdog thread, not a task: the task running at the signal held the loop.
    threading.Timer(1.0, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    keep = [asyncio.create_task(poller(), name="poller")]
    await asyncio.sleep(0.05)
    items = []
    for i in range(6):
        items.append(asyncio.create_task(item(i), name="item-%d" % i))
        await asyncio.sleep(0.02)  # (item-3 blocks at 70 ms: the two after it never start)
    await asyncio.gather(*items)
    await asyncio.sleep(5)  # the signal comes first


def parent(out):
    path = out / (NAME + ".jsonl")
    child_exit, problems = _sigterm_child.run_child(__file__, out)
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    pids = {r.get("pid") for r in records if r.get("pid") is not None}
    running = [r.get("task") for r in records
               if r.get("coroner") == "pending" and r.get("waiting_for", "").startswith("nothing: running")]
    if running != ["item-3"]:
        problems.append("want item-3 alone written running, got %s" % running)
    for p in problems:
        print(NAME + ": " + p, file=sys.stderr)
    scope = {"pid": str(pids.pop()) if len(pids) == 1 else "?", "hostname": socket.gethostname()}
    expected = [{"task": "item-3", "scope": scope, "kinds": ["hung"]}]
    clean = ["main", "poller", "item-0", "item-1", "item-2"]
    doc = {"scenario": NAME, "files": [path.name], "args": [], "child_exit": child_exit,
           "problems": problems, "expected": expected, "clean": clean}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    _sigterm_child.main(NAME, child_main, parent)
