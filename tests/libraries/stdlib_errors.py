"""stdlib_errors: the program of _errors.py logged with stdlib logging as JSON lines.

usage: /usr/bin/python3 stdlib_errors.py OUTDIR
  -> OUTDIR/stdlib_errors.jsonl and .truth.json (see _errors.py for the tasks)

A logging.Formatter of the program's own writes {"time", "levelname", "task_name", "message",
fields, "exc_text"} (exc_text: Formatter.formatException, the traceback as Python prints it) on
a FileHandler; a logging.Filter sets task_name from asyncio.current_task(). The exception group's
traceback starts "  + Exception Group Traceback (most recent call last):" and pictures its
sub-exceptions after the group's own line: batch's error is the first sub-exception's line.
"""

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timezone

import _errors

MIN_PYTHON = (3, 11)  # asyncio.TaskGroup, except*
NAME = "stdlib_errors"


class JsonFormatter(logging.Formatter):
    def format(self, r):
        d = {"time": datetime.fromtimestamp(r.created, timezone.utc).isoformat(),
             "levelname": r.levelname, "task_name": getattr(r, "task_name", None),
             "message": r.getMessage()}
        d.update(getattr(r, "fields", {}))
        if r.exc_info:
            d["exc_text"] = self.formatException(r.exc_info)
        return json.dumps(d)


class TaskFilter(logging.Filter):
    def filter(self, r):
        try:
            r.task_name = asyncio.current_task().get_name()
        except RuntimeError:
            r.task_name = None
        return True


class Stdlib(_errors.Adapter):
    def __init__(self, path, form):
        self.handler = logging.FileHandler(path, "w")
        self.handler.setFormatter(JsonFormatter())
        self.handler.addFilter(TaskFilter())
        self.log = logging.getLogger("mailer")
        self.log.addHandler(self.handler)
        self.log.setLevel(logging.INFO)

    def task(self, name):
        return contextlib.nullcontext()  # the asyncio task's name is the task

    def info(self, event, **fields):
        self.log.info(event, extra={"fields": fields})

    def warning(self, event):
        self.log.warning(event)

    def exception(self, event):
        self.log.exception(event)

    def close(self):
        self.handler.close()


def check(text):
    if "+ Exception Group Traceback (most recent call last):" not in text:
        return ["batch's exception group traceback is not in the log"]
    return []


if __name__ == "__main__":
    _errors.run(NAME, Stdlib, check_log=check)
