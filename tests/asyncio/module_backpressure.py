"""module_backpressure: a pipeline of bounded queues whose sink dies, and asyncio.Condition
watchers, logged by coroner_asyncio.

usage: python3 module_backpressure.py OUTDIR
       -> OUTDIR/module_backpressure.jsonl, OUTDIR/module_backpressure.truth.json

- reader -> Queue(maxsize=4) -> parser-1, parser-2 -> Queue(maxsize=4) -> writer. The writer
  groups 5 records into a flush-N task (2 ms) that it awaits; at record 31 it meets a record it
  cannot encode and dies with UnicodeError (logged as its failed end; main keeps a reference and
  never awaits it: in neither list). With no consumer left the second queue fills, the parsers
  block in `put`, the first queue fills and the reader blocks in `put`: reader, parser-1,
  parser-2 *hung* (or blocked). flush-1..flush-6: clean.
- config: watch-1..watch-5 `async with cond: await cond.wait_for(newer)` on an
  asyncio.Condition, and log "reloaded" for each of the 4 versions the publisher announces
  every 20 ms with notify_all(); after version 4 they end: clean, and so is publisher.
- flags: flag-1..flag-3 wait on a second Condition for a "ready" flag; flag-publisher raises
  KeyError while computing it, before notify_all (its failed end is logged; main awaits it in a
  try/except and logs "flags unavailable"): flag-1..flag-3 *hung*; flag-publisher in neither list.
- api-1..api-60: short requests (parse, lookup 2-3 ms, respond): clean.
main, after the work, waits 0.4 s, writes a task-less shutdown record and the process ends with
os._exit(0) (no cancellation is logged): main in neither list.
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

NAME = "module_backpressure"
STATE = {"version": 0, "ready": False}


async def reader(raw):
    for i in range(200):
        stage("read")
        await raw.put({"n": i, "text": "row %d" % i if i != 30 else "row \udc80"})


async def parser(raw, parsed):
    while True:
        rec = await raw.get()
        stage("parse")
        await asyncio.sleep(0.001)
        await parsed.put(rec)


async def flush(batch):
    stage("encode")
    await asyncio.sleep(0.002)
    stage("fsync")


async def writer(parsed):
    batch, n = [], 0
    while True:
        rec = await parsed.get()
        stage("accumulate")
        rec["text"].encode("utf-8")  # a lone surrogate: UnicodeEncodeError, the writer dies
        batch.append(rec)
        if len(batch) == 5:
            n += 1
            await asyncio.create_task(flush(batch), name="flush-%d" % n)
            batch = []


async def watch(cond, seen=0):
    while seen < 4:
        async with cond:
            await cond.wait_for(lambda: STATE["version"] > seen)
            seen = STATE["version"]
        stage("reloaded", version=seen)


async def publisher(cond):
    for v in range(1, 5):
        await asyncio.sleep(0.02)
        stage("publish", version=v)
        async with cond:
            STATE["version"] = v
            cond.notify_all()


async def flag_waiter(cond):
    stage("waiting for flags")
    async with cond:
        await cond.wait_for(lambda: STATE["ready"])
    stage("flags loaded")


async def flag_publisher(cond):
    stage("compute flags")
    await asyncio.sleep(0.005)
    flags = {"a": 1}
    if flags["beta"]:  # KeyError: the flags are never published
        async with cond:
            STATE["ready"] = True
            cond.notify_all()


async def api(n):
    stage("parse")
    await asyncio.sleep(0.001)
    stage("lookup")
    await asyncio.sleep(0.002 + n % 2 / 1000)
    stage("respond")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    raw, parsed = asyncio.Queue(maxsize=4), asyncio.Queue(maxsize=4)
    cond, flag_cond = asyncio.Condition(), asyncio.Condition()
    stuck = [asyncio.create_task(reader(raw), name="reader")]
    stuck += [asyncio.create_task(parser(raw, parsed), name="parser-%d" % i) for i in (1, 2)]
    stuck += [asyncio.create_task(flag_waiter(flag_cond), name="flag-%d" % i) for i in (1, 2, 3)]
    the_writer = asyncio.create_task(writer(parsed), name="writer")
    healthy = [asyncio.create_task(watch(cond), name="watch-%d" % i) for i in range(1, 6)]
    healthy.append(asyncio.create_task(publisher(cond), name="publisher"))
    flags = asyncio.create_task(flag_publisher(flag_cond), name="flag-publisher")
    for n in range(1, 61):
        healthy.append(asyncio.create_task(api(n), name="api-%d" % n))
        await asyncio.sleep(0.002)
    try:
        await flags
    except KeyError:
        stage("flags unavailable")
    await asyncio.wait(healthy, timeout=2)
    await asyncio.sleep(0.4)
    ca.emit({"task": None, "stage": "shutdown"})
    ok = all(t.done() and t.exception() is None for t in healthy) and not any(t.done() for t in stuck)
    return ok and isinstance(the_writer.exception(), UnicodeError)


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}

    def entry(task, *kinds):
        return {"task": task, "scope": scope, "kinds": list(kinds)}

    expected = [entry(t, "hung", "blocked") for t in ("reader", "parser-1", "parser-2")]
    expected += [entry("flag-%d" % i, "hung", "blocked") for i in (1, 2, 3)]
    clean = ["watch-%d" % i for i in range(1, 6)] + ["publisher"]
    clean += ["flush-%d" % i for i in range(1, 7)] + ["api-%d" % n for n in range(1, 61)]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": {"writer": "failed", "flush-6": "ok", "watch-1": "ok"}}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    t = truth([NAME + ".jsonl"])
    log = open(out / (NAME + ".jsonl"), "w")
    if not asyncio.new_event_loop().run_until_complete(main(log)):
        t["problems"] = ["the healthy tasks did not all end ok, a stuck one ended, or the writer lived"]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
    log.flush()
    os._exit(0)
