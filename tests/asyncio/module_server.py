"""module_server: a TCP service in serve_forever, stopped by SIGTERM, logged by coroner_asyncio.

usage: python3 module_server.py OUTDIR   -> OUTDIR/module_server.jsonl, OUTDIR/module_server.truth.json

The program starts itself again as a child (`--child`) that runs the service and, 0.6 s in, sends
itself SIGTERM (as systemd or a container runtime stops a service). main starts an
asyncio.start_server, logs the stage "serving" and awaits server.serve_forever(): that is what a
server does until it is stopped, and the module's pending record says so ("asyncio.Server.
serve_forever on 127.0.0.1:PORT"). The parent checks how the child died and writes the truth.

- main: *in-flight*, subkind idle (serving, waiting for connections), never hung, though it
  logged nothing for half a second.
- client-1..client-30 connect, send a line, read the echo: clean. Their connections' handler
  tasks (asyncio names them Task-N) log "read request" and "respond": clean, but in neither list
  by name. client-13 sends "stall": its handler awaits an asyncio.Event nobody sets, and
  client-13 waits for the echo: both stuck (*hung*; the handler is the one named by its
  "read request" record's task, found by the parent in the log). client-13 waits in a read of
  a connection it opened ("asyncio.StreamReader.read of a connection to ..."): no work, stuck.
- keepalive-1..keepalive-3 send two lines a connection ("keepalive"), read each echo, then keep
  the connection open and sleep: their handlers (Task-N, logging "keep-alive request" for each
  line) wait in reader.readline() for a third request when the process stops: *in-flight*,
  subkind idle ("asyncio.StreamReader.read of a connection served on ..."), never hung, as a
  keep-alive HTTP server's connections are at any shutdown.
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

NAME = "module_server"
CLIENTS = 30
STALLING = 13
KEEPALIVE = 3


async def handle(stage, never, reader, writer):
    stage("read request")
    line = await reader.readline()
    while line.startswith(b"keepalive"):  # answer each line until the client closes
        stage("keep-alive request")
        writer.write(line)
        await writer.drain()
        line = await reader.readline()
        if not line:
            writer.close()
            return
    if line.startswith(b"stall"):
        stage("stalled request")
        await never.wait()  # nobody ever sets it
    stage("respond")
    writer.write(line)
    await writer.drain()
    writer.close()


async def client(stage, port, n):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"stall\n" if n == STALLING else b"hello %d\n" % n)
    await writer.drain()
    stage("await echo")
    await reader.readline()
    stage("echoed")
    writer.close()


async def keepalive(stage, port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for n in range(2):
        writer.write(b"keepalive %d\n" % n)
        await writer.drain()
        await reader.readline()
    stage("connection kept open")
    await asyncio.sleep(30)  # the next request would come later


async def child_main(log):
    import coroner_asyncio as ca
    from coroner_asyncio import stage
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    never = asyncio.Event()
    server = await asyncio.start_server(lambda r, w: handle(stage, never, r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for n in range(1, CLIENTS + 1):
        asyncio.create_task(client(stage, port, n), name="client-%d" % n)
    for n in range(1, KEEPALIVE + 1):
        asyncio.create_task(keepalive(stage, port), name="keepalive-%d" % n)
    asyncio.get_running_loop().call_later(0.6, os.kill, os.getpid(), signal.SIGTERM)
    stage("serving", port=port)
    async with server:
        await server.serve_forever()


def parent(out):
    path = out / (NAME + ".jsonl")
    _, problems = _sigterm_child.run_child(__file__, out)
    try:
        recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as e:
        recs, problems = [], problems + ["cannot read the child's log: %s" % e]
    stalled = [r["task"] for r in recs if r.get("stage") == "stalled request"]
    if len(stalled) != 1:
        problems.append("want one stalled handler, got %s" % stalled)
    kept = sorted({r["task"] for r in recs if r.get("stage") == "keep-alive request"})
    if len(kept) != KEEPALIVE:
        problems.append("want %d keep-alive handlers, got %s" % (KEEPALIVE, kept))
    for r in recs:
        if r.get("coroner") == "pending" and r.get("task") in kept and " served on " not in str(
                r.get("waiting_for")):
            problems.append("%s's pending record does not say it serves a connection: %s"
                            % (r["task"], r.get("waiting_for")))
    serving = [r for r in recs if r.get("task") == "main" and r.get("coroner") == "pending"]
    if not serving or not str(serving[0].get("waiting_for", "")).startswith("asyncio.Server.serve_forever"):
        problems.append("main's pending record does not say it serves: %s" % serving)
    pids = {r.get("pid") for r in recs if r.get("pid") is not None}
    scope = {"pid": str(pids.pop()) if len(pids) == 1 else "?", "hostname": socket.gethostname()}
    for p in problems:
        print("module_server: " + p, file=sys.stderr)
    expected = [{"task": "main", "scope": scope, "kinds": ["in-flight/idle"]},
                {"task": "client-%d" % STALLING, "scope": scope, "kinds": ["hung", "blocked"]}]
    expected += [{"task": t, "scope": scope, "kinds": ["hung"]} for t in stalled[:1]]
    expected += [{"task": t, "scope": scope, "kinds": ["in-flight/idle"]} for t in kept]
    clean = ["main"] + ["client-%d" % n for n in range(1, CLIENTS + 1) if n != STALLING]
    clean += kept + ["keepalive-%d" % n for n in range(1, KEEPALIVE + 1)]
    doc = {"scenario": NAME, "files": [path.name], "args": [], "problems": problems,
           "expected": expected, "clean": clean}
    (out / (NAME + ".truth.json")).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    _sigterm_child.main(NAME, child_main, parent)
