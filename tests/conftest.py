import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import UrlFactory  # noqa: E402


def pytest_collection_modifyitems(config, items):
    # Per-test timeout (pytest-timeout): a hang is a failure, never a stuck CI.
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(60))


@pytest.fixture
def make_url():
    """make_url("tcp" | "ipc" | "inproc") -> a fresh URL for this test."""
    urls = UrlFactory()
    yield urls
    urls.cleanup()
