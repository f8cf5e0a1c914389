"""module_legacy_loop: the pre-asyncio.run style, one loop run several times, logged by
coroner_asyncio installed from inside the first run's coroutine.

usage: python3 module_legacy_loop.py OUTDIR
       -> OUTDIR/module_legacy_loop.jsonl + .truth.json

new_event_loop(), then run_until_complete(startup()), which installs the module, logs
"startup" and starts heartbeat ("beat" every 20 ms until an Event is set); then
run_until_complete(job()), which gathers chunk-0..chunk-7 (10-20 ms each), and
run_until_complete(stop()), which sets the Event and awaits heartbeat; then shutdown_asyncgens
and loop.close(): the loop's life ends there (the exit record, reason "loop closed"), not when
startup returns. Before, the exit was written right after startup: the job and its chunks had
no created, started or done record and read as hung.
- clean, quiet (no finding at all): startup, job, stop, heartbeat, chunk-0..chunk-7.
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

NAME = "module_legacy_loop"
CHUNKS = ["chunk-%d" % i for i in range(8)]
STATE = {}


async def heartbeat(stopping):
    while not stopping.is_set():
        with stage("beat"):
            await asyncio.sleep(0.02)


async def startup(loop, log):
    asyncio.current_task().set_name("startup")
    ca.install(loop, stream=log, scope=True)
    with stage("startup"):
        await asyncio.sleep(0.01)
    STATE["stopping"] = asyncio.Event()
    STATE["heartbeat"] = loop.create_task(heartbeat(STATE["stopping"]), name="heartbeat")


async def chunk(i):
    with stage("process chunk", i=i):
        await asyncio.sleep(0.01 + 0.002 * (i % 5))


async def job():
    asyncio.current_task().set_name("job")
    with stage("job"):
        await asyncio.gather(*(asyncio.create_task(chunk(i), name=name) for i, name in enumerate(CHUNKS)))


async def stop():
    asyncio.current_task().set_name("stop")
    with stage("stop"):
        STATE["stopping"].set()
        await STATE["heartbeat"]


def truth(files):
    quiet = ["startup", "job", "stop", "heartbeat"] + CHUNKS
    return {"scenario": NAME, "files": files, "args": [], "expected": [], "clean": quiet,
            "quiet": quiet, "outcomes": {name: "ok" for name in quiet}}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(startup(loop, log))
            loop.run_until_complete(job())
            loop.run_until_complete(stop())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            asyncio.set_event_loop(None)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
