"""module_sigterm: a worker process stopped by SIGTERM while some of its tasks are stuck.

usage: python3 module_sigterm.py OUTDIR
       -> OUTDIR/module_sigterm.jsonl, OUTDIR/module_sigterm.truth.json

The program starts itself again as a child (`--child`) that runs the asyncio workload logged by
coroner_asyncio.install(stream=..., scope=True) and, 0.7 s in, sends itself SIGTERM (as a
container runtime or systemd would). The module writes a {"coroner": "pending"} record for each
pending task and a {"coroner": "exit", "reason": "SIGTERM"} record; the process must still die
*by SIGTERM* (a supervisor reads that status: the module must not turn it into exit 0). The
parent checks the child's status and the log; what is wrong goes into the truth's "problems"
(and to stderr); the truth also says how the child ended ("child_exit").

- ingest-1..ingest-60: "decode" (2-4 ms) -> "store" -> done. Clean.
- lease-keeper, schema-watch: "decode", then await an asyncio.Event nobody sets, silent for about
  0.6 s at the SIGTERM. Expected: hung.
- shipper: awaits lease-keeper (a plain `await task`, an edge the module logs). Expected:
  blocked with lease-keeper as its root cause (or hung).
- pump-1, pump-2: "pumping" every 5 ms up to the signal. Clean: busy a moment ago.
- The child's main task (the one calling install()) is in neither list: pending at the signal
  in a long sleep of its own, as a main loop waiting for shutdown is.
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

NAME = "module_sigterm"
INGESTS = 60
STUCK = ("lease-keeper", "schema-watch")


async def ingest(stage, n):
    stage("decode", n=n)
    await asyncio.sleep(0.002 + (n % 3) * 0.001)
    stage("store", n=n)
    await asyncio.sleep(0.001)


async def stuck(stage, never_set):
    stage("decode")
    await never_set.wait()  # nobody ever sets it


async def shipper(stage, lease):
    stage("shipping")
    await asyncio.sleep(0.002)
    await lease


async def pump(stage):
    while True:
        stage("pumping")
        await asyncio.sleep(0.005)


async def child_main(log):
    import coroner_asyncio as ca
    from coroner_asyncio import stage
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    never_set = asyncio.Event()
    keep = {name: asyncio.create_task(stuck(stage, never_set), name=name) for name in STUCK}
    keep["shipper"] = asyncio.create_task(shipper(stage, keep["lease-keeper"]), name="shipper")
    pumps = [asyncio.create_task(pump(stage), name="pump-%d" % n) for n in (1, 2)]
    for n in range(1, INGESTS + 1):
        asyncio.create_task(ingest(stage, n), name="ingest-%d" % n)
        await asyncio.sleep(0.002)
    asyncio.get_running_loop().call_later(0.7, os.kill, os.getpid(), signal.SIGTERM)
    await asyncio.sleep(5)  # the signal comes first


def check_log(path):
    try:
        recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as e:
        return ["cannot read the child's log: %s" % e], None
    problems = []
    exits = [r for r in recs if r.get("coroner") == "exit"]
    if len(exits) != 1 or exits[0].get("reason") != "SIGTERM":
        problems.append("want one exit record with reason 'SIGTERM', got %s" % [r.get("reason") for r in exits])
    pending = {r.get("task") for r in recs if r.get("coroner") == "pending"}
    for t in STUCK + ("shipper",):
        if t not in pending:
            problems.append("no pending record for %s" % t)
    pids = {r.get("pid") for r in recs if r.get("pid") is not None}
    return problems, (pids.pop() if len(pids) == 1 else None)


def parent(out):
    path = out / (NAME + ".jsonl")
    child_exit, died_wrong = _sigterm_child.run_child(__file__, out)
    problems, pid = check_log(path)
    problems = died_wrong + problems
    for p in problems:
        print("module_sigterm: " + p, file=sys.stderr)
    scope = {"pid": str(pid) if pid is not None else "?", "hostname": socket.gethostname()}

    def entry(task, *kinds, **blame):
        return dict({"task": task, "scope": scope, "kinds": list(kinds)}, **blame)

    expected = [entry(t, "hung") for t in STUCK] + [entry("shipper", "blocked", "hung", root="lease-keeper")]
    clean = ["pump-1", "pump-2"] + ["ingest-%d" % n for n in range(1, INGESTS + 1)]
    doc = {"scenario": NAME, "files": [path.name], "args": [], "child_exit": child_exit, "problems": problems,
           "expected": expected, "clean": clean}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    _sigterm_child.main(NAME, child_main, parent)
