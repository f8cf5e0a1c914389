"""module_runner_reuse: one event loop run several times by asyncio.Runner (Python 3.11+),
logged by coroner_asyncio, installed from inside the first run's main coroutine.

usage: python3 module_runner_reuse.py OUTDIR [--hang]
       -> OUTDIR/module_runner_reuse.jsonl + .truth.json (with --hang: module_runner_hang.*)

A batch tool that keeps one loop across three phases: run 1 (load) installs the module, logs
"load config" and starts cache-warmer ("warm" every 10 ms, 20 keys), which outlives the run;
run 2 (fetch) gathers fetch-0..fetch-9 (0-15 ms each); run 3 (finish) awaits cache-warmer.
Then Runner.close() cancels what is left and closes the loop: only there does the loop's life
end (the exit record), not when run 1's main returns. Before, the exit was written at the end
of run 1, and the tasks of runs 2 and 3 had no created, started or done record: all eleven
read as hung.
- clean, quiet (no finding at all): load, fetch, finish (the three runs' mains), cache-warmer,
  fetch-0..fetch-9.
- with --hang (module_runner_hang): fetch-4 awaits an Event nobody sets, and run 2 gives up on
  it after 0.5 s (asyncio.wait with a timeout): fetch-4 *hung*, pending when Runner.close()
  cancels it; the others as above.
"""

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

MIN_PYTHON = (3, 11)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

HANG = "--hang" in sys.argv
NAME = "module_runner_hang" if HANG else "module_runner_reuse"
FETCHES = ["fetch-%d" % i for i in range(10)]
STATE = {}


async def warm_cache(keys):
    for k in keys:
        with stage("warm", key=k):
            await asyncio.sleep(0.01)
    return len(keys)


async def load(log):
    asyncio.current_task().set_name("load")
    ca.install(stream=log, scope=True)
    with stage("load config"):
        await asyncio.sleep(0.01)
    STATE["warmer"] = asyncio.create_task(warm_cache(range(20)), name="cache-warmer")


async def fetch_one(i):
    with stage("fetch", i=i):
        if HANG and i == 4:
            await asyncio.Event().wait()  # the planted hang: nobody sets it
        await asyncio.sleep(0.005 * (i % 4))
    return i


async def fetch():
    asyncio.current_task().set_name("fetch")
    with stage("fetch batch"):
        tasks = [asyncio.create_task(fetch_one(i), name=name) for i, name in enumerate(FETCHES)]
        done, _ = await asyncio.wait(tasks, timeout=0.5)
        return sum(t.result() for t in done)


async def finish():
    asyncio.current_task().set_name("finish")
    with stage("finish"):
        return await STATE["warmer"]


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    quiet = ["load", "fetch", "finish", "cache-warmer"] + [t for t in FETCHES if not (HANG and t == "fetch-4")]
    t = {"scenario": NAME, "files": files, "args": [], "expected": [], "clean": quiet, "quiet": quiet,
         "outcomes": {name: "ok" for name in quiet}}
    if HANG:
        t["expected"] = [{"task": "fetch-4", "scope": scope, "kinds": ["hung"]}]
    return t


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--hang"]
    out = Path(args[0] if args else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        with asyncio.Runner() as runner:
            runner.run(load(log))
            runner.run(fetch())
            runner.run(finish())
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
