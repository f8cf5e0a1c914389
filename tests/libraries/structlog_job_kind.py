"""structlog_job_kind: each job binds its id and the kind of work as `task`.

usage: /usr/bin/python3 structlog_job_kind.py OUTDIR -> OUTDIR/structlog_job_kind.jsonl, .truth.json

structlog's JSON set-up (merge_contextvars, add_log_level, TimeStamper(fmt="iso"),
format_exc_info, JSONRenderer, WriteLoggerFactory). An image worker runs jobs 1000..1011, each in
an asyncio task that binds `job_id=<n>` and `task=<the function's name>` ("resize" or
"thumbnail") through structlog.contextvars, so every record of a job carries both: `task` names
the kind of work, one value on the records of many jobs, and `job_id` names the job.

- Job 1004 (a resize) logs "waiting for storage lease" and awaits a lease nobody grants:
  *hung*, outcome open.
- Job 1009 (a thumbnail) fails on a corrupt image: logs "job failed" with the exception and
  returns (the worker handled it): clean, outcome failed.
- Every other job logs "job started", its step, "job finished": *quiet*, outcome ok.

The worker waits 0.6 s, then logs "worker stopping" (no job bound) and leaves with os._exit(0):
nothing logs the stuck job's end.
"""

import asyncio
import random

import structlog

import _structlog_json

REQUIRES = ("structlog",)  # read by run_scenarios.py: skipped where the python lacks it
NAME = "structlog_job_kind"
STUCK, CORRUPT = 1004, 1009
never = None
log = None


def setup(path):
    global log
    out = _structlog_json.configure(path)
    log = structlog.get_logger()
    return out


async def resize(job_id):
    structlog.contextvars.bind_contextvars(job_id=job_id, task="resize")
    log.info("job started")
    await asyncio.sleep(random.uniform(0.02, 0.05))
    if job_id == STUCK:
        log.info("waiting for storage lease")
        await never.wait()
    log.info("image resized", width=640)
    log.info("job finished")


async def thumbnail(job_id):
    structlog.contextvars.bind_contextvars(job_id=job_id, task="thumbnail")
    log.info("job started")
    await asyncio.sleep(random.uniform(0.02, 0.05))
    try:
        if job_id == CORRUPT:
            raise ValueError("corrupt JPEG header in upload %d" % job_id)
        log.info("thumbnail written", size=128)
    except ValueError:
        log.error("job failed", exc_info=True)
        return
    log.info("job finished")


async def main():
    global never
    never = asyncio.Event()
    jobs = [asyncio.create_task((resize if n % 2 == 0 else thumbnail)(n)) for n in range(1000, 1012)]
    await asyncio.wait(jobs, timeout=0.6)
    structlog.contextvars.clear_contextvars()
    log.info("worker stopping")


def truth():
    jobs = [str(n) for n in range(1000, 1012)]
    quiet = [j for j in jobs if j not in (str(STUCK), str(CORRUPT))]
    return {
        "scenario": NAME,
        "files": [NAME + ".jsonl"],
        "args": [],
        "expected": [{"task": str(STUCK), "kinds": ["hung"]}],
        "clean": quiet + [str(CORRUPT)],
        "quiet": quiet,
        "outcomes": dict({j: "ok" for j in quiet}, **{str(CORRUPT): "failed", str(STUCK): "open"}),
        "problems": [],
    }


if __name__ == "__main__":
    _structlog_json.run_program(NAME, setup, main, lambda _: truth())
