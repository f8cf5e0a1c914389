"""A task created in one test and collected during the next: charged to the test that made it.

test_keeps_a_failed_task creates a task that fails, and keeps it in a global, so the garbage
collection at its end does not reach it; test_drops_it drops it, and asyncio's "Task exception
was never retrieved" is written during that test. run_plugin_tests.py checks that the second
test passes and that the finding is charged to the first (in the terminal summary), and that
the error the first test expected (pytest.raises) is still expected when its log is judged again.
test_keeps_a_failed_task_named_with_a_quote does the same with a task named "user's job", which
asyncio's message writes name="user's job" (repr's quotes): charged to that test too.
"""

import asyncio

import pytest

from coroner_asyncio import stage

_held = []


@pytest.mark.asyncio
async def test_keeps_a_failed_task():
    async def fail():
        raise ValueError("lost across tests")

    with pytest.raises(KeyError):  # expected: not swallowed, now or when judged again later
        with stage("lookup"):
            raise KeyError("sku")
    _held.append(asyncio.create_task(fail()))
    await asyncio.sleep(0.01)


def test_drops_it():
    _held.clear()


@pytest.mark.asyncio
async def test_keeps_a_failed_task_named_with_a_quote():
    async def fail():
        raise ValueError("lost in a job named with a quote")

    _held.append(asyncio.create_task(fail(), name="user's job"))
    await asyncio.sleep(0.01)


def test_drops_that_one():
    _held.clear()
