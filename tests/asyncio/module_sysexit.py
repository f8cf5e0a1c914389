"""module_sysexit: sys.exit() called inside a task other than main.

usage: python3 module_sysexit.py OUTDIR
       -> OUTDIR/module_sysexit.jsonl, OUTDIR/module_sysexit.truth.json

Logged by coroner_asyncio.install(stream=..., scope=True). The SystemExit leaves the loop:
asyncio.run cancels every task, main included, and raises it again (the program catches it and
checks its log). The module must write the stop when the task fails with it, while the other
tasks are still pending: their pending records (main's at least), then an exit record with
reason "sys.exit(3)".

- fatal: logs "monitor disk", sleeps 0.3 s, logs "disk full" and calls sys.exit(3). In neither
  list (it failed and said so; asyncio also reports its exception never retrieved).
- worker-1..worker-4: "poll" / "process" every 2-4 ms up to the stop. Clean.
- main: sleeps 5 s, a main loop waiting for shutdown, cancelled by asyncio.run after the
  SystemExit: clean (the stop came in the middle of its sleep, not after a silence of its own).
"""

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# CORONER_ASYNCIO_DIR: another copy of the module to try (run_scenarios.py passes it on).
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_sysexit"


async def worker():
    while True:
        stage("poll")
        await asyncio.sleep(0.002)
        stage("process")
        await asyncio.sleep(0.001)


async def fatal():
    stage("monitor disk")
    await asyncio.sleep(0.3)
    stage("disk full")
    sys.exit(3)


async def main(log):
    asyncio.current_task().set_name("main")
    coroner_asyncio.install(stream=log, scope=True)
    keep = [asyncio.create_task(worker(), name="worker-%d" % n) for n in range(1, 5)]
    keep.append(asyncio.create_task(fatal(), name="fatal"))
    await asyncio.sleep(5)  # the SystemExit comes first


def run(out):
    path = out / (NAME + ".jsonl")
    problems = []
    with open(path, "w") as log:
        try:
            asyncio.run(main(log))
            problems.append("asyncio.run returned: no SystemExit")
        except SystemExit as e:
            if e.code != 3:
                problems.append("SystemExit(%r), want 3" % e.code)
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    exits = [r.get("reason") for r in recs if r.get("coroner") == "exit"]
    if exits != ["sys.exit(3)"]:
        problems.append("want one exit record with reason 'sys.exit(3)', got %s" % exits)
    # main is pending at the stop; a worker whose wake-up came before the failed task's end may
    # already be done (cancelled) by then, its end written after the exit record.
    pending = {r.get("task") for r in recs if r.get("coroner") == "pending"}
    if "main" not in pending:
        problems.append("no pending record for main")
    pids = {r.get("pid") for r in recs if r.get("pid") is not None}
    clean = ["main"] + ["worker-%d" % n for n in range(1, 5)]
    doc = {"scenario": NAME, "files": [path.name], "args": [], "problems": problems,
           "expected": [], "clean": clean,
           "scope": {"pid": str(pids.pop()) if len(pids) == 1 else "?", "hostname": socket.gethostname()}}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    run(out)
