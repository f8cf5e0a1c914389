"""coroner_asyncio: log what coroner needs from an asyncio program, one JSON object a line.

Drop this file next to your program (standard library only, Python 3.9+)::

    import asyncio, logging, coroner_asyncio
    from coroner_asyncio import stage, traced, traced_gather

    async def job(n):
        with stage("fetch", item=n):          # logs the stage; logs an error record if it raises
            await asyncio.sleep(0.01)

    async def main():
        coroner_asyncio.install(stream=open("run.jsonl", "a"))   # or install() + logging
        await traced_gather(*(job(n) for n in range(3)))          # logs the await edges
        # main's own start and end are logged too: install() watches the task calling it

    asyncio.run(main())

Records (field names are coroner's defaults)::

    {"ts": 1764059000.12, "task": "Task-3", "status": "created", "parent_id": "Task-1", "pid": 42, "hostname": "vm"}
    {"ts": ..., "task": "Task-3", "status": "started", ...}
    {"ts": ..., "task": "Task-3", "stage": "fetch", "item": 0, ...}
    {"ts": ..., "task": "Task-1", "stage": "awaiting", "awaits": ["Task-3", "Task-4"], ...}
    {"ts": ..., "task": "Task-3", "status": "failed", "level": "error", "error_type": "ValueError",
     "error": "ValueError: boom", "traceback": "Traceback (most recent call last): ..."}
    {"ts": ..., "task": "Task-3", "status": "done" | "cancelled", ...}

Without ``stream=``, records go through the standard ``logging`` module, to the logger named
"coroner" (or the ``logger=`` given, a Logger or a name) at INFO (errors at ERROR), the message
being the JSON line itself; give that logger a handler with ``logging.Formatter("%(message)s")``.
Then ``coroner analyze run.jsonl``.

Cost: one ``json.dumps`` and one write (or one logging call) per event, nothing per task step,
no lock of its own. The task factory is chained: an existing factory still creates the tasks.
"""

import asyncio
import json
import logging
import os
import socket
import sys
import time
import traceback

__all__ = ["install", "uninstall", "stage", "traced", "traced_gather", "emit"]

_logger = logging.getLogger("coroner")
_INFO, _ERROR = logging.INFO, logging.ERROR


class _Sink:
    """Where records go: a stream (one write + flush per record) or a logger."""

    __slots__ = ("stream", "logger", "scope")

    def __init__(self, stream=None, logger=None, scope=True):
        self.stream = stream
        if isinstance(logger, str):
            logger = logging.getLogger(logger)
        self.logger = logger if logger is not None else _logger
        self.scope = {"pid": os.getpid(), "hostname": socket.gethostname()} if scope else None

    def emit(self, rec, level=_INFO):
        if self.stream is None and not self.logger.isEnabledFor(level):
            return  # nobody listens: no json.dumps
        if self.scope is not None:
            rec.update(self.scope)
        line = json.dumps(rec, default=str)
        if self.stream is not None:
            # One write of the whole line keeps lines whole; the flush makes the log survive a
            # crash or os._exit, which is exactly when a post-mortem needs it.
            self.stream.write(line + "\n")
            flush = getattr(self.stream, "flush", None)
            if flush is not None:
                flush()
        else:
            self.logger.log(level, line)


_sink = _Sink(scope=False)  # until install(): plain records through the "coroner" logger


def _current_name():
    try:
        t = asyncio.current_task()
    except RuntimeError:  # no running loop
        return None
    return t.get_name() if t is not None else None


def _name_of(aw):
    get_name = getattr(aw, "get_name", None)
    return get_name() if get_name is not None else "future-%x" % id(aw)


def emit(fields, level=_INFO):
    """Log one record: ts and the current task's name are added unless given (task=None: none)."""
    rec = {"ts": time.time()}
    if "task" not in fields:
        name = _current_name()
        if name is not None:
            rec["task"] = name
    rec.update(fields)
    if rec.get("task", 0) is None:
        del rec["task"]  # task=None: a record about no task (a shutdown line)
    _sink.emit(rec, level)


def _error_fields(exc):
    return {
        "error_type": type(exc).__name__,
        "error": "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__,
    }


# ---------------------------------------------------------------- task factory

if sys.version_info[:3] == (3, 13, 0):
    # CPython 3.13.0's loop.create_task() calls task.set_name(name) after *any* custom task
    # factory even when name is None, so every unnamed task is renamed "None" (fixed in 3.13.1).
    # Tasks this module creates itself ignore that call.
    class _Task(asyncio.Task):
        def set_name(self, value):
            if value is not None:
                super().set_name(value)
else:
    _Task = asyncio.Task



def _task_name_from_callers(default):
    """The name the caller is about to give the task.

    Before 3.14 loop.create_task() (and asyncio.create_task(), TaskGroup.create_task()) call the
    task factory *without* the name and call task.set_name(name) only after the factory returns,
    so inside the factory the task is still "Task-N". The name is a local of those create_task
    frames: read it there (a few frames up, only frames whose function is create_task). Costs one
    frame walk per task created, nothing per step.
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


def _hook_first_step(loop, task, sink):
    """Log "started" just before the task's first step, with no per-step cost.

    Task.__init__ schedules the first step with loop.call_soon() as its last act, so the handle at
    the end of the loop's ready queue is that step: wrap its callback once. If that is not so
    (another loop implementation, an eager task that already ran), log "started" now instead.
    """
    ready = getattr(loop, "_ready", None)
    handle = ready[-1] if ready else None
    cb = getattr(handle, "_callback", None)
    if cb is not None and getattr(cb, "__self__", None) is task:
        def first_step(*args):
            handle._callback = cb  # harmless: the handle runs once
            sink.emit({"ts": time.time(), "task": task.get_name(), "status": "started"})
            return cb(*args)
        try:
            handle._callback = first_step
            return
        except (AttributeError, TypeError):
            pass
    sink.emit({"ts": time.time(), "task": task.get_name(), "status": "started"})


def _on_done(task, sink):
    rec = {"ts": time.time(), "task": task.get_name()}
    if task.cancelled():
        rec["status"] = "cancelled"
        sink.emit(rec)
        return
    # task.exception() would mark the exception retrieved (it clears Future._log_traceback), and
    # then asyncio would never log "Task exception was never retrieved" for a fire-and-forget
    # task: logging the failure would hide the very bug coroner looks for. Both the Python and
    # the C Future expose the stored exception as the attribute _exception, which reads it
    # without touching _log_traceback. If an implementation lacks it, log "failed" without
    # detail rather than call exception().
    exc = getattr(task, "_exception", None)
    if exc is None:
        rec["status"] = "done"
        sink.emit(rec)
        return
    rec["status"] = "failed"
    rec["level"] = "error"
    rec.update(_error_fields(exc))
    rec["traceback"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
    sink.emit(rec, _ERROR)


def install(loop=None, *, stream=None, logger=None, scope=True):
    """Record every task the loop creates from now on: created (name, parent), started, and
    done / failed (with the exception) / cancelled.

    loop: the loop (default: the running one, else the current one). stream: a text stream to
    write the JSON lines to (default: through logging, see logger). logger: a Logger or a logger
    name (default "coroner"). scope: add "pid" and "hostname" to every record (coroner then keys
    tasks by them, so logs of several processes can be analysed together).
    Calling install() again replaces the sink and re-chains the factory. Returns the loop.
    """
    global _sink
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop_policy().get_event_loop()
    sink = _Sink(stream=stream, logger=logger, scope=scope)
    _sink = sink
    previous = loop.get_task_factory()
    if getattr(previous, "_coroner_previous", False) is not False:
        previous = previous._coroner_previous  # install() twice: do not log twice

    def factory(loop, coro, **kwargs):
        created = time.time()
        parent = _current_name()
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        else:
            task = _Task(coro, loop=loop, **kwargs)
        name = kwargs.get("name")
        name = str(name) if name is not None else _task_name_from_callers(task.get_name())
        rec = {"ts": created, "task": name, "status": "created"}
        if parent is not None:
            rec["parent_id"] = parent
        sink.emit(rec)
        _hook_first_step(loop, task, sink)
        task.add_done_callback(lambda t: _on_done(t, sink))
        return task

    factory._coroner_previous = previous
    loop.set_task_factory(factory)
    # The task calling install() (asyncio.run's main, usually) was created before the factory:
    # log its start and its end too, or it would look like a task that never ended.
    try:
        current = asyncio.current_task(loop)
    except RuntimeError:
        current = None
    if current is not None and not getattr(current, "_coroner_watched", False):
        current._coroner_watched = True
        sink.emit({"ts": time.time(), "task": current.get_name(), "status": "started"})
        current.add_done_callback(lambda t: _on_done(t, sink))
    return loop


def uninstall(loop=None):
    """Put back the task factory install() replaced (tasks already created keep logging)."""
    if loop is None:
        loop = asyncio.get_running_loop()
    current = loop.get_task_factory()
    if current is not None and hasattr(current, "_coroner_previous"):
        loop.set_task_factory(current._coroner_previous)


# ---------------------------------------------------------------- stages and await edges


class stage:
    """stage(name, **fields): log {"task": current, "stage": name, **fields} now.

    As a context manager (``with stage("validate"):``) it also logs an error record
    ({"stage": name, "level": "error", "error_type", "error"}) if the block raises an Exception
    (the exception still propagates; cancellation is not an error and is not logged).
    """

    __slots__ = ("name",)

    def __init__(self, name, **fields):
        self.name = name
        fields["stage"] = name
        emit(fields)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and isinstance(exc, Exception):
            rec = {"stage": self.name, "level": "error"}
            rec.update(_error_fields(exc))
            emit(rec, _ERROR)
        return False


def _as_future(aw):
    # A bare coroutine has no task, hence no name to point the edge at: run it as a task (what
    # asyncio.gather does too). Cancelling the awaiting task still cancels it.
    return aw if asyncio.isfuture(aw) else asyncio.ensure_future(aw)


async def traced(aw, *, stage=None, awaits=None):
    """await aw, logging the await edge first: {"stage": stage or "awaiting", "awaits": name}.

    aw: a task, a future or a coroutine (run as a task so the edge has a name). awaits: the
    task name(s) to log instead, for an awaitable that is not a task (a lock held by a task, a
    future another task should resolve); then aw is awaited as it is.
    """
    if awaits is None:
        aw = _as_future(aw)
        awaits = _name_of(aw)
    emit({"stage": stage or "awaiting", "awaits": awaits})
    return await aw


async def traced_gather(*aws, stage=None, return_exceptions=False):
    """asyncio.gather(*aws) logging {"stage": stage or "awaiting", "awaits": [names]} first."""
    futs = [_as_future(a) for a in aws]
    emit({"stage": stage or "awaiting", "awaits": [_name_of(f) for f in futs]})
    return await asyncio.gather(*futs, return_exceptions=return_exceptions)
