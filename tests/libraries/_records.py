"""_records: what the stdlib-logging programs (jsonlogger_service, stdlib_debug_service) share.

Python 3.12 sets LogRecord.taskName from the running asyncio task; on 3.11 this Filter does the
same (None when no task runs, as for asyncio's messages written from the garbage collector or
outside the loop). The task id in the log is then the asyncio task name."""

import asyncio
import contextlib
import logging

import _service


class TaskNameFilter(logging.Filter):
    def filter(self, record):
        if not hasattr(record, "taskName"):  # Python 3.12+ sets it itself
            try:
                task = asyncio.current_task()
            except RuntimeError:  # no running event loop
                task = None
            record.taskName = task.get_name() if task is not None else None
        return True


class StdlibAdapter(_service.Adapter):
    """Logs with a stdlib logger: fields as `extra`, exceptions with exc_info."""

    def __init__(self, log, handler):
        self.log = log
        self.handler = handler

    def current_id(self):
        return asyncio.current_task().get_name()

    def stage(self, name):
        self.log.info(name)
        return contextlib.nullcontext()

    def note(self, event, **fields):
        self.log.info(event, extra=fields)

    def swallowed(self, event):
        self.log.exception(event)

    def timed_out(self, event):
        self.log.error(event, exc_info=True)

    def failed(self, event):
        self.log.exception(event)

    def cancelled(self, event):
        self.log.warning(event)

    def outside(self, event, **fields):
        self.log.info(event, extra=fields)

    def close(self):
        self.handler.close()
