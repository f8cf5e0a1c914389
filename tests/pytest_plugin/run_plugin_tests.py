#!/usr/bin/env python3
"""The pytest plugin, run on cases/ with planted faults and clean tests, as a user runs it.

usage: run_plugin_tests.py CORONER [--python PY] [--installed]

Runs `PY -m pytest` (default /usr/bin/python3: Debian's pytest and pytest-asyncio) on cases/:
- with --coroner: each faulty test of cases/test_asyncio_faults.py (its EXPECTED) fails naming
  its finding, every other test passes, a failing test's HTML report is kept (--coroner-html),
  a test that expected an error (pytest.raises, or pytest.warns the warning the code turned it
  into) and lost another names the lost one and not the expected one (NAMED_ERRORS),
  a task collected in a later test is charged to the test that created it (a task named with
  a quote too), a module fixture's background task (cases/test_module_fixture.py) is no test's
  leak, on a session-scoped loop a function fixture's task left running is its test's leak
  (cases/test_fixture_on_a_session_loop.py), a module fixture's task still pending when the
  module's loop closes is leaked, told with the module's last test
  (cases/test_module_fixture_leak.py), a TimeoutError the test expected is no timeout with
  --coroner-fail-on timeout (cases/test_expected_timeout.py, a stage that wait_for cut short
  too), and tests whose node ids make one file name have a log each
  (cases/test_parameter_names.py);
- a failed task held alive past the session's end, with no later test to collect it
  (cases/test_left_alive.py: in its file, run alone, under -n 2): its never-retrieved exception
  is charged to the test that created it at the session's end, pytest exits 1, the final line
  counts it ("1 charged by coroner"), --lf knows it (the cacheprovider's lastfailed), and
  asyncio prints nothing of it after the summary;
- a test leaving 50 tasks waiting (cases/test_many_leaks.py): its failure lists 10 of them and
  counts the rest, above coroner's report;
- the short forms: the short test summary (-rf) and --tb=line give each faulty test a whole
  short reason ("coroner: hung/leaked Task-3: ..."), as JUnit's failure message does;
- a bad coroner binary (missing, not executable, not coroner: /bin/true, /bin/false; by
  --coroner-binary or CORONER_BINARY) is one usage error, exit 4; one that fails on a log (exit
  status 2) fails each test with its stderr, --coroner-warn or not;
- without the option: the plugin is off, every test passes;
- with the ini option (-o coroner=true) and with --coroner-fail-on (which implies --coroner);
- with --coroner-warn: nothing fails, the findings are warnings;
- each faulty test is a failed test, not an error at its teardown, except when another plugin
  runs the tests (cases/another_protocol.py), or when the test failed on its own
  (cases/test_own_failure.py): then it is an error at teardown;
- under pytest-xdist (-n 2), when installed: the same verdicts, a folder of logs per worker.
The plugin is taken from the source tree's python/ (PYTHONPATH, -p coroner_pytest), or, with
--installed, from PY's environment (the pip package's pytest11 entry point).
Exit 0 when all hold, 1 otherwise, 77 (skipped) when PY lacks pytest or pytest-asyncio.
"""

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
SOURCE_PYTHON_DIR = HERE.parent.parent / "python"


def planted(name, case="test_asyncio_faults.py"):
    """The constant `name` of cases/`case` (read, not imported: this Python may lack pytest)."""
    tree = ast.parse((CASES / case).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name:
            return ast.literal_eval(node.value)
    raise SystemExit(f"run_plugin_tests: no {name} in cases/{case}")


EXPECTED = planted("EXPECTED")  # test name -> the finding its failure names first
NAMED_ERRORS = planted("NAMED_ERRORS")  # test name -> (error named, expected error not named)
SESSION_LOOP_LEAKS = planted("LEAKED", "test_fixture_on_a_session_loop.py")
MODULE_FIXTURE_LEAKS = planted("LEAKED", "test_module_fixture_leak.py")
TIMED_OUT = planted("TIMED_OUT", "test_expected_timeout.py")
MANY_LEAKS = planted("LEAKED", "test_many_leaks.py")

LATE_CREATOR = "test_keeps_a_failed_task"
QUOTED_CREATOR = "test_keeps_a_failed_task_named_with_a_quote"
ALIVE_CREATOR = "test_keeps_a_failed_task_alive"

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


class Pytest:
    def __init__(self, python, coroner, installed):
        self.python, self.coroner, self.installed = python, coroner, installed

    def run(self, *args, files=("test_asyncio_faults.py", "test_late_collection.py",
                                 "test_module_fixture.py"), env=None, cache_dir=None):
        """(exit status, output, {test name: failure text or None}); self.errors: the tests
        pytest counted an error (at setup or teardown), not a failure; self.messages: {test
        name: JUnit's failure message}. env: more environment; cache_dir: the cacheprovider's
        folder (else it is off)."""
        with tempfile.TemporaryDirectory() as tmp:
            junit = os.path.join(tmp, "junit.xml")
            # COLUMNS: the short test summary cuts its reasons to the terminal's width.
            env = {**os.environ, "CORONER_BINARY": self.coroner, "COLUMNS": "1000", **(env or {})}
            cmd = [self.python, "-m", "pytest", "-q", "-rN", "--junitxml", junit]
            cmd += ["-o", "cache_dir=" + cache_dir] if cache_dir else ["-p", "no:cacheprovider"]
            if not self.installed:
                env["PYTHONPATH"] = str(SOURCE_PYTHON_DIR)
                cmd += ["-p", "coroner_pytest"]
            run = subprocess.run(cmd + list(args) + list(files), cwd=CASES, env=env,
                                 capture_output=True, text=True, timeout=600)
            verdicts, self.errors, self.messages = {}, set(), {}
            if os.path.exists(junit):
                for case in ET.parse(junit).getroot().iter("testcase"):
                    bad = case.find("failure") if case.find("failure") is not None else case.find("error")
                    if case.find("error") is not None:
                        self.errors.add(case.get("name"))
                    verdicts[case.get("name")] = None if bad is None else (bad.text or bad.get("message") or "")
                    if bad is not None:
                        self.messages[case.get("name")] = bad.get("message") or ""
        return run.returncode, run.stdout + run.stderr, verdicts


def charged_to(output, test):
    """The summary's sections "coroner: charged to PATH::test" (pytest's rootdir sets PATH)."""
    sections = output.split("coroner: charged to ")[1:]
    return "".join(part for part in sections if part.split(" ", 1)[0].endswith("::" + test))


def plugin_lines(verdict):
    """The plugin's lines of a verdict (what failed, one a line), before coroner's report, which
    tells every finding of the log, the expected errors too."""
    return verdict.split("\n\n", 1)[0]


def first_line(text):
    return text.splitlines()[0] if text else ""


def check_verdicts(verdicts, label, expected=EXPECTED):
    check(len(verdicts) >= len(expected), f"{label}: every test ran ({len(verdicts)})")
    for name, verdict in sorted(verdicts.items()):
        want = expected.get(name)
        if want is None:
            check(verdict is None, f"{label}: {name} passes" +
                  ("" if verdict is None else f" (got: {first_line(verdict)})"))
        else:
            got = first_line(verdict)
            check(verdict is not None and got.startswith("coroner found") and want in got,
                  f"{label}: {name} fails naming {want} (got: {got or 'a pass'})")
        if name in NAMED_ERRORS and verdict is not None:
            named, spared = NAMED_ERRORS[name]
            told = plugin_lines(verdict)
            check(named in told and spared not in verdict,
                  f"{label}: {name} names {named}, and nowhere {spared} the test expected")


def check_left_alive(pytest, has_xdist):
    forms = [("in its file", (), "test_left_alive.py"),
             ("run alone", (), "test_left_alive.py::" + ALIVE_CREATOR)]
    if has_xdist:
        forms.append(("-n 2", ("-n", "2"), "test_left_alive.py"))
    for form, args, target in forms:
        label = f"a failed task alive at the session's end ({form})"
        with tempfile.TemporaryDirectory() as cache:
            status, out, verdicts = pytest.run("--coroner", *args, files=(target,), cache_dir=cache)
            charged = charged_to(out, ALIVE_CREATOR)
            check(status == 1 and "lost-exception/never-retrieved" in charged
                  and "(still alive at the session's end)" in charged,
                  f"{label}: charged to the test that created it, pytest exits 1 (got {status})")
            check(verdicts and all(v is None for v in verdicts.values()),
                  f"{label}: the tests themselves pass")
            check("future: <Task" not in out,
                  f"{label}: asyncio prints nothing of it after the summary")
            final = re.findall(r"^\d+ passed.* in [\d.]+s$", out, re.M)
            check(final and ", 1 charged by coroner in " in final[-1],
                  f"{label}: the final line counts it ({final})")
            if form != "in its file":
                continue
            path = os.path.join(cache, "v", "cache", "lastfailed")
            lastfailed = json.load(open(path)) if os.path.exists(path) else {}
            check(any(k.endswith("::" + ALIVE_CREATOR) for k in lastfailed),
                  f"{label}: in the cacheprovider's lastfailed ({sorted(lastfailed)})")
            status, out, verdicts = pytest.run("--coroner", "--lf", files=(target,),
                                               cache_dir=cache)
            check(sorted(verdicts) == [ALIVE_CREATOR] and "no previously failed" not in out,
                  f"{label}: --lf runs that test again ({sorted(verdicts)})")


def check_many_leaks(pytest):
    status, out, verdicts = pytest.run("--coroner", files=("test_many_leaks.py",))
    check_verdicts(verdicts, "50 tasks left waiting", MANY_LEAKS)
    listed = plugin_lines(verdicts.get("test_leaves_50_tasks_waiting") or "").splitlines()
    check(len(listed) == 12 and listed[-1].startswith("  ... and 40 more (40 hung/leaked)")
          and "50 tasks" not in listed[0],
          f"50 tasks left waiting: 10 listed, 40 counted ({len(listed)} lines, the last: "
          f"{listed[-1:]})")


def check_short_forms(pytest):
    status, out, verdicts = pytest.run("--coroner", "--tb=line", "-rf",
                                       files=("test_asyncio_faults.py",))
    lines = out.splitlines()
    for name, want in sorted(EXPECTED.items()):
        summary = [x for x in lines if x.startswith("FAILED ") and "::%s - " % name in x]
        check(len(summary) == 1 and ("::%s - coroner: %s" % (name, want)) in summary[0]
              and summary[0].endswith(pytest.messages.get(name, "?")),
              f"short test summary: {name}, its reason, as JUnit's message (got {summary})")
    crash = [x.split(": ", 1)[1] for x in lines if re.match(r"test_asyncio_faults\.py:\d+: ", x)]
    check(sorted(crash) == sorted(pytest.messages.values()) and len(crash) == len(EXPECTED),
          f"--tb=line: each faulty test's whole reason ({len(crash)} of {len(EXPECTED)})")


def check_bad_binaries(pytest):
    with tempfile.TemporaryDirectory() as tmp:
        not_executable = os.path.join(tmp, "coroner")
        with open(not_executable, "w") as f:
            f.write("not a program\n")
        failing = os.path.join(tmp, "failing-coroner")
        with open(failing, "w") as f:
            f.write('#!/bin/sh\nif [ "$1" = --version ]; then echo "coroner 0.1.0"; exit 0; fi\n'
                    'echo "coroner: cannot allocate the task store" >&2\nexit 2\n')
        os.chmod(failing, 0o755)
        missing = os.path.join(tmp, "missing")
        for source, binary in (("--coroner-binary", missing), ("CORONER_BINARY", missing),
                               ("--coroner-binary", not_executable),
                               ("--coroner-binary", "/bin/true"),
                               ("--coroner-binary", "/bin/false")):
            given = ("--coroner-binary", binary) if source == "--coroner-binary" else ()
            status, out, verdicts = pytest.run("--coroner", *given,
                                               files=("test_expected_timeout.py",),
                                               env={"CORONER_BINARY": binary})
            check(status == 4 and out.count("ERROR: coroner: %s %s " % (source, binary)) == 1
                  and "Traceback" not in out and not verdicts,
                  f"{source} {binary}: one usage error, exit 4 (got {status}: {first_line(out)})")
        for warn in ((), ("--coroner-warn",)):
            status, out, verdicts = pytest.run("--coroner", "--coroner-binary", failing, *warn,
                                               files=("test_expected_timeout.py",))
            check(status == 1 and verdicts and not pytest.errors and all(
                      v and "exit status 2: coroner: cannot allocate the task store" in v
                      for v in verdicts.values()),
                  f"a coroner failing on a log {' '.join(warn)}: each test fails with its stderr "
                  f"(exit {status}, {sum(v is not None for v in verdicts.values())} of "
                  f"{len(verdicts)} failed, errors {sorted(pytest.errors)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("coroner")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--installed", action="store_true")
    a = ap.parse_args()
    probe = subprocess.run([a.python, "-c", "import pytest, pytest_asyncio"], capture_output=True)
    if probe.returncode != 0:
        print(f"SKIP: {a.python} lacks pytest or pytest-asyncio")
        return 77
    pytest = Pytest(a.python, os.path.abspath(a.coroner), a.installed)

    with tempfile.TemporaryDirectory() as html:
        status, out, verdicts = pytest.run("--coroner", "--coroner-html", html)
        check(status == 1, f"--coroner: pytest exits 1 (got {status})")
        check_verdicts(verdicts, "--coroner")
        check(not pytest.errors and f"{len(EXPECTED)} failed" in out,
              f"--coroner: each faulty test is a failed test, not an error at its teardown "
              f"(errors: {sorted(pytest.errors)})")
        pages = os.listdir(html)
        check(all(any(p.endswith(f"_{name}.html") for p in pages) for name in EXPECTED),
              f"--coroner-html: a page for each failing test ({len(pages)} pages)")
    dropped = (verdicts.get("test_drops_a_pending_task") or "") + charged_to(out, "test_drops_a_pending_task")
    check("destroyed-pending" in dropped,
          "a pending task dropped by its test: destroyed-pending, charged to that test")
    check(verdicts.get("test_drops_it", "?") is None, "a task collected in a later test: that test passes")
    check("lost-exception/never-retrieved" in charged_to(out, LATE_CREATOR),
          "... and its never-retrieved exception is charged to the test that created it")
    check("lost-exception/never-retrieved user's job" in charged_to(out, QUOTED_CREATOR),
          "... as is one of a task whose name holds a quote (name=\"user's job\" in asyncio's "
          "message)")
    check(verdicts.get("test_drops_that_one", "?") is None, "... and the test that drops it passes")
    late = charged_to(out, LATE_CREATOR)
    check("records, 2 tasks" in late, "... judged on that test's whole log, kept for it though clean")
    check("swallowed" not in late,
          "... where the error that test expected (pytest.raises) is still expected")

    status, out, verdicts = pytest.run()
    check(status == 0 and verdicts and all(v is None for v in verdicts.values()),
          f"off by default: every test passes (exit {status})")

    status, out, verdicts = pytest.run("-o", "coroner=true", files=("test_asyncio_faults.py",))
    check_verdicts(verdicts, "ini coroner = true")

    lost = {k: v for k, v in EXPECTED.items() if v.startswith("lost-exception")}
    status, out, verdicts = pytest.run("--coroner-fail-on", "lost-exception",
                                       files=("test_asyncio_faults.py",))
    check_verdicts(verdicts, "--coroner-fail-on lost-exception (implies --coroner)", lost)

    status, out, verdicts = pytest.run("--coroner", files=("test_fixture_on_a_session_loop.py",))
    check_verdicts(verdicts, "a session-scoped event_loop", SESSION_LOOP_LEAKS)

    status, out, verdicts = pytest.run("--coroner", files=("test_module_fixture_leak.py",
                                                           "test_module_fixture.py"))
    check_verdicts(verdicts, "a module fixture that leaves its task running", MODULE_FIXTURE_LEAKS)

    with tempfile.TemporaryDirectory() as logs:
        status, out, verdicts = pytest.run("--coroner", "--coroner-logs", logs,
                                           files=("test_parameter_names.py",))
        check_verdicts(verdicts, "parameters one file name apart", {})
        kept = os.listdir(os.path.join(logs, "main")) if os.path.isdir(logs + "/main") else []
        check(status == 0 and len(verdicts) == 3 and len(kept) == 3,
              f"parameters one file name apart: pytest exits 0 (got {status}), a log a test "
              f"({sorted(kept)})")
    status, out, verdicts = pytest.run("--coroner", files=("test_parameter_names.py",))
    check(status == 0 and "Traceback" not in out,
          f"parameters one file name apart: their clean logs deleted once each (exit {status})")

    status, out, verdicts = pytest.run("--coroner-fail-on", "timeout",
                                       files=("test_expected_timeout.py",))
    check_verdicts(verdicts, "--coroner-fail-on timeout", TIMED_OUT)

    status, out, verdicts = pytest.run("--coroner", files=("test_own_failure.py",))
    check("assert (6 * 7) == 43" in out and "coroner found hung/leaked" in out
          and pytest.errors == {"test_fails_and_leaks_a_task"},
          "a test that fails on its own: its failure as it is, the leak an error at teardown")

    status, out, verdicts = pytest.run("-p", "another_protocol", "--coroner",
                                       files=("test_asyncio_faults.py",))
    check_verdicts(verdicts, "another plugin runs the tests")
    check(pytest.errors == set(EXPECTED),
          "another plugin runs the tests: the faulty ones are errors at teardown, as before")

    status, out, verdicts = pytest.run("--coroner", "--coroner-warn", files=("test_asyncio_faults.py",))
    check(status == 0 and all(v is None for v in verdicts.values()), f"--coroner-warn: nothing fails (exit {status})")
    check(out.count("CoronerWarning") >= len(EXPECTED), "--coroner-warn: a warning a faulty test")

    has_xdist = subprocess.run([a.python, "-c", "import xdist"], capture_output=True).returncode == 0
    check_left_alive(pytest, has_xdist)
    check_many_leaks(pytest)
    check_short_forms(pytest)
    check_bad_binaries(pytest)

    if not has_xdist:
        print("skip: pytest-xdist is not installed")
    else:
        with tempfile.TemporaryDirectory() as logs:
            # loadfile: a file's tests on one worker, so the late collection stays in order.
            status, out, verdicts = pytest.run("-n", "2", "--dist", "loadfile", "--coroner",
                                               "--coroner-logs", logs)
            check_verdicts(verdicts, "-n 2 (pytest-xdist)")
            check(not pytest.errors, f"-n 2: failed tests, no errors ({sorted(pytest.errors)})")
            check("never-retrieved" in charged_to(out, LATE_CREATOR),
                  "-n 2: a worker's finding charged to an earlier test reaches the summary")
            workers = sorted(os.listdir(logs))
            check(workers == ["gw0", "gw1"], f"-n 2: a folder of logs per worker ({workers})")
            per_test = sum(len(os.listdir(os.path.join(logs, w))) for w in workers)
            # Every test but the three that ran no task (test_without_asyncio, test_drops_it,
            # test_drops_that_one).
            check(per_test == len(verdicts) - 3,
                  f"-n 2: a log per test that ran a task ({per_test})")

    print(f"{len(failures)} failed" if failures else "all plugin checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
