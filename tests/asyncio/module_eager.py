"""module_eager: asyncio.eager_task_factory and asyncio.to_thread, logged by coroner_asyncio
(Python 3.12+).

usage: python3 module_eager.py OUTDIR   -> OUTDIR/module_eager.jsonl, OUTDIR/module_eager.truth.json

The loop's task factory is asyncio.eager_task_factory, set before install() (the module keeps
it): a task runs its first step inside create_task(), and one that never suspends is done
before create_task() returns.
- get-1..get-80: a cache lookup; even keys hit the cache and end inside create_task() (no
  suspension at all); odd keys `await asyncio.to_thread(load)` (a 2-3 ms blocking read). Clean.
  get-33: its load blocks on a threading.Event nobody sets: *hung* in stage "load".
- check-1..check-20: validate an order synchronously; check-7 and check-14 raise ValueError in
  their first step, so they fail inside create_task(). The checker keeps them all and, after
  a 20 ms sleep, awaits each (already done) in try/except, logging "order rejected": the
  exceptions were observed late. Clean, all of them and the checker.
- audit-1..audit-3: fire-and-forget, no reference kept; audit-2 raises KeyError in its first
  step, before any await: asyncio reports it never retrieved: *lost-exception*.
- fetch-1..fetch-10: "download started" and "download complete" in the eager first step, before
  any await, then "parse" after a 1 ms sleep. The module's started record marks a traced task,
  whose stage names carry no lifecycle word; it must reach the log before what that first step
  wrote: none of them ends at "download complete" (quiet: no finding at all). fetch-4 then
  waits on an asyncio.Event nobody sets: *hung* (not ended ok).
main, after the work, sleeps 0.3 s, writes a task-less shutdown record, and the process ends with
os._exit(0) (get-33's thread never returns): main in neither list.
"""

import asyncio
import gc
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

MIN_PYTHON = (3, 12)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_eager"
NEVER = threading.Event()
CACHE = {k: "v%d" % k for k in range(0, 81, 2)}
STUCK = 33
REJECTED = {7, 14}
STUCK_FETCH = 4
FETCHES = ["fetch-%d" % n for n in range(1, 11)]


def load(key):
    if key == STUCK:
        NEVER.wait()
    time.sleep(0.002 + key % 2 / 1000)
    return "v%d" % key


async def get(key):
    stage("lookup")
    if key in CACHE:
        stage("hit")
        return CACHE[key]
    stage("load")
    value = await asyncio.to_thread(load, key)
    stage("store")
    CACHE[key] = value
    return value


async def check(n):
    stage("validate")
    if n in REJECTED:
        raise ValueError("order %d: negative quantity" % n)
    await asyncio.sleep(0.001)
    stage("accepted")


async def checker():
    checks = [asyncio.create_task(check(n), name="check-%d" % n) for n in range(1, 21)]
    await asyncio.sleep(0.02)
    for c in checks:
        try:
            await c
        except ValueError as e:
            stage("order rejected", reason=str(e))


async def audit(n):
    stage("record")
    if n == 2:
        raise KeyError("actor")
    await asyncio.sleep(0.001)
    stage("recorded")


async def fetch(n, never):
    stage("download started")
    stage("download complete")
    if n == STUCK_FETCH:
        await never.wait()
    await asyncio.sleep(0.001)
    stage("parse")


async def main(log):
    asyncio.current_task().set_name("main")
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    ca.install(stream=log, scope=True)
    work = [asyncio.create_task(checker(), name="checker")]
    for n in (1, 2, 3):
        asyncio.create_task(audit(n), name="audit-%d" % n)  # no reference kept
    for k in range(1, 81):
        work.append(asyncio.create_task(get(k), name="get-%d" % k))
        await asyncio.sleep(0.001)
    never = asyncio.Event()
    work += [asyncio.create_task(fetch(n, never), name="fetch-%d" % n) for n in range(1, 11)]
    gc.collect()
    await asyncio.wait(work, timeout=1)
    await asyncio.sleep(0.3)
    ca.emit({"task": None, "stage": "shutdown"})
    return [t.get_name() for t in work if not t.done()]


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds):
        return {"task": task, "scope": scope, "kinds": list(kinds)}

    expected = [entry("get-%d" % STUCK, "hung"), entry("audit-2", "lost-exception"),
                entry("fetch-%d" % STUCK_FETCH, "hung")]
    clean = ["checker", "audit-1", "audit-3"] + ["check-%d" % n for n in range(1, 21)]
    clean += ["get-%d" % k for k in range(1, 81) if k != STUCK]
    quiet = [t for t in FETCHES if t != "fetch-%d" % STUCK_FETCH]
    clean += quiet
    outcomes = {"get-2": "ok", "get-3": "ok", "check-7": "failed", "checker": "ok",
                "fetch-%d" % STUCK_FETCH: "open"}
    outcomes.update({t: "ok" for t in quiet})
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "quiet": quiet, "outcomes": outcomes}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    t = truth([NAME + ".jsonl"])
    log = open(out / (NAME + ".jsonl"), "w")
    pending = asyncio.new_event_loop().run_until_complete(main(log))
    if pending != ["get-%d" % STUCK, "fetch-%d" % STUCK_FETCH]:
        t["problems"] = ["pending at the end: %s, expected get-%d and fetch-%d" % (pending, STUCK, STUCK_FETCH)]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
    log.flush()
    os._exit(0)
