"""module_asyncio_messages: asyncio's own complaints, written into the log by coroner_asyncio.

usage: python3 module_asyncio_messages.py OUTDIR
       -> OUTDIR/module_asyncio_messages.jsonl, OUTDIR/module_asyncio_messages.truth.json

coroner_asyncio.install(stream=..., scope=True) also sets a loop exception handler that writes
asyncio's "Task exception was never retrieved" and "Task was destroyed but it is pending!"
messages into the log (no task field; the task's repr names it), so a program that logs nothing
else about them still tells coroner. The program checks that both kinds of message reached its
log (else the truth lists a problem).

- NEVER_RETRIEVED (job-7, job-23): fire-and-forget, no reference kept, never awaited; they raise
  ValueError after "item fetched". When the task object is freed, asyncio reports the exception
  nobody retrieved. Expected: lost-exception (never-retrieved).
- DESTROYED (job-12, job-31): "waiting for upstream" on a future nobody resolves, no reference
  kept; main returns, the loop is closed without cancelling them and the garbage collector
  destroys them: asyncio reports "Task was destroyed but it is pending!". Expected:
  destroyed-pending.
- job-1..job-40 otherwise: "item fetched" -> "item stored" -> done, gathered by main. Clean.
- main (the task calling install()) ends ok. Clean.
"""

import asyncio
import gc
import json
import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# CORONER_ASYNCIO_DIR: another copy of the module to try (run_scenarios.py passes it on).
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_asyncio_messages"
COUNT = 40
NEVER_RETRIEVED = {7, 23}
DESTROYED = {12, 31}


def parse_header(raw):
    return int(raw.split(b":")[1])


async def job(n, upstream):
    stage("item fetched")
    await asyncio.sleep(0.002 + (n % 4) * 0.001)
    if n in NEVER_RETRIEVED:
        parse_header(b"len:12a")  # raises; nobody ever looks at this task again
    if n in DESTROYED:
        stage("waiting for upstream")
        await upstream  # nobody resolves it
    stage("item stored")
    await asyncio.sleep(0.001)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    upstream = asyncio.get_running_loop().create_future()
    kept = []
    for n in range(1, COUNT + 1):
        t = asyncio.create_task(job(n, upstream), name="job-%d" % n)
        if n not in NEVER_RETRIEVED and n not in DESTROYED:
            kept.append(t)
        del t
        await asyncio.sleep(0.002)
    await asyncio.gather(*kept)
    await asyncio.sleep(0.01)
    gc.collect()
    stage("jobs gathered")


def check_log(path):
    text = path.read_text()
    problems = []
    for n in sorted(NEVER_RETRIEVED):
        if not any("never retrieved" in line and "'job-%d'" % n in line for line in text.splitlines()):
            problems.append("no 'Task exception was never retrieved' record for job-%d in the log" % n)
    for n in sorted(DESTROYED):
        if not any("destroyed but it is pending" in line and "'job-%d'" % n in line for line in text.splitlines()):
            problems.append("no 'Task was destroyed but it is pending!' record for job-%d in the log" % n)
    return problems


def truth(files, problems):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": "job-%d" % n, "scope": scope, "kinds": ["lost-exception/never-retrieved"]}
                for n in sorted(NEVER_RETRIEVED)]
    expected += [{"task": "job-%d" % n, "scope": scope, "kinds": ["destroyed-pending"]} for n in sorted(DESTROYED)]
    clean = ["main"] + ["job-%d" % n for n in range(1, COUNT + 1) if n not in NEVER_RETRIEVED | DESTROYED]
    return {"scenario": NAME, "files": files, "args": [], "problems": problems, "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    path = out / (NAME + ".jsonl")
    with open(path, "w") as log:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main(log))
        loop.close()  # the DESTROYED jobs are still pending: not cancelled, just dropped
        asyncio.set_event_loop(None)
        del loop
        gc.collect()  # "Task was destroyed but it is pending!" for each
    problems = check_log(path)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"], problems), indent=1) + "\n")
