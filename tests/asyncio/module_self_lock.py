"""module_self_lock: a task that takes a Lock it already holds, then asyncio.run's clean-up.

usage: python3 module_self_lock.py OUTDIR   -> OUTDIR/module_self_lock.jsonl + .truth.json

Logged by coroner_asyncio.install(stream=..., scope=True). An account whose withdraw() holds the
account's asyncio.Lock and calls balance(), which takes it again (asyncio's locks are not
reentrant): withdraw-100 waits for itself, a *deadlock* of one. main waits 1 s for it and
returns; asyncio.run then cancels it, and the module writes that cancellation ("cancelled")
after the exit record. The cancellation waited on nothing, but what the task waited on when the
process stopped stands: before, it turned the deadlock into a mere hang.
- read-balance and deposit-50 take the lock once each, before: clean.
- main: clean.
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

NAME = "module_self_lock"


class Account:
    def __init__(self):
        self.lock = asyncio.Lock()
        self.cents = 1000

    async def balance(self):
        async with self.lock:
            return self.cents

    async def deposit(self, n):
        async with self.lock:
            with stage("credit", n=n):
                await asyncio.sleep(0.005)
                self.cents += n

    async def withdraw(self, n):
        async with self.lock:
            with stage("check funds", n=n):
                if await self.balance() < n:  # takes the lock it holds: waits for itself
                    raise ValueError("insufficient funds")
            self.cents -= n


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    account = Account()
    await asyncio.create_task(account.balance(), name="read-balance")
    await asyncio.create_task(account.deposit(50), name="deposit-50")
    stuck = asyncio.create_task(account.withdraw(100), name="withdraw-100")
    await asyncio.wait([stuck], timeout=1.0)
    with stage("shutdown"):
        pass


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    return {"scenario": NAME, "files": files, "args": [],
            "expected": [{"task": "withdraw-100", "scope": scope, "kinds": ["deadlock"],
                          "cycle": ["withdraw-100"]}],
            "clean": ["main", "read-balance", "deposit-50"],
            "outcomes": {"deposit-50": "ok", "main": "ok"}}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / (NAME + ".jsonl"), "w") as log:
        asyncio.run(main(log))
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
