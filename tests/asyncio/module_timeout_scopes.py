"""module_timeout_scopes: asyncio.timeout() / timeout_at() scopes and retries with backoff,
logged by coroner_asyncio (Python 3.11+).

usage: python3 module_timeout_scopes.py OUTDIR
       -> OUTDIR/module_timeout_scopes.jsonl, OUTDIR/module_timeout_scopes.truth.json

- quote-1..quote-60: `async with asyncio.timeout(0.05)` around `with stage("fetch quote")`, the
  quote comes in 2-5 ms: clean. quote-13 and quote-41: the upstream sleeps 0.3 s, the scope
  expires, TimeoutError propagates out of the task (stage error + failed end): *timeout*.
- poll-1..poll-20: `asyncio.timeout_at(deadline)` with a deadline 80 ms ahead, then
  `cm.reschedule(None)` once the answer is in; clean. poll-7: the deadline passes in the middle of
  the stage: *timeout*.
- sync-1..sync-30: a retry loop, up to 3 attempts, each `with stage("request", attempt=n)` under a
  20 ms `asyncio.timeout`; the task logs `stage("retrying", attempt=n+1)` before the next try
  with a backoff. sync-5 and sync-22 time out on the first attempt and succeed on the second:
  clean (retried at most). sync-17 times out three times and gives up, raising: *timeout*.
- cache-1..cache-3: `with stage("lookup")` around `asyncio.timeout(0.01)` and a slow lookup (the
  stage logs the TimeoutError); `except TimeoutError: pass`, the task goes on with a stale value
  and ends ok: *timeout* or *lost-exception* (it swallowed the timeout). fallback-1..fallback-3
  the same with the stage *inside* the scope (`async with asyncio.timeout(0.01): with
  stage("lookup"):`): the block sees only the cancellation, and the module logs the TimeoutError
  in that stage when the scope turns it into one; expected the same.
- aggregate-1..aggregate-6: `async with asyncio.timeout(0.05): await asyncio.gather(part a, part
  b)`, each part a task (`aggregate-Na`, `-Nb`) running `with stage("fetch part")`;
  aggregate-4's part b is slow: the scope cuts it off in its stage, aggregate-4 catches the
  TimeoutError and serves stale: *timeout* or *lost-exception*. group-1..group-6 the same with
  an `asyncio.TaskGroup` in the scope, group-5's part b slow (the group raises a cancellation
  of its own: the module finds the child cut off in its stage). The parts are clean, the
  cut-off ones too (cancelled by their caller's timeout: its finding, not theirs).
- ticker: three 10 ms `asyncio.timeout()` scopes around `stop.wait()` that expire as meant, the
  TimeoutError caught: no stage was cut off, clean.
main gathers everything with return_exceptions=True (it sees every failure) and returns
normally: clean.
"""

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

MIN_PYTHON = (3, 11)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_timeout_scopes"
SLOW_QUOTES = {13, 41}
SLOW_POLL = 7
RETRY_OK = {5, 22}
RETRY_FAIL = 17
SLOW_AGGREGATE = 4
SLOW_GROUP = 5


async def upstream(seconds):
    await asyncio.sleep(seconds)
    return 42


async def quote(n):
    stage("validate")
    await asyncio.sleep(0.001)
    async with asyncio.timeout(0.05):
        with stage("fetch quote"):
            await upstream(0.3 if n in SLOW_QUOTES else 0.002 + (n % 4) / 1000)
    stage("store")
    await asyncio.sleep(0.001)


async def poll(n):
    loop = asyncio.get_running_loop()
    stage("connect")
    await asyncio.sleep(0.001)
    async with asyncio.timeout_at(loop.time() + 0.08) as cm:
        with stage("await answer"):
            await upstream(0.25 if n == SLOW_POLL else 0.004)
        cm.reschedule(None)  # the answer is in; the rest has no deadline
        stage("decode")
        await asyncio.sleep(0.002)


async def sync(n):
    failures = 2 if n in RETRY_OK else 3 if n == RETRY_FAIL else 0
    for attempt in range(1, 4):
        try:
            async with asyncio.timeout(0.02):
                with stage("request", attempt=attempt):
                    await upstream(0.1 if attempt <= failures else 0.003)
            break
        except TimeoutError:
            if attempt == 3:
                raise
            stage("retrying", attempt=attempt + 1)
            await asyncio.sleep(0.005 * attempt)
    stage("apply")
    await asyncio.sleep(0.001)


async def fallback(n):
    stage("parse key")
    await asyncio.sleep(0.001)
    try:
        async with asyncio.timeout(0.01):
            with stage("lookup"):
                await upstream(0.2)
    except TimeoutError:
        pass  # go on with the stale value
    stage("serve stale")
    await asyncio.sleep(0.001)


async def cache(n):
    stage("parse key")
    await asyncio.sleep(0.001)
    try:
        with stage("lookup"):
            async with asyncio.timeout(0.01):
                await upstream(0.2)
    except TimeoutError:
        pass  # go on with the stale value
    stage("serve stale")
    await asyncio.sleep(0.001)


async def part(which, slow):
    with stage("fetch part", part=which):
        await upstream(0.3 if slow else 0.003)
    stage("part in")


async def aggregate(n):
    stage("plan")
    await asyncio.sleep(0.001)
    me = "aggregate-%d" % n
    parts = [asyncio.create_task(part(w, n == SLOW_AGGREGATE and w == "b"), name=me + w) for w in "ab"]
    try:
        async with asyncio.timeout(0.05):
            await asyncio.gather(*parts)
    except TimeoutError:
        stage("serve stale")
        return
    stage("merge")


async def group(n):
    stage("plan")
    await asyncio.sleep(0.001)
    try:
        async with asyncio.timeout(0.05):
            async with asyncio.TaskGroup() as tg:
                for w in "ab":
                    tg.create_task(part(w, n == SLOW_GROUP and w == "b"), name="group-%d%s" % (n, w))
    except TimeoutError:
        stage("serve stale")
        return
    stage("merge")


async def ticker(stop):
    for _ in range(3):
        stage("tick")
        try:
            async with asyncio.timeout(0.01):
                await stop.wait()
        except TimeoutError:
            pass
    stage("ticked")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    tasks = [asyncio.create_task(ticker(asyncio.Event()), name="ticker")]
    for n in range(1, 61):
        tasks.append(asyncio.create_task(quote(n), name="quote-%d" % n))
        if n <= 20:
            tasks.append(asyncio.create_task(poll(n), name="poll-%d" % n))
        if n <= 30:
            tasks.append(asyncio.create_task(sync(n), name="sync-%d" % n))
        if n <= 6:
            tasks.append(asyncio.create_task(aggregate(n), name="aggregate-%d" % n))
            tasks.append(asyncio.create_task(group(n), name="group-%d" % n))
        if n <= 3:
            tasks.append(asyncio.create_task(cache(n), name="cache-%d" % n))
            tasks.append(asyncio.create_task(fallback(n), name="fallback-%d" % n))
        await asyncio.sleep(0.003)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = sorted(t.get_name() for t, r in zip(tasks, results) if isinstance(r, BaseException))
    return failed


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds):
        return {"task": task, "scope": scope, "kinds": list(kinds)}

    expected = [entry("quote-%d" % n, "timeout") for n in sorted(SLOW_QUOTES)]
    expected += [entry("poll-%d" % SLOW_POLL, "timeout"), entry("sync-%d" % RETRY_FAIL, "timeout")]
    expected += [entry("cache-%d" % n, "timeout", "lost-exception") for n in (1, 2, 3)]
    expected += [entry("fallback-%d" % n, "timeout", "lost-exception") for n in (1, 2, 3)]
    expected += [entry("aggregate-%d" % SLOW_AGGREGATE, "timeout", "lost-exception"),
                 entry("group-%d" % SLOW_GROUP, "timeout", "lost-exception")]
    clean = ["main", "ticker"] + ["aggregate-%d" % n for n in range(1, 7) if n != SLOW_AGGREGATE]
    clean += ["group-%d" % n for n in range(1, 7) if n != SLOW_GROUP]
    clean += ["%s-%d%s" % (g, n, w) for g in ("aggregate", "group") for n in range(1, 7) for w in "ab"]
    clean += ["quote-%d" % n for n in range(1, 61) if n not in SLOW_QUOTES]
    clean += ["poll-%d" % n for n in range(1, 21) if n != SLOW_POLL]
    clean += ["sync-%d" % n for n in range(1, 31) if n != RETRY_FAIL]
    outcomes = {"sync-5": "ok", "sync-22": "ok", "quote-1": "ok", "main": "ok"}
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": outcomes}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    t = truth([NAME + ".jsonl"])
    with open(out / (NAME + ".jsonl"), "w") as log:
        failed = asyncio.run(main(log))
    want = sorted(["quote-%d" % n for n in SLOW_QUOTES] + ["poll-%d" % SLOW_POLL, "sync-%d" % RETRY_FAIL])
    if failed != want:
        t["problems"] = ["failed tasks %s, expected %s" % (failed, want)]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
