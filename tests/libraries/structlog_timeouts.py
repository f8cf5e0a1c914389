"""structlog_timeouts: timeouts declared on a task's records, the task's own and its steps'.

usage: /usr/bin/python3 structlog_timeouts.py OUTDIR -> OUTDIR/structlog_timeouts.jsonl, .truth.json

structlog's JSON set-up (merge_contextvars, add_log_level, TimeStamper(fmt="iso"),
format_exc_info, JSONRenderer, WriteLoggerFactory), each task binding `task_id` through
structlog.contextvars. A `timeout` field (seconds) means different things by where it is:

- crawl-1..6 log "crawl started", then four HTTP calls, each as "http request" with the call's
  own `timeout=0.25` (a keyword of that record only) and "http response"; the calls take 50-120
  ms, so each crawl runs well past 0.25 s in all, every call within its timeout: *quiet* (a
  timeout on one step's record is that step's deadline, not the task's).
- crawl-slow: the same, but its third call has a budget of 0.05 s that its client checks only
  once the answer is in (it logs "slow response" as a warning and goes on); the answer takes
  0.15 s: *timeout* (the step ran past the timeout its record declared), outcome ok.
- export-1..3 bind `timeout=0.5` with their task id (every record carries it): the job's own
  deadline. export-1 and export-2 end within it (*quiet*); export-3 runs 0.7 s: *timeout*.
- report-1 and report-2 log `timeout=0.3` on their first record ("report started") only: the
  task's deadline. report-1 ends in 0.1 s (*quiet*); report-2 takes 0.45 s: *timeout*.
- poll-1 and poll-2 ask for an export's status eight times, each call's one record
  "polling export status" with its own `timeout=0.2`, answered in 50 ms then a 50 ms back-off,
  then log "poll finished": *quiet* (the same step logged again with its timeout is the next
  call, not one step of 0.8 s). poll-slow's fourth call takes 0.3 s: *timeout*.
"""

import asyncio
import random

import structlog

import _structlog_json

REQUIRES = ("structlog",)  # read by run_scenarios.py: skipped where the python lacks it
NAME = "structlog_timeouts"
REQUEST_TIMEOUT = 0.25
log = None


def setup(path):
    global log
    out = _structlog_json.configure(path)
    log = structlog.get_logger()
    return out


async def get(url, timeout, takes):
    log.info("http request", url=url, timeout=timeout)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.sleep(takes)
    log.info("http response", url=url, status=200)
    if loop.time() - began > timeout:
        log.warning("slow response", url=url, budget=timeout)


async def crawl(name):
    structlog.contextvars.bind_contextvars(task_id=name)
    log.info("crawl started")
    for page in range(4):
        slow = name == "crawl-slow" and page == 2
        await get("https://%s.example/page/%d" % (name, page), 0.05 if slow else REQUEST_TIMEOUT,
                  0.15 if slow else random.uniform(0.05, 0.12))
    log.info("crawl done", pages=4)


async def export(n):
    structlog.contextvars.bind_contextvars(task_id="export-%d" % n, timeout=0.5)
    log.info("export started")
    for part in range(3):
        await asyncio.sleep(0.23 if n == 3 else random.uniform(0.02, 0.05))
        log.info("part written", part=part)
    log.info("export finished")


async def report(n):
    structlog.contextvars.bind_contextvars(task_id="report-%d" % n)
    log.info("report started", timeout=0.3)
    await asyncio.sleep(0.05 if n == 1 else 0.2)
    log.info("report rendered")
    await asyncio.sleep(0.05 if n == 1 else 0.25)
    log.info("report finished")


async def poll(name):
    structlog.contextvars.bind_contextvars(task_id=name)
    log.info("export requested")
    for attempt in range(8):
        log.info("polling export status", attempt=attempt, timeout=0.2)
        await asyncio.sleep(0.3 if name == "poll-slow" and attempt == 3 else 0.05)
        await asyncio.sleep(0.05)  # "not ready yet": back off
    log.info("poll finished")


async def main():
    tasks = [crawl("crawl-%d" % n) for n in range(1, 7)] + [crawl("crawl-slow")]
    tasks += [export(n) for n in (1, 2, 3)] + [report(n) for n in (1, 2)]
    tasks += [poll(name) for name in ("poll-1", "poll-2", "poll-slow")]
    await asyncio.gather(*(asyncio.create_task(t) for t in tasks))
    structlog.contextvars.clear_contextvars()
    log.info("all done")


def truth():
    timeouts = ["crawl-slow", "export-3", "report-2", "poll-slow"]
    quiet = ["crawl-%d" % n for n in range(1, 7)] + ["export-1", "export-2", "report-1"]
    quiet += ["poll-1", "poll-2"]
    return {
        "scenario": NAME,
        "files": [NAME + ".jsonl"],
        "args": [],
        "expected": [{"task": t, "kinds": ["timeout"]} for t in timeouts],
        "clean": quiet,
        "quiet": quiet,
        "outcomes": {t: "ok" for t in quiet + timeouts},
        "problems": [],
    }


if __name__ == "__main__":
    _structlog_json.run_program(NAME, setup, main, lambda _: truth())
