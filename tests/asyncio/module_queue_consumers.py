"""module_queue_consumers: consumers that wait for work on an empty queue, as asyncio's own Queue
example has them, beside consumers and producers that are really stuck, logged by
coroner_asyncio.

usage: python3 module_queue_consumers.py OUTDIR
       -> OUTDIR/module_queue_consumers.jsonl, OUTDIR/module_queue_consumers.truth.json

- producer puts 30 orders on the `orders` queue, one every 4 ms ("produce"), and ends.
- worker-1..worker-3 take orders ("handle", 3 to 6 ms each) and mark them done; once the queue
  is empty they wait on it for a second until main cancels them, as the docs' example does after
  queue.join(). Clean: idle consumers cancelled at shutdown.
- agen-worker takes orders the other common way, `async for n in each(orders)` over an async
  generator around Queue.get, and is cancelled with the workers: clean, as they are (the
  module follows the generator's frames to the Queue.get).
- collector waits on the `results` queue, which nobody ever feeds, from the start to the end;
  main returns with it pending (asyncio.run cancels it after the exit record). Clean: idle.
  agen-collector does the same through `async for`: clean, idle.
- stuck-worker takes one order from the `urgent` queue and, in its "handle" stage, waits on an
  Event nobody sets until main cancels it: *hung* (until cancelled), a consumer stuck in its
  work.
- flusher puts on the `outbox` queue (maxsize 1, one item already in it, nobody reading) at the
  start and is blocked there until main cancels it: *hung*, a producer stuck on a full queue.
Before the analyzer read a wait on Queue.get as waiting for work, the three workers were hung
(until cancelled) and the collector hung.
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

NAME = "module_queue_consumers"
ORDERS = 30


async def producer(orders):
    for n in range(ORDERS):
        stage("produce")
        await orders.put(n)
        await asyncio.sleep(0.004)


async def worker(orders):
    while True:
        n = await orders.get()
        with stage("handle"):
            await asyncio.sleep(0.003 + n % 4 / 1000)
        orders.task_done()


async def collector(results):
    while True:
        await results.get()


async def each(queue):
    while True:
        yield await queue.get()


async def agen_worker(orders):
    async for n in each(orders):
        with stage("handle"):
            await asyncio.sleep(0.003 + n % 4 / 1000)
        orders.task_done()


async def agen_collector(results):
    async for _ in each(results):
        stage("collect")


async def stuck_worker(urgent, never):
    await urgent.get()
    with stage("handle"):
        await never.wait()


async def flusher(outbox):
    stage("flush")
    await outbox.put("report")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    orders, results, urgent = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()
    outbox = asyncio.Queue(maxsize=1)
    outbox.put_nowait("already there")
    urgent.put_nowait("page the on-call")
    never = asyncio.Event()
    workers = [asyncio.create_task(worker(orders), name="worker-%d" % i) for i in (1, 2, 3)]
    workers.append(asyncio.create_task(agen_worker(orders), name="agen-worker"))
    stuck = [asyncio.create_task(stuck_worker(urgent, never), name="stuck-worker"),
             asyncio.create_task(flusher(outbox), name="flusher")]
    left = asyncio.create_task(collector(results), name="collector")
    also_left = asyncio.create_task(agen_collector(asyncio.Queue()), name="agen-collector")
    await asyncio.create_task(producer(orders), name="producer")
    await orders.join()
    await asyncio.sleep(1.0)  # a quiet spell: the workers wait for orders that do not come
    for task in workers + stuck:
        task.cancel()
    await asyncio.gather(*workers, *stuck, return_exceptions=True)
    return all(t.cancelled() for t in workers + stuck) and not left.done() and not also_left.done()


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": "stuck-worker", "scope": scope, "kinds": ["hung/until-cancelled"]},
                {"task": "flusher", "scope": scope, "kinds": ["hung/until-cancelled"]},
                {"task": "collector", "scope": scope, "kinds": ["in-flight/idle"]},
                {"task": "agen-collector", "scope": scope, "kinds": ["in-flight/idle"]}]
    clean = ["main", "producer", "collector", "worker-1", "worker-2", "worker-3", "agen-worker",
             "agen-collector"]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    t = truth([NAME + ".jsonl"])
    with open(out / (NAME + ".jsonl"), "w") as log:
        if not asyncio.run(main(log)):
            t["problems"] = ["a task ended otherwise than the scenario says"]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
