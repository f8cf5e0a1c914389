"""stdlib_debug_service: the service of _service.py logged by stdlib logging through a JSON
formatter of the program's own, with asyncio's debug mode on (loop.set_debug(True), as
PYTHONASYNCIODEBUG=1 does).

usage: /usr/bin/python3 stdlib_debug_service.py OUTDIR [--batch]
  -> OUTDIR/stdlib_debug_service[_batch].jsonl and .truth.json (see _service.py for the faults)

Records: {"ts" (ISO-8601 UTC, Z), "level", "logger", "taskName", "msg", extra fields,
"exc_info" (the rendered traceback)}. taskName comes from _records.TaskNameFilter. The handler
is on the root logger, so the "asyncio" logger's records land in the same file. In debug mode
asyncio's messages say more: "Task exception was never retrieved" quotes a Task repr with
"created at FILE:LINE" and ends with a "source_traceback: Object created at (most recent call
last):" block (where the task was created). A callback or task step that takes more than
0.1 s would be logged as "Executing <Task ...> took 0.123 seconds" (none does here, but a loaded
machine may cause one: a task-less warning).
"""

import json
import logging
from datetime import datetime, timezone

import _records
import _service

FORMS = ("", "--batch")  # read by run_scenarios.py: the service form, then the batch form
NAME = "stdlib_debug_service"
_STD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record):
        doc = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
               "level": record.levelname, "logger": record.name, "taskName": record.taskName,
               "msg": record.getMessage()}
        for k, v in vars(record).items():
            if k not in _STD:
                doc[k] = v
        if record.exc_info:
            doc["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def make(path):
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_records.TaskNameFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return _records.StdlibAdapter(logging.getLogger("service"), handler)


def check(text):
    if "Object created at (most recent call last)" not in text:
        return ["asyncio's debug mode: no source traceback ('Object created at') in the log"]
    return []


if __name__ == "__main__":
    _service.run(NAME, make, check_log=check, debug=True)
