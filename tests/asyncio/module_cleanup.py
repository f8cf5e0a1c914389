"""module_cleanup: a graceful shutdown whose cancelled tasks clean up asynchronously.

usage: python3 module_cleanup.py OUTDIR
       -> OUTDIR/module_cleanup.jsonl, OUTDIR/module_cleanup.truth.json

Logged by coroner_asyncio.install(stream=..., scope=True). After 1 s of work main logs
"shutdown", cancels every task it started and gathers them (return_exceptions=True); main
returns once they are all done. The module logs when cancel() is called on a task (a
{"coroner": "cancel"} record): what a task does after it is its cleanup, however long.

- drain-1..drain-4: parse -> query (1-2 ms) -> render from a queue; on CancelledError they log
  "draining" (a stage no task ever finishes), flush for 100 ms and re-raise. Clean, cancelled.
- db-1..db-4: "query" / "commit" every 1-2 ms; `finally:` closes the connection (awaits 100 ms,
  logs nothing). Their last record before the end is "query", 100 ms before it: fifty times the
  stage's normal time. Clean, cancelled.
- session-1..session-8: "ping" every 5 ms; `finally: stage("closing")`, no await. Clean,
  cancelled.
- resolve-1..resolve-20: "resolving" 2-3 ms, "cached", done. Clean.
- dns-refresh: logs "resolving", then awaits an Event nobody sets; cancelled 0.4 s later, it too
  logs "draining" and flushes for 100 ms: the cleanup does not hide the silence before the
  cancellation. Hung (until cancelled).
- scheduler: "refresh" (1 ms), "sleeping" (2 ms), twenty times, then "sleeping" until its next
  run, 30 s away: cancelled asleep, most of a second after its last record, fifty times the
  stage's normal time. The cancel record says it was asleep: clean, cancelled.
- poll-1..poll-10: "poll" 2 ms, "polled", done. Clean.
- lock-poller: "poll", then polls for a lock that is never freed, asleep 10 ms at a time and
  logging nothing; cancelled asleep too, but silent for most of a second before that sleep
  began: hung (until cancelled).
- main: clean.
"""

import asyncio
import json
import os
import random
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# CORONER_ASYNCIO_DIR: another copy of the module to try (run_scenarios.py passes it on).
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_cleanup"


async def drain_worker(q):
    try:
        while True:
            await q.get()
            stage("parse")
            stage("query")
            await asyncio.sleep(0.001 + random.random() / 1000)
            stage("render")
            q.task_done()
    except asyncio.CancelledError:
        stage("draining")
        await asyncio.sleep(0.1)  # flush buffered writes
        raise


async def db_worker():
    try:
        while True:
            stage("query")
            await asyncio.sleep(0.001 + random.random() / 1000)
            stage("commit")
            await asyncio.sleep(0.001)
    finally:
        await asyncio.sleep(0.1)  # conn.close(): the close handshake, nothing logged


async def session():
    try:
        while True:
            stage("ping")
            await asyncio.sleep(0.005)
    finally:
        stage("closing")


async def resolve(n):
    stage("resolving", n=n)
    await asyncio.sleep(0.002 + (n % 2) / 1000)
    stage("cached", n=n)


async def dns_refresh(never_set):
    try:
        stage("resolving")
        await never_set.wait()  # nobody ever sets it
    except asyncio.CancelledError:
        stage("draining")
        await asyncio.sleep(0.1)
        raise


async def scheduler():
    for _ in range(20):
        stage("refresh")
        await asyncio.sleep(0.001)
        stage("sleeping")
        await asyncio.sleep(0.002)
    stage("refresh")
    await asyncio.sleep(0.001)
    stage("sleeping")
    await asyncio.sleep(30)  # the next run


async def poll(n):
    stage("poll", n=n)
    await asyncio.sleep(0.002)
    stage("polled", n=n)


async def lock_poller(freed):
    stage("poll")
    while not freed.is_set():  # nobody ever frees it
        await asyncio.sleep(0.01)


async def main(log):
    asyncio.current_task().set_name("main")
    coroner_asyncio.install(stream=log, scope=True)
    q = asyncio.Queue()
    never_set = asyncio.Event()
    tasks = [asyncio.create_task(drain_worker(q), name="drain-%d" % n) for n in range(1, 5)]
    tasks += [asyncio.create_task(db_worker(), name="db-%d" % n) for n in range(1, 5)]
    tasks += [asyncio.create_task(session(), name="session-%d" % n) for n in range(1, 9)]
    tasks.append(asyncio.create_task(dns_refresh(never_set), name="dns-refresh"))
    tasks.append(asyncio.create_task(scheduler(), name="scheduler"))
    tasks.append(asyncio.create_task(lock_poller(asyncio.Event()), name="lock-poller"))
    resolves = [asyncio.create_task(resolve(n), name="resolve-%d" % n) for n in range(1, 21)]
    resolves += [asyncio.create_task(poll(n), name="poll-%d" % n) for n in range(1, 11)]
    loop = asyncio.get_running_loop()
    end = loop.time() + 1.0
    n = 0
    while loop.time() < end:
        n += 1
        q.put_nowait(n)
        await asyncio.sleep(0.002)
    await q.join()
    stage("shutdown")
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*resolves)


def run(out):
    path = out / (NAME + ".jsonl")
    with open(path, "w") as log:
        asyncio.run(main(log))
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    problems = []
    cancels = {r.get("task") for r in recs if r.get("coroner") == "cancel"}
    workers = (["drain-%d" % n for n in range(1, 5)] + ["db-%d" % n for n in range(1, 5)]
               + ["session-%d" % n for n in range(1, 9)])
    for t in workers + ["dns-refresh", "scheduler", "lock-poller"]:
        if t not in cancels:
            problems.append("no cancel record for %s" % t)
    pids = {r.get("pid") for r in recs if r.get("pid") is not None}
    scope = {"pid": str(pids.pop()) if len(pids) == 1 else "?", "hostname": socket.gethostname()}
    expected = [{"task": t, "scope": scope, "kinds": ["hung/until-cancelled"]}
                for t in ("dns-refresh", "lock-poller")]
    cancelled = workers + ["dns-refresh", "scheduler", "lock-poller"]
    outcomes = dict({t: "cancelled" for t in cancelled}, main="ok")
    resolves = ["resolve-%d" % n for n in range(1, 21)] + ["poll-%d" % n for n in range(1, 11)]
    doc = {"scenario": NAME, "files": [path.name], "args": [], "problems": problems,
           "expected": expected, "clean": workers + resolves + ["main", "scheduler"],
           "outcomes": outcomes}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    run(out)
