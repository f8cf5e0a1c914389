"""A module-scoped loop and a fixture's background task that lives through several tests: the
task is the fixture's, not a leak of the first test, and the last test's teardown stops it.
All clean: run_plugin_tests.py checks that every test here passes.
"""

import asyncio

import pytest
import pytest_asyncio

from coroner_asyncio import stage


@pytest.fixture(scope="module")
def event_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


async def _tick():
    while True:
        with stage("tick"):
            await asyncio.sleep(0.001)


@pytest_asyncio.fixture(scope="module")
async def ticker():
    task = asyncio.create_task(_tick())
    yield task
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.asyncio
async def test_first_uses_the_ticker(ticker):
    await asyncio.sleep(0.005)
    assert not ticker.done()


@pytest.mark.asyncio
async def test_second_uses_the_ticker(ticker):
    await asyncio.sleep(0.005)
    assert not ticker.done()
