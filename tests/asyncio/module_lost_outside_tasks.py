"""module_lost_outside_tasks: exceptions lost where no task can catch them.

usage: python3 module_lost_outside_tasks.py OUTDIR
  -> OUTDIR/module_lost_outside_tasks.jsonl + .truth.json

Logged by coroner_asyncio.install(stream=..., scope=True). A metrics agent: a heartbeat driven
by loop.call_later (a callback, not a task) reschedules itself every 20 ms, and three workers
drain a queue of jobs.
- *lost-exception* (callback) `callback Heartbeat.beat()`: at its 4th beat the callback raises
  KeyError (a gauge gone), asyncio logs "Exception in callback Heartbeat.beat()" and goes on,
  and the heartbeat has stopped for good.
- *lost-exception* (never-retrieved) `a Future`: a config loader sets an exception on a Future
  that nobody awaits; when it is collected asyncio logs "Future exception was never retrieved".
- worker-0..2 and main: clean (the workers are cancelled at the end, as main means to).
"""

import asyncio
import gc
import json
import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_lost_outside_tasks"


class Heartbeat:
    def __init__(self, loop):
        self.loop = loop
        self.beats = 0
        self.gauges = {"queue_depth": 0}

    def beat(self):
        self.beats += 1
        if self.beats == 4:
            self.gauges.pop("queue_depth")
        self.gauges["queue_depth"] += 0  # KeyError at the 4th beat: no next beat is scheduled
        self.loop.call_later(0.02, self.beat)


async def worker(queue):
    while True:
        job = await queue.get()
        with stage("process", job=job):
            await asyncio.sleep(0.005)
        queue.task_done()


def load_config(loop):
    config = loop.create_future()
    config.set_exception(ValueError("bad config: 'oops'"))  # nobody awaits it


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    loop = asyncio.get_running_loop()
    loop.call_later(0.02, Heartbeat(loop).beat)
    load_config(loop)
    gc.collect()  # the Future is garbage: asyncio tells of its exception now
    queue = asyncio.Queue()
    workers = [asyncio.create_task(worker(queue), name="worker-%d" % i) for i in range(3)]
    for job in range(30):
        await queue.put(job)
    await queue.join()
    await asyncio.sleep(0.15)  # the heartbeat would have beaten again by now
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    return {"scenario": NAME, "files": files, "args": [],
            "expected": [
                {"task": "callback Heartbeat.beat()", "scope": scope,
                 "kinds": ["lost-exception/callback"]},
                {"task": "a Future", "scope": scope, "kinds": ["lost-exception/never-retrieved"]}],
            "clean": ["main", "worker-0", "worker-1", "worker-2"]}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
