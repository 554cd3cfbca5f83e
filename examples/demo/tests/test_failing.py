"""The deliberately failing test of the failing demo variant.

It is skipped unless DEMO_FAIL=1, which the test image gets from the build
argument of the same name (see examples/README.md). Kubeline's run-tests
tests expect its failure at this file, on the assert line below: keep the
line where it is, or update them.
"""

import os

import pytest

from demo import core


@pytest.mark.skipif(os.environ.get("DEMO_FAIL") != "1", reason="the failing variant only: set DEMO_FAIL=1")
def test_greeting_is_polite():
    assert core.greeting("Ada")["message"] == "Good morning, Ada!"
