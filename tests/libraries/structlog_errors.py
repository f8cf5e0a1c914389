"""structlog_errors: the program of _errors.py logged with structlog 22, rendered as JSON.

usage: /usr/bin/python3 structlog_errors.py OUTDIR [--format-exc-info]
  -> OUTDIR/structlog_errors[_format-exc-info].jsonl and .truth.json (see _errors.py)

Set up as structlog's documentation recommends for JSON logs in production ("Logging Best
Practices", "Exceptions"): merge_contextvars, add_log_level, TimeStamper(fmt="iso"),
dict_tracebacks, JSONRenderer, through WriteLoggerFactory to the file; each task binds its id
with bound_contextvars(task_id=NAME). dict_tracebacks (structlog 22.1+) writes an exception as a
list of objects, the exception raised last first, then its cause or context:
"exception": [{"exc_type": "LookupFailed", "exc_value": "no route to mail-7", "syntax_error":
null, "is_cause": false, "frames": [...]}, {"exc_type": "KeyError", ...}]. structlog 22.3 writes
of an exception group only the group's type and message: batch's error is the group's line.

--format-exc-info: the same with format_exc_info instead of dict_tracebacks, "exception" the
traceback as Python prints it (with the exception group's sub-exceptions): batch's error is its
first sub-exception's line.
"""

import structlog

import _errors

REQUIRES = ("structlog",)  # read by run_scenarios.py: skipped where the python lacks it
MIN_PYTHON = (3, 11)  # asyncio.TaskGroup, except*
FORMS = ("", "--format-exc-info")  # read by run_scenarios.py: one run per form
NAME = "structlog_errors"


class Structlog(_errors.Adapter):
    def __init__(self, path, form):
        self.out = open(path, "w")
        plain = form == "format-exc-info"
        self.group_error = _errors.SUB_LINE if plain else _errors.GROUP_LINE
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.processors.format_exc_info if plain else structlog.processors.dict_tracebacks,
                structlog.processors.JSONRenderer(),
            ],
            logger_factory=structlog.WriteLoggerFactory(file=self.out),
        )
        self.log = structlog.get_logger()

    def task(self, name):
        return structlog.contextvars.bound_contextvars(task_id=name)

    def info(self, event, **fields):
        self.log.info(event, **fields)

    def warning(self, event):
        self.log.warning(event)

    def exception(self, event):
        self.log.exception(event)

    def close(self):
        self.out.close()


if __name__ == "__main__":
    _errors.run(NAME, Structlog)
