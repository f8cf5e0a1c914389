"""killed_supervisor: a worker process killed with SIGKILL while its periodic tasks run.

usage: python3 killed_supervisor.py OUTDIR
       -> OUTDIR/killed_supervisor.jsonl, OUTDIR/killed_supervisor.truth.json

The program starts itself again as a child (`--child`) that runs the asyncio workload and kills
itself with os.kill(os.getpid(), signal.SIGKILL): nothing gets to log a shutdown, exactly as when
the OOM killer or a container runtime strikes. The parent checks that the child died by SIGKILL
(else the truth lists a problem), writes the truth and exits 0.

Records: {"ts", "task", "stage"} (plus "job"), ends {"ts", "task", "status": "done"}, written
line-buffered so every record logged before the kill is in the file.

- supervisor: logs "supervise" every 100 ms and puts ten jobs on the queue. 52 ms after its
  12th "supervise" the process is killed. Clean: silent for half its rhythm, in flight, not hung.
  No other stage of the log takes longer than about 10 ms: only the supervisor's own rhythm
  tells that 52 ms of silence is normal for it.
- queue-worker: takes each job, logs "processing" and "acked" 9 ms later, then the next job;
  at the kill it is in the middle of the sixth job of the batch. Clean: killed mid-job.
- metrics: logs "flush" every 10 ms; its last record is the last of the log. Clean.
- item-1..item-40: fetch -> store -> done in a few milliseconds each, during the first 0.4 s.
  Clean. They teach coroner how long "fetch" takes.
- reindex: logs "fetch" and then awaits an asyncio.Event nobody sets, silent for more than a
  second when the process dies, while "fetch" takes a few milliseconds. Expected: hung.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

NAME = "killed_supervisor"
ITEMS = 40
CYCLES = 12
KILL_AFTER = 0.052
LOG = []


def log(task, **fields):
    LOG[0].write(json.dumps(dict({"ts": time.time(), "task": task}, **fields)) + "\n")


async def item(n):
    task = "item-%d" % n
    log(task, stage="fetch")
    await asyncio.sleep(0.003 + (n % 4) * 0.001)
    log(task, stage="store")
    await asyncio.sleep(0.002)
    log(task, status="done")


async def reindex(never_set):
    log("reindex", stage="fetch")
    await never_set.wait()  # nobody ever sets it


async def queue_worker(q):
    while True:
        job = await q.get()
        log("queue-worker", stage="processing", job=job)
        await asyncio.sleep(0.009)
        log("queue-worker", stage="acked", job=job)


async def metrics():
    while True:
        log("metrics", stage="flush")
        await asyncio.sleep(0.01)


async def supervisor(q):
    loop = asyncio.get_running_loop()
    for cycle in range(1, CYCLES + 1):
        log("supervisor", stage="supervise", cycle=cycle)
        for j in range(10):
            q.put_nowait(cycle * 100 + j)
        if cycle == CYCLES:
            loop.call_later(KILL_AFTER, os.kill, os.getpid(), signal.SIGKILL)
        await asyncio.sleep(0.1)


async def child_main():
    q = asyncio.Queue()
    keep = [asyncio.create_task(metrics()), asyncio.create_task(queue_worker(q)),
            asyncio.create_task(supervisor(q))]
    await asyncio.sleep(0.02)
    keep.append(asyncio.create_task(reindex(asyncio.Event())))
    for n in range(1, ITEMS + 1):
        keep.append(asyncio.create_task(item(n)))
        await asyncio.sleep(0.01)
    await asyncio.sleep(10)  # the kill comes first


def truth(files, child_exit, problems):
    clean = ["supervisor", "queue-worker", "metrics"] + ["item-%d" % n for n in range(1, ITEMS + 1)]
    return {"scenario": NAME, "files": files, "args": [], "child_exit": child_exit, "problems": problems,
            "expected": [{"task": "reindex", "scope": {}, "kinds": ["hung"]}], "clean": clean}


def parent(out):
    proc = subprocess.run([sys.executable, __file__, "--child", str(out)], capture_output=True, timeout=30)
    problems = []
    if proc.returncode == -signal.SIGKILL:
        child_exit = "killed by SIGKILL"
    else:
        child_exit = "exit status %d" % proc.returncode
        problems.append("the child should have died by SIGKILL, got %s: %s"
                        % (child_exit, proc.stderr.decode(errors="replace").strip()[-300:]))
        print("killed_supervisor: " + problems[-1], file=sys.stderr)
    (out / (NAME + ".truth.json")).write_text(
        json.dumps(truth([NAME + ".jsonl"], child_exit, problems), indent=1) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        with open(Path(sys.argv[2]) / (NAME + ".jsonl"), "w", buffering=1) as f:
            LOG.append(f)
            asyncio.run(child_main())
        sys.exit("killed_supervisor: the child was not killed")
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    parent(out)
