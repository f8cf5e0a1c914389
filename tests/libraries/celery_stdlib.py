"""celery_stdlib: asyncio tasks run as a Celery worker runs them, logged in Celery's own words.

usage: /usr/bin/python3 celery_stdlib.py OUTDIR -> OUTDIR/celery_stdlib.jsonl and .truth.json

Celery is not a Debian 12 package, so this program is its own small worker: stdlib logging as
JSON lines, and the worker's and the tracer's messages with the exact formats of Celery 5
(celery/worker/strategy.py, celery/app/trace.py):

    Task %(name)s[%(id)s] received
    Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s
    Task %(name)s[%(id)s] raised unexpected: %(exc)s      (error, with the traceback)
    Task %(name)s[%(id)s] raised expected: %(exc)s        (info: an exception in task.throws)

logged by the loggers `celery.worker.strategy` and `celery.app.trace`, with Celery's
`extra={"data": {...}}`. The JSON formatter takes `task_id` and `task_name` from the request
being executed, as Celery's TaskFormatter takes them from `get_current_task()`.

Tasks (task ids are uuid4s, the truth names them):
- tasks.add x8: received, sleep, succeeded: clean, outcome ok.
- tasks.fetch_feed on a broken feed: raises ValueError, Celery logs "raised unexpected" with the
  traceback: the task failed and said so. Clean (no alarm: nothing was lost, the worker logged
  it as the task's end), outcome failed.
- tasks.charge with a declined card: raises CardDeclined, which the task declares it throws:
  "raised expected", info level, no traceback. Clean, outcome failed.
- tasks.fetch_feed on a slow feed awaits an event nobody sets: *hung* (its last word is
  "received"), outcome open.
- tasks.fetch_feed on two good feeds: clean, outcome ok.
Then the worker logs Celery's "Warm shutdown (MainProcess)" (no task) 0.5 s after the last end.
"""

import asyncio
import contextvars
import json
import logging
import os
import random
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

NAME = "celery_stdlib"
current_request = contextvars.ContextVar("current_request", default=None)


class CardDeclined(Exception):
    pass


class JsonFormatter(logging.Formatter):
    def format(self, r):
        d = {"time": datetime.fromtimestamp(r.created, timezone.utc).isoformat(),
             "levelname": r.levelname, "name": r.name, "message": r.getMessage()}
        request = current_request.get()
        if request is not None:
            d["task_id"], d["task_name"] = request
        if r.exc_info:
            d["exc_info"] = self.formatException(r.exc_info)
        return json.dumps(d)


never = None


async def add(x, y):
    await asyncio.sleep(random.uniform(0.01, 0.04))
    return x + y


async def fetch_feed(url):
    await asyncio.sleep(0.02)
    if "broken" in url:
        raise ValueError("invalid feed XML from %s" % url)
    if "slow" in url:
        await never.wait()
    return 1


async def charge(card):
    await asyncio.sleep(0.015)
    if card.endswith("0002"):
        raise CardDeclined("card %s declined" % card)
    return "ok"


THROWS = {"tasks.charge": (CardDeclined,)}  # the task's `throws`: expected failures


async def execute(name, fn, *args):
    """One request, as Celery's strategy and tracer log it."""
    tid = str(uuid.uuid4())
    current_request.set((tid, name))
    strategy = logging.getLogger("celery.worker.strategy")
    trace = logging.getLogger("celery.app.trace")
    context = {"id": tid, "name": name}
    strategy.info("Task %(name)s[%(id)s] received", context, extra={"data": context})
    t0 = time.monotonic()
    try:
        value = await fn(*args)
    except Exception as exc:
        expected = isinstance(exc, THROWS.get(name, ()))
        context = {"id": tid, "name": name, "exc": repr(exc),
                   "description": "raised expected" if expected else "raised unexpected"}
        trace.log(logging.INFO if expected else logging.ERROR,
                  "Task %(name)s[%(id)s] %(description)s: %(exc)s", context,
                  exc_info=None if expected else True, extra={"data": context})
        return tid
    context = {"id": tid, "name": name, "return_value": repr(value),
               "runtime": time.monotonic() - t0}
    trace.info("Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s", context,
               extra={"data": context})
    return tid


async def main():
    global never
    never = asyncio.Event()
    jobs = {"add-%d" % i: execute("tasks.add", add, i, i) for i in range(8)}
    feeds = {"good-a": "https://a.example/rss", "broken": "https://broken.example/rss",
             "slow": "https://slow.example/rss", "good-b": "https://b.example/rss"}
    jobs.update({key: execute("tasks.fetch_feed", fetch_feed, url) for key, url in feeds.items()})
    jobs["declined"] = execute("tasks.charge", charge, "4000-0000-0000-0002")
    jobs["charged"] = execute("tasks.charge", charge, "4242-4242-4242-4242")
    # Each request runs in a task of its own (its context copied), as a worker's pool runs them.
    tasks = {key: asyncio.create_task(coro) for key, coro in jobs.items()}
    await asyncio.wait([t for k, t in tasks.items() if k != "slow"])
    await asyncio.sleep(0.5)  # the slow feed stays silent
    current_request.set(None)
    logging.getLogger("celery.worker").warning("worker: Warm shutdown (MainProcess)")
    return {key: t.result() for key, t in tasks.items() if t.done()}


def truth(ids, slow_id):
    ok = [ids[k] for k in ids if k.startswith("add-") or k in ("good-a", "good-b", "charged")]
    failed = [ids["broken"], ids["declined"]]
    return {
        "scenario": NAME,
        "files": [NAME + ".jsonl"],
        "args": [],
        "expected": [{"task": slow_id, "kinds": ["hung"]}],
        "clean": ok + failed,
        "outcomes": dict({t: "ok" for t in ok}, **{t: "failed" for t in failed},
                         **{slow_id: "open"}),
        "problems": [],
    }


if __name__ == "__main__":
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    outdir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(outdir / (NAME + ".jsonl"), "w")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    ids = asyncio.new_event_loop().run_until_complete(main())
    handler.flush()
    # The slow request's id: the one "received" that never ended.
    slow_id = None
    with open(outdir / (NAME + ".jsonl")) as log:
        records = [json.loads(line) for line in log]
    received = {r["task_id"] for r in records if r["message"].endswith("] received")}
    slow = received - set(ids.values())
    problems = [] if len(slow) == 1 else ["expected one request without an end, got %d" % len(slow)]
    if not any("raised unexpected: ValueError(" in r["message"] and "exc_info" in r for r in records):
        problems.append("no 'raised unexpected' line with its traceback")
    t = truth(ids, next(iter(slow)) if slow else "?")
    t["problems"] = problems
    (outdir / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
    os._exit(0)  # the slow request stays pending, as a worker killed with it
