"""eliot_service: the service of _service.py logged with eliot actions.

usage: /usr/bin/python3 eliot_service.py OUTDIR [--batch]
  -> OUTDIR/eliot_service[_batch].jsonl and .truth.json (see _service.py for the faults)

Set up as eliot's documentation shows: to_file(open(path, "w")); every task of the service runs
inside `with start_action(action_type=KIND, ...)` (a job: action_type "job", job_id=N), each
stage inside a nested `with start_action(action_type="fetch")` (parse, store, download, ...),
other records are log_message(message_type="KIND:EVENT", ...), a caught exception is logged with
write_traceback(). eliot.stdlib.EliotHandler on the root logger turns stdlib records (asyncio's
own messages) into "eliot:stdlib" messages (and, with exc_info, an "eliot:traceback" message).
Eliot's context is a contextvar, so an asyncio task created inside an action logs inside it: a
job started by pipeline is an action nested in pipeline's.

Coroner's eliot dialect: an action is a task, its id task_uuid for a root action (start
message at task_level [1]) and task_uuid + "/" + the task_level prefix joined by "/" for a
nested one ([3, 1] -> UUID/3, [3, 2, 1] -> UUID/3/2); a message belongs to the action whose
prefix it extends; a message outside any action (task_level [1], no action_status) to no task;
a "failed" action whose exception is asyncio.exceptions.CancelledError is cancelled. After the
run the program reads its log back, finds each planted action's id and writes those ids into
the truth (the names of _service.py become ids; every name must be found, else a problem).

How the faults look here (what the truth says, beyond _service.py's names):
- job-stuck is a "job" action (job_id 0) nested in report's "report" action, and its "fetch"
  action, nested in it, never ends: that fetch action is hung; job-stuck and report are
  blocked (root: that fetch action) or hung. No awaits field: the nesting is the wait.
- swap-a, swap-b are root "swap" actions; each logs "swap:waiting_for_reply" with awaits = the
  other's task_uuid (its id): deadlock, cycle exactly the two ids.
- job-12, job-31: their "fetch" action fails with builtins.TimeoutError, the job logs the
  traceback (write_traceback) and its action fails with the TimeoutError too: the job action
  is timeout; the fetch action is in neither list (the timeout happened in it).
- job-20 logs the ValueError with write_traceback() between its parse and store actions and
  its action succeeds: lost-exception (swallowed).
- fire-and-forget runs a root "refresh" action that fails with KeyError; asyncio's "Task
  exception was never retrieved ... name='fire-and-forget'" arrives as an eliot:stdlib
  message outside any action: coroner reports it under the asyncio task name fire-and-forget
  (the expected entry). The refresh action is in neither list (it failed and said so).
- job-25: cancelled by pipeline mid-fetch: its fetch action and its job action fail with
  asyncio.exceptions.CancelledError: clean, outcome cancelled (both).
- job-38: its parse action fails with ValueError and so does its job action; pipeline gathers
  it: clean, outcome failed (both: the parse action's exception reached its parent).
Clean also: the pipeline, crawler, producer and consumer actions, every healthy job and crawl
action, every nested action that succeeded (the stages of the faulty tasks too) and every
nested action of a clean one.
"""

import contextvars
import json
import logging

from eliot import current_action, log_message, start_action, to_file, write_traceback
from eliot.stdlib import EliotHandler

import _service

REQUIRES = ("eliot",)  # read by run_scenarios.py: skipped where the python lacks it
FORMS = ("", "--batch")  # read by run_scenarios.py: the service form, then the batch form
NAME = "eliot_service"
# The task_uuid of the current asyncio task's own action when that is a root action (its id for
# coroner), None when it is nested (its id depends on its task_level, which eliot keeps to itself).
ROOT_UUID = contextvars.ContextVar("root_uuid", default=None)


class Eliot(_service.Adapter):
    def __init__(self, path):
        self.file = open(path, "w")
        to_file(self.file)
        root = logging.getLogger()
        root.addHandler(EliotHandler())
        root.setLevel(logging.INFO)
        self.actions = {}  # task name -> (action_type, fields): to find it in the log

    def task(self, name, kind, **fields):
        self.actions[name] = (kind, fields)
        nested = current_action() is not None
        action = start_action(action_type=kind, **fields)  # logs the start message now
        ROOT_UUID.set(None if nested else action.task_uuid)  # this asyncio task's context only
        return action

    def current_id(self):
        return ROOT_UUID.get()

    def stage(self, name):
        return start_action(action_type=name.replace(" ", "_"))

    def note(self, event, **fields):
        log_message(message_type="service:" + event.replace(" ", "_"), **fields)

    def done(self):
        pass  # the action's "succeeded" end says it

    def swallowed(self, event):
        write_traceback()

    def timed_out(self, event):
        write_traceback()

    def failed(self, event):
        pass  # the action's "failed" end carries the exception

    def cancelled(self, event):
        pass  # the action's "failed" end carries the CancelledError

    def outside(self, event, **fields):
        log_message(message_type="service:%s" % event.replace(" ", "_"), **fields)

    def close(self):
        self.file.flush()

    def finish_truth(self, truth, log_path):
        return rewrite(truth, log_path, self.actions)


def read_actions(log_path):
    """{id: {"type", "fields", "parent": id or None, "status": last action_status, "exception"}}
    from the log, ids as coroner's eliot dialect makes them."""
    actions = {}
    for line in log_path.read_text().splitlines():
        m = json.loads(line)
        status = m.get("action_status")
        if status is None:
            continue
        level = m["task_level"]
        prefix = level[:-1]
        aid = m["task_uuid"] + "".join("/%d" % x for x in prefix)
        if status == "started":
            parent = None
            if prefix:
                parent = m["task_uuid"] + "".join("/%d" % x for x in prefix[:-1])
            fields = {k: v for k, v in m.items() if k not in ("task_uuid", "task_level", "timestamp", "action_type", "action_status")}
            actions[aid] = {"type": m["action_type"], "fields": fields, "parent": parent, "status": status}
        elif aid in actions:
            actions[aid]["status"] = status
            actions[aid]["exception"] = m.get("exception")
    return actions


def rewrite(truth, log_path, planted):
    actions = read_actions(log_path)
    problems = truth["problems"]
    ids = {}
    for name, (kind, fields) in planted.items():
        found = [aid for aid, a in actions.items()
                 if a["type"] == kind and all(a["fields"].get(k) == v for k, v in fields.items())]
        if len(found) == 1:
            ids[name] = found[0]
        else:
            problems.append("%d actions %s %s in the log for %s, want 1" % (len(found), kind, fields, name))

    def child(name, kind):
        kids = [aid for aid, a in actions.items() if a["parent"] == ids.get(name) and a["type"] == kind]
        if len(kids) != 1:
            problems.append("%d %s actions under %s, want 1" % (len(kids), kind, name))
            return "%s(%s)" % (name, kind)
        return kids[0]

    def idof(name):
        return ids.get(name, name)

    hung_fetch = child(_service.HUNG, "fetch")
    expected = []
    for e in truth["expected"]:
        e = dict(e)
        if e["task"] == _service.HUNG:
            expected.append(dict(e, task=hung_fetch))
            e = dict(e, kinds=["blocked", "hung"], root=hung_fetch)
        elif e["task"] == _service.BLOCKED:
            e["root"] = hung_fetch
        if e["task"] != _service.NEVER_RETRIEVED:  # asyncio names it by its asyncio task name
            e["task"] = idof(e["task"])
        if "cycle" in e:
            e["cycle"] = [idof(t) for t in e["cycle"]]
        expected.append(e)
    truth["expected"] = expected

    faulty = {idof("job-%d" % n) for n in _service.TIMEOUTS} | {idof("job-%d" % _service.SWALLOWS)}
    neither = set(faulty) | {idof(_service.NEVER_RETRIEVED), idof(_service.HUNG), idof(_service.BLOCKED)}
    neither |= {idof(t) for t in _service.DEADLOCK} | {hung_fetch}
    clean = [idof(t) for t in truth["clean"]]
    # nested actions (stages, later jobs): clean when they succeeded or their parent is clean
    # (job-25's cancelled fetch, job-38's failed parse); the failed fetch of a timed-out job and
    # the open fetch of job-stuck stay out
    for aid, a in actions.items():  # in log order: a parent before its children
        if a["parent"] is not None and aid not in clean and aid not in neither:
            if a["status"] == "succeeded" or a["parent"] in clean:
                clean.append(aid)
    truth["clean"] = clean

    outcomes = {idof(t): o for t, o in truth["outcomes"].items()}
    outcomes[child("job-%d" % _service.CANCELLED, "fetch")] = "cancelled"
    outcomes[child("job-%d" % _service.FAILS, "parse")] = "failed"
    truth["outcomes"] = outcomes
    truth["names"] = {name: ids[name] for name in sorted(ids) if name in (
        _service.HUNG, _service.BLOCKED, _service.NEVER_RETRIEVED, "pipeline", *_service.DEADLOCK,
        *("job-%d" % n for n in (*_service.TIMEOUTS, _service.SWALLOWS, _service.CANCELLED, _service.FAILS)))}
    truth["names"][_service.HUNG + "/fetch"] = hung_fetch
    return truth


if __name__ == "__main__":
    _service.run(NAME, Eliot)
