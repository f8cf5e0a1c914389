"""A test that fails on its own and leaks a task: pytest's failure is told as it is, and coroner's
verdict beside it, an error at the test's teardown. run_plugin_tests.py runs this file alone."""

import asyncio

import pytest

_kept = []


@pytest.mark.asyncio
async def test_fails_and_leaks_a_task():
    _kept.append(asyncio.create_task(asyncio.Event().wait()))
    await asyncio.sleep(0)
    assert 6 * 7 == 43
