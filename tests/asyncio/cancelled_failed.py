"""cancelled_failed: an app that logs every task's end as "failed" when it is cancelled.

usage: python3 cancelled_failed.py OUTDIR
       -> OUTDIR/cancelled_failed.jsonl, OUTDIR/cancelled_failed.truth.json

Stdlib logging through a JSON formatter of the program's own ({"created", "levelname", "name",
"message", "taskName", "status", "exc_info"}), taskName set by a Filter from
asyncio.current_task(). Every fetch runs inside the decorator many apps write::

    try: ... log.info("fetch ok", extra={"status": "done"})
    except BaseException: log.error("fetch failed", exc_info=True, extra={"status": "failed"}); raise

so a cancellation is logged as status "failed" with a CancelledError traceback (no error_type
field: the type is only in the traceback's last line).

- hedge-1..hedge-12: two mirrors race for the same file (hedge-N/a and hedge-N/b, one 4 ms, the
  other 30 ms); asyncio.wait(FIRST_COMPLETED) takes the first and cancels the loser, which logs
  "fetch failed" + CancelledError a few milliseconds into its "downloading" stage. The loser
  was cancelled promptly: clean (not failed, no alarm). So are the winners and the hedge parents.
- page-1..page-60: plain fetches that end "fetch ok". Clean.
- page-13 and page-44 raise ValueError ("fetch failed" with a ValueError traceback, status
  failed); the crawler gathers them with return_exceptions=True: they failed and said so, and
  their exception was observed. Clean.
- mirror-stuck: logs "downloading" and awaits an asyncio.Event nobody sets; the crawler cancels it
  half a second later, after every other download is over ("fetch failed" + CancelledError).
  "downloading" normally takes a few milliseconds: stuck until cancelled. Expected: hung.
"""

import asyncio
import json
import logging
import sys
from pathlib import Path

NAME = "cancelled_failed"
PAGES = 60
HEDGES = 12
BROKEN = {13, 44}

log = logging.getLogger("crawler")
_STD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}


class TaskNameFilter(logging.Filter):
    def filter(self, record):
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        record.taskName = task.get_name() if task is not None else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        doc = {"created": record.created, "levelname": record.levelname, "name": record.name,
               "message": record.getMessage()}
        if record.taskName:
            doc["taskName"] = record.taskName
        for k, v in vars(record).items():
            if k not in _STD:
                doc[k] = v
        if record.exc_info:
            doc["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def logged(fn):
    """The app's decorator: every fetch logs how it ended."""
    async def wrapper(*args):
        try:
            result = await fn(*args)
        except BaseException:
            log.error("fetch failed", exc_info=True, extra={"status": "failed"})
            raise
        log.info("fetch ok", extra={"status": "done"})
        return result
    return wrapper


@logged
async def download(url, ms, never_set=None):
    log.info("downloading", extra={"url": url})
    await asyncio.sleep(ms / 1000)
    if never_set is not None:
        await never_set.wait()
    if url.endswith(tuple("/page/%d" % n for n in BROKEN)):
        raise ValueError("bad gzip header in %s" % url)
    log.info("parsing", extra={"url": url})
    await asyncio.sleep(0.001)
    return len(url)


async def hedge(n):
    log.info("racing mirrors")
    fast, slow = (4, 30) if n % 2 else (30, 4)
    a = asyncio.create_task(download("https://a.example/file/%d" % n, fast), name="hedge-%d/a" % n)
    b = asyncio.create_task(download("https://b.example/file/%d" % n, slow), name="hedge-%d/b" % n)
    done, pending = await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    log.info("mirror chosen", extra={"status": "done"})


async def crawler():
    asyncio.current_task().set_name("crawler")
    log.info("crawl started")
    stuck = asyncio.create_task(download("https://c.example/big", 2, asyncio.Event()), name="mirror-stuck")
    tasks = []
    for n in range(1, PAGES + 1):
        tasks.append(asyncio.create_task(download("https://w.example/page/%d" % n, 2 + n % 4), name="page-%d" % n))
        if n % 5 == 0:
            tasks.append(asyncio.create_task(hedge(n // 5), name="hedge-%d" % (n // 5)))
        await asyncio.sleep(0.004)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0.5)  # the stuck download stays silent
    stuck.cancel()
    await asyncio.gather(stuck, return_exceptions=True)
    log.info("crawl finished", extra={"status": "done", "failed": sum(isinstance(r, BaseException) for r in results)})


def truth(files):
    clean = ["crawler"] + ["page-%d" % n for n in range(1, PAGES + 1)]
    for n in range(1, HEDGES + 1):
        clean += ["hedge-%d" % n, "hedge-%d/a" % n, "hedge-%d/b" % n]
    return {"scenario": NAME, "files": files, "args": [],
            "expected": [{"task": "mirror-stuck", "scope": {}, "kinds": ["hung"]}], "clean": clean}


def main(out):
    handler = logging.FileHandler(out / (NAME + ".jsonl"), mode="w")
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TaskNameFilter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    asyncio.run(crawler())
    handler.close()


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    main(out)
