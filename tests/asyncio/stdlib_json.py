"""stdlib_json: stdlib logging through a JSON formatter of the program's own, and asyncio's own
"Task exception was never retrieved" / "Task was destroyed but it is pending!" messages.

usage: python3 stdlib_json.py OUTDIR   -> OUTDIR/stdlib_json.jsonl, OUTDIR/stdlib_json.truth.json

Records: {"created", "levelname", "name", "message", "taskName", extra fields, "exc_info"}. The
taskName comes from a logging.Filter asking asyncio.current_task() (Python 3.12+ sets
LogRecord.taskName the same way): for asyncio's own messages that is whichever task was running
when the garbage collector fired, not the task the message is about. The root logger has the
handler, so the "asyncio" logger's records land in the same file.

A "supervisor" task starts jobs job-1..job-70 (create_task(name=...)), then:
- NEVER_RETRIEVED: fire-and-forget jobs (no reference kept, never awaited) that raise
  ValueError after "item fetched"; CPython logs "Task exception was never retrieved" with the
  job's repr, through logging, when the task is freed. job-27 is freed by reference counting
  right after its last step (no task is current then: no taskName). job-9 and job-44 hold a
  reference to their own task in a local, a cycle only the collector breaks: they are freed by
  whichever collection comes first, the supervisor's gc.collect() or an automatic one during
  some other job's step, so their messages carry the taskName of an unrelated task (often
  "supervisor" or another job, clean ones included). Which one varies; the truth does not.
- DESTROYED: jobs awaiting a future nobody resolves ("waiting for upstream"); the supervisor
  returns, the loop is closed without cancelling them, and gc.collect() makes CPython log
  "Task was destroyed but it is pending!" for each.
- SWALLOWED: logger.exception("bad record, skipped") and the job goes on to "job finished".
- TIMEOUT: asyncio.wait_for(timeout=0.02) expires: logger.error("fetch timed out",
  exc_info=True), the job gives up.
- RETRIEVED: jobs log "job failed" with exc_info and re-raise; the supervisor gathers them with
  return_exceptions=True, so the exception is observed: healthy from coroner's point of view.
"""

import asyncio
import gc
import json
import logging
import sys
from pathlib import Path

NAME = "stdlib_json"
COUNT = 70
NEVER_RETRIEVED = {9, 27, 44}
IN_A_CYCLE = {9, 44}  # only the garbage collector frees these
DESTROYED = {5, 33, 58}
SWALLOWED = {14, 39, 63}
TIMEOUT = {21, 50}
RETRIEVED = {17, 48, 66}

log = logging.getLogger("app.jobs")
_STD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}


class TaskNameFilter(logging.Filter):
    def filter(self, record):
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running loop (e.g. after loop.close())
            task = None
        record.taskName = task.get_name() if task is not None else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        doc = {"created": record.created, "levelname": record.levelname, "name": record.name,
               "message": record.getMessage()}
        for k, v in vars(record).items():
            if k not in _STD:
                doc[k] = v
        if record.exc_info:
            doc["exc_info"] = self.formatException(record.exc_info)
        if getattr(record, "taskName", None):
            doc["taskName"] = record.taskName
        return json.dumps(doc, default=str)


def parse_header(raw):
    return int(raw.split(b":")[1])


async def job(n, upstream):
    log.info("job started")
    await asyncio.sleep(0.003 + (n % 5) * 0.001)
    log.info("item fetched", extra={"item": n})
    if n in NEVER_RETRIEVED:
        if n in IN_A_CYCLE:
            me = asyncio.current_task()  # noqa: F841  frame -> task -> exception -> traceback -> frame
        parse_header(b"len:12a")  # raises; nobody ever looks at this task again
    if n in DESTROYED:
        log.info("waiting for upstream")
        await upstream  # nobody resolves it
    if n in SWALLOWED:
        try:
            parse_header(b"len:x")
        except ValueError:
            log.exception("bad record, skipped")
    if n in TIMEOUT:
        try:
            await asyncio.wait_for(asyncio.sleep(0.5), timeout=0.02)
        except asyncio.TimeoutError:
            log.error("fetch timed out", exc_info=True)
            return
    if n in RETRIEVED:
        try:
            parse_header(b"len:?")
        except ValueError:
            log.error("job failed", exc_info=True)
            raise
    await asyncio.sleep(0.002)
    log.info("job finished", extra={"item": n})


async def supervisor():
    asyncio.current_task().set_name("supervisor")
    log.info("supervisor started")
    upstream = asyncio.get_running_loop().create_future()
    kept = []
    for n in range(1, COUNT + 1):
        t = asyncio.create_task(job(n, upstream), name="job-%d" % n)
        if n not in NEVER_RETRIEVED and n not in DESTROYED:
            kept.append(t)  # fire-and-forget and destroyed ones: no reference kept
        await asyncio.sleep(0.002)
    results = await asyncio.gather(*kept, return_exceptions=True)
    log.info("jobs gathered", extra={"failed": sum(isinstance(r, BaseException) for r in results)})
    del t
    gc.collect()  # the never-retrieved messages are logged here, from inside this task
    await asyncio.sleep(0.01)
    log.info("supervisor finished")


def truth(files):
    expected = [{"task": "job-%d" % n, "scope": {}, "kinds": ["destroyed-pending"]} for n in sorted(DESTROYED)]
    expected += [{"task": "job-%d" % n, "scope": {}, "kinds": ["lost-exception"]}
                 for n in sorted(NEVER_RETRIEVED | SWALLOWED)]
    expected += [{"task": "job-%d" % n, "scope": {}, "kinds": ["timeout"]} for n in sorted(TIMEOUT)]
    bad = NEVER_RETRIEVED | DESTROYED | SWALLOWED | TIMEOUT
    clean = ["supervisor"] + ["job-%d" % n for n in range(1, COUNT + 1) if n not in bad]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


def main(out):
    handler = logging.FileHandler(out / (NAME + ".jsonl"), mode="w")
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TaskNameFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(supervisor())
    loop.close()  # the DESTROYED jobs are still pending: not cancelled, just dropped
    asyncio.set_event_loop(None)
    del loop
    gc.collect()  # "Task was destroyed but it is pending!" for each
    log.info("shutdown complete")
    handler.close()


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    main(out)
