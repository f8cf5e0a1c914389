#!/usr/bin/env python3
"""coroner --format chrome writes trace-event JSON that Perfetto and chrome://tracing open.

    check_chrome_trace.py CORONER TRACE...

For each trace, and for a generated log of 6000 tasks (past the 5000 that go in whole): a
`traceEvents` list; every complete event ("X") has a name, pid, tid, ts and dur >= 0; a task's
stage slices lie inside its task slice; every flow start ("s") has its finish ("f") with the
same id, and each end sits inside a slice of its task's track; every track is named; the
metadata says whether all tasks or only the flagged ones are in, and the flagged ones always are.
An await arrow leaves the waiter when it began to wait (its earliest record naming the await),
not when the awaited task started; an unfinished task's time after its last record is one slice
of its own, "silent until the log ends", and no stage slice reaches into it.
"""
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import datetime, timezone

failures = 0


def check(ok, what):
    global failures
    if not ok:
        failures += 1
        print("  FAIL: %s" % what)
    return ok


def run(coroner, *args):
    r = subprocess.run([coroner, *args], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit("coroner %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_trace(coroner, path, expect_all):
    print("%s: coroner --format chrome" % os.path.basename(path))
    doc = json.loads(run(coroner, "--format", "chrome", path))
    report = json.loads(run(coroner, "--format", "json", path))
    if not check(isinstance(doc, dict) and isinstance(doc.get("traceEvents"), list),
                 "a JSON object with a traceEvents list"):
        return
    events = doc["traceEvents"]
    meta = doc.get("otherData", {})
    check(meta.get("tasks_included") == ("all" if expect_all else "flagged"),
          "otherData.tasks_included is %r (got %r)" % ("all" if expect_all else "flagged",
                                                       meta.get("tasks_included")))
    for e in events:
        if not check(isinstance(e, dict) and e.get("ph") in ("X", "i", "s", "f", "M"),
                     "an event of a known phase: %r" % (e,)):
            return
        check(number(e.get("pid")) and number(e.get("tid")), "pid and tid are numbers: %r" % (e,))
        check(isinstance(e.get("name"), str), "every event has a name: %r" % (e,))
        if e["ph"] != "M":
            check(number(e.get("ts")), "ts is a number: %r" % (e,))

    complete = [e for e in events if e["ph"] == "X"]
    check(len(complete) > 0, "complete events")
    for e in complete:
        check(number(e.get("dur")) and e["dur"] >= 0, "X event with dur >= 0: %r" % (e,))
    tasks = {}  # (pid, tid) -> task slice
    for e in complete:
        if e.get("cat") == "task":
            check((e["pid"], e["tid"]) not in tasks, "one task slice a track: %r" % (e,))
            tasks[(e["pid"], e["tid"])] = e
    check(len(tasks) == meta.get("tasks_in_trace"),
          "a track per task (%d, otherData says %r)" % (len(tasks), meta.get("tasks_in_trace")))
    eps = 0.002
    for e in complete:
        if e.get("cat") not in ("stage", "silence"):
            continue
        t = tasks.get((e["pid"], e["tid"]))
        if check(t is not None, "a stage slice on a task's track: %r" % (e,)):
            check(t["ts"] - eps <= e["ts"] and e["ts"] + e["dur"] <= t["ts"] + t["dur"] + eps,
                  "stage %r inside its task's slice" % e["name"])

    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"}
    processes = {e["pid"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
    for key in tasks:
        check(key in names, "track %r is named" % (key,))
        check(key[0] in processes, "process %r is named" % key[0])
    named = {n.split(" [")[0] for n in names.values()}
    for t in report["tasks"]:
        check(t["task"] in named, "flagged task %s has a track" % t["task"])

    flows = defaultdict(list)
    for e in events:
        if e["ph"] in ("s", "f"):
            check("id" in e, "a flow event has an id: %r" % (e,))
            flows[e.get("id")].append(e)
    for fid, pair in flows.items():
        phases = sorted(x["ph"] for x in pair)
        if not check(phases == ["f", "s"], "flow %r is one s and one f (got %r)" % (fid, phases)):
            continue
        for x in pair:
            t = tasks.get((x["pid"], x["tid"]))
            if check(t is not None, "flow %r ends on a task's track" % fid):
                check(t["ts"] - eps <= x["ts"] <= t["ts"] + t["dur"] + eps,
                      "flow %r's %s inside its task's slice" % (fid, x["ph"]))
        finish = [x for x in pair if x["ph"] == "f"][0]
        check(finish.get("bp") == "e", "flow %r finish binds to its enclosing slice" % fid)
    awaits = sum(len(t["awaits"]) for t in report["tasks"])
    if awaits and expect_all:
        check(any(x[0]["name"] == "awaits" for x in flows.values()), "await arrows are drawn")
    check_silence(complete, tasks, names, report)
    check_await_moments(flows, names, meta, path)
    print("  %d events, %d tracks, %d flows" % (len(events), len(tasks), len(flows)))


def track_names(names):
    """The task of each track, without the kinds of its findings."""
    return {key: n.split(" [")[0] for key, n in names.items()}


def check_silence(complete, tasks, names, report):
    """An open task ends in one silence slice from its last record; its stages stop there."""
    task_of = track_names(names)
    silences = defaultdict(list)
    for e in complete:
        if e.get("cat") == "silence":
            silences[(e["pid"], e["tid"])].append(e)
            check(e["name"] == "silent until the log ends", "a silence is named so: %r" % (e,))
    by_name = defaultdict(list)
    for key, name in task_of.items():
        by_name[name].append(key)
    eps = 0.002
    for t in report["tasks"]:
        keys = by_name.get(t["task"], [])
        if len(keys) != 1 or t["outcome"] != "open" or not t["events"]:
            continue
        key = keys[0]
        mine = silences.get(key, [])
        if not check(len(mine) == 1, "open task %s has one silence slice (got %d)" % (t["task"], len(mine))):
            continue
        quiet, whole = mine[0], tasks[key]
        check(abs(quiet["ts"] + quiet["dur"] - (whole["ts"] + whole["dur"])) <= eps,
              "%s's silence lasts until its slice ends (the log's end)" % t["task"])
        for e in complete:
            if (e["pid"], e["tid"]) == key and e.get("cat") == "stage":
                check(e["ts"] + e["dur"] <= quiet["ts"] + eps,
                      "%s's stage %r stops where its silence starts" % (t["task"], e["name"]))
    for key in silences:
        ended = [t for t in report["tasks"] if t["task"] == task_of.get(key) and t["outcome"] != "open"]
        check(not ended or len(by_name[task_of[key]]) > 1,
              "only unfinished tasks are silent (%s)" % task_of.get(key))
    print("  %d silent tails" % len(silences))


def microseconds_since(iso, ts):
    start = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (ts - start.timestamp()) * 1e6


def check_await_moments(flows, names, meta, path):
    """For a log that names awaits as {"ts", "task", "awaits"}: each await arrow leaves at the
    waiter's earliest record that names it."""
    began = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if not isinstance(r, dict) or "awaits" not in r or "task" not in r or "ts" not in r:
                continue
            awaited = r["awaits"] if isinstance(r["awaits"], list) else [r["awaits"]]
            for a in awaited:
                key = (str(r["task"]), str(a))
                began[key] = min(began.get(key, r["ts"]), r["ts"])
    if not began:
        return
    task_of = track_names(names)
    seen = 0
    for pair in flows.values():
        start = [x for x in pair if x["ph"] == "s"]
        finish = [x for x in pair if x["ph"] == "f"]
        if not start or not finish or start[0]["name"] != "awaits":
            continue
        key = (task_of[(start[0]["pid"], start[0]["tid"])], task_of[(finish[0]["pid"], finish[0]["tid"])])
        if key not in began:
            continue
        seen += 1
        want = microseconds_since(meta["log_start"], began[key])
        check(abs(start[0]["ts"] - want) <= 1.5,
              "the arrow %s awaits %s leaves when the wait began (+%.1fus, got +%.1fus)"
              % (key[0], key[1], want, start[0]["ts"]))
    check(seen > 0, "await arrows of the log's named awaits are drawn")
    print("  %d await arrows leave when their wait began" % seen)


def big_log(directory):
    """6000 tasks that end ok, one that hangs and one that awaits it."""
    path = os.path.join(directory, "big.jsonl")
    t = 1795610793.0
    with open(path, "w") as f:
        for i in range(6000):
            for stage in ("start", "work", "done"):
                f.write(json.dumps({"ts": t, "task_id": "t%d" % i, "stage": stage}) + "\n")
                t += 0.0001
        f.write(json.dumps({"ts": t, "task_id": "stuck", "stage": "start"}) + "\n")
        f.write(json.dumps({"ts": t + 0.001, "task_id": "stuck", "stage": "work"}) + "\n")
        f.write(json.dumps({"ts": t + 0.001, "task_id": "waiter", "stage": "start"}) + "\n")
        f.write(json.dumps({"ts": t + 0.002, "task_id": "waiter", "stage": "work",
                            "awaits": "stuck"}) + "\n")
        for i in range(6000, 6200):
            for stage in ("start", "work", "done"):
                t += 0.01
                f.write(json.dumps({"ts": t + 1, "task_id": "t%d" % i, "stage": stage}) + "\n")
    return path


def check_big_log_wait(coroner, path):
    """waiter began to wait on stuck 2 ms after stuck started: the arrow leaves then, and
    stuck's track ends in silence, not in a stage 'work' lasting until the log ends."""
    doc = json.loads(run(coroner, "--format", "chrome", path))
    events = doc["traceEvents"]
    tid = {e["args"]["name"].split(" [")[0]: e["tid"] for e in events
           if e["ph"] == "M" and e["name"] == "thread_name"}
    slices = {(e["tid"], e.get("cat")): e for e in events if e["ph"] == "X"}
    stuck_start = slices[(tid["stuck"], "task")]["ts"]
    arrows = [e for e in events if e["ph"] == "s" and e["name"] == "awaits" and e["tid"] == tid["waiter"]]
    if check(len(arrows) == 1, "waiter has one await arrow"):
        check(abs(arrows[0]["ts"] - (stuck_start + 2000)) <= 1.5,
              "the arrow leaves 2 ms after stuck started, when waiter began to wait (%.1f, stuck at %.1f)"
              % (arrows[0]["ts"], stuck_start))
    quiet = slices.get((tid["stuck"], "silence"))
    if check(quiet is not None, "stuck's track has a silence slice"):
        check(abs(quiet["ts"] - (stuck_start + 1000)) <= 1.5, "its silence starts at its last record")
        check(quiet.get("cname") == "grey", "silence has a colour of its own (cname grey)")
        check(quiet["args"].get("last_stage") == "work", "silence says the stage it fell silent in")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    coroner = sys.argv[1]
    for path in sys.argv[2:]:
        check_trace(coroner, path, expect_all=True)
    with tempfile.TemporaryDirectory() as d:
        big = big_log(d)
        check_trace(coroner, big, expect_all=False)
        check_big_log_wait(coroner, big)
    print("%d check(s) failed" % failures if failures else "chrome trace: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
