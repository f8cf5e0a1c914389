"""module_graceful: a service with long-lived healthy tasks, stopped gracefully by SIGTERM
through loop.add_signal_handler, logged by coroner_asyncio (Python 3.11+: TaskGroup).

usage: python3 module_graceful.py OUTDIR
       -> OUTDIR/module_graceful.jsonl, OUTDIR/module_graceful.truth.json

- pulse: "beat" every 10 ms; lease: "renew lease" every 150 ms (much longer than any other
  stage); both run to the end: clean.
- acceptor: takes requests from a queue (one every 5 ms up to the signal), starts req-N for each (parse,
  handle 2-4 ms, reply) and keeps a set of them (the documented fire-and-forget pattern: the
  set holds a reference, a done callback drops it); clean. req-23 raises ValueError in handle:
  nobody awaits it, asyncio reports its exception never retrieved when the set drops it:
  *lost-exception* (never-retrieved or unobserved-child).
- batch-1..batch-10: a TaskGroup of batch-N/a and batch-N/b (3 ms each): clean. batch-7/b raises
  OSError, the group cancels batch-7/a (in the middle of its stage) and batch-7 fails with the
  ExceptionGroup; the runner gathers the batches with return_exceptions=True and logs
  "batch reported" with the error for batch-7: everyone clean (failed and said so, or cancelled by
  the group, or handled), batch-7 failed, batch-7/a cancelled.
- dns-refresh: logs "resolving", then awaits a future nobody resolves: stuck for about 0.5 s
  until the shutdown cancels it: *hung* (until-cancelled).
- shutdown: 0.6 s in, the process sends itself SIGTERM; the handler sets an Event (main, feeding
  the requests, sees it and stops); main logs
  "draining", cancels every task it started, and gathers them with return_exceptions=True
  before returning. Each long-lived task logs "stopping" in `except CancelledError` and
  re-raises. main clean.
"""

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

MIN_PYTHON = (3, 11)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_graceful"
BAD_REQ = 23
BAD_BATCH = 7


async def every(what, seconds):
    try:
        while True:
            stage(what)
            await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        stage("stopping")
        raise


async def request(n):
    stage("parse")
    await asyncio.sleep(0.001)
    with stage("handle"):
        await asyncio.sleep(0.002 + n % 3 / 1000)
        if n == BAD_REQ:
            raise ValueError("request %d: bad header" % n)
    stage("reply")


async def acceptor(inbox):
    running = set()
    try:
        while True:
            n = await inbox.get()
            t = asyncio.create_task(request(n), name="req-%d" % n)
            running.add(t)
            t.add_done_callback(running.discard)
    except asyncio.CancelledError:
        stage("stopping")
        raise


async def part(batch, which):
    stage("copy")
    await asyncio.sleep(0.003)
    if batch == BAD_BATCH and which == "b":
        raise OSError("disk full")
    await asyncio.sleep(0.002)  # batch-7/a is still here when b fails
    stage("verify")


async def batch(n):
    stage("plan")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(part(n, "a"), name="batch-%d/a" % n)
        tg.create_task(part(n, "b"), name="batch-%d/b" % n)
    stage("committed")


async def runner():
    batches = []
    for n in range(1, 11):
        batches.append(asyncio.create_task(batch(n), name="batch-%d" % n))
        await asyncio.sleep(0.01)
    for b, r in zip(batches, await asyncio.gather(*batches, return_exceptions=True)):
        if isinstance(r, BaseException):
            stage("batch reported", batch=b.get_name(), error=repr(r))


async def dns_refresh():
    stage("resolving")
    await asyncio.get_running_loop().create_future()  # nobody resolves it


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    inbox = asyncio.Queue()
    tasks = [asyncio.create_task(every("beat", 0.01), name="pulse"),
             asyncio.create_task(every("renew lease", 0.15), name="lease"),
             asyncio.create_task(acceptor(inbox), name="acceptor"),
             asyncio.create_task(runner(), name="runner"),
             asyncio.create_task(dns_refresh(), name="dns-refresh")]
    loop.call_later(0.6, os.kill, os.getpid(), signal.SIGTERM)
    n = 0
    while not stop.is_set():  # requests keep coming up to the signal: the acceptor is busy
        n += 1
        inbox.put_nowait(n)
        await asyncio.sleep(0.005)
    stage("draining")
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return tasks, n


def truth(files, requests):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds):
        return {"task": task, "scope": scope, "kinds": list(kinds)}

    expected = [entry("dns-refresh", "hung"), entry("req-%d" % BAD_REQ, "lost-exception")]
    clean = ["main", "pulse", "lease", "acceptor", "runner"]
    clean += ["req-%d" % n for n in range(1, requests + 1) if n != BAD_REQ]
    for n in range(1, 11):
        clean += ["batch-%d" % n, "batch-%d/a" % n, "batch-%d/b" % n]
    outcomes = {"batch-%d" % BAD_BATCH: "failed", "batch-%d/a" % BAD_BATCH: "cancelled",
                "batch-%d/b" % BAD_BATCH: "failed", "batch-1": "ok", "pulse": "cancelled",
                "lease": "cancelled", "runner": "ok", "main": "ok"}
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": outcomes}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        tasks, requests = asyncio.run(main(log))
    t = truth([NAME + ".jsonl"], requests)
    if not all(x.cancelled() for x in tasks if x.get_name() != "runner"):
        t["problems"] = ["a long-lived task was not cancelled by the shutdown"]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
