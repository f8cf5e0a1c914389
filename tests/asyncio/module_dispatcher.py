"""module_dispatcher: tasks whose activity is not their own records, stopped by their own watchdog.

usage: python3 module_dispatcher.py OUTDIR
       -> OUTDIR/module_dispatcher.jsonl, OUTDIR/module_dispatcher.truth.json

The program starts itself again as a child (`--child`) that runs the asyncio workload logged by
coroner_asyncio.install(stream=..., scope=True) and is stopped by a max-runtime watchdog task of
its own, which sends the process SIGTERM (the module writes the pending records and an exit
record with reason SIGTERM; the child must die of SIGTERM, the parent checks).

- dispatcher: logs nothing of its own; it polls its job source (a 10 ms sleep) and creates a
  task job-N for each job, kept in a set a done callback empties (the documented
  fire-and-forget pattern). Each job's `created` record names it as parent_id: creating a child
  is its activity, up to 10 ms before the stop. Clean.
- acceptor: the same without a sleep of its own: it awaits the next connection (a future a
  timer resolves every 40 ms, made by `asyncio.Future()`, a wait the module does not log) and
  creates conn-N. Its rhythm of children is all that says 40 ms of quiet is normal for it: the
  stages of the log last a few milliseconds. Clean.
- job-N, conn-N: `with stage("handle")` 2-4 ms. Clean.
- watchdog: logs "armed", sleeps 0.8 s, then sends SIGTERM: it is the task running when the
  process stops (the module's pending record says "nothing: ready to run"). Clean.
- spawner-stuck: creates three children (part-1..part-3, clean) at once, then awaits an Event
  nobody sets, silent for 0.7 s at the stop: children made long ago are no activity now. Hung.
- poller-stuck: logs "connect", then awaits an Event nobody sets. Hung.
- main is in neither list: pending in a long sleep at the signal.
"""

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the harness beside this file
import _sigterm_child  # noqa: E402
# CORONER_ASYNCIO_DIR: another copy of the module to try (run_scenarios.py passes it on).
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))

NAME = "module_dispatcher"
running = set()
made = {"job": 0, "conn": 0}


async def handle(stage, n):
    with stage("handle", job=n):
        await asyncio.sleep(0.002 + (n % 3) * 0.001)


def spawn(stage, kind):
    made[kind] += 1
    t = asyncio.create_task(handle(stage, made[kind]), name="%s-%d" % (kind, made[kind]))
    running.add(t)
    t.add_done_callback(running.discard)


async def dispatcher(stage):
    while True:
        await asyncio.sleep(0.01)  # poll the job source
        spawn(stage, "job")


async def acceptor(stage):
    loop = asyncio.get_running_loop()
    while True:
        conn = asyncio.Future()  # the next connection (a future the module does not see made)
        loop.call_later(0.04, conn.set_result, None)
        await conn
        spawn(stage, "conn")


async def watchdog(stage, limit):
    stage("armed", limit=limit)
    await asyncio.sleep(limit)
    os.kill(os.getpid(), signal.SIGTERM)


async def part(stage, n):
    stage("part", n=n)
    await asyncio.sleep(0.002)


async def spawner_stuck(stage, never_set):
    parts = [asyncio.create_task(part(stage, n), name="part-%d" % n) for n in (1, 2, 3)]
    await asyncio.sleep(0.005)
    await never_set.wait()  # nobody ever sets it
    await asyncio.gather(*parts)


async def poller_stuck(stage, never_set):
    stage("connect")
    await never_set.wait()


async def child_main(log):
    import coroner_asyncio as ca
    from coroner_asyncio import stage
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    never_set = asyncio.Event()
    keep = [asyncio.create_task(watchdog(stage, 0.8), name="watchdog"),
            asyncio.create_task(dispatcher(stage), name="dispatcher"),
            asyncio.create_task(acceptor(stage), name="acceptor"),
            asyncio.create_task(spawner_stuck(stage, never_set), name="spawner-stuck"),
            asyncio.create_task(poller_stuck(stage, never_set), name="poller-stuck")]
    await asyncio.sleep(5)  # the watchdog's signal comes first
    del keep


def check_log(path):
    try:
        recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as e:
        return ["cannot read the child's log: %s" % e], None, 0, 0
    problems = []
    exits = [r for r in recs if r.get("coroner") == "exit"]
    if len(exits) != 1 or exits[0].get("reason") != "SIGTERM":
        problems.append("want one exit record with reason 'SIGTERM', got %s" % [r.get("reason") for r in exits])
    pending = {r.get("task"): r for r in recs if r.get("coroner") == "pending"}
    if not pending.get("watchdog", {}).get("waiting_for", "").startswith("nothing"):
        problems.append("the watchdog's pending record should say it waits on nothing: %s" % pending.get("watchdog"))
    for t in ("dispatcher", "acceptor", "spawner-stuck", "poller-stuck"):
        if t not in pending:
            problems.append("no pending record for %s" % t)
    children = {}
    for r in recs:
        if r.get("status") == "created" and r.get("parent_id") in ("dispatcher", "acceptor"):
            children[r["parent_id"]] = children.get(r["parent_id"], 0) + 1
    for parent, least in (("dispatcher", 30), ("acceptor", 10)):
        if children.get(parent, 0) < least:
            problems.append("%s created only %d children" % (parent, children.get(parent, 0)))
    pids = {r.get("pid") for r in recs if r.get("pid") is not None}
    return problems, (pids.pop() if len(pids) == 1 else None), children.get("dispatcher", 0), children.get("acceptor", 0)


def parent(out):
    path = out / (NAME + ".jsonl")
    child_exit, died_wrong = _sigterm_child.run_child(__file__, out)
    problems, pid, jobs, conns = check_log(path)
    problems = died_wrong + problems
    for p in problems:
        print(NAME + ": " + p, file=sys.stderr)
    scope = {"pid": str(pid) if pid is not None else "?", "hostname": socket.gethostname()}

    def entry(task, *kinds):
        return {"task": task, "scope": scope, "kinds": list(kinds)}

    expected = [entry("spawner-stuck", "hung"), entry("poller-stuck", "hung")]
    clean = (["dispatcher", "acceptor", "watchdog", "part-1", "part-2", "part-3"]
             + ["job-%d" % n for n in range(1, jobs + 1)] + ["conn-%d" % n for n in range(1, conns + 1)])
    doc = {"scenario": NAME, "files": [path.name], "args": [], "child_exit": child_exit, "problems": problems,
           "expected": expected, "clean": clean}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    _sigterm_child.main(NAME, child_main, parent)
