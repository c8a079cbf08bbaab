"""RSS/Atom feeds as a board's thread list (feedparser); threads are read by the forum's engine.

A feed lists threads newest first by posting time, with exact times but no
reply counts: new threads are found here, replies by reading the threads
(and the rechecks of threads with open cases).
"""
from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import feedparser

from scrapers.errors import ParseError
from scrapers.records import Site, ThreadListPage, ThreadRow


def _when(entry) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(parsed), timezone.utc) if parsed else None


def parse_feed(page, site: Site, tid_of: Callable[[str], int | None],
               thread_url: Callable[[Site, int], str]) -> ThreadListPage:
    """Thread rows from a feed; items linking off the forum's host or to no thread are skipped."""
    feed = feedparser.parse(page.body, response_headers={"content-type": page.content_type or "application/xml"})
    if feed.bozo and not feed.entries:
        raise ParseError(page.url, f"not a readable RSS/Atom feed ({feed.get('bozo_exception')})")
    host = urlsplit(site.base_url).netloc
    rows, warnings = [], []
    for entry in feed.entries:
        link = urljoin(page.url, entry.get("link", ""))
        if urlsplit(link).netloc != host:
            warnings.append(f"skipped an item linking off the forum: {link}")
            continue
        tid = tid_of(link)
        if tid is None:
            warnings.append(f"skipped an item that links to no thread: {link}")
            continue
        posted = _when(entry)
        rows.append(ThreadRow(tid=tid, title=entry.get("title", ""), url=thread_url(site, tid),
                              author=entry.get("author") or None, author_uid=None, posted_at=posted,
                              posted_precision=0, replies=None, views=None, last_post_at=None,
                              last_post_precision=0, last_poster=None))
    if not feed.entries:
        warnings.append("the feed lists no items")
    return ThreadListPage(fid=None, threads=rows, page=1, total_pages=1, next_page=None, warnings=warnings)
