"""Asyncio tests with planted faults, and clean ones, for the coroner pytest plugin.

run_plugin_tests.py runs them through the plugin and checks each one's verdict: EXPECTED below
says what coroner must name for each faulty test (the failure message's first line), and that
every other test passes. They are not meant to pass on their own: the faulty ones are faulty.
"""

import asyncio
import gc
import warnings

import pytest
import pytest_asyncio

from coroner_asyncio import stage

# What the plugin must report for each faulty test, by test name; every other test is clean.
EXPECTED = {
    "test_leaks_a_hung_task": "hung/leaked",
    "test_asyncio_run_cancels_a_leaked_task": "hung/leaked",
    "test_never_retrieves_an_exception": "lost-exception/never-retrieved",
    "test_swallows_an_error": "lost-exception/swallowed",
    "test_lock_order_deadlock": "deadlock",
    "test_drops_a_pending_task": "hung/leaked",  # and destroyed-pending, now or when collected
    "test_turns_an_error_into_a_warning_outside_pytest_warns": "lost-exception/swallowed",
    "test_turns_an_error_into_a_warning_pytest_warns_does_not_expect": "lost-exception/swallowed",
    "test_swallows_a_deprecation_raised_by_an_error_filter": "lost-exception/swallowed",
}

# For the tests that expect some errors and not others: (the error the failure must name, the
# error its message, coroner's report included, must not name, because the test expected it).
NAMED_ERRORS = {
    "test_turns_an_error_into_a_warning_outside_pytest_warns": ("port 'y'", "port 'x'"),
    "test_turns_an_error_into_a_warning_pytest_warns_does_not_expect": ("KeyError", "ValueError"),
}

_kept = []  # keeps the leaked tasks alive: they are pending, not destroyed


async def _forever():
    with stage("poll"):
        await asyncio.Event().wait()


class ConfigWarning(UserWarning):
    """A setting was bad and its default is used."""


async def _read_port(text):
    """The port in text, or 8080 with a ConfigWarning: the error becomes the warning."""
    try:
        with stage("parse"):
            if not text.isdigit():
                raise ValueError("port %r" % text)
            return int(text)
    except ValueError:
        warnings.warn("port %r: using 8080" % text, ConfigWarning)
        return 8080


async def _read_timeout(settings):
    """settings["timeout"], or 30 with a ResourceWarning."""
    try:
        with stage("parse"):
            return settings["timeout"]
    except KeyError:
        warnings.warn("no timeout: using 30", ResourceWarning)
        return 30


async def _call_legacy_api():
    """Calls an API that warns it is deprecated; under an error filter that warning is raised,
    and this code falls back, losing it."""
    try:
        with stage("legacy"):
            warnings.warn("legacy() is deprecated", DeprecationWarning)
    except DeprecationWarning:
        pass


# ---------------------------------------------------------------- faulty


@pytest.mark.asyncio
async def test_leaks_a_hung_task():
    _kept.append(asyncio.create_task(_forever()))
    await asyncio.sleep(0)


def test_asyncio_run_cancels_a_leaked_task():
    async def main():
        _kept.append(asyncio.create_task(_forever()))
        await asyncio.sleep(0)

    asyncio.run(main())  # cancels the task on its way out: it was leaked all the same


@pytest.mark.asyncio
async def test_never_retrieves_an_exception():
    async def fail():
        raise ValueError("nobody reads this")

    task = asyncio.create_task(fail())
    await asyncio.sleep(0.01)
    del task  # finished with an exception nobody retrieved


@pytest.mark.asyncio
async def test_swallows_an_error():
    try:
        with stage("parse"):
            raise KeyError("price")
    except KeyError:
        pass  # the error is lost here


@pytest.mark.asyncio
async def test_lock_order_deadlock():
    a, b = asyncio.Lock(), asyncio.Lock()
    a_held, b_held = asyncio.Event(), asyncio.Event()

    async def take(first, second, mine, theirs):
        async with first:
            mine.set()
            await theirs.wait()
            async with second:
                pass

    _kept.append(asyncio.create_task(take(a, b, a_held, b_held)))
    _kept.append(asyncio.create_task(take(b, a, b_held, a_held)))
    await a_held.wait()
    await b_held.wait()
    for _ in range(3):  # no clock: a few turns of the loop, and each waits on the other's lock
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_drops_a_pending_task():
    asyncio.create_task(_forever())  # no reference kept: destroyed once the loop is dropped
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_turns_an_error_into_a_warning_outside_pytest_warns():
    # Both in the test's own task: the expected error first, then one that is lost.
    with pytest.warns(ConfigWarning):
        assert await _read_port("x") == 8080
    assert await _read_port("y") == 8080


@pytest.mark.asyncio
async def test_turns_an_error_into_a_warning_pytest_warns_does_not_expect():
    with pytest.warns(ConfigWarning):
        assert await asyncio.create_task(_read_port("x")) == 8080
        assert await asyncio.create_task(_read_timeout({})) == 30  # a ResourceWarning: lost


@pytest.mark.asyncio
@pytest.mark.filterwarnings("error::DeprecationWarning")
async def test_swallows_a_deprecation_raised_by_an_error_filter():
    await asyncio.create_task(_call_legacy_api())


# ---------------------------------------------------------------- clean


@pytest.mark.asyncio
async def test_gathers_its_jobs():
    async def job(n):
        with stage("fetch", item=n):
            await asyncio.sleep(0.001)
        return n

    assert await asyncio.gather(*(job(n) for n in range(5))) == list(range(5))


@pytest.mark.asyncio
async def test_expects_an_error_with_pytest_raises():
    with pytest.raises(ValueError):
        with stage("parse"):
            raise ValueError("bad input")


@pytest.mark.asyncio
async def test_expects_an_error_with_the_function_form_of_pytest_raises():
    def parse():
        with stage("parse"):
            raise ValueError("bad input")

    pytest.raises(ValueError, parse)


@pytest.mark.asyncio
async def test_awaits_a_failing_task_under_pytest_raises():
    async def fail():
        with stage("charge"):
            raise RuntimeError("card declined")

    with pytest.raises(RuntimeError):
        await asyncio.create_task(fail())


@pytest.mark.asyncio
async def test_cancels_its_background_task():
    task = asyncio.create_task(_forever())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_asyncio_run_with_everything_awaited():
    async def main():
        await asyncio.gather(asyncio.sleep(0.001), asyncio.sleep(0.002))

    asyncio.run(main())


@pytest_asyncio.fixture
async def server():
    task = asyncio.create_task(_forever())  # lives through the test, stopped at teardown
    yield task
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.asyncio
async def test_uses_a_fixture_with_a_background_task(server):
    await asyncio.sleep(0.01)
    assert not server.done()


@pytest_asyncio.fixture
async def refresher():
    async def refresh():
        while True:
            stage("refresh token")
            await asyncio.sleep(30)  # until the next refresh
    task = asyncio.create_task(refresh())
    yield task
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.asyncio
async def test_outlasts_the_stall_beside_a_fixture_task_asleep(refresher):
    # Longer than coroner's 2 s stall: the fixture's task was asleep, as it planned, when its
    # teardown cancelled it (the cancel record says so), not stuck.
    await asyncio.sleep(2.1)
    assert not refresher.done()


@pytest.mark.asyncio
async def test_expects_the_warning_an_error_becomes_with_pytest_warns():
    with pytest.warns(ConfigWarning, match="using 8080"):
        assert await asyncio.create_task(_read_port("x")) == 8080
    assert await asyncio.create_task(_read_port("443")) == 443


def test_expects_it_with_the_function_form_of_pytest_warns():
    assert pytest.warns(ConfigWarning, asyncio.run, _read_port("x")) == 8080


@pytest.mark.asyncio
@pytest.mark.filterwarnings("error::DeprecationWarning")
async def test_expects_a_deprecation_under_an_error_filter_with_pytest_warns():
    with pytest.warns(DeprecationWarning):
        await asyncio.create_task(_call_legacy_api())


def test_without_asyncio():
    assert sum(range(4)) == 6


@pytest.mark.asyncio
async def test_waits_with_a_timeout_it_handles():
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.Event().wait(), 0.01)
