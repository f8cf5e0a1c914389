"""module_batch_series: batch workers that log one stage a job, one of them stuck on a job.

usage: python3 module_batch_series.py OUTDIR   -> OUTDIR/module_batch_series.jsonl + .truth.json

Logged by coroner_asyncio.install(stream=..., scope=True). A batch of 120 jobs on a queue:
- worker-0..worker-3 take jobs until a None sentinel, each job in `with stage("process job")`
  (10 ms): the same stage again and again, a run each. worker-3 waits for a reply (an
  asyncio.Event nobody sets) in its second job: *hung* in "process job" when the process stops. The others finish
  the batch in about 0.4 s. Read as one run, each finished worker's series of thirty jobs made a
  400 ms "process job", and worker-3's second of silence looked like an ordinary job.
- poller: `with stage("poll")` every 10 ms, 40 times, then it returns: clean.
- download-0..download-3: `stage("downloading")` once a chunk (1 ms, 100 chunks), then 0.3 s
  of unpacking with no stage of its own. download-3 starts 0.85 s late and is unpacking when
  the process stops: clean (in flight). Its stay's last run is as long as the others' were,
  though each progress run took a millisecond.
- main: waits 1.2 s for the workers, logs "give up" and returns: clean.
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

NAME = "module_batch_series"


async def worker(jobs, reply, stuck):
    done = 0
    while (job := await jobs.get()) is not None:
        with stage("process job", job=job):
            if stuck and done == 1:
                await reply.wait()  # never set
            await asyncio.sleep(0.01)
        done += 1


async def download(delay):
    await asyncio.sleep(delay)
    for _ in range(100):
        stage("downloading")  # progress, once a chunk
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.3)  # unpacking: no stage of its own


async def poller():
    for _ in range(40):
        with stage("poll"):
            await asyncio.sleep(0.01)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    jobs, reply = asyncio.Queue(), asyncio.Event()
    for job in range(120):
        jobs.put_nowait(job)
    for _ in range(4):
        jobs.put_nowait(None)
    workers = [asyncio.create_task(worker(jobs, reply, i == 3), name="worker-%d" % i)
               for i in range(4)]
    poll = asyncio.create_task(poller(), name="poller")
    for i, delay in enumerate((0, 0.01, 0.02, 0.85)):
        asyncio.create_task(download(delay), name="download-%d" % i)
    _, pending = await asyncio.wait(workers, timeout=1.2)
    await poll
    with stage("give up", stuck=len(pending)):
        pass


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    clean = ["main", "poller", "worker-0", "worker-1", "worker-2"] + [
        "download-%d" % i for i in range(4)]
    return {"scenario": NAME, "files": files, "args": [],
            "expected": [{"task": "worker-3", "scope": scope, "kinds": ["hung"]}],
            "clean": clean, "outcomes": {"worker-0": "ok", "poller": "ok", "main": "ok"}}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
