"""loguru_service: the service of _service.py logged with loguru, serialized to JSON.

usage: /usr/bin/python3 loguru_service.py OUTDIR [--batch]
  -> OUTDIR/loguru_service[_batch].jsonl and .truth.json (see _service.py for the faults)

Set up as loguru's documentation shows: logger.remove() (no stderr sink), logger.add(path,
serialize=True); each task runs inside `with logger.contextualize(task_id=NAME)` (NAME is also
its asyncio task name), fields go through logger.bind(...), exceptions through
logger.exception() / logger.opt(exception=True). The stdlib logging records (asyncio's own
messages) reach loguru through the InterceptHandler of loguru's README ("Entirely compatible
with standard logging"), installed with logging.basicConfig(handlers=[...], level=0).

A serialized line is {"text": the formatted line (and the traceback, for an exception),
"record": {"elapsed", "exception": null or {"type", "value", "traceback": true}, "extra":
{"task_id", bound fields}, "file", "function", "level": {"icon", "name", "no"}, "line",
"message", "module", "name", "process", "thread", "time": {"repr", "timestamp"}}}: coroner's
loguru dialect reads the task from record.extra.task_id, the time from record.time.timestamp,
the stage from record.message, the level from record.level.name, the error from
record.exception.
"""

import contextlib
import json
import logging

from loguru import logger

import _service

REQUIRES = ("loguru",)  # read by run_scenarios.py: skipped where the python lacks it
FORMS = ("", "--batch")  # read by run_scenarios.py: the service form, then the batch form
NAME = "loguru_service"


class InterceptHandler(logging.Handler):
    def emit(self, record):
        # Get corresponding Loguru level if it exists
        try:
            level = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno

        # Find caller from where originated the logged message
        frame, depth = logging.currentframe(), 2
        while frame and frame.f_code.co_filename == logging.__file__:
            frame = frame.f_back
            depth += 1

        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


class Loguru(_service.Adapter):
    def __init__(self, path):
        logger.remove()
        self.sink = logger.add(path, serialize=True, mode="w")  # loguru appends by default
        logging.basicConfig(handlers=[InterceptHandler()], level=0)

    def task(self, name, kind, **fields):
        return logger.contextualize(task_id=name)

    def current_id(self):
        return _service.asyncio.current_task().get_name()  # the task_id contextualized

    def stage(self, name):
        logger.info(name)
        return contextlib.nullcontext()

    def note(self, event, **fields):
        logger.bind(**fields).info(event)

    def swallowed(self, event):
        logger.exception(event)

    def timed_out(self, event):
        logger.opt(exception=True).error(event)

    def failed(self, event):
        logger.exception(event)

    def cancelled(self, event):
        logger.warning(event)

    def outside(self, event, **fields):
        logger.bind(**fields).info(event)

    def close(self):
        logger.remove(self.sink)


def check(text):
    """Every record of a task of the service carries its task_id in extra."""
    problems = []
    for n, line in enumerate(text.splitlines(), 1):
        rec = json.loads(line)["record"]
        if rec["module"] == "loguru_service" and rec["function"] != "outside" and "task_id" not in rec["extra"]:
            problems.append("line %d: a record of the service without extra.task_id: %r" % (n, rec["message"]))
    return problems[:3]


if __name__ == "__main__":
    _service.run(NAME, Loguru, check_log=check)
