"""Asyncio tests with planted faults, and clean ones, for the coroner pytest plugin.

run_plugin_tests.py runs them through the plugin and checks each one's verdict: EXPECTED below
says what coroner must name for each faulty test (the failure message's first line), and that
every other test passes. They are not meant to pass on their own: the faulty ones are faulty.
"""

import asyncio
import gc

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
}

_kept = []  # keeps the leaked tasks alive: they are pending, not destroyed


async def _forever():
    with stage("poll"):
        await asyncio.Event().wait()


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


def test_without_asyncio():
    assert sum(range(4)) == 6


@pytest.mark.asyncio
async def test_waits_with_a_timeout_it_handles():
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.Event().wait(), 0.01)
