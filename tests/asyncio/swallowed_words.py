"""swallowed_words: payments whose failures are told only by a stage word, among many healthy ones.

usage: python3 swallowed_words.py OUTDIR
       -> OUTDIR/swallowed_words.jsonl, OUTDIR/swallowed_words.truth.json

Each record is print(json.dumps({"ts", "task", "stage"})) or, for the end, {"ts", "task",
"status": "done" | "failed"} (stdout redirected to the log). pay-1..pay-150 run authorize ->
fx lookup -> charge (asyncio.wait_for(gateway(), timeout=0.03)) -> receipt -> done, started 2 ms
apart, so many tasks end ok (and coroner folds them) while the faulty ones run.

- CHARGE_TIMEOUT (pay-17, pay-88): the gateway sleeps 0.2 s, wait_for expires, the task catches
  the TimeoutError, logs the stage "charge timed out" (no level, no exception field) and ends
  "done" without a receipt. Expected: timeout, or lost-exception (swallowed): the timeout never
  reached the task's outcome.
- FX_FAILED (pay-41, pay-120): the rate service answers nothing, the task logs the stage
  "fx lookup failed" (no level, no exception field), falls back to a default rate, charges and
  ends "done". Expected: lost-exception (swallowed): its error is told only by the stage word.
- DECLINED (pay-63, pay-130): the gateway declines; the task logs status "failed" with the error
  and main gathers it with return_exceptions=True. It failed and said so: clean.
Clean: every other payment, and the declined ones.
"""

import asyncio
import json
import sys
import time
from pathlib import Path

NAME = "swallowed_words"
COUNT = 150
CHARGE_TIMEOUT = {17, 88}
FX_FAILED = {41, 120}
DECLINED = {63, 130}


class CardDeclined(Exception):
    pass


def log(task, **fields):
    print(json.dumps(dict({"ts": time.time(), "task": task}, **fields)))


async def gateway(n):
    await asyncio.sleep(0.2 if n in CHARGE_TIMEOUT else 0.002 + (n % 4) * 0.001)
    if n in DECLINED:
        raise CardDeclined("insufficient funds")
    return "ch_%d" % n


async def fx_rate(n):
    await asyncio.sleep(0.001 + (n % 3) * 0.001)
    return None if n in FX_FAILED else 1.08


async def pay(n):
    task = "pay-%d" % n
    log(task, stage="authorize")
    await asyncio.sleep(0.002 + (n % 5) * 0.001)
    log(task, stage="fx lookup")
    rate = await fx_rate(n)
    if rate is None:
        log(task, stage="fx lookup failed")  # the only trace of the error
        rate = 1.0
    log(task, stage="charge")
    try:
        await asyncio.wait_for(gateway(n), timeout=0.03)
    except asyncio.TimeoutError:
        log(task, stage="charge timed out")  # caught, and the task "succeeds"
        log(task, status="done")
        return
    except CardDeclined as e:
        log(task, status="failed", error="CardDeclined: %s" % e)
        raise
    log(task, stage="receipt")
    await asyncio.sleep(0.001)
    log(task, status="done")


async def main():
    tasks = []
    for n in range(1, COUNT + 1):
        tasks.append(asyncio.create_task(pay(n)))
        await asyncio.sleep(0.002)
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"ts": time.time(), "stage": "shutdown"}))


def truth(files):
    expected = [{"task": "pay-%d" % n, "scope": {}, "kinds": ["timeout", "lost-exception/swallowed"]}
                for n in sorted(CHARGE_TIMEOUT)]
    expected += [{"task": "pay-%d" % n, "scope": {}, "kinds": ["lost-exception/swallowed"]} for n in sorted(FX_FAILED)]
    bad = CHARGE_TIMEOUT | FX_FAILED
    clean = ["pay-%d" % n for n in range(1, COUNT + 1) if n not in bad]
    return {"scenario": NAME, "files": files, "args": [], "expected": expected, "clean": clean}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth([NAME + ".jsonl"]), indent=1) + "\n")
    with open(out / (NAME + ".jsonl"), "w") as f:
        sys.stdout = f
        try:
            asyncio.run(main())
        finally:
            sys.stdout = sys.__stdout__
