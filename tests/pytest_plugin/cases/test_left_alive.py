"""A failed task whose exception nobody retrieved, held past the session's end: charged to the
test that created it, as if collected then.

test_keeps_a_failed_task_alive keeps its failed task in a global that no later test clears, so
it is alive when the session ends (as it is when the test runs alone, or is the last of its
xdist worker): asyncio would tell of it only at the interpreter's exit, after the summary.
run_plugin_tests.py checks that the finding is charged to that test at the session's end
(pytest exits 1, the final line counts it, --lf knows it), in each of those forms, and that
asyncio does not print its own message after the summary.
"""

import asyncio

import pytest

_held = []


@pytest.mark.asyncio
async def test_keeps_a_failed_task_alive():
    async def fail():
        raise ValueError("alive at the session's end")

    _held.append(asyncio.create_task(fail()))
    await asyncio.sleep(0.01)


def test_leaves_it_there():
    """A later test, whose end's garbage collection does not reach the task held."""
