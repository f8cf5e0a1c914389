"""seed_print: the seed pipeline's pipeline and logging style, with faults injected.

usage: python3 seed_print.py OUTDIR   -> OUTDIR/seed_print.jsonl, OUTDIR/seed_print.truth.json

Each record is print(json.dumps({"timestamp": time.time(), "task_id": n, "stage": s})) (stdout
redirected to the log file). Tasks 3001..3090 run process_item: validate -> transform (which
awaits fetch_data through asyncio.wait_for(timeout=0.03)) -> save_to_db. No status field and no
word for "ended ok": save_to_db is the last record of a healthy task.

Faults (fixed task ids, so the truth is deterministic):
- HUNG: transform awaits an asyncio.Event nobody sets. main stops waiting after the healthy
  tasks are done, prints a shutdown record and cancels what is left (as asyncio.run would);
  process_item logs nothing on cancellation, exactly like the seed: their last record is
  transform, hundreds of milliseconds before the end of the log.
- TIMEOUT: fetch_data sleeps 0.2 s > the 0.03 s wait_for timeout: "fetch_data timed out" error
  record, and the task gives up.
- SWALLOWED: validate raises ValueError, the task logs it (level error + exception) and carries
  on to transform and save_to_db.
- LATE: three healthy tasks started 3 ms before the shutdown record (in flight, not hung).
"""

import asyncio
import json
import sys
import time
from pathlib import Path

NAME = "seed_print"
FIRST, COUNT = 3001, 90
HUNG = {3004, 3017, 3029, 3052}
TIMEOUT = {3008, 3036, 3061}
SWALLOWED = {3011, 3023, 3045, 3070, 3083}
LATE = {3091, 3092, 3093}


def log_task(stage, task_id, **extra):
    record = {"timestamp": time.time(), "task_id": task_id, "stage": stage}
    record.update(extra)
    print(json.dumps(record))


async def fetch_data(task_id):
    await asyncio.sleep(0.2 if task_id in TIMEOUT else 0.002 + (task_id % 3) * 0.001)
    return {"id": task_id}


async def process_item(task_id, never_set):
    log_task("validate", task_id)
    await asyncio.sleep(0.002 + (task_id % 4) * 0.001)
    if task_id in SWALLOWED:
        try:
            float("n/a")
        except ValueError as e:  # the seed's bug: log and carry on
            log_task("validate", task_id, level="error", exception="%s: %s" % (type(e).__name__, e))
    log_task("transform", task_id)
    if task_id in HUNG:
        await never_set.wait()  # nobody ever sets it
    try:
        await asyncio.wait_for(fetch_data(task_id), timeout=0.03)
    except asyncio.TimeoutError:
        log_task("fetch_data timed out", task_id, level="error")
        return
    log_task("save_to_db", task_id)
    await asyncio.sleep(0.002)


async def main():
    never_set = asyncio.Event()
    tasks = []
    for n in range(FIRST, FIRST + COUNT):
        tasks.append(asyncio.create_task(process_item(n, never_set)))
        await asyncio.sleep(0.003)
    healthy = [t for n, t in zip(range(FIRST, FIRST + COUNT), tasks) if n not in HUNG]
    await asyncio.wait(healthy, timeout=1.5)
    await asyncio.sleep(0.1)  # the hung ones stay silent
    late = [asyncio.create_task(process_item(n, never_set)) for n in sorted(LATE)]
    await asyncio.sleep(0.003)
    left = [t for t in tasks + late if not t.done()]
    print(json.dumps({"timestamp": time.time(), "stage": "shutdown", "pending": len(left)}))
    # Cancel what is left (as asyncio.run would): process_item logs nothing for that, and no
    # step already woken in this loop iteration gets to print after the shutdown record.
    for t in left:
        t.cancel()
    await asyncio.gather(*left, return_exceptions=True)


def truth(files):
    expected = []
    for n in sorted(HUNG | TIMEOUT | SWALLOWED):
        kinds = ["hung"] if n in HUNG else ["timeout"] if n in TIMEOUT else ["lost-exception"]
        expected.append({"task": str(n), "scope": {}, "kinds": kinds})
    bad = HUNG | TIMEOUT | SWALLOWED
    clean = [str(n) for n in list(range(FIRST, FIRST + COUNT)) + sorted(LATE) if n not in bad]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    with open(out / (NAME + ".jsonl"), "w") as log:
        sys.stdout = log
        try:
            asyncio.run(main())
        finally:
            sys.stdout = sys.__stdout__
