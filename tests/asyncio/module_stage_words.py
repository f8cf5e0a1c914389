"""module_stage_words: stage names with lifecycle words, in tasks the asyncio module traces.

usage: python3 module_stage_words.py OUTDIR   -> OUTDIR/module_stage_words.jsonl, .truth.json

coroner_asyncio.install(stream=..., scope=True); tasks log their steps with stage(). The module's
status records say when a traced task starts and ends, so a step's name ends nothing, whatever
its words (docs/ASYNCIO_RECORDS.md):
- job-0..9: "download started", "download complete", "parse", "upload": quiet (no restart, no
  double end). job-5 *hangs* after "download complete": its upload awaits an asyncio.Event
  nobody sets, until main returns 0.6 s later (hung, not ended ok in "download complete").
- req-0..9: "check timeout" (computing a budget), "route to error" (an error page is a route),
  "respond": quiet (no timeout, no failure).
- order-0..9: "charge card", "payment failed" (a declined card, told to the customer, no
  exception), "notify customer": quiet (a step's failure word is no swallowed exception).
- main logs "all jobs done" and then "report": quiet (one end, by its status).
main returns through asyncio.run: the module writes job-5's pending record and the exit, then
asyncio cancels job-5.
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
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_stage_words"
JOBS = ["job-%d" % n for n in range(10)]
REQUESTS = ["req-%d" % n for n in range(10)]
ORDERS = ["order-%d" % n for n in range(10)]


async def job(n, never):
    stage("download started")
    await asyncio.sleep(0.003)
    stage("download complete")
    if n == 5:
        await never.wait()  # nobody ever sets it
    stage("parse")
    await asyncio.sleep(0.002)
    stage("upload")
    await asyncio.sleep(0.002)


async def request():
    stage("check timeout")
    await asyncio.sleep(0.002)
    stage("route to error")
    await asyncio.sleep(0.002)
    stage("respond")


async def order():
    stage("charge card")
    await asyncio.sleep(0.002)
    stage("payment failed")
    await asyncio.sleep(0.002)
    stage("notify customer")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    never = asyncio.Event()
    tasks = [asyncio.create_task(job(n, never), name=name) for n, name in enumerate(JOBS)]
    tasks += [asyncio.create_task(request(), name=name) for name in REQUESTS]
    tasks += [asyncio.create_task(order(), name=name) for name in ORDERS]
    await asyncio.wait(tasks, timeout=0.6)
    stage("all jobs done")
    await asyncio.sleep(0.01)
    stage("report")


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    quiet = [t for t in JOBS if t != "job-5"] + REQUESTS + ORDERS + ["main"]
    return {"scenario": NAME, "files": files, "args": [],
            "expected": [{"task": "job-5", "scope": scope, "kinds": ["hung"]}],
            "clean": quiet, "quiet": quiet,
            "outcomes": dict({t: "ok" for t in quiet}, **{"job-5": "open"})}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
