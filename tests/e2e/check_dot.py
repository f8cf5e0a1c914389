#!/usr/bin/env python3
"""Graphviz must accept `coroner graph` output: run it on the sample traces and pipe to dot.

usage: check_dot.py CORONER SAMPLE_TRACES_DIR   (exit 77, meson's skip, when dot is missing)
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path


def main():
    coroner, traces = sys.argv[1], Path(sys.argv[2])
    dot = shutil.which("dot")
    if not dot:
        print("dot (graphviz) is not installed: skipped")
        return 77
    failures = 0
    for trace in sorted(traces.glob("*.jsonl")):
        graph = subprocess.run([coroner, "graph", str(trace)], capture_output=True, text=True)
        if graph.returncode != 0:
            print(f"FAIL {trace.name}: coroner graph exited {graph.returncode}: {graph.stderr}")
            failures += 1
            continue
        svg = subprocess.run([dot, "-Tsvg"], input=graph.stdout, capture_output=True, text=True)
        if svg.returncode != 0 or "<svg" not in svg.stdout:
            print(f"FAIL {trace.name}: dot rejected the graph: {svg.stderr.strip()}")
            failures += 1
            continue
        print(f"ok   {trace.name}: {graph.stdout.count(' -> ')} edges drawn")
    # The json form parses, and --around cuts a neighbourhood smaller than the whole.
    deadlock = str(traces / "deadlock.jsonl")
    whole = json.loads(subprocess.run([coroner, "graph", "--format", "json", deadlock],
                                      capture_output=True, text=True, check=True).stdout)
    kinds = {k for n in whole["nodes"] for k in n["findings"]}
    if not {"deadlock", "blocked"} <= kinds:
        print(f"FAIL graph json: expected deadlock and blocked nodes, got {sorted(kinds)}")
        failures += 1
    # Each waiting task's await that ended last is marked: the edges of the critical paths.
    awaits = [e for e in whole["edges"] if e["kind"] == "awaits"]
    if not awaits or not all(isinstance(e.get("critical"), bool) for e in awaits):
        print("FAIL graph json: every awaits edge says whether it is on a critical path")
        failures += 1
    waiters = {e["from"] for e in awaits}
    critical_from = [e["from"] for e in awaits if e["critical"]]
    if len(critical_from) != len(set(critical_from)) or not critical_from:
        print("FAIL graph json: one critical await per waiting task, at least one in all")
        failures += 1
    if not set(critical_from) <= waiters:
        failures += 1
    member = next(n["task"] for n in whole["nodes"] if "deadlock" in n["findings"])
    near = json.loads(subprocess.run([coroner, "graph", "--format", "json", "--around", member,
                                      "--depth", "1", deadlock],
                                     capture_output=True, text=True, check=True).stdout)
    if not 1 < len(near["nodes"]) < len(whole["nodes"]):
        print(f"FAIL --around {member} --depth 1: {len(near['nodes'])} nodes of {len(whole['nodes'])}")
        failures += 1
    missing = subprocess.run([coroner, "graph", "--around", "no-such-task", deadlock],
                             capture_output=True, text=True)
    if missing.returncode != 2 or "no-such-task" not in missing.stderr:
        print(f"FAIL --around an unknown task: exit {missing.returncode}, {missing.stderr!r}")
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
