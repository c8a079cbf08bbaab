"""Errors raised by the scrapers.

    ScraperError
    ├── FetchError          a page could not be fetched (carries url, reason)
    │   └── OffHostError    a URL leaves the forum's own host; never fetched
    ├── ParseError          a page was fetched but is not what the engine expects
    └── LoginError          the forum refused our login (carries its message, never the password)

    StopRequested           the process is stopping; deliberately *not* a ScraperError
"""
from __future__ import annotations


class ScraperError(Exception):
    """Base class of every scraper error."""


class FetchError(ScraperError):
    """A page could not be fetched after the allowed retries."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


class OffHostError(FetchError):
    """A URL points off the configured forum's host; it is never requested."""


class ParseError(ScraperError):
    """A page does not have the markup the engine expects."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class LoginError(ScraperError):
    """The forum refused the configured login."""

    def __init__(self, forum_id: str, username: str, message: str):
        super().__init__(f"login to {forum_id} as {username!r} refused: {message}")
        self.forum_id, self.username, self.message = forum_id, username, message


class StopRequested(Exception):
    """The stop event was set (SIGTERM, Ctrl-C): the fetcher gave up before a request or during a wait.

    Not a :class:`ScraperError` on purpose: it is no failure of the forum or of
    one page, so code that records a failed poll (``except ScraperError``) or
    skips one thread (``except FetchError``) lets it pass to whoever stops.
    """

    def __init__(self, url: str | None = None):
        super().__init__(f"stop requested; {url} not fetched" if url else "stop requested")
        self.url = url
