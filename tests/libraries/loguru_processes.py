"""loguru_processes: two worker processes logging into one file, each with tasks of the same names.

usage: /usr/bin/python3 loguru_processes.py OUTDIR
  -> OUTDIR/loguru_processes.jsonl and .truth.json

loguru's documented way for several processes: `serialize=True` and `enqueue=True` on one sink,
the workers forked by multiprocessing. A patcher puts the current asyncio task's name in
`extra["task"]`; each worker's loop names its tasks Task-2..Task-7 by itself, so both processes
have a Task-3. loguru writes `record.process.id` on every record: `--key record.process.id` (the
truth's args, as the README tells such a user) tells them apart (coroner names them
`Task-3 (process.id=PID)`); it is no default, since a job bound with its own id and logged from
two processes is one task.

Each worker runs six jobs: "job started", "downloading", "uploading", "job done", then logs
"worker A exiting" outside any task. Faults:
- *hung* Task-4 of worker B: after "uploading" it awaits an Event nobody sets; its worker stops
  waiting after 0.5 s and exits (os._exit) without cancelling it.
- Clean, outcome ok: every other job of both workers (Task-4 of worker A too: read as one task,
  the two Task-4s would hide the hang behind A's "job done", and every name would have ended
  twice).
"""

import asyncio
import json
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path

from loguru import logger

REQUIRES = ("loguru",)
NAME = "loguru_processes"
HANGS = "Task-4"


def patch(record):
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    if task is not None:
        record["extra"]["task"] = task.get_name()


async def job(worker):
    logger.info("job started")
    logger.info("downloading")
    await asyncio.sleep(random.uniform(0.005, 0.01))
    logger.info("uploading")
    if worker == "B" and asyncio.current_task().get_name() == HANGS:
        await asyncio.Event().wait()
    await asyncio.sleep(random.uniform(0.005, 0.01))
    logger.info("job done")


async def jobs(worker):
    tasks = [asyncio.create_task(job(worker)) for _ in range(6)]
    await asyncio.wait(tasks, timeout=0.5)


def run(worker, start_at):
    time.sleep(max(0.0, start_at - time.time()))  # both loops start together
    asyncio.run(jobs(worker))
    logger.info("worker {} exiting", worker)
    logger.complete()
    os._exit(0)  # B's stuck job stays pending, as in a worker killed with it


def truth(records, pid_b):
    problems = []
    pids = {r["record"]["process"]["id"] for r in records}
    if len(pids) != 2:
        problems.append("expected records of 2 processes, got %d" % len(pids))
    names = {r["record"]["extra"].get("task") for r in records} - {None}
    if names != {"Task-%d" % i for i in range(2, 8)}:
        problems.append("expected Task-2..Task-7 in each process, got %s" % sorted(names))
    clean = ["Task-%d" % i for i in range(2, 8) if "Task-%d" % i != HANGS]
    return {
        "scenario": NAME,
        "files": [NAME + ".jsonl"],
        "args": ["--key", "record.process.id"],
        "expected": [{"task": HANGS, "kinds": ["hung"], "scope": {"process.id": pid_b}}],
        "clean": clean,
        "outcomes": {t: "ok" for t in clean},
        "problems": problems,
    }


if __name__ == "__main__":
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / (NAME + ".jsonl")
    logger.remove()
    logger.configure(patcher=patch)
    logger.add(str(path), serialize=True, mode="w", enqueue=True)
    start_at = time.time() + 0.2
    workers = [multiprocessing.get_context("fork").Process(target=run, args=(w, start_at))
               for w in "AB"]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    logger.complete()
    with open(path) as f:
        records = [json.loads(line) for line in f]
    path.with_suffix(".truth.json").write_text(
        json.dumps(truth(records, workers[1].pid), indent=1) + "\n")
