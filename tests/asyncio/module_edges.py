"""module_edges: the await edges coroner_asyncio logs by itself, with no traced() wrapper.

usage: python3 module_edges.py OUTDIR   -> OUTDIR/module_edges.jsonl, OUTDIR/module_edges.truth.json

coroner_asyncio.install(stream=..., scope=True), then plain asyncio only: gather, wait,
as_completed, wait_for, shield, `await task`, asyncio.Lock, asyncio.Queue. The module writes a
{"coroner": "wait", "waiting_for", "awaits"} record when a task starts waiting; coroner must
point every blocked task at the exact root cause and every deadlock at its exact members.

Stuck roots log "working" (a stage every healthy job logs, a few milliseconds long) and then await
an asyncio.Event nobody sets: expected hung. Each has a waiter, expected *blocked* with that root
(not merely hung: this program is about the edges):
- report gathers report/summary (ok) and report/chart (stuck): report -> report/chart.
- sweeper asyncio.wait()s on sweep/a (ok) and sweep/b (stuck): sweeper -> sweep/b.
- collector iterates asyncio.as_completed over collect/x (ok) and collect/y (stuck):
  collector -> collect/y.
- fetcher awaits asyncio.wait_for(fetch/remote, timeout=30) (a task, stuck): fetcher -> fetch/remote.
- committer awaits asyncio.shield(flush) (stuck): committer -> flush.
- mailer awaits the task render (stuck): mailer -> render.
Lock order, plain asyncio.Lock: xfer-a holds the accounts lock and wants the ledger lock, xfer-b
the reverse: deadlock, cycle exactly {xfer-a, xfer-b} (the module names a lock's holder).
settle awaits the task xfer-a: blocked, root xfer-a.
consumer awaits queue.get() on a queue nobody fills: waiting for work, in flight (idle), not hung:
from its side it cannot be told from a consumer between two items. collector's as_completed uses
a queue of asyncio's own: the module writes no wait for it, so collector's last wait is the
as_completed one.
Clean: the ok children above, and batch-01..batch-24 each waiting on two healthy jobs with one of
gather, wait, as_completed, wait_for + await (the edges must not make healthy tasks look bad).
main is in neither list: after the healthy work it writes a task-less shutdown record and the
process ends with os._exit(0), so main and the stuck tasks are still pending and nothing logs
their cancellation (as when a worker is killed).
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

NAME = "module_edges"
BATCHES = 24
BLOCKED = {"report": "report/chart", "sweeper": "sweep/b", "collector": "collect/y",
           "fetcher": "fetch/remote", "committer": "flush", "mailer": "render", "settle": "xfer-a"}
STUCK = ["report/chart", "sweep/b", "collect/y", "fetch/remote", "flush", "render"]
OK_CHILDREN = ["report/summary", "sweep/a", "collect/x"]


async def job(ms):
    stage("loading")
    await asyncio.sleep(0.002)
    stage("working")
    await asyncio.sleep(ms / 1000)


async def stuck(never_set):
    stage("loading")
    await asyncio.sleep(0.002)
    stage("working")
    await never_set.wait()  # nobody ever sets it


async def batch(n, a, b):
    stage("collecting")
    how = n % 4
    if how == 0:
        await asyncio.gather(a, b)
    elif how == 1:
        await asyncio.wait({a, b})
    elif how == 2:
        for fut in asyncio.as_completed([a, b]):
            await fut
    else:
        await asyncio.wait_for(a, timeout=5)
        await b
    stage("collected")


async def report(a, b):
    stage("rendering report")
    await asyncio.gather(a, b)


async def sweeper(a, b):
    stage("sweeping")
    await asyncio.wait({a, b})


async def collector(a, b):
    stage("collecting")
    for fut in asyncio.as_completed([a, b]):
        await fut


async def fetcher(t):
    stage("fetching")
    await asyncio.wait_for(t, timeout=30)


async def committer(t):
    stage("committing")
    await asyncio.shield(t)


async def mailer(t):
    stage("mailing")
    await t


async def xfer(mine, theirs):
    async with mine:
        stage("holding lock")
        await asyncio.sleep(0.005)
        async with theirs:
            stage("moving money")


async def consumer(q):
    stage("subscribing")
    await q.get()  # nobody ever puts


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    make = asyncio.create_task
    never_set = asyncio.Event()
    t = {name: make(stuck(never_set), name=name) for name in STUCK}
    for name in OK_CHILDREN:
        t[name] = make(job(3), name=name)
    t["report"] = make(report(t["report/summary"], t["report/chart"]), name="report")
    t["sweeper"] = make(sweeper(t["sweep/a"], t["sweep/b"]), name="sweeper")
    t["collector"] = make(collector(t["collect/x"], t["collect/y"]), name="collector")
    t["fetcher"] = make(fetcher(t["fetch/remote"]), name="fetcher")
    t["committer"] = make(committer(t["flush"]), name="committer")
    t["mailer"] = make(mailer(t["render"]), name="mailer")
    accounts, ledger = asyncio.Lock(), asyncio.Lock()
    t["xfer-a"] = make(xfer(accounts, ledger), name="xfer-a")
    t["xfer-b"] = make(xfer(ledger, accounts), name="xfer-b")
    t["settle"] = make(mailer(t["xfer-a"]), name="settle")
    t["consumer"] = make(consumer(asyncio.Queue()), name="consumer")
    healthy = [t[name] for name in OK_CHILDREN]
    for n in range(1, BATCHES + 1):
        a = make(job(2 + n % 4), name="batch-%02d/a" % n)
        b = make(job(3 + n % 3), name="batch-%02d/b" % n)
        healthy.append(make(batch(n, a, b), name="batch-%02d" % n))
        await asyncio.sleep(0.006)
    await asyncio.wait(healthy, timeout=2)
    await asyncio.sleep(0.4)  # the stuck ones stay silent
    ca.emit({"task": None, "stage": "shutdown"})  # through the module: its lines stay in order
    return all(x.done() for x in healthy) and not any(t[name].done() for name in STUCK + list(BLOCKED))


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds, **blame):
        return dict({"task": task, "scope": scope, "kinds": list(kinds)}, **blame)

    # The consumer waits for work, which is no fault of its own: in flight, idle.
    expected = [entry(name, "hung") for name in STUCK] + [entry("consumer", "in-flight/idle")]
    expected += [entry(w, "blocked", root=r) for w, r in BLOCKED.items()]
    expected += [entry(x, "deadlock", cycle=["xfer-a", "xfer-b"]) for x in ("xfer-a", "xfer-b")]
    clean = list(OK_CHILDREN) + ["consumer"]
    for n in range(1, BATCHES + 1):
        clean += ["batch-%02d" % n, "batch-%02d/a" % n, "batch-%02d/b" % n]
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
        print("module_edges: the healthy tasks did not all finish, or a stuck one did", file=sys.stderr)
        os._exit(1)
    os._exit(0)  # the stuck tasks stay pending: no cancellation is ever logged for them
