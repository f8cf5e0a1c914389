"""module_wait_for_timeouts: asyncio.wait_for() timeouts, caught and not, logged by coroner_asyncio.

usage: python3 module_wait_for_timeouts.py OUTDIR
       -> OUTDIR/module_wait_for_timeouts.jsonl, OUTDIR/module_wait_for_timeouts.truth.json

Before 3.12 wait_for runs the coroutine as an inner task and cancels it when the timeout expires
(the `with stage()` block in it sees only a cancellation); 3.12+ runs it in the caller under
asyncio.timeout(). coroner must judge both the same.

- job-1..job-30: `stage("prepare")`, then `await asyncio.wait_for(fetch(n), 0.02)` where fetch
  runs `with stage("fetch")` around a 2-4 ms sleep, then `stage("publish")`: clean.
  job-7, job-19, job-26: fetch sleeps 0.3 s, the wait_for times out, the job catches the
  TimeoutError (`except asyncio.TimeoutError: pass`), publishes and ends ok: *timeout* or
  *lost-exception* (the timeout was swallowed), outcome ok.
- strict-1..strict-10: the same without the except; strict-4's fetch is slow, its TimeoutError
  leaves the task: *timeout*, outcome timed-out (it failed of a TimeoutError). The others: clean.
- batch-1..batch-10: `wait_for(asyncio.gather(part a, part b), 0.02)`, each part a task running
  `with stage("fetch part")`; batch-6's part b is slow: the wait_for cancels the gather, whose
  TimeoutError batch-6 swallows: *timeout* or *lost-exception*, outcome ok (before 3.12 the
  module finds the cut-off part among the gather's children, on 3.12+ the timeout scope sees
  its stage on the cancellation).
- handed-1..handed-10: `wait_for(task, 0.02)` on a task made before (`handed-N-fetch`, in
  `with stage("fetch")`); handed-3's is slow, the TimeoutError is swallowed: the same. The parts
  and fetch tasks that were not cut off are clean, and so are the cut-off ones: their caller
  timed out on them (cancelled, not hung).
- Before 3.12, the inner tasks wait_for made for the clean jobs (their names are logged by fetch
  itself) are clean too: no hung/until-cancelled for the ones that were cut off either (those
  timed out, and may say so). main gathers everything with return_exceptions=True: clean.
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

NAME = "module_wait_for_timeouts"
SLOW_JOBS = {7, 19, 26}
SLOW_STRICT = 4
SLOW_BATCH = 6
SLOW_HANDED = 3
RUNS_IN = {}  # the caller's name -> the task fetch ran in (an inner task before 3.12)


async def fetch(who, slow, n):
    RUNS_IN[who] = asyncio.current_task().get_name()
    with stage("fetch"):
        await asyncio.sleep(0.3 if slow else 0.002 + (n % 3) / 1000)
    return n


async def job(n):
    stage("prepare")
    await asyncio.sleep(0.001)
    try:
        await asyncio.wait_for(fetch("job-%d" % n, n in SLOW_JOBS, n), 0.02)
    except asyncio.TimeoutError:
        pass  # publish without it
    stage("publish")
    await asyncio.sleep(0.001)


async def part(batch, which, slow):
    with stage("fetch part", part=which):
        await asyncio.sleep(0.3 if slow else 0.002)
    stage("part in")


async def batch(n):
    stage("prepare")
    await asyncio.sleep(0.001)
    parts = [asyncio.create_task(part(n, w, n == SLOW_BATCH and w == "b"), name="batch-%d%s" % (n, w))
             for w in "ab"]
    try:
        await asyncio.wait_for(asyncio.gather(*parts), 0.02)
    except asyncio.TimeoutError:
        pass  # publish what came in
    stage("publish")
    await asyncio.sleep(0.001)


async def handed(n):
    stage("prepare")
    fetching = asyncio.create_task(fetch("handed-%d" % n, n == SLOW_HANDED, n), name="handed-%d-fetch" % n)
    await asyncio.sleep(0.001)
    try:
        await asyncio.wait_for(fetching, 0.02)
    except asyncio.TimeoutError:
        pass
    stage("publish")
    await asyncio.sleep(0.001)


async def strict(n):
    stage("prepare")
    await asyncio.sleep(0.001)
    await asyncio.wait_for(fetch("strict-%d" % n, n == SLOW_STRICT, n), timeout=0.02)
    stage("publish")
    await asyncio.sleep(0.001)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    tasks = []
    for n in range(1, 31):
        tasks.append(asyncio.create_task(job(n), name="job-%d" % n))
        if n <= 10:
            tasks.append(asyncio.create_task(strict(n), name="strict-%d" % n))
            tasks.append(asyncio.create_task(batch(n), name="batch-%d" % n))
            tasks.append(asyncio.create_task(handed(n), name="handed-%d" % n))
        await asyncio.sleep(0.002)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return sorted(t.get_name() for t, r in zip(tasks, results) if isinstance(r, BaseException))


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds):
        return {"task": task, "scope": scope, "kinds": list(kinds)}

    slow = ["job-%d" % n for n in sorted(SLOW_JOBS)] + ["batch-%d" % SLOW_BATCH, "handed-%d" % SLOW_HANDED]
    expected = [entry(t, "timeout", "lost-exception") for t in slow]
    expected.append(entry("strict-%d" % SLOW_STRICT, "timeout"))
    clean = ["main"] + ["job-%d" % n for n in range(1, 31) if n not in SLOW_JOBS]
    clean += ["strict-%d" % n for n in range(1, 11) if n != SLOW_STRICT]
    clean += ["batch-%d" % n for n in range(1, 11) if n != SLOW_BATCH]
    clean += ["handed-%d" % n for n in range(1, 11) if n != SLOW_HANDED]
    clean += ["batch-%d%s" % (n, w) for n in range(1, 11) for w in "ab"]
    clean += ["handed-%d-fetch" % n for n in range(1, 11)]
    # the tasks fetch ran in for the clean callers (before 3.12 inner tasks, else the callers)
    clean += sorted({RUNS_IN[t] for t in clean if t in RUNS_IN} - set(clean))
    outcomes = {t: "ok" for t in slow}
    # It died of the TimeoutError: timed out, though the module's status says failed.
    outcomes.update({"strict-%d" % SLOW_STRICT: "timed-out", "job-1": "ok", "main": "ok"})
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": outcomes}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        failed = asyncio.run(main(log))
    t = truth([NAME + ".jsonl"])
    if failed != ["strict-%d" % SLOW_STRICT]:
        t["problems"] = ["failed tasks %s, expected %s" % (failed, ["strict-%d" % SLOW_STRICT])]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
