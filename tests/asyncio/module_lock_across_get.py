"""module_lock_across_get: a lock held across `await queue.get()`, beside idle workers.

usage: python3 module_lock_across_get.py OUTDIR   -> OUTDIR/module_lock_across_get.jsonl + .truth.json

Logged by coroner_asyncio.install(stream=..., scope=True).
- An outbox guards its queue with an asyncio.Lock: enqueue() puts under the lock, and sender
  takes the lock and *then* waits for the next message in stage "next message" (the bug). The
  two messages queued before it started go out ("send", 10 ms each); then sender waits on the
  empty queue holding the lock: *hung*, though asyncio sees it waiting for work.
- producer-0..producer-2 start 50 ms later and each waits for the lock to enqueue, in stage
  "enqueue": *blocked* on sender. Nothing can ever be enqueued again.
- worker-0, worker-1 take jobs from another queue ("handle job", 5 ms each) and wait for more
  once it is empty: idle workers, nobody waits on them: clean.
- main waits 1 s for the producers, logs "give up" and returns; asyncio.run then writes what is
  pending and cancels it: clean.
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

NAME = "module_lock_across_get"
PRODUCERS = ["producer-%d" % i for i in range(3)]


class Outbox:
    def __init__(self):
        self.lock = asyncio.Lock()
        self.queue = asyncio.Queue()

    async def enqueue(self, message):
        async with self.lock:
            self.queue.put_nowait(message)

    async def sender(self):
        while True:
            with stage("next message"):
                async with self.lock:  # the bug: the lock is held while waiting for work
                    message = await self.queue.get()
            with stage("send", message=message):
                await asyncio.sleep(0.01)


async def producer(outbox, i):
    with stage("enqueue", producer=i):
        await outbox.enqueue("p%d" % i)


async def worker(jobs):
    while True:
        job = await jobs.get()
        with stage("handle job", job=job):
            await asyncio.sleep(0.005)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    outbox = Outbox()
    await outbox.enqueue("hello")
    await outbox.enqueue("world")
    asyncio.create_task(outbox.sender(), name="sender")
    jobs = asyncio.Queue()
    for n in range(6):
        jobs.put_nowait(n)
    for i in range(2):
        asyncio.create_task(worker(jobs), name="worker-%d" % i)
    await asyncio.sleep(0.05)
    producers = [asyncio.create_task(producer(outbox, i), name=name)
                 for i, name in enumerate(PRODUCERS)]
    await asyncio.wait(producers, timeout=1.0)
    with stage("give up"):
        pass


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": "sender", "scope": scope, "kinds": ["hung"]}]
    expected += [{"task": t, "scope": scope, "kinds": ["blocked"], "root": "sender"}
                 for t in PRODUCERS]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected,
            "clean": ["main", "worker-0", "worker-1"]}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
