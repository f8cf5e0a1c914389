"""module_lock_leak: a lock taken by hand and never released, its holder cancelled.

usage: python3 module_lock_leak.py OUTDIR   -> OUTDIR/module_lock_leak.jsonl + .truth.json

Logged by coroner_asyncio.install(stream=..., scope=True). A ledger guarded by an asyncio.Lock:
- writer-0..writer-5 start 10 ms apart; each takes the lock with `async with` and then posts its
  entry in stage "post entry" (5 ms). They log no stage while they wait for the lock.
- rebalance takes the lock by hand (`await lock.acquire()` ... `lock.release()`, no `finally`)
  at 25 ms and prices the accounts in stage "rebalance accounts" (5 s). main cancels it at
  0.2 s: the lock is never released. writer-0..writer-2 posted before it: clean.
  writer-3..writer-5 wait for the lock until the process stops, 1 s later, while main's own
  stage (its wait for them) makes every stage's normal time about a second: *blocked* on
  rebalance, however short their silence against that.
- audit: "audit pass" every 50 ms, cancelled with rebalance while it holds nothing: clean.
- main: cancels both, waits 1 s for the writers, logs "close ledger" and returns: clean.
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

NAME = "module_lock_leak"
STUCK = ["writer-3", "writer-4", "writer-5"]


async def writer(lock, i):
    await asyncio.sleep(0.01 * i)
    async with lock:
        with stage("post entry", writer=i):
            await asyncio.sleep(0.005)


async def rebalance(lock):
    await asyncio.sleep(0.025)
    await lock.acquire()
    with stage("rebalance accounts"):
        await asyncio.sleep(5)
    lock.release()  # never reached once cancelled


async def audit():
    while True:
        with stage("audit pass"):
            await asyncio.sleep(0.05)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    lock = asyncio.Lock()
    writers = [asyncio.create_task(writer(lock, i), name="writer-%d" % i) for i in range(6)]
    slow = asyncio.create_task(rebalance(lock), name="rebalance")
    auditor = asyncio.create_task(audit(), name="audit")
    await asyncio.sleep(0.2)
    with stage("cancel slow jobs"):
        slow.cancel()
        auditor.cancel()
        await asyncio.wait([slow, auditor])
    _, pending = await asyncio.wait(writers, timeout=1.0)
    with stage("close ledger", stuck=len(pending)):
        pass


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": t, "scope": scope, "kinds": ["blocked"], "root": "rebalance"}
                for t in STUCK]
    clean = ["main", "audit"] + ["writer-%d" % i for i in range(3)]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": {"rebalance": "cancelled", "audit": "cancelled", "writer-0": "ok"}}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
