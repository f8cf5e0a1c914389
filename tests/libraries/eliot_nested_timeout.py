"""eliot_nested_timeout: a timeout inside a nested eliot action, which its parent action passes on.

usage: /usr/bin/python3 eliot_nested_timeout.py OUTDIR
  -> OUTDIR/eliot_nested_timeout.jsonl and .truth.json

eliot as its documentation shows for asyncio: to_file(), one start_task per order, a nested
start_action per step. Ten orders ("process_order"), each "apply_coupon" then "fetch_price"; order
4's "reserve_stock" action waits for the stock service with asyncio.wait_for(..., 0.02), which
takes 1 s: the action fails with TimeoutError, and so does process_order, through which the
exception passes (eliot logs each action's end with the exception). One timeout, told once:
*timeout* reserve_stock. Its parent failed only because it did: its own timeout would be a second
problem for the one fault. Clean: every other action (process_order of the other orders,
their steps). main gathers the orders with return_exceptions=True.
"""

import asyncio
import json
import sys
from pathlib import Path

from eliot import start_action, start_task, to_file

from eliot_service import read_actions

REQUIRES = ("eliot",)  # read by run_scenarios.py: skipped where the python lacks it
NAME = "eliot_nested_timeout"


async def order(n):
    with start_task(action_type="process_order", order_id=n):
        with start_action(action_type="apply_coupon", order_id=n):
            await asyncio.sleep(0.001)
        if n == 4:
            with start_action(action_type="reserve_stock", order_id=n):
                await asyncio.wait_for(asyncio.sleep(1), timeout=0.02)
        with start_action(action_type="fetch_price", order_id=n):
            await asyncio.sleep(0.003)


async def main():
    await asyncio.gather(*(order(n) for n in range(10)), return_exceptions=True)


def truth(path):
    actions = read_actions(path)
    problems = []
    stuck = [aid for aid, a in actions.items() if a["type"] == "reserve_stock"]
    parent = [aid for aid, a in actions.items()
              if a["type"] == "process_order" and a["fields"].get("order_id") == 4]
    if len(stuck) != 1 or len(parent) != 1:
        problems.append("want one reserve_stock and its process_order, got %s %s" % (stuck, parent))
    elif actions[parent[0]].get("status") != "failed" or "Timeout" not in str(
            actions[parent[0]].get("exception")):
        problems.append("process_order of order 4 did not fail of the TimeoutError")
    clean = [aid for aid in actions if aid not in stuck + parent]
    return {"scenario": NAME, "files": [path.name], "args": [],
            "expected": [{"task": t, "kinds": ["timeout"]} for t in stuck],
            "clean": clean + parent, "problems": problems}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    path = out / (NAME + ".jsonl")
    with open(path, "w") as log:
        to_file(log)
        asyncio.run(main())
    (out / (NAME + ".truth.json")).write_text(json.dumps(truth(path), indent=1) + "\n")
