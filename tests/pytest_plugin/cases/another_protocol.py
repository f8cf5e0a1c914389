"""A plugin that runs each test itself, as a rerun plugin does (pytest -p another_protocol):
with it the coroner plugin leaves the protocol alone, and its verdict is an error at teardown.
run_plugin_tests.py checks that no faulty test then passes."""

from _pytest.runner import runtestprotocol


def pytest_runtest_protocol(item, nextitem):
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    runtestprotocol(item, nextitem=nextitem)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True
