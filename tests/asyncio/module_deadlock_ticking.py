"""module_deadlock_ticking: a lock-order deadlock in a program whose other tasks keep logging,
logged by coroner_asyncio.

usage: python3 module_deadlock_ticking.py OUTDIR
       -> OUTDIR/module_deadlock_ticking.jsonl, OUTDIR/module_deadlock_ticking.truth.json

- ticker: logs "tick" every 40 ms until main stops it, then "ticker done": one run of its stage
  as long as the log (the repeats are no durations), so the stages' p99 is about the log's
  length, and the stages no task left ("credit") are judged by it: no silence here looks stuck
  by stage times. Clean.
- xfer-ab and xfer-ba take two locks in opposite orders ("debit", then "credit"): each waits
  for the lock the other holds, from 20 ms into the run. At the exit (main returns) both are
  pending, each record naming the other: *deadlock*, found from that snapshot, not from silence.
- pay-1..pay-6 take the same two locks in the same order ("pay", "book"), one after another:
  clean.
main stops the ticker after 1.2 s and returns: clean.
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

NAME = "module_deadlock_ticking"


async def ticker(stop):
    while not stop.is_set():
        stage("tick")
        await asyncio.sleep(0.04)
    stage("ticker done")


async def transfer(first, second, pause, stages=("debit", "credit")):
    stage(stages[0])
    async with first:
        await asyncio.sleep(pause)
        stage(stages[1])
        async with second:
            await asyncio.sleep(0.001)
    stage("settled")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(stop), name="ticker")
    accounts, ledger = asyncio.Lock(), asyncio.Lock()
    for n in range(1, 7):
        asyncio.create_task(transfer(accounts, ledger, 0.002, ("pay", "book")), name="pay-%d" % n)
    await asyncio.sleep(0.1)  # the payments are done
    asyncio.create_task(transfer(accounts, ledger, 0.02), name="xfer-ab")
    asyncio.create_task(transfer(ledger, accounts, 0.02), name="xfer-ba")
    await asyncio.sleep(1.2)
    stop.set()
    await ticking


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": t, "scope": scope, "kinds": ["deadlock"]} for t in ("xfer-ab", "xfer-ba")]
    clean = ["main", "ticker"] + ["pay-%d" % n for n in range(1, 7)]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": {"pay-1": "ok", "main": "ok"}}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
