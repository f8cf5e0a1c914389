"""A module-scoped loop and a module fixture that never stops its background task: the task is
no test's while the module's tests run, and leaked when the module's loop closes with it still
pending, told with the module's last test, whose teardown ended the fixture (where pytest puts
a module fixture's teardown error). run_plugin_tests.py checks LEAKED.
"""

import asyncio

import pytest
import pytest_asyncio

from coroner_asyncio import stage

# test name -> the finding its failure names; every other test here passes.
LEAKED = {"test_last_uses_the_pinger": "hung/leaked"}

_kept = []  # keeps the leaked task alive: it is pending, not destroyed


@pytest.fixture(scope="module")
def event_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


async def _ping():
    while True:
        with stage("ping"):
            await asyncio.sleep(0.001)


@pytest_asyncio.fixture(scope="module")
async def pinger():
    task = asyncio.create_task(_ping())
    _kept.append(task)
    yield task  # no teardown: the loop closes with the pinger pending


@pytest.mark.asyncio
async def test_first_uses_the_pinger(pinger):
    await asyncio.sleep(0.003)
    assert not pinger.done()


@pytest.mark.asyncio
async def test_last_uses_the_pinger(pinger):
    await asyncio.sleep(0.003)
    assert not pinger.done()
