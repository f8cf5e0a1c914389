"""module_fire_and_forget: background tasks of request handlers, cut off by the program's end.

usage: python3 module_fire_and_forget.py OUTDIR   -> OUTDIR/module_fire_and_forget.jsonl + .truth.json

Logged by coroner_asyncio.install(stream=..., scope=True). main serves req-0..req-4, 30 ms
apart, and gathers them; each handler works in stage "handle" (20 ms) and starts an audit-N
task (kept in a set, as asyncio's documentation says) that writes its audit record after a
0.5 s flush delay, in stage "write audit", then returns without waiting for it. main returns
right after the last request: asyncio.run cancels the five audit tasks and their records are
lost.
- audit-0..audit-4: *orphan* (their parent ended ok, they were still at work when the program
  stopped), the late ones as much as the early ones, though their handler ended just before
  the stop.
- main, req-0..req-4: clean.
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

NAME = "module_fire_and_forget"
REQUESTS = 5
BACKGROUND = set()


async def write_audit(i):
    with stage("write audit", request=i):
        await asyncio.sleep(0.5)


async def handle(i):
    with stage("handle", request=i):
        await asyncio.sleep(0.02)
    audit = asyncio.create_task(write_audit(i), name="audit-%d" % i)
    BACKGROUND.add(audit)
    audit.add_done_callback(BACKGROUND.discard)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    requests = []
    for i in range(REQUESTS):
        requests.append(asyncio.create_task(handle(i), name="req-%d" % i))
        await asyncio.sleep(0.03)
    await asyncio.gather(*requests)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": "audit-%d" % i, "scope": scope, "kinds": ["orphan"]}
                for i in range(REQUESTS)]
    clean = ["main"] + ["req-%d" % i for i in range(REQUESTS)]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
