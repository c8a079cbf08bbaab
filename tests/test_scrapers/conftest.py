"""Shared fixtures of the scraper tests."""
from __future__ import annotations

import pytest

from scrapers import phpwind


@pytest.fixture(autouse=True)
def no_learned_forums(monkeypatch):
    """Which forums run phpwind 9.x is learned per process: each test starts knowing none."""
    monkeypatch.setattr(phpwind, "_NINE", set())
