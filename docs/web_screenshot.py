"""Make docs/web-overview.png, the README's picture of the web view: the demo polled, its web view
served with the demo's clock, the office's overview of 2011Q1 rendered by Debian's chromium.

Run by hand:  .venv/bin/python docs/web_screenshot.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import ARGS, CHROMIUM  # noqa: E402
from tests.webview import PASSWORDS, make_world  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world_iter = make_world(Path(tmp))
        world = next(world_iter)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(base_url=world.base, viewport={"width": 1280, "height": 900})
                page.goto("/login")
                page.fill("input[name=name]", "office")
                page.fill("input[name=password]", PASSWORDS["office"])
                page.click("button[type=submit]")
                page.goto("/?period=2011Q1")
                page.screenshot(path=str(ROOT / "docs" / "web-overview.png"), full_page=True)
                browser.close()
        finally:
            world_iter.close()
    print("written docs/web-overview.png")


if __name__ == "__main__":
    main()
