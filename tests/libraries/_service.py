"""_service: the asyncio service that every program of tests/libraries runs, whatever logs it.

Not a scenario itself (the underscore): each NAME_service.py sets up one logging library, wraps
it in an Adapter (how a task says who it is, how it logs a stage, an error, a note) and calls
run(). Which task gets which fault is fixed here, once for all libraries:

- pipeline starts job-1..job-48, 2 ms apart, and gathers them with return_exceptions=True;
  a healthy job logs fetch (2-4 ms), parse (2 ms), store (2 ms), done.
  job-12, job-31: fetch is asyncio.wait_for(remote(), 0.03) on a remote that takes 0.5 s: the
    job logs "fetch timed out" (error, with the TimeoutError) and re-raises (timeout).
  job-20: parse_amount("n/a") raises ValueError, the job logs "bad record, skipped" with the
    exception and carries on to store and done (lost-exception, swallowed).
  job-25: cancelled by pipeline 6 ms into its 0.3 s fetch; it logs "cancelled" and re-raises
    (clean, outcome cancelled).
  job-38: parse raises ValueError, the job logs "failed" with it and re-raises; pipeline gathers
    it and counts it (clean, outcome failed).
- report (started once pipeline has launched its 48 jobs) starts job-stuck, whose fetch awaits
  an asyncio.Event nobody sets (hung), logs "waiting for job" (awaits job-stuck) and awaits it
  (blocked).
- crawler gathers crawl-1..crawl-8 (download, extract, done).
- producer-1, producer-2 put 10 items each on a queue; consumer-1, consumer-2 consume them
  (a None each ends them).
- swap-a and swap-b each log "waiting for reply" (awaits the other) and await a queue only the
  other fills, after its own get (deadlock).
- fire-and-forget: created with no reference kept, logs "refresh cache", raises KeyError;
  CPython logs "Task exception was never retrieved" through the "asyncio" logger.

Forms: service (the default): pipeline keeps starting jobs (job-49, ...) every 10 ms for 0.5 s
after the hang began, then stops; a task-less "shutdown" record is written outside the loop and
the process ends with os._exit(0), the stuck tasks still pending and never cancelled.
batch (--batch): the log stops about 80 ms after the hang began (a task-less "waiting for
stragglers" record, once the other work is done), the loop then idles 1.5 s with the stuck tasks
(a batch job stuck until killed), and the process ends with os._exit(0); the truth's args hold
`--log-end` = the time of that exit (ISO-8601 UTC).

usage (of every program): python3 NAME.py OUTDIR [--batch]
  -> OUTDIR/NAME.jsonl + OUTDIR/NAME.truth.json, or OUTDIR/NAME_batch.jsonl + NAME_batch.truth.json
"""

import asyncio
import contextlib
import gc
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path


JOBS = 48
TIMEOUTS = (12, 31)
SWALLOWS = 20
CANCELLED = 25
FAILS = 38
HUNG = "job-stuck"
HUNG_ID = 0  # its job_id
BLOCKED = "report"
DEADLOCK = ("swap-a", "swap-b")
NEVER_RETRIEVED = "fire-and-forget"
CRAWLS = 8
PRODUCERS = 2
CONSUMERS = 2
ITEMS = 10
SERVICE_AFTER_HANG = 0.5
BATCH_AFTER_HANG = 0.08
BATCH_STUCK = 1.5


class Adapter:
    """How one library logs. Every method logs in the current asyncio task's name."""

    def task(self, name, kind, **fields):
        """A context manager around a task's whole life: who it is (bind a task id, start an
        action). name is also its asyncio task name."""
        return contextlib.nullcontext()

    def current_id(self):
        """The id coroner knows the current task by, to name it in another task's awaits; None
        when the library has no way to say it."""
        raise NotImplementedError

    def stage(self, name):
        """A context manager around one stage (a record on entry, or a nested action)."""
        raise NotImplementedError

    def note(self, event, **fields):
        raise NotImplementedError

    def done(self):
        self.note("done")

    def swallowed(self, event):
        """Inside `except`: log the exception; the task carries on."""
        raise NotImplementedError

    def timed_out(self, event):
        """Inside `except TimeoutError`: log it as an error; the task then re-raises."""
        raise NotImplementedError

    def failed(self, event):
        """Inside `except`: log the failure; the task then re-raises."""
        raise NotImplementedError

    def cancelled(self, event):
        """Inside `except CancelledError`; the task then re-raises."""
        raise NotImplementedError

    def outside(self, event, **fields):
        """A record of no task, written while no loop runs."""
        raise NotImplementedError

    def close(self):
        """Flush and close the log before os._exit."""

    def finish_truth(self, truth, log_path):
        """Library-specific rewriting of the truth (eliot: names to action ids)."""
        return truth


def parse_amount(text):
    return float(text.replace(",", "."))


class Service:
    def __init__(self, a, batch):
        self.a = a
        self.batch = batch
        self.never = None  # the Event nobody sets
        self.ids = {}  # task name -> coroner id, for awaits
        self.keep = []  # references to the stuck tasks
        self.launched = 0  # jobs pipeline started (more than JOBS in the service form)

    async def remote(self, seconds):
        await asyncio.sleep(seconds)
        return {"ok": True}

    async def job(self, n, name):
        a = self.a
        with a.task(name, "job", job_id=n):
            self.ids[name] = a.current_id()
            try:
                with a.stage("fetch"):
                    if name == HUNG:
                        await self.never.wait()
                    elif n in TIMEOUTS:
                        await asyncio.wait_for(self.remote(0.5), 0.03)
                    elif n == CANCELLED and name == "job-%d" % n:
                        await asyncio.sleep(0.3)  # pipeline cancels it long before
                    else:
                        await asyncio.sleep(0.002 + (n % 3) * 0.001)
                with a.stage("parse"):
                    await asyncio.sleep(0.002)
                    if n == FAILS:
                        parse_amount("12,5 EUR")
                if n == SWALLOWS:
                    try:
                        parse_amount("n/a")
                    except ValueError:
                        a.swallowed("bad record, skipped")
                with a.stage("store"):
                    await asyncio.sleep(0.002)
                a.done()
            except asyncio.TimeoutError:
                a.timed_out("fetch timed out")
                raise
            except asyncio.CancelledError:
                a.cancelled("cancelled")
                raise
            except ValueError:
                a.failed("failed")
                raise

    async def pipeline(self, wave, stop):
        a = self.a
        with a.task("pipeline", "pipeline"):
            a.note("pipeline started", jobs=JOBS)
            tasks = []
            n = 0
            while True:
                n += 1
                if n > JOBS and stop.is_set():
                    break
                name = "job-%d" % n
                tasks.append(asyncio.create_task(self.job(n, name), name=name))
                self.launched = n
                if n == CANCELLED + 3:
                    tasks[CANCELLED - 1].cancel()
                    a.note("cancelling job", job="job-%d" % CANCELLED)
                if n == JOBS:
                    wave.set()
                await asyncio.sleep(0.002 if n < JOBS else 0.010)
            results = await asyncio.gather(*tasks, return_exceptions=True)
            failed = sum(isinstance(r, Exception) for r in results)
            cancelled = sum(isinstance(r, asyncio.CancelledError) for r in results)
            a.note("jobs gathered", count=len(results), failed=failed, cancelled=cancelled)
            a.done()

    async def report(self):
        a = self.a
        with a.task(BLOCKED, "report"):
            a.note("report started")
            job = asyncio.create_task(self.job(HUNG_ID, HUNG), name=HUNG)
            self.keep.append(job)
            await asyncio.sleep(0.001)
            fields = {} if self.ids.get(HUNG) is None else {"awaits": self.ids[HUNG]}
            a.note("waiting for job", **fields)
            await job
            a.done()

    async def crawl(self, i):
        a = self.a
        with a.task("crawl-%d" % i, "page", url="https://example.org/page/%d" % i):
            with a.stage("download"):
                await asyncio.sleep(0.003 + (i % 4) * 0.001)
            with a.stage("extract"):
                await asyncio.sleep(0.001)
            a.done()

    async def crawler(self):
        a = self.a
        with a.task("crawler", "crawl"):
            a.note("crawl started", pages=CRAWLS)
            pages = [asyncio.create_task(self.crawl(i), name="crawl-%d" % i) for i in range(1, CRAWLS + 1)]
            await asyncio.gather(*pages)
            a.done()

    async def producer(self, i, q):
        a = self.a
        with a.task("producer-%d" % i, "produce", producer=i):
            for k in range(ITEMS):
                with a.stage("produce"):
                    await asyncio.sleep(0.001)
                await q.put((i, k))
            await q.put(None)
            a.done()

    async def consumer(self, i, q):
        a = self.a
        with a.task("consumer-%d" % i, "consume", consumer=i):
            while True:
                item = await q.get()
                if item is None:
                    break
                with a.stage("consume"):
                    await asyncio.sleep(0.001)
            a.done()

    async def swap(self, me, other, inbox, outbox):
        a = self.a
        with a.task(me, "swap", side=me[-1]):
            self.ids[me] = a.current_id()
            with a.stage("exchange"):
                await asyncio.sleep(0.002)
            fields = {} if self.ids.get(other) is None else {"awaits": self.ids[other]}
            a.note("waiting for reply", **fields)
            reply = await inbox.get()  # only the other fills it, after its own get
            await outbox.put(reply)
            a.done()

    async def refresh_cache(self):
        a = self.a
        with a.task(NEVER_RETRIEVED, "refresh"):
            with a.stage("refresh cache"):
                await asyncio.sleep(0.003)
            settings = {"region": "eu"}
            return settings["ttl"]  # KeyError, and nobody ever looks at this task

    async def main(self):
        asyncio.current_task().set_name("main")
        self.never = asyncio.Event()
        wave, stop = asyncio.Event(), asyncio.Event()
        q = asyncio.Queue()
        work = [asyncio.create_task(self.pipeline(wave, stop), name="pipeline"),
                asyncio.create_task(self.crawler(), name="crawler")]
        work += [asyncio.create_task(self.producer(i, q), name="producer-%d" % i) for i in range(1, PRODUCERS + 1)]
        work += [asyncio.create_task(self.consumer(i, q), name="consumer-%d" % i) for i in range(1, CONSUMERS + 1)]
        qa, qb = asyncio.Queue(), asyncio.Queue()
        self.keep.append(asyncio.create_task(self.swap(DEADLOCK[0], DEADLOCK[1], qa, qb), name=DEADLOCK[0]))
        self.keep.append(asyncio.create_task(self.swap(DEADLOCK[1], DEADLOCK[0], qb, qa), name=DEADLOCK[1]))
        asyncio.create_task(self.refresh_cache(), name=NEVER_RETRIEVED)  # fire and forget
        await wave.wait()
        self.keep.append(asyncio.create_task(self.report(), name=BLOCKED))
        hang_began = time.monotonic()
        if not self.batch:
            await asyncio.sleep(SERVICE_AFTER_HANG)
        stop.set()
        await asyncio.gather(*work)
        gc.collect()  # in case the fire-and-forget task was kept alive by a cycle
        if self.batch:
            await asyncio.sleep(max(0.0, hang_began + BATCH_AFTER_HANG - time.monotonic()))


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def truth(name, files, args, launched=JOBS):
    """The truth in task names (the asyncio names, which the record libraries log as the task
    id); an adapter's finish_truth() may rewrite it."""
    expected = [
        {"task": HUNG, "kinds": ["hung"]},
        {"task": BLOCKED, "kinds": ["blocked", "hung"], "root": HUNG},
        {"task": DEADLOCK[0], "kinds": ["deadlock"], "cycle": list(DEADLOCK)},
        {"task": DEADLOCK[1], "kinds": ["deadlock"], "cycle": list(DEADLOCK)},
        {"task": NEVER_RETRIEVED, "kinds": ["lost-exception/never-retrieved"]},
        {"task": "job-%d" % SWALLOWS, "kinds": ["lost-exception/swallowed"]},
    ]
    expected += [{"task": "job-%d" % n, "kinds": ["timeout"]} for n in TIMEOUTS]
    for e in expected:
        e["scope"] = {}
    bad = set(TIMEOUTS) | {SWALLOWS}
    clean = ["pipeline", "crawler"] + ["job-%d" % n for n in range(1, launched + 1) if n not in bad]
    clean += ["crawl-%d" % i for i in range(1, CRAWLS + 1)]
    clean += ["producer-%d" % i for i in range(1, PRODUCERS + 1)] + ["consumer-%d" % i for i in range(1, CONSUMERS + 1)]
    outcomes = {"job-%d" % CANCELLED: "cancelled", "job-%d" % FAILS: "failed", "job-1": "ok", "pipeline": "ok"}
    return {"scenario": name, "files": files, "args": args, "expected": expected, "clean": clean,
            "outcomes": outcomes, "problems": []}


def run(name, make_adapter, check_log=None, debug=False):
    """The whole program: parse argv, set up the library (make_adapter(log_path)), run the
    service in its form, write the truth, end with os._exit(0).

    check_log(text) -> [problems]: what the program checks in its own log (asyncio's message)."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    batch = "--batch" in sys.argv[2:]
    out.mkdir(parents=True, exist_ok=True)
    stem = name + ("_batch" if batch else "")
    log_path = out / (stem + ".jsonl")
    a = make_adapter(log_path)
    svc = Service(a, batch)
    loop = asyncio.new_event_loop()
    loop.set_debug(debug)
    asyncio.set_event_loop(loop)
    loop.run_until_complete(svc.main())
    args = []
    if batch:
        a.outside("waiting for stragglers", pending=len(svc.keep))
        loop.run_until_complete(asyncio.sleep(BATCH_STUCK))  # stuck until "killed"
    else:
        a.outside("shutdown", pending=len(svc.keep))
    a.close()
    if batch:
        args = ["--log-end", now_iso()]
    doc = truth(stem, [log_path.name], args, svc.launched)
    text = log_path.read_text()
    if "Task exception was never retrieved" not in text or "name='%s'" % NEVER_RETRIEVED not in text:
        doc["problems"].append("asyncio's 'Task exception was never retrieved' for %s is not in the log" % NEVER_RETRIEVED)
    if check_log is not None:
        doc["problems"] += check_log(text)
    doc = a.finish_truth(doc, log_path)
    (out / (stem + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the stuck tasks are still pending: nothing cancels them, nothing logs it
