"""module_same_names: several task objects under one asyncio name.

usage: python3 module_same_names.py OUTDIR
       -> OUTDIR/module_same_names.jsonl, OUTDIR/module_same_names.truth.json

Logged by coroner_asyncio.install(stream=..., scope=True). asyncio names need not be unique; the
module writes a task object whose name another task object of the process took first as
"name#2", "name#3", ... (in the order they are first named in a record), so each is one task to
coroner.

- supervisor runs a task named "consumer"; the first one raises KeyError on its sixth message
  (its failure logged; the supervisor awaits it and catches the error), the supervisor logs
  "restarting" and starts another "consumer" (written consumer#2), which consumes its twenty
  messages and ends ok. Clean, all three: consumer failed and said so (observed), consumer#2
  ended ok; neither is a task that swallowed an error and carried on, nor started twice.
- five request handlers all named "GET /items", started 1 ms apart: route -> query -> render.
  The third (GET /items#3) awaits an Event nobody sets after "query": hung. The others clean.
- two fire-and-forget tasks named "audit", no reference kept: the second (audit#2) raises
  ValueError, and asyncio reports its exception never retrieved, naming it 'audit' in its repr:
  the module's record of that message names audit#2, which gets the lost-exception; audit clean.
- main gathers the supervisor, then returns 0.4 s after the handlers started: clean.
"""

import asyncio
import gc
import json
import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# CORONER_ASYNCIO_DIR: another copy of the module to try (run_scenarios.py passes it on).
sys.path.insert(0, os.environ.get("CORONER_ASYNCIO_DIR") or str(HERE.parent.parent / "python"))
import coroner_asyncio  # noqa: E402
from coroner_asyncio import stage  # noqa: E402

NAME = "module_same_names"


async def consumer(gen):
    for i in range(20):
        with stage("consume", gen=gen):
            await asyncio.sleep(0.003)
            if gen == 1 and i == 5:
                raise KeyError("bad message")


async def supervisor():
    for gen in (1, 2):
        stage("supervise", gen=gen)
        t = asyncio.create_task(consumer(gen), name="consumer")
        try:
            await t
            return
        except KeyError:
            stage("restarting")


async def handler(n, never_set):
    stage("route")
    await asyncio.sleep(0.002)
    stage("query")
    if n == 3:
        await never_set.wait()  # nobody ever sets it
    await asyncio.sleep(0.003)
    stage("render")
    await asyncio.sleep(0.001)


async def audit(n):
    stage("audit", n=n)
    await asyncio.sleep(0.002)
    if n == 2:
        raise ValueError("audit record rejected")


async def main(log):
    asyncio.current_task().set_name("main")
    coroner_asyncio.install(stream=log, scope=True)
    never_set = asyncio.Event()
    sup = asyncio.create_task(supervisor(), name="supervisor")
    keep = []
    for n in range(1, 6):
        keep.append(asyncio.create_task(handler(n, never_set), name="GET /items"))
        await asyncio.sleep(0.001)
    for n in (1, 2):
        asyncio.create_task(audit(n), name="audit")  # no reference kept
        await asyncio.sleep(0.001)
    await sup
    await asyncio.sleep(0.3)
    gc.collect()  # the failed audit, if a cycle still holds it
    await asyncio.sleep(0.01)
    stage("shutdown")


def run(out):
    path = out / (NAME + ".jsonl")
    with open(path, "w") as log:
        asyncio.run(main(log))
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    problems = []
    created = {r.get("task") for r in recs if r.get("status") == "created"}
    want = {"consumer", "consumer#2", "audit", "audit#2", "GET /items"} | {"GET /items#%d" % n for n in range(2, 6)}
    if not want <= created:
        problems.append("want created records for %s, missing %s" % (sorted(want), sorted(want - created)))
    if not any("never retrieved" in str(r.get("message")) and "name='audit#2'" in str(r.get("message"))
               for r in recs):
        problems.append("no never-retrieved record naming audit#2")
    pids = {r.get("pid") for r in recs if r.get("pid") is not None}
    scope = {"pid": str(pids.pop()) if len(pids) == 1 else "?", "hostname": socket.gethostname()}
    expected = [{"task": "GET /items#3", "scope": scope, "kinds": ["hung"]},
                {"task": "audit#2", "scope": scope, "kinds": ["lost-exception"]}]
    clean = ["supervisor", "consumer", "consumer#2", "audit", "main", "GET /items", "GET /items#2",
             "GET /items#4", "GET /items#5"]
    outcomes = {"consumer": "failed", "consumer#2": "ok", "supervisor": "ok", "GET /items": "ok",
                "GET /items#5": "ok", "audit": "ok"}
    doc = {"scenario": NAME, "files": [path.name], "args": [], "problems": problems,
           "expected": expected, "clean": clean, "outcomes": outcomes}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    run(out)
