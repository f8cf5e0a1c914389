"""_errors: a small asyncio program whose tasks log exceptions, for each library that logs them.

Not a scenario itself (the underscore): each NAME_errors.py sets up one logging library, wraps it
in an Adapter (how a task says who it is, how it logs a record, an exception) and calls run().
What coroner must read of each exception is what the library writes of it: its type and its
message, of the exception raised last, as Python's own line says it ("PaymentDeclined: card
declined for mail-5"). The tasks:

- mail-1..mail-8 each log "sending batch", await a wrapped remote call and log "batch sent".
  mail-3: the call raises TimeoutError("no reply from smtp-3.example.com within 5s"); the task
    logs "upstream call failed" with the exception (error level) and re-raises (timeout: only its
    type says so, and the library writes the type apart from the message).
  mail-5: the call raises PaymentDeclined("card declined for mail-5"), a class of the program;
    the task logs "skipping bad address" with the exception and carries on (lost-exception,
    swallowed), its error "PaymentDeclined: card declined for mail-5".
  mail-7: the call raises LookupFailed("no route to mail-7") from a KeyError (a chain); logged and
    swallowed as mail-5: its error is the exception raised last, LookupFailed, not the KeyError.
  main gathers them with return_exceptions=True (mail-3's failure is observed).
- batch runs fetch-1..fetch-4 in an asyncio.TaskGroup (Python 3.11+); fetch-3 raises
  ConnectionResetError("peer reset the connection") in its second chunk without logging it, the
  group cancels the others (each logs "fetch cancelled" and re-raises), and batch logs "batch
  failed" with the ExceptionGroup (in `except* ConnectionResetError`) and re-raises; main awaits
  it and logs "batch reported". Where the library writes the whole traceback, batch's error is
  its first sub-exception's line, "ConnectionResetError: peer reset the connection"; where it
  writes only the group's type and message (loguru, dict_tracebacks), the group's
  ("ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)"): the adapter says which.

usage (of every program): python3 NAME.py OUTDIR [FORM]
  -> OUTDIR/NAME[_FORM].jsonl + OUTDIR/NAME[_FORM].truth.json
"""

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path

GROUP_LINE = "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)"
SUB_LINE = "ConnectionResetError: peer reset the connection"


class PaymentDeclined(Exception):
    pass


class LookupFailed(Exception):
    pass


class Adapter:
    # What coroner can read of batch's ExceptionGroup from this library's records.
    group_error = SUB_LINE

    def task(self, name):
        """A context manager around a task's whole life: bind its task id."""
        return contextlib.nullcontext()

    def info(self, event, **fields):
        raise NotImplementedError

    def warning(self, event):
        raise NotImplementedError

    def exception(self, event):
        """Inside `except`: the event at error level with the exception being handled."""
        raise NotImplementedError

    def close(self):
        """Flush and close the log."""


ROUTES = {"mail-1": "smtp-1"}


async def remote_call(n):
    await asyncio.sleep(0.002 + 0.001 * n)
    if n == 3:
        raise TimeoutError("no reply from smtp-3.example.com within 5s")
    if n == 5:
        raise PaymentDeclined("card declined for mail-5")
    if n == 7:
        try:
            return ROUTES["mail-7"]
        except KeyError as e:
            raise LookupFailed("no route to mail-7") from e


async def send(a, n):
    with a.task("mail-%d" % n):
        a.info("sending batch")
        try:
            await remote_call(n)
        except TimeoutError:
            a.exception("upstream call failed")
            raise
        except (PaymentDeclined, LookupFailed):
            a.exception("skipping bad address")
        a.info("batch sent")


async def fetch(a, n):
    with a.task("fetch-%d" % n):
        a.info("fetch started")
        try:
            for chunk in range(4):
                await asyncio.sleep(0.01)
                a.info("chunk stored", chunk=chunk)
                if n == 3 and chunk == 1:
                    raise ConnectionResetError("peer reset the connection")
            a.info("fetch finished")
        except asyncio.CancelledError:
            a.warning("fetch cancelled")
            raise


async def batch(a):
    with a.task("batch"):
        a.info("batch started")
        try:
            async with asyncio.TaskGroup() as tg:
                for n in range(1, 5):
                    tg.create_task(fetch(a, n), name="fetch-%d" % n)
        except* ConnectionResetError:
            a.exception("batch failed")
            raise


async def main(a):
    mails = [asyncio.create_task(send(a, n), name="mail-%d" % n) for n in range(1, 9)]
    group = asyncio.create_task(batch(a), name="batch")
    results = await asyncio.gather(*mails, return_exceptions=True)
    a.info("mails gathered", failed=sum(isinstance(r, Exception) for r in results))
    try:
        await group
    except ExceptionGroup:
        a.info("batch reported")


def truth(stem, adapter):
    return {
        "scenario": stem, "files": [stem + ".jsonl"], "args": [],
        "expected": [
            {"task": "mail-3", "kinds": ["timeout"], "scope": {}},
            {"task": "mail-5", "kinds": ["lost-exception/swallowed"], "scope": {}},
            {"task": "mail-7", "kinds": ["lost-exception/swallowed"], "scope": {}},
        ],
        # fetch-3 dies without a word: whatever coroner makes of its silence is honest.
        "clean": ["mail-1", "mail-2", "mail-4", "mail-6", "mail-8", "batch",
                  "fetch-1", "fetch-2", "fetch-4"],
        "outcomes": {"mail-1": "ok", "batch": "failed", "fetch-1": "cancelled",
                     "fetch-2": "cancelled", "fetch-4": "cancelled"},
        "errors": {
            "mail-3": "TimeoutError: no reply from smtp-3.example.com within 5s",
            "mail-5": "PaymentDeclined: card declined for mail-5",
            "mail-7": "LookupFailed: no route to mail-7",
            "batch": adapter.group_error,
        },
        "problems": [],
    }


def run(name, make_adapter, check_log=None):
    """The whole program: parse argv, set up the library (make_adapter(log_path, form)), run,
    write the truth. check_log(text) -> [problems]: what the program checks in its own log."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    form = sys.argv[2].lstrip("-") if len(sys.argv) > 2 else ""
    out.mkdir(parents=True, exist_ok=True)
    stem = name + ("_" + form if form else "")
    log_path = out / (stem + ".jsonl")
    a = make_adapter(log_path, form)
    asyncio.run(main(a))
    a.close()
    doc = truth(stem, a)
    text = log_path.read_text()
    for word in ("no reply from smtp-3", "card declined for mail-5", "no route to mail-7"):
        if word not in text:
            doc["problems"].append("%r is not in the log" % word)
    if check_log is not None:
        doc["problems"] += check_log(text)
    (out / (stem + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")
