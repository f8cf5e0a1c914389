"""shutdown_module: main returns with tasks still stuck, logged by coroner_asyncio.

usage: python3 shutdown_module.py OUTDIR
       -> OUTDIR/shutdown_module.jsonl, OUTDIR/shutdown_module.truth.json

The same service as shutdown_plain.py, but the tasks log nothing about their end themselves:
coroner_asyncio.install(stream=..., scope=True) logs created / started / done / cancelled, and
when main returns it writes a {"coroner": "pending"} record for each task still pending (with
"suspended_at", the file:line of the innermost coroutine frame, and "waiting_for") and a
{"coroner": "exit", "reason": "main returned"} record, before asyncio.run cancels them (those
cancellations are logged too). The program then reads its log back: if the exit record, a
stuck task's pending record (pointing into this file) or the cancellation of a task pending at
exit is missing, the truth lists a problem. The log file is closed right after asyncio.run()
returns, as `with open(...) as f: asyncio.run(main(f))` does.

- request-1..request-80: "waiting for leader" (2-4 ms) -> "handling" -> done. Clean.
- replica-sync, token-refresh: "waiting for leader", then await an asyncio.Event nobody sets,
  silent for about 0.8 s when main returns. Expected: hung (judged at the exit record, once; the
  cancellation that follows does not make them clean).
- worker-1..worker-4: a job from a queue every few milliseconds ("processing" 6-9 ms, then
  "processed"); pending at exit in the middle of a job or waiting for the next one, cancelled
  right after. Clean: busy a moment ago.
- main (the task calling install()) ends ok. Clean.
"""

import asyncio
import json
import os
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# CORONER_ASYNCIO_DIR: another copy of the module to try (run_scenarios.py passes it on).
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "shutdown_module"
REQUESTS = 80
STUCK = ("replica-sync", "token-refresh")
WORKERS = 4


async def request(n):
    stage("waiting for leader")
    await asyncio.sleep(0.002 + (n % 3) * 0.001)
    stage("handling")
    await asyncio.sleep(0.002)


async def stuck(never_set):
    stage("waiting for leader")
    await never_set.wait()  # nobody ever sets it


async def worker(n, q):
    while True:
        job = await q.get()
        stage("processing", job=job)
        await asyncio.sleep(0.006 + (job + n) % 4 * 0.001)
        stage("processed", job=job)


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    started = time.monotonic()
    never_set = asyncio.Event()
    keep = [asyncio.create_task(stuck(never_set), name=name) for name in STUCK]
    q = asyncio.Queue()
    keep += [asyncio.create_task(worker(n, q), name="worker-%d" % n) for n in range(1, WORKERS + 1)]
    requests = []
    for n in range(1, REQUESTS + 1):
        requests.append(asyncio.create_task(request(n), name="request-%d" % n))
        q.put_nowait(n)
        await asyncio.sleep(0.003)
    await asyncio.gather(*requests)
    for job in range(REQUESTS + 1, REQUESTS + 300):  # the workers stay busy to the end
        q.put_nowait(job)
        await asyncio.sleep(0.003)
        if time.monotonic() - started > 0.8:
            break
    # main returns: the module writes the pending and exit records, asyncio.run cancels the rest


def check_log(path):
    """What the module should have written at the exit: problems, as sentences."""
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    problems = []
    exits = [r for r in recs if r.get("coroner") == "exit"]
    if len(exits) != 1 or exits[0].get("reason") != "main returned":
        problems.append("want one exit record with reason 'main returned', got %s"
                        % [r.get("reason") for r in exits])
    pending = {r.get("task"): r for r in recs if r.get("coroner") == "pending"}
    cancelled = {r.get("task") for r in recs if r.get("status") == "cancelled"}
    lost = sorted(t for t in pending if t not in cancelled)
    if lost:
        problems.append("pending at exit but no 'cancelled' record after it (asyncio.run did cancel them): %s"
                        % ", ".join(map(str, lost)))
    for t in STUCK:
        at = str(pending.get(t, {}).get("suspended_at", ""))
        if t not in pending:
            problems.append("no pending record for %s" % t)
        elif NAME + ".py" not in at and "locks.py" not in at:
            problems.append("%s's pending record is suspended_at %r, not in this program or asyncio's Event" % (t, at))
    return problems


def truth(files, problems):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": t, "scope": scope, "kinds": ["hung"]} for t in STUCK]
    clean = ["main"] + ["worker-%d" % n for n in range(1, WORKERS + 1)] + ["request-%d" % n for n in range(1, REQUESTS + 1)]
    return {"scenario": NAME, "files": files, "args": [], "problems": problems, "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    path = out / (NAME + ".jsonl")
    with open(path, "w") as log:
        asyncio.run(main(log))
    problems = check_log(path)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"], problems), indent=1) + "\n")
