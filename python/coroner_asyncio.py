"""coroner_asyncio: log what coroner needs from an asyncio program, one JSON object a line.

Installed by the coroner pip package, or drop this file next to your program (standard
library only, Python 3.9+)::

    import asyncio, coroner_asyncio
    from coroner_asyncio import stage

    async def job(n):
        with stage("fetch", item=n):          # logs the stage; logs an error record if it raises
            await asyncio.sleep(0.01)

    async def main():
        coroner_asyncio.install(stream=open("run.jsonl", "a"))   # or install() + logging
        await asyncio.gather(*(job(n) for n in range(3)))        # the await edges are logged

    asyncio.run(main())

What install() records (the contract is docs/ASYNCIO_RECORDS.md; field names are coroner's)::

    {"ts": 1764059000.12, "task": "Task-3", "status": "created", "parent_id": "Task-1", "pid": 42, "hostname": "vm"}
    {"ts": ..., "task": "Task-3", "status": "started", "coroner": "task", ...}   (+ "adopted": true)
    {"ts": ..., "task": "Task-3", "stage": "fetch", "data": {"item": 0}, ...}
    {"ts": ..., "task": "Task-1", "coroner": "wait", "waiting_for": "gather of 3 tasks",
     "awaits": ["Task-3", "Task-4", "Task-5"], ...}
    {"ts": ..., "task": "Task-3", "status": "failed", "level": "error", "error_type": "ValueError",
     "error": "ValueError: boom", "traceback": "Traceback (most recent call last): ..."}
    {"ts": ..., "task": "Task-3", "coroner": "cancel", "by": "Task-1", ...}   (cancel() called on it; + "msg")
    {"ts": ..., "task": "Task-3", "coroner": "cancel-at-exit", ...}   (asyncio.run cancelling what main left)
    {"ts": ..., "task": "Task-3", "status": "done" | "cancelled", ...}   ("timed_out": wait_for's inner task, <3.12)
    {"ts": ..., "task": "Task-7", "coroner": "pending", "suspended_at": "app.py:42 in fetch",
     "waiting_for": "asyncio.Event created at app.py:33", ...}                    (at exit)
    {"ts": ..., "coroner": "exit", "reason": "main returned" | "SIGTERM" | "SIGINT" |
     "unhandled ValueError" | "sys.exit(3)" | "main cancelled" | "loop closed" | "os._exit(0)" |
     "interpreter exit", ...}
    {"ts": ..., "level": "error", "message": "Task exception was never retrieved <Task finished
     name='job-9' ...>", "error_type": "ValueError", "error": "ValueError: boom", ...}

- Tasks: every task the loop creates after install() (created with its parent, started, ended).
  Tasks that already existed (the main task, usually) are *adopted*: logged "started" with
  "adopted": true and watched for their end. A task is named by its asyncio name, unless another
  task object of the process took that name first: then it is "name#2" ("name#3", ...), fixed
  when it is first named in a record, so that each task object is one task (a supervisor
  restarting a crashed "consumer" under the same name, handlers named after their route).
  asyncio's messages about such a task are written with that identity in the task's repr.
- Cancellations: cancel() called on a pending task of the module's factory writes a "cancel"
  record (with "by", the cancelling task), once per request: coroner measures the task's
  silence up to that moment, and what the task does after it is its cleanup. asyncio.run's (and
  Runner.close's) own cancellation of what main left writes "cancel-at-exit": a task that goes
  on after it, back at the wait it was cancelled in, keeps the program from exiting.
- Waits ("coroner": "wait"), logged only when the wait really blocks: a plain ``await task``;
  asyncio.gather / wait / wait_for / as_completed / shield; TaskGroup (at ``__aexit__``, on its
  pending and failed children, so a child whose exception the parent handled with ``except*``
  is seen awaited); Lock (with its holder in "awaits", so a lock-order deadlock is a cycle of
  tasks), Semaphore (with its holders, any of whom may release it), Event, Condition, Barrier
  (3.11+), Queue.get on an empty / put on a full queue / join, and a future
  made by ``loop.create_future()`` outside asyncio. Primitives are named with the file:line of
  user code that created them. Waiting through the module behaves exactly like the plain await:
  results, exceptions, cancellation, shielding, task names, eager tasks are untouched.
- Exit: when the program stops (the loop's life ends: asyncio.run or Runner.close about to
  cancel what is left, after main returned or raised or sys.exit, or the program's
  loop.close(); SIGTERM, SIGINT; not the end of one run of a loop that runs again), one
  "pending" record per pending task, where it is suspended and what it waits on
  (through the async generators it iterates; a server's connection handler reading its
  client's next request says "asyncio.StreamReader.read of a connection served on ..."; the
  task its loop was running when a signal or another thread stopped the process says
  "nothing: running, it holds the loop", at the line it runs: a synchronous call blocking the
  loop, often; not the task that stopped the process itself, by os._exit(), sys.exit() or a
  signal to its own process (install() wraps os.kill, os.killpg and signal.raise_signal to
  tell), which is "nothing: ready to run" as a task woken and not yet resumed),
  then one "exit" record, before asyncio cancels the pending tasks (their cancellations are
  still logged). Once per process, and once more when asyncio.run's clean-up after main returned
  hangs (a task swallowing its CancelledError) and a SIGTERM, SIGINT or os._exit stops it: the
  tasks still pending, then a second exit. SIGTERM: a handler is installed only if SIGTERM has its
  default action; it logs, flushes, restores the default and re-sends SIGTERM, so the process
  still dies of SIGTERM (a second SIGTERM meanwhile, as timeout(1) or systemd send one to the
  process and one to its group, lets the first finish, unless it has been stuck for a second)
  (and, since asyncio never collects the tasks of a process killed so,
  the handler first writes asyncio's "Task exception was never retrieved" for each failed task
  whose exception nobody retrieved, and no pending gather or wait will hand back). SIGINT: the handler in place (Python's or asyncio.run's) is wrapped, not
  replaced. os._exit(N): install() wraps os._exit, which skips atexit; the wrapper writes the
  pending records and the exit ("os._exit(N)"), flushes, then exits, whatever the thread, in a
  task or after run_until_complete returned. An atexit hook writes the exit record if nothing
  else did. A forked child (a process pool's worker) writes nothing of its parent's loops and
  tasks, whatever stops it (SIGTERM, SIGINT, os._exit, its interpreter's exit): only its own
  lines (stage(), emit()), under its pid; a child that calls install() itself is traced as a
  process of its own.
  SIGKILL leaves no exit record, nor an os._exit bound before install() (from os import _exit).
- asyncio's own "Task exception was never retrieved" / "Task was destroyed but it is pending!"
  messages (and the other exception-handler messages) become task-less error records; the
  handler the app set is still called, or asyncio's default handler (stderr).

A test's end: mark_test_end(reason) writes the pending tasks and a "test-end" stop, at which
coroner reports every pending task leaked; the pytest plugin (coroner_pytest) calls it.
error_text(exc) is an exception as the records write it: the plugin finds by it the records of
the exceptions a test expected.

User fields never change a task's identity: ``stage("ship", worker=3)`` writes
``"data": {"worker": 3}``. ``emit(fields)`` is the raw escape hatch: its fields are written
as given, at the top level (``emit({"worker": 3})`` *does* set coroner's worker field).

Sinks. ``install(stream=f)``: JSON lines written to f, buffered. ``install()`` without stream:
each record is one call on the logger "coroner" (or ``logger=``, a Logger or a name) at INFO
(errors at ERROR), the message being the JSON line: give that logger a handler with
``logging.Formatter("%(message)s")``. If that logger's level is NOTSET, install() sets it to INFO,
so that the root logger's default WARNING does not drop the records.

Flush policy (stream sink): lines are collected in memory and written as one write() +
flush() when 512 lines are waiting, 100 ms after the first waiting line, at once for an error
record (failed task, stage error, asyncio's messages), when the calling thread has no running
loop, at exit (the loop's end, SIGTERM, SIGINT, os._exit(), atexit), before fork(), and at
uninstall(). The 100 ms flush is the flusher's, a daemon thread install(stream=...) starts
(importing the module, or a logger sink, starts none): a loop blocked in a synchronous call (a
socket read, time.sleep(), CPU work) runs no timer of its own, and a crash loses at most the
last 100 ms all the same, SIGKILL too (unless C code holds the GIL all that time: no thread runs
then). It sleeps while nothing waits, and stops at interpreter exit. Lines stay whole across
threads (one lock around the buffer, held across a fork(): the child finds no write half done);
a forked child starts with an empty buffer, writes its own pid, and has no flusher (its lines
are written at once outside a loop, by a timer of its loop in one) until it calls install().
A writer stuck on a full pipe (a log reader that stopped reading) holds the lock: SIGTERM,
os._exit() and the interpreter's exit wait a second at most for it, then go on without
writing. On 3.12+ an os.fork() after install(stream=...) warns, as for any process with a
thread, that the process is multi-threaded (a DeprecationWarning, shown for __main__'s fork).

Cost (tests/bench/module_overhead.py: 20,000 tasks of three logged ``sleep(0)`` stages, six
records a task, against the same program with the module imported but not installed, where
stage() is a logging-level check; all included: task factory, done callback, flushes): by
instructions (callgrind, pyenv 3.11.7, 5,000 tasks), 11,010 a record in stop 36 (10,830 before
the flusher thread; 9,650 in stop 29: task identities and cancel
records had taken it from 9,030 to 10,490, until the hot paths stopped calling str.startswith,
which parses its arguments, for every record: see _taken; a dict lookup alone made 9,130 to
9,410, but a task not of the factory's class, a chained factory's, must go the long way, its
name not seen when given, and the type check that tells costs the rest). Timed on a shared 2-core VM, by CPU
time, median of 5 runs: 1.64x and 1.8 us a record at load average 1.6 to 1.9 (2026-11-26, before
the identities); on a busy day (load average 4), 1.7x and 1.9 us, the version before 1.7x to
1.8x and 2.1 to 2.3 us. An identity costs a program-named task one attribute, asyncio's own
names ("Task-12") one dict lookup a record. About a
fifth of the time left is each task's end: its
done callback, which asyncio schedules through a Python call_soon, and its record. Before the
buffered writer: 4.5x. Per task
step: nothing, except awaiting a task or a user-made future (a Python-level add_done_callback)
and the patched primitives (one extra coroutine frame per acquire/get/wait).

Not covered:
- Names bound before install(): ``from asyncio import gather`` (wait, wait_for, shield,
  as_completed) done before install() keeps the unpatched function, whose waits are not logged
  (``await task`` and the primitives are still seen: they are patched on the classes); a task
  that signals its own process through ``from os import kill`` bound before install() (or from
  another thread's loop) reads as stopped from outside: running, holding its loop.
- ``await task`` is seen only for tasks the module's factory made; with a task factory of
  your own set before install(), its tasks are used as they are, and only the functions and
  primitives above give edges. ``asyncio.Future()`` made directly (not by loop.create_future())
  is not seen. Awaits of adopted tasks are not seen.
- Primitives created before install() have no "created at".
- An exception handler set with loop.set_exception_handler() after install() is called
  normally; the records are written anyway (install() wraps loop.call_exception_handler).
- The RuntimeWarning "coroutine ... was never awaited" is left to the warnings module: it names a
  coroutine, not a task, so coroner could not attribute it.
- Several loops: each needs its own install(loop); the sink is shared (the last install()'s
  stream, one for the process: records of every thread reach it).
"""

import asyncio
import atexit
import collections
import gc
import inspect
import itertools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
import weakref

__all__ = ["install", "uninstall", "stage", "traced", "traced_gather", "emit", "flush", "mark_test_end",
           "error_text"]

_logger = logging.getLogger("coroner")
_INFO, _ERROR = logging.INFO, logging.ERROR
_PY = sys.version_info[:2]
_now = time.time
_clock = time.monotonic
_ns = time.time_ns


# Timestamps. Turning the 19 digits of time_ns() into text was a third of a record's cost (a
# float's repr costs more still), so the seconds' text is made once a second and the fraction
# comes from a table of "000".."999": a record's ts is
#     ns = _ns(); start, sec = _second; m = ns - start
#     if m >= 1000000000 or m < 0: m, sec = _new_second(ns)
#     f"{sec}{_D3[m // 1000000]}{_D3[m // 1000 % 1000]}"
# which the hot paths inline (a Python call costs as much as the rest; and comparing m, a small
# int, is cheaper than comparing ns). _second is one tuple, replaced whole, so a thread never
# reads the text of one second with the start of another.
_D3 = ["%03d" % i for i in range(1000)]
_second = (0, "")  # the current second's start in ns, and its text ("1764059000.")


def _new_second(ns):
    """Make ns's second the current one; returns (ns - its start, its text)."""
    global _second
    start = ns - ns % 1000000000
    text = "%d." % (ns // 1000000000)
    _second = (start, text)
    return ns - start, text


def _ts():
    """Now, as JSON text with microseconds ("1764059000.123456"): time_ns() truncated."""
    ns = _ns()
    start, sec = _second
    m = ns - start
    if m >= 1000000000 or m < 0:
        m, sec = _new_second(ns)
    return f"{sec}{_D3[m // 1000000]}{_D3[m // 1000 % 1000]}"


_Task0 = asyncio.Task  # the C task (or Python, if _asyncio is missing)
_Future0 = asyncio.Future
_isfuture = asyncio.isfuture
_current_task = asyncio.current_task
if type(_current_task) is type(lambda: 0) and isinstance(getattr(asyncio.tasks, "_current_tasks", None), dict):
    # 3.9-3.11: asyncio.current_task() is Python around the dict the C task steps update;
    # reading the dict directly halves the cost of the current task's name per record.
    _current_task = asyncio.tasks._current_tasks.get
_running_loop = asyncio._get_running_loop  # None instead of raising: cheap on hot paths

# Fixed fields are formatted by hand; strings through json's C string encoder; the caller's own
# values through one encoder made once (json.dumps(default=str) builds a new encoder per call,
# which was most of the old cost).
_s = json.encoder.encode_basestring_ascii
_encoder = json.JSONEncoder(default=str)
try:
    # The C encoder json.JSONEncoder.encode() builds on every call, built once (no circular
    # check: a circular value raises RecursionError, caught below). Falls back to encode().
    _c_encode = json.encoder.c_make_encoder(None, str, _s, None, ": ", ", ", False, False, True)
except (AttributeError, TypeError):
    _c_encode = None


def _j(value):
    try:
        if _c_encode is not None:
            return "".join(_c_encode(value, 0))
        return _encoder.encode(value)
    except (ValueError, TypeError, RecursionError):  # a circular value: say so, never raise
        return _s(repr(value))


# ---------------------------------------------------------------- sink


class _Sink:
    """Where records go: a stream (buffered, see the flush policy) or a logger (one call each)."""

    MAX_LINES = 512
    DELAY = 0.1
    NAP = 0.01  # the flusher's retry, when a task another thread is creating held lines back

    def __init__(self, stream=None, logger=None, scope=True):
        self.stream = stream
        if isinstance(logger, str):
            logger = logging.getLogger(logger)
        self.logger = logger if logger is not None else _logger
        self.scope = scope
        # Whole lines in a deque: append and popleft are atomic, so writers of any thread (or a
        # signal handler, or a __del__) take no lock, and a flush takes exactly the lines that
        # were there when it started; the lock only keeps flushes one at a time.
        self.lines = collections.deque()
        self.first = 0.0  # when the oldest waiting line was buffered (_clock: the flusher sleeps
        # by it, and a wall clock stepped back by NTP would have it sleep that long)
        self.lock = threading.RLock()
        self.busy = False  # a flush is writing (a re-entered flush leaves its lines queued)
        self.after_flush = None
        self.flusher = None  # the flusher thread, once install(stream=...) started it here
        self.wake = threading.Event()  # set by the first line of a batch, for the flusher
        self.forking = 0  # the thread holding the lock across its fork() (_before_fork)
        self.captured = None  # the logger sink's records held back while an eager task starts
        self.holding = False  # the stream sink's: no flush until its created record (_eager_task)
        self.held_error = False  # an error record came while holding: flush right after
        self.set_pid()

    def set_pid(self):
        if self.scope:
            self.tail = ', "pid": %d, "hostname": %s}' % (os.getpid(), _s(socket.gethostname()))
        else:
            self.tail = "}"
        self.tail_nl = self.tail + "\n"

    def enabled(self, level=_INFO):
        return self.stream is not None or self.logger.isEnabledFor(level)

    def write(self, body, error=False):
        """body: a record without its closing brace (the scope fields and the brace are added)."""
        if self.stream is None:
            if self.captured is not None:  # an eager task's first step (_eager_task)
                self.captured.append((body, error))
                return
            level = _ERROR if error else _INFO
            if self.logger.isEnabledFor(level):
                self.logger.log(level, body + self.tail)
            return
        lines = self.lines
        lines.append(body + self.tail_nl)
        n = len(lines)
        if n & 63 and n != 1 and not error:
            return  # the common case: buffered, nothing else to do
        self.check(n, error)

    def put(self, lines_text):
        """Whole lines, ready to write (the stream sink's hot path)."""
        lines = self.lines
        lines.append(lines_text)
        n = len(lines)
        if n & 63 and n != 1:
            return
        self.check(n, False)

    def write2(self, body1, body2):
        """Two records at once (created + started)."""
        if self.stream is None:
            self.write(body1)
            self.write(body2)
            return
        lines = self.lines
        tail = self.tail_nl
        lines.append(body1 + tail)
        lines.append(body2 + tail)
        n = len(lines)
        if n & 63 > 1:
            return
        self.check(n, False)

    def check(self, n, error):
        """After a write: flush now, or make sure a flush comes within DELAY."""
        if self.holding and n < self.MAX_LINES:
            # an eager task's first step: its lines go after its created record (_eager_task)
            self.held_error = self.held_error or error
            return
        if n <= 2:
            loop = _running_loop()
            if loop is None:  # a thread without a loop: written at once (the flush policy)
                self.first = _clock()
                error = True
            else:
                self.soon(loop)
        if error or n >= self.MAX_LINES or _clock() - self.first > self.DELAY:
            # (the time check covers a timer lost with a loop that stopped)
            self.flush()

    def soon(self, loop):
        """The first line of a batch: have it written within DELAY, by the flusher thread, or by
        a timer of the loop where no flusher runs (a forked child that did not install())."""
        self.first = _clock()
        if self.flusher is None:
            loop.call_later(self.DELAY, self.flush)
        elif not self.wake.is_set():
            self.wake.set()

    def flush(self, timeout=-1, naming=False):
        """Write what waits. timeout: how long to wait for the lock at most (seconds; -1: as
        long as it takes): a stop must happen even when a writer stuck on a full pipe holds it.
        naming: the flusher thread's flush, which may come while another thread is in the middle
        of creating a task (_held_back); returns True when it left lines for later."""
        then = None
        held = False
        if not self.lock.acquire(timeout=timeout):
            return held
        try:
            lines = self.lines
            if self.busy:  # re-entered: they go with the flush under way, or the next
                return held
            if naming and (self.holding or lines is not self.lines):
                return True  # an eager task's first step: its lines wait for it (_eager_task)
            self.busy = True
            try:
                n = len(lines)
                if n:
                    # n pops, and the places of the tuples (a task's creation, named by now),
                    # found by C loops: a Python loop over every line cost as much as a record.
                    parts = list(itertools.islice(iter(lines.popleft, None), n))
                    created = list(itertools.compress(itertools.count(),
                                                      map(isinstance, parts, itertools.repeat(tuple))))
                    if naming and created:
                        created, held = _held_back(lines, parts, created)
                    tail = self.tail_nl
                    for i in created:  # a task's created and started records (started: as scheduled)
                        task, ts, parent = parts[i]
                        name = task.get_name()  # _id(task) inlined: a name never taken is the identity
                        name = _s(_id(task) if name in _taken or type(task) is not _Task else name)
                        parts[i] = (f'{{"ts": {ts}, "task": {name}, "status": "created"{parent}{tail}'
                                    f'{{"ts": {ts}, "task": {name}, "status": "started", "coroner": "task"{tail}')
                    if self.stream is not None:
                        self.stream.write("".join(parts))
                        self.stream.flush()
                    else:  # lines a thread buffered as install() turned the sink to a logger
                        for line in "".join(parts).splitlines():
                            self.logger.log(_INFO, line)
            except (ValueError, OSError):
                pass  # the program closed the stream: nothing else to do with the lines
            finally:
                self.busy = False
                then, self.after_flush = self.after_flush, None
        finally:
            self.lock.release()
        if then is not None:
            then()
        return held

    def configure(self, stream, logger, scope):
        """install()'s sink: the one object every thread writes into. Replacing the object
        instead lost records: a thread that had already read _sink (or whose line came after
        install()'s flush) appended to the old one, whose flush timer died with its thread's
        loop, and nothing flushed it again (threads each running a loop, each install()ing on
        one shared stream); two sink objects also wrote one stream under two locks."""
        with self.lock:
            self.flush()  # what is waiting goes where it was meant to go
            self.stream = stream
            if isinstance(logger, str):
                logger = logging.getLogger(logger)
            self.logger = logger if logger is not None else _logger
            self.scope = scope
            self.__dict__.pop("MAX_LINES", None)  # a new loop flushes again (see _write_exit)
            self.set_pid()
        if stream is not None:
            self.start_flusher()

    def start_flusher(self):
        """The flusher thread: it writes the lines that have waited DELAY, whatever the loops
        do. A loop's timer was the only one to: a loop blocked in a synchronous call (a socket
        read, CPU work) ran none, and a process killed (SIGKILL) after seconds of it lost the
        records of those seconds, the stage it was stuck in included. A daemon thread: it keeps
        no interpreter alive, and _at_exit() stops it before the interpreter finalizes."""
        if self.flusher is not None:
            return
        self.flusher = threading.Thread(target=self.flush_waiting, name="coroner-flush", daemon=True)
        try:
            self.flusher.start()
        except RuntimeError:  # (no thread may start now: the loops' timers write, as before)
            self.flusher = None

    def flush_waiting(self):
        """The flusher thread's life: asleep while nothing waits, else up to DELAY after the
        first waiting line, then a flush (sooner again if it held lines back)."""
        me = threading.current_thread()
        held = False
        try:
            # Signals for the process go to the other threads: delivered here, they would wake
            # no main thread blocked in a system call (Python runs its handlers there only).
            signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        except (AttributeError, OSError, ValueError):
            pass
        try:
            while self.flusher is me:
                if not self.lines:
                    self.wake.wait()
                    self.wake.clear()
                    continue
                wait = self.NAP if held else self.first + self.DELAY - _clock()
                if wait > 0:
                    time.sleep(wait)
                try:
                    held = self.flush_stale(me)
                except Exception:  # a stream raising what no write should: as with a loop's
                    held = False   # timer, those lines are lost, the next ones are tried
        finally:
            if self.flusher is me:  # (ended otherwise than stopped: the loops' timers write)
                self.flusher = None

    def flush_stale(self, me):
        """The flusher's flush, if the oldest line waited DELAY (a loop's timer may have written
        them meanwhile) and it is still the flusher (not stopped: _at_exit)."""
        with self.lock:
            if self.flusher is not me or _clock() - self.first < self.DELAY:
                return False
            held = self.flush(naming=True)
            if self.lines and not held:
                self.first = _clock()  # written during the flush: they have waited no longer
            return held

    def after_fork_in_child(self):
        self.lock = threading.RLock()
        self.lines.clear()  # the parent's lines are the parent's (flushed before the fork)
        self.busy = False
        self.after_flush = None
        self.forking = 0
        # The flusher is the parent's: none runs here until the child install()s (its lines are
        # written at once outside a loop, by the loop's timer in one: the flush policy).
        self.flusher = None
        self.wake = threading.Event()
        self.set_pid()


def _held_back(lines, parts, created):
    """Put back at the buffer's head the lines from the first task another thread is creating
    now: before 3.14, create_task() names a task after the factory returns, so a flush from
    another thread (the flusher) between the two would write its created record under asyncio's
    default name. Returns the places of the created records left in parts, and whether lines
    were put back."""
    coros = _being_created()
    cut = next((i for i in created if id(parts[i][0].get_coro()) in coros), None)
    if cut is None:
        return created, False
    lines.extendleft(reversed(parts[cut:]))  # (before whatever other threads appended since)
    del parts[cut:]
    return [i for i in created if i < cut], True


def _being_created():
    """The ids of the coroutines that other threads are making tasks of, now: the argument of
    an asyncio create_task() (loop's, asyncio's, TaskGroup's) on their stacks. A task factory of
    the program's that wraps the coroutine is not seen so."""
    me = threading.get_ident()
    coros = set()
    for ident, f in sys._current_frames().items():
        while f is not None and ident != me:
            code = f.f_code
            if code.co_name == "create_task" and _internal(code.co_filename):
                coros.add(id(f.f_locals.get("coro")))
            f = f.f_back
    return coros


_sink = _Sink(scope=False)  # until install(): plain records through the "coroner" logger
_on = False  # install()ed on at least one loop: the patches log


def _flush(timeout=-1):
    if _sink.stream is not None:
        _sink.flush(timeout)


# Task identity. Records name a task by its asyncio name, which need not be unique: a supervisor
# restarts a crashed "consumer" under the same name, request handlers are named after their route.
# A task object whose name another task object of this process took first is written as
# "name#2" ("name#3", ...) instead, fixed when it is first named in a record under that name.
# asyncio's own names ("Task-12") are unique: such a task costs nothing more. A task the program
# named keeps its name and identity in an attribute (a tuple of two strings: nothing for the
# collector to follow), and the names the program gave are counted in _taken. The hot paths
# (stage(), a task's end, _id()) look a name up in _taken first: a name not there is the
# identity, so asyncio's names cost one lookup, not a str method call (which parses its
# arguments: 900 instructions). That holds because every task is counted when it is named, before
# it can log under a name another took: a task of the factory's class when named (the factory,
# _Task.set_name). A task of another class (a task factory the program set before install(), a
# Task constructed directly) is not seen when named: its records always go the long way, _id(),
# which counts its name at the first (a type() check: no str method call).
# Past _TAKEN_MAX names, the names taken once are forgotten (a long-running server that names
# each request), so such a name reused after that many others is written plain again; names
# taken twice are kept while they are few, and those of live tasks written as "name#k" always.
_taken = {}  # a name the program gave -> how many task objects took it
_TAKEN_MAX = 65536


def _id(task):
    """The task's identity in the records: its name, or "name#k" (see above)."""
    name = task.get_name()
    if name not in _taken and type(task) is _Task:
        return name  # asyncio's name, or the program's taken by no other (counted when named)
    if name.startswith("Task-"):
        return name
    mine = getattr(task, "_coroner_id", None)
    if mine is not None and mine[0] == name:
        return mine[1]
    return _take(task, name)


def _take(task, name):
    """Give the task its identity under `name` (the name it has, or is about to get)."""
    if name.startswith("Task-"):
        return name  # asyncio's own name: unique
    mine = getattr(task, "_coroner_id", None)
    if mine is not None and mine[0] == name:
        return mine[1]
    k = _taken.get(name, 0) + 1
    if len(_taken) >= _TAKEN_MAX and k == 1:
        _forget_names()
    ident = name if k == 1 else "%s#%d" % (name, k)
    # "name#k" is free only if the program named no task so (a shard "ingest#2" beside a
    # restarted "ingest"): else the next number.
    while k > 1 and ident in _taken:
        k += 1
        ident = "%s#%d" % (name, k)
    try:
        task._coroner_id = (name, ident)
    except AttributeError:  # a task of asyncio's own class (made before install()): as named
        return name
    _taken[name] = k
    if k > 1:
        _taken.setdefault(ident, 1)  # and a task the program names so later is "name#k#2"
    return ident


def _forget_names():
    """Make room in _taken: a name two task objects took stays (a live "name#2" is found by it),
    unless such names alone fill half of it: then only those of live tasks written under
    another identity stay (the hot paths write a name not in _taken as it is)."""
    global _taken
    shared = {name: k for name, k in _taken.items() if k > 1}
    if len(shared) >= _TAKEN_MAX // 2:
        live = {}
        for loop in list(_loops):
            try:
                tasks = asyncio.all_tasks(loop)
            except RuntimeError:  # (the set changed size in another thread: a rare race)
                tasks = ()
            for task in tasks:
                mine = getattr(task, "_coroner_id", None)
                if mine is not None and mine[0] != mine[1]:
                    live[mine[0]] = shared.get(mine[0], 2)
        shared = live
    _taken = shared


def _name(task):
    return _id(task)


def _current_name():
    loop = _running_loop()
    t = _current_task(loop) if loop is not None else None
    return _id(t) if t is not None else None


def emit(fields, level=_INFO):
    """Log one record as given: ts and the current task's name are added unless given
    (task=None: a record about no task). The fields are written at the top level, unlike
    stage()'s: they can set coroner's roles (task, worker, ...). That is what this is for."""
    if not _sink.enabled(level):
        return  # nobody listens: no encoding
    rec = {"ts": _now()}
    if "task" not in fields:
        name = _current_name()
        if name is not None:
            rec["task"] = name
    rec.update(fields)
    if rec.get("task", 0) is None:
        del rec["task"]
    body = _j(rec)
    if body.startswith("{") and len(body) > 2:
        _sink.write(body[:-1], level >= _ERROR)
    else:
        _sink.write('{"ts": %r' % rec["ts"], level >= _ERROR)


def error_text(exc):
    """An exception as a record's "error" field says it ("ValueError: boom", or the type's name
    when the message is empty): coroner_pytest finds the records of expected exceptions by it."""
    return "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__


def _error_fields(exc):
    return ', "error_type": %s, "error": %s' % (_s(type(exc).__name__), _s(error_text(exc)))


def _task_record(name, rest, error=False):
    _sink.write(f'{{"ts": {_ts()}, "task": {_s(name)}{rest}', error)


# ---------------------------------------------------------------- tasks


_HAS_CANCELLING = hasattr(_Task0, "cancelling")  # 3.11+: uncancel() ends a request


def _cancelled_in(task):
    """The cancel record's "waiting_for": what the task was waiting for when cancel() was called
    (asleep in asyncio.sleep, idle on an empty queue, blocked on an Event): coroner judges its
    silence up to the cancellation as it would at an exit. "" when it cannot be told."""
    try:
        what, _ = _waiting_in(task, _frames(task.get_coro()))
    except Exception:  # a coroutine of an unusual kind: the record goes without
        return ""
    return ', "waiting_for": ' + _s(what) if what else ""
_PY_3130 = sys.version_info[:3] == (3, 13, 0)


class _Task(_Task0):
    """The tasks the factory makes: a plain Task whose add_done_callback sees a task awaiting it.

    When task A's step does ``await B``, asyncio's task step calls B.add_done_callback(A's wakeup)
    (for a Task subclass; the exact Task class takes a C shortcut): the callback's __self__ is A.
    """

    _coroner_cancel = False  # before 3.11 (no cancelling()): a cancel() was logged

    def add_done_callback(self, fn, *, context=None):
        waiter = getattr(fn, "__self__", None)
        if _on and waiter is not None and waiter is not self and isinstance(waiter, _Task0):
            if _skip.get(waiter) is self:  # a wrapper logged this wait already
                del _skip[waiter]
            else:
                _wait_record(waiter, "task " + _id(self), (self,))
        return _Task0.add_done_callback(self, fn, context=context)

    def __await__(self):
        # ``await task`` on a task already done never calls add_done_callback: the result is read
        # at once. For a failed task that read is the awaiting task observing its exception
        # (a parent collecting its children's failures late): log it as the wait it stands for.
        if _on and _failed(self):
            waiter = _waiter()
            if waiter is not None and waiter is not self:
                _wait_record(waiter, "task " + _id(self), (self,))
        return _Task0.__await__(self)

    def cancel(self, *args, **kwargs):
        # The moment the cancellation was asked for (a shutdown cancelling its workers, a
        # timeout scope expiring): what the task does after it, its `except CancelledError:` or
        # `finally:` cleanup, is part of the cancellation, and its silence before it is what
        # counts. Once per request: not again while one is pending, nor for a task done.
        if _on and not self.done() and not (_cleanup_tasks and self in _cleanup_tasks):
            if _HAS_CANCELLING:
                first = self.cancelling() == 0
            else:
                first = not self._coroner_cancel
                self._coroner_cancel = True
            if first:
                by = _current_name()
                # cancel(msg=...): the reason the program gave (a watchdog's "stuck for 30 s")
                msg = kwargs.get("msg", args[0] if args else None)
                # asyncio.run's (or Runner.close's) own cancellation of what main left, from no
                # task: a task that goes on after it holds up the program's exit (_hung_clean_up).
                kind = "cancel-at-exit" if by is None and _shutdown_cancels[0] else "cancel"
                _task_record(_id(self), ', "coroner": "%s"' % kind +
                             (', "by": ' + _s(by) if by is not None else "") + _cancelled_in(self) +
                             (', "msg": ' + _s(str(msg)) if msg is not None else ""))
        return _Task0.cancel(self, *args, **kwargs)

    def set_name(self, value):
        # 3.13.0's loop.create_task() calls task.set_name(name) after any task factory even
        # when name is None, renaming every unnamed task "None" (fixed in 3.13.1).
        if value is None and _PY_3130:
            return
        _Task0.set_name(self, value)
        # Counted as soon as it is named (create_task() names it after the factory returns,
        # before 3.14), before it can log: the hot paths rely on it (see _taken).
        if _on:
            _take(self, self.get_name())


# asyncio's messages and reprs use the class name ("Task exception was never retrieved",
# "<Task pending name=...>"): the subclass must read exactly as the plain Task does.
_Task.__name__ = _Task.__qualname__ = "Task"


class _Future(_Future0):
    """A future made by loop.create_future() in user code: its creation site, and who waits."""

    _coroner_site = None

    def add_done_callback(self, fn, *, context=None):
        waiter = getattr(fn, "__self__", None)
        if _on and waiter is not None and isinstance(waiter, _Task0):
            if _skip.get(waiter) is self:
                del _skip[waiter]
            else:
                _wait_record(waiter, "a future created at %s" % self._coroner_site, ())
        return _Future0.add_done_callback(self, fn, context=context)


_Future.__name__ = _Future.__qualname__ = "Future"

_skip = {}  # waiter task -> the future whose wait a wrapper has logged already


def _task_name_from_callers(default):
    """The name the caller is about to give the task.

    Before 3.14 loop.create_task() (and asyncio.create_task(), TaskGroup.create_task()) call the
    task factory *without* the name and call task.set_name(name) only after the factory returns.
    The name is a local of those create_task frames: read it there (one short frame walk per task
    created, nothing per step).
    """
    try:
        f = sys._getframe(2)  # 0: this, 1: the factory, 2: loop.create_task
    except (AttributeError, ValueError):
        return default
    for _ in range(3):
        if f is None or f.f_code.co_name != "create_task":
            break
        name = f.f_locals.get("name")
        if name is not None:
            return str(name)
        f = f.f_back
    return default


def _hook_first_step(loop, task, created, parent):
    """Log "created" and "started" just before the task's first step, with no per-step cost
    (for the logger sink: the stream sink formats them at its flush, see the factory).

    Task.__init__ schedules the first step with loop.call_soon() as its last act, so the handle at
    the end of the loop's ready queue is that step: wrap its callback once. By then create_task()
    has given the task its name (before 3.14 the factory runs before set_name()), so nothing has to
    look for the name in the callers' frames; "created" keeps the time of the creation. Returns
    False if the handle is not there (another loop implementation, an eager task that already ran).
    """
    ready = getattr(loop, "_ready", None)
    handle = ready[-1] if ready else None
    cb = getattr(handle, "_callback", None)
    if cb is None or getattr(cb, "__self__", None) is not task:
        return False

    def first_step(*args):  # (the handle runs once: no need to put cb back)
        name = _s(_id(task))
        sink = _sink
        if sink.stream is None:
            sink.write2('{"ts": %s, "task": %s, "status": "created"%s' % (created, name, parent),
                        '{"ts": %s, "task": %s, "status": "started", "coroner": "task"' % (_ts(), name))
        else:  # the hot path: both lines in one string, one append
            tail = sink.tail_nl
            lines = sink.lines  # sink.put() inlined: once per task
            lines.append(f'{{"ts": {created}, "task": {name}, "status": "created"{parent}{tail}'
                         f'{{"ts": {_ts()}, "task": {name}, "status": "started", "coroner": "task"{tail}')
            n = len(lines)
            if not n & 63 or n == 1:
                sink.check(n, False)
        return cb(*args)
    try:
        handle._callback = first_step
    except (AttributeError, TypeError):
        return False
    return True


# Tasks that ended with an exception, while they live: at a SIGTERM, those whose exception was
# never retrieved are told (_unretrieved_at_death).
_failed_tasks = weakref.WeakSet()
# What will still hand a failed task's exception to someone: a gather that is not done (with
# return_exceptions=True it collects them when every child is), an asyncio.wait in progress.
_pending_gathers = weakref.WeakSet()
_waits_in_progress = {}


def _unretrieved_at_death():
    """A process that dies of SIGTERM never collects its tasks, so asyncio never says "Task
    exception was never retrieved" of a failed one that something still holds (a producer kept in
    a variable while its consumers wait on it): say it for asyncio, in its words. Not of one a
    pending gather or wait will hand on: it was not lost, only not collected yet."""
    held = set()
    for outer in list(_pending_gathers):
        if not outer.done():
            held.update(map(id, getattr(outer, "_children", ())))
    for futs in list(_waits_in_progress.values()):
        held.update(map(id, futs))
    for task in list(_failed_tasks):
        if id(task) not in held and getattr(task, "_log_traceback", False):
            exc = getattr(task, "_exception", None)
            _message_record({"message": "Task exception was never retrieved", "exception": exc,
                             "future": task})


def _on_done(task):
    """The task's end. Reads the exception without task.exception(), which would mark it
    retrieved and so silence asyncio's "Task exception was never retrieved", the very bug
    coroner looks for (both Future implementations keep it in _exception)."""
    name = task.get_name()  # _id(task) inlined: a name never taken is the identity
    if name in _taken or type(task) is not _Task:
        name = _id(task)
    if _destroyed and task in _destroyed:
        return  # (see _destroyed: an end made up after the task was destroyed)
    if task.cancelled():
        _task_record(name, ', "status": "cancelled"')
        return
    exc = getattr(task, "_exception", None)
    if exc is None:
        sink = _sink
        if sink.stream is None:
            _task_record(name, ', "status": "done"')
        else:
            lines = sink.lines  # sink.put() and _ts() inlined: once per task
            ns = _ns()
            start, sec = _second
            m = ns - start
            if m >= 1000000000 or m < 0:
                m, sec = _new_second(ns)
            lines.append(f'{{"ts": {sec}{_D3[m // 1000000]}{_D3[m // 1000 % 1000]}, '
                         f'"task": {_s(name)}, "status": "done"{sink.tail_nl}')
            n = len(lines)
            if not n & 63 or n == 1:
                sink.check(n, False)
        return
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
    _task_record(name, ', "status": "failed", "level": "error"%s, "traceback": %s'
                 % (_error_fields(exc), _s(tb)), error=True)
    try:
        _failed_tasks.add(task)
    except TypeError:
        pass  # a task type that takes no weak reference: asyncio's own message is all there is
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        # sys.exit() (or ^C) inside a task other than main: the exception leaves the loop and
        # the program stops here (asyncio.run cancels every task, main included, and re-raises
        # it). This callback runs first, while the others are still pending: the stop is now.
        _write_exit("SIGINT" if isinstance(exc, KeyboardInterrupt) else
                    "sys.exit(%s)" % ("" if exc.code is None else repr(exc.code)))


_add_done_callback = _Task0.add_done_callback  # the C method: not our override
_remove_done_callback = _Task0.remove_done_callback


def _watch(task):
    _add_done_callback(task, _on_done)


# The last parent not of the factory's class resolved: (a weak reference to it, its name then,
# its identity then).
_foreign_parent = (lambda: None, None, None)


_LOOP_CLEANUPS = ("shutdown_asyncgens", "shutdown_default_executor")
# The tasks of those clean-ups, and the tasks they start (shutdown_asyncgens gathers an aclose()
# of every async generator left open): never logged, nor their waits.
_cleanup_tasks = weakref.WeakSet()


async def _an_async_generator():
    yield


# What agen.aclose() returns: the loop's finalizer hook makes a task of it for an async generator
# the program dropped unfinished, to run its `finally:`.
_ACLOSE = _an_async_generator().aclose()
_ACLOSE.close()  # never to be awaited: closed, or 3.13 warns of it when it is collected
_ACLOSE = type(_ACLOSE)


def _is_loop_cleanup(coro):
    """A coroutine asyncio.run (or a loop's close-down) runs to clean up after the program."""
    if type(coro) is _ACLOSE:
        return True
    code = getattr(coro, "cr_code", None)
    return code is not None and code.co_name in _LOOP_CLEANUPS and _internal(code.co_filename)


def _make_factory(previous):
    eager = _PY >= (3, 12) and previous is getattr(asyncio, "eager_task_factory", 0)

    def factory(loop, coro, **kwargs):
        global _foreign_parent
        ns = _ns()  # _ts() inlined
        start, sec = _second
        m = ns - start
        if m >= 1000000000 or m < 0:
            m, sec = _new_second(ns)
        created = f"{sec}{_D3[m // 1000000]}{_D3[m // 1000 % 1000]}"
        parent = _current_task(loop)
        if ((parent is None and getattr(loop, "_coroner_ended", False)) or _is_loop_cleanup(coro)
                or (_cleanup_tasks and parent in _cleanup_tasks)):
            # asyncio.run's own clean-up tasks (shutdown_asyncgens, ...) and theirs, made once the
            # loop's life has ended (_loop_ends): not the program's, and records after the exit
            # would read as activity. (After a sys.exit() in main they come before the main
            # task's end is heard.) A loop that runs again (Runner.run, run_until_complete) has
            # not ended: its new main task is the program's.
            task = previous(loop, coro, **kwargs) if previous is not None else _Task(coro, loop=loop, **kwargs)
            _cleanup_tasks.add(task)
            return task
        if parent is not None:  # a program has few parents: their JSON from a cache
            name = parent.get_name()  # _id(parent) inlined, as in stage()
            if name in _taken:
                parent = _id(parent)
            elif type(parent) is not _Task:
                # (not the factory's: asyncio.run's main task, made before install(), parent of
                # every task of many programs; its identity resolved once, not per child)
                seen = _foreign_parent
                if seen[0]() is not parent or seen[1] != name:
                    seen = _foreign_parent = (weakref.ref(parent), name, _id(parent))
                parent = seen[2]
            else:
                parent = name
            parent = ', "parent_id": ' + (_few_json.get(parent) or _few_json_of(parent))
        else:
            parent = ""
        if eager:
            # Our subclass, started eagerly as asyncio.eager_task_factory would, and with its
            # name from the start so that its eager first step already logs under it.
            name = kwargs.pop("name", None) or _task_name_from_callers(None)
            return _eager_task(loop, coro, name, kwargs, created, parent)
        elif previous is not None:
            task = previous(loop, coro, **kwargs)
        elif kwargs:
            task = _Task(coro, loop=loop, **kwargs)
        else:
            task = _Task(coro, loop=loop)
        if kwargs and not eager and kwargs.get("name") is not None:
            _take(task, str(kwargs["name"]))  # named at creation (3.14): counted now, see _taken
        sink = _sink
        if not eager and sink.stream is not None:
            # The stream sink formats the task's created and started records when it flushes
            # (_Sink.flush): by then create_task() has named the task, which before 3.14 it does
            # only after the factory returns. No flush may happen before that: a loop's timer,
            # or the flusher thread, which leaves such a task for later (_held_back).
            lines = sink.lines
            lines.append((task, created, parent))
            if len(lines) == 1:
                sink.soon(loop)
        elif not _hook_first_step(loop, task, created, parent):
            name = kwargs.get("name")
            name = _s(_take(task, str(name) if name is not None else _task_name_from_callers(task.get_name())))
            _sink.write2('{"ts": %s, "task": %s, "status": "created"%s' % (created, name, parent),
                         '{"ts": %s, "task": %s, "status": "started", "coroner": "task"' % (created, name))
        _add_done_callback(task, _on_done)  # _watch() inlined: once per task
        return task

    factory._coroner_previous = previous
    return factory


def _eager_task(loop, coro, name, kwargs, created, parent):
    """A task started eagerly: its first step runs inside the constructor, before the task has a
    name to write its created and started records under; yet the analyzer must read them first
    (started marks the task traced: the stage names of that first step are only steps). What
    the step writes is held back (the stream sink's lines swapped for a fresh deque, the logger
    sink's writes captured) and follows the two records. An error record in the step, which
    would flush at once, flushes right after the two records (else it would come first in the
    file, before its task's start); only a full buffer (MAX_LINES) flushes during the step,
    writing what it held first: the old order, for those records only."""
    sink = _sink
    if sink.stream is not None:
        kept, holding, held_error = sink.lines, sink.holding, sink.held_error
        # (an empty line first, written as nothing: the step's first record finds a buffer that
        # is not new, so it sets no flush timer of its own, one a task; holding is set before the
        # swap and cleared after it: the flusher thread reads them the other way round)
        sink.holding, sink.held_error = True, False
        sink.lines = collections.deque(("",))
        try:
            task = _Task(coro, loop=loop, name=name, eager_start=True, **kwargs)
        finally:
            held, sink.lines = sink.lines, kept
            error, sink.holding = sink.held_error, holding
            sink.held_error = held_error or (holding and error)
        if held and held[0] == "":
            held.popleft()
    else:
        kept = sink.captured
        sink.captured = held = []
        try:
            task = _Task(coro, loop=loop, name=name, eager_start=True, **kwargs)
        finally:
            sink.captured = kept
    ident = _s(_take(task, str(name) if name is not None else task.get_name()))
    sink.write2('{"ts": %s, "task": %s, "status": "created"%s' % (created, ident, parent),
                '{"ts": %s, "task": %s, "status": "started", "coroner": "task"' % (created, ident))
    if sink.stream is not None:
        if held:
            kept = sink.lines
            kept.extend(held)
            sink.check(len(kept), error)
    else:
        for body, error in held:
            sink.write(body, error)
    _add_done_callback(task, _on_done)
    return task


# ---------------------------------------------------------------- waits


def _names(tasks):
    """The distinct names of tasks, in order (a set: a gather of 20,000 must stay linear)."""
    seen, names = set(), []
    for t in tasks:
        n = _id(t)
        if n not in seen:
            seen.add(n)
            names.append(n)
    return names


def _wait_record(task, what, awaits):
    if _cleanup_tasks and task in _cleanup_tasks:
        return
    names = _names(awaits)
    rest = ', "coroner": "wait", "waiting_for": ' + _s(what)
    if names:
        rest += ', "awaits": [' + ", ".join(map(_s, names)) + "]"
    _task_record(_id(task), rest)


def _failed(fut):
    """Done with an exception (read without marking it retrieved)."""
    return fut.done() and not fut.cancelled() and getattr(fut, "_exception", None) is not None


def _waiter():
    loop = _running_loop()
    return _current_task(loop) if loop is not None else None


def _tasks_in(futs):
    return [f for f in futs if isinstance(f, _Task0)]


_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep
_THIS_FILE = os.path.normcase(os.path.abspath(__file__))
_internal_files = {}


def _internal(filename):
    """Is this code file asyncio's or this module's (not the user's)?"""
    r = _internal_files.get(filename)
    if r is None:
        r = filename.startswith(_ASYNCIO_DIR) or os.path.normcase(os.path.abspath(filename)) == _THIS_FILE
        _internal_files[filename] = r
    return r


def _user_site(depth=2):
    """file:line of the nearest caller outside asyncio and this module."""
    try:
        f = sys._getframe(depth)
    except ValueError:
        return None
    while f is not None and _internal(f.f_code.co_filename):
        f = f.f_back
    if f is None:
        return None
    return "%s:%d" % (os.path.basename(f.f_code.co_filename), f.f_lineno)


def _prim_text(prim, kind=None):
    text = kind or "asyncio." + type(prim).__name__
    site = getattr(prim, "_coroner_site", None)
    if site:
        text += (" on a queue created at " if kind and "Queue" in kind else " created at ") + site
    return text


def _lock_wait(lock):
    holder = getattr(lock, "_coroner_holder", None)
    text = _prim_text(lock)
    if holder is not None:
        text += ", held by " + _id(holder)
        return text, (holder,)
    return text, ()


_MAX_HOLDERS = 16  # a semaphore held by more: "held by 40 tasks", none named


def _semaphore_wait(sem):
    """What a task blocked on the semaphore waits on: its holders, any of whom may release it."""
    holders = sem.__dict__.get("_coroner_holders")
    text = _prim_text(sem)
    if not holders:  # none (a Semaphore(0) as a signal), or not known (released by a non-holder)
        return text, ()
    if len(holders) > _MAX_HOLDERS:
        return text + ", held by %d tasks" % len(holders), ()
    tasks = list(holders)
    return text + ", held by " + ", ".join(map(_id, tasks)), tasks


_originals = {}  # (owner, attribute name) -> what was there before install()


def _patch(owner, name, new):
    _originals[(owner, name)] = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    setattr(owner, name, new)


def _make_patches():
    """The replacements, made from the functions in place now. Each logs, then does exactly what
    the original does (it *is* the original call), so results, exceptions and cancellation are
    the original's. Each sets __tracebackhide__, pytest's mark for a frame to leave out of a
    test's traceback (--tb=short): an exception the user's await raises reads as without the
    module."""
    tasks = asyncio.tasks
    o_gather, o_wait, o_wait_for = tasks.gather, tasks.wait, tasks.wait_for
    o_as_completed, o_shield, o_ensure = tasks.as_completed, tasks.shield, tasks.ensure_future
    locks, queues = asyncio.locks, asyncio.queues
    p = {}

    def gather(*aws, **kwargs):
        __tracebackhide__ = True
        outer = o_gather(*aws, **kwargs)
        if _on:
            kids = getattr(outer, "_children", None)
            if kids and not outer.done():
                _pending_gathers.add(outer)
            # A gather that is done at once (3.12+ when every child is already done) blocks on
            # nothing, but if a child failed, this is where its exception is observed.
            if kids and (not outer.done() or any(map(_failed, kids))):
                me = _waiter()
                if me is not None:
                    _wait_record(me, "gather of %d tasks" % len(set(map(id, kids))), _tasks_in(kids))
        return outer
    p["gather"] = gather

    async def wait(fs, *args, **kwargs):
        __tracebackhide__ = True
        if _on and isinstance(fs, (set, frozenset, list, tuple)) and fs:
            mode = kwargs.get("return_when", args[1] if len(args) > 1 else asyncio.ALL_COMPLETED)
            futs = [f for f in fs if _isfuture(f)]
            done = [f for f in futs if f.done()]
            blocks = len(done) < len(fs) and not (mode == asyncio.FIRST_COMPLETED and done) and not (
                mode == asyncio.FIRST_EXCEPTION and any(not f.cancelled() and f._exception for f in done))
            me = _waiter()
            # (one that returns at once hands failed tasks to the caller: an observation too)
            if (blocks or any(map(_failed, done))) and me is not None:
                _wait_record(me, "asyncio.wait on %d tasks" % len(fs), _tasks_in(futs))
                if blocks:
                    key = object()  # a wait in progress: its failed tasks go back to its caller
                    _waits_in_progress[key] = futs
                    try:
                        return await o_wait(fs, *args, **kwargs)
                    finally:
                        del _waits_in_progress[key]
        return await o_wait(fs, *args, **kwargs)
    p["wait"] = wait

    async def wait_for(fut, *args, **kwargs):
        __tracebackhide__ = True
        me = _waiter() if _on else None
        if me is None:
            return await o_wait_for(fut, *args, **kwargs)
        timeout = args[0] if args else kwargs.get("timeout")
        inner = None
        if _PY < (3, 12) and timeout is not None and not _isfuture(fut) and "loop" not in kwargs:
            fut = o_ensure(fut)  # what wait_for itself does first here: the task gets a name now
            # Its cancellation may be the timeout's: wait_for awaits it before it returns, so its
            # end is written below, when that is known (_wait_for_timed_out), not by _on_done.
            if timeout > 0 and _remove_done_callback(fut, _on_done):
                inner = fut
                _add_done_callback(fut, _on_done_unless_cancelled)
        marked = False
        if _isfuture(fut) and not fut.done() and (timeout is None or timeout > 0):
            _wait_record(me, "wait_for", _tasks_in((fut,)))
            _skip[me] = fut  # the plain "await fut" inside wait_for logs nothing more
            marked = True
        try:
            return await o_wait_for(fut, *args, **kwargs)
        except asyncio.TimeoutError as e:
            if inner is not None and inner.cancelled():
                _wait_for_timed_out(inner, e)
                inner = None
            elif _PY < (3, 12) and _isfuture(fut):
                # A task (or a gather's children) it cancelled in one of its stages: the caller
                # timed out, as it would tell on 3.12+ (_timeout_patch).
                if _cut_off(getattr(fut, "_children", None) or (fut,))[0] is not None:
                    _write_cut_off_timeout(e)
            raise
        finally:
            if marked and _skip.get(me) is fut:
                del _skip[me]
            if inner is not None:  # not timed out: its end as _on_done writes it
                if inner.done():
                    if inner.cancelled():
                        _on_done(inner)
                else:
                    _remove_done_callback(inner, _on_done_unless_cancelled)
                    _add_done_callback(inner, _on_done)
    p["wait_for"] = wait_for

    def as_completed(fs, *args, **kwargs):
        __tracebackhide__ = True
        if _on and isinstance(fs, (set, frozenset, list, tuple)):
            futs = [f for f in fs if _isfuture(f) and (not f.done() or _failed(f))]
            me = _waiter()
            if futs and me is not None:
                _wait_record(me, "as_completed", _tasks_in(futs))
        return o_as_completed(fs, *args, **kwargs)
    p["as_completed"] = as_completed

    def shield(arg, *args, **kwargs):
        __tracebackhide__ = True
        if not _on or args or kwargs:
            return o_shield(arg, *args, **kwargs)
        me = _waiter()
        if me is not None and not _isfuture(arg):
            arg = o_ensure(arg)  # what shield does first: the inner task gets a name now
        outer = o_shield(arg)
        if me is not None and outer is not arg and not outer.done():
            _wait_record(me, "shield", _tasks_in((arg,)))
        return outer
    p["shield"] = shield

    o_lock_acquire, o_lock_release = locks.Lock.acquire, locks.Lock.release

    async def lock_acquire(self):
        __tracebackhide__ = True
        if _on and (self._locked or any(not w.cancelled() for w in (self._waiters or ()))):
            me = _waiter()
            if me is not None:
                text, holder = _lock_wait(self)
                _wait_record(me, text, holder)
        r = await o_lock_acquire(self)
        self._coroner_holder = _waiter()
        return r

    def lock_release(self):
        __tracebackhide__ = True
        self._coroner_holder = None
        return o_lock_release(self)
    p[locks.Lock, "acquire"] = lock_acquire
    p[locks.Lock, "release"] = lock_release

    o_event_wait = locks.Event.wait

    async def event_wait(self):
        __tracebackhide__ = True
        if _on and not self._value:
            me = _waiter()
            if me is not None:
                _wait_record(me, _prim_text(self, getattr(self, "_coroner_kind", None)), ())
        return await o_event_wait(self)
    p[locks.Event, "wait"] = event_wait

    o_cond_wait = locks.Condition.wait

    async def condition_wait(self):
        __tracebackhide__ = True
        me = _waiter() if _on else None
        if me is not None:  # (a Barrier waits on its own Condition: it says "asyncio.Barrier")
            _wait_record(me, _prim_text(self, getattr(self, "_coroner_kind", None)), ())
        return await o_cond_wait(self)
    p[locks.Condition, "wait"] = condition_wait

    o_sem_acquire, o_sem_release = locks.Semaphore.acquire, locks.Semaphore.release

    # A semaphore's holders, as a lock's: the tasks that acquired it and have not released it
    # (a task -> how many times, in the order they took it). A release by a task that holds
    # nothing (a semaphore used as a counter, released by a producer or a callback) makes the
    # holders unknowable: from then on none are named (False).
    async def semaphore_acquire(self):
        __tracebackhide__ = True
        if _on and self.locked():
            me = _waiter()
            if me is not None:
                text, holders = _semaphore_wait(self)
                _wait_record(me, text, holders)
        r = await o_sem_acquire(self)
        holders = self.__dict__.get("_coroner_holders")
        if holders is not False:
            me = _waiter()
            if me is not None:
                if holders is None:
                    holders = self._coroner_holders = {}
                holders[me] = holders.get(me, 0) + 1
        return r

    def semaphore_release(self):
        __tracebackhide__ = True
        holders = self.__dict__.get("_coroner_holders")
        if holders is not None and holders is not False:
            me = _waiter()
            n = holders.get(me) if me is not None else None
            if n is None:
                self._coroner_holders = False
            elif n == 1:
                del holders[me]
            else:
                holders[me] = n - 1
        return o_sem_release(self)
    p[locks.Semaphore, "acquire"] = semaphore_acquire
    p[locks.Semaphore, "release"] = semaphore_release

    o_get, o_put = queues.Queue.get, queues.Queue.put

    async def queue_get(self):
        __tracebackhide__ = True
        if _on and self.empty() and not getattr(self, "_coroner_internal", False):
            me = _waiter()
            if me is not None:
                _wait_record(me, _prim_text(self, "asyncio.%s.get" % type(self).__name__), ())
        return await o_get(self)

    async def queue_put(self, item):
        __tracebackhide__ = True
        if _on and self.full() and not getattr(self, "_coroner_internal", False):
            me = _waiter()
            if me is not None:
                _wait_record(me, _prim_text(self, "asyncio.%s.put" % type(self).__name__), ())
        return await o_put(self, item)
    p[queues.Queue, "get"] = queue_get
    p[queues.Queue, "put"] = queue_put

    for cls in (locks.Lock, locks.Event, locks.Condition, locks.Semaphore, queues.Queue):
        p[cls, "__init__"] = _site_init(cls.__init__)
    barrier = getattr(locks, "Barrier", None)  # 3.11+
    if barrier is not None:
        p[barrier, "__init__"] = _barrier_init(barrier.__init__)
    p[queues.Queue, "__init__"] = _queue_init(p[queues.Queue, "__init__"])

    o_cancel_all = getattr(asyncio.runners, "_cancel_all_tasks", None)
    if o_cancel_all is not None:
        def _cancel_all_tasks(loop):
            __tracebackhide__ = True
            # asyncio.run's and Runner.close's end of the loop: the pending records and the
            # exit go before the cancellations (a Runner's run() that returns is no end).
            # The tasks are held meanwhile, as asyncio's own list of them holds them once it is
            # made: a garbage collection in the writing would otherwise destroy a task nobody
            # else references (a consumer whose queue only main held), and the program, which
            # without the module waits for it, would exit at once.
            left = _all_tasks_of(loop)  # noqa: F841 (held, not read)
            _loop_ends(loop, "main returned")
            _shutdown_cancels[0] += 1
            try:
                return o_cancel_all(loop)
            except KeyboardInterrupt:
                # ^C while the clean-up hung: main's end put Python's handler back, so the
                # module's did not see it, and the loop has stopped running by now.
                _write_exit("SIGINT", final=True, hung=[loop])
                raise
            finally:
                _shutdown_cancels[0] -= 1
        p[asyncio.runners, "_cancel_all_tasks"] = _cancel_all_tasks

    tg = getattr(asyncio, "TaskGroup", None)
    if tg is not None:
        p[tg, "create_task"], p[tg, "__aexit__"] = _taskgroup_patches(tg)
    timeout_cls = getattr(getattr(asyncio, "timeouts", None), "Timeout", None)
    if timeout_cls is not None:
        p[timeout_cls, "__aexit__"] = _timeout_patch(timeout_cls)
    return p


def _site_init(orig):
    def __init__(self, *args, **kwargs):
        __tracebackhide__ = True
        orig(self, *args, **kwargs)
        self._coroner_site = _user_site()  # where the user made it: one frame walk, once
    return __init__


def _barrier_init(init):
    def __init__(self, *args, **kwargs):
        __tracebackhide__ = True
        init(self, *args, **kwargs)
        # Barrier.wait() waits on the barrier's own Condition (made in here, so already "created
        # at" the user's line): a task waiting at the barrier says so, not "asyncio.Condition".
        cond = getattr(self, "_cond", None)
        if cond is not None:
            cond._coroner_kind = "asyncio.Barrier of %d parties" % self.parties
    return __init__


def _queue_init(init):
    def __init__(self, *args, **kwargs):
        __tracebackhide__ = True
        init(self, *args, **kwargs)
        # A queue asyncio makes for itself (as_completed's) is part of a wait the module already
        # names ("as_completed"): a wait on it is no task waiting for work.
        creator = sys._getframe(1).f_code.co_filename
        if creator.startswith(_ASYNCIO_DIR):
            self._coroner_internal = True
        # Queue.join() waits on the queue's own Event: say so, not "asyncio.Event created at"
        # the line that made the queue.
        finished = getattr(self, "_finished", None)
        if finished is not None:
            finished._coroner_kind = "asyncio.%s.join" % type(self).__name__
    return __init__


def _worth_awaiting(task):
    """A TaskGroup child the parent must be seen waiting on: pending, or failed (the except*
    case); children that ended ok need no edge."""
    return not task.done() or (not task.cancelled() and getattr(task, "_exception", None) is not None)


def _cut_off(tasks):
    """(stage, task) of the first of tasks that a cancellation ended in one of its stages."""
    for t in tasks:
        name = getattr(t, "_coroner_cut_in", None)
        if name is not None and t.done() and t.cancelled():
            return name, t
    return None, None


def _mark_told(e):
    """The TimeoutError has its record: a stage block it leaves next writes none again."""
    try:
        e._coroner_told = True
    except AttributeError:
        pass


def _write_cut_off_timeout(e):
    """The current task timed out waiting on a task its timeout cut off in a stage: its error
    record, in its own stage (the stage cut off is the awaited task's, which ends cancelled in
    it, and coroner follows the wait to it)."""
    _write_current(', "level": "error"%s' % _error_fields(e), True)
    _mark_told(e)


def _mark_cut_off(exc, tasks):
    if "_coroner_stage" in exc.__dict__:
        return
    name, task = _cut_off(tasks)
    if name is not None:
        exc._coroner_stage = name
        exc._coroner_stage_task = id(task)


def _taskgroup_patches(tg):
    o_create, o_aexit = tg.create_task, tg.__aexit__

    def create_task(self, coro, *args, **kwargs):
        __tracebackhide__ = True
        task = o_create(self, coro, *args, **kwargs)
        kids = self.__dict__.setdefault("_coroner_kids", [])
        if len(kids) >= 64 and len(kids) & (len(kids) - 1) == 0:
            kids[:] = [k for k in kids if _worth_awaiting(k)]  # a long-lived group stays bounded
        kids.append(task)
        return task

    async def __aexit__(self, et, exc, tb):
        __tracebackhide__ = True
        me = _waiter() if _on else None
        kids = ()
        if me is not None:
            kids = [k for k in self.__dict__.get("_coroner_kids", ()) if _worth_awaiting(k)]
            if kids:
                _wait_record(me, "TaskGroup of %d tasks" % len(kids), kids)
        try:
            return await o_aexit(self, et, exc, tb)
        except asyncio.CancelledError as e:
            # The group was cancelled from outside (an asyncio.timeout() around it, say) and
            # raises the parent's own cancellation: mark it with the stage a child was cut off
            # in, as a gather's child's cancellation comes marked.
            _mark_cut_off(e, kids)
            raise

    return create_task, __aexit__


def _on_done_unless_cancelled(task):
    if not task.cancelled():
        _on_done(task)


def _wait_for_timed_out(inner, e):
    """wait_for() before 3.12 runs the coroutine as an inner task, cancels it when the timeout
    expires and raises TimeoutError in the caller. Write what 3.12+ (the coroutine in the caller,
    under asyncio.timeout()) tells: the interrupted ``with stage()`` block timed out, in the inner
    task, which ended timed out (not cancelled after a silence), and in the caller, to which the
    TimeoutError went."""
    name = None
    c = e.__cause__ or e.__context__
    for _ in range(3):  # the CancelledError the stage marked: the cause, or its context (3.9, 3.10)
        if c is None:
            break
        name = getattr(c, "_coroner_stage", None)
        if name is not None:
            break
        c = c.__context__
    if name is None:  # no stage interrupted: nothing timed out that 3.12+ would tell either
        _on_done(inner)
        return
    rest = ', "stage": %s, "level": "error"%s' % (_s(str(name)), _error_fields(e))
    _task_record(_id(inner), rest, True)
    _task_record(_id(inner), ', "status": "timed_out"')
    _write_current(rest, True)
    _mark_told(e)


def _timeout_patch(timeout_cls):
    """asyncio.timeout() / timeout_at() (3.11+, and wait_for() on 3.12+, built on them): when the
    scope expires it cancels the task and turns the CancelledError into TimeoutError at its exit.
    A ``with stage()`` block inside the scope saw only the cancellation, which is no error; the
    block did time out, though, as it would have told had the scope been around it: write that
    stage's error record now (the stage marked the CancelledError on its way out). A caught
    TimeoutError is then as visible as with the stage outside the scope."""
    o_aexit = timeout_cls.__aexit__

    async def __aexit__(self, et, exc, tb):
        __tracebackhide__ = True
        try:
            return await o_aexit(self, et, exc, tb)
        except TimeoutError as e:
            # The stage the scope's cancellation interrupted: one of this task's, or of a task it
            # awaited (a gather's child, a TaskGroup's, wait_for's task), cut off in its stage:
            # that work timed out all the same. A scope that interrupted no stage (a ticker's
            # `await stop.wait()`) expired as meant, and says nothing.
            name = getattr(exc, "_coroner_stage", None) if exc is not None else None
            if name is not None and _on and (e.__cause__ is exc or e.__context__ is exc):  # (3.11.2: no "from")
                me = _waiter()
                if exc.__dict__.get("_coroner_stage_task") == (id(me) if me is not None else None):
                    _write_current(', "stage": %s, "level": "error"%s' % (_s(str(name)), _error_fields(e)), True)
                    _mark_told(e)
                else:
                    _write_cut_off_timeout(e)
            raise

    return __aexit__


def _install_patches():
    if _originals:
        return
    for key, new in _make_patches().items():
        if isinstance(key, str):
            _patch(asyncio, key, new)
            _patch(asyncio.tasks, key, new)
        else:
            _patch(key[0], key[1], new)


def _remove_patches():
    for (owner, name), old in _originals.items():
        setattr(owner, name, old)
    _originals.clear()


def _make_create_future(loop):
    orig = loop.create_future

    def create_future():
        if _internal(sys._getframe(1).f_code.co_filename):
            return orig()  # asyncio's own futures (sleep, locks, queues) stay plain: no cost
        fut = _Future(loop=loop)
        fut._coroner_site = _user_site()
        return fut
    return create_future


# ---------------------------------------------------------------- the truth at exit

_SIMPLE_WAITS = {}  # code object of a known wait -> how to describe it from the frame's locals


def _describe_frames():
    """Filled lazily: the code objects of our wrappers and of asyncio's sleep."""
    if _SIMPLE_WAITS:
        return _SIMPLE_WAITS
    for (owner, name), _ in list(_originals.items()):
        fn = getattr(owner, name, None)
        code = getattr(fn, "__code__", None)
        if code is None or name == "__init__" or name == "release" or name == "create_task":
            continue
        if owner is asyncio or owner is asyncio.runners:
            continue
        if owner is asyncio.tasks:
            if name == "wait":
                _SIMPLE_WAITS[code] = lambda loc: ("asyncio.wait on %d tasks" % len(loc["fs"]), [
                    f for f in _tasks_in(loc["fs"]) if not f.done()])
            elif name == "wait_for":
                _SIMPLE_WAITS[code] = lambda loc: ("wait_for", _tasks_in((loc["fut"],)))
            continue
        if name == "acquire" and owner is asyncio.locks.Lock:
            _SIMPLE_WAITS[code] = lambda loc: _lock_wait(loc["self"])
        elif name == "acquire" and owner is asyncio.locks.Semaphore:
            _SIMPLE_WAITS[code] = lambda loc: _semaphore_wait(loc["self"])
        elif name in ("get", "put"):
            _SIMPLE_WAITS[code] = (lambda n: lambda loc: _queue_wait(loc["self"], n))(name)
        elif name == "__aexit__":
            _SIMPLE_WAITS[code] = lambda loc: ("TaskGroup", [
                k for k in loc["self"].__dict__.get("_coroner_kids", ()) if not k.done()])
        else:
            _SIMPLE_WAITS[code] = lambda loc: (_prim_text(loc["self"], getattr(loc["self"], "_coroner_kind", None)), ())
    _SIMPLE_WAITS[asyncio.sleep.__code__] = _sleep_wait
    serve = getattr(getattr(asyncio.base_events, "Server", None), "serve_forever", None)
    if getattr(serve, "__code__", None) is not None:
        _SIMPLE_WAITS[serve.__code__] = _serving_wait
    read = getattr(getattr(asyncio, "StreamReader", None), "_wait_for_data", None)
    if getattr(read, "__code__", None) is not None:
        _SIMPLE_WAITS[read.__code__] = _stream_read_wait
    return _SIMPLE_WAITS


def _serving_wait(loc):
    """A server in serve_forever waits for connections, that is, for work: never stuck."""
    try:
        host, port = loc["self"].sockets[0].getsockname()[:2]
        return "asyncio.Server.serve_forever on %s:%s" % (host, port), ()
    except Exception:  # no socket (closed), or a socket that is no address pair
        return "asyncio.Server.serve_forever", ()


def _stream_read_wait(loc):
    """A read of a stream (readline, read, readexactly) waiting for bytes. On a connection a
    server accepted (start_server's handler), that is waiting for the client's next request,
    work; on one the program opened, waiting for an answer, which may never come."""
    transport = getattr(loc["self"], "_transport", None)
    try:
        protocol = transport.get_protocol()
        served = getattr(protocol, "_client_connected_cb", None) is not None
        local, peer = transport.get_extra_info("sockname"), transport.get_extra_info("peername")
    except Exception:  # no transport yet, or one that is not asyncio's own
        return "asyncio.StreamReader.read", ()

    def address(name):
        return "%s:%s" % name[:2] if isinstance(name, tuple) and len(name) >= 2 else str(name)
    if served:
        return "asyncio.StreamReader.read of a connection served on %s from %s" % (
            address(local), address(peer)), ()
    if peer is None:  # a pipe (a subprocess's stdout), no socket
        return "asyncio.StreamReader.read", ()
    return "asyncio.StreamReader.read of a connection to %s" % address(peer), ()


def _queue_wait(queue, method):
    """What a task in a queue's get or put waits for; (None, ()) for a queue of asyncio's own
    (as_completed's), whose wait an outer frame or the task's future tells better."""
    if getattr(queue, "_coroner_internal", False):
        return None, ()
    return _prim_text(queue, "asyncio.%s.%s" % (type(queue).__name__, method)), ()


def _sleep_wait(loc):
    """A sleep, with its length and what was left of it: a task that sleeps as it planned (a
    scheduler between runs) when its process stops is no stuck task. The text's form is the
    analyzer's to read (docs/ASYNCIO_RECORDS.md)."""
    delay, handle, loop = loc.get("delay"), loc.get("h"), loc.get("loop")
    if handle is None or loop is None or not isinstance(delay, (int, float)):
        return "asyncio.sleep", ()  # sleep(0), or a frame not yet past call_later
    return "asyncio.sleep of %.6g s, %.6g s left" % (delay, handle.when() - loop.time()), ()


def _frames(coro):
    """The chain of suspended coroutine frames, outermost first (cr_await / gi_yieldfrom)."""
    out = []
    while coro is not None and len(out) < 200:
        f = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) or getattr(coro, "ag_frame", None)
        if f is None:
            break
        out.append(f)
        nxt = getattr(coro, "cr_await", None)
        if nxt is None:
            nxt = getattr(coro, "gi_yieldfrom", None)
        if nxt is None:
            nxt = getattr(coro, "ag_await", None)
        coro = _async_generator_of(nxt)
    return out


def _async_generator_of(awaited):
    """`async for` awaits an async generator's asend (or athrow) object, which shows no frame
    and names no generator: the generator is found among what it refers to, so the chain goes
    on into it (a consumer looping over an async generator around Queue.get)."""
    if awaited is None or not type(awaited).__name__.startswith("async_generator_a"):
        return awaited
    for ref in gc.get_referents(awaited):
        if type(ref).__name__ == "async_generator":
            return ref
    return awaited


def _describe_future(fut):
    if fut is None:
        return "nothing: ready to run", ()
    if isinstance(fut, _Task0):
        return "task " + _id(fut), (fut,)
    kids = getattr(fut, "_children", None)
    if kids is not None:
        return "gather of %d tasks" % len(set(map(id, kids))), [k for k in _tasks_in(kids) if not k.done()]
    site = getattr(fut, "_coroner_site", None)
    if site:
        return "a future created at " + site, ()
    return "a future", ()


_HOLDS_THE_LOOP = "nothing: running, it holds the loop"


def _pending_record(task, running=False):
    """running: the task was its loop's current task when something else stopped the process
    (_loop_holders): not suspended, and its line is the one it is executing."""
    frames = _running_frames(task.get_coro()) if running else _frames(task.get_coro())
    where = [f for f in frames if not _internal(f.f_code.co_filename)] or frames
    rest = ', "coroner": "pending"'
    if where:
        f = where[-1]
        rest += ', "suspended_at": ' + _s("%s:%d in %s" % (
            os.path.basename(f.f_code.co_filename), f.f_lineno, f.f_code.co_name))
    what, awaits = (_HOLDS_THE_LOOP, ()) if running else _waiting_in(task, frames)
    rest += ', "waiting_for": ' + _s(what)
    names = _names(awaits)
    if names:
        rest += ', "awaits": [' + ", ".join(map(_s, names)) + "]"
    _task_record(_id(task), rest)


_COROUTINE_CODE = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR


def _running_frames(coro):
    """The coroutine frames of a running task, outermost first. A running coroutine awaits
    nothing (cr_await is None), so _frames() stops at the task's own frame, at the line of its
    ``await helper()``: the chain down to the line it executes (a blocking sock.recv() in the
    helper) is read off the stack of the thread that runs it (this one, in a signal handler)."""
    outer = _frames(coro)
    if not outer:
        return outer
    for f in sys._current_frames().values():
        inner = []
        while f is not None and f is not outer[0]:
            if f.f_code.co_flags & _COROUTINE_CODE:
                inner.append(f)
            f = f.f_back
        if f is not None:
            return outer[:1] + inner[::-1]
    return outer


def _waiting_in(task, frames):
    """What a suspended task waits for, from its coroutine's frames (innermost last): the
    description and the tasks it awaits."""
    what, awaits = None, ()
    known = _describe_frames()
    for f in reversed(frames):
        d = known.get(f.f_code)
        if d is not None:
            try:
                what, awaits = d(f.f_locals)
            except Exception:  # a frame we thought we knew: fall back to the future
                what = None
            if what is not None:
                break
    if what is None:
        what, awaits = _describe_future(getattr(task, "_fut_waiter", None))
    return what, awaits


_exit_pid = None  # the pid that wrote its exit record
_install_pid = None  # the process that called install() (not a child forked from it)
_loops = weakref.WeakSet()  # the loops install()ed


# The tasks asyncio said it destroyed pending ("Task was destroyed but it is pending!"): the
# garbage collector closed their coroutine. One that the collection brought back to life (an
# exception handler that kept the context) is no task of the program any more: no pending record
# at the exit, no end when asyncio.run cancels it ("cannot reuse already awaited coroutine").
_destroyed = weakref.WeakSet()


def _pending_records(tasks, running=()):
    for task in tasks:
        if (not task.done() and not _is_loop_cleanup(task.get_coro())
                and not (_destroyed and task in _destroyed)):
            try:
                _pending_record(task, task in running)
            except Exception:
                _task_record(_id(task), ', "coroner": "pending"')


def _loop_holders(loops, stopper):
    """The tasks running as the process stops, each holding its loop: the current task of each
    loop (asyncio.current_task(loop) reads a dict by loop, from any thread), unless it is the
    stopper, the task that stops the process itself (its os._exit(), or its signal to its own
    process). A task a signal handler interrupts, or the one a watchdog thread's os._exit() finds
    running, held its loop: the blocking call that wedged it, most often."""
    held = set()
    for loop in loops:
        try:
            task = _current_task(loop)
        except Exception:  # (a loop of an unusual kind: no task to name)
            task = None
        if task is not None and task is not stopper:
            held.add(task)
    return held


def _write_exit(reason, signal_frame=False, loop_end=False, final=False, hung=None):
    """The pending tasks of every installed loop, then the exit record; once per process (and
    once more for a clean-up that hangs: _hung_clean_up), and only in a process that called
    install(): a forked child has no stop of its own to write (_after_fork_in_child), only its
    own lines to flush. signal_frame: the frame a signal handler was given (the stop came from
    the signal, not from the task running then, unless that task sent it to its own process);
    else the stop is the caller's, the task it runs in included. loop_end: written as a loop's
    life ends (_loop_ends), before asyncio.run cancels what is left. final: the process ends now
    (a signal, os._exit, the interpreter's exit), whatever its loops were doing; hung: the loops
    whose clean-up it cut short, when they are no longer running (a ^C raised out of it)."""
    global _exit_pid, _clean_up_watched
    if _install_pid != os.getpid():
        _flush()
        return False
    if _exit_pid == os.getpid():
        loops = _hung_clean_up(hung) if final else []
        if not loops:
            return False
        _clean_up_watched = False  # (once more, not at every later stop)
    else:
        loops = list(_loops)
        _clean_up_watched = loop_end
    _exit_pid = os.getpid()
    try:
        stopper = _waiter() if signal_frame is False else _signaller(signal_frame)
        # (_all_tasks_of: at os._exit the caller may be another thread than the loop's)
        _pending_records([t for loop in loops for t in _all_tasks_of(loop)], _loop_holders(loops, stopper))
        _sink.write('{"ts": %s, "coroner": "exit", "reason": %s' % (_ts(), _s(reason)), True)
    finally:
        _flush()
        # What follows (asyncio.run cancelling the pending tasks) is written at once: the loop
        # that would flush the buffer is about to close, and so may the program's stream.
        _sink.MAX_LINES = 1
    return True


# After the exit written at a loop's end (main returned): its loops' clean-up may yet hang.
_clean_up_watched = False
_ended_live = weakref.WeakSet()  # the loops whose life held up the exit, once it ended
_shutdown_cancels = [0]  # asyncio.run's clean-ups cancelling what main left, under way


def _hung_clean_up(stopped=None):
    """The loops still cleaning up when the process stops after the exit written at their end:
    asyncio.run cancels the tasks left and waits for them, and a task that swallows its
    CancelledError and waits again (a consumer's `except CancelledError: continue`) keeps the
    program from ever exiting until a SIGTERM or a ^C. Without a second exit and the pending
    records then, the log ends as a clean exit, and the hang goes unsaid. Only loops whose life
    held up the exit (_ended_live): not a daemon thread's loop running beside the program; none
    when they are done (an atexit after asyncio.run returned) or closed. Asked only at a stop
    that ends the process: a sys.exit() in main is heard (its done callback) while the clean-up
    runs, and it is no second stop. stopped: loops whose clean-up a ^C just cut short."""
    if not _clean_up_watched:
        return []
    loops = stopped if stopped is not None else [loop for loop in list(_ended_live) if loop.is_running()]
    return [loop for loop in loops if any(
        not t.done() and not _is_loop_cleanup(t.get_coro()) for t in _all_tasks_of(loop))]


def _on_main_done(task):
    # Not the program's stop: a loop may run again (asyncio.Runner.run, run_until_complete), and
    # the exit is written when its life ends (_loop_ends). SIGINT goes back to the handler ours
    # wrapped, which asyncio.run / Runner.run put back in their turn only if it is in place.
    _restore_sigint()


# The loops whose life holds up the exit: those install() found running a main task (asyncio.run's,
# Runner.run's, run_until_complete's), in a thread that is no daemon (a helper loop running for
# ever beside the program ends nothing), until their life ends. Threads that each run a loop:
# the exit is written when the last of them ends, not the first.
_live_loops = weakref.WeakSet()
_life_lock = threading.Lock()


def _stop_reason(clean):
    """The exit's reason at a loop's end: the exception leaving asyncio.run (or Runner, or the
    program's `finally: loop.close()`), which is being handled while they clean up."""
    exc = sys.exc_info()[1]
    if exc is None:
        return "SIGINT" if _sigints[0] else clean
    if isinstance(exc, asyncio.CancelledError):
        return "SIGINT" if _sigints[0] else "main cancelled"
    if isinstance(exc, SystemExit):
        return "sys.exit(%s)" % ("" if exc.code is None else repr(exc.code))
    if isinstance(exc, KeyboardInterrupt):
        return "SIGINT"
    return "unhandled " + type(exc).__name__


def _loop_ends(loop, clean_reason):
    """The loop's life ends: asyncio.run or Runner.close is about to cancel its remaining tasks
    (asyncio.runners._cancel_all_tasks), or the program closes it. The end of one run of a loop
    that runs again is not this. Writes the pending records and the exit when no other loop's
    life holds it up; else only flushes (this thread's loop will flush nothing more)."""
    try:
        if getattr(loop, "_coroner_ended", False):
            return
        loop._coroner_ended = True
    except AttributeError:
        pass
    with _life_lock:
        last = loop in _live_loops
        if last:
            _ended_live.add(loop)
        _live_loops.discard(loop)
        last = last and not len(_live_loops)
    if last:
        _write_exit(_stop_reason(clean_reason), loop_end=True)
    else:
        _flush()


def _make_close(loop):
    orig = loop.close

    def close():
        if not loop.is_running() and not loop.is_closed():  # (else orig raises, or does nothing)
            _loop_ends(loop, "loop closed")
        return orig()
    return close


def _find_main(loop):
    """The task loop.run_until_complete() (asyncio.run) waits for: its end is the program's."""
    done_cb = getattr(asyncio.base_events, "_run_until_complete_cb", None)
    for task in asyncio.all_tasks(loop):
        for entry in getattr(task, "_callbacks", None) or ():
            cb = entry[0] if isinstance(entry, tuple) else entry
            if cb is done_cb:
                return task
    return None


_signals = {}  # signal number -> (our handler, the handler before)


_sigterm_at = None  # when this process began to handle a SIGTERM (_clock())


def _on_sigterm(signum, frame):
    global _sigterm_at
    # A second SIGTERM while the first is handled (timeout(1) and systemd signal the process and
    # its process group: two) re-entered this handler in the middle of the first, which found
    # the exit taken and died at once, before the first had written anything. Now the first
    # writes, then dies of it; only a first one stuck for a second (a full pipe) gives way.
    if _sigterm_at is not None:
        if _clock() - _sigterm_at >= 1.0:
            _die_of_sigterm(flush=False)
        return
    _sigterm_at = _clock()
    # A thread stuck writing to a full pipe (the flusher, most often) holds the sink's lock: the
    # process must die of its SIGTERM all the same. Without the lock in a second (as os._exit's
    # wrapper waits), nothing is written.
    if not _sink.lock.acquire(timeout=1.0):
        _die_of_sigterm()
        return
    try:
        if _exit_pid != os.getpid():
            try:
                _unretrieved_at_death()
            except Exception:
                pass  # nothing may keep the process from dying of its signal
        _write_exit("SIGTERM", frame, final=True)
        # (busy, with the lock held: a flush of this very thread, which the signal interrupted)
        interrupted = _sink.busy
        if interrupted:  # let it finish, then die
            _sink.after_flush = _die_of_sigterm
    finally:
        _sink.lock.release()
    if not interrupted:
        _die_of_sigterm()


def _die_of_sigterm(flush=True):
    if flush:
        _flush(timeout=1.0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)  # the exit status stays "killed by SIGTERM"


_sigints = [0]  # SIGINTs received


def _on_sigint(signum, frame):
    previous = _signals.get(signal.SIGINT, (None, signal.default_int_handler))[1]
    _sigints[0] += 1
    # asyncio.run's own handler (3.11+) only cancels main at the first: the program goes on (a
    # graceful shutdown, which may hang), and main's end writes the exit. At the second it
    # raises KeyboardInterrupt, as Python's handler does at once.
    if not _is_runners_sigint(previous) or _sigints[0] > 1:
        _write_exit("SIGINT", frame, final=True)
    return previous(signum, frame)  # Python's KeyboardInterrupt, or asyncio.run's cancellation


def _is_runners_sigint(handler):
    return getattr(getattr(handler, "func", None), "__name__", "") == "_on_sigint"


def _install_signals():
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    try:
        if signal.SIGTERM not in _signals and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
            _signals[signal.SIGTERM] = (_on_sigterm, signal.SIG_DFL)
        current = signal.getsignal(signal.SIGINT)
        if current is not _on_sigint and (current is signal.default_int_handler
                                          or _is_runners_sigint(current)):
            signal.signal(signal.SIGINT, _on_sigint)
            _signals[signal.SIGINT] = (_on_sigint, current)
    except (ValueError, OSError, AttributeError):
        pass


def _restore_signal(signum):
    """Put back the handler ours replaced, unless somebody replaced ours since."""
    entry = _signals.pop(signum, None)
    if entry is not None:
        try:
            if signal.getsignal(signum) is entry[0]:
                signal.signal(signum, entry[1])
        except (ValueError, OSError):
            pass


def _restore_sigint():
    """Give SIGINT back once main is over: asyncio.run restores its own only if it is in place."""
    _restore_signal(signal.SIGINT)


def _restore_signals():
    _restore_signal(signal.SIGINT)
    _restore_signal(signal.SIGTERM)


def _at_exit():
    # The interpreter finalizes next: the flusher, a daemon thread, must not write the stream then
    # or later (a buffered stream finalized while another thread writes it aborts the
    # interpreter). It stops, under the lock (at most a second's wait for a writer stuck on a full
    # pipe, as at os._exit), and what is left is written here.
    if not _sink.lock.acquire(timeout=1.0):
        return
    try:
        _sink.flusher = None
        _sink.wake.set()
        if _on:
            _write_exit("interpreter exit", final=True)
        _flush()
    finally:
        _sink.lock.release()


# os._exit() skips atexit, so the program's own os._exit(N) (a worker that must not wait for a
# thread stuck in a blocking call, a test runner's timeout) would leave its pending tasks and its
# stop unwritten, and they would read as in flight. The wrapper writes them, as atexit would,
# then calls the real os._exit, from any thread, in or out of a running loop; nothing in it may
# keep the process from exiting. Only in the process that install()ed: a forked child
# (multiprocessing's fork start method ends each child with os._exit) only flushes
# (_after_fork_in_child).
_os_exit = getattr(os._exit, "_coroner_original", os._exit)  # (the module reloaded: the real one)


def _exit_status_text(args, kwargs):
    code = args[0] if args else kwargs.get("status")
    return repr(code) if isinstance(code, int) else None  # (else os._exit raises: no stop)


def _on_os_exit(*args, **kwargs):
    try:
        # A thread stuck writing to a full pipe holds the sink's lock: a watchdog's os._exit must
        # not wait for it (pytest-timeout's way out of a hung process). Without the lock in a
        # second, nothing is written.
        if _sink.lock.acquire(timeout=1.0):
            try:
                code = _exit_status_text(args, kwargs)
                if _on and code is not None and _install_pid == os.getpid():
                    _write_exit("os._exit(%s)" % code, final=True)
                _flush()
                _flush_logger_handlers()
            finally:
                _sink.lock.release()
    except BaseException:  # (a KeyboardInterrupt as well) the process exits all the same
        pass
    return _os_exit(*args, **kwargs)


_on_os_exit._coroner_wrapped = True
_on_os_exit._coroner_original = _os_exit


# A task that signals its own process (a max-runtime watchdog's os.kill(os.getpid(), SIGTERM))
# stops it itself, as one that calls os._exit() does: the handler runs while that task is the
# loop's current task, yet it holds the loop no more than a task calling os._exit() (a task
# interrupted by a signal from outside does: _loop_holders). install() wraps os.kill, os.killpg
# and signal.raise_signal: a signal to the own process is handled right after such a call
# returns (or within it), in the wrapper's frame, where _signaller() finds the sending task in
# its local _coroner_sender (a name, not the code object: a second copy of the module, or one
# reloaded, finds the wrapper the first one made).
# A task of another thread's loop, or a name bound before install() (from os import kill), is
# not told apart.
def _to_own_process(pid, *args, **kwargs):
    return pid in (0, -1, os.getpid()) or (pid < -1 and -pid == os.getpgrp())


def _to_own_group(pgid, *args, **kwargs):
    return pgid in (0, os.getpgrp())


def _to_itself(*args, **kwargs):
    return True


def _wrap_signal_sender(send, to_self):
    def send_signal(*args, **kwargs):
        __tracebackhide__ = True
        try:
            _coroner_sender = _waiter() if to_self(*args, **kwargs) else None  # for _signaller()
        except Exception:  # arguments send() refuses: it says so
            _coroner_sender = None
        return send(*args, **kwargs)
    send_signal.__name__ = send_signal.__qualname__ = getattr(send, "__name__", "send_signal")
    send_signal.__doc__ = getattr(send, "__doc__", None)
    send_signal._coroner_wrapped = True
    send_signal._coroner_original = send
    return send_signal


_SIGNAL_SENDERS = ((os, "kill", _to_own_process), (os, "killpg", _to_own_group),
                   (signal, "raise_signal", _to_itself))


def _signaller(frame):
    """The task that sent the signal being handled (frame: the handler's) to its own process, or
    None: the signal came from outside (a supervisor, the test, a thread), not from the task
    running now."""
    code = getattr(frame, "f_code", None)
    if code is None or "_coroner_sender" not in code.co_varnames:
        return None
    return frame.f_locals.get("_coroner_sender")


def _wrap_signal_senders():
    for owner, name, to_self in _SIGNAL_SENDERS:
        send = getattr(owner, name, None)
        if send is not None and not getattr(send, "_coroner_wrapped", False):
            setattr(owner, name, _wrap_signal_sender(send, to_self))


def _flush_logger_handlers():
    """The logger sink's handlers: os._exit() skips logging.shutdown, which flushes them."""
    if _sink.stream is not None:
        return
    logger = _sink.logger
    while logger is not None:
        for handler in list(getattr(logger, "handlers", ())):
            try:
                handler.flush()
            except Exception:
                pass
        logger = logger.parent if getattr(logger, "propagate", False) else None


def _before_fork():
    # The sink's lock is held across the fork (at most a second's wait for a writer stuck on a
    # full pipe): no thread of the parent, the flusher included, is then in the middle of a
    # write to the stream, whose own lock the child would find taken by a thread it lacks.
    if _sink.lock.acquire(timeout=1.0):
        _sink.forking = threading.get_ident()
        _flush()


def _after_fork_in_parent():
    if _sink.forking == threading.get_ident():
        _sink.forking = 0
        _sink.lock.release()


def _after_fork_in_child():
    """A forked child (a ProcessPoolExecutor's or multiprocessing's worker) holds copies of its
    parent's loops and tasks, which it never runs, and inherits the SIGTERM and SIGINT handlers,
    the atexit hook and the os._exit wrapper. Written at its stop (a pool's terminate(), a
    SIGTERM to the process group), the copies read as tasks of the child's pid, pending, and its
    exit as the stop of the parent's tasks (with scope=False, one process for coroner). So the
    child forgets them: it is not traced, its stops write nothing (_write_exit), until it calls
    install() itself; the lines it writes (stage(), emit()) are its own, under its pid."""
    global _on, _life_lock, _sigterm_at
    _sink.after_fork_in_child()
    _on = False
    _loops.clear()
    _live_loops.clear()
    _life_lock = threading.Lock()  # (another thread of the parent may have held it)
    _failed_tasks.clear()
    _pending_gathers.clear()
    _waits_in_progress.clear()
    _sigints[0] = 0
    _sigterm_at = None


_process_hooks = []


def _install_process_hooks():
    if _process_hooks:
        return
    _process_hooks.append(True)
    atexit.register(_at_exit)
    if not getattr(os._exit, "_coroner_wrapped", False):
        os._exit = _on_os_exit
    _wrap_signal_senders()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                            after_in_child=_after_fork_in_child)


# ---------------------------------------------------------------- asyncio's own messages


def _message_record(context):
    """A task-less error record for an exception-handler message, worded as asyncio words it."""
    message = str(context.get("message") or "Unhandled exception in event loop")
    about = context.get("future") or context.get("task")
    destroyed = isinstance(about, _Task0) and message.startswith("Task was destroyed")
    if (destroyed and _exit_pid != os.getpid() and not about.done()
            and not about.get_loop().is_running()):
        # A loop the program dropped unclosed after its last run (run_until_complete, no
        # close(), the garbage collector): its life ended with no exit record, since a loop that
        # runs again writes none at a run's end. What its tasks were pending on is told now.
        # (Not in a loop still running: the collector took a task the program kept no
        # reference to, and the program goes on.)
        try:
            _pending_record(about)
        except Exception:
            pass
    if destroyed:
        try:
            _destroyed.add(about)
        except TypeError:
            pass
    if about is not None:
        text = repr(about)
        if isinstance(about, _Task0):
            # The repr has the plain name; a task written under another identity ("consumer#2")
            # is named by that, so that the message is about the right one of them.
            # (Not _id(): a task never named in a record would take a name here.)
            name = about.get_name()
            known = getattr(about, "_coroner_id", None)
            ident = known[1] if known is not None and known[0] == name else name
            if ident != name:
                text = text.replace("name=%r" % name, "name=%r" % ident, 1)
        message += " " + text
    rest = ', "level": "error", "message": ' + _s(message)
    exc = context.get("exception")
    if exc is not None:
        rest += _error_fields(exc)
    _sink.write('{"ts": %s%s' % (_ts(), rest), True)


def _wrap_exception_handler(loop):
    """Route every call_exception_handler(context) through a record first. Wrapping the method
    (not set_exception_handler) keeps the app's handler, set before or after install(), and
    asyncio's default printing, exactly as they were."""
    orig = loop.call_exception_handler
    pid = os.getpid()

    def call_exception_handler(context):
        try:
            # (not in a forked child, whose copy of its parent's loop holds tasks that are not
            # its own, collected at its exit, even once it install()ed a loop of its own; not
            # `loop in _loops`: a loop the program dropped is no longer there when its tasks'
            # "Task was destroyed" comes, from the same garbage collection)
            if _on and os.getpid() == pid:
                _message_record(context)
        except Exception:
            pass  # a record must never stop asyncio's own report
        return orig(context)
    try:
        loop.call_exception_handler = call_exception_handler
        return True
    except (AttributeError, TypeError):
        return False


def _chain_exception_handler(loop):
    """For loops whose methods cannot be replaced: a handler chained to the one set."""
    previous = loop.get_exception_handler()
    pid = os.getpid()

    def handler(loop, context):
        try:
            if _on and os.getpid() == pid:  # (as the wrapper: not after uninstall(), nor in a forked child)
                _message_record(context)
        except Exception:
            pass
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)
    loop.set_exception_handler(handler)


# ---------------------------------------------------------------- install


def install(loop=None, *, stream=None, logger=None, scope=True):
    """Record the tasks of the loop, the waits, and the truth at exit (see the module docstring).

    loop: the loop (default: the running one, else the current one). stream: a text stream to
    write the JSON lines to, buffered (default: through logging, see logger). logger: a Logger
    or a logger name (default "coroner"); if its level is NOTSET it is set to INFO. scope: add
    "pid" and "hostname" to every record (coroner then keys tasks by them, so logs of several
    processes can be analysed together). Call it from the program's main coroutine: its task is
    then known as main, and its end as the program's.
    Calling install() again redirects the sink (one for the process, whatever the threads: the
    records waiting go to the stream they were meant for first) and re-chains the factory.
    Returns the loop.
    """
    global _on, _install_pid
    if loop is not None and not hasattr(loop, "set_task_factory"):
        # install(open("tasks.jsonl", "w")) is the natural first try: say what to write.
        hint = " (a stream goes as install(stream=...))" if hasattr(loop, "write") else ""
        raise TypeError("coroner_asyncio.install(): loop must be an event loop, not %s%s"
                        % (type(loop).__name__, hint))
    if loop is None:
        loop = _running_loop() or asyncio.get_event_loop_policy().get_event_loop()
    _sink.configure(stream, logger, scope)
    if stream is None and _sink.logger.level == logging.NOTSET:
        _sink.logger.setLevel(logging.INFO)  # else the root's WARNING drops every INFO record
    _install_patches()
    _install_process_hooks()
    _on = True
    _install_pid = os.getpid()
    first = loop not in _loops
    _loops.add(loop)

    previous = loop.get_task_factory()
    previous = getattr(previous, "_coroner_previous", previous)  # install() twice: log once
    loop.set_task_factory(_make_factory(previous))
    if first:
        if type(loop).create_future is asyncio.BaseEventLoop.create_future:
            try:
                loop.create_future = _make_create_future(loop)
            except (AttributeError, TypeError):
                pass
        if not _wrap_exception_handler(loop):
            _chain_exception_handler(loop)
        try:
            loop.close = _make_close(loop)  # the end of a loop's life (a legacy program's)
        except (AttributeError, TypeError):
            pass
    _adopt(loop)
    main = _find_main(loop)
    # A daemon thread's loop (a helper running for ever beside the program) ends no process.
    if main is not None and not getattr(main, "_coroner_main", False) and not threading.current_thread().daemon:
        main._coroner_main = True
        with _life_lock:
            _live_loops.add(loop)
        _Task0.add_done_callback(main, _on_main_done)
    _install_signals()
    return loop


def _adopt(loop):
    """Tasks made before install() (main, usually): logged started (adopted) and watched."""
    for task in asyncio.all_tasks(loop):
        if task.done() or getattr(task, "_coroner_watched", False) or isinstance(task, _Task):
            continue
        try:
            task._coroner_watched = True
        except AttributeError:
            pass
        _task_record(_id(task), ', "status": "started", "coroner": "task", "adopted": true')
        _watch(task)


def uninstall(loop=None):
    """Undo install() for the loop: its task factory, create_future and exception-handler hook;
    with no installed loop left, the class and function patches and the signal handlers too.
    Tasks already created keep logging their ends. Flushes the buffer."""
    global _on
    if loop is None:
        loop = asyncio.get_running_loop()
    current = loop.get_task_factory()
    if current is not None and hasattr(current, "_coroner_previous"):
        loop.set_task_factory(current._coroner_previous)
    for attr in ("create_future", "call_exception_handler", "close"):
        if attr in getattr(loop, "__dict__", ()):
            delattr(loop, attr)
    _loops.discard(loop)
    with _life_lock:
        _live_loops.discard(loop)
    if not _loops:
        _on = False
        _remove_patches()
        _SIMPLE_WAITS.clear()
        _restore_signals()
    _flush()


# ---------------------------------------------------------------- stages and await edges


_few_json = {}  # a name that recurs (a stage's, a parent task's) -> its JSON text


def _few_json_of(name):
    text = _s(str(name))
    if type(name) is str and len(_few_json) < 4096:  # bounded: names may be free text
        _few_json[name] = text
    return text


_ATTEMPT_KEYS = ("attempt", "attempt_number")  # the unambiguous names of coroner's attempt role


class stage:
    """stage(name, **fields): log {"task": current, "stage": name, "data": {fields}} now.

    The caller's fields are nested under "data", so they can never change a task's identity;
    with the name given first, a field may be called ``name`` too (``stage("load", name=f)``;
    ``stage(name="load")`` alone is the stage's name). An ``attempt`` (or ``attempt_number``)
    int is also written at the top level, where coroner reads the try's number (a later attempt
    after an error: the error was retried).
    As a context manager (``with stage("validate"):``) it also logs an error record
    ({"stage": name, "level": "error", "error_type", "error"}) if the block raises an Exception
    (the exception still propagates; cancellation is not an error and is not logged, except the
    one by which an ``asyncio.timeout()`` scope (or ``wait_for``) around the block expired: the
    block timed out, and its error record says TimeoutError, written when the scope exits, in
    the scope's task, also when the block was in a task it awaited: a ``gather``'s or
    ``TaskGroup``'s child, the task given to ``wait_for``).
    """

    __slots__ = ("name",)

    def __init__(self, *args, **fields):
        # (not `name, /`: stage(name="load") named the stage before, and still does)
        name = args[0] if len(args) == 1 else _stage_name(args, fields)
        self.name = name
        if not _on and not _sink.enabled():
            return  # not installed and nobody listening: the cheapest no-op we can be
        # _write_current() inlined, one format: this is the hot path of a logged program
        loop = _running_loop()
        task = _current_task(loop) if loop is not None else None
        sink = _sink
        if task is None or fields or sink.stream is None:
            rest = ', "stage": ' + _s(str(name))
            if fields:
                rest += ', "data": ' + _j(fields)
                # The try's number is coroner's attempt role: a stage of a later attempt after
                # an error says the error was retried (``stage("request", attempt=n)`` in a retry
                # loop). Also left in "data"; it names no task, so identity stays the caller's.
                for key in _ATTEMPT_KEYS:
                    n = fields.get(key)
                    if type(n) is int and n >= 0:
                        rest += ', "%s": %d' % (key, n)
            _write_current(rest)
        else:
            # sink.put() and _ts() inlined; the stage name's JSON from a cache: a program has few.
            # (A cache of the tasks' names, thousands live at once, cost more time than it saved.)
            ident = task.get_name()  # _id(task) inlined: a name never taken is the identity
            if ident in _taken or type(task) is not _Task:
                ident = _id(task)
            lines = sink.lines
            ns = _ns()
            start, sec = _second
            m = ns - start
            if m >= 1000000000 or m < 0:
                m, sec = _new_second(ns)
            lines.append(f'{{"ts": {sec}{_D3[m // 1000000]}{_D3[m // 1000 % 1000]}, '
                         f'"task": {_s(ident)}, '
                         f'"stage": {_few_json.get(name) or _few_json_of(name)}{sink.tail_nl}')
            n = len(lines)
            if not n & 63 or n == 1:
                sink.check(n, False)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and isinstance(exc, Exception) and (_on or _sink.enabled(_ERROR)):
            if exc.__dict__.get("_coroner_told") if hasattr(exc, "__dict__") else False:
                return False  # the timeout scope inside this block wrote its record already
            _write_current(', "stage": %s, "level": "error"%s' % (_s(str(self.name)), _error_fields(exc)), True)
        elif exc_type is not None and issubclass(exc_type, asyncio.CancelledError) and exc is not None:
            # Not an error by itself; but if an asyncio.timeout() around this block expired, the
            # scope turns this cancellation into the block's TimeoutError: the scope logs it
            # then, in the innermost stage it interrupted (see _timeout_patches). The innermost
            # of this task: the same exception reaches a task awaiting this one (a cancelled
            # task's CancelledError is re-raised in its waiter), whose own stages it crosses next.
            try:
                waiter = _waiter()
                me = id(waiter) if waiter is not None else None
                if "_coroner_stage" not in exc.__dict__ or exc.__dict__.get("_coroner_stage_task") != me:
                    exc._coroner_stage = self.name
                    exc._coroner_stage_task = me
                    # Kept on the task too: a TaskGroup, or wait_for before 3.12, raises a
                    # cancellation of its own, which does not carry the child's mark.
                    if waiter is not None:
                        waiter._coroner_cut_in = self.name
            except AttributeError:
                pass
        return False


def _stage_name(args, fields):
    if args or "name" not in fields:
        raise TypeError("stage() takes the stage's name, then its fields: stage(name, **fields)")
    return fields.pop("name")


def _write_current(rest, error=False):
    name = _current_name()
    if name is None:
        _sink.write('{"ts": %s%s' % (_ts(), rest), error)
    else:
        _sink.write('{"ts": %s, "task": %s%s' % (_ts(), _s(name), rest), error)


def _as_future(aw):
    # A bare coroutine has no task, hence no name to point the edge at: run it as a task (what
    # asyncio.gather does too). Cancelling the awaiting task still cancels it.
    return aw if _isfuture(aw) else asyncio.ensure_future(aw)


async def traced(aw, *, stage=None, awaits=None):
    """await aw, logging the wait first (a "coroner": "wait" record, and a stage record named
    stage if given). Since install() sees plain awaits by itself, this is only needed to name
    the awaited task(s) by hand: awaits, a name or a list of names, for an awaitable that is not
    a task (a future another task should resolve); aw is then awaited as it is.
    aw: a task, a future or a coroutine (run as a task so the edge has a name)."""
    __tracebackhide__ = True
    me = _waiter()
    if stage is not None:
        globals()["stage"](stage)
    if awaits is None:
        aw = _as_future(aw)
        what, targets = _describe_future(aw)
        names = [_id(t) for t in targets]
    else:
        names = [awaits] if isinstance(awaits, str) else [str(n) for n in awaits]
        what = ("task " if len(names) == 1 else "tasks ") + ", ".join(names)
    if me is not None and (_on or _sink.enabled()):
        rest = ', "coroner": "wait", "waiting_for": ' + _s(what)
        if names:
            rest += ', "awaits": [' + ", ".join(map(_s, names)) + "]"
        _task_record(_id(me), rest)
    if me is None or not _isfuture(aw):
        return await aw
    _skip[me] = aw
    try:
        return await aw
    finally:
        if _skip.get(me) is aw:
            del _skip[me]


_gather0 = asyncio.gather  # the unpatched one: traced_gather logs its own record


async def traced_gather(*aws, stage=None, return_exceptions=False):
    """asyncio.gather(*aws), logging the wait ("gather of N tasks") first, and a stage record
    named stage if given. Since install() sees asyncio.gather by itself, plain gather will do."""
    __tracebackhide__ = True
    futs = [_as_future(a) for a in aws]
    if stage is not None:
        globals()["stage"](stage)
    me = _waiter()
    if me is not None and (_on or _sink.enabled()):
        _wait_record(me, "gather of %d tasks" % len(futs), _tasks_in(futs))
    return await _gather0(*futs, return_exceptions=return_exceptions)


# ---------------------------------------------------------------- test ends (the pytest plugin)


def flush():
    """Write the records waiting in the buffer now (with install(stream=...))."""
    _flush()


def mark_test_end(reason, tasks=None, log_ends=None):
    """The end of a test (coroner_pytest calls it): a "pending" record for each task of `tasks`
    that is not done (default: every pending task of the installed loops), then
    {"coroner": "test-end", "reason": reason}, then a flush. coroner reports a task pending at a
    test-end as leaked (hung, subkind leaked): the test left it running. Unlike the exit record
    it may be written any number of times in a process.
    log_ends: this record ends the log, the next records go to another (coroner_pytest's log of
    the next test): the "name#2" numbering of task names starts again (_restart_names). Default:
    when reason starts with "test ended" (coroner_pytest's words at a test's end; not its
    "asyncio.run returned in ...", after which the test's log goes on)."""
    if tasks is None:
        tasks = [t for loop in list(_loops) for t in asyncio.all_tasks(loop)]
    _pending_records(tasks)
    _sink.write('{"ts": %s, "coroner": "test-end", "reason": %s' % (_ts(), _s(reason)), True)
    _flush()
    if log_ends if log_ends is not None else str(reason).startswith("test ended"):
        _restart_names()


def _restart_names():
    """Names are told apart within one log: a new log (the next test's) numbers them afresh, so
    a test's "poller" is not "poller#2" because an earlier test also made one. The names of the
    tasks that may still appear in the new log keep their identities and stay taken: the tasks
    still pending (a wider fixture's, or one a test left that is not yet collected), and those
    that failed with an exception nobody retrieved yet, which asyncio reports when it collects
    them (coroner_pytest charges such a message to the test that created the task it names)."""
    global _taken
    kept = {}
    live = [t for loop in list(_loops) for t in _all_tasks_of(loop)] + list(_failed_tasks)
    for task in live:
        mine = getattr(task, "_coroner_id", None)
        if mine is None or mine[0] != task.get_name():
            continue
        if task.done() and not getattr(task, "_log_traceback", False):
            continue  # its exception was retrieved: asyncio will say nothing of it
        kept[mine[0]] = kept.get(mine[0], 0) + 1
        if mine[1] != mine[0]:
            kept.setdefault(mine[1], 1)
    _taken = kept


def _all_tasks_of(loop):
    try:
        return asyncio.all_tasks(loop)
    except RuntimeError:  # (the set changed size in another thread: a rare race)
        return ()
