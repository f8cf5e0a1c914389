"""module_ignored_cancel: a consumer that swallows its cancellation at a shutdown.

usage: python3 module_ignored_cancel.py OUTDIR
       -> OUTDIR/module_ignored_cancel.jsonl + .truth.json (the workload runs in a child,
          stopped by SIGTERM: _sigterm_child.py)

Logged by coroner_asyncio.install(stream=..., scope=True):
- consumer takes jobs off a queue ("process", 10 ms each) and catches CancelledError to carry on
  ("never die"): at the shutdown, main's `consumer.cancel(); await consumer` cancels it, it logs
  "ignoring cancel" and waits on the queue again. *hung* (subkind ignored-cancel): idle on an
  empty queue as it looks, it will never end, and main waits for it until the supervisor's
  SIGTERM a second later. Before, it read as an idle consumer and the shutdown's hang went
  unsaid (exit 0).
- main: *blocked* on consumer, root consumer.
- fetcher takes URLs off its own queue and gives each 20 ms (asyncio.timeout on 3.11+,
  wait_for before), skipping the one that takes 0.2 s: the cancel() of its timeout scope is no
  shutdown's, and nobody waits for it to end. Idle on its queue at the stop: clean.
"""

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
sys.path.insert(0, str(HERE))
import _sigterm_child  # noqa: E402

NAME = "module_ignored_cancel"


async def consumer(stage, jobs):
    while True:
        try:
            job = await jobs.get()
            with stage("process", job=job):
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            with stage("ignoring cancel"):
                pass  # swallowed: the loop goes on


async def at_most(seconds, coro):
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await coro
    return await asyncio.wait_for(coro, seconds)


async def fetcher(stage, urls):
    while True:
        url, takes = await urls.get()
        stage("fetch", url=url)
        try:
            await at_most(0.02, asyncio.sleep(takes))
        except asyncio.TimeoutError:
            stage("fetch skipped, too slow", url=url)


async def child_main(log):
    import coroner_asyncio as ca
    from coroner_asyncio import stage
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    jobs, urls = asyncio.Queue(), asyncio.Queue()
    worker = asyncio.create_task(consumer(stage, jobs), name="consumer")
    asyncio.create_task(fetcher(stage, urls), name="fetcher")
    for n in range(5):
        jobs.put_nowait(n)
        urls.put_nowait(("https://example.com/%d" % n, 0.2 if n == 2 else 0.005))
    await asyncio.sleep(0.3)
    asyncio.get_running_loop().call_later(1.0, os.kill, os.getpid(), signal.SIGTERM)
    with stage("shutdown"):
        worker.cancel()
        await worker  # never returns: the consumer swallowed its cancellation


def parent(out):
    path = out / (NAME + ".jsonl")
    child_exit, problems = _sigterm_child.run_child(__file__, out)
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    pids = {r.get("pid") for r in recs if r.get("pid") is not None}
    if not any(r.get("stage") == "ignoring cancel" for r in recs):
        problems.append("the consumer did not log its swallowed cancellation")
    if not any(r.get("stage") == "fetch skipped, too slow" for r in recs):
        problems.append("the fetcher's timeout did not happen")
    scope = {"pid": str(pids.pop()) if len(pids) == 1 else "?", "hostname": socket.gethostname()}
    doc = {"scenario": NAME, "files": [path.name], "args": [], "child_exit": child_exit,
           "problems": problems,
           "expected": [{"task": "consumer", "scope": scope, "kinds": ["hung"]},
                        {"task": "main", "scope": scope, "kinds": ["blocked"], "root": "consumer"}],
           "clean": ["fetcher"]}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    _sigterm_child.main(NAME, child_main, parent)
