"""coroner_pytest: a pytest plugin that fails a test whose asyncio tasks went wrong.

Off by default; on with ``pytest --coroner`` (or ``coroner = true`` in the ini file). Around each
test it installs coroner_asyncio on every event loop made (pytest-asyncio's, a plain
``asyncio.run`` inside the test), keeps the test's log, and when the test's teardown is over
judges the log with the ``coroner`` binary. A test that leaves a hung, deadlocked or leaked task,
loses an exception (never retrieved, swallowed, died silently) or has a task destroyed pending
then fails, with coroner's text report in the message: a failed test when the test passed on
its own (the reports are logged once the teardown is judged), else an error at its teardown
beside its own failure (and always so when another plugin runs the tests, as a rerun plugin).
The failure's short reason is its first finding ("coroner: hung/leaked Task-3: still pending
..."), as the short test summary and --tb=line show it; the findings listed above coroner's
report are the first MAX_LISTED, the others counted.

Options (each also an ini key: coroner, coroner_fail_on, coroner_warn, coroner_html,
coroner_stall, coroner_binary):
  --coroner               judge every test
  --coroner-fail-on KINDS the kinds that fail a test, as coroner's --fail-on (implies --coroner;
                          default hung,lost-exception,deadlock,destroyed-pending: timeout is left
                          to be asked for)
  --coroner-warn          a warning instead of a failure
  --coroner-html DIR      keep the HTML report of each failing test in DIR
  --coroner-logs DIR      keep every test's log in DIR (default: a temporary folder; the logs of
                          clean tests are deleted)
  --coroner-stall DUR     a silence longer than DUR is a hang, as coroner's --stall (default
                          2s: a test's log is too short for coroner's statistics)
  --coroner-binary PATH   the coroner to run (default: the one installed beside this Python);
                          checked at the start (its --version): a missing or wrong one is a
                          usage error, and one that fails on a log (exit status 2 and up) fails
                          the test with its message, --coroner-warn or not

Rules a test suite needs:
- A task still pending when its test ends is leaked: a "pending" record and a "test-end" stop
  are written for it (coroner_asyncio.mark_test_end), and coroner reports it hung, subkind
  leaked. Tasks pending when the test started, or started by the setup of a module, class or
  session fixture on a loop that is still open at its end, are not the test's; a function
  fixture's task is its test's, on any loop (a session-scoped event_loop too). A wider
  fixture's task still pending when its loop closes is leaked, told with the test whose
  teardown closed the loop (the module's last, for a module-scoped loop). A plain
  asyncio.run inside the test is judged the same way just before it cancels what is left.
- An exception the test expects is not swallowed: the expected errors are an exception
  pytest.raises caught in that test (as a context or as pytest.raises(E, f, ...)), and the
  exception the code was handling when it issued a warning that pytest.warns expected (the
  error it turned into that warning; as a context, as pytest.warns(W, f, ...) or
  pytest.deprecated_call). Before the log is judged, a stage's error record of an expected
  error, matched by its text ("ValueError: bad input"), is rewritten as a plain record of that
  stage with "data": {"expected_error": ...}: coroner then judges what the task did next, and
  the same code failing another way, or outside the block, is still flagged. A task that
  failed with an expected error stays failed, its record without the error (an expected
  TimeoutError is no timeout).
- A task created in one test and collected in a later one is charged to the one that created
  it: the garbage is collected at the end of each test, and an asyncio message naming a task of
  an earlier test is moved to that test's log and reported at the end of the session. A task
  that failed with an exception nobody retrieved and is still alive at the session's end (held
  by a global, with no later test in the process to drop it) is judged then, as if collected.
  Such a finding fails the session: the final line counts the tests it was charged to ("2
  passed, 1 charged by coroner"), and --lf runs them again.
- Under pytest-xdist each worker keeps its own logs, one a test.
"""

import ast
import asyncio
import collections
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings
import weakref

import pytest
from _pytest.runner import runtestprotocol

import coroner_asyncio

DEFAULT_FAIL_ON = "hung,lost-exception,deadlock,destroyed-pending"
# A test's log lasts milliseconds: coroner's statistics would call a background task that the
# test cancels after 20 ms "stuck". What a test leaves pending is leaked whatever this says.
DEFAULT_STALL = "2s"
# The findings a failure lists before coroner's report, which groups them all: a test leaving 3000
# tasks waiting would otherwise put 3000 lines above it.
MAX_LISTED = 10
# The final summary line's word for the tests a finding was charged to after they had passed
# ("2 passed, 1 charged by coroner").
CHARGED = "charged by coroner"


class CoronerWarning(UserWarning):
    """What coroner found in a test, with --coroner-warn."""


def pytest_addoption(parser):
    group = parser.getgroup("coroner", "coroner: judge each test's asyncio tasks")
    group.addoption("--coroner", action="store_true", default=None,
                    help="judge each test's asyncio tasks with coroner (ini: coroner = true)")
    group.addoption("--coroner-fail-on", metavar="KINDS", default=None,
                    help="finding kinds that fail a test, as coroner's --fail-on (implies "
                         "--coroner; default: " + DEFAULT_FAIL_ON + ")")
    group.addoption("--coroner-warn", action="store_true", default=None,
                    help="report coroner's findings as warnings instead of failing the test")
    group.addoption("--coroner-html", metavar="DIR", default=None,
                    help="keep the HTML report of each failing test in DIR")
    group.addoption("--coroner-logs", metavar="DIR", default=None,
                    help="keep every test's log in DIR (default: a temporary folder, clean "
                         "tests' logs deleted)")
    group.addoption("--coroner-stall", metavar="DUR", default=None,
                    help="a task silent longer than this (then cancelled, or at teardown) "
                         "hung, as coroner's --stall (default: " + DEFAULT_STALL + ")")
    group.addoption("--coroner-binary", metavar="PATH", default=None,
                    help="the coroner binary (default: the one installed beside this Python)")
    parser.addini("coroner", "judge each test's asyncio tasks with coroner", type="bool",
                  default=False)
    parser.addini("coroner_fail_on", "finding kinds that fail a test", default=None)
    parser.addini("coroner_warn", "warn instead of failing", type="bool", default=False)
    parser.addini("coroner_html", "keep the HTML report of each failing test here", default=None)
    parser.addini("coroner_stall", "a silence longer than this is a hang", default=None)
    parser.addini("coroner_binary", "the coroner binary", default=None)


def _setting(config, name):
    value = config.getoption(name)
    return value if value is not None else config.getini(name)


def pytest_configure(config):
    fail_on = _setting(config, "coroner_fail_on")
    if not (_setting(config, "coroner") or config.getoption("coroner_fail_on")):
        return
    config.pluginmanager.register(_Plugin(config, fail_on or DEFAULT_FAIL_ON), "coroner-plugin")


def _find_binary(config):
    """The coroner to run, checked once here: a wrong one would otherwise fail every test with an
    internal error (missing), or pass every test (/bin/true prints no finding)."""
    if config.getoption("coroner_binary"):
        given, source = config.getoption("coroner_binary"), "--coroner-binary"
    elif config.getini("coroner_binary"):
        given, source = config.getini("coroner_binary"), "coroner_binary (ini)"
    elif os.environ.get("CORONER_BINARY"):
        given, source = os.environ["CORONER_BINARY"], "CORONER_BINARY"
    else:
        beside = os.path.join(sysconfig.get_path("scripts"), "coroner")
        given, source = beside, "the coroner beside this Python"
        if not os.access(beside, os.X_OK):
            given, source = shutil.which("coroner"), "the coroner on PATH"
            if given is None:
                raise pytest.UsageError(
                    "coroner: no coroner binary on PATH (give --coroner-binary)")
    _check_binary(given, source)
    return given


def _check_binary(path, source):
    try:
        run = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as e:  # missing, not executable, not a program
        raise pytest.UsageError("coroner: %s %s cannot be run: %s"
                                % (source, path, e.strerror or e))
    except subprocess.TimeoutExpired:
        raise pytest.UsageError("coroner: %s %s --version did not return in 60s" % (source, path))
    if run.returncode != 0 or not run.stdout.startswith("coroner "):
        said = (run.stdout + run.stderr).strip().splitlines()
        raise pytest.UsageError("coroner: %s %s is not coroner: its --version exited %d%s" % (
            source, path, run.returncode, ", saying: " + said[0] if said else " and said nothing"))


class _CoronerFailed(Exception):
    """coroner could not judge a log: it did not run, or failed itself (exit status 2 and up)."""


class _Verdict(collections.namedtuple("_Verdict", "reason text broken")):
    """What fails a test: reason, one line (pytest's short summary and --tb=line show it); text,
    the failure's message (the findings, then coroner's report); broken: coroner itself failed,
    which fails the test even with --coroner-warn (no judgement is no pass)."""


class _Router:
    """The one stream coroner_asyncio writes to: the running test's log, or nowhere."""

    def __init__(self):
        self.file = None

    def write(self, text):
        if self.file is not None:
            self.file.write(text)

    def flush(self):
        if self.file is not None:
            self.file.flush()


def _file_name(nodeid):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:200]


# The task an asyncio message is about: its repr's name=%r, quoted with ' or, when the name holds
# a ' and no ", with " ("user's job").
_TASK_IN_MESSAGE = re.compile(r"""<Task [^>]*?name=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def _task_in_message(line):
    """The name of the task an asyncio message record (a JSON line) is about, or None."""
    if '"message": ' not in line:
        return None
    try:
        match = _TASK_IN_MESSAGE.search(str(json.loads(line).get("message", "")))
        return ast.literal_eval(match.group(1)) if match else None
    except (ValueError, SyntaxError):
        return None


class _Plugin:
    def __init__(self, config, fail_on):
        self.config = config
        self.fail_on = set(k.strip() for k in fail_on.split(",") if k.strip())
        self.warn = bool(_setting(config, "coroner_warn"))
        self.html = _setting(config, "coroner_html")
        self.binary = _find_binary(config)
        stall = _setting(config, "coroner_stall") or DEFAULT_STALL
        self.judge_args = ["--fail-on", ",".join(sorted(self.fail_on)), "--stall", stall]
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        logs = config.getoption("coroner_logs")
        self.keep_logs = logs is not None
        self.logs = os.path.join(logs or tempfile.mkdtemp(prefix="coroner-pytest-"), worker)
        self.router = _Router()
        self.loops = weakref.WeakSet()  # every loop made since the plugin started
        self.test = None          # the running test's nodeid
        self.log = None           # its log's path
        self.before = weakref.WeakSet()  # tasks pending when it started: not its own
        self.wider = weakref.WeakSet()  # tasks started by the setup of a fixture wider than a test
        self.expected = set()     # the errors it expected, as the records write them
        self.created_by = {}      # task name -> (nodeid, log path) of the test that created it
        self.late = []            # (nodeid, text): findings charged to an earlier test
        self.failed = set()       # the tests failed (or in error) so far, as reported
        self.verdicts = {}        # nodeid -> its _Verdict
        self.failed_teardown = None  # (nodeid, longrepr): the verdict the last teardown failed with
        self.clean_logs = []      # clean logs kept till the session's end for late messages
        self.log_names = set()    # the logs' names given so far: one a test
        self._patch()

    # ------------------------------------------------------------ hooks into asyncio and pytest

    def _patch(self):
        plugin = self
        self.loop_init = asyncio.BaseEventLoop.__init__
        self.cancel_all = asyncio.runners._cancel_all_tasks
        self.raises_exit = _raises_context().__exit__
        self.raises = pytest.raises
        self.warns_enter = _warns_context().__enter__

        def __init__(loop, *args, **kwargs):
            plugin.loop_init(loop, *args, **kwargs)
            coroner_asyncio.install(loop, stream=plugin.router)
            plugin.loops.add(loop)

        def _cancel_all_tasks(loop):
            # asyncio.run's way out: what is still pending now, the test left running.
            if plugin.test is not None:
                mine = [t for t in asyncio.all_tasks(loop)
                        if not t.done() and t not in plugin.before]
                if mine:
                    coroner_asyncio.mark_test_end("asyncio.run returned in " + plugin.test, mine)
            return plugin.cancel_all(loop)

        def raises_exit(context, exc_type, exc, tb):
            caught = plugin.raises_exit(context, exc_type, exc, tb)
            if caught and exc is not None:
                plugin.expect(exc)
            return caught

        def raises(expected_exception, *args, **kwargs):
            # The function form, pytest.raises(E, f, *args), catches without a context.
            outcome = plugin.raises(expected_exception, *args, **kwargs)
            if args:
                plugin.expect(outcome.value)
            return outcome

        def warns_enter(checker):
            # pytest.warns (its function form and deprecated_call too) records a warning through
            # the list.append catch_warnings just set; the code issuing it may be handling an
            # error it turns into that warning, and that error the test expected.
            recorder = plugin.warns_enter(checker)
            record = warnings._showwarnmsg_impl

            def record_expected(message):
                record(message)
                handled = sys.exc_info()[1]
                if handled is not None and _warns_expects(checker, message):
                    plugin.expect(handled)

            warnings._showwarnmsg_impl = record_expected  # catch_warnings' exit puts it back
            return recorder

        asyncio.BaseEventLoop.__init__ = __init__
        asyncio.runners._cancel_all_tasks = _cancel_all_tasks
        _raises_context().__exit__ = raises_exit
        pytest.raises = raises
        if hasattr(warnings, "_showwarnmsg_impl"):  # how CPython's catch_warnings records
            _warns_context().__enter__ = warns_enter

    def _unpatch(self):
        asyncio.BaseEventLoop.__init__ = self.loop_init
        asyncio.runners._cancel_all_tasks = self.cancel_all
        _raises_context().__exit__ = self.raises_exit
        pytest.raises = self.raises
        _warns_context().__enter__ = self.warns_enter

    # ------------------------------------------------------------ one test

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item):
        self._start(item.nodeid)
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        # The tasks a module, class, package or session fixture starts are that fixture's; a
        # function fixture's are its test's, whatever loop they run on.
        if self.test is None or fixturedef.scope == "function":
            yield
            return
        before = weakref.WeakSet(self._pending_tasks())
        yield
        self.wider.update(t for t in self._pending_tasks() if t not in before)

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item):
        yield
        # After every fixture's teardown: the loops are closed, what is pending was left behind.
        self.verdicts[item.nodeid] = self._finish()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        verdict = self.verdicts.pop(item.nodeid, None) if call.when == "teardown" else None
        if not verdict or report.failed:
            return
        if self.warn and not verdict.broken:
            warnings.warn(CoronerWarning(verdict.text))
            return
        report.outcome = "failed"
        report.longrepr = _longrepr(item, verdict)
        self.failed_teardown = (item.nodeid, report.longrepr)

    def pytest_runtest_protocol(self, item, nextitem):
        """pytest's own protocol, the reports logged once the teardown is judged, so that a test
        which passed and that coroner fails is a failed test, not an error at its teardown (the
        judgement stays after the teardown: a fixture may still stop the test's tasks, and its
        loop is closed only then). When another plugin runs the tests (a rerun plugin), it is
        left to it, and the verdict stays an error at teardown."""
        if self._protocol_taken():
            return None
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        self._fail_the_call(item.nodeid, reports)
        for report in reports:
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def _protocol_taken(self):
        """Whether a plugin other than pytest's runner also runs the tests."""
        impls = self.config.pluginmanager.hook.pytest_runtest_protocol.get_hookimpls()
        return any(i.plugin is not self and i.plugin_name != "runner"
                   and not (getattr(i, "hookwrapper", False) or getattr(i, "wrapper", False))
                   for i in impls)

    def _fail_the_call(self, nodeid, reports):
        """coroner's verdict moved from the teardown's report to the call's, when the test
        itself passed (else its own failure, skip or xfail is told as it is, and the verdict
        beside it at teardown)."""
        failed, self.failed_teardown = self.failed_teardown, None
        if failed is None or failed[0] != nodeid:
            return  # coroner found nothing in this test
        call = next((r for r in reports if r.when == "call"), None)
        if call is None or not call.passed or hasattr(call, "wasxfail"):
            return  # the test's own outcome first, the verdict beside it at teardown
        call.outcome, call.longrepr = "failed", failed[1]
        teardown = reports[-1]
        teardown.outcome, teardown.longrepr = "passed", None

    def _left_by_test(self, task):
        """Pending at the test's end and the test's: not there before it, and not made by the
        setup of a module, class or session fixture on a loop still open (that fixture's task,
        as its loop). A function fixture's task is its test's, on any loop. A wider fixture's
        task whose loop this test's teardown closed was left by that fixture: it is told with
        the test whose teardown ended the fixture, as pytest tells its teardown's errors."""
        if task in self.wider:
            return task.get_loop().is_closed()
        return task not in self.before

    def _pending_tasks(self):
        return [t for loop in list(self.loops) for t in asyncio.all_tasks(loop) if not t.done()]

    def expect(self, exc):
        """The running test expected exc (pytest.raises caught it, or pytest.warns its warning)."""
        self.expected.add(coroner_asyncio.error_text(exc))

    def _start(self, nodeid):
        coroner_asyncio.flush()
        self.test = nodeid
        self.expected = set()
        self.before = weakref.WeakSet(t for t in self._pending_tasks())
        self.log = os.path.join(self.logs, self._log_name(nodeid) + ".jsonl")
        os.makedirs(self.logs, exist_ok=True)  # here, not at start: xdist's controller runs none
        self.router.file = open(self.log, "w", encoding="utf-8")

    def _log_name(self, nodeid):
        """The test's file name, its own in the session: two node ids may differ only in what
        _file_name replaces (parameters "a b" and "a_b") or past its 200 characters, and a log
        kept for a late finding must not be another test's."""
        base = name = _file_name(nodeid)
        n = 1
        while name in self.log_names:
            n += 1
            name = "%s-%d" % (base, n)
        self.log_names.add(name)
        return name

    def _finish(self):
        """The test's stop, its log closed and judged: None when clean, else its _Verdict."""
        test, log = self.test, self.log
        try:
            mine = [t for t in self._pending_tasks() if self._left_by_test(t)]
            for task in mine:
                self.wider.discard(task)  # told once: pending at the next test's start
            coroner_asyncio.mark_test_end("test ended: " + test, mine)
            garbage = _may_leave_garbage(log)
            if garbage:
                # A task the test dropped is destroyed now, in its own test's log.
                gc.collect()
                coroner_asyncio.flush()
        finally:
            self.router.file.close()
            self.router.file = None
            self.test = None
        lines = self._charge_earlier_tests(test, log)
        if self.expected:
            _mark_expected(log, lines, self.expected)
        if not any(_TASK_RECORD in line for line in lines):
            os.unlink(log)
            return None  # no task ran: nothing to judge (coroner would say the log is empty)
        verdict = self._judge(test, log)
        if verdict is None and not self.keep_logs:
            if garbage:  # a later test may charge it a message: then it is judged whole
                self.clean_logs.append(log)
            else:
                os.unlink(log)
        return verdict

    def _judge(self, test, log):
        """None when the log is clean, else its _Verdict (coroner failing on it is one too)."""
        try:
            failing = [f for f in self._findings(log) if f.get("kind") in self.fail_on]
            if not failing:
                return None
            report = self._run("--color", "never", *self.judge_args, log)
            page = None
            if self.html:
                os.makedirs(self.html, exist_ok=True)
                name = os.path.basename(log)[:-len(".jsonl")]  # the log's own name
                page = os.path.join(os.path.abspath(self.html), name + ".html")
                self._run("--format", "html", "-o", page, *self.judge_args, log)
        except _CoronerFailed as e:
            return _Verdict("coroner failed: " + str(e).splitlines()[0],
                            "coroner (%s) could not judge %s (log: %s): %s\n"
                            % (self.binary, test, log, e), True)
        names = ", ".join(sorted(set(_kind_name(f) for f in failing)))
        text = "coroner found %s in %s (log: %s)\n" % (names, test, log)
        text += _listed(failing)
        if page:
            text += "html report: %s\n" % page
        first = failing[0]
        reason = "coroner: %s %s: %s" % (_kind_name(first), first.get("task"), first.get("reason"))
        reason = reason.splitlines()[0]
        if len(failing) > 1:
            reason += " (and %d more)" % (len(failing) - 1)
        return _Verdict(reason, text + "\n" + report, False)

    def _findings(self, log):
        try:
            return [json.loads(line) for line in
                    self._run("--format", "ndjson", *self.judge_args, log).splitlines()
                    if line.strip()]
        except ValueError:
            raise _CoronerFailed("its findings are not JSON lines")

    def _run(self, *args):
        """coroner's output; _CoronerFailed when it failed itself: 0 and 1 are its verdicts."""
        try:
            run = subprocess.run([self.binary, *args], capture_output=True, text=True)
        except OSError as e:  # the binary checked at the start went away
            raise _CoronerFailed("it could not be run: %s" % e)
        if run.returncode not in (0, 1):
            raise _CoronerFailed("exit status %d: %s" % (
                run.returncode, run.stderr.strip() or "(nothing on stderr)"))
        return run.stdout

    # ------------------------------------------------------------ tasks of earlier tests

    def _charge_earlier_tests(self, test, log, when=None):
        """The log's lines, less asyncio's messages about tasks an earlier test created: those go
        to that test's log, which is judged again. Records the tasks this test created. `when`
        tells when the tasks were collected: during `test` unless given."""
        with open(log, encoding="utf-8") as f:
            lines = f.readlines()
        kept, moved = [], {}
        for line in lines:
            if '"status": "created"' in line:
                name = _field(line, "task")
                if name is not None:
                    self.created_by[name] = (test, log)
            about = _task_in_message(line)
            owner = self.created_by.get(about) if about is not None else None
            if owner is not None and owner[0] != test:
                moved.setdefault(owner, []).append(line)
            else:
                kept.append(line)
        if not moved:
            return lines
        with open(log, "w", encoding="utf-8") as f:
            f.writelines(kept)
        for (earlier, earlier_log), late_lines in moved.items():
            self._judge_late(earlier, earlier_log, late_lines, when or "collected during " + test)
        return kept

    def _judge_late(self, earlier, earlier_log, late_lines, when):
        with open(earlier_log, "a", encoding="utf-8") as f:
            f.writelines(late_lines)
        verdict = self._judge(earlier, earlier_log)
        if verdict is not None:
            if earlier_log in self.clean_logs:  # clean no more: kept, as the report names it
                self.clean_logs.remove(earlier_log)
            self.late.append((earlier, "(%s)\n%s" % (when, verdict.text)))

    def _judge_left_alive(self):
        """A failed task whose exception nobody retrieved, held past every later test (by a
        module global, or with no later test in this process: run alone, an xdist worker's
        last), is told by asyncio only when it is collected, at the interpreter's exit, after the
        summary. Judged now as if collected: its "Task exception was never retrieved" is written,
        as asyncio's own, and charged to the test that created it."""
        log = os.path.join(self.logs, self._log_name("session end") + ".jsonl")
        self.router.file = open(log, "w", encoding="utf-8")
        try:
            # No collection first: gc's objects hold the garbage not yet collected too, and a
            # collection would make asyncio tell of the tasks that failed tests left pending
            # again ("destroyed but it is pending"), a second report of their leak.
            for task in _unretrieved_tasks(self.loops):
                # The context asyncio's Task.__del__ gives; _exception and _log_traceback are
                # read without task.exception(), which would retrieve it (both Task classes).
                context = {"message": "Task exception was never retrieved",
                           "exception": task._exception, "future": task}
                if getattr(task, "_source_traceback", None):
                    context["source_traceback"] = task._source_traceback
                task.get_loop().call_exception_handler(context)
                task._log_traceback = False  # told: not again at the interpreter's exit
            coroner_asyncio.flush()
        finally:
            self.router.file.close()
            self.router.file = None
        self._charge_earlier_tests(None, log, "still alive at the session's end")
        os.unlink(log)  # what no test created is left in it: not a test's log

    # ------------------------------------------------------------ the session

    def pytest_terminal_summary(self, terminalreporter):
        for test, text in self.late:
            terminalreporter.write_sep("-", "coroner: charged to " + test)
            terminalreporter.write_line(text)
        # The final line counts the tests that had passed ("2 passed, 1 charged by coroner"),
        # red as a failure: an empty "failed" entry sets pytest's colour and counts for nothing.
        charged = {test: text for test, text in self.late if test not in self.failed}
        if charged and not self.warn:
            charged = [pytest.TestReport(test, (test.split("::")[0], None, test), {}, "failed",
                                         text, "call") for test, text in charged.items()]
            add = getattr(terminalreporter, "_add_stats", None)  # it recomputes the colour
            for key, reports in (("failed", []), (CHARGED, charged)):
                if add is not None:
                    add(key, reports)
                else:
                    terminalreporter.stats.setdefault(key, []).extend(reports)

    def pytest_runtest_logreport(self, report):
        if report.failed:  # (xdist's controller gets its workers' reports here too)
            self.failed.add(report.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        """First: the cacheprovider saves the failed tests (for --lf) in its own sessionfinish."""
        if self.created_by:
            self._judge_left_alive()
        for log in self.clean_logs:
            os.unlink(log)
        worker_output = getattr(self.config, "workeroutput", None)
        if worker_output is not None:  # an xdist worker: its controller reports them
            worker_output["coroner_late"] = json.dumps(self.late)
        elif self.late and not self.warn:
            lfplugin = self.config.pluginmanager.get_plugin("lfplugin")  # None: no cache
            lastfailed = getattr(lfplugin, "lastfailed", None)
            if lastfailed is not None:
                lastfailed.update((test, True) for test, _ in self.late)
            if session.exitstatus == 0:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        """xdist's controller: a worker is done; take the findings it charged to earlier tests."""
        self.late.extend(tuple(x) for x in json.loads(node.workeroutput.get("coroner_late", "[]")))

    def pytest_unconfigure(self, config):
        self.router.file = None
        self._unpatch()


def _longrepr(item, verdict):
    """The failure as pytest shows an exception's: the whole text, and verdict.reason as its
    "crash" line, which the short test summary ("FAILED test - reason"), --tb=line and JUnit's
    message show (a plain string would show nothing there, or its first 50 characters)."""
    try:  # pytest's own, private: imported here, so that a pytest that moved them loses only this
        from _pytest._code.code import ReprExceptionInfo, ReprFileLocation, ReprTracebackNative
    except ImportError:
        return verdict.text
    path, line = item.location[0], item.location[1]
    return ReprExceptionInfo(reprtraceback=ReprTracebackNative([verdict.text]),
                             reprcrash=ReprFileLocation(path, (line or 0) + 1, verdict.reason))


def _listed(failing):
    """The failing findings, one a line, the first MAX_LISTED of them, the rest counted by kind."""
    lines = "".join("  %s %s: %s\n" % (_kind_name(f), f.get("task"), f.get("reason"))
                    for f in failing[:MAX_LISTED])
    rest = collections.Counter(_kind_name(f) for f in failing[MAX_LISTED:])
    if rest:
        lines += "  ... and %d more (%s): coroner's report below tells them all\n" % (
            sum(rest.values()), ", ".join("%d %s" % (n, k) for k, n in rest.most_common()))
    return lines


def _unretrieved_tasks(loops):
    """The live tasks of `loops` that failed with an exception nobody retrieved."""
    kinds = (asyncio.Task, getattr(asyncio.tasks, "_PyTask", asyncio.Task))
    # type(), not isinstance(): a proxy among gc's objects would run code for its __class__.
    return [o for o in gc.get_objects() if issubclass(type(o), kinds)
            and getattr(o, "_log_traceback", False) and o.get_loop() in loops]


def _raises_context():
    from _pytest.python_api import RaisesContext
    return RaisesContext


def _warns_context():
    from _pytest.recwarn import WarningsChecker
    return WarningsChecker


def _warns_expects(checker, message):
    """Whether the pytest.warns block `checker` expects the recorded warning `message`."""
    kinds = checker.expected_warning  # a tuple of classes; None for pytest.warns(None)
    if not kinds or not issubclass(message.category, kinds):
        return False
    match = checker.match_expr
    return match is None or re.search(match, str(message.message)) is not None


def _mark_expected(log, lines, expected):
    """Rewrites the log's records of the errors the test expected (a stage's error record whose
    error is one of `expected`, as the records write them) as a plain record of that stage, the
    error kept under "data" as "expected_error": coroner then sees no error there, and judges
    what the task did next (it names a task's first swallowed error only). A task that failed
    with an expected error (the main task of an asyncio.run that raised into pytest.raises)
    stays failed, without the error: a TimeoutError the test expected is no timeout, nor is the
    end of a task it timed out (wait_for's inner task before 3.12, "status": "timed_out" after
    the stage's error record, a record without the error: it is cancelled, as it was)."""
    marked = [_marked(line, expected) for line in lines]
    timed_out = {}  # task -> the expected TimeoutError it timed out with
    for new, line in zip(marked, lines):
        error = _field(new, "data")["expected_error"] if new is not line else ""
        if _is_timeout(error):
            timed_out[_field(new, "task")] = error
    if timed_out:
        marked = [_cancelled(line, timed_out[_field(line, "task")])
                  if '"status": "timed_out"' in line and _field(line, "task") in timed_out
                  else line for line in marked]
    if marked != lines:
        with open(log, "w", encoding="utf-8") as f:
            f.writelines(marked)


def _marked(line, expected):
    if '"level": "error"' not in line or ('"stage": ' not in line
                                          and '"status": "failed"' not in line):
        return line
    record = json.loads(line)
    if record.get("status", "failed") != "failed" or record.get("error") not in expected:
        return line
    error = record.pop("error")
    del record["level"]
    record.pop("error_type", None)
    record.pop("traceback", None)  # coroner reads a timeout in it too
    record.setdefault("data", {})["expected_error"] = error
    return json.dumps(record) + "\n"


def _is_timeout(error):
    """Whether an error, as the records write it ("TimeoutError: ...", "asyncio.TimeoutError"),
    is a timeout."""
    return error.split(":", 1)[0].endswith("TimeoutError")


def _cancelled(line, error):
    record = json.loads(line)
    record["status"] = "cancelled"
    record.setdefault("data", {})["expected_error"] = error
    return json.dumps(record) + "\n"


_TASK_RECORD = '"task": '  # how coroner_asyncio writes a task record's task field


def _may_leave_garbage(log):
    """Whether a collection could make asyncio speak of this test's tasks: one failed (its
    exception may never have been retrieved) or one did not end (it may be destroyed pending).
    A full collection costs tens of milliseconds; a test whose tasks all ended ok needs none."""
    open_tasks, failed = set(), False
    with open(log, encoding="utf-8") as f:
        for line in f:
            if '"status": ' not in line:
                continue
            record = json.loads(line)
            status, name = record.get("status"), record.get("task")
            if status in ("created", "started"):
                open_tasks.add(name)
            elif status in ("done", "cancelled", "timed_out"):  # timed_out: wait_for's inner task
                open_tasks.discard(name)
            elif status == "failed":
                failed = True
    return failed or bool(open_tasks)


def _field(line, key):
    try:
        return json.loads(line).get(key)
    except ValueError:
        return None


def _kind_name(finding):
    sub = finding.get("subkind")
    return finding.get("kind", "?") + ("/" + sub if sub else "")
