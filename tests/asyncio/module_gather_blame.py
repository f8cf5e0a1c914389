"""module_gather_blame: a gather whose failed child is not what holds it up.

usage: python3 module_gather_blame.py OUTDIR   -> OUTDIR/module_gather_blame.jsonl + .truth.json

Logged by coroner_asyncio.install(stream=..., scope=True). main gathers three jobs with
return_exceptions=True (it handles their failures itself):
- job-bad fails at once in stage "work" with ValueError: the gather keeps the exception to hand
  back; outcome failed, no problem of its own.
- job-ok works 20 ms: clean.
- job-stuck waits in stage "work" for an Event nothing sets: *hung*.
- main waits on the gather until, 1 s later, a watchdog thread stops the process (os._exit):
  *blocked*, and its root cause is job-stuck, the one child the gather still waits for (the
  module's pending record names it alone), not job-bad, which failed long before.
"""

import asyncio
import json
import os
import socket
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_gather_blame"


async def job(kind, never):
    with stage("work", kind=kind):
        await asyncio.sleep(0.02)
        if kind == "bad":
            raise ValueError("bad input row 3")
        if kind == "stuck":
            await never.wait()


async def main(log, out):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    never = asyncio.Event()
    jobs = [asyncio.create_task(job(kind, never), name="job-" + kind)
            for kind in ("bad", "ok", "stuck")]
    # The truth is written now: the watchdog ends the process with the gather still waiting.
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    threading.Timer(1.0, os._exit, args=(0,)).start()
    await asyncio.gather(*jobs, return_exceptions=True)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": "job-stuck", "scope": scope, "kinds": ["hung"]},
                {"task": "main", "scope": scope, "kinds": ["blocked"], "root": "job-stuck"}]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected,
            "clean": ["job-bad", "job-ok"], "outcomes": {"job-bad": "failed", "job-ok": "ok"}}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log, out))
