"""module_deadlock: real asyncio deadlocks logged by python/coroner_asyncio.py.

usage: python3 module_deadlock.py OUTDIR
       -> OUTDIR/module_deadlock.jsonl, OUTDIR/module_deadlock.truth.json

coroner_asyncio.install(stream=..., scope=True) logs every task's created (with parent_id) /
started / done / failed / cancelled, with "pid" and "hostname" on every record; traced() and
traced_gather() log the await edges ("awaits").

- Two-task deadlock (lock order): xfer-a holds the accounts lock and wants the ledger lock,
  xfer-b holds the ledger lock and wants the accounts lock (each logs "awaits" = the holder).
  txn-commit awaits both: blocked behind the deadlock.
- Three-task deadlock: shard-a awaits the task shard-b, shard-b awaits shard-c, shard-c awaits
  shard-a (real `await other_task`). audit-nightly awaits shard-b: blocked.
- Deadlock of one: xfer-nested holds the `books` Lock (asyncio's locks are not reentrant) and
  calls code that takes it again: the module's wait record names the holder, itself. settle
  then waits for `books`: blocked behind it.
- hung: cache-warm awaits an asyncio.Event nobody sets; report-daily awaits cache-warm and
  mailer awaits report-daily: blocked behind a hung task (or hung themselves).
- producer-feed fails (ValueError, logged "failed") before resolving the future consumer-feed
  awaits (logged as awaits=producer-feed): consumer-feed is blocked behind a failed task.
  producer-feed itself is in neither list: it failed and said so; whether its exception was
  "lost" (nobody awaited it) is a matter of taste.
- Healthy: build-NN parents, each gathering build-NN:fetch, :parse, :index children.

The main task is created before install() and logs nothing itself. When the healthy tasks are
done and the stuck ones have been silent a good while, main writes a shutdown record (no task)
and the process ends with os._exit(0): the stuck tasks are still pending and nothing logs a
cancellation for them, as when a worker is killed.
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
from coroner_asyncio import stage, traced, traced_gather  # noqa: E402

NAME = "module_deadlock"
BUILDS = 30
KEEP = []


async def step(name, n, ms):
    stage(name, n=n)
    await asyncio.sleep(ms / 1000)


async def build_child(n, part):
    await step(part, n, 2 + (n + len(part)) % 4)
    await step(part + " flushed", n, 1)


async def build(n):
    stage("planning", n=n)
    await asyncio.sleep(0.002)
    kids = [asyncio.create_task(build_child(n, p), name="build-%03d:%s" % (n, p)) for p in ("fetch", "parse", "index")]
    await traced_gather(*kids, stage="waiting for parts")
    stage("linking", n=n)
    await asyncio.sleep(0.002)


async def xfer(mine, mine_name, theirs, theirs_holder):
    async with mine:
        stage("holding lock", lock=mine_name)
        await asyncio.sleep(0.005)
        await traced(theirs.acquire(), stage="waiting for lock", awaits=theirs_holder)
        theirs.release()


async def txn_commit(accounts, ledger):
    a = asyncio.create_task(xfer(accounts, "accounts", ledger, "xfer-b"), name="xfer-a")
    b = asyncio.create_task(xfer(ledger, "ledger", accounts, "xfer-a"), name="xfer-b")
    await traced_gather(a, b, stage="waiting")


async def nested_lock(books):
    async with books:
        stage("debit")
        await asyncio.sleep(0.002)
        async with books:  # the audit step takes the lock again: it waits for itself
            stage("audit")


async def settle(books):
    stage("settling")
    await asyncio.sleep(0.004)
    async with books:
        stage("settled")


async def shard(me, nxt, tasks):
    stage("loading", shard=me)
    await asyncio.sleep(0.004)
    await traced(tasks[nxt], stage="waiting for " + nxt)


async def cache_warm(never_set):
    stage("loading config")
    await asyncio.sleep(0.003)
    stage("waiting for config")
    await never_set.wait()


async def waits_on(task, what):
    stage("preparing")
    await asyncio.sleep(0.002)
    await traced(task, stage="waiting for " + what)


async def producer(fut):
    stage("reading feed")
    await asyncio.sleep(0.004)
    raise ValueError("feed closed unexpectedly")  # fut is never resolved


async def consumer(fut):
    stage("subscribing")
    await asyncio.sleep(0.002)
    await traced(fut, stage="waiting for items", awaits="producer-feed")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    make = asyncio.create_task
    stuck = []
    accounts, ledger = asyncio.Lock(), asyncio.Lock()
    stuck.append(make(txn_commit(accounts, ledger), name="txn-commit"))
    books = asyncio.Lock()
    stuck.append(make(nested_lock(books), name="xfer-nested"))
    stuck.append(make(settle(books), name="settle"))
    shards = {}
    for me, nxt in (("shard-a", "shard-b"), ("shard-b", "shard-c"), ("shard-c", "shard-a")):
        shards[me] = make(shard(me, nxt, shards), name=me)
    stuck += shards.values()
    await asyncio.sleep(0.001)
    stuck.append(make(waits_on(shards["shard-b"], "shard-b"), name="audit-nightly"))
    warm = make(cache_warm(asyncio.Event()), name="cache-warm")
    report = make(waits_on(warm, "cache-warm"), name="report-daily")
    mailer = make(waits_on(report, "report-daily"), name="mailer")
    fut = asyncio.get_running_loop().create_future()
    prod = make(producer(fut), name="producer-feed")
    KEEP.append(prod)  # so that asyncio's never-retrieved message does not go to stderr
    cons = make(consumer(fut), name="consumer-feed")
    stuck += [warm, report, mailer, cons]
    builds = []
    for n in range(1, BUILDS + 1):
        builds.append(make(build(n), name="build-%03d" % n))
        await asyncio.sleep(0.004)
    await asyncio.wait(builds + [prod], timeout=2)
    await asyncio.sleep(0.3)  # the stuck ones stay silent
    ca.emit({"task": None, "stage": "shutdown", "pending": sum(not t.done() for t in stuck)})
    assert all(t.done() for t in builds) and not any(t.done() for t in stuck)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds, **blame):
        return dict({"task": task, "scope": scope, "kinds": list(kinds)}, **blame)

    xfers, shards = ["xfer-a", "xfer-b"], ["shard-a", "shard-b", "shard-c"]
    expected = [entry(t, "deadlock", cycle=xfers) for t in xfers]
    expected += [entry(t, "deadlock", cycle=shards) for t in shards]
    expected += [entry("xfer-nested", "deadlock", cycle=["xfer-nested"]),
                 entry("settle", "blocked", "hung", "deadlock", root="xfer-nested")]
    expected += [entry("txn-commit", "blocked", "hung", "deadlock", root=xfers),
                 entry("audit-nightly", "blocked", "hung", "deadlock", root="shard-b"),
                 entry("cache-warm", "hung"),
                 entry("report-daily", "blocked", "hung", root="cache-warm"),
                 entry("mailer", "blocked", "hung", root="cache-warm"),
                 entry("consumer-feed", "blocked", "hung", root="producer-feed")]
    clean = []
    for n in range(1, BUILDS + 1):
        clean += ["build-%03d" % n] + ["build-%03d:%s" % (n, p) for p in ("fetch", "parse", "index")]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    log = open(out / (NAME + ".jsonl"), "w")
    loop = asyncio.new_event_loop()
    loop.run_until_complete(main(log))
    log.flush()
    sys.stdout.flush()
    os._exit(0)  # the stuck tasks stay pending: no cancellation is ever logged for them
