"""stdlib_format_string: a sync worker logged through stdlib logging's most common JSON recipe.

usage: /usr/bin/python3 stdlib_format_string.py OUTDIR
  -> OUTDIR/stdlib_format_string.jsonl and .truth.json

No JSON library: a logging.Formatter whose format string looks like JSON, with Python 3.12's
`%(taskName)s` (a Filter sets it as 3.12 does on the Python 3.11 of Debian 12: the current asyncio
task's name, else None). So a record logged outside any task says "taskName": "None", as 3.12
writes it, and the times are `%(asctime)s` ("2026-11-27 16:00:14,428", local time). A message is
a sentence and the only stage: coroner reduces it to a template. `log.exception` appends the
traceback as raw lines after the JSON line (skipped and counted as lines that are no JSON).

A record outside any task: "loading config from /etc/sync.toml" before the loop (taskName "None":
no task at all). Read as a task named None, it would sit in that stage, silent for the whole
run, and be reported: "None" is a quiet task of the truth (no finding at all) for that.
Tasks (asyncio task names are the task ids):
- sync-1..sync-12: "sync started", "pulling changes", "applying changes", "sync finished".
- *timeout* sync-8: its pull is `asyncio.wait_for(..., 0.08)` on a pull that takes 0.4 s; it logs
  "pull timed out after 0.08s" at error level and re-raises (the word before "after" and a
  duration ends it timed out).
- *timeout* sync-11: the same, logged "pull timed out (0.08s)".
- *lost-exception* (swallowed) sync-5: writing its cache raises PermissionError, logged with
  `log.exception("could not write cache")`; it goes on to "sync finished".
- *hung* sync-3: after "applying changes" it awaits an Event nobody sets; the scheduler stops
  waiting after 0.6 s and the program ends without cancelling it (os._exit, as a worker killed).
- Clean, outcome ok: every other sync-N; Task-1 (main) logs "scheduler starting" and
  "scheduler done", after retrieving the exceptions of the syncs that ended (asyncio would
  otherwise log "Task exception was never retrieved" for the two timed out, a message of
  several lines that this format string makes into a line that is no JSON).
"""

import asyncio
import json
import logging
import os
import random
import sys
from pathlib import Path

NAME = "stdlib_format_string"
SLOW, SLOW_PARENS, SWALLOWS, HANGS = "sync-8", "sync-11", "sync-5", "sync-3"
log = logging.getLogger("sync")
gate = None


class TaskNameFilter(logging.Filter):
    """Python 3.12's LogRecord.taskName, on any Python: the current task's name, else None."""

    def filter(self, record):
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        record.taskName = task.get_name() if task else None
        return True


async def pull(name):
    await asyncio.sleep(0.4 if name in (SLOW, SLOW_PARENS) else random.uniform(0.004, 0.01))


async def sync(name):
    log.info("sync started")
    log.info("pulling changes")
    try:
        await asyncio.wait_for(pull(name), timeout=0.08)
    except asyncio.TimeoutError:
        log.error("pull timed out (0.08s)" if name == SLOW_PARENS else "pull timed out after 0.08s")
        raise
    log.info("applying changes")
    if name == HANGS:
        await gate.wait()
    await asyncio.sleep(0.003)
    try:
        if name == SWALLOWS:
            raise PermissionError("read-only file system: /data/cache")
    except OSError:
        log.exception("could not write cache")
    log.info("sync finished")


async def main():
    global gate
    gate = asyncio.Event()
    log.info("scheduler starting")
    tasks = [asyncio.create_task(sync("sync-%d" % i), name="sync-%d" % i) for i in range(1, 13)]
    done, _ = await asyncio.wait(tasks, timeout=0.6)
    failed = sum(1 for t in done if t.exception())  # retrieved: asyncio says nothing of them
    log.info("scheduler done")
    return failed


def truth(records):
    problems = []
    outside = [r for r in records if r["taskName"] == "None"]
    if len(outside) != 1:
        problems.append("expected 1 record outside any task, got %d" % len(outside))
    for text in ("pull timed out after 0.08s", "pull timed out (0.08s)"):
        if not any(r["message"] == text for r in records):
            problems.append("no record says %r" % text)
    syncs = ["sync-%d" % i for i in range(1, 13)]
    faulty = (SLOW, SLOW_PARENS, SWALLOWS, HANGS)
    clean = [s for s in syncs if s not in faulty] + ["Task-1"]
    return {
        "scenario": NAME,
        "files": [NAME + ".jsonl"],
        "args": [],
        "expected": [{"task": SLOW, "kinds": ["timeout"]},
                     {"task": SLOW_PARENS, "kinds": ["timeout"]},
                     {"task": SWALLOWS, "kinds": ["lost-exception"]},
                     {"task": HANGS, "kinds": ["hung"]}],
        "clean": clean,
        "quiet": ["None"],  # no task at all: not even in flight
        "outcomes": dict({t: "ok" for t in clean}, **{SLOW: "timed-out", SLOW_PARENS: "timed-out",
                                                      HANGS: "open", SWALLOWS: "ok"}),
        "problems": problems,
    }


if __name__ == "__main__":
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    outdir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(outdir / (NAME + ".jsonl"), "w")
    handler.addFilter(TaskNameFilter())
    handler.setFormatter(logging.Formatter(
        '{"time": "%(asctime)s", "level": "%(levelname)s", "logger": "%(name)s", '
        '"taskName": "%(taskName)s", "message": "%(message)s"}'))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    log.info("loading config from /etc/sync.toml")
    asyncio.new_event_loop().run_until_complete(main())
    handler.flush()
    with open(outdir / (NAME + ".jsonl")) as f:
        records = [json.loads(line) for line in f if line.startswith("{")]
    (outdir / (NAME + ".truth.json")).write_text(json.dumps(truth(records), indent=1) + "\n")
    os._exit(0)  # sync-3 stays pending, as in a worker killed with it
