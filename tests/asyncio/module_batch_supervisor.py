"""module_batch_supervisor: a supervisor that tells of its batches' failures, beside a task that
swallows its own, logged by coroner_asyncio.

usage: python3 module_batch_supervisor.py OUTDIR
       -> OUTDIR/module_batch_supervisor.jsonl, OUTDIR/module_batch_supervisor.truth.json

- dispatcher runs batch-1..batch-20 one after another ("dispatch", then the batch as a task it
  awaits). batch-7 and batch-15 raise ValueError in their "load" stage: they fail, and the
  dispatcher catches the error, logs the stage "batch failed" and goes on to the next batch; it
  ends ok. The failed batches failed and say so; the dispatcher told of their failure and
  swallowed nothing of its own: all clean.
- cleaner logs "sweep", tries a removal in `with stage("remove temp files")`, which fails (the
  module writes the OSError as that stage's error record), logs the stage "cleanup failed", goes
  on to "report" and ends ok: it swallowed its own error, *lost-exception* (swallowed).
Before the analyzer read a failure word just after a child's failure as telling of it, the
dispatcher was a swallowed exception too. Since then a traced task's stage names carry no
lifecycle word at all (docs/ASYNCIO_RECORDS.md): "batch failed" tells nothing, and cleaner's
error is its error record, not the words "cleanup failed".
"""

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_batch_supervisor"
BATCHES = 20
BAD = {7, 15}


async def batch(n):
    with stage("load"):
        await asyncio.sleep(0.002)
        if n in BAD:
            raise ValueError("batch %d: malformed row" % n)
    stage("store")
    await asyncio.sleep(0.001)


async def dispatcher():
    for n in range(1, BATCHES + 1):
        stage("dispatch")
        try:
            await asyncio.create_task(batch(n), name="batch-%d" % n)
        except ValueError:
            stage("batch failed")


async def cleaner():
    stage("sweep")
    await asyncio.sleep(0.003)
    try:
        with stage("remove temp files"):  # writes the OSError as this stage's error record
            os.remove("/nonexistent/coroner-test/tmpfile")
    except OSError:
        stage("cleanup failed")
    stage("report")
    await asyncio.sleep(0.001)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    await asyncio.gather(asyncio.create_task(dispatcher(), name="dispatcher"),
                         asyncio.create_task(cleaner(), name="cleaner"))
    return True


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": "cleaner", "scope": scope, "kinds": ["lost-exception/swallowed"]}]
    clean = ["main", "dispatcher"] + ["batch-%d" % n for n in range(1, BATCHES + 1)]
    outcomes = {"batch-%d" % n: "failed" for n in BAD}
    outcomes["dispatcher"] = "ok"
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": outcomes}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    t = truth([NAME + ".jsonl"])
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
