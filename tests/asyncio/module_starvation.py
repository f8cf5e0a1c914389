"""module_starvation: tasks starved by a hung holder of a Lock or a Semaphore, and a
Queue.join() that never returns because the consumer died, logged by coroner_asyncio.

usage: python3 module_starvation.py OUTDIR
       -> OUTDIR/module_starvation.jsonl, OUTDIR/module_starvation.truth.json

- ledger lock (asyncio.Lock): post-1..post-40 each take it for 1-2 ms ("posting"), clean.
  post-stuck takes it, logs "posting" and awaits an Event nobody sets: *hung*. post-late-1..3
  arrive after it and wait for the lock forever: *blocked* on post-stuck (the module names the
  lock's holder) or *hung*.
- connection pool (asyncio.Semaphore(2)): query-1..query-40 take a slot for 2-3 ms, clean.
  pool-hog-1 and pool-hog-2 take both slots and hang the same way: *hung*. query-late-1,
  query-late-2 wait for a slot forever: *hung* (the module cannot name a semaphore's holders)
  or *blocked*.
- work queue: feeder puts 30 jobs and then awaits queue.join(). worker-1 handles jobs (4 ms
  each) and calls task_done(); at job 12 it raises KeyError (an unexpected job), so it dies
  with 18 jobs still in the queue and join() never returns. worker-1 failed and said so (its
  end is logged with the error): it is the cause, in neither list (an unawaited failure may or
  may not count as lost). feeder: *hung* (or blocked on worker-1).
- heartbeat: logs "beat" every 25 ms up to the end: clean (its rhythm).
After the healthy work main writes a task-less shutdown record 0.4 s later and the process ends
with os._exit(0): the stuck tasks are still pending and no cancellation is logged (a killed
worker). main is in neither list.
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

NAME = "module_starvation"


async def post(lock, ms, never=None):
    stage("validate")
    await asyncio.sleep(0.001)
    async with lock:
        stage("posting")
        if never is not None:
            await never.wait()
        await asyncio.sleep(ms / 1000)
    stage("posted")


async def query(pool, ms, never=None):
    stage("plan")
    await asyncio.sleep(0.001)
    async with pool:
        stage("execute")
        if never is not None:
            await never.wait()
        await asyncio.sleep(ms / 1000)
    stage("rows")


async def worker(queue):
    handled = 0
    while True:
        job = await queue.get()
        stage("handle job")
        await asyncio.sleep(0.004)
        handled += 1
        if handled == 12:
            raise KeyError("job kind %r" % job["kind"])
        queue.task_done()


async def feeder(queue):
    for i in range(30):
        stage("enqueue")
        await queue.put({"n": i, "kind": "resize" if i != 11 else "transcode"})
    stage("waiting for the batch")
    await queue.join()
    stage("batch done")


async def heartbeat():
    while True:
        stage("beat")
        await asyncio.sleep(0.025)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    never = asyncio.Event()
    lock, pool, queue = asyncio.Lock(), asyncio.Semaphore(2), asyncio.Queue()
    asyncio.create_task(heartbeat(), name="heartbeat")
    asyncio.create_task(worker(queue), name="worker-1")
    stuck = [asyncio.create_task(feeder(queue), name="feeder")]
    healthy = []
    for n in range(1, 41):
        healthy.append(asyncio.create_task(post(lock, 1 + n % 2), name="post-%d" % n))
        healthy.append(asyncio.create_task(query(pool, 2 + n % 2), name="query-%d" % n))
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.02)  # the healthy ones have the lock and the slots back
    stuck.append(asyncio.create_task(post(lock, 1, never), name="post-stuck"))
    stuck += [asyncio.create_task(query(pool, 1, never), name="pool-hog-%d" % i) for i in (1, 2)]
    await asyncio.sleep(0.01)  # let the stuck ones take the lock and the slots
    stuck += [asyncio.create_task(post(lock, 1), name="post-late-%d" % i) for i in (1, 2, 3)]
    stuck += [asyncio.create_task(query(pool, 1), name="query-late-%d" % i) for i in (1, 2)]
    await asyncio.sleep(0.05)
    ok_before = [t for t in healthy if t.done()]  # those that got in before the stuck ones
    await asyncio.sleep(0.4)
    ca.emit({"task": None, "stage": "shutdown"})
    return ok_before, healthy, stuck


def truth(files, healthy):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds, **blame):
        return dict({"task": task, "scope": scope, "kinds": list(kinds)}, **blame)

    expected = [entry("post-stuck", "hung"), entry("pool-hog-1", "hung"), entry("pool-hog-2", "hung")]
    expected += [entry("post-late-%d" % i, "blocked", "hung") for i in (1, 2, 3)]
    expected += [entry("query-late-%d" % i, "hung", "blocked") for i in (1, 2)]
    expected += [entry("feeder", "hung", "blocked")]
    clean = ["heartbeat"] + healthy
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / (NAME + ".jsonl"), "w")
    done_early, healthy, stuck = asyncio.new_event_loop().run_until_complete(main(log))
    # Healthy tasks that queued behind the stuck holder are starved too: they are the truth's
    # expected, not its clean. Which ones depends on the schedule, so the program says it.
    clean = [t.get_name() for t in healthy if t.done() and t.exception() is None]
    starved = [t.get_name() for t in healthy if not t.done()]
    t = truth([NAME + ".jsonl"], clean)
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    t["expected"] += [{"task": n, "scope": scope, "kinds": ["blocked", "hung"]} for n in starved]
    if any(s.done() for s in stuck):
        t["problems"] = ["a stuck task ended"]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
    log.flush()
    os._exit(0)
