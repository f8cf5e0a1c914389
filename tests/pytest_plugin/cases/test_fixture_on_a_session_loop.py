"""One event loop for the whole session (the usual override of pytest-asyncio's event_loop),
and function-scoped fixtures that start a task on it: a fixture that stops its task at teardown
is clean, one that leaves it running leaked it, for the test that used it, though the loop is
still open when that test ends. run_plugin_tests.py checks LEAKED.
"""

import asyncio

import pytest
import pytest_asyncio

from coroner_asyncio import stage

# test name -> the finding its failure names; every other test here passes.
LEAKED = {
    "test_uses_a_fixture_that_leaves_its_watcher_running": "hung/leaked",
    "test_leaves_its_own_task_running": "hung/leaked",
}

_kept = []  # keeps the leaked tasks alive: they are pending, not destroyed


@pytest.fixture(scope="session")
def event_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


async def _watch(changed):
    with stage("watch"):
        await changed.wait()


@pytest_asyncio.fixture
async def stopped_watcher():
    changed = asyncio.Event()
    task = asyncio.create_task(_watch(changed))
    yield changed
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest_asyncio.fixture
async def forgotten_watcher():
    changed = asyncio.Event()
    _kept.append(asyncio.create_task(_watch(changed)))
    yield changed  # no teardown: the watcher runs on, on the session's loop


@pytest.mark.asyncio
async def test_uses_a_fixture_that_stops_its_watcher(stopped_watcher):
    await asyncio.sleep(0.001)


@pytest.mark.asyncio
async def test_uses_a_fixture_that_leaves_its_watcher_running(forgotten_watcher):
    await asyncio.sleep(0.001)


@pytest.mark.asyncio
async def test_sets_what_the_forgotten_watcher_waits_for(forgotten_watcher):
    forgotten_watcher.set()  # the watcher ends within the test: nothing left
    await asyncio.sleep(0.001)


@pytest.mark.asyncio
async def test_leaves_its_own_task_running():
    _kept.append(asyncio.create_task(_watch(asyncio.Event())))
    await asyncio.sleep(0.001)


@pytest.mark.asyncio
async def test_after_the_leaks():
    await asyncio.sleep(0.001)
