"""module_supervisors: supervisor tasks that gather long-lived workers and are cancelled by a
graceful shutdown while their workers are at work, logged by coroner_asyncio.

usage: python3 module_supervisors.py OUTDIR
       -> OUTDIR/module_supervisors.jsonl, OUTDIR/module_supervisors.truth.json

- service logs "starting" and gathers pool and flusher; pool gathers worker-1..worker-3, which
  take jobs from a queue that main fills every 3 ms up to the shutdown ("handle job", 1-2 ms
  each); flusher logs "flush" every 40 ms. service and pool log nothing after their gather:
  silent for half a second, but what they wait on is at work up to the end. Clean, all six.
- watchdog logs "starting" and gathers tick ("tick" every 20 ms) and probe, which logs "probe"
  and awaits an Event nobody sets. probe *hung*; watchdog *hung* or *blocked* (it waits on probe,
  stuck, as well as on tick, at work); tick clean.
- report-1..report-40: short tasks (query 2-3 ms, render): clean.
Shutdown: after 0.5 s main cancels service and watchdog (the cancellation reaches every task
they gather), gathers them with return_exceptions=True and returns: main clean.
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

NAME = "module_supervisors"


async def worker(jobs):
    while True:
        n = await jobs.get()
        stage("handle job", job=n)
        await asyncio.sleep(0.001 + n % 2 / 1000)


async def every(what, seconds):
    while True:
        stage(what)
        await asyncio.sleep(seconds)


async def pool(jobs):
    stage("starting")
    await asyncio.gather(*(asyncio.create_task(worker(jobs), name="worker-%d" % i) for i in (1, 2, 3)))


async def service(jobs):
    stage("starting")
    await asyncio.gather(asyncio.create_task(pool(jobs), name="pool"),
                         asyncio.create_task(every("flush", 0.04), name="flusher"))


async def probe():
    stage("probe")
    await asyncio.Event().wait()  # nobody ever sets it


async def watchdog():
    stage("starting")
    await asyncio.gather(asyncio.create_task(every("tick", 0.02), name="tick"),
                         asyncio.create_task(probe(), name="probe"))


async def report(n):
    stage("query")
    await asyncio.sleep(0.002 + n % 2 / 1000)
    stage("render")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    jobs = asyncio.Queue()
    supervisors = [asyncio.create_task(service(jobs), name="service"),
                   asyncio.create_task(watchdog(), name="watchdog")]
    reports = []
    loop = asyncio.get_running_loop()
    end = loop.time() + 0.5
    n = 0
    while loop.time() < end:
        n += 1
        jobs.put_nowait(n)
        if n <= 40:
            reports.append(asyncio.create_task(report(n), name="report-%d" % n))
        await asyncio.sleep(0.003)
    for s in supervisors:
        s.cancel()
    await asyncio.gather(*supervisors, return_exceptions=True)
    return all(s.cancelled() for s in supervisors) and all(r.done() and not r.exception() for r in reports)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds):
        return {"task": task, "scope": scope, "kinds": list(kinds)}

    expected = [entry("probe", "hung"), entry("watchdog", "hung", "blocked")]
    clean = ["main", "service", "pool", "flusher", "tick"] + ["worker-%d" % i for i in (1, 2, 3)]
    clean += ["report-%d" % n for n in range(1, 41)]
    outcomes = {"service": "cancelled", "pool": "cancelled", "worker-1": "cancelled", "main": "ok"}
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": outcomes}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    t = truth([NAME + ".jsonl"])
    with open(out / (NAME + ".jsonl"), "w") as log:
        if not asyncio.run(main(log)):
            t["problems"] = ["a supervisor was not cancelled, or a report did not end ok"]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
