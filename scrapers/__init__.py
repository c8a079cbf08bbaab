"""Forum scrapers: one module per forum engine, plus the shared fetch layer.

Engines are registered in one explicit table, :data:`ENGINES` (engine name → module);
each engine module exposes pure parsers (page in, records out) and URL builders. The
modules are imported when first asked for, so that importing the records (the database
layer does) does not load the HTML parsers.
"""
from __future__ import annotations

import importlib
import re
from types import ModuleType

ENGINES: dict[str, str] = {
    "discuz": "scrapers.discuz",
    "discuz-touch": "scrapers.discuz_touch",
    "discuz-api": "scrapers.discuz_api",
    "discuz7": "scrapers.discuz7",
    "phpwind": "scrapers.phpwind",
    "generic": "scrapers.generic",
}


_DESKTOP_MARKERS = (b'id="postlist"', b'id="threadlist"', b'id="messagetext"', b'id="hd"')
_GENERATOR = re.compile(rb'<meta\s+name=["\']generator["\']\s+content=["\']([^"\']*)', re.I)
_DISCUZ_OLD = re.compile(rb"discuz!?\s*[4-7]\.", re.I)  # Discuz! 7.2, 6.1: the pre-X engine


def detect_engine(body: bytes) -> str | None:
    """Name the engine a page comes from, when it says so (generator meta, API envelope)."""
    head = body[:8192].lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"{") and b'"Variables"' in body[:65536]:
        return "discuz-api"
    lowered = head.lower()
    found = _GENERATOR.search(head)
    generator = found.group(1) if found else b""
    if b"phpwind" in generator.lower() or (not generator and b"powered by phpwind" in lowered):
        return "phpwind"
    if b"discuz!" not in lowered and b"discuz_uid" not in lowered:
        return None
    old_urls = b"forum.php?mod=" not in body and (b"viewthread.php?tid=" in body or b"forumdisplay.php?fid=" in body)
    if _DISCUZ_OLD.match(generator) or old_urls:
        return "discuz7"
    touch = b"static/image/mobile" in body or b"mobile=2" in body
    return "discuz-touch" if touch and not any(m in body for m in _DESKTOP_MARKERS) else "discuz"


def get_engine(name: str) -> ModuleType:
    """Return the engine module registered under ``name``."""
    try:
        return importlib.import_module(ENGINES[name])
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise KeyError(f"unknown engine {name!r}; known engines: {known}") from None
