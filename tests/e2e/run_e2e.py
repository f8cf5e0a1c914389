#!/usr/bin/env python3
"""End-to-end tests: run the built coroner as a user would and check stdout, stderr and the exit
status.

    python3 tests/e2e/run_e2e.py build/coroner [-k SUBSTRING] [-v]

Each test is a function named test_*; a failed check raises AssertionError with what was seen.
Tests listed in KNOWN_BUGS (empty today) describe behaviour the man page promises that the code does
not have yet: they run, and are reported as XFAIL or XPASS (fixed: remove them from the list),
without failing the suite. Exit status 0 when every other test passes, 1 otherwise.
"""

import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
FIXTURES = os.path.join(TESTS, "fixtures")
# A real trace with three tasks still in flight at shutdown (sample_traces/README.md).
IN_FLIGHT_TRACE = os.path.join(os.path.dirname(TESTS), "sample_traces", "seed_pipeline.jsonl")
LOGS = os.path.join(HERE, "logs")
BINARY = None  # set in main()

# Test name -> why it is expected to fail today. Keep each entry until the code is fixed.
KNOWN_BUGS = {}

SEED = os.path.join(FIXTURES, "seed_print.jsonl")
HEALTHY_SEED_TASKS = ["1", "2", "4", "5", "7", "9", "11", "12"]


class Result:
    def __init__(self, args, proc):
        self.args = args
        self.status = proc.returncode
        self.out = proc.stdout.decode("utf-8", errors="replace")
        self.err = proc.stderr.decode("utf-8", errors="replace")

    def __repr__(self):
        return "coroner %s\n  exit %d\n  stdout: %r\n  stderr: %r" % (
            " ".join(self.args), self.status, self.out[:1500], self.err[:1500])


def run(*args, stdin=None, env=None, input_bytes=None, cwd=None):
    """Runs coroner with `args`; stdin is a path, bytes (input_bytes) or nothing (/dev/null)."""
    environment = dict(os.environ)
    environment.pop("NO_COLOR", None)
    environment.pop("COLUMNS", None)  # text wraps only where a test asks it to
    if env:
        environment.update(env)
    kwargs = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment, timeout=60,
                  cwd=cwd)
    if input_bytes is not None:
        kwargs["input"] = input_bytes
        proc = subprocess.run([BINARY, *args], **kwargs)
    elif stdin is not None:
        with open(stdin, "rb") as f:
            proc = subprocess.run([BINARY, *args], stdin=f, **kwargs)
    else:
        proc = subprocess.run([BINARY, *args], stdin=subprocess.DEVNULL, **kwargs)
    result = Result(list(args), proc)
    # Whatever happens, coroner never dies of a signal, and under the sanitizers never trips one
    # (their exit status 1 would pass for "findings").
    check(result.status >= 0, "killed by signal %d" % -result.status, result)
    for sign in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        check(sign not in result.err, "sanitizer report", result)
    return result


def check(condition, what, result=None):
    if not condition:
        raise AssertionError(what + ("\n" + repr(result) if result is not None else ""))


def expect_status(result, status):
    check(result.status == status, "expected exit %d" % status, result)


def expect_one_error_line(result, *needles):
    """Exit 2, nothing on stdout, one line on stderr: 'coroner: ...' naming each needle."""
    expect_status(result, 2)
    check(result.out == "", "expected nothing on stdout", result)
    lines = result.err.splitlines()
    check(len(lines) == 1, "expected exactly one line on stderr", result)
    check(lines[0].startswith("coroner: "), "stderr must start with 'coroner: '", result)
    for needle in needles:
        check(needle in lines[0], "stderr must name %r" % needle, result)


def report(*args, **kwargs):
    """The JSON report of a run, checked for its shape."""
    result = run("--format", "json", *args, **kwargs)
    check(result.status in (0, 1), "a report exits 0 or 1", result)
    try:
        doc = json.loads(result.out)
    except ValueError as e:
        raise AssertionError("--format json is not JSON: %s\n%r" % (e, result))
    check(doc.get("schema") == "coroner.report/1", "schema must be coroner.report/1", result)
    check(isinstance(doc.get("findings"), list), "findings must be a list", result)
    for f in doc["findings"]:
        for key in ("kind", "task", "scope", "severity", "reason"):
            check(key in f, "finding without %r: %r" % (key, f))
        check(isinstance(f["task"], str), "task must be a string: %r" % f)
        check(f["severity"] in ("info", "warning", "error"), "bad severity: %r" % f)
        check(isinstance(f["reason"], str) and f["reason"], "empty reason: %r" % f)
        check("\n" not in f["reason"], "a reason is one line: %r" % f)
    return doc, result


def verdicts(doc):
    """The findings without where their evidence is: the same log from another file, a pipe or
    with a line more says the same things at other places."""
    out = []
    for f in doc["findings"]:
        f = {k: v for k, v in f.items() if k != "where"}
        if f.get("root_cause"):
            f["root_cause"] = {k: v for k, v in f["root_cause"].items() if k != "where"}
        out.append(f)
    return out


def kinds_by_task(doc):
    out = {}
    for f in doc["findings"]:
        name = f["kind"] + ("/" + f["subkind"] if f.get("subkind") else "")
        out.setdefault(f["task"], []).append(name)
    return out


def fixture(name):
    return os.path.join(FIXTURES, name)


def log(name):
    return os.path.join(LOGS, name)


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="coroner-e2e-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


ESCAPE = "\x1b["

# ---------------------------------------------------------------------------------------------
# analyze: the report formats


def test_text_report_seed():
    r = run(SEED)
    expect_status(r, 1)
    check(r.err == "", "nothing on stderr", r)
    check("35 records, 12 tasks" in r.out, "summary counts", r)
    check("learned:" in r.out and "'save_to_db'" in r.out, "says the end stage was learned", r)
    check("outcomes: 9 ok, 0 failed, 1 timed out, 0 cancelled, 2 open" in r.out, "outcomes", r)
    # One problem a heading: its kind, how many tasks, and what they share.
    check(re.search(r"^hung x2  in stage 'transform'$", r.out, re.M), "the hung problem", r)
    check(re.search(r"^timeout  in stage 'transform'$", r.out, re.M), "the timeout problem", r)
    check(re.search(r"^lost-exception/swallowed  ValueError in stage 'validate'$", r.out, re.M),
          "the swallowed ValueError problem", r)
    check("findings: 2 hung, 1 timeout, 1 lost-exception (3 problems)" in r.out, "3 problems", r)
    # Information is no problem: in-flight tasks are listed, not counted as problems.
    info = run("--kind", "in-flight", IN_FLIGHT_TRACE)
    expect_status(info, 0)
    check(re.search(r"^findings: 3 in-flight$", info.out, re.M), "in flight, no problem counted",
          info)
    check(re.search(r"^  6  timed out", r.out, re.M), "task 6 timed out", r)
    check(re.search(r"^  10  ValueError: invalid item 10", r.out, re.M),
          "task 10 swallowed its ValueError", r)
    # The evidence's place, and the command to run next, ready to paste.
    check(re.search(r"^      .*seed_print\.jsonl:27: the error at 12:34:27\.237414", r.out, re.M),
          "file:line and the log's own time of task 10's error", r)
    check("  next: coroner timeline 10 " + SEED + "\n" in r.out, "the next command", r)
    # The flagged task's timeline: its stages with times.
    check(re.search(r"^\s+\d\d:\d\d:\d\d\.\d{6}\s+fetch_data timed out", r.out, re.M),
          "task 6's timeline", r)
    check(ESCAPE not in r.out, "no colour into a pipe", r)


def test_text_reports_end_no_line_in_a_blank():
    # The timeline's padded columns once left blanks at the end of a row with nothing after it.
    traces = os.path.join(os.path.dirname(TESTS), "sample_traces")
    paths = [SEED, fixture("damaged.jsonl"), fixture("jsonlogger.jsonl")] + sorted(
        os.path.join(traces, name) for name in os.listdir(traces) if name.endswith(".jsonl"))
    for path in paths:
        for args in (["--top", "0"], ["stats"], ["schema"]):
            r = run(*args, path)
            blank = [line for line in r.out.splitlines() if line != line.rstrip()]
            check(not blank, "no line ends in a blank (%s): %r" % (" ".join(args), blank[:3]), r)


def test_json_report_seed():
    doc, r = report(SEED)
    expect_status(r, 1)
    by_task = kinds_by_task(doc)
    check(by_task.get("6") == ["timeout"], "task 6 timed out: %r" % by_task)
    check(by_task.get("10") == ["lost-exception/swallowed"], "task 10 swallowed: %r" % by_task)
    for t in HEALTHY_SEED_TASKS:
        check(t not in by_task, "healthy task %s flagged: %r" % (t, by_task))
    check(doc["summary"]["tasks"] == 12, "12 tasks", r)
    check(doc["summary"]["outcomes"]["ok"] == 9, "9 ok", r)
    for f in doc["findings"]:
        check(f["scope"] == {}, "the seed has no scope: %r" % f)
    stages = {s["stage"] for s in doc["stages"]}
    check({"validate", "transform", "save_to_db"} <= stages, "stage statistics", r)


def test_files_that_share_no_stage_learn_each_their_own_end():
    # Three programs' logs, two with no word for done: each learns its end, and only the task
    # that stopped short in each is hung.
    logs = [os.path.join(TESTS, "unit", "logs", "workflows", name + ".jsonl")
            for name in ("orders", "images", "fetch")]
    doc, r = report(*logs)
    expect_status(r, 1)
    check(sorted(kinds_by_task(doc)) == ["a5", "b3", "c2"], "only the stuck tasks: %r"
          % kinds_by_task(doc), r)
    learned = doc["learned"]
    check(learned["end_stage"] == "save_to_db", "the end most tasks reach first", r)
    check([(e["end_stage"], e["tasks_ending_there"], e["tasks"]) for e in learned["end_stages"]]
          == [("save_to_db", 5, 6), ("upload", 3, 4)], "every group's end", r)
    text = run(*logs)
    check("at 'upload' in another group (3 of 4)" in text.out, "the learned: line names both",
          text)


def test_rare_stages_folded_into_other_join_no_files():
    # Two programs' logs, each with one rare stage: --max-stages folds both into one "(other)",
    # which is no stage the two programs share.
    with tempfile.TemporaryDirectory() as tmp:
        logs = []
        for name, stages, rare in (("orders", ("validate", "transform", "save_to_db"), "audit"),
                                   ("images", ("download", "resize", "upload"), "thumbnail")):
            lines = []
            for n in range(12):
                steps = list(stages)
                if n == 3:
                    steps.insert(1, rare)
                lines += [json.dumps({"ts": 1 + n + k * 0.1, "task_id": "%s-%d" % (name, n),
                                      "stage": stage}) for k, stage in enumerate(steps)]
            logs.append(os.path.join(tmp, name + ".jsonl"))
            with open(logs[-1], "w") as f:
                f.write("\n".join(lines) + "\n")
        doc, r = report("--max-stages", "6", *logs)
        check("(other)" in {s["stage"] for s in doc["stages"]}, "the rare stages folded", r)
        expect_status(r, 0)
        check([e["end_stage"] for e in doc["learned"]["end_stages"]] == ["save_to_db", "upload"],
              "each program's end", r)


def test_seed_hung_tasks():
    doc, _ = report(SEED)
    by_task = kinds_by_task(doc)
    check(by_task.get("3") == ["hung"] and by_task.get("8") == ["hung"],
          "tasks 3 and 8 are hung: %r" % by_task)


def test_ndjson_report_seed():
    doc, _ = report(SEED)
    r = run("--format", "ndjson", SEED)
    expect_status(r, 1)
    lines = r.out.splitlines()
    check(len(lines) == len(doc["findings"]), "one finding a line", r)
    for line, finding in zip(lines, doc["findings"]):
        parsed = json.loads(line)
        check(parsed["kind"] == finding["kind"] and parsed["task"] == finding["task"],
              "ndjson and json agree: %r vs %r" % (parsed, finding))
        for key in ("kind", "task", "scope", "severity", "reason"):
            check(key in parsed, "ndjson finding without %r" % key, r)


def test_ndjson_clean_log_is_empty():
    r = run("--format", "ndjson", fixture("structlog.jsonl"))
    expect_status(r, 0)
    check(r.out == "", "no finding, no line", r)


def test_structlog_failure_is_not_lost():
    doc, r = report(fixture("structlog.jsonl"))
    expect_status(r, 0)
    check(doc["findings"] == [], "structlog.jsonl has no finding", r)
    check(doc["summary"]["outcomes"]["failed"] == 1, "job-07 failed", r)
    check(doc.get("learned") in (None, {}, False), "nothing learned with 'done' in the log", r)


def test_jsonlogger_asyncio_messages():
    doc, r = report(fixture("jsonlogger.jsonl"))
    expect_status(r, 1)
    by_task = kinds_by_task(doc)
    check(by_task.get("Task-8") == ["lost-exception/never-retrieved"], "Task-8: %r" % by_task)
    check(by_task.get("Task-9") == ["destroyed-pending"], "Task-9: %r" % by_task)
    check("Task-1" not in by_task, "Task-1 carried the gc message but lost nothing: %r" % by_task)
    check(len(doc["findings"]) == 2, "exactly two findings", r)


def test_nested_fields_with_field_option():
    # The file first: see test_field_option_before_file for the other order.
    doc, r = report(fixture("nested_fields.jsonl"), "--field", "task=extra.task_id",
                    "--field", "stage=extra.stage")
    by_task = kinds_by_task(doc)
    check(by_task.get("102") == ["hung"], "task 102 hung: %r" % by_task)
    check(set(by_task) == {"102"}, "only 102 flagged: %r" % by_task)
    expect_status(r, 1)


def test_field_option_before_file():
    r = run("--field", "task=extra.task_id", "--field", "stage=extra.stage",
            fixture("nested_fields.jsonl"))
    expect_status(r, 1)
    check("102" in r.out, "task 102 reported", r)
    r = run("--end-stage", "save_to_db", SEED)
    check("learned:" not in r.out and "35 records" in r.out, "--end-stage then FILE", r)


def test_a_stage_word_that_matches_nothing_is_warned_of():
    # A misspelt --end-stage turns the learned end off: every healthy task then looks open. The
    # report is still written, with one warning line naming the word and the value meant.
    r = run("--end-stage", "save_to_dbx", "--fail-stage", "kaboom", SEED)
    expect_status(r, 1)
    lines = r.err.strip().splitlines()
    check(lines == ["coroner: warning: --end-stage 'save_to_dbx' matches no stage or status of the"
                    " log; did you mean 'save_to_db'?",
                    "coroner: warning: --fail-stage 'kaboom' matches no stage or status of the log"],
          "one warning a word, the nearest value when it is near", r)
    check("records" in r.out, "the report is written all the same", r)
    # A stage deadline on a misspelt stage times nothing: said the same way.
    r = run("--stage-deadline", "save_to_dbx=1ms", "--stage-deadline", "validate=1s", SEED)
    check(r.err.strip() == "coroner: warning: --stage-deadline 'save_to_dbx' matches no stage or"
          " status of the log; did you mean 'save_to_db'?", "the misspelt stage only", r)
    # A word that matches, whole or as the value's last part, is no mistake; -q silences all.
    for args in (["--end-stage", "save_to_db"], ["--end-stage", "db", "--start-stage", "validate"],
                 ["-q", "--end-stage", "save_to_dbx"]):
        r = run(*args, SEED)
        check(r.err == "", "no warning for %r" % args, r)
    # A --key field the records lack keeps nothing apart: warned of, with the path it ends.
    r = run("--key", "pid,process.id", fixture("libraries/loguru_service.jsonl"))
    check(r.err.strip().splitlines() == [
        "coroner: warning: --key 'pid' matches no field of the log's first records",
        "coroner: warning: --key 'process.id' matches no field of the log's first records; did "
        "you mean 'record.process.id'?"], "each field the records lack", r)
    r = run("--key", "record.process.id", fixture("libraries/loguru_service.jsonl"))
    check(r.err == "", "no warning for a field the records have", r)
    # merge hears the words too: they act on the store it builds.
    with TempDir() as d:
        state = os.path.join(d, "seed.state")
        expect_status(run("partial", SEED, "-o", state), 0)
        r = run("merge", "--end-stage", "save_to_dbx", state)
        check("did you mean 'save_to_db'?" in r.err, "merge warns too", r)


def test_no_task_field_is_an_input_error():
    # A log coroner cannot read never passes a gate: exit 2, one line saying what is missing,
    # where coroner looked, and the keys the records do have (nested ones too).
    for command in ("analyze", "timeline", "stats", "graph"):
        args = [command] + (["101"] if command == "timeline" else []) + [fixture("nested_fields.jsonl")]
        r = run(*args)
        expect_status(r, 2)
        check(r.out == "", "%s prints no report" % command, r)
        lines = r.err.strip().splitlines()
        check(len(lines) == 1, "%s says it on one line" % command, r)
        check("nested_fields.jsonl: no record names a task" in r.err, "names file and what is missing", r)
        check("looked for task_id, taskId" in r.err, "says where it looked", r)
        check("extra.task_id (" in r.err and "extra.stage (" in r.err, "lists the nested keys the log has", r)
        check("--field task=extra.task_id if that field names the task" in r.err,
              "offers the option for the field that looks like a task's id", r)
    # schema is the tool for this: it still reads the log and exits 0.
    r = run("schema", fixture("nested_fields.jsonl"))
    expect_status(r, 0)
    # Named with --field, the same log reads.
    ok = run("--field", "task=extra.task_id", "--field", "stage=extra.stage", fixture("nested_fields.jsonl"))
    check(ok.status in (0, 1), "reads with --field", ok)


def test_tasks_named_only_by_asyncio_messages_are_no_task_field():
    # A worker logs its jobs by job_id, which coroner does not read by default, and asyncio logs
    # one "Task exception was never retrieved" naming Task-7: the report must not judge that one
    # task and pass over the hundreds of jobs (exit 1 on a log it did not understand).
    never = ("Task exception was never retrieved\nfuture: <Task finished name='Task-7' "
             "coro=<notify() done> exception=ConnectionError('refused')>")
    records = []
    for n in range(40):
        for i, stage in enumerate(("job_received", "resize", "upload")):
            records.append({"timestamp": 1795578788.0 + n / 10 + i / 100, "correlation_id": "c%d" % n,
                            "job_id": n, "msg": stage, "level": "info"})
    records.append({"timestamp": 1795578792.0, "logger": "asyncio", "level": "error", "msg": never})
    with TempDir() as d:
        path = write_log(d, "jobs.jsonl", records)
        r = run(path)
        expect_one_error_line(r, "jobs.jsonl: no record names a task (only asyncio's messages do)",
                              "--field task=job_id if that field names the task")
        # job_id, not correlation_id, seen as often and first: a job says more than an id
        ok = run("--field", "task=job_id", path)
        check("40 tasks" in ok.out or "41 tasks" in ok.out, "with the option, the jobs are read", ok)
        # A program that logs no task's or job's id (a thread's, a user's): asyncio's messages
        # are all there is.
        plain = write_log(d, "plain.jsonl", [{"timestamp": 1795578788.0 + i, "msg": "tick",
                                              "thread_id": 1234, "user_id": "u%d" % i} for i in range(5)]
                          + [{"timestamp": 1795578794.0, "logger": "asyncio", "level": "error", "msg": never}])
        r = run(plain)
        expect_status(r, 1)
        check("never-retrieved" in r.out and "Task-7" in r.out, "the message's task is reported", r)
        # Several files: the message names how many, not a vague "input".
        r = run(path, plain)
        expect_one_error_line(r, "2 files: no record names a task")


def test_times_in_a_form_coroner_does_not_read_are_named():
    # The time field is there (an access-log date, a time of day alone): the message says what it
    # holds, not that no record has a time while listing a field called time.
    with TempDir() as d:
        apache = write_log(d, "apache.jsonl", [
            {"time": "27/Nov/2026:17:20:0%d +0000" % i, "task_id": i % 2, "message": "fetch"}
            for i in range(6)])
        r = run(apache)
        expect_one_error_line(r, "apache.jsonl: no record has a time coroner can read",
                              "time holds '27/Nov/2026:17:20:00 +0000'", "in 6 records",
                              "--field time=NAME")
        clock = write_log(d, "clock.jsonl", [
            {"asctime": "17:20:0%d,000" % i, "task_id": 1, "message": "fetch"} for i in range(3)])
        expect_one_error_line(run(clock), "asctime holds '17:20:00,000'", "a time of day alone has no date")
        # No time field at all: as before, where coroner looked and what the records have.
        none = write_log(d, "none.jsonl", [{"task_id": 1, "message": "fetch"}])
        expect_one_error_line(run(none), "none.jsonl: no record has a time (looked for timestamp")


def test_utf16_log_is_named_as_such():
    # PowerShell's `>` writes UTF-16: said plainly, with the conversion, from a file or a pipe.
    text = '{"ts": 1795578788.0, "task_id": 1, "stage": "fetch"}\n'
    with TempDir() as d:
        for name, data in (("bom.jsonl", text.encode("utf-16")), ("le.jsonl", text.encode("utf-16-le")),
                           ("be.jsonl", text.encode("utf-16-be"))):
            path = os.path.join(d, name)
            with open(path, "wb") as f:
                f.write(data)
            expect_one_error_line(run(path), name + ": is UTF-16 text", "iconv -f UTF-16 -t UTF-8")
        r = run(input_bytes=text.encode("utf-16"))
        expect_one_error_line(r, "<stdin>: is UTF-16 text")


def test_rotated_logs_are_read_oldest_first_at_equal_times():
    # A millisecond clock: the last record of app.log.1 and the first of app.log share a time.
    # Given as the shell lists them (the live file first), the older file's record still goes
    # first, and the file list says oldest first too.
    with TempDir() as d:
        t = 1795578788.0
        older = write_log(d, "app.log.1", [{"ts": t, "task_id": "job", "stage": "fetch"},
                                           {"ts": t + 0.005, "task_id": "job", "stage": "parse"}])
        live = write_log(d, "app.log", [{"ts": t + 0.005, "task_id": "job", "stage": "store"},
                                        {"ts": t + 0.006, "task_id": "job", "stage": "done"}])
        doc, r = report("timeline", "job", live, older)
        stages = [e["stage"] for e in doc["tasks"][0]["events"]]
        check(stages == ["fetch", "parse", "store", "done"], "the stages in the order they were", r)
        doc, r = report(live, older)
        check([os.path.basename(f) for f in doc["input"]["files"]] == ["app.log.1", "app.log"],
              "the files listed oldest first", r)


def test_eliot_asyncio_message_finds_its_action():
    # asyncio's message names the asyncio task; an action that carries that name in a task field
    # is the task it speaks of, else the message is reported under the asyncio name.
    def eliot(uuid, level, **fields):
        return dict(task_uuid=uuid, task_level=level, timestamp=1795712345.0 + len(records) / 100, **fields)
    records = []
    for n in range(6):
        records.append(eliot("u%d" % n, [1], action_type="fetch", action_status="started", task_name="Task-%d" % n))
        records.append(eliot("u%d" % n, [2], action_type="fetch", action_status="succeeded"))
    records.append(eliot("m1", [1], message_type="eliot:stdlib", log_level="ERROR", message=(
        "Task exception was never retrieved\nfuture: <Task finished name='Task-3' coro=<fetch() done> "
        "exception=ValueError('boom')>")))
    records.append(eliot("m2", [1], message_type="eliot:stdlib", log_level="ERROR", message=(
        "Task exception was never retrieved\nfuture: <Task finished name='Task-77' coro=<other() done> "
        "exception=KeyError('k')>")))
    with tempfile.TemporaryDirectory() as tmp:
        doc, r = report(write_log(tmp, "eliot_alias.jsonl", records))
    lost = {f["task"]: f for f in doc["findings"] if f["kind"] == "lost-exception"}
    check(set(lost) == {"u3", "Task-77"}, "the message finds action u3 by its task_name; an unknown name stays", r)
    check(lost.get("u3", {}).get("title") == "fetch", "the action's title is its type", r)
    check(doc["input"]["formats"][0]["dialect"] == "eliot", "read as eliot", r)


def test_multi_line_message_and_traceback_stay_one_line():
    # A formatter that appends the traceback to the message, and an exception whose message goes
    # on over lines: the report shows the stage's first line and the exception's own line.
    records = []
    for i in range(20):
        for n, stage in enumerate(("start", "fetch", "done")):
            records.append({"ts": 1 + i * 0.01 + n * 0.001, "task_id": "t%d" % i, "stage": stage})
    tb = 'Traceback (most recent call last):\n  File "x.py", line 3, in f\n    g()\nValueError: bad row\nrow 7: n/a'
    records += [{"ts": 1.5, "task_id": "x", "stage": "fetch"},
                {"ts": 1.51, "task_id": "x", "stage": "bad thing\n" + tb, "level": "error", "exception": tb},
                {"ts": 1.52, "task_id": "x", "stage": "done"}]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(tmp, "multi_line.jsonl", records)
        r = run(path)
        doc, _ = report(path)
    expect_status(r, 1)
    check("  x  ValueError: bad row in stage 'bad thing', then it carried on" in r.out,
          "the reason has the exception's line and the stage's first line", r)
    check("File \"x.py\"" not in r.out and "row 7" not in r.out, "no traceback spills into the text", r)
    check(all("\n" not in s["stage"] for s in doc["stages"]), "no stage holds a newline", r)


def test_a_log_without_edges_says_what_it_cannot_tell():
    # The seed's log names no parent and no awaited task: a hung task there may be blocked by
    # another, and the reports say that they cannot tell; graph draws only that.
    note = "the log names no parent and no awaited task"
    r = run(SEED)
    check("note: " + note in r.out, "the text report says it beside the hung tasks", r)
    doc, r = report(SEED)
    check(doc["summary"]["note"] and note in doc["summary"]["note"], "json: summary.note", r)
    dot = run("graph", SEED)
    expect_status(dot, 0)
    check(note in dot.out and "cluster" not in dot.out and "->" not in dot.out,
          "graph: the note alone, no cluster of lone tasks", dot)
    g = run("graph", "--format", "json", SEED)
    gdoc = json.loads(g.out)
    check(gdoc["nodes"] == [] and gdoc["edges"] == [] and note in gdoc["note"], "graph json: the note alone", g)
    # A log with edges says nothing of the kind.
    deadlock = os.path.join(os.path.dirname(FIXTURES), "..", "sample_traces", "deadlock.jsonl")
    for args in ([deadlock], ["graph", deadlock]):
        r = run(*args)
        check(note not in r.out, "no note where the log names edges: %s" % " ".join(args[:-1]), r)


def test_the_printed_name_of_a_scoped_task_opens_exactly_it():
    # Task-23 in two processes is two tasks; the reports print "Task-23 (pid=1)", and that is
    # what a user pastes: it must open that task alone, while the bare id opens both.
    # Every record says hostname=vm: that tells the processes nothing, and the name leaves it out.
    records = []
    for pid in (1, 2):
        for n in range(10):
            t = "Task-%d" % (20 + n)
            where = {"pid": pid, "hostname": "vm", "task_id": t}
            records += [dict(where, ts=1 + n * 0.01, stage="start"), dict(where, ts=1.002 + n * 0.01, stage="fetch")]
            if not (pid == 2 and n == 3):
                records.append(dict(where, ts=1.004 + n * 0.01, stage="done"))
    records.append({"ts": 3, "pid": 1, "hostname": "vm", "task_id": "Task-99", "stage": "start"})
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(tmp, "scoped.jsonl", records)
        report_text = run(path)
        check("Task-23 (pid=2)" in report_text.out, "the report prints the scoped name", report_text)
        check("hostname" not in report_text.out, "a scope field with one value in the log is left out", report_text)
        full = run("timeline", "Task-23 (pid=2 hostname=vm)", path)
        check(full.out.count("outcome:") == 1, "the name with every scope field opens it too", full)
        page = run("--format", "html", path)
        check('"scope_fields":["pid"]' in page.out, "the page shows the scope fields that vary", page)
        one = run("timeline", "Task-23 (pid=2)", path)
        expect_status(one, 0)
        check(one.out.count("outcome:") == 1 and "(pid=2)" in one.out, "the printed name opens one task", one)
        both = run("timeline", "Task-23", path)
        check(both.out.count("outcome:") == 2, "the bare id opens the task in every process", both)
        only = run("--format", "json", "--task", "Task-23 (pid=2)", path)
        doc = json.loads(only.out)
        check([f["task"] for f in doc["findings"]] == ["Task-23"] and
              doc["findings"][0]["scope"] == {"pid": "2", "hostname": "vm"}, "--task takes the printed name", only)
        around = run("graph", "--around", "Task-23 (pid=1)", path)
        expect_status(around, 0)
        none = run("timeline", "Task-23 (pid=7)", path)
        expect_status(none, 2)


def test_a_spawn_is_not_called_a_wait():
    # An orphan's and an unobserved child's chain is their parent: the text says "spawned by",
    # never "waits on"; a stuck task's timeline has no critical path.
    tree = os.path.join(os.path.dirname(TESTS), "sample_traces", "task_tree.jsonl")
    r = run("--kind", "orphan,lost-exception", "--top", "0", tree)
    check("spawned by: sync-1\n" in r.out and "spawned by: batch-1\n" in r.out, "the parent is what spawned it", r)
    check("waits on: sync-1/heartbeat" not in r.out and "waits on: batch-1/part-2" not in r.out,
          "no 'waits on' for a spawn", r)
    stuck = run("timeline", "mailer", os.path.join(os.path.dirname(TESTS), "sample_traces", "deadlock.jsonl"))
    check("outcome: open" in stuck.out and "critical path" not in stuck.out, "a stuck task has no critical path", stuck)


def test_no_time_or_stage_is_an_input_error():
    with tempfile.TemporaryDirectory() as tmp:
        check_no_time_or_stage(tmp)


def check_no_time_or_stage(tmp):
    no_time = write_log(tmp, "no_time_at_all.jsonl", [{"task_id": "a", "stage": "fetch", "when": 5},
                                                      {"task_id": "a", "stage": "done"}])
    r = run(no_time)
    expect_status(r, 2)
    check("no record has a time (looked for timestamp, ts" in r.err and "when (1)" in r.err,
          "no time: says so and lists the keys", r)
    no_stage = write_log(tmp, "no_stage.jsonl", [{"ts": 1, "task_id": "a", "what": "fetch"},
                                                 {"ts": 2, "task_id": "a", "what": "x"}])
    r = run(no_stage)
    expect_status(r, 2)
    check("no task record has a stage or a status (looked for stage, event" in r.err,
          "no stage: says so", r)


def test_no_time_fixture_is_clean():
    doc, r = report(fixture("no_time.jsonl"))
    expect_status(r, 0)
    check(doc["findings"] == [], "no_time.jsonl has no finding", r)
    check(doc["summary"]["outcomes"]["ok"] == 3, "3 ok", r)


def test_threads_give_the_same_report():
    # The records reach the tasks in input order whatever thread parsed them.
    for path in (SEED, fixture("damaged.jsonl"), fixture("jsonlogger.jsonl"), IN_FLIGHT_TRACE):
        one = run("--format", "json", "-j", "1", path)
        for threads in ("2", "4"):
            many = run("--format", "json", "-j", threads, path)
            check(many.out == one.out and many.status == one.status,
                  "-j %s gives the -j 1 report on %s" % (threads, os.path.basename(path)), many)
    bad = run("-j", "0", SEED)
    expect_status(bad, 2)


def test_threads_give_the_same_report_over_many_chunks():
    # Several megabytes: the chunks are parsed by different threads (the delivering one too),
    # some straight into the tasks and some through batches. Escaped strings are copied into a
    # batch, plain ones are spans of the chunk; damaged lines are counted in place.
    with TempDir() as d:
        path = os.path.join(d, "many.jsonl")
        with open(path, "w") as f:
            for i in range(60000):
                task = 'job-\\"%d' % (i % 700) if i % 5 == 0 else "job-%d" % (i % 700)
                stage = ("caf\u00e9", "load", "save", "done")[i % 4]
                f.write(json.dumps({"timestamp": 1795578788 + i / 1000, "task": task,
                                    "stage": stage, "awaits": ["job-%d" % ((i + 1) % 700)]}))
                f.write("\n")
                if i % 9973 == 0:
                    f.write('{"timestamp": 1, "task": "broken\n')
        one = run("--format", "json", "-j", "1", path)
        doc = json.loads(one.out)
        check(doc["input"]["bad_lines"] == 7 and doc["input"]["records"] == 60000,
              "7 bad lines counted, no record lost around them", one)
        for threads in ("2", "3"):
            many = run("--format", "json", "-j", threads, path)
            check(many.out == one.out and many.status == one.status,
                  "-j %s gives the -j 1 report over many chunks" % threads, many)
            strict = run("--strict", "-j", threads, path)
            check(strict.status == 2 and "many.jsonl:2: " in strict.err,
                  "-j %s --strict stops at the first bad line" % threads, strict)


def test_compressed_inputs_match_plain():
    plain, _ = report(SEED)
    for name in ("seed_print.jsonl.gz", "seed_print.jsonl.zst", "compressed_noext"):
        doc, r = report(fixture(name))
        expect_status(r, 1)
        check(verdicts(doc) == verdicts(plain), "%s: same findings as the plain file" % name)


def test_several_files_are_one_log():
    r = run(fixture("no_time.jsonl"), fixture("structlog.jsonl"))
    expect_status(r, 0)
    check("2 files: 62 records, 13 tasks" in r.out, "two files summarised as one log", r)


def test_timeline_of_a_task_pending_at_exit():
    # worker-1 was pending when its process stopped, and asyncio.run then logged its
    # cancellation: judged at the stop, it is open there, and ran until then.
    sample = os.path.join(os.path.dirname(TESTS), "sample_traces", "shutdown.jsonl")
    r = run("timeline", "worker-1", sample)
    expect_status(r, 0)
    first = r.out.splitlines()[0]
    check(first.startswith("worker-1  outcome: open (pending when its process stopped), ran 803ms"),
          "the header says it was pending at the stop, and times it to the stop", r)
    r = run("timeline", "3008", IN_FLIGHT_TRACE)
    check("outcome: timed-out, ran 33.1ms" in r.out and "pending" not in r.out,
          "a task not pending at any stop has the plain header", r)


def test_rotated_logs_in_glob_order():
    # A log rotated twice, given as `coroner app.log*` lists it: newest first. Tasks that cross
    # a rotation must not look unfinished in one file and restarted in the next.
    sample = IN_FLIGHT_TRACE
    with open(sample) as f:
        lines = f.read().splitlines(keepends=True)
    whole, _ = report(sample)
    with tempfile.TemporaryDirectory() as tmp:
        third = len(lines) // 3
        pieces = {"app.log.2": lines[:third], "app.log.1": lines[third:2 * third],
                  "app.log": lines[2 * third:]}
        for name, piece in pieces.items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write("".join(piece))
        glob_order = [os.path.join(tmp, n) for n in sorted(pieces)]
        for threads in ("1", "2"):
            doc, r = report("-j", threads, *glob_order)
            check(verdicts(doc) == verdicts(whole),
                  "-j %s: rotated logs in glob order find what the whole log finds" % threads, r)
            check(doc["summary"] == whole["summary"],
                  "-j %s: rotated logs in glob order: the whole log's outcomes" % threads, r)
        text_newest_first = run(*glob_order)
        text_oldest_first = run(*reversed(glob_order))
        check(text_newest_first.out == text_oldest_first.out.replace(
            " ".join(reversed(glob_order)), " ".join(glob_order)),
            "the order the rotated files are given in changes nothing", text_newest_first)


# ---------------------------------------------------------------------------------------------
# exit statuses and errors


def test_exit_status_by_fail_on():
    expect_status(run(fixture("structlog.jsonl")), 0)
    expect_status(run(SEED), 1)
    expect_status(run("--fail-on", "timeout", SEED), 1)
    expect_status(run("--fail-on", "lost-exception", SEED), 1)
    # Kinds the log does not have: 0, even with findings of other kinds.
    expect_status(run("--fail-on", "deadlock,orphan,anomaly", SEED), 0)
    expect_status(run("--fail-on", "destroyed-pending", fixture("jsonlogger.jsonl")), 1)
    expect_status(run("--fail-on", "hung", fixture("jsonlogger.jsonl")), 0)
    # in-flight is information, not a default failing kind, but --fail-on can make it one.
    expect_status(run("--fail-on", "in-flight", IN_FLIGHT_TRACE), 1)
    expect_status(run("--fail-on", "in-flight", SEED), 0)
    # A blocked task is a hung one whose root cause is known: the default fails on it.
    blocked = os.path.join(TESTS, "unit", "logs", "blocked_on_failed.jsonl")
    expect_status(run(blocked), 1)
    expect_status(run("--fail-on", "timeout", blocked), 0)


def test_failed_tasks_without_a_finding_are_named():
    # "1 failed" alone left a person to grep for which task it was: the text names it with its
    # exception, the JSON summary lists it; a failed root cause of blocked tasks is named there.
    errors = os.path.join(TESTS, "unit", "logs", "errors.jsonl")
    r = run(errors)
    check(re.search(r"^failed: failed_end: ValueError: bad payload$", r.out, re.M),
          "the failed task, with its exception", r)
    doc, r = report(errors)
    check(doc["summary"]["failed_tasks"] == [{"task": "failed_end", "scope": {},
                                              "error": "ValueError: bad payload"}]
          and doc["summary"]["failed_tasks_omitted"] == 0, "failed_tasks in the summary", r)
    # --task and --kind choose what is shown: no failed task beside it.
    for chosen in (["--task", "retried"], ["--kind", "retried"]):
        r = run(*chosen, errors)
        check(not re.search(r"^failed: ", r.out, re.M), "%s: no failed line" % chosen[0], r)
    blocked = os.path.join(TESTS, "unit", "logs", "blocked_on_failed.jsonl")
    r = run(blocked)
    check("(root cause: " in r.out and not re.search(r"^failed: ", r.out, re.M),
          "a failed root cause is not named twice", r)


def test_whole_second_times_are_told():
    # A datefmt without milliseconds: every silence is rounded to a second, and a person reading
    # "in flight" must know why it could not be told from a short stall.
    with TempDir() as d:
        path = os.path.join(d, "seconds.jsonl")
        with open(path, "w") as f:
            for i in range(12):
                f.write('{"time": "2026-11-28T03:00:%02dZ", "task_id": "job-%d", "stage": "start"}\n'
                        % (i, i))
                f.write('{"time": "2026-11-28T03:00:%02dZ", "task_id": "job-%d", "stage": "done"}\n'
                        % (i + 1, i))
        r = run(path)
        check(re.search(r"^whole seconds: every time in the log is a whole second", r.out, re.M),
              "the note", r)
        doc, r = report(path)
        check(doc["input"]["whole_second_times"] is True, "input.whole_second_times", r)
    doc, r = report(SEED)
    check(doc["input"]["whole_second_times"] is False, "not for a log with fractions", r)


def test_local_times_beside_utc_are_told_and_read_at_their_offset():
    # Two components, one logging its local time (UTC-5) with no zone, one UTC: read as UTC the
    # api's records run 5 hours before the worker's, and the job the worker dropped hides among
    # jobs that all seem to wait 5 hours. The header says so and names the option that fixes it.
    api = os.path.join(FIXTURES, "local_time_api.jsonl")
    worker = os.path.join(FIXTURES, "local_time_worker.jsonl")
    r = run(api, worker)
    check(re.search(r"^times: .*local_time_api.jsonl writes its times with no zone, read as UTC, "
                    r"and they run 5h00m before those of .*local_time_worker.jsonl.*"
                    r"--naive-offset=-05:00 reads them so$", r.out, re.M), "the note", r)
    check("hung" not in r.out, "read as UTC, the dropped job passes for in flight", r)
    doc, r = report(api, worker)
    naive = doc["input"]["naive_times"]
    check(naive and naive["offset"] == "-05:00" and naive["file"].endswith("local_time_api.jsonl")
          and naive["utc_file"].endswith("local_time_worker.jsonl")
          and -18001 < naive["apart_s"] < -17999, "input.naive_times", r)
    for offset in (["--naive-offset=-05:00"], ["--naive-offset", "-0500"]):
        r = run(*offset, api, worker)
        check(r.status == 1 and not re.search(r"^times: ", r.out, re.M), "%s: no note" % offset, r)
        check(re.search(r"^hung +in stage 'job enqueued'\n  1 task", r.out, re.M)
              and "job-17" in r.out, "%s: the dropped job is hung" % offset, r)
        check(re.search(r"^coroner 2 files: 158 records, 40 tasks, 1\.\d+s of log", r.out, re.M),
              "%s: a second and a half of log" % offset, r)
        # Shown as the api wrote it: its local clock, not UTC.
        enqueued = [json.loads(line) for line in open(api) if '"job-17"' in line][-1]
        check(enqueued["timestamp"][11:26] in r.out, "the api's local time shown as written", r)
    # Partial states read with the option merge to the same findings; one read without it
    # does not merge with them.
    with TempDir() as d:
        with_offset = os.path.join(d, "with.state")
        without = os.path.join(d, "without.state")
        run("partial", "--naive-offset=-05:00", api, worker, "-o", with_offset)
        run("partial", api, worker, "-o", without)
        direct = run("--naive-offset=-05:00", api, worker)
        merged = run("merge", with_offset)
        check(merged.status == 1 and merged.out.split("\n", 1)[1] == direct.out.split("\n", 1)[1],
              "merge of a state read with --naive-offset", merged)
        r = run("merge", with_offset, without)
        check(r.status == 2 and "--naive-offset" in r.err, "states read otherwise do not merge", r)
    # The same logs with the api's times in UTC (as a server in UTC writes them): no note.
    with TempDir() as d:
        utc_api = os.path.join(d, "api.jsonl")
        with open(api) as src, open(utc_api, "w") as out:
            for line in src:
                record = json.loads(line)
                hour = int(record["timestamp"][11:13]) + 5
                day = int(record["timestamp"][8:10]) + hour // 24
                record["timestamp"] = "%s%02dT%02d%s" % (record["timestamp"][:8], day, hour % 24,
                                                         record["timestamp"][13:])
                out.write(json.dumps(record) + "\n")
        r = run(utc_api, worker)
        check(not re.search(r"^times: ", r.out, re.M) and "job-17" in r.out, "UTC: no note", r)
    check(run("--naive-offset=5h", api).status == 2, "a bad offset is a usage error")


def test_a_local_clock_set_back_is_told():
    # Local times with no zone across daylight saving's end: 01:59:59.9 is followed by 01:00:00.
    # Read as UTC, the log seemed an hour long and the job stuck before the step seemed to have
    # stopped just now. The header says where the clock stepped back.
    with TempDir() as d:
        records = []
        clock = [(1, 59, 59.0 + i * 0.05) for i in range(19)] + [(1, 0, i * 0.05) for i in range(40)]
        for n, (hour, minute, second) in enumerate(clock):
            records.append({"timestamp": "2026-11-01T%02d:%02d:%06.3f" % (hour, minute, second),
                            "task_id": "job-%d" % (n // 2), "stage": "work" if n % 2 == 0 else "done"})
        path = write_log(d, "dst.jsonl", records)
        r = run(path)
        check(re.search(r"^times: .*dst.jsonl's times, with no zone, step back 1h00m at line 20: a "
                        r"local clock set back", r.out, re.M), "the note", r)
        doc, r = report(path)
        back = doc["input"]["clock_set_back"]
        check(back and back["line"] == 20 and 3590 < back["step_s"] < 3600, "input.clock_set_back",
              r)
        # The same log in UTC: no step back, no note.
        for record in records:
            record["timestamp"] += "Z"
        zoned = write_log(d, "dst_utc.jsonl", records)
        check(not re.search(r"^times: ", run(zoned).out, re.M), "not for times in UTC")
        # Records of processes interleaved step back by milliseconds: no note.
        records = [{"timestamp": "2026-11-01T01:00:%06.3f" % (i * 0.05 - (0.01 if i % 3 else 0)),
                    "task_id": "job-%d" % (i // 2), "stage": "work" if i % 2 == 0 else "done"}
                   for i in range(1, 40)]
        check(not re.search(r"^times: ", run(write_log(d, "jitter.jsonl", records)).out, re.M),
              "not for a few milliseconds back")


def test_a_pid_on_only_some_task_records_is_no_scope():
    # A dispatcher logs each job without a pid, the worker with its pid: one task a job, not a
    # dispatched half left unfinished; --key pid reads the pid as asked.
    with TempDir() as d:
        path = os.path.join(d, "jobs.jsonl")
        with open(path, "w") as f:
            for i in range(8):
                f.write('{"ts": %d.0, "task_id": "job-%d", "stage": "dispatched"}\n' % (1795610000 + i, i))
                f.write('{"ts": %d.1, "task_id": "job-%d", "stage": "started", "pid": 7}\n'
                        % (1795610000 + i, i))
                f.write('{"ts": %d.2, "task_id": "job-%d", "stage": "done", "pid": 7}\n'
                        % (1795610000 + i, i))
        r = run(path)
        expect_status(r, 0)
        check("24 records, 8 tasks" in r.out and "outcomes: 8 ok" in r.out, "one task a job", r)
        check("learned: %s reads pid as no part of a task's identity (pid on 16 of the first "
              "24 task records)" % path in r.out, "the learned line", r)
        r = run("--key", "pid", path)
        check("16 tasks" in r.out, "--key pid keeps the pid", r)


def test_an_eliot_task_carried_to_another_process_is_one_task():
    # eliot's cross-process tracing: the worker continues the dispatcher's task, each process
    # tags its messages with its pid. Read as the scope, pid made two tasks of each action the
    # worker continued, the dispatcher's half never finished: 8 phantom hangs, exit 1.
    files = [os.path.join(FIXTURES, "eliot_dispatcher.jsonl"),
             os.path.join(FIXTURES, "eliot_worker.jsonl")]
    r = run(*files)
    expect_status(r, 0)
    check("32 tasks" in r.out and "0 open" in r.out, "one task each, none open", r)
    check("reads host, pid as no part of a task's identity (eliot's task_uuid names one task "
          "in every process)" in r.out, "the learned line", r)
    check("failed: " in r.out and "ValueError: bad input for job 6" in r.out,
          "the worker's failure is still told", r)
    r = run("--key", "host,pid", *files)
    check("40 tasks" in r.out, "--key host,pid keeps the processes apart", r)


def test_tracebacks_in_a_field_no_role_reads_are_told():
    # Serilog's CLEF keeps the exception in "@x": no error role reads it, and a swallowed
    # exception passed for a clean run. The header names the field and the option.
    with TempDir() as d:
        records = []
        for job in range(1, 7):
            records.append({"@t": "2026-11-28T07:11:3%d.100Z" % job, "@mt": "job started",
                            "JobId": job})
            if job == 5:
                records.append({"@t": "2026-11-28T07:11:35.200Z", "@mt": "fell back",
                                "JobId": job, "@l": "Warning",
                                "@x": "Traceback (most recent call last):\n  File \"w.py\", "
                                      "line 4, in run\nKeyError: 'tier'"})
            records.append({"@t": "2026-11-28T07:11:3%d.300Z" % job, "@mt": "job completed",
                            "JobId": job})
        # An error read elsewhere in the log does not make the traceback field read.
        records.insert(1, {"@t": "2026-11-28T07:11:31.150Z", "@mt": "upstream said",
                           "JobId": 1, "error": "HTTP 503"})
        path = write_log(d, "clef.jsonl", records)
        fields = ["--field", "task=JobId", "--field", "time=@t", "--field", "stage=@mt"]
        r = run(*fields, path)
        check(re.search(r"^unread errors: .*clef.jsonl's field @x holds Python tracebacks that no "
                        r"role reads.*--field error=@x reads them\)$", r.out, re.M), "the note", r)
        doc, r = report(*fields, path)
        check(doc["input"]["unread_traceback_fields"] == [{"file": path, "field": "@x"}],
              "input.unread_traceback_fields", r)
        r = run(*fields, "--field", "error=@x", path)
        check(r.status == 1 and "KeyError: 'tier'" in r.out and "unread errors" not in r.out,
              "read, the swallowed KeyError is found", r)
    r = run(SEED)
    check("unread errors" not in r.out, "not for a log whose errors are read", r)


def test_files_read_alike_are_told_once():
    # loguru's rotation made 41 files of one log: each had its own "learned: ... is loguru"
    # line before the outcomes. The first says how, the others are counted.
    log = os.path.join(FIXTURES, "libraries", "loguru_service.jsonl")
    with TempDir() as d:
        lines = open(log).read().splitlines(True)
        parts = []
        for i in range(3):
            part = os.path.join(d, "app.%d.log" % i)
            with open(part, "w") as f:
                f.writelines(lines[i * len(lines) // 3:(i + 1) * len(lines) // 3])
            parts.append(part)
        r = run(*parts)
        learned = [l for l in r.out.splitlines() if " is loguru (" in l]
        check(len(learned) == 1 and learned[0].startswith("learned: %s is loguru (" % parts[0])
              and learned[0].endswith("; the same for 2 other files"), "one line for three files", r)
        r = run(parts[0], SEED)
        check("; the same for" not in r.out, "a file alone is told as before", r)


def test_an_eliot_child_that_fails_after_its_parent_ended_is_lost():
    # preserve_context hands each delivery to a thread pool; the handler's action succeeds
    # before the delivery runs. evt-7's delivery failed and nobody waited on it: it was only a
    # line of "failed:" (exit 0), beside 8 anomalies for the parents' "records after the end"
    # (the reader's note of a child begun after its parent ended).
    log = os.path.join(FIXTURES, "eliot_fire_and_forget.jsonl")
    doc, r = report(log)
    kinds = [(f["kind"], f["subkind"]) for f in doc["findings"]]
    check(kinds == [("lost-exception", "unobserved-child")], "one lost child, no anomaly", r)
    lost = doc["findings"][0]
    check("ConnectionRefusedError" in lost["reason"] or "ConnectionRefusedError" in r.out,
          "its exception", r)
    check(lost["where"] and lost["where"]["line"] > 0, "a place in the log", r)
    r = run(log)
    expect_status(r, 1)


def test_a_uuid_task_id_is_one_task_in_every_process():
    # A Celery task retried in another worker process keeps its UUID: read with the process as
    # its scope, the first try looked unfinished. Record by record: a task id that is a UUID
    # has no default scope, while other tasks in the same file keep theirs.
    with TempDir() as d:
        records = []
        t = 1795610000.0
        for n in range(6):
            job = "%08x-4433-474f-b361-bced18038f%02x" % (n, n)
            records += [{"ts": t, "task_id": job, "stage": "fetch", "process": 100},
                        {"ts": t + 0.01, "task_id": job, "stage": "fetch failed, retrying",
                         "process": 100},
                        {"ts": t + 0.05, "task_id": job, "stage": "fetch", "process": 200},
                        {"ts": t + 0.06, "task_id": job, "stage": "done", "process": 200}]
            t += 0.1
        # Two processes' own "flusher" tasks: the one in 200 never ends.
        records += [{"ts": 1795610000.0, "task_id": "flusher", "stage": "flush", "process": 100},
                    {"ts": 1795610000.02, "task_id": "flusher", "stage": "done", "process": 100},
                    {"ts": 1795610000.03, "task_id": "flusher", "stage": "flush", "process": 200}]
        for i in range(40):
            records.append({"ts": 1795610000.6 + i * 0.1, "task_id": "tick-%d" % i,
                            "stage": "done", "process": 100})
        records.sort(key=lambda r: r["ts"])
        path = write_log(d, "celery.jsonl", records)
        doc, r = report(path)
        kinds = kinds_by_task(doc)
        check(not any(k.startswith("0000") for k in kinds), "the retried jobs are one task each",
              r)
        flushers = [(f["kind"], f["scope"]) for f in doc["findings"] if f["task"] == "flusher"]
        check(flushers == [("hung", {"process": "200"})], "the flushers stay two tasks", r)
        r = run("--key", "process", path)
        check("lost-exception" in r.out or "hung" in r.out, "--key process splits them again", r)


def test_fail_on_counts_only_shown_findings():
    # --kind hides the failing kinds: nothing shown, nothing to fail on.
    expect_status(run("--kind", "in-flight", SEED), 0)


def test_unknown_kind_is_a_usage_error():
    expect_one_error_line(run("--fail-on", "hung,bogus", SEED), "bogus")
    expect_one_error_line(run("--kind", "nope", SEED), "nope")
    # A near miss is named with the kind meant, and every kind is listed.
    r = run("--fail-on", "lost-exceptions", SEED)
    expect_one_error_line(r, "did you mean 'lost-exception'?", "in-flight")
    expect_one_error_line(run("--fail-on", "HUNG", SEED), "did you mean 'hung'?")


def test_empty_fail_on_is_a_usage_error():
    # An unset shell variable (--fail-on "$KINDS") must not turn every failure off.
    for empty in ("", ",", " "):
        expect_one_error_line(run("--fail-on", empty, SEED), "--fail-on: no kind given")
        expect_one_error_line(run("--fail-on", "hung", "--fail-on", empty, SEED),
                              "--fail-on: no kind given")
    # An empty --kind filters nothing, as when it is not given.
    expect_status(run("--kind", "", SEED), 1)


def test_repeated_kind_lists_add_up():
    expect_status(run("--fail-on", "deadlock", "--fail-on", "orphan", SEED), 0)
    expect_status(run("--fail-on", "deadlock", "--fail-on", "timeout", SEED), 1)
    doc, r = report("--kind", "timeout", "--kind", "lost-exception", SEED)
    kinds = {f["kind"] for f in doc["findings"]}
    check(kinds == {"timeout", "lost-exception"}, f"both kinds shown: {kinds}", r)


def test_zero_stall_is_a_usage_error():
    # --stall 0 would read as "no threshold" and judge nothing hung: the opposite of its intent.
    for zero in ("0", "0s", "0ms"):
        expect_one_error_line(run("--stall", zero, SEED), "--stall: must be longer than 0",
                              "in-flight")


def test_bad_format_is_a_usage_error():
    expect_one_error_line(run("--format", "yaml", SEED), "yaml")


def test_unknown_option_is_a_usage_error():
    r = run("--no-such-option", SEED)
    expect_status(r, 2)
    check(r.err.startswith("coroner: "), "stderr starts with 'coroner: '", r)
    check(r.out == "", "nothing on stdout", r)
    # The hint names the subcommand's own help, where its options are listed, and a misspelt
    # option gets the one meant.
    expect_one_error_line(r, "see coroner analyze --help")
    expect_one_error_line(run("timeline", "--formt", "json", "3", SEED),
                          "did you mean --format?", "see coroner timeline --help")


def test_missing_file():
    path = os.path.join(FIXTURES, "does-not-exist.jsonl")
    expect_one_error_line(run(path), path, "No such file")


def test_directory():
    expect_one_error_line(run(FIXTURES), FIXTURES, "directory")


def test_empty_file():
    with TempDir() as d:
        path = os.path.join(d, "empty.jsonl")
        open(path, "w").close()
        expect_one_error_line(run(path), path)


def test_only_bad_lines():
    with TempDir() as d:
        path = os.path.join(d, "junk.log")
        with open(path, "w") as f:
            f.write("not json\n[1,2]\n42\n")
        expect_one_error_line(run(path), path)


def test_a_text_log_with_a_few_json_lines_is_an_input_error():
    # A plain-text log that logs one payload as JSON: a report on that one record would pass for
    # a clean run of the whole log.
    with TempDir() as d:
        path = os.path.join(d, "app.log")
        with open(path, "w") as f:
            f.write("Traceback (most recent call last):\n")  # a traceback's: not named below
            for i in range(1, 16):
                f.write("2026-11-27 10:00:%02d,001 INFO worker: job %d stage fetch\n" % (i, i))
            f.write('{"ts": "2026-11-27T10:00:16Z", "task_id": "j16", "stage": "fetch"}\n')
        expect_one_error_line(run(path), path + ":2", "15 lines of text against 1 JSON record",
                              "grep '{' " + path)
        expect_one_error_line(run("stats", path), path + ":2")
        # A JSON line in ten and more, the rest prints and warnings: read, the text counted.
        with open(path, "a") as f:
            f.write('{"ts": "2026-11-27T10:00:17Z", "task_id": "j16", "stage": "done"}\n')
        r = run(path)
        check(r.status in (0, 1) and "skipped: 16 lines" in r.out, "read, 16 lines skipped", r)
        # A console renderer's log (structlog's ConsoleRenderer), where asyncio's message went to
        # stderr as text: that message is read as a record, but no line is a JSON object.
        with open(path, "w") as f:
            for i in range(1, 16):
                f.write("2026-11-27T10:00:%02d [info     ] job started   job_id=j-%d\n" % (i, i))
            f.write("Task exception was never retrieved\n"
                    "future: <Task finished name='Task-7' coro=<job() done, defined at w.py:4> "
                    "exception=KeyError('ttl')>\n")
        expect_one_error_line(run(path), path + ":1", "15 lines of text and no JSON object",
                              "console renderer")


def test_a_json_array_says_how_to_make_it_one_object_a_line():
    # `jq -s`, `gcloud logging read --format=json`: one array of records, on one line or many.
    with TempDir() as d:
        records = [{"ts": "2026-11-27T10:00:0%dZ" % i, "task_id": "j%d" % (i // 2),
                    "stage": "start" if i % 2 == 0 else "done"} for i in range(8)]
        path = os.path.join(d, "one.json")
        with open(path, "w") as f:
            f.write(json.dumps(records) + "\n")
        expect_one_error_line(run(path), path + ":1", "a JSON array of records",
                              "jq -c '.[]' %s | coroner -" % path)
        # Indented, its objects are read one after another: only the array's marks are skipped.
        path = os.path.join(d, "indented.json")
        with open(path, "w") as f:
            f.write(json.dumps(records, indent=2) + "\n")
        r = run(path)
        expect_status(r, 0)
        check("8 records, 4 tasks" in r.out, "every record read", r)
        # JSON values that are no records, an array of numbers among them: no array of records,
        # and no `jq -c '.[]'` that would fail on the 42.
        path = os.path.join(d, "values.json")
        with open(path, "w") as f:
            f.write('[1,2]\n42\n"x"\nnull\n')
        r = run(path)
        expect_one_error_line(r, path + ":1", "no valid record")


def test_binary_data_is_no_compressed_part():
    # Random bytes hold gzip's magic (1f 8b) here and there, and now and then a '{...}' that reads
    # as a record: the input is told as not a JSON log, not as plain and compressed files joined
    # by cat.
    with TempDir() as d:
        path = os.path.join(d, "blob.bin")
        rng = random.Random(7)
        with open(path, "wb") as f:
            f.write(b'\x7fELF {"a": 1}\n' + b"\n".join(b"\x1f\x8b\x08" + bytes(rng.randrange(256)
                                                                           for _ in range(60))
                                               for _ in range(2000)))
        r = run(path)
        expect_status(r, 2)
        check("compressed" not in r.err, "not told as a compressed part", r)


def test_traceback_text_between_json_lines_is_read_around():
    # A JSON log with the program's stderr in it: asyncio's message as text, naming the task that
    # lost its exception, and a traceback's lines, more of them than records. Read, not refused.
    with TempDir() as d:
        path = os.path.join(d, "worker.log")
        with open(path, "w") as f:
            f.write('{"ts": "2026-11-27T10:00:00Z", "task_id": "job-1", "stage": "fetch"}\n')
            f.write("Task exception was never retrieved\n"
                    "future: <Task finished name='prefetch' coro=<prefetch() done, defined at "
                    "w.py:4> exception=KeyError('ttl')>\n"
                    "Traceback (most recent call last):\n"
                    '  File "w.py", line 6, in prefetch\n'
                    "    return config[key]\n"
                    "           ~~~~~~^^^^^\n"
                    "KeyError: 'ttl'\n"
                    "Task was destroyed but it is pending!\n"
                    "task: <Task pending name='warmer' coro=<warm() running at w.py:9>>\n")
            f.write('{"ts": "2026-11-27T10:00:01Z", "task_id": "job-1", "stage": "done"}\n')
        r = run(path)
        expect_status(r, 1)
        check("skipped: 7 lines that are not a JSON object, a Python traceback's text" in r.out,
              "the traceback's lines said so", r)
        check("prefetch  asyncio: Task exception was never retrieved: KeyError('ttl')" in r.out,
              "the task named by asyncio's text", r)
        # warmer never logged: no silence since a last record it never wrote.
        check("warmer  asyncio destroyed the task while it was pending" in r.out, "warmer", r)
        check("silent" not in r.out, "no silence for a task that never logged", r)
        # Its only evidence is asyncio's message, and the timeline the report offers works.
        check("%s:3: asyncio's message" % path in r.out and "%s:10: asyncio's message" % path in r.out,
              "where asyncio said it", r)
        doc, _ = report(path)
        check(all(f["where"]["line"] in (3, 10) for f in doc["findings"]), "its place in JSON", r)
        check("next: coroner timeline warmer " in r.out, "its timeline offered", r)
        t = run("timeline", "warmer", path)
        expect_status(t, 0)
        check(t.out.startswith("warmer  outcome: open, it never logged"), "no times made up", t)
        check("destroyed-pending: asyncio destroyed the task" in t.out, "its finding", t)
        expect_status(run("timeline", "job-9", path), 2)  # a name nothing gave still fails
        doc, r = report(path)
        check(doc["input"]["bad_lines"] == 7 and doc["input"]["traceback_lines"] == 7,
              "7 bad lines, all a traceback's", r)
        check(sorted(f["task"] for f in doc["findings"]) == ["prefetch", "warmer"],
              "prefetch and warmer alone flagged", r)
        warmer = [t for t in doc["tasks"] if t["task"] == "warmer"]
        check(len(warmer) == 1 and warmer[0]["start"] is None and warmer[0]["duration_s"] is None,
              "no time for a task that never logged", r)


def test_cri_partial_lines_are_joined_whatever_the_chunks():
    # containerd writes a line over 16 KiB (a record with its traceback) as parts tagged P closed
    # by one tagged F. Joined, the record's error is found; read apart, its four lines were text
    # and the job's swallowed KeyError was lost. The parts straddle the serial reader's 512 KiB
    # chunk edge, so every -j and a pipe must join them alike.
    def cri(obj, ms, stream="stdout"):
        text = json.dumps(obj)
        parts = [text[k:k + 16384] for k in range(0, len(text), 16384)]
        stamp = "2026-11-27T10:%02d:%02d.%03dZ" % (ms // 60000 % 60, ms // 1000 % 60, ms % 1000)
        return ["%s %s %s %s" % (stamp, stream, "F" if n == len(parts) - 1 else "P", part)
                for n, part in enumerate(parts)]
    with TempDir() as d:
        lines, ms, n = [], 0, 0
        while sum(len(line) + 1 for line in lines) < 490000:
            n += 1
            for stage in ("start", "done"):
                ms += 1
                lines += cri({"task": "job-%d" % n, "stage": stage}, ms)
        frames = "".join('  File "/app/w.py", line %d, in f%d\n    x = y()\n' % (k, k)
                         for k in range(4000))
        error = {"task": "job-big", "stage": "pricing", "level": "error",
                 "exc_info": "Traceback (most recent call last):\n" + frames + "KeyError: 'price'"}
        for obj in ({"task": "job-big", "stage": "start"}, error,
                    {"task": "job-big", "stage": "done"}):
            ms += 1
            lines += cri(obj, ms)
        parts = len(cri(error, ms))
        check(sum(len(line) + 1 for line in lines[:-parts - 1]) < 500000 and
              sum(len(line) + 1 for line in lines[:-2]) > 600000, "the parts straddle the edge")
        # A stderr line between a record's parts is no part of it: each is read alone.
        ms += 1
        cut = cri({"task": "job-cut", "stage": "start", "pad": "x" * 20000}, ms)
        lines += cut[:1] + cri({"task": "job-cut", "stage": "noise"}, ms, "stderr") + cut[1:]
        # A part never closed (the program died mid-line) is text, and so is the rest of it.
        ms += 1
        lines += cri({"task": "job-end", "stage": "start", "pad": "y" * 20000}, ms)[:1]
        path = os.path.join(d, "0.log")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = run("-j", "1", path)
        expect_status(r, 1)
        check("job-big  KeyError: 'price' in stage 'pricing', then it carried on" in r.out,
              "the joined record's error found", r)
        check("skipped: 3 lines that are not a JSON object" in r.out,
              "only the parts that were not closed by their stream's line skipped", r)
        for args in (["-j", "2", path], ["-j", "3", path]):  # chunks of 1 MiB
            check(run(*args).out == r.out, "the same report with " + " ".join(args[:2]))
        piped = run("-j", "1", "-", stdin=path)
        check(piped.out.replace("<stdin>", path).replace("job-big -", "job-big " + path) == r.out,
              "the same report from a pipe", piped)


def test_a_stage_that_is_a_whole_request_body_is_named_short():
    # A debug message that logs a request's body as its stage: the learned line and the findings
    # name it in a line, not in 60 KB.
    with TempDir() as d:
        path = os.path.join(d, "big.jsonl")
        body = "request body: " + json.dumps({"items": [{"sku": "a%d" % i, "qty": i}
                                                        for i in range(2000)]})
        with open(path, "w") as f:
            for i in range(1, 6):
                f.write(json.dumps({"ts": 1795600000 + i, "task_id": "t%d" % i,
                                    "message": body.replace("a1", "b%d" % i)}) + "\n")
                if i < 5:
                    f.write(json.dumps({"ts": 1795600000 + i + 0.5, "task_id": "t%d" % i,
                                        "message": "done"}) + "\n")
            f.write(json.dumps({"ts": 1795600100, "task_id": "t0", "message": "tick"}) + "\n")
        r = run(path)
        check(r.status in (0, 1), "read", r)
        longest = max(len(line) for line in r.out.splitlines())
        check(longest < 400, "every line of the report short (longest %d)" % longest, r)
        check("'request body: {" in r.out and "...'" in r.out, "the stage named, cut", r)


def test_compressed_data_joined_to_plain_lines_is_an_input_error():
    # `cat worker.log worker.log.1.gz | coroner -`: the gzip stream reads as a few lines of junk
    # and the report would be on the plain part alone, exit 0 on a hang in the rotated file.
    with TempDir() as d:
        plain = "".join('{"ts": "2026-11-27T10:00:%02dZ", "task_id": "j%d", "stage": "%s"}\n'
                        % (i, i // 2, "start" if i % 2 == 0 else "done") for i in range(10))
        rotated = gzip.compress(b'{"ts": "2026-11-27T09:00:00Z", "task_id": "stuck", '
                                b'"stage": "fetch"}\n' * 3)
        r = run("-", input_bytes=plain.encode() + rotated)
        expect_one_error_line(r, "<stdin>:11", "compressed data in the middle of the input",
                              "zcat -f")
        # The files given to coroner are read, the rotated one decompressed.
        a, b = os.path.join(d, "worker.log"), os.path.join(d, "worker.log.1.gz")
        with open(a, "w") as f:
            f.write(plain)
        with open(b, "wb") as f:
            f.write(rotated)
        r = run(a, b)
        check(r.status == 1 and "13 records" in r.out, "both read", r)


def test_kubectl_prefix_names_the_pod_of_each_line():
    # `kubectl logs -l app=worker --prefix`: two replicas, each numbering its jobs from 1, pod
    # after pod. The pod tells their tasks apart: before, job 3 "ended ok 2 times" and the hang
    # of pod b's job 3 was an anomaly, exit 0.
    def pod(name, hang, start):
        lines = []
        for job in (1, 2, 3):
            t = start + job
            lines.append((t, {"job_id": job, "message": "job started"}))
            if not (hang and job == 3):
                lines.append((t + 0.2, {"job_id": job, "message": "job finished"}))
        lines.append((start + 9, {"message": "heartbeat"}))
        return [(name, t, r) for t, r in lines]
    records = pod("worker-a1/worker", False, 0) + pod("worker-b2/worker", True, 0.5)
    with TempDir() as d:
        for timestamps in (False, True):
            path = os.path.join(d, "pods.log")
            with open(path, "w") as f:
                for name, t, r in records:
                    stamp = "2026-11-27T10:00:%06.3fZ " % t if timestamps else ""
                    if not timestamps:
                        r = dict(r, ts="2026-11-27T10:00:%06.3fZ" % t)
                    f.write("[pod/%s] %s%s\n" % (name, stamp, json.dumps(r)))
            r = run("--field", "task=job_id", path)
            expect_status(r, 1)
            check("6 tasks" in r.out, "each pod's jobs apart", r)
            check("3 (pod=worker-b2/worker)  no end" in r.out, "pod b's job 3 hung", r)
            check("anomaly" not in r.out and "worker-a1" not in r.out, "nothing else", r)


def test_a_log_listed_newest_first_is_an_input_error():
    # `gcloud logging read` lists newest first: read as it is, every task ends before it starts
    # and the first one's start looks hung. A few records out of order are no such log.
    with TempDir() as d:
        lines = []
        for i in range(1, 7):
            lines.append('{"ts": "2026-11-27T10:00:%02d.000Z", "task_id": "j%d", "stage": "start"}' % (i, i))
            lines.append('{"ts": "2026-11-27T10:00:%02d.500Z", "task_id": "j%d", "stage": "done"}' % (i, i))
        path = os.path.join(d, "newest.jsonl")
        with open(path, "w") as f:
            f.write("\n".join(reversed(lines)) + "\n")
        expect_one_error_line(run(path), path, "newest first", "11 of the 11 steps",
                              "tac " + path)
        expect_one_error_line(run("stats", path), path, "newest first")
        # Oldest first but for two records swapped (a logger's queue): read, nothing flagged.
        lines[3], lines[4] = lines[4], lines[3]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        expect_status(run(path), 0)


def test_records_wrapped_as_text_in_a_field_say_how_to_unwrap_them():
    # Docker's json-file driver keeps each line the program wrote as a string in `log`; journald
    # in `MESSAGE`. No field of the wrapper names a task: the error says how to unwrap them, with
    # the wrapper's own time before each record for a program that leaves the time to it.
    with TempDir() as d:
        path = os.path.join(d, "container-json.log")
        wrapped = []
        for i in range(1, 5):
            for n, event in enumerate(("start", "done")):
                app = {"task_id": "j%d" % i, "event": event}
                wrapped.append({"log": json.dumps(app) + "\n", "stream": "stdout",
                                "time": "2026-11-27T10:00:0%d.%d00000001Z" % (i, n)})
        with open(path, "w") as f:
            f.write("".join(json.dumps(w) + "\n" for w in wrapped))
        expect_one_error_line(run(path), path, "its field log holds each record as JSON text",
                              "jq -r '.time + \" \" + .log' %s | coroner -" % path)
        # What that jq prints reads, every record at its wrapper's time.
        unwrapped = "".join(w["time"] + " " + w["log"] + "\n" for w in wrapped).encode()
        r = run("-", input_bytes=unwrapped)
        expect_status(r, 0)
        check("8 records, 4 tasks, 3.10s of log" in r.out, "read at the wrapper's times", r)
        # Without a time beside the records' field (a shipper's bare `message`), the field alone.
        with open(path, "w") as f:
            f.write("".join(json.dumps({"message": w["log"].strip()}) + "\n" for w in wrapped))
        expect_one_error_line(run(path), path, "jq -r '.message' %s | coroner -" % path)


def test_errors_logged_in_no_task_are_said():
    # `@logger.catch` on a logger no task id was bound to: the error is no task's, and it used to
    # leave no trace in the report.
    with TempDir() as d:
        path = os.path.join(d, "worker.jsonl")
        records = []
        for i in (1, 2):
            records.append({"ts": "2026-11-27T10:00:0%dZ" % i, "task_id": "inv-%d" % i, "event": "start"})
            records.append({"ts": "2026-11-27T10:00:0%d.5Z" % i, "task_id": "inv-%d" % i, "event": "done"})
        records.insert(2, {"ts": "2026-11-27T10:00:01.7Z", "level": "ERROR",
                           "message": "pdf rendering crashed",
                           "exception": "Traceback (most recent call last):\n  File \"w.py\", "
                                        "line 3, in render\nIndexError: list index out of range"})
        records.insert(3, {"ts": "2026-11-27T10:00:01.8Z", "level": "error", "message": "smtp down"})
        with open(path, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in records))
        r = run(path)
        expect_status(r, 0)
        check("errors in no task: 2 (the first: IndexError: list index out of range, at %s:3)"
              % path in r.out, "the errors of no task said", r)
        doc, r = report(path)
        check(doc["input"]["untasked_errors"] == 2, "2 errors of no task", r)
        check(doc["input"]["first_untasked_error"] == {"file": path, "line": 3,
              "error": "IndexError: list index out of range"}, "the first one", r)
        doc, r = report(fixture("structlog.jsonl"))
        check(doc["input"]["first_untasked_error"] is None, "none where every error has a task", r)
        # Only a level to say it: the level is what is said.
        with open(path, "w") as f:
            f.write(json.dumps(records[0]) + "\n" + '{"ts": "2026-11-27T10:00:01Z", "level": "CRITICAL"}\n')
        r = run(path)
        check("errors in no task: 1 (a record at level CRITICAL, at %s:2)" % path in r.out,
              "an error of no text said by its level", r)


def test_one_file_whose_tasks_go_on_after_their_ok_word_is_not_called_files():
    # structlog's `sync_done`, then `notify_customer` and `notified`: the learned end is
    # `notified`, and the line says why in the words of one file, not of groups of files.
    with TempDir() as d:
        path = os.path.join(d, "orders.jsonl")
        with open(path, "w") as f:
            for i in range(1, 9):
                for n, event in enumerate(("sync_started", "sync_done", "notify_customer",
                                           "notified")):
                    f.write(json.dumps({"timestamp": "2026-11-27T10:00:%02d.%dZ" % (i, n),
                                        "task_id": "o-%d" % i, "event": event}) + "\n")
        r = run(path)
        check("learned: some tasks end by no word (they go on to more work after the one that "
              "says a task ended ok, or their files have none); a task ends ok at stage "
              "'notified'" in r.out, "why the end was learned", r)
        check("files that share no stage" not in r.out, "no groups of files in one file", r)


def test_second_file_missing():
    path = os.path.join(FIXTURES, "missing-second.jsonl")
    expect_one_error_line(run(SEED, path), path)


def test_a_file_given_twice_is_an_input_error():
    # Its records would count twice: every task would start again, the learned end stage would
    # be lost and healthy tasks reported hung, without a word.
    other_name = os.path.join(FIXTURES, ".", "seed_print.jsonl")
    for args in ((SEED, SEED), (SEED, other_name), ("stats", SEED, SEED),
                 ("timeline", "1", SEED, SEED)):
        expect_one_error_line(run(*args), args[-1], "twice")
    expect_one_error_line(run("-", "-", stdin=SEED), "'-' given twice")
    with TempDir() as d:
        state = os.path.join(d, "seed.state")
        expect_status(run("partial", SEED, "-o", state), 0)
        expect_one_error_line(run("merge", state, state), state, "twice")
        expect_one_error_line(run("partial", SEED, SEED, "-o", state + "2"), SEED, "twice")
        check(not os.path.exists(state + "2"), "a refused partial leaves no state")
    # Not flagged: two different files, and one file once.
    expect_status(run(SEED, fixture("structlog.jsonl")), 1)
    expect_status(run(SEED), 1)


def test_a_copy_of_a_log_given_with_it_is_an_input_error():
    # A copy, or the log and its .gz: other files, the same records twice.
    gz = fixture("seed_print.jsonl.gz")
    expect_one_error_line(run(SEED, gz), "seed_print.jsonl.gz", "same log as", "count twice")
    with TempDir() as d:
        copy = os.path.join(d, "copy.jsonl")
        shutil.copy(SEED, copy)
        expect_one_error_line(run(copy, SEED), SEED, "same log as")
        expect_one_error_line(run("-", copy, stdin=SEED), copy, "same log as")
        expect_one_error_line(run("partial", SEED, copy, "-o", os.path.join(d, "s")), copy)
        # A snapshot of the log taken earlier: its records are the log's first ones.
        with open(SEED) as f:
            lines = f.readlines()
        first_half = os.path.join(d, "first_half.jsonl")
        with open(first_half, "w") as f:
            f.write("".join(lines[:len(lines) // 2]))
        expect_one_error_line(run(SEED, first_half), first_half, "same log as")
        # Not flagged: two logs that share their first line, no more.
        second_half = os.path.join(d, "second_half.jsonl")
        with open(second_half, "w") as f:
            f.write(lines[0] + "".join(lines[len(lines) // 2:]))
        expect_status(run(first_half, second_half), 1)


def test_since_and_until_say_what_they_left_out():
    times = [json.loads(line)["timestamp"] for line in open(SEED)]
    middle = sorted(times)[len(times) // 2]
    inside = sum(1 for t in times if t >= middle)
    doc, r = report("--since", repr(middle), SEED)
    check(doc["input"]["records"] == len(times), "every record read counts", r)
    check(doc["input"]["outside_window"] == len(times) - inside, "the records left out", r)
    text = run("--since", repr(middle), SEED)
    check("skipped: %d records outside --since/--until" % (len(times) - inside) in text.out,
          "the text header says what the window left out", text)
    doc, r = report(SEED)
    check(doc["input"]["outside_window"] == 0, "no window, nothing left out", r)
    check("outside --since" not in run(SEED).out, "no window, no line", r)
    # A window past the log is no log without tasks; a window upside down is a usage error.
    expect_one_error_line(run("--since", repr(max(times) + 60), SEED), SEED,
                          "between --since and --until")
    expect_one_error_line(run("--since", repr(middle + 1), "--until", repr(middle), SEED),
                          "--since", "is after --until")


def test_counts_on_the_command_line_are_whole_numbers():
    # CLI11 reads "-1" into an unsigned as its wrap-around: --top -1 showed every task.
    expect_one_error_line(run("--top", "-1", SEED), "--top", "'-1'")
    expect_one_error_line(run("--max-stages", "5x", SEED), "--max-stages", "'5x'")
    expect_one_error_line(run("graph", "--depth", "-1", SEED), "--depth", "'-1'")
    expect_status(run("--top", "0", SEED), 1)
    expect_status(run("graph", "--depth", "0", "--around", "1", SEED), 0)


def test_timeline_with_the_log_for_the_task():
    # `coroner timeline app.jsonl`: the log was taken for TASK; say so rather than read stdin.
    expect_one_error_line(run("timeline", SEED), SEED, "not a task")
    expect_one_error_line(run("timeline", "no-such-task", SEED), SEED, "no task 'no-such-task'")
    expect_status(run("timeline", "1", stdin=SEED), 0)


def test_subcommand_help_gives_its_own_exit_statuses():
    for sub in ("timeline", "stats", "schema", "graph", "partial"):
        r = run(sub, "--help")
        expect_status(r, 0)
        check("Exit status: 0" in r.out and "1 at least one" not in r.out,
              "%s has no finding to exit 1 on" % sub, r)
    for sub in ("analyze", "merge"):
        r = run(sub, "--help")
        check("1 at least one" in r.out, "%s exits 1 on a finding" % sub, r)


def test_schema_takes_only_the_options_it_honours():
    # --strict stops schema too; the window and the stage cap, which schema ignored, are refused.
    r = run("schema", "--strict", fixture("damaged.jsonl"))
    expect_one_error_line(r, "damaged.jsonl:6", "--strict")
    expect_status(run("schema", fixture("damaged.jsonl")), 0)
    for option, value in (("--since", "2026-11-25"), ("--until", "2026-11-25"),
                          ("--max-stages", "5")):
        expect_one_error_line(run("schema", option, value, SEED), option)


def test_strict_names_file_and_line():
    r = run("--strict", fixture("damaged.jsonl"))
    expect_one_error_line(r, "damaged.jsonl:6")


def test_strict_on_a_clean_log():
    expect_status(run("--strict", SEED), 1)
    expect_status(run("--strict", fixture("structlog.jsonl")), 0)


def test_strict_on_hand_written_damage():
    r = run("--strict", log("bad_line_3.jsonl"))
    expect_one_error_line(r, "bad_line_3.jsonl:3")


def test_hand_written_damage_is_tolerated():
    r = run(log("bad_line_3.jsonl"))
    expect_status(r, 0)
    check("3 records" in r.out, "the good records counted", r)
    check("skipped: 1 line" in r.out and "bad_line_3.jsonl:3" in r.out, "the bad line named", r)


def test_damaged_is_tolerated():
    r = run(fixture("damaged.jsonl"))
    check(r.status in (0, 1), "damaged.jsonl is read", r)
    check("20 records" in r.out, "20 good records", r)
    check("8 tasks" in r.out, "8 tasks", r)
    check("skipped: 4 lines" in r.out, "4 bad lines", r)
    for where in ("damaged.jsonl:6", "damaged.jsonl:9", "damaged.jsonl:14", "damaged.jsonl:17"):
        check(where in r.out, "names %s" % where, r)


def test_truncated_gzip_is_reported_then_exits_2():
    # The lines before the damage are reported; then one stderr line names it and the status is
    # 2, as zcat's, -q or not: `coroner -q logs/*.gz || fail` must not pass on half a log.
    with TempDir() as d:
        data = gzip.compress(b"".join(
            b'{"timestamp": %d.5, "task_id": %d, "stage": "work"}\n' % (1795610067 + i, i % 50)
            for i in range(40000)))
        path = os.path.join(d, "cut.jsonl.gz")
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        r = run(path)
        expect_status(r, 2)
        check("damaged input" in r.out and "truncated" in r.out, "the damage is reported", r)
        check("50 tasks" in r.out, "the lines before the damage are read", r)
        check(r.err == "coroner: %s: gzip stream is truncated: the report covers only the lines "
              "before it\n" % path, "one stderr line names the damage", r)
        quiet = run("-q", path)
        expect_status(quiet, 2)
        check(quiet.out == "" and quiet.err == r.err, "-q still names the damage", quiet)
        # A task looked for may be in the part lost: the error says the input was damaged.
        expect_one_error_line(run("timeline", "job-nosuch", path), "no task 'job-nosuch'",
                              "read before the damage", "gzip stream is truncated")


# ---------------------------------------------------------------------------------------------
# standard input


def test_stdin_dash_and_no_file():
    plain, _ = report(SEED)
    for args in (("-",), ()):
        doc, r = report(*args, stdin=SEED)
        expect_status(r, 1)
        check(verdicts(doc) == verdicts(plain), "stdin %r: same findings" % (args,), r)
    r = run("-", stdin=SEED)
    check("<stdin>" in r.out, "stdin is named <stdin>", r)


def test_gzip_and_zstd_on_stdin():
    plain, _ = report(SEED)
    for name in ("compressed_noext", "seed_print.jsonl.zst"):
        doc, r = report("-", stdin=fixture(name))
        check(verdicts(doc) == verdicts(plain), "%s on stdin" % name, r)


def test_empty_stdin():
    expect_one_error_line(run("-", input_bytes=b""), "<stdin>")


def test_strict_on_stdin_names_stdin():
    r = run("--strict", "-", input_bytes=b'{"task": "a", "stage": "start"}\noops\n')
    expect_one_error_line(r, "<stdin>:2")


# ---------------------------------------------------------------------------------------------
# output options


def test_quiet_prints_nothing():
    r = run("-q", SEED)
    expect_status(r, 1)
    check(r.out == "" and r.err == "", "-q prints nothing", r)
    r = run("-q", fixture("structlog.jsonl"))
    expect_status(r, 0)
    check(r.out == "" and r.err == "", "-q prints nothing", r)


def test_quiet_still_prints_errors():
    expect_one_error_line(run("-q", os.path.join(FIXTURES, "nope.jsonl")), "nope.jsonl")


def test_output_file():
    plain = run(SEED)
    with TempDir() as d:
        path = os.path.join(d, "report.txt")
        r = run("-o", path, SEED)
        expect_status(r, 1)
        check(r.out == "", "nothing on stdout with -o", r)
        with open(path) as f:
            written = f.read()
        check(written == plain.out, "-o writes what stdout would show", r)
        path = os.path.join(d, "report.json")
        r = run("--format", "json", "--output", path, SEED)
        with open(path) as f:
            check(json.load(f)["schema"] == "coroner.report/1", "-o with json", r)


def test_output_file_unwritable():
    r = run("-o", os.path.join(FIXTURES, "no-such-dir", "x.txt"), SEED)
    expect_one_error_line(r, "no-such-dir")


def test_kind_filter():
    doc, _ = report("--kind", "timeout", SEED)
    check([f["kind"] for f in doc["findings"]] == ["timeout"], "only timeouts: %r" % doc)
    doc, _ = report("--kind", "timeout,lost-exception", SEED)
    check(sorted(f["kind"] for f in doc["findings"]) == ["lost-exception", "timeout"],
          "timeouts and lost exceptions: %r" % doc)
    r = run("--kind", "lost-exception", SEED)
    check(re.search(r"^  10  ", r.out, re.M) and not re.search(r"^timeout", r.out, re.M),
          "text shows only the chosen kind", r)


def test_task_filter():
    doc, r = report("--task", "10", SEED)
    check([f["task"] for f in doc["findings"]] == ["10"], "only task 10", r)
    expect_status(r, 1)
    doc, r = report("--task", "1", SEED)
    check(doc["findings"] == [], "task 1 is healthy", r)
    expect_status(r, 0)


def test_top_limits_each_problem():
    r = run("--top", "1", SEED)
    check(re.search(r"^hung x2  ", r.out, re.M), "the hung problem has two tasks", r)
    check("... and 1 more: 8 (--top 0 shows all)" in r.out,
          "'... and 1 more' names the task left out", r)
    check(r.out.count("... and") == 1, "only the problem with two tasks is cut", r)
    full = run("--top", "0", SEED)
    check("... and" not in full.out, "--top 0 shows all", full)


def test_color():
    never = run("--color", "never", SEED)
    check(ESCAPE not in never.out, "--color never: no escape codes", never)
    always = run("--color", "always", SEED)
    check(ESCAPE in always.out, "--color always: escape codes", always)
    no_color = run(SEED, env={"NO_COLOR": "1"})
    check(ESCAPE not in no_color.out, "NO_COLOR: no escape codes", no_color)
    auto = run("--color", "auto", SEED)
    check(ESCAPE not in auto.out, "--color auto into a pipe: no escape codes", auto)
    check(re.sub(r"\x1b\[[0-9;]*m", "", always.out) == never.out,
          "colour changes nothing but the escapes", always)


def test_bad_color_value():
    r = run("--color", "sometimes", SEED)
    expect_status(r, 2)
    check(r.err.startswith("coroner: "), "one error line", r)


# ---------------------------------------------------------------------------------------------
# subcommands


def test_timeline():
    r = run("timeline", "6", SEED)
    expect_status(r, 0)
    for stage in ("validate", "transform", "fetch_data timed out"):
        check(stage in r.out, "timeline shows %r" % stage, r)
    rows = [m.group(1).strip() for m in
            re.finditer(r"^\s+\d\d:\d\d:\d\d\.\d{6}\s+(\S.*?)(?:\s+\+\S+.*)?$", r.out, re.M)]
    check(rows == ["validate", "transform", "fetch_data timed out"],
          "task 6's three records in order, got %r" % rows, r)
    check("timed-out" in r.out, "the outcome", r)
    r = run("timeline", "2", SEED)
    expect_status(r, 0)
    check("save_to_db" in r.out and "fetch_data" not in r.out, "only task 2's records", r)


def test_timeline_of_unknown_task():
    expect_one_error_line(run("timeline", "999", SEED), "999")


def test_timeline_json():
    r = run("timeline", "10", "--format", "json", SEED)
    expect_status(r, 0)
    json.loads(r.out)
    check("validate" in r.out and "save_to_db" in r.out, "task 10's stages", r)


def test_stats_table():
    r = run("stats", SEED)
    expect_status(r, 0)
    header = r.out.splitlines()[0].split()
    for column in ("stage", "count", "p50", "p95", "p99", "max", "errors"):
        check(column in header, "column %r" % column, r)
    rows = {line.split()[0]: line.split() for line in r.out.splitlines()[1:4]}
    check(rows.get("validate", [None, None])[1] == "12", "validate entered 12 times", r)
    check(rows.get("transform", [None, None])[1] == "12", "transform entered 12 times", r)
    check(rows.get("save_to_db", [None, None])[1] == "9", "save_to_db entered 9 times", r)


def test_stats_json():
    r = run("stats", "--format", "json", SEED)
    expect_status(r, 0)
    doc = json.loads(r.out)
    text = json.dumps(doc)
    check("validate" in text and "p99" in text, "stage statistics as JSON", r)


def schema_of(path, *extra):
    r = run("schema", "--format", "json", path, *extra)
    expect_status(r, 0)
    doc = json.loads(r.out)
    fields = {role: [f["field"] for f in use["fields"]] for role, use in doc["roles"].items()}
    return doc, fields, r


def test_schema_of_each_fixture():
    cases = [
        # file, time form, {role: field}, records
        ("seed_print.jsonl", "epoch-s",
         {"time": "timestamp", "task": "task_id", "stage": "stage", "level": "level",
          "error": "exception"}, 35),
        ("structlog.jsonl", "iso8601",
         {"time": "timestamp", "task": "task_id", "stage": "event", "level": "level",
          "error": "exception", "error-type": "error_type"}, 50),
        # logging's asctime ("2026-11-25 12:34:27,679") is an ISO 8601 form with space and comma.
        ("jsonlogger.jsonl", "iso8601 with no zone",
         {"time": "asctime", "task": "taskName", "stage": "message", "level": "levelname",
          "error": "exc_info"}, 32),
        ("nested_fields.jsonl", "epoch-ms", {"time": "ts", "level": "level"}, 23),
        ("no_time.jsonl", "iso8601", {"time": "time", "task": "task", "stage": "step"}, 12),
        ("seed_print.jsonl.gz", "epoch-s", {"time": "timestamp", "task": "task_id"}, 35),
        ("seed_print.jsonl.zst", "epoch-s", {"time": "timestamp", "task": "task_id"}, 35),
    ]
    for name, form, roles, records in cases:
        doc, fields, r = schema_of(fixture(name))
        check(doc["records"] == records, "%s: %d records" % (name, records), r)
        check(list(doc["time_forms"]) == [form], "%s: time form %s" % (name, form), r)
        for role, field in roles.items():
            check(fields[role] == [field], "%s: %s from %s, got %r" % (name, role, field,
                                                                     fields[role]), r)
        for role in ("status", "parent", "awaits", "timeout", "scope"):
            check(fields[role] == [], "%s: no %s field" % (name, role), r)
    doc, fields, r = schema_of(fixture("no_time.jsonl"))
    check(doc["roles"]["time"]["records"] == 9, "no_time: time in 9 of 12 records", r)
    doc, fields, r = schema_of(fixture("nested_fields.jsonl"))
    check(fields["task"] == [] and fields["stage"] == [], "nested: no task without --field", r)
    check(doc["distinct_tasks"] == 0, "nested: no task without --field", r)
    doc, fields, r = schema_of(fixture("nested_fields.jsonl"), "--field", "task=extra.task_id")
    check(fields["task"] == ["extra.task_id"] and doc["distinct_tasks"] == 6,
          "nested: task from extra.task_id", r)
    doc, fields, r = schema_of(fixture("jsonlogger.jsonl"))
    check(doc["roles"]["task"]["records"] == 31, "jsonlogger: taskName in 31 records", r)


def test_schema_text():
    r = run("schema", SEED)
    expect_status(r, 0)
    check("epoch-s" in r.out, "time form", r)
    check(re.search(r"^time\s+timestamp\s+35\b", r.out, re.M), "time from timestamp, 35", r)
    check(re.search(r"^task\s+task_id\s+35\b", r.out, re.M), "task from task_id, 35", r)
    r = run("schema", fixture("jsonlogger.jsonl"))
    check(re.search(r"^time\s+asctime\s+32\b", r.out, re.M), "jsonlogger: asctime", r)
    check(re.search(r"^task\s+taskName\s+31\b", r.out, re.M), "jsonlogger: taskName", r)
    # The asyncio module's log: its own roles, and a scope of two fields shown as two words.
    r = run("schema", os.path.join(os.path.dirname(TESTS), "sample_traces", "shutdown.jsonl"))
    check(re.search(r"^marker\s+coroner\s+\d+\s+.*\bpending\b", r.out, re.M), "marker role", r)
    check(re.search(r"^suspended-at\s+suspended_at\s+6\b", r.out, re.M), "suspended_at", r)
    check(re.search(r"^scope\s+hostname\s+\d+\s+pid=\d+ hostname=", r.out, re.M)
          and "\x1f" not in r.out, "the scope sample reads as words", r)


def test_schema_damaged():
    doc, fields, r = schema_of(fixture("damaged.jsonl"))
    check(doc["records"] == 20 and doc["bad_lines"] == 4, "20 records, 4 bad lines", r)
    lines = [b.get("line") for b in doc["bad_line_examples"]]
    check(lines == [6, 9, 14, 17], "bad lines 6, 9, 14, 17", r)


def test_schema_of_missing_file():
    expect_one_error_line(run("schema", "/nonexistent/x.jsonl"), "/nonexistent/x.jsonl")


def test_options_before_the_subcommand():
    r = run("-q", "stats", SEED)
    expect_status(r, 0)
    check(r.out == "" and r.err == "", "-q stats prints nothing", r)
    plain = run("stats", SEED)
    r = run("--color", "never", "stats", SEED)
    expect_status(r, 0)
    check(r.out == plain.out, "options before 'stats' mean what they mean after it", r)


def test_option_value_named_like_a_subcommand():
    plain = run(SEED)
    with TempDir() as d:
        r = run("-o", "stats", SEED, cwd=d)
        expect_status(r, 1)
        check(r.out == "" and r.err == "", "the report went to the file", r)
        with open(os.path.join(d, "stats")) as f:
            check(f.read() == plain.out, "-o stats writes the analyze report to 'stats'", r)
    doc, r = report("--task", "stats", SEED)
    check(doc["findings"] == [], "--task stats shows the findings of task 'stats': none", r)
    check(doc["summary"]["tasks"] == 12, "--task stats still analyses the log", r)


def test_misspelt_subcommand_is_suggested():
    with TempDir() as d:
        r = run("stast", SEED, cwd=d)
        expect_one_error_line(r, "'stast'", "did you mean 'stats'?")
        r = run("-q", "timelin", "3", SEED, cwd=d)
        expect_one_error_line(r, "'timelin'", "did you mean 'timeline'?")
        # A file of that name is read as the file it is.
        shutil.copy(SEED, os.path.join(d, "stast"))
        r = run("-q", "stast", cwd=d)
        expect_status(r, 1)
        check(r.err == "", "a file named stast is analysed", r)


def test_far_off_word_is_an_unreadable_file():
    with TempDir() as d:
        r = run("nonsense", SEED, cwd=d)
        expect_one_error_line(r, "nonsense", "No such file")
        check("did you mean" not in r.err, "no suggestion for a far-off word", r)


def test_retry_count_is_no_swallowed_error():
    # job-1 fails a fetch, retries it ("retries": 1) and ends done: handled, whatever names the
    # attempt role; the field's name, not its place in the list, says it counts from 0.
    path = log("retry_count.jsonl")
    for extra in ([], ["--field", "attempt=retries"]):
        doc, r = report(*extra, path)
        expect_status(r, 0)
        check(kinds_by_task(doc) == {"job-1": ["retried"]},
              "a retried error is information, not swallowed (%s)" % extra, r)
        check(doc["summary"]["outcomes"]["ok"] == 2, "both tasks ended ok", r)
    # Without the counter the same log is a swallowed error: the test above tests the counter.
    doc, r = report("--field", "attempt=no_such_field", path)
    check(kinds_by_task(doc).get("job-1") == ["lost-exception/swallowed"],
          "without the attempt field the error is swallowed: %r" % doc["findings"], r)


def test_duplicate_keys_the_last_wins():
    # {"task_id": "d1", "task_id": "d2", "stage": "start", "stage": "done"}: the task is d2 and it
    # ended, as Python's json reads the line. The lines with "task_id": true and 1.5 then null
    # name no task, yet are records. The same lines with an escape in them go to simdjson, not
    # the flat reader: the same report.
    path = log("duplicate_keys.jsonl")
    with open(path, "rb") as f:
        plain = f.read()
    escaped = plain.replace(b'{"timestamp"', b'{"note": "caf\\u00e9", "timestamp"')
    check(escaped.count(b"\\u00e9") == 4, "every line holds an escape")
    for args, kwargs in (([path], {}), (["-"], {"input_bytes": escaped})):
        doc, r = report(*args, **kwargs)
        expect_status(r, 0)
        check(doc["findings"] == [], "no finding: d2 ended ok", r)
        check(doc["summary"]["tasks"] == 1, "one task, d2", r)
        check(doc["summary"]["outcomes"]["ok"] == 1, "d2 ended ok", r)
        check(doc["input"]["records"] == 4, "every line is a record", r)
        check(doc["input"]["task_records"] == 2, "two records of a task", r)
        check(doc["input"]["bad_lines"] == 0, "no bad line", r)
    r = run("timeline", "d2", path)
    expect_status(r, 0)
    check("outcome: ok" in r.out and re.search(r"^\s+\S+\s+done\b", r.out, re.M),
          "d2 started and ended at done", r)
    for name in ("d1", "true", "1.5"):
        expect_one_error_line(run("timeline", name, path), "no task '%s'" % name)


def write_log(directory, name, records):
    """Writes `records` (dicts) one JSON object a line; returns the path."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
    return path


def jobs_past_the_stage_cap(count=20000):
    """20,000 jobs: 'job started', a unique 'fetched <url> ...', then 'job done'; the last two
    jobs, both past the 10,000th distinct name, log 'job timed out' and 'job cancelled'."""
    t = 1700000000.0
    for i in range(count):
        job = "job-%d" % i
        end = {count - 2: "job timed out", count - 1: "job cancelled"}.get(i, "job done")
        yield {"ts": t, "task_id": job, "message": "job started"}
        yield {"ts": t + 0.001, "task_id": job,
               "message": "fetched https://example.com/item/%d in %d ms" % (i, i % 50)}
        yield {"ts": t + 0.002, "task_id": job, "message": end}
        t += 0.0005
    yield {"ts": t + 5, "task_id": "reporter", "message": "all jobs seen"}


def test_stage_cap_keeps_meaning():
    # Past --max-stages, a name folds, never its meaning: the job that timed out is a timeout,
    # the cancelled one no hang, with templates (the URLs become one stage) and without (20,000
    # distinct names, so 'job timed out' and 'job cancelled' fold), on one thread or two.
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(tmp, "capped.jsonl", jobs_past_the_stage_cap())
        for args in ([], ["--templates", "off"], ["--templates", "off", "-j", "2"]):
            doc, r = report(*args, path)
            expect_status(r, 1)
            kinds = kinds_by_task(doc)
            check(kinds.get("job-19998") == ["timeout"], "job-19998 timed out (%s)" % args, r)
            check("job-19999" not in kinds, "a cancelled job is no hang (%s)" % args, r)
            check(doc["summary"]["outcomes"]["cancelled"] == 1, "one job cancelled", r)
            check(doc["summary"]["outcomes"]["timed-out"] == 1, "one job timed out", r)
            check(not [f for f in doc["findings"] if f["kind"] == "hung"], "nothing hung", r)
        doc, r = report("--templates", "off", path)
        check(doc["input"]["folded_stages"] > 0, "names folded past the cap", r)
        check(doc["input"]["templated_stages"] == 0, "--templates off masks nothing", r)
        doc, r = report(path)
        check(doc["input"]["templated_stages"] == 20000, "every 'fetched' value, nothing else", r)


def test_stage_cap_does_not_learn_other_as_the_end():
    # 50 chatty tasks write 300 distinct stage names each before the ordinary tasks write 'done':
    # with --max-stages 100 those names fold, 'done' stays, and the one task stuck in 'work' is
    # hung (it was missed when 'done' folded into '(other)' and '(other)' was learned as the end).
    records = []
    t = 1700000000.0
    for c in range(50):
        for n in range(300):
            records.append({"ts": t, "task_id": "chatty-%d" % c, "stage": "step-%d-%d" % (c, n)})
            t += 0.0001
        records.append({"ts": t, "task_id": "chatty-%d" % c, "stage": "done"})
    for i in range(200):
        job = "job-%d" % i
        records += [{"ts": t, "task_id": job, "stage": "start"},
                    {"ts": t + 0.01, "task_id": job, "stage": "work"}]
        if i != 77:
            records.append({"ts": t + 0.02, "task_id": job, "stage": "done"})
        t += 0.001
    records.append({"ts": t + 30, "task_id": "reporter", "stage": "done"})
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(tmp, "chatty.jsonl", records)
        for extra in ([], ["--templates", "on"]):
            doc, r = report("--max-stages", "100", *extra, path)
            expect_status(r, 1)
            check(doc["learned"] is None, "the log says 'done': nothing to learn (%s)" % extra, r)
            check(kinds_by_task(doc).get("job-77") == ["hung"], "job-77 hangs in work", r)
            check(len(doc["findings"]) == 1, "nothing else is flagged", r)


def test_free_text_stages_become_templates():
    # A real program's f-string messages (tests/fixtures/free_text.jsonl): 480 values, 8
    # templates; the hung job and the timeout are found; stats counts templates; the timeline
    # keeps the text as written; --stage-deadline matches the template or the text.
    path = fixture("free_text.jsonl")
    doc, r = report(path)
    expect_status(r, 1)
    check(kinds_by_task(doc) == {"Task-14": ["hung"], "Task-22": ["timeout"]},
          "the hung job and the timed-out one, nothing else", r)
    check(doc["input"]["stage_templates"] == 8, "8 templates", r)
    check(doc["input"]["templated_stages"] == doc["input"]["records"] - 1,
          "every message but 'pipeline finished'", r)
    r = run(path)
    check("learned: 479 stage values of free text became 8 templates" in r.out,
          "the learned: line says so", r)
    r = run("stats", path)
    expect_status(r, 0)
    row = re.search(r"^fetched <url> in <num> ms\s+(\d+)\s", r.out, re.M)
    check(row and int(row.group(1)) == 119, "one 'fetched' stage of 119 runs", r)
    check("https://" not in r.out, "no URL is a stage of its own", r)
    r = run("timeline", "Task-8", path)
    check("fetched https://shop.example.com/item/7 in" in r.out, "the timeline keeps the text", r)
    for deadline in ("fetched <url> in <num> ms=1us", "job 7 started=1us"):
        doc, r = report("--kind", "timeout", "--stage-deadline", deadline, path)
        check("Task-8" in kinds_by_task(doc), "--stage-deadline %r matches" % deadline, r)
    r = run("--templates", "off", "stats", path)
    check("job 7 started" in r.out and "<num>" not in r.out, "--templates off: as written", r)
    r = run("schema", path)
    check("stage templates: 479 stage values of free text became 8 templates" in r.out,
          "schema says templates were applied", r)


def test_folding_keeps_a_swallowed_timeout():
    # A task that says it timed out (or failed), then carries on and ends 'done', keeps its
    # records: folding it at 'done' would drop the swallowed timeout.
    records = [
        {"time": 1.0, "task": "a", "stage": "fetch"},
        {"time": 2.0, "task": "a", "stage": "fetch timed out"},
        {"time": 3.0, "task": "a", "stage": "save"},
        {"time": 4.0, "task": "a", "stage": "done"},
        {"time": 1.0, "task": "b", "stage": "fetch"},
        {"time": 2.0, "task": "b", "stage": "upload failed"},
        {"time": 3.0, "task": "b", "stage": "done"},
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(tmp, "swallowed.jsonl", records)
        doc, r = report(path)
        expect_status(r, 1)
        check(kinds_by_task(doc) == {"a": ["timeout"], "b": ["lost-exception/swallowed"]},
              "the swallowed timeout and failure are found", r)


def test_folded_stage_names_keep_their_text():
    # Past --max-stages a rare name folds into '(other ...)' for the statistics, but its records
    # keep the name as written (timeline, reasons, --stage-deadline), and a move into '(other)'
    # is no stage-order anomaly.
    records = []
    for i in range(30):
        t = 1000.0 + i
        records += [{"time": t, "task": "t%d" % i, "stage": "fetch"},
                    {"time": t + 0.5, "task": "t%d" % i, "stage": "parse"},
                    {"time": t + 0.6, "task": "t%d" % i, "stage": "done"}]
    records += [{"time": 1040.0, "task": "x", "stage": "fetch"},
                {"time": 1040.2, "task": "x", "stage": "upload timed out"},
                {"time": 1041.0, "task": "y", "stage": "fetch"},
                {"time": 1041.1, "task": "y", "stage": "slowstep"},
                {"time": 1049.0, "task": "y", "stage": "done"},
                {"time": 1050.0, "task": "z", "stage": "fetch"}]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(tmp, "folded.jsonl", records)
        doc, r = report("--max-stages", "3", path)
        check(doc["input"]["folded_stages"] == 2, "'upload timed out' and 'slowstep' folded", r)
        check(kinds_by_task(doc).get("x") == ["timeout"], "x timed out", r)
        check("upload timed out" in [f for f in doc["findings"] if f["task"] == "x"][0]["reason"],
              "the reason names the stage as written", r)
        check(not [f for f in doc["findings"] if f["kind"] == "anomaly"], "no (other) anomaly", r)
        r = run("--max-stages", "3", "timeline", "x", path)
        check("upload timed out" in r.out, "the timeline keeps the name as written", r)
        doc, r = report("--max-stages", "3", "--stage-deadline", "slowstep=5s", path)
        check(kinds_by_task(doc).get("y") == ["timeout"], "--stage-deadline finds a folded name", r)


# ---------------------------------------------------------------------------------------------
# dialects: loguru, eliot, OpenTelemetry spans, values over several lines, --log-end

LIBRARIES = os.path.join(FIXTURES, "libraries")
OTLP = os.path.join(FIXTURES, "otlp", "trace.otlp.json")
SPANS_PRETTY = os.path.join(FIXTURES, "opentelemetry", "spans_pretty.json")
SPANS_ONELINE = os.path.join(FIXTURES, "opentelemetry", "spans_oneline.jsonl")
DIALECT_FIXTURES = [os.path.join(LIBRARIES, "eliot_service.jsonl"),
                    os.path.join(LIBRARIES, "eliot_service_batch.jsonl"),
                    os.path.join(LIBRARIES, "loguru_service.jsonl"),
                    os.path.join(LIBRARIES, "loguru_service_batch.jsonl"),
                    OTLP, SPANS_PRETTY, SPANS_ONELINE]


def scenario_score(truth, doc):
    """run_scenarios.py's strict scoring: (missed, wrong blame, alarms on clean tasks)."""
    sys.path.insert(0, os.path.join(TESTS, "asyncio"))
    import run_scenarios  # noqa: E402 - the one scorer of every truth file
    return run_scenarios.score(truth, doc["findings"])


def finding_set(doc):
    return {(f["task"], f["kind"], f.get("subkind") or "") for f in doc["findings"]}


def outcome_of(doc, task, *args):
    """The outcome coroner gives `task`: from `timeline TASK` over the same files."""
    r = run("timeline", task, "--format", "json", *args)
    expect_status(r, 0)
    for t in json.loads(r.out)["tasks"]:
        if t["task"] == task:
            return t["outcome"]
    raise AssertionError("no task %s in its timeline\n%r" % (task, r))


def test_files_of_different_dialects_are_each_read_in_their_own():
    # eliot, loguru, OTLP/JSON and a plain json log (no task name in common) in one run: each is
    # read in its dialect, and the run finds exactly what each file alone finds.
    files = [os.path.join(LIBRARIES, "eliot_service.jsonl"),
             os.path.join(LIBRARIES, "loguru_service.jsonl"), OTLP, fixture("jsonlogger.jsonl")]
    doc, r = report(*files)
    formats = doc["input"]["formats"]
    check([f["file"] for f in formats] == files, "one format per file, in order", r)
    check([f["dialect"] for f in formats] == ["eliot", "loguru", "opentelemetry", "json"],
          "each file read in its own dialect", r)
    check(not any(f["multiline"] for f in formats), "all one value a line", r)
    check(all(f["why"] for f in formats), "each says why", r)
    alone = set()
    for path in files:
        one, _ = report(path)
        check(one["input"]["formats"][0]["dialect"] == formats[files.index(path)]["dialect"],
              "alone, %s is read in the same dialect" % path, r)
        check(one["findings"], "%s alone finds something" % os.path.basename(path))
        alone |= finding_set(one)
    together = finding_set(doc)
    check(together == alone, "together: the union of what each finds alone; missing %r, extra %r"
          % (sorted(alone - together), sorted(together - alone)), r)
    check(doc["input"]["bad_lines"] == 0, "no bad line", r)
    text = run(*files)
    for f, dialect in zip(files[:3], ("eliot", "loguru", "opentelemetry")):
        check("learned: %s is %s (" % (f, dialect) in text.out, "a learned: line for %s" % f, text)
    check("learned: %s is" % files[3] not in text.out, "no learned: line for a plain json log",
          text)


def test_a_learned_end_stage_survives_a_span_file_beside_it():
    # seed_print.jsonl has no word for a finished task: alone, coroner learns that its tasks end
    # at 'save_to_db'. Beside a file of spans (whose ends are words), the same tasks must still
    # end ok there, not turn open and hung.
    alone, _ = report(SEED)
    doc, r = report(SEED, OTLP)
    missing = finding_set(alone) - finding_set(doc)
    extra = {f for f in finding_set(doc) - finding_set(alone) if f[0] in HEALTHY_SEED_TASKS + ["3", "6", "8", "10"]}
    check(not missing and not extra, "seed_print's findings beside a span file: missing %r, extra %r"
          % (sorted(missing), sorted(extra)), r)


def test_a_damaged_first_line_does_not_hide_the_dialect():
    # A run that crashed mid-line, and the next appended to the file: the log starts with a
    # record cut short. It costs that line, not the dialect of the whole file.
    for name in ("eliot_service.jsonl", "loguru_service.jsonl"):
        path = os.path.join(LIBRARIES, name)
        with open(path) as f:
            text = f.read()
        intact, _ = report(path)
        with TempDir() as d:
            damaged = os.path.join(d, name)
            with open(damaged, "w") as f:
                f.write(text[:90] + "\n" + text)
            doc, r = report(damaged)
            check(doc["input"]["formats"][0]["dialect"] == intact["input"]["formats"][0]["dialect"],
                  "%s: the dialect survives a damaged first line" % name, r)
            check(doc["input"]["bad_lines"] == 1, "%s: one bad line" % name, r)
            check(doc["input"]["bad_line_examples"][0]["line"] == 1, "at line 1", r)
            check(verdicts(doc) == verdicts(intact), "%s: the same findings" % name, r)


def test_a_banner_before_indented_spans():
    # One JSON line, then the console exporter's indented spans (both on the program's stdout).
    with open(SPANS_PRETTY) as f:
        text = f.read()
    alone, _ = report(SPANS_PRETTY)
    with TempDir() as d:
        path = os.path.join(d, "banner.json")
        with open(path, "w") as f:
            f.write('{"event": "service starting"}\n' + text)
        doc, r = report(path)
        fmt = doc["input"]["formats"][0]
        check(fmt["dialect"] == "opentelemetry" and fmt["multiline"], "spans over lines", r)
        check(doc["input"]["bad_lines"] == 1 and doc["input"]["records"] == alone["input"]["records"],
              "the banner is one bad line, every span is read", r)
        check(verdicts(doc) == verdicts(alone), "the same findings as without the banner", r)


def test_no_task_field_lists_the_fields_the_program_bound_first():
    # loguru_errors.py --job-key binds each task as `job`: coroner looks for task_id and the
    # like, stops, and lists the keys it saw. loguru writes some twenty keys of its own on every
    # record; the program's record.extra.job must not be hidden among the "more".
    path = os.path.join(LIBRARIES, "loguru_errors_job-key.jsonl")
    r = run(path)
    expect_one_error_line(r, path, "no record names a task", "read as loguru",
                          "record.extra.job (", "--field task=record.extra.job if that field")
    have = r.err[r.err.index("the records have "):]
    check(have.index("record.extra.job (") < have.index("record.elapsed"),
          "the program's bound fields come before loguru's own", r)
    check(have.index("record.extra.chunk (") < have.index("record.elapsed"),
          "every bound field does", r)
    # What was bound is read by its own name too, as the defaults are: under record.extra.
    for field in ("job", "record.extra.job"):
        doc, r = report("--field", "task=" + field, path)
        check(doc["summary"]["tasks"] > 0, "--field task=%s reads the tasks" % field, r)
    # Nothing that looks like a task's id: the option is given with NAME, not a guess.
    with TempDir() as d:
        log = write_log(d, "no_id.jsonl", [{"ts": 1795578788 + i, "stage": "fetch", "user": "ann"}
                                            for i in range(3)])
        r = run(log)
        check("--field task=NAME names the field" in r.err, "no guess without a likely field", r)
        # loguru's own keys are no guess either: record.thread.id names a thread, not a task.
        log = write_log(d, "nothing_bound.jsonl", [
            {"text": "fetch\n", "record": {"message": "fetch", "extra": {},
                                           "time": {"timestamp": 1795578788.0 + i},
                                           "level": {"name": "INFO"},
                                           "thread": {"id": 140, "name": "MainThread"},
                                           "process": {"id": 42, "name": "MainProcess"}}}
            for i in range(3)])
        r = run(log)
        check("read as loguru" in r.err and "--field task=NAME names the field" in r.err,
              "no loguru key of its own offered", r)


def test_forcing_a_dialect_that_does_not_fit_is_an_input_error():
    path = os.path.join(LIBRARIES, "loguru_service.jsonl")
    r = run("--dialect", "eliot", path)
    expect_one_error_line(r, path, "no record names a task", "read as eliot", "record.message")
    # The same file in its own dialect, forced or told, reads.
    for args in ([], ["--dialect", "loguru"], ["--dialect", "auto"]):
        doc, r = report(*args, path)
        check(doc["input"]["formats"][0]["dialect"] == "loguru", "read as loguru %r" % args, r)
        forced = args == ["--dialect", "loguru"]
        check((doc["input"]["formats"][0]["why"] == "--dialect") == forced,
              "why says --dialect only when forced", r)
    doc, r = report("--dialect", "otel", OTLP)
    check(doc["input"]["formats"][0]["dialect"] == "opentelemetry", "otel is opentelemetry", r)
    expect_one_error_line(run("--dialect", "logfmt", path), "logfmt")


def test_threads_give_the_same_report_on_every_dialect():
    for path in DIALECT_FIXTURES:
        one = run("--format", "json", "-j", "1", path)
        check(one.status in (0, 1), "reads", one)
        two = run("--format", "json", "-j", "2", path)
        check(two.out == one.out and two.status == one.status,
              "-j 2 gives the -j 1 report on %s" % os.path.basename(path), two)
    # Past a megabyte the threads read chunks of their own (cut between values when indented).
    with TempDir() as d:
        for path in (SPANS_PRETTY, os.path.join(LIBRARIES, "eliot_service.jsonl"), OTLP):
            with open(path) as f:
                text = f.read().rstrip("\n") + "\n"
            big = os.path.join(d, "big-" + os.path.basename(path))
            with open(big, "w") as f:
                f.write(text * (2600000 // len(text) + 1))
            one = run("--format", "json", "-j", "1", big)
            check(json.loads(one.out)["input"]["bad_lines"] == 0, "no bad line", one)
            for threads in ("2", "3"):
                many = run("--format", "json", "-j", threads, big)
                check(many.out == one.out and many.status == one.status,
                      "-j %s gives the -j 1 report on %s" % (threads, os.path.basename(big)), many)


def test_opentelemetry_python_sample_truth():
    # The sample program was killed by `timeout 1.5`, but its log ends about 5 ms after the stuck
    # span's child ('label'): judged at the log's end, nothing has been silent long enough to be
    # hung. --log-end says when it really stopped: 1.5 s after its first record.
    for path in (SPANS_PRETTY, SPANS_ONELINE):
        name = os.path.basename(path)
        first, _ = report(path)
        check(not any(f["kind"] == "hung" for f in first["findings"]),
              "%s: without --log-end nothing is hung yet (the log ends 5 ms after the hang)" % name)
        start = first["input"]["start"]
        seconds = float(start[17:-1]) + 1.5
        log_end = "%s%09.6fZ" % (start[:17], seconds)
        check(seconds < 60, "the sample's start leaves room in its minute", first)
        doc, r = report("--log-end", log_end, path)
        check(doc["input"]["program_stop"] is not None, "%s: program_stop set" % name, r)
        check(doc["input"]["formats"][0]["dialect"] == "opentelemetry", name, r)
        check(doc["input"]["formats"][0]["multiline"] == (path == SPANS_PRETTY), name, r)
        # Which span is which, from the spans themselves: the ids differ from run to run.
        spans = [json.loads(v) for v in values_of(path)]
        by_id = {s["context"]["span_id"][2:]: s for s in spans}
        exported = set(by_id)
        ship = {s["parent_id"][2:] for s in spans if s["name"] == "label"} - exported
        check(len(ship) == 1, "%s: one label names a parent never exported (ship of order 3)"
              % name)
        ship = ship.pop()
        orders = {i: s for i, s in by_id.items() if s["name"] == "order"}
        order_parents = {s["parent_id"][2:] for s in orders.values()}
        batch = order_parents.pop()
        check(not order_parents and batch not in exported, "%s: batch was never exported" % name)
        order3 = {s["parent_id"][2:] for s in spans if s["parent_id"]} - exported - {ship, batch}
        check(len(order3) == 1, "%s: order 3 is named only by its children" % name)
        order3 = order3.pop()
        kinds = kinds_by_task(doc)
        check(kinds.get(ship) == ["hung"], "%s: ship of order 3 hung" % name, r)
        check(kinds.get(order3) in (["hung"], ["blocked"]), "%s: order 3 hung or blocked" % name, r)
        check(kinds.get(batch) in (["hung"], ["blocked"]), "%s: batch hung or blocked" % name, r)
        pays = {i: s for i, s in by_id.items() if s["name"] == "pay"}
        swallowed = [i for i, s in pays.items()
                     if s["events"] and s["status"]["status_code"] == "UNSET"]
        failed = [i for i, s in pays.items() if s["status"]["status_code"] == "ERROR"]
        check(len(swallowed) == 1 and len(failed) == 1, "%s: one pay of each kind" % name)
        check(kinds.get(swallowed[0]) == ["lost-exception/swallowed"],
              "%s: pay of order 2 swallowed its exception" % name, r)
        order4 = by_id[failed[0]]["parent_id"][2:]
        for task in (failed[0], order4):
            check(task not in kinds, "%s: %s failed, no alarm (its caller was told)" % (name, task),
                  r)
            check(outcome_of(doc, task, "--log-end", log_end, path) == "failed",
                  "%s: %s's outcome is failed" % (name, task))
        alarms = {t: k for t, k in kinds.items() if t in exported and t != swallowed[0]}
        check(not alarms, "%s: no alarm on a clean exported span: %r" % (name, alarms), r)


def values_of(path):
    """The JSON values of a file, one a line or indented over several."""
    text = open(path).read()
    decoder, pos, out = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return out
        value, end = decoder.raw_decode(text, pos)
        out.append(json.dumps(value))
        pos = end


def test_otlp_fixture_truth():
    # OTLP/JSON from the OpenTelemetry JS SDK, with no option: every fault found, no alarm on a
    # clean span, the outcomes right.
    with open(os.path.join(FIXTURES, "otlp", "truth.json")) as f:
        truth = json.load(f)
    check(truth["args"] == [], "the truth needs no option")
    doc, r = report(OTLP)
    expect_status(r, 1)
    missed, wrong, alarms = scenario_score(truth, doc)
    check(not missed and not wrong and not alarms,
          "otlp: missed %r, wrong %r, alarms %r" % (missed, wrong, alarms), r)
    for task, want in truth["outcomes"].items():
        check(outcome_of(doc, task, OTLP) == want, "otlp: %s %s" % (task, want))


def test_log_end_on_a_batch_fixture():
    path = os.path.join(LIBRARIES, "structlog_service_batch.jsonl")
    with open(os.path.join(LIBRARIES, "structlog_service_batch.truth.json")) as f:
        truth = json.load(f)
    check(truth["args"][0] == "--log-end", "the truth's args are --log-end TIME")
    # Without it the log ends at the last record: the swap pair and report have been silent too
    # short a time to judge, and are only in flight; the deadlock and the blocked report are missed.
    doc, r = report(path)
    check(doc["input"]["program_stop"] is None, "no program_stop without --log-end", r)
    missed, _, _ = scenario_score(truth, doc)
    check({e["task"] for e, _ in missed} == {"swap-a", "swap-b", "report"},
          "without --log-end: the deadlock and report are missed, got %r" % missed, r)
    kinds = kinds_by_task(doc)
    check(kinds.get("swap-a") == ["in-flight"] and kinds.get("report") == ["in-flight"],
          "they are in flight", r)
    # With it, every fault of the truth is found and no clean task is flagged.
    doc, r = report(*truth["args"], path)
    check(doc["input"]["program_stop"] == truth["args"][1], "program_stop is --log-end", r)
    missed, wrong, alarms = scenario_score(truth, doc)
    check(not missed and not wrong and not alarms,
          "with --log-end: missed %r, wrong %r, alarms %r" % (missed, wrong, alarms), r)
    hung = [f for f in doc["findings"] if f["task"] == "job-stuck" and f["kind"] == "hung"]
    check(hung and "(--log-end)" in hung[0]["detail"] and "the program stopped at" in
          hung[0]["detail"], "the detail names --log-end", r)
    text = run(*truth["args"], path)
    check("(--log-end)" in text.out, "the text report names --log-end", text)


def test_log_end_bad_time_is_a_usage_error():
    for bad in ("nonsense", "2026-13-45T00:00:00Z", "12:00"):
        expect_one_error_line(run("--log-end", bad, SEED), "--log-end", bad)


def test_schema_json_names_each_files_dialect_and_keys():
    path = os.path.join(LIBRARIES, "eliot_service.jsonl")
    r = run("schema", "--format", "json", path)
    expect_status(r, 0)
    doc = json.loads(r.out)
    f0 = doc["files"][0]
    check(f0["dialect"] == "eliot" and not f0["multiline"] and f0["why"], "eliot file", r)
    keys = {k["key"]: k for k in f0["keys"]}
    check(keys["task_uuid"]["records"] > 0 and keys["task_level"]["records"] > 0, "eliot keys", r)
    counts = [k["records"] for k in f0["keys"]]
    check(counts == sorted(counts, reverse=True), "commonest first", r)
    r = run("schema", "--format", "json", fixture("nested_fields.jsonl"))
    expect_status(r, 0)
    doc = json.loads(r.out)
    f0 = doc["files"][0]
    check(f0["dialect"] == "json", "nested_fields is json", r)
    keys = {k["key"]: k for k in f0["keys"]}
    with open(fixture("nested_fields.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    want = sum(1 for rec in records if isinstance(rec.get("extra"), dict)
               and "task_id" in rec["extra"])
    check("extra.task_id" in keys and keys["extra.task_id"]["records"] == want,
          "extra.task_id counted in %d records" % want, r)
    check("extra" not in keys, "an object is told by its keys", r)
    check(keys["extra.task_id"]["samples"][:1] == [str(records[0]["extra"]["task_id"])],
          "samples are the values", r)
    check(f0["records_looked"] == len(records), "every record of the small file looked at", r)
    text = run("schema", path)
    check("eliot" in text.out, "the text names the dialect", text)


def test_indented_json_stream_reads_like_its_one_line_twin():
    for name in ("seed_print.jsonl", "structlog.jsonl"):
        check_indented_twin(name)


def check_indented_twin(name):
    with open(fixture(name)) as f:
        records = [json.loads(line) for line in f if line.strip()]
    with TempDir() as d:
        oneline = write_log(d, "oneline.jsonl", records)
        indented = os.path.join(d, "indented.json")
        with open(indented, "w") as f:
            for rec in records:
                f.write(json.dumps(rec, indent=2) + "\n")
        a, ra = report(oneline)
        b, rb = report(indented)
        check(b["input"]["formats"][0]["multiline"] and b["input"]["formats"][0]["dialect"] == "json",
              "the indented one is read as values over several lines", rb)
        check(verdicts(a) == verdicts(b) and ra.status == rb.status, "same findings", rb)
        check(bool(a["findings"]) == (name == "seed_print.jsonl"), "%s: findings as known" % name,
              ra)
        check(b["input"]["records"] == len(records) and b["input"]["bad_lines"] == 0,
              "every record read", rb)
        check("values over several lines" in run(indented).out, "learned: multi-line", rb)
        # -j 2 reads the stream as -j 1 does.
        one = run("--format", "json", "-j", "1", indented)
        two = run("--format", "json", "-j", "2", indented)
        check(one.out == two.out, "-j 2 on an indented stream", two)


def test_a_damaged_value_in_an_indented_stream_costs_only_itself():
    records = [{"timestamp": 1795578788 + i, "task_id": "t%d" % (i % 3),
                "stage": ("load", "save", "done")[i // 3 % 3]} for i in range(9)]
    with TempDir() as d:
        path = os.path.join(d, "damaged.json")
        lines = []
        for i, rec in enumerate(records):
            text = json.dumps(rec, indent=2)
            if i == 4:
                damaged_line = len(lines) + 1
                text = text.replace('"save"', '"sa\nve').rstrip("}")  # a raw newline, no close
            lines.extend(text.split("\n"))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        doc, r = report(path)
        check(doc["input"]["bad_lines"] == 1, "one bad value", r)
        check(doc["input"]["records"] == 8, "the 8 other records read", r)
        check(doc["input"]["bad_line_examples"][0]["line"] == damaged_line,
              "the bad value's first line, %d" % damaged_line, r)
        strict = run("--strict", path)
        check(strict.status == 2 and "damaged.json:%d: " % damaged_line in strict.err,
              "--strict names file:line of the value's first line", strict)
        # The records after it are read: t2's last record (done) is there.
        tl = run("timeline", "t2", "--format", "json", path)
        expect_status(tl, 0)
        stages = [e.get("stage") for e in json.loads(tl.out)["tasks"][0]["events"]]
        check(stages[-1] == "done", "records after the damaged value are read: %r" % stages, tl)


def test_version_and_help():
    r = run("--version")
    expect_status(r, 0)
    check("coroner" in r.out, "version", r)
    r = run("--help")
    expect_status(r, 0)
    for word in ("analyze", "timeline", "stats", "schema"):
        check(word in r.out, "--help lists %s" % word, r)


# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# reports a person acts on: problems, blame trees, the next step, the log's own times

DEADLOCK_SAMPLE = os.path.join(os.path.dirname(TESTS), "sample_traces", "deadlock.jsonl")


def many_hung_log(directory):
    """40 tasks hung in 'transform', 30 healthy, one that logs 'retry upload' 80 times and ends."""
    records = []
    t = 1700000000.0
    for i in range(30):
        for n, stage in enumerate(("start", "transform", "done")):
            records.append({"ts": t + i * 0.01 + n * 0.002, "task_id": "ok-%d" % i, "stage": stage})
    for i in range(40):
        records.append({"ts": t + 0.5 + i * 0.001, "task_id": "stuck-%02d" % i, "stage": "start"})
        records.append({"ts": t + 0.501 + i * 0.001, "task_id": "stuck-%02d" % i, "stage": "transform"})
    for n in range(80):
        records.append({"ts": t + 1 + n * 0.027, "task_id": "uploader", "stage": "retry upload"})
    records.append({"ts": t + 3.2, "task_id": "uploader", "stage": "done"})
    records.append({"ts": t + 60, "task_id": "late", "stage": "start"})
    records.append({"ts": t + 60.001, "task_id": "late", "stage": "done"})
    return write_log(directory, "many_hung.jsonl", records)


def test_findings_of_one_problem_are_told_once():
    with tempfile.TemporaryDirectory() as tmp:
        path = many_hung_log(tmp)
        r = run(path)
        doc, _ = report(path)
    expect_status(r, 1)
    check(re.findall(r"^hung.*$", r.out, re.M) == ["hung x40  in stage 'transform'"],
          "one heading for the 40 hung tasks", r)
    check(r.out.count("no end, silent for") == 3, "three examples by default", r)
    check("  ... and 37 more: stuck-03, stuck-04," in r.out and "(--top 0 shows all)" in r.out,
          "the rest named", r)
    hung = [p for p in doc["problems"] if p["kind"] == "hung"]
    check(len(hung) == 1 and hung[0]["count"] == 40 and len(hung[0]["tasks"]) == 40,
          "json: one problem of 40 tasks", r)
    check(hung[0]["stage"] == "transform" and hung[0]["longest_silence_s"] > 50, "its range", r)
    check(not any(t.startswith("ok-") for p in doc["problems"] for t in p["tasks"]),
          "no healthy task in a problem", r)


def test_repeated_records_fold_into_one_row():
    with tempfile.TemporaryDirectory() as tmp:
        path = many_hung_log(tmp)
        r = run("timeline", "uploader", path)
    expect_status(r, 0)
    rows = [line for line in r.out.splitlines() if "retry upload" in line]
    check(len(rows) == 1, "eighty records, one row: %r" % rows, r)
    check(rows and re.search(r"x80, every ~27\.0ms$", rows[0]), "how many, and how often", r)


def test_a_cycle_is_one_problem_and_blocked_tasks_hang_under_their_root_cause():
    r = run(DEADLOCK_SAMPLE)
    expect_status(r, 1)
    deadlocks = re.findall(r"^deadlock  (.*)$", r.out, re.M)
    check(deadlocks == ["shard-a -> shard-b -> shard-c -> shard-a", "xfer-a -> xfer-b -> xfer-a"],
          "one entry per cycle, naming its members: %r" % deadlocks, r)
    check("outcomes: 120 ok, 1 failed (root cause: producer-feed)," in r.out,
          "the failed root cause is named", r)
    tree = re.search(r"blocked on it \(2\):\n\s+└─ report-daily .*\n\s+└─ mailer ", r.out)
    check(tree, "mailer nests under report-daily under cache-warm", r)
    check(re.search(r"^  producer-feed  root cause: failed in stage 'reading feed' at "
                    r"[\d:.]+: ValueError: feed closed unexpectedly$", r.out, re.M),
          "the root cause's own evidence", r)
    check(re.search(r"^      sample_traces/deadlock\.jsonl:63$|deadlock\.jsonl:63$", r.out, re.M),
          "its file:line", r)
    doc, _ = report(DEADLOCK_SAMPLE)
    consumer = [f for f in doc["findings"] if f["task"] == "consumer-feed"]
    check(consumer and consumer[0]["root_cause"]["task"] == "producer-feed" and
          consumer[0]["root_cause"]["error"] == "ValueError: feed closed unexpectedly",
          "json: the chain ends with the root cause's evidence", r)
    check(consumer[0]["root_cause"]["where"]["line"] == 63, "json: where it is", r)
    problem = [p for p in doc["problems"] if p["root_cause"]]
    check(problem and problem[0]["title"] == "on producer-feed, which failed", "json problem", r)
    cache = [p for p in doc["problems"] if p["tasks"] == ["cache-warm"]]
    check(cache and sorted(cache[0]["blocked"]) == ["mailer", "report-daily"],
          "json: the blocked tasks under their root cause", r)


def test_next_commands_work_when_pasted():
    sample = os.path.dirname(DEADLOCK_SAMPLE)
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(BINARY)) + os.pathsep +
               os.environ.get("PATH", ""))
    env.pop("COLUMNS", None)
    # With the display option --utc too, which timeline takes and graph does not.
    for extra in ([], ["--utc", "--stall", "100ms"]):
        r = run(*extra, DEADLOCK_SAMPLE, cwd=os.path.dirname(sample))
        commands = re.findall(r"^  next: (coroner timeline .*)$", r.out, re.M)
        check(len(commands) >= 4, "a next command per problem: %r" % commands, r)
        graphs = re.findall(r"^  next: (coroner graph .*) \| dot -Tsvg -o around.svg$", r.out, re.M)
        check(len(graphs) >= 3, "a graph command per wait: %r" % graphs, r)
        for command, shows in [(c, "outcome:") for c in commands] + [(g, "digraph") for g in graphs]:
            done = subprocess.run(["bash", "-c", command], cwd=os.path.dirname(sample), env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            check(done.returncode == 0 and shows in done.stdout,
                  "pasted, it runs: %s: %s" % (command, done.stderr), r)
    # A scoped task opens by the name the report printed, and only that one.
    with tempfile.TemporaryDirectory() as tmp:
        records = []
        for pid in (5531, 5532, 5533):
            for n in range(20):
                records.append({"ts": 1 + n * 0.01, "task_id": "Task-%d" % n, "pid": pid,
                                "stage": "work"})
                records.append({"ts": 1.005 + n * 0.01, "task_id": "Task-%d" % n, "pid": pid,
                                "stage": "done"})
        records.append({"ts": 1.5, "task_id": "Task-23", "pid": 5532, "stage": "fetch"})
        records.append({"ts": 9, "task_id": "Task-0", "pid": 5531, "stage": "done"})
        path = write_log(tmp, "scoped.jsonl", records)
        r = run(path, cwd=tmp)
        command = re.findall(r"^  next: (coroner timeline .*)$", r.out, re.M)
        check(command and "'Task-23 (pid=5532)'" in command[0], "the scoped name: %r" % command, r)
        done = subprocess.run(["bash", "-c", command[0]], cwd=tmp, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(done.returncode == 0 and done.stdout.count("outcome:") == 1,
              "exactly that task: %s" % done.stdout, r)


def test_times_are_shown_as_the_log_wrote_them():
    records = []
    for i in range(20):
        for n, stage in enumerate(("start", "fetch", "done")):
            stamp = "2026-11-25T09:23:%02d.%06d+05:30" % (10 + i, n * 2000)
            records.append({"timestamp": stamp, "task_id": "t%d" % i, "stage": stage})
    records.append({"timestamp": "2026-11-25T09:23:40.000000+05:30", "task_id": "x", "stage": "fetch"})
    records.append({"timestamp": "2026-11-25T09:23:59.000000+05:30", "task_id": "t0", "stage": "done"})
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(tmp, "offset.jsonl", records)
        local = run(path)
        utc = run("--utc", path)
        timeline = run("timeline", "x", path)
    check(re.search(r"^\s+09:23:40\.000000  fetch", local.out, re.M), "the log's own clock", local)
    check("entered at 09:23:40.000000" in local.out, "the detail too", local)
    check(re.search(r"^\s+03:53:40\.000000  fetch", utc.out, re.M) and "09:23:40" not in utc.out,
          "--utc: UTC", utc)
    check("(2026-11-25T09:23:40.000000+05:30 .." in timeline.out, "timeline header", timeline)


def test_verdicts_are_short_and_text_wraps_to_the_width():
    for path in (SEED, DEADLOCK_SAMPLE, IN_FLIGHT_TRACE):
        doc, r = report(path)
        long = [f["reason"] for f in doc["findings"] if len(f["reason"]) > 100]
        check(not long, "verdicts of about 90 characters at most: %r" % long, r)
        wide = run("--top", "0", path, env={"COLUMNS": "100"})
        lines = [line for line in wide.out.splitlines()
                 if len(line) > 100 and not re.match(r"^\s+\d\d:\d\d:\d\d\.\d{6}  ", line)
                 and not line.startswith("  next: ")]
        check(not lines, "no line but a timeline row or a command is wider than 100: %r" % lines[:2],
              wide)


def test_a_timeouts_stage_is_the_same_in_every_format():
    doc, _ = report(SEED)
    r = run(SEED)
    timeout = [f for f in doc["findings"] if f["kind"] == "timeout"][0]
    check("in stage '%s'" % timeout["stage"] in timeout["reason"], "json: reason and stage agree",
          r)
    check(re.search(r"^timeout  in stage '%s'$" % re.escape(timeout["stage"]), r.out, re.M),
          "text: the same stage", r)


def slow_pipe_run(args, stderr_terminal):
    """coroner reading a log from a pipe that stalls for 1.6 s halfway, its stderr a
    pseudo-terminal or a pipe: (stdout, stderr, status)."""
    import pty
    import time
    with open(SEED, "rb") as f:
        log = f.read()
    if stderr_terminal:
        master, slave = pty.openpty()
        err_target = slave
    else:
        err_target = subprocess.PIPE
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    proc = subprocess.Popen([BINARY, *args, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=err_target, env=env)
    half = log.rfind(b"\n", 0, len(log) // 2) + 1
    proc.stdin.write(log[:half])
    proc.stdin.flush()
    time.sleep(1.6)
    proc.stdin.write(log[half:])
    proc.stdin.close()
    out = proc.stdout.read()
    if stderr_terminal:
        os.close(slave)
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
    else:
        err = proc.stderr.read()
    proc.wait()
    return out.decode(), err.decode(), proc.returncode


def once_reading(tunables):
    """(GLIBC_TUNABLES, VmFlags `hg` seen) of a coroner started with GLIBC_TUNABLES=`tunables`
    (None: unset), as /proc shows them once it waits on its standard input, after the restart
    for huge pages if any; (None, None) when built with AddressSanitizer (its allocator reads no
    glibc tunable)."""
    import time
    env = dict(os.environ)
    env.pop("GLIBC_TUNABLES", None)
    if tunables is not None:
        env["GLIBC_TUNABLES"] = tunables
    proc = subprocess.Popen([BINARY, "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        # Blocked reading the pipe, on whichever of its threads reads: /proc's wchan says so
        # where the kernel shows it ("0" where it does not: then every thread asleep for 20
        # polls in a row).
        deadline = time.monotonic() + 20
        waiting, asleep = False, 0
        while not waiting and time.monotonic() < deadline:
            check(proc.poll() is None, "coroner waits on its standard input")
            wchans, states = [], []
            for tid in os.listdir("/proc/%d/task" % proc.pid):
                try:
                    with open("/proc/%d/task/%s/wchan" % (proc.pid, tid)) as f:
                        wchans.append(f.read())
                    with open("/proc/%d/task/%s/stat" % (proc.pid, tid)) as f:
                        states.append(f.read().rsplit(")", 1)[1].split()[0])
                except OSError:  # a thread that ended meanwhile
                    continue
            asleep = asleep + 1 if states and all(st == "S" for st in states) else 0
            hidden = all(w in ("", "0") for w in wchans)
            waiting = any("pipe" in w for w in wchans) or (hidden and asleep >= 20)
            time.sleep(0.01)
        check(waiting, "coroner waits on its standard input within 20 s")
        with open("/proc/%d/smaps" % proc.pid) as f:
            smaps = f.read()
        with open("/proc/%d/environ" % proc.pid, "rb") as f:
            environ = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    finally:
        proc.stdin.close()
        proc.wait()
    if "libasan" in smaps:
        return None, None
    flags = [line.split()[1:] for line in smaps.splitlines() if line.startswith("VmFlags:")]
    value = environ.get(b"GLIBC_TUNABLES")
    return (None if value is None else value.decode()), any("hg" in vma for vma in flags)


def test_malloc_asks_for_huge_pages_when_the_kernel_wants_to_be_asked():
    # The restart changes nothing of what coroner says, on a log big enough for huge pages.
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.jsonl")
        subprocess.run([sys.executable, os.path.join(TESTS, "bench", "generate.py"), "20000", big],
                       check=True, stdout=subprocess.DEVNULL)
        plain = run("--format", "json", big, env={"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"})
        restarted = run("--format", "json", big)
        check(plain.out == restarted.out and plain.status == restarted.status,
              "the same report with and without huge pages", restarted)
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            asked = "[madvise]" in f.read()
    except OSError:
        asked = False
    tunables, marked = once_reading(None)
    if tunables is None and marked is None:
        return  # AddressSanitizer's build: it has no huge pages to ask for
    # Where the kernel gives huge pages only on request, coroner restarted with the tunable and
    # its memory is marked; elsewhere it did not restart (this machine's mode decides which).
    on = "glibc.malloc.hugetlb=1"
    check((tunables, marked) == ((on, True) if asked else (None, False)),
          "kernel mode madvise %s: GLIBC_TUNABLES %r, memory marked %s" % (asked, tunables, marked))
    _, marked = once_reading("glibc.malloc.arena_max=4")
    check(marked == asked, "a user's other tunables do not keep coroner from asking")
    own = "glibc.malloc.hugetlb=0"
    check(once_reading(own) == (own, False), "the user's hugetlb=0 is kept")


def test_progress_on_a_terminal_is_drawn_in_place_and_erased():
    out, err, status = slow_pipe_run([], True)
    check(status == 1, "the report's own status: %d" % status)
    check("coroner: read " in err and " records, " in err and " tasks, " in err and "MB/s" in err,
          "progress after a second of a stalled pipe: %r" % err)
    check(err.startswith("\r\x1b[K") and err.endswith("\r\x1b[K"),
          "redrawn in place, then erased: %r" % err[-40:])
    check("\n" not in err.replace("\r\n", ""), "no line of its own: %r" % err)
    check(out.startswith("coroner <stdin>: 35 records") and "coroner: read" not in out,
          "the report is whole, and apart: %r" % out[:80])
    _, quiet_err, _ = slow_pipe_run(["-q", "--progress", "always"], True)
    check(quiet_err == "", "-q wins: %r" % quiet_err)
    _, never_err, _ = slow_pipe_run(["--progress", "never"], True)
    check(never_err == "", "--progress never: %r" % never_err)


def test_progress_where_stderr_is_no_terminal():
    _, err, _ = slow_pipe_run([], False)
    check(err == "", "nothing by default into a pipe: %r" % err)
    _, err, _ = slow_pipe_run(["--progress", "always"], False)
    lines = err.splitlines()
    check(lines and all(line.startswith("coroner: read ") for line in lines) and "\r" not in err
          and "\x1b" not in err, "--progress always: plain lines: %r" % err)


def main():
    global BINARY
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if len(args) < 1:
        print(__doc__)
        return 2
    BINARY = os.path.abspath(args[0])
    verbose = "-v" in sys.argv
    only = None
    if "-k" in sys.argv:
        only = sys.argv[sys.argv.index("-k") + 1]
        args = [a for a in args if a != only]
    tests = [(name, fn) for name, fn in sorted(globals().items())
             if name.startswith("test_") and callable(fn)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    failed, xfail, xpass, passed = [], [], [], 0
    for name, fn in tests:
        if only and only not in name:
            continue
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported the same way
            if name in KNOWN_BUGS:
                xfail.append(name)
                print("XFAIL %s: %s" % (name, KNOWN_BUGS[name]))
                if verbose:
                    print("      " + str(e).replace("\n", "\n      "))
            else:
                failed.append(name)
                print("FAIL  %s" % name)
                print("      " + "".join(traceback.format_exception_only(type(e), e)).strip()
                      .replace("\n", "\n      "))
            continue
        if name in KNOWN_BUGS:
            xpass.append(name)
            print("XPASS %s: fixed? remove it from KNOWN_BUGS" % name)
        else:
            passed += 1
            if verbose:
                print("ok    %s" % name)
    print("e2e: %d passed, %d failed, %d expected failures, %d unexpected passes"
          % (passed, len(failed), len(xfail), len(xpass)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
