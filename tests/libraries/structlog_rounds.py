"""structlog_rounds: tasks that log an end and then work again, with structlog's JSON.

usage: /usr/bin/python3 structlog_rounds.py OUTDIR   -> OUTDIR/structlog_rounds.jsonl, .truth.json

structlog as its README sets it up for JSON (merge_contextvars, add_log_level, TimeStamper(fmt=
"iso"), format_exc_info, JSONRenderer) writing to the log file; each task binds its id as
`task_id` (structlog.contextvars). Three ways real code logs an end word before its task is done:

- Steps: transcode-1..8 log "job started", then for each step "<step> started" / "<step>
  finished", then "job finished". transcode-4 *hangs* in "drm started" (a licence server that
  never answers). The other seven are *quiet*: no finding at all (a step's "started" is no
  restart of the job, "upload finished" then "job finished" is no double end).
- Retries under one id: a supervisor runs job-1..8 and runs a job that failed again under the
  same id, with its `attempt` bound (1, 2, 3). job-2 fails once and job-5 twice, then both end
  ok (retried: information only, outcome ok). job-7 fails once; its second try *hangs* on
  "waiting for quota". The others are quiet.
- Rounds: worker-1..3 take jobs from a queue and log under their own name ("job received",
  "job complete" for each job). worker-1 *hangs* on "acquiring export lock" in its third job;
  worker-2 and worker-3 finish every job and then wait for more (their last record is "job
  complete"): quiet.

Then main waits, stays quiet 0.6 s while the stuck tasks stay silent, logs "shutting down"
(no task id) and leaves with os._exit(0): nothing logs the stuck tasks' cancellation.
"""

import asyncio
import random

import structlog

import _structlog_json

REQUIRES = ("structlog",)  # read by run_scenarios.py: skipped where the python lacks it
NAME = "structlog_rounds"
STEPS = ("download", "transcode", "drm", "thumbnail", "upload")
FLAKY = {2: 1, 5: 2}  # job -> how many of its tries fail
never = None  # an asyncio.Event nobody sets, made in main


def setup(path):
    out = _structlog_json.configure(path)
    return out


async def transcode(n):
    structlog.contextvars.bind_contextvars(task_id="transcode-%d" % n)
    log = structlog.get_logger()
    log.info("job started")
    for step in STEPS:
        log.info("%s started" % step)
        await asyncio.sleep(random.uniform(0.005, 0.02))
        if step == "drm" and n == 4:
            await never.wait()  # the licence server never answers
        log.info("%s finished" % step)
    log.info("job finished")


async def run_job(n, attempt):
    structlog.contextvars.bind_contextvars(task_id="job-%d" % n, attempt=attempt)
    log = structlog.get_logger()
    log.info("job started")
    await asyncio.sleep(random.uniform(0.005, 0.02))
    if n == 7 and attempt == 2:
        log.info("waiting for quota")
        await never.wait()
    try:
        if attempt <= FLAKY.get(n, 0) or (n == 7 and attempt == 1):
            raise ConnectionError("upstream 502 on attempt %d" % attempt)
    except ConnectionError:
        log.error("job failed", exc_info=True)
        raise
    log.info("job done")


async def supervise(n):
    for attempt in range(1, 4):
        try:
            # A task of its own for each try, as a supervisor runs them: each binds its fields.
            return await asyncio.create_task(run_job(n, attempt))
        except ConnectionError:
            await asyncio.sleep(0.01)


async def worker(name, queue, done):
    structlog.contextvars.bind_contextvars(task_id=name)
    log = structlog.get_logger()
    rounds = 0
    while True:
        item = await queue.get()
        rounds += 1
        log.info("job received", item=item)
        await asyncio.sleep(random.uniform(0.005, 0.015))
        if name == "worker-1" and rounds == 3:
            log.info("acquiring export lock")
            await never.wait()
        log.info("job complete", item=item)
        done.append(item)
        queue.task_done()


async def main():
    global never
    never = asyncio.Event()
    queue, done = asyncio.Queue(), []
    workers = [asyncio.create_task(worker("worker-%d" % i, queue, done)) for i in (1, 2, 3)]
    for item in range(12):
        queue.put_nowait(item)
    tasks = [asyncio.create_task(transcode(n)) for n in range(1, 9)]
    tasks += [asyncio.create_task(supervise(n)) for n in range(1, 9)]
    await asyncio.wait(tasks, timeout=0.5)
    while len(done) < 11:  # every job but worker-1's stuck one
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.6)  # the stuck ones stay silent
    structlog.contextvars.clear_contextvars()
    structlog.get_logger().info("shutting down")
    problems = [] if len(done) == 11 and not workers[0].done() else ["the workers did not run as planned"]
    return problems


def truth(problems):
    hung = ["transcode-4", "job-7", "worker-1"]
    quiet = ["transcode-%d" % n for n in range(1, 9) if n != 4]
    quiet += ["job-%d" % n for n in (1, 3, 4, 6, 8)] + ["worker-2", "worker-3"]
    retried = ["job-2", "job-5"]
    return {
        "scenario": NAME,
        "files": [NAME + ".jsonl"],
        "args": [],
        "expected": [{"task": t, "kinds": ["hung"]} for t in hung]
        + [{"task": t, "kinds": ["retried"]} for t in retried],
        "clean": quiet + retried,
        "quiet": quiet,
        "outcomes": dict({t: "ok" for t in quiet + retried}, **{t: "open" for t in hung}),
        "problems": problems,
    }


if __name__ == "__main__":
    _structlog_json.run_program(NAME, setup, main, truth)
