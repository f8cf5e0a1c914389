"""stdlib_stderr_mix: a worker whose JSON handler is on its own logger, run with `2>&1`.

usage: /usr/bin/python3 stdlib_stderr_mix.py OUTDIR
  -> OUTDIR/stdlib_stderr_mix.jsonl and .truth.json

The common set-up that leaves asyncio's own messages out of the JSON: a python-json-logger-like
formatter of the program's own on the "jobs" logger only, nothing on the root logger. asyncio's
"Task exception was never retrieved" and "Task was destroyed but it is pending!" then go through
logging's last resort to stderr as text, several lines each, with a traceback; the program runs
under a supervisor that writes its stdout and stderr to one file (here: this program starting
itself with stderr=STDOUT), so the log is JSON lines with text between them.

Tasks:
- job-1..job-10: "job started", "fetching", "job done" (2-4 ms apart). job-4's fetch fails once;
  it prints the traceback to stderr (traceback.print_exc) and fetches again: text lines between
  its records, no finding.
- *lost-exception* (never retrieved) prefetch-cache: started and dropped; it raises
  TimeoutError(110, 'Connection timed out') and is collected with nobody asking, so asyncio writes
  the message naming it on stderr: "future: <Task finished name='prefetch-cache' ...>".
- *destroyed-pending* cache-warmer: started and dropped while it awaits a future nobody holds; the
  garbage collector destroys it pending, and asyncio says so on stderr ("task: <Task pending
  name='cache-warmer' ...>").
- Clean, outcome ok: every job-N. main logs nothing.
"""

import asyncio
import gc
import json
import logging
import os
import random
import subprocess
import sys
import time
import traceback
from pathlib import Path

NAME = "stdlib_stderr_mix"
NEVER_RETRIEVED, DESTROYED, RETRIES = "prefetch-cache", "cache-warmer", "job-4"
log = logging.getLogger("jobs")


class JsonFormatter(logging.Formatter):
    def format(self, r):
        return json.dumps({"ts": round(r.created, 6), "level": r.levelname,
                           "task_id": asyncio.current_task().get_name(), "event": r.getMessage()})


async def prefetch():
    await asyncio.sleep(0.001)
    raise TimeoutError(110, "Connection timed out")


async def warm():
    await asyncio.get_running_loop().create_future()  # nobody holds it: it never completes


async def job(name):
    log.info("job started")
    log.info("fetching")
    await asyncio.sleep(random.uniform(0.002, 0.004))
    if name == RETRIES:
        try:
            raise ConnectionResetError("peer reset the connection")
        except ConnectionResetError:
            traceback.print_exc()
        await asyncio.sleep(0.002)
    log.info("job done")


async def main():
    asyncio.create_task(prefetch(), name=NEVER_RETRIEVED)
    asyncio.create_task(warm(), name=DESTROYED)
    await asyncio.sleep(0.01)
    gc.collect()  # both dropped tasks go now: asyncio writes its two messages
    await asyncio.gather(*(asyncio.create_task(job("job-%d" % i), name="job-%d" % i)
                           for i in range(1, 11)))


def worker():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    asyncio.run(main())


def truth(text):
    problems = []
    for needed in ("future: <Task finished name='%s'" % NEVER_RETRIEVED,
                   "task: <Task pending name='%s'" % DESTROYED, "Traceback (most recent call last)"):
        if needed not in text:
            problems.append("the log has no %r" % needed)
    clean = ["job-%d" % i for i in range(1, 11)]
    return {
        "scenario": NAME,
        "files": [NAME + ".jsonl"],
        "args": [],
        "expected": [{"task": NEVER_RETRIEVED, "kinds": ["lost-exception"]},
                     {"task": DESTROYED, "kinds": ["destroyed-pending"]}],
        "clean": clean,
        "outcomes": {t: "ok" for t in clean},
        "problems": problems,
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker()
        sys.exit(0)
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / (NAME + ".jsonl")
    with open(path, "w") as out:  # the supervisor's `> file 2>&1`
        subprocess.run([sys.executable, "-u", __file__, "--worker"], stdout=out,
                       stderr=subprocess.STDOUT, check=True)
    (outdir / (NAME + ".truth.json")).write_text(json.dumps(truth(path.read_text()), indent=1) + "\n")
