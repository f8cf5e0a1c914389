"""module_taskgroup_ignored_cancel: a TaskGroup's child swallows the group's cancel (3.11+).

usage: python3 module_taskgroup_ignored_cancel.py OUTDIR
       -> OUTDIR/module_taskgroup_ignored_cancel.jsonl + .truth.json (the workload runs in a
          child, stopped by SIGTERM: _sigterm_child.py)

Logged by coroner_asyncio.install(stream=..., scope=True). main runs a TaskGroup of three:
- parser fails 100 ms in (ValueError): the group cancels its other children, and main waits in
  the group's `async with` for them to end before it raises the error.
- poller polls every 20 ms and catches CancelledError to carry on ("never die"): *hung*
  (subkind ignored-cancel), and main, which began to wait in the group before that cancel, is
  *blocked* on it; the ValueError never reaches main. A watchdog thread's SIGTERM comes 1 s in.
  Before, both read as in flight (exit 0): main did not begin to wait after the cancel.
- ticker ticks every 30 ms and ends cancelled when the group cancels it: clean.
"""

import asyncio
import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path

MIN_PYTHON = (3, 11)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
sys.path.insert(0, str(HERE))
import _sigterm_child  # noqa: E402
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_taskgroup_ignored_cancel"


async def parser():
    with stage("parse"):
        await asyncio.sleep(0.1)
        raise ValueError("bad record")


async def poller():
    while True:
        try:
            with stage("poll"):
                await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            pass  # the bug: the group's cancellation swallowed


async def ticker():
    while True:
        with stage("tick"):
            await asyncio.sleep(0.03)


async def child_main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    threading.Timer(1.0, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    async with asyncio.TaskGroup() as group:
        group.create_task(parser(), name="parser")
        group.create_task(poller(), name="poller")
        group.create_task(ticker(), name="ticker")


def parent(out):
    path = out / (NAME + ".jsonl")
    child_exit, problems = _sigterm_child.run_child(__file__, out)
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    pids = {r.get("pid") for r in records if r.get("pid") is not None}
    for p in problems:
        print(NAME + ": " + p, file=sys.stderr)
    scope = {"pid": str(pids.pop()) if len(pids) == 1 else "?", "hostname": socket.gethostname()}
    expected = [{"task": "poller", "scope": scope, "kinds": ["hung/ignored-cancel"]},
                {"task": "main", "scope": scope, "kinds": ["blocked"], "root": "poller"}]
    clean = ["ticker"]
    doc = {"scenario": NAME, "files": [path.name], "args": [], "child_exit": child_exit,
           "problems": problems, "expected": expected, "clean": clean,
           "outcomes": {"parser": "failed", "ticker": "cancelled"}}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    _sigterm_child.main(NAME, child_main, parent)
