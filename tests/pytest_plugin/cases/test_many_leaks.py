"""A test that leaves 50 tasks waiting: its failure lists the first MAX_LISTED (10) of them, and
counts the others, above coroner's report, which groups them all. run_plugin_tests.py checks
LEAKED and the length of the list.
"""

import asyncio

import pytest

from coroner_asyncio import stage

# test name -> the finding its failure names.
LEAKED = {"test_leaves_50_tasks_waiting": "hung/leaked"}


@pytest.mark.asyncio
async def test_leaves_50_tasks_waiting():
    event = asyncio.Event()

    async def wait():
        with stage("waiting"):
            await event.wait()

    tasks = [asyncio.create_task(wait()) for _ in range(50)]
    await asyncio.sleep(0.01)
    assert not any(t.done() for t in tasks)
