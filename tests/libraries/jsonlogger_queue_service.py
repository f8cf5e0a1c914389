"""jsonlogger_queue_service: the service of _service.py logged with python-json-logger behind a
QueueHandler, as the logging cookbook recommends so that no task blocks on the file.

usage: /usr/bin/python3 jsonlogger_queue_service.py OUTDIR [--batch]
  -> OUTDIR/jsonlogger_queue_service[_batch].jsonl and .truth.json (see _service.py for the faults)

The root logger has a QueueHandler; a QueueListener thread hands the records to a FileHandler
with jsonlogger.JsonFormatter("%(levelname)s %(name)s %(taskName)s %(message)s",
timestamp=True). QueueHandler.prepare() formats each record before it crosses to the listener:
the traceback of log.exception() is written into the message and exc_info is dropped, so the
JSON has no exc_info field and the error is only the "Traceback (most recent call last):" lines
the message goes on with. taskName is set on the QueueHandler (_records.TaskNameFilter), in the
task that logs; the listener's thread has no task. The swallowed error is logged as many
handlers of a recoverable error do, `log.warning(..., exc_info=True)`: at warning level, the
traceback in its message is all that says an exception happened.
"""

import logging
import logging.handlers
import queue

from pythonjsonlogger import jsonlogger

import _records
import _service

REQUIRES = ("pythonjsonlogger",)  # read by run_scenarios.py: skipped where the python lacks it
FORMS = ("", "--batch")  # read by run_scenarios.py: the service form, then the batch form
NAME = "jsonlogger_queue_service"


class QueuedAdapter(_records.StdlibAdapter):
    def __init__(self, log, handler, listener):
        super().__init__(log, handler)
        self.listener = listener

    def swallowed(self, event):
        self.log.warning(event, exc_info=True)

    def close(self):
        self.listener.stop()  # every queued record written before the file closes
        super().close()


def make(path):
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(jsonlogger.JsonFormatter("%(levelname)s %(name)s %(taskName)s %(message)s", timestamp=True))
    records = queue.SimpleQueue()
    queued = logging.handlers.QueueHandler(records)
    queued.addFilter(_records.TaskNameFilter())
    listener = logging.handlers.QueueListener(records, handler)
    listener.start()
    root = logging.getLogger()
    root.addHandler(queued)
    root.setLevel(logging.INFO)
    return QueuedAdapter(logging.getLogger("service"), handler, listener)


if __name__ == "__main__":
    _service.run(NAME, make)
