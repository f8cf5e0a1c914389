"""Timeouts, judged with --coroner-fail-on timeout: a TimeoutError the test expected
(pytest.raises around an asyncio.run, around the await of a task that timed out, or around a
wait_for that cut a stage short, whose inner task ends "timed_out" before Python 3.12) is no
timeout, one nobody expected is. run_plugin_tests.py checks TIMED_OUT.
"""

import asyncio

import pytest

from coroner_asyncio import stage

# test name -> the finding its failure names; every other test here passes.
TIMED_OUT = {"test_ignores_a_timeout": "timeout",
             "test_ignores_the_timeout_of_a_stage": "timeout"}


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


async def _lookup(delay):
    with stage("lookup"):
        await asyncio.sleep(delay)


@pytest.mark.asyncio
async def test_expects_the_timeout_of_a_stage():
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(_lookup(5), 0.005)


@pytest.mark.asyncio
async def test_ignores_the_timeout_of_a_stage():
    try:
        await asyncio.wait_for(_lookup(5), 0.005)
    except asyncio.TimeoutError:
        pass


@pytest.mark.asyncio
async def test_ignores_a_timeout():
    results = await asyncio.gather(_fetch(5), _fetch(0), return_exceptions=True)
    assert results[1] is None


@pytest.mark.asyncio
async def test_within_its_time():
    await _fetch(0)
