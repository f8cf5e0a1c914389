"""Timeouts, judged with --coroner-fail-on timeout: a TimeoutError the test expected
(pytest.raises around an asyncio.run, or around the await of a task that timed out) is no
timeout, one nobody expected is. run_plugin_tests.py checks TIMED_OUT.
"""

import asyncio

import pytest

# test name -> the finding its failure names; every other test here passes.
TIMED_OUT = {"test_ignores_a_timeout": "timeout"}


async def _fetch(delay):
    await asyncio.wait_for(asyncio.sleep(delay), 0.005)


def test_expects_the_timeout_asyncio_run_raises():
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(_fetch(5))


@pytest.mark.asyncio
async def test_expects_the_timeout_of_a_task():
    task = asyncio.create_task(_fetch(5))
    with pytest.raises(asyncio.TimeoutError):
        await task


@pytest.mark.asyncio
async def test_ignores_a_timeout():
    results = await asyncio.gather(_fetch(5), _fetch(0), return_exceptions=True)
    assert results[1] is None


@pytest.mark.asyncio
async def test_within_its_time():
    await _fetch(0)
