"""jsonlogger_service: the service of _service.py logged with python-json-logger.

usage: /usr/bin/python3 jsonlogger_service.py OUTDIR [--batch]
  -> OUTDIR/jsonlogger_service[_batch].jsonl and .truth.json (see _service.py for the faults)

Set up as python-json-logger's README shows: a FileHandler on the root logger (so asyncio's own
messages land in the same file) with jsonlogger.JsonFormatter("%(levelname)s %(name)s
%(taskName)s %(message)s", timestamp=True): "timestamp" is an ISO-8601 UTC time with +00:00,
fields given as `extra` become keys, exc_info is rendered into "exc_info". taskName comes from
_records.TaskNameFilter (Python 3.12's LogRecord.taskName on 3.11).
"""

import logging

from pythonjsonlogger import jsonlogger

import _records
import _service

REQUIRES = ("pythonjsonlogger",)  # read by run_scenarios.py: skipped where the python lacks it
FORMS = ("", "--batch")  # read by run_scenarios.py: the service form, then the batch form
NAME = "jsonlogger_service"


def make(path):
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(jsonlogger.JsonFormatter("%(levelname)s %(name)s %(taskName)s %(message)s", timestamp=True))
    handler.addFilter(_records.TaskNameFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return _records.StdlibAdapter(logging.getLogger("service"), handler)


if __name__ == "__main__":
    _service.run(NAME, make)
