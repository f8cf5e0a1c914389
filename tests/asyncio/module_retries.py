"""module_retries: retry loops that number their attempts with stage(..., attempt=n) and log no
retry word, logged by coroner_asyncio.

usage: python3 module_retries.py OUTDIR -> OUTDIR/module_retries.jsonl, OUTDIR/module_retries.truth.json

- pull-1..pull-50: up to 3 attempts of `with stage("pull", attempt=n)` around a 2 ms request
  that may raise ConnectionError (the stage logs it), an exponential backoff between them, then
  "apply". pull-4, pull-15, pull-38 fail on the first attempt and succeed on the second; pull-27
  fails twice and succeeds on the third: clean (retried at most: the attempt number grew after
  the error). pull-9 fails three times, gives up, applies a cached copy and ends ok:
  *lost-exception* (the last error was never retried: swallowed). pull-44 fails three times and
  raises: it failed and said so, and main gathers it with return_exceptions=True: clean, failed.
- push-1..push-20: a single attempt each (`stage("push", attempt=1)`), clean; push-12 raises
  ValueError inside the stage, the task catches it and ends ok: *lost-exception* (an attempt
  number that never grows retried nothing).
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

NAME = "module_retries"
FAILURES = {4: 1, 15: 1, 38: 1, 27: 2, 9: 3, 44: 3}


async def request(n, attempt):
    await asyncio.sleep(0.002)
    if attempt <= FAILURES.get(n, 0):
        raise ConnectionError("pull %d: connection reset (attempt %d)" % (n, attempt))


async def pull(n):
    for attempt in range(1, 4):
        try:
            with stage("pull", attempt=attempt):
                await request(n, attempt)
            break
        except ConnectionError:
            if attempt == 3:
                if n == 44:
                    raise
                stage("use cached copy")
                break
            await asyncio.sleep(0.003 * 2 ** attempt)
    stage("apply")
    await asyncio.sleep(0.001)


async def push(n):
    try:
        with stage("push", attempt=1):
            await asyncio.sleep(0.002)
            if n == 12:
                raise ValueError("push 12: payload too large")
    except ValueError:
        pass
    stage("pushed")


async def main(log):
    asyncio.current_task().set_name("main")
    ca.install(stream=log, scope=True)
    tasks = []
    for n in range(1, 51):
        tasks.append(asyncio.create_task(pull(n), name="pull-%d" % n))
        if n <= 20:
            tasks.append(asyncio.create_task(push(n), name="push-%d" % n))
        await asyncio.sleep(0.002)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return sorted(t.get_name() for t, r in zip(tasks, results) if isinstance(r, BaseException))


def truth(files):
    scope = {"pid": str(os.getpid()), "hostname": socket.gethostname()}
    expected = [{"task": t, "scope": scope, "kinds": ["lost-exception"]} for t in ("pull-9", "push-12")]
    clean = ["main"] + ["pull-%d" % n for n in range(1, 51) if n != 9]
    clean += ["push-%d" % n for n in range(1, 21) if n != 12]
    outcomes = {"pull-44": "failed", "pull-27": "ok", "pull-4": "ok"}
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean,
            "outcomes": outcomes}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    t = truth([NAME + ".jsonl"])
    with open(out / (NAME + ".jsonl"), "w") as log:
        failed = asyncio.run(main(log))
    if failed != ["pull-44"]:
        t["problems"] = ["failed tasks %s, expected pull-44 alone" % failed]
    (out / (NAME + ".truth.json")).write_text(json.dumps(t, indent=1) + "\n")
