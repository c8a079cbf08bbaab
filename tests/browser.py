"""A headless Chromium for the tests: Debian's ``chromium`` package driven by Playwright.

``make test`` installs both (``make browser``: Debian's chromium and a CJK font, as root).
Without them the browser tests skip with the reason; with ``CI=true`` they fail instead.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("SPOKESWATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# flags for a sandboxed machine without a network: no first-run UI, no background connections
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """A launched headless Chromium (a Playwright Browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    if not os.path.exists(CHROMIUM):
        _unavailable(f"no Chromium at {CHROMIUM}: run `make browser` (apt-get install chromium fonts-wqy-microhei)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
