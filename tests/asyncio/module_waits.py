"""module_waits: what a task blocked on a semaphore, a barrier or a wait_for waits on, logged by
coroner_asyncio.

usage: python3 module_waits.py OUTDIR   -> OUTDIR/module_waits.jsonl, OUTDIR/module_waits.truth.json

The module names a semaphore's holders as it names a lock's (docs/ASYNCIO_RECORDS.md): a task
blocked on it waits on them.
- indexer holds `pool`, an asyncio.Semaphore(1), for the whole run, logging "index batch" every
  20 ms (at work); migrator does the same with `schema`, an asyncio.Lock. search-0..9 query and
  take `pool` before it; search-late-1 and search-late-2 come after and wait on indexer; api-late
  waits on migrator. The late ones wait for a task still at work: in flight, never hung (clean).
- `gpu` is an asyncio.Semaphore(2): infer-0..29 take it in turn (clean); then gpu-hog-1 and
  gpu-hog-2 take it and hang on an asyncio.Event nobody sets (*hung*); infer-late-1..3 queue for
  it: *blocked* on a hog (one root cause), not hung of their own.
- `lab` is an asyncio.Semaphore(2) held by trainer, at work like indexer, and by stuck-holder,
  which hangs (*hung*); eval-1 waits on it: it waits on either holder, and trainer will release
  it: in flight, not blocked on stuck-holder (clean). The same with `rig`, held first by _tuner,
  which hangs (*hung*), then by tuner, at work, whose name is _tuner's from its second letter:
  eval-2 waits on either (clean); its wait names them "held by _tuner, tuner".
- `tokens`, an asyncio.Semaphore(1) used as a counter: lessee takes it, a separate returner
  releases it (a release by a task that holds nothing: the holders are no longer known), and
  lessee-late takes it after: clean, all three.
wait_for on a task the caller created cancels it when the timeout expires:
- page-0..19 create page-N/fetch (`with stage("download")`, a 2-4 ms sleep) and await
  `wait_for(fetch, 0.05)` in `with stage("await fetch")`. page-9's fetch sleeps 0.5 s: the
  timeout cancels it after 50 ms and page-9 catches the TimeoutError and serves a stale page:
  page-9 *timeout* (or *lost-exception*, the timeout swallowed); page-9/fetch was cut off by its
  caller's timeout, one problem with it, not hung: clean, outcome cancelled.
- report creates report/fetch, which enters "download" and hangs at once (an Event nobody sets);
  report composes for 0.3 s before it awaits `wait_for(fetch, 0.05)`, catches the TimeoutError and
  serves a stale report: report *timeout* (or *lost-exception*); report/fetch was silent far
  longer than a download takes before that wait even began: *hung* (until cancelled).
A deadlock that a timeout breaks: ledger runs xfer-ok-0..9 one after another (each takes the
`accounts` lock, then the `journal` lock, clean), then xfer-1 (accounts then journal) and xfer-2
(journal then accounts) at once, and gives up on them with `wait_for(gather(...), 0.3)`,
catching the TimeoutError without a word (ledger: clean, as far as its log says). xfer-1 and
xfer-2 each wait on the lock the other holds until the timeout cancels them: *deadlock* (a cycle
of the two, until cancelled), not two tasks hung of their own; outcome cancelled.
Barrier (3.11+): crew-1..3 meet at a Barrier(3) and go on (clean); loader-1 and loader-2 wait at
a Barrier(3) no third party reaches: *hung*, and their wait says it is a barrier's ("waits"
below), not a Condition's.
main returns after 0.7 s: the module writes the pending records and the exit, then asyncio
cancels what is left. main: clean.
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

NAME = "module_waits"
HAS_BARRIER = sys.version_info >= (3, 11)
SLOW_PAGE = 9


async def hold(prim):
    async with prim:
        for i in range(40):
            stage("index batch", batch=i)
            await asyncio.sleep(0.02)


async def stuck_holder(prim, never):
    async with prim:
        stage("reserve")
        await never.wait()


async def search(prim):
    stage("query")
    await asyncio.sleep(0.001)
    async with prim:
        stage("respond")
        await asyncio.sleep(0.001)


async def infer(gpu, n, never=None):
    stage("queued")
    async with gpu:
        stage("infer")
        if never is not None:
            await never.wait()
        await asyncio.sleep(0.002 + n % 3 / 1000)
    stage("reply")


async def lessee(tokens):
    stage("lease")
    await tokens.acquire()
    stage("leased")


async def returner(tokens):
    stage("return lease")
    await asyncio.sleep(0.01)
    tokens.release()


async def fetch(n, never=None):
    with stage("download"):
        if never is not None:
            await never.wait()
        await asyncio.sleep(0.5 if n == SLOW_PAGE else 0.002 + n % 3 / 1000)
    stage("decode")


async def page(n):
    stage("render")
    child = asyncio.create_task(fetch(n), name="page-%d/fetch" % n)
    try:
        with stage("await fetch"):
            await asyncio.wait_for(child, 0.05)
    except asyncio.TimeoutError:
        stage("serve stale")
    stage("respond")


async def report(never):
    child = asyncio.create_task(fetch(0, never), name="report/fetch")
    stage("compose")
    await asyncio.sleep(0.3)
    try:
        with stage("await fetch"):
            await asyncio.wait_for(child, 0.05)
    except asyncio.TimeoutError:
        stage("serve stale")
    stage("respond")


async def transfer(first, second):
    stage("lock accounts")
    async with first:
        await asyncio.sleep(0.005)
        async with second:
            stage("post entry")
            await asyncio.sleep(0.001)


async def ledger():
    accounts, journal = asyncio.Lock(), asyncio.Lock()
    for n in range(10):
        await asyncio.create_task(transfer(accounts, journal), name="xfer-ok-%d" % n)
    one = asyncio.create_task(transfer(accounts, journal), name="xfer-1")
    two = asyncio.create_task(transfer(journal, accounts), name="xfer-2")
    try:
        await asyncio.wait_for(asyncio.gather(one, two), 0.3)
    except asyncio.TimeoutError:
        pass  # given up on, without a word


async def party(barrier, delay):
    stage("arrive")
    await asyncio.sleep(delay)
    await barrier.wait()
    stage("go")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    never = asyncio.Event()
    pool, schema, gpu, tokens = asyncio.Semaphore(1), asyncio.Lock(), asyncio.Semaphore(2), asyncio.Semaphore(1)
    await asyncio.gather(*[asyncio.create_task(search(pool), name="search-%d" % n) for n in range(10)])
    await asyncio.gather(*[asyncio.create_task(infer(gpu, n), name="infer-%d" % n) for n in range(30)])
    await asyncio.gather(*[asyncio.create_task(page(n), name="page-%d" % n) for n in range(20)])
    asyncio.create_task(report(never), name="report")
    asyncio.create_task(ledger(), name="ledger")
    asyncio.create_task(hold(pool), name="indexer")
    asyncio.create_task(hold(schema), name="migrator")
    lab = asyncio.Semaphore(2)
    asyncio.create_task(hold(lab), name="trainer")
    asyncio.create_task(stuck_holder(lab, never), name="stuck-holder")
    rig = asyncio.Semaphore(2)
    asyncio.create_task(stuck_holder(rig, never), name="_tuner")
    asyncio.create_task(hold(rig), name="tuner")
    for n in (1, 2):
        asyncio.create_task(infer(gpu, n, never), name="gpu-hog-%d" % n)
    await asyncio.sleep(0.01)
    for n in (1, 2):
        asyncio.create_task(search(pool), name="search-late-%d" % n)
    asyncio.create_task(search(schema), name="api-late")
    asyncio.create_task(search(lab), name="eval-1")
    asyncio.create_task(search(rig), name="eval-2")
    for n in (1, 2, 3):
        asyncio.create_task(infer(gpu, n), name="infer-late-%d" % n)
    await asyncio.create_task(lessee(tokens), name="lessee")
    late = asyncio.create_task(lessee(tokens), name="lessee-late")
    await asyncio.create_task(returner(tokens), name="returner")
    await late
    if HAS_BARRIER:
        gate, dock = asyncio.Barrier(3), asyncio.Barrier(3)
        for n in (1, 2, 3):
            asyncio.create_task(party(gate, n / 100), name="crew-%d" % n)
        for n in (1, 2):
            asyncio.create_task(party(dock, n / 100), name="loader-%d" % n)
    await asyncio.sleep(0.7)
    stage("shutdown")


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds, **more):
        return dict({"task": task, "scope": scope, "kinds": list(kinds)}, **more)

    expected = [entry("gpu-hog-1", "hung"), entry("gpu-hog-2", "hung"), entry("stuck-holder", "hung"),
                entry("_tuner", "hung")]
    expected += [entry("infer-late-%d" % n, "blocked", root=["gpu-hog-1", "gpu-hog-2"]) for n in (1, 2, 3)]
    expected += [entry("page-%d" % SLOW_PAGE, "timeout", "lost-exception"),
                 entry("report", "timeout", "lost-exception"), entry("report/fetch", "hung")]
    clean = ["main", "indexer", "migrator", "search-late-1", "search-late-2", "api-late", "trainer", "eval-1",
             "tuner", "eval-2", "lessee", "lessee-late", "returner"]
    clean += ["search-%d" % n for n in range(10)] + ["infer-%d" % n for n in range(30)]
    clean += ["page-%d" % n for n in range(20) if n != SLOW_PAGE]
    clean += ["page-%d/fetch" % n for n in range(20)]
    expected += [entry(t, "deadlock", cycle=["xfer-1", "xfer-2"]) for t in ("xfer-1", "xfer-2")]
    clean += ["ledger"] + ["xfer-ok-%d" % n for n in range(10)]
    outcomes = {"xfer-1": "cancelled", "xfer-2": "cancelled", "ledger": "ok",
                "page-%d/fetch" % SLOW_PAGE: "cancelled", "page-%d" % SLOW_PAGE: "ok",
                "report/fetch": "cancelled", "search-late-1": "open", "indexer": "open"}
    waits = {"search-late-1": "held by indexer",
             "infer-late-2": "held by gpu-hog-1, gpu-hog-2", "api-late": "held by migrator",
             "eval-1": "held by trainer, stuck-holder", "eval-2": "held by _tuner, tuner"}
    if HAS_BARRIER:
        expected += [entry("loader-1", "hung"), entry("loader-2", "hung")]
        clean += ["crew-1", "crew-2", "crew-3"]
        waits["loader-1"] = "asyncio.Barrier of 3 parties created at module_waits.py:"
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": outcomes, "waits": waits}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
