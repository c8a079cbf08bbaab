"""The interface every engine module offers, and a helper to build its three parse functions.

An engine module has ``NAME``, ``board_url``, ``thread_url``, ``tid_from_url``,
``parse_thread_list``, ``parse_thread`` and ``parse_page`` (and optionally ``feed_url``,
``profile_url``). Engines whose one ``_parse(page, site, want)`` picks the page's kind
get the three parse functions from :func:`kind_parsers`.
"""
from __future__ import annotations

from collections.abc import Callable

from scrapers.records import ParsedPage, Site

KindParse = Callable[[object, Site, "str | None"], ParsedPage]


def kind_parsers(parse: KindParse):
    """(parse_thread_list, parse_thread, parse_page) over ``parse(page, site, want)``."""

    def parse_thread_list(page, site: Site) -> ParsedPage:
        """A board page: its thread rows and the next page (or a prompt page)."""
        return parse(page, site, "thread_list")

    def parse_thread(page, site: Site) -> ParsedPage:
        """A thread page: its posts and the next page (or a prompt page)."""
        return parse(page, site, "thread")

    def parse_page(page, site: Site) -> ParsedPage:
        """Whatever the page is: a board list, a thread, or a prompt."""
        return parse(page, site, None)

    return parse_thread_list, parse_thread, parse_page
