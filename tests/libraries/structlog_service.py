"""structlog_service: the service of _service.py logged with structlog 22 through stdlib logging.

usage: /usr/bin/python3 structlog_service.py OUTDIR [--batch]
  -> OUTDIR/structlog_service[_batch].jsonl and .truth.json (see _service.py for the faults)

Set up as structlog's "Rendering Using structlog-based Formatters Within logging" shows: the
shared processors (merge_contextvars, add_log_level, add_logger_name, TimeStamper(fmt="iso"))
run for structlog's own events and, as foreign_pre_chain, for stdlib records (asyncio's own
messages); a ProcessorFormatter renders both as JSON (format_exc_info turns exc_info into an
"exception" string) on a FileHandler of the root logger. Each task binds its task id with
structlog.contextvars.bound_contextvars(task_id=...): the record's "task_id" is the asyncio task
name. Records: {"event", "task_id", "level", "logger", "timestamp", fields, "exception"}.
"""

import logging

import structlog

import _service

REQUIRES = ("structlog",)  # read by run_scenarios.py: skipped where the python lacks it
FORMS = ("", "--batch")  # read by run_scenarios.py: the service form, then the batch form
NAME = "structlog_service"


def setup(path):
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    structlog.configure(
        processors=shared + [structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


class Structlog(_service.Adapter):
    def __init__(self, path):
        self.handler = setup(path)
        self.log = structlog.get_logger("service")

    def task(self, name, kind, **fields):
        return structlog.contextvars.bound_contextvars(task_id=name)

    def current_id(self):
        return structlog.contextvars.get_contextvars().get("task_id")

    def stage(self, name):
        self.log.info(name)
        return _service.contextlib.nullcontext()

    def note(self, event, **fields):
        self.log.info(event, **fields)

    def swallowed(self, event):
        self.log.exception(event)

    def timed_out(self, event):
        self.log.error(event, exc_info=True)

    def failed(self, event):
        self.log.exception(event)

    def cancelled(self, event):
        self.log.warning(event)

    def outside(self, event, **fields):
        self.log.info(event, **fields)

    def close(self):
        self.handler.close()


if __name__ == "__main__":
    _service.run(NAME, Structlog)
