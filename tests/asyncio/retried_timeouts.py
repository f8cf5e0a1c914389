"""retried_timeouts: timeouts that a retry handled, and one that nobody handled.

usage: python3 retried_timeouts.py OUTDIR
       -> OUTDIR/retried_timeouts.jsonl, OUTDIR/retried_timeouts.truth.json

structlog's style, written by hand: {"timestamp": ISO-8601 with Z, "level", "event", "task_id",
"attempt", ...}; "event" is the stage. sync-1..sync-80 each run: request (attempt=1) ->
asyncio.wait_for(remote(), timeout=0.03) -> response -> "sync done".

- RETRY_WORD (sync-12, sync-47): the first attempt's remote call sleeps 0.2 s; wait_for expires;
  the task logs "request timed out" (level warning, attempt 1), then "retrying" (attempt 2), a
  second request that answers, "response" and "sync done". Handled: no alarm (information
  `retried` at most), never a swallowed timeout.
- RETRY_ATTEMPT (sync-25, sync-60): the same, without a "retrying" record: the second "request"
  record carries attempt 2 (the attempt field grew). No alarm either.
- SWALLOWED (sync-33, sync-71): "request timed out" and no retry: the task logs "sync done"
  anyway. Expected: timeout, or lost-exception (swallowed).
Clean: every other task, and the retried ones.
"""

import asyncio
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

NAME = "retried_timeouts"
COUNT = 80
RETRY_WORD = {12, 47}
RETRY_ATTEMPT = {25, 60}
SWALLOWED = {33, 71}
LOG = []


def log(n, event, level="info", **fields):
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rec = {"timestamp": stamp, "level": level, "event": event, "task_id": "sync-%d" % n}
    rec.update(fields)
    LOG[0].write(json.dumps(rec) + "\n")


async def remote(n, attempt):
    slow = attempt == 1 and n in RETRY_WORD | RETRY_ATTEMPT | SWALLOWED
    await asyncio.sleep(0.2 if slow else 0.002 + (n % 4) * 0.001)
    return {"rows": n % 7}


async def sync(n):
    attempt = 1
    while True:
        log(n, "request", attempt=attempt)
        try:
            reply = await asyncio.wait_for(remote(n, attempt), timeout=0.03)
            break
        except asyncio.TimeoutError:
            log(n, "request timed out", level="warning", attempt=attempt)
            if n in SWALLOWED:
                reply = None  # the bug: carry on as if the sync worked
                break
            attempt += 1
            if n in RETRY_WORD:
                log(n, "retrying", attempt=attempt)
            await asyncio.sleep(0.005)
    if reply is not None:
        log(n, "response", attempt=attempt, rows=reply["rows"])
        await asyncio.sleep(0.001)
    log(n, "sync done", attempt=attempt)


async def main():
    tasks = []
    for n in range(1, COUNT + 1):
        tasks.append(asyncio.create_task(sync(n)))
        await asyncio.sleep(0.003)
    await asyncio.gather(*tasks)


def truth(files):
    expected = [{"task": "sync-%d" % n, "scope": {}, "kinds": ["timeout", "lost-exception/swallowed"]}
                for n in sorted(SWALLOWED)]
    clean = ["sync-%d" % n for n in range(1, COUNT + 1) if n not in SWALLOWED]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    with open(out / (NAME + ".jsonl"), "w") as f:
        LOG.append(f)
        asyncio.run(main())
