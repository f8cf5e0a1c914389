"""shutdown_plain: main returns with tasks still stuck; asyncio.run cancels them. No module.

usage: python3 shutdown_plain.py OUTDIR
       -> OUTDIR/shutdown_plain.jsonl, OUTDIR/shutdown_plain.truth.json

Records: print(json.dumps({"ts", "task", "stage"})) with the task's asyncio name, and every task
catches CancelledError to log {"status": "cancelled"} before re-raising (as many services do in
their shutdown path). Nothing else marks the end: no shutdown record, no exit record.

- request-1..request-80: "waiting for leader" (a lease, 2-4 ms) -> "handling" -> "done". Clean.
- replica-sync, token-refresh: "waiting for leader" and then await an asyncio.Event nobody sets,
  silent for about 0.6 s when main returns; asyncio.run cancels them and they log "cancelled".
  That stage normally takes a few milliseconds: stuck until cancelled. Expected: hung.
- worker-1..worker-4: take a job from a queue every few milliseconds ("processing", 6-9 ms,
  then "processed"); when main returns each is in the middle of a job or just waiting for the
  next one, and is cancelled promptly. Clean.
- main itself logs nothing.
"""

import asyncio
import json
import sys
import time
from pathlib import Path

NAME = "shutdown_plain"
REQUESTS = 80
STUCK = ("replica-sync", "token-refresh")
WORKERS = 4


def log(**fields):
    rec = {"ts": time.time(), "task": asyncio.current_task().get_name()}
    rec.update(fields)
    print(json.dumps(rec))


def logs_cancellation(fn):
    async def wrapper(*args):
        try:
            return await fn(*args)
        except asyncio.CancelledError:
            log(status="cancelled")
            raise
    return wrapper


@logs_cancellation
async def request(n, leader):
    log(stage="waiting for leader")
    await asyncio.sleep(0.002 + (n % 3) * 0.001)
    log(stage="handling")
    await asyncio.sleep(0.002)
    log(status="done")


@logs_cancellation
async def stuck(never_set):
    log(stage="waiting for leader")
    await never_set.wait()  # nobody ever sets it


@logs_cancellation
async def worker(n, q):
    while True:
        job = await q.get()
        log(stage="processing", job=job)
        await asyncio.sleep(0.006 + (job + n) % 4 * 0.001)
        log(stage="processed", job=job)


async def main():
    started = time.monotonic()
    never_set = asyncio.Event()
    keep = [asyncio.create_task(stuck(never_set), name=name) for name in STUCK]
    q = asyncio.Queue()
    keep += [asyncio.create_task(worker(n, q), name="worker-%d" % n) for n in range(1, WORKERS + 1)]
    requests = []
    for n in range(1, REQUESTS + 1):
        requests.append(asyncio.create_task(request(n, never_set), name="request-%d" % n))
        q.put_nowait(n)
        await asyncio.sleep(0.003)
    await asyncio.gather(*requests)
    for job in range(REQUESTS + 1, REQUESTS + 200):  # the workers stay busy to the end
        q.put_nowait(job)
        await asyncio.sleep(0.003)
        if time.monotonic() - started > 0.8:
            break
    # main returns: asyncio.run cancels the stuck tasks and the workers


def truth(files):
    expected = [{"task": t, "scope": {}, "kinds": ["hung"]} for t in STUCK]
    clean = ["worker-%d" % n for n in range(1, WORKERS + 1)] + ["request-%d" % n for n in range(1, REQUESTS + 1)]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    with open(out / (NAME + ".jsonl"), "w") as f:
        sys.stdout = f
        try:
            asyncio.run(main())
        finally:
            sys.stdout = sys.__stdout__
