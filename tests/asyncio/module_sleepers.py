"""module_sleepers: tasks asleep as they planned when the program ends, beside one that polls
forever without a word, logged by coroner_asyncio.

usage: python3 module_sleepers.py OUTDIR
       -> OUTDIR/module_sleepers.jsonl, OUTDIR/module_sleepers.truth.json

- scheduler runs its report once ("run report", 3 ms), logs "sleep until next run" and sleeps
  30 s: the program ends half a second into that sleep. Clean: a scheduler between runs.
- cron logs "waiting for the first run" and sleeps 20 s before it: clean.
- refresher logs "refresh" every 80 ms: clean.
- poller logs "waiting for the config" and then polls a flag nobody sets every 10 ms, logging
  nothing: it is asleep at the end too, but it has been silent for half a second, fifty sleeps
  long: *hung*.
- job-1..job-80, one every 5 ms: parse (2-3 ms), store (1 ms): clean.
main returns after 0.5 s with scheduler, cron, refresher and poller pending; asyncio.run cancels
them. Before the module wrote what was left of a sleep, the scheduler and cron were hung.
"""

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_sleepers"
CONFIG_READY = False  # nobody ever sets it


async def scheduler():
    stage("run report")
    await asyncio.sleep(0.003)
    stage("sleep until next run")
    await asyncio.sleep(30)


async def cron():
    stage("waiting for the first run")
    await asyncio.sleep(20)


async def refresher():
    while True:
        stage("refresh")
        await asyncio.sleep(0.08)


async def poller():
    stage("waiting for the config")
    while not CONFIG_READY:
        await asyncio.sleep(0.01)


async def job(n):
    stage("parse")
    await asyncio.sleep(0.002 + n % 2 / 1000)
    stage("store")
    await asyncio.sleep(0.001)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    background = [asyncio.create_task(coro, name=name) for coro, name in (
        (scheduler(), "scheduler"), (cron(), "cron"), (refresher(), "refresher"),
        (poller(), "poller"))]
    jobs = []
    for n in range(1, 81):
        jobs.append(asyncio.create_task(job(n), name="job-%d" % n))
        await asyncio.sleep(0.005)
    await asyncio.gather(*jobs)
    await asyncio.sleep(0.1)
    return not any(t.done() for t in background)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": "poller", "scope": scope, "kinds": ["hung"]}]
    clean = ["main", "scheduler", "cron", "refresher"] + ["job-%d" % n for n in range(1, 81)]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    t = truth([NAME + ".jsonl"])
    with open(out / (NAME + ".jsonl"), "w") as log:
        if not asyncio.run(main(log)):
            t["problems"] = ["a background task ended before the program did"]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
