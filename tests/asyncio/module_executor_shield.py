"""module_executor_shield: run_in_executor, asyncio.shield and late-retrieved exceptions,
logged by coroner_asyncio, ended by a graceful shutdown.

usage: python3 module_executor_shield.py OUTDIR
       -> OUTDIR/module_executor_shield.jsonl, OUTDIR/module_executor_shield.truth.json

- thumb-1..thumb-50: `loop.run_in_executor(pool, resize)` (a 2-4 ms blocking call in a thread),
  clean. thumb-17: the blocking call waits on a threading.Event nobody sets, so the future never
  resolves: *hung* in stage "resize".
- save-1..save-20: `await asyncio.shield(write(n))` under `asyncio.wait_for(..., 0.5)`, inside
  `with stage("await write")`; clean. save-9: the outer wait_for times out after 30 ms (the
  write takes 80 ms; the stage logs the TimeoutError), save-9 catches it, logs
  "write continues in background" and ends ok; the shielded inner task finishes its write 50 ms
  later: save-9 *timeout* or *lost-exception* (its wait timed out and it went on), the inner
  task clean.
- probe-1..probe-6: each fails with ConnectionError 2 ms after its start; the prober keeps
  them in a list, sleeps 80 ms, then awaits each in turn inside try/except and logs the
  failures ("probe down"): the exceptions are retrieved late, but retrieved. prober-2 does the
  same with probe-7..probe-12 through `asyncio.wait` (which returns at once) and
  `exception()`. Clean, all fourteen (the failure of each probe is its own end, told by its
  failed record).
- ticker: logs "tick" every 20 ms till the end, clean; a graceful shutdown then cancels it and it
  logs "stopping" in `except CancelledError` and re-raises: clean (cancelled promptly).
main, after the work, sleeps 0.35 s, logs "shutting down" and returns: asyncio.run cancels what
is left (the module writes the exit record first). thumb-17's thread is a daemon-like thread:
the program ends with os._exit(0) after asyncio.run returns, so it does not wait for it.
"""

import asyncio
import concurrent.futures
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_executor_shield"
NEVER = threading.Event()


def resize(n):
    if n == 17:
        NEVER.wait()  # a blocking call that never returns
    time.sleep(0.002 + (n % 3) / 1000)
    return n


async def thumb(pool, n):
    loop = asyncio.get_running_loop()
    stage("decode")
    await asyncio.sleep(0.001)
    stage("resize")
    await loop.run_in_executor(pool, resize, n)
    stage("upload")
    await asyncio.sleep(0.001)


async def write(n):
    stage("write")
    await asyncio.sleep(0.08 if n == 9 else 0.003)
    stage("fsync")
    await asyncio.sleep(0.001)


async def save(n):
    stage("serialize")
    await asyncio.sleep(0.001)
    inner = asyncio.ensure_future(write(n))
    inner.set_name("save-%d/write" % n)
    try:
        with stage("await write"):
            await asyncio.wait_for(asyncio.shield(inner), 0.03 if n == 9 else 0.5)
    except asyncio.TimeoutError:
        stage("write continues in background")
        return
    stage("saved")


async def probe(n):
    stage("connect")
    await asyncio.sleep(0.002)
    raise ConnectionError("host-%d refused" % n)


async def prober(first):
    probes = [asyncio.create_task(probe(n), name="probe-%d" % n) for n in range(first, first + 6)]
    stage("probing")
    await asyncio.sleep(0.08)
    if first == 1:
        for p in probes:
            try:
                await p
            except ConnectionError as e:
                stage("probe down", error=str(e))
    else:  # the same through asyncio.wait, which returns at once
        done, _ = await asyncio.wait(probes)
        for p in done:
            if p.exception() is not None:
                stage("probe down", error=str(p.exception()))


async def ticker():
    try:
        while True:
            stage("tick")
            await asyncio.sleep(0.02)
    except asyncio.CancelledError:
        stage("stopping")
        raise


async def main():
    asyncio.current_task().set_name("main")
    ca.install(stream=LOG, scope=True)
    pool = concurrent.futures.ThreadPoolExecutor(4)
    asyncio.create_task(ticker(), name="ticker")
    work = [asyncio.create_task(prober(1), name="prober"), asyncio.create_task(prober(7), name="prober-2")]
    for n in range(1, 51):
        work.append(asyncio.create_task(thumb(pool, n), name="thumb-%d" % n))
        if n <= 20:
            work.append(asyncio.create_task(save(n), name="save-%d" % n))
        await asyncio.sleep(0.003)
    await asyncio.wait(work, timeout=1)
    await asyncio.sleep(0.35)
    stage("shutting down")
    pool.shutdown(wait=False)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds):
        return {"task": task, "scope": scope, "kinds": list(kinds)}

    expected = [entry("thumb-17", "hung"), entry("save-9", "timeout", "lost-exception")]
    clean = ["main", "ticker", "prober", "prober-2"] + ["probe-%d" % n for n in range(1, 13)]
    clean += ["thumb-%d" % n for n in range(1, 51) if n != 17]
    clean += ["save-%d" % n for n in range(1, 21) if n != 9]
    clean += ["save-%d/write" % n for n in range(1, 21)]
    outcomes = {"ticker": ["open", "cancelled"], "save-9/write": "ok", "probe-1": "failed", "main": "ok"}
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": outcomes}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    LOG = open(out / (NAME + ".jsonl"), "w")
    asyncio.run(main())
    LOG.close()
    sys.stdout.flush()
    os._exit(0)  # thumb-17's thread never returns
