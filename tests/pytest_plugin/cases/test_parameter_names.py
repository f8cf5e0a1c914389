"""Parameters that differ only in what a file name cannot hold ("a b", "a_b", "a/b" all read
a_b in one): each test has its own log. Each awaits a task that fails under pytest.raises, so
that its clean log is kept till the session's end (a later test might charge it a message),
where it is deleted once. All clean: run_plugin_tests.py checks that every test passes, that
pytest exits 0 and that --coroner-logs keeps a log for each.
"""

import asyncio

import pytest

from coroner_asyncio import stage


async def _route(path):
    with stage("route", path=path):
        await asyncio.sleep(0)
        raise LookupError("no route to " + path)


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["a b", "a_b", "a/b"])
async def test_routes_nowhere(path):
    task = asyncio.create_task(_route(path))
    with pytest.raises(LookupError):
        await task
