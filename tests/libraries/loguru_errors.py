"""loguru_errors: the program of _errors.py logged with loguru, serialized to JSON.

usage: /usr/bin/python3 loguru_errors.py OUTDIR [--job-key]
  -> OUTDIR/loguru_errors[_job-key].jsonl and .truth.json (see _errors.py for the tasks)

Set up as loguru_service.py is: logger.add(path, serialize=True), each task inside
logger.contextualize(task_id=NAME), exceptions through logger.exception(). loguru writes an
exception as record.exception = {"type": "PaymentDeclined", "value": "card declined for mail-5",
"traceback": true}: the type apart from the message, the type first. Of an exception group it
writes the group's type and message only (its traceback, with the sub-exceptions, goes into
"text", loguru's own picture of it): batch's error is the group's line.

--job-key binds the task as `job` instead of `task_id` (logger.contextualize(job=NAME)), a name
coroner does not look for: coroner must stop with exit 2 and name record.extra.job among the
fields it lists (tests/e2e reads the log of this form, kept in tests/fixtures/libraries).
"""

import contextlib
import json

from loguru import logger

import _errors

REQUIRES = ("loguru",)  # read by run_scenarios.py: skipped where the python lacks it
MIN_PYTHON = (3, 11)  # asyncio.TaskGroup, except*
NAME = "loguru_errors"


class Loguru(_errors.Adapter):
    group_error = _errors.GROUP_LINE

    def __init__(self, path, form):
        logger.remove()
        self.key = "job" if form == "job-key" else "task_id"
        self.sink = logger.add(path, serialize=True, mode="w")  # loguru appends by default

    def task(self, name):
        return logger.contextualize(**{self.key: name})

    def info(self, event, **fields):
        logger.bind(**fields).info(event)

    def warning(self, event):
        logger.warning(event)

    def exception(self, event):
        logger.exception(event)

    def close(self):
        logger.remove(self.sink)


def check(text):
    """loguru writes the exception's type apart from its message, as the truth assumes."""
    for line in text.splitlines():
        exc = json.loads(line)["record"]["exception"]
        if exc and exc["type"] == "PaymentDeclined":
            if exc["value"] != "card declined for mail-5":
                return ["loguru wrote PaymentDeclined's value as %r" % exc["value"]]
            return []
    return ["no record with record.exception.type PaymentDeclined"]


if __name__ == "__main__":
    _errors.run(NAME, Loguru, check_log=check)
