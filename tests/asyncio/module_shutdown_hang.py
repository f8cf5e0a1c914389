"""module_shutdown_hang: main returns, and asyncio.run's clean-up never ends.

usage: python3 module_shutdown_hang.py OUTDIR
       -> OUTDIR/module_shutdown_hang.jsonl + .truth.json (the workload runs in a child, stopped
          by SIGTERM: _sigterm_child.py)

Logged by coroner_asyncio.install(stream=..., scope=True). main starts the tasks below, waits
for the jobs and returns; asyncio.run then cancels what is left and waits for it, for ever: a
watchdog thread sends SIGTERM a second after main returned. Before, the module wrote its exit
at main's return and nothing at the SIGTERM, so the log read as a clean exit (exit 0).
- mailer takes mails off a queue ("send", 5 ms each) and catches CancelledError to carry on
  ("never die"), then waits on the queue again: *hung* (subkind ignored-cancel), the program
  could not exit.
- flusher: on its cancellation, writes out what it buffered ("flush on cancel", 5 ms) and
  ends cancelled, as a clean shutdown should: clean (pending when main returned, its end
  after that is the shutdown's: open or cancelled).
- archiver: on its cancellation drains its uploads for 3 s ("drain on cancel") and re-raises,
  a healthy clean-up the SIGTERM cuts short: clean (it waits on another sleep than the one it
  was cancelled in: no cancellation swallowed).
- job-0..job-3 ("work", 10 ms): clean, and main too.
"""

import asyncio
import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
sys.path.insert(0, str(HERE))
import _sigterm_child  # noqa: E402
import coroner_asyncio as ca  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_shutdown_hang"


async def mailer(mails):
    while True:
        try:
            mail = await mails.get()
            with stage("send", mail=mail):
                await asyncio.sleep(0.005)
        except asyncio.CancelledError:
            with stage("ignoring cancel"):
                pass  # the bug: the shutdown's cancellation swallowed


async def flusher():
    try:
        while True:
            with stage("buffer"):
                await asyncio.sleep(0.02)
    except asyncio.CancelledError:
        with stage("flush on cancel"):
            await asyncio.sleep(0.005)
        raise


async def archiver():
    try:
        while True:
            with stage("archive"):
                await asyncio.sleep(0.03)
    except asyncio.CancelledError:
        with stage("drain on cancel"):
            await asyncio.sleep(3)
        raise


async def job(i):
    with stage("work", job=i):
        await asyncio.sleep(0.01)


async def child_main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    mails = asyncio.Queue()
    asyncio.create_task(mailer(mails), name="mailer")
    asyncio.create_task(flusher(), name="flusher")
    asyncio.create_task(archiver(), name="archiver")
    for m in range(3):
        await mails.put(m)
    await asyncio.gather(*(asyncio.create_task(job(i), name="job-%d" % i) for i in range(4)))
    await asyncio.sleep(0.05)
    threading.Timer(1.0, os.kill, args=(os.getpid(), signal.SIGTERM)).start()


def parent(out):
    path = out / (NAME + ".jsonl")
    child_exit, problems = _sigterm_child.run_child(__file__, out)
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    pids = {r.get("pid") for r in records if r.get("pid") is not None}
    reasons = [r.get("reason") for r in records if r.get("coroner") == "exit"]
    if reasons != ["main returned", "SIGTERM"]:
        problems.append("want the exits of main's return and of the SIGTERM, got %s" % reasons)
    for p in problems:
        print(NAME + ": " + p, file=sys.stderr)
    scope = {"pid": str(pids.pop()) if len(pids) == 1 else "?", "hostname": socket.gethostname()}
    expected = [{"task": "mailer", "scope": scope, "kinds": ["hung/ignored-cancel"]}]
    clean = ["main", "flusher", "archiver", "job-0", "job-1", "job-2", "job-3"]
    doc = {"scenario": NAME, "files": [path.name], "args": [], "child_exit": child_exit,
           "problems": problems, "expected": expected, "clean": clean,
           "outcomes": {"flusher": ["open", "cancelled"], "job-0": "ok"}}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    _sigterm_child.main(NAME, child_main, parent)
