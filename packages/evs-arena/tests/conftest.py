"""Fixtures of evs-arena's tests; the fakes live in arena_testkit.py beside this file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import arena_testkit  # noqa: E402


@pytest.fixture
def servers():
    srvs, judge = arena_testkit.make_servers()
    try:
        yield srvs, judge
    finally:
        for s in [*srvs.values(), judge]:
            s.stop()
