"""The one HTTP layer every engine fetches through.

Politeness (a per-host minimum interval), retries with exponential backoff on
timeouts, connection errors, 5xx and 429 (honouring Retry-After), the
server's clock from the Date header, and a hard rule: no request ever leaves
the forum's own host, redirects included. Tests pass an ``httpx.MockTransport``.

Given a stop event, every wait here (the politeness interval, a backoff, a
``Retry-After``) ends as soon as it is set, and the fetcher raises
:class:`~scrapers.errors.StopRequested` instead of making another request. A
request already on the wire still runs to its own timeout.
"""
from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from loguru import logger

from scrapers.errors import FetchError, OffHostError, StopRequested
from scrapers.records import Page

_RETRY_STATUSES = {429, 500, 502, 503, 504}
_MAX_REDIRECTS = 5


class HostRateLimiter:
    """Keeps requests to one host at least ``1 / rate`` seconds apart, across threads."""

    _lock = threading.Lock()
    _next_slot: dict[str, float] = {}

    @classmethod
    def reserve(cls, host: str, rate: float) -> float:
        """Take this host's next slot; return how many seconds to wait for it."""
        if rate <= 0:
            return 0.0
        with cls._lock:
            now = time.monotonic()
            slot = max(now, cls._next_slot.get(host, 0.0))
            cls._next_slot[host] = slot + 1.0 / rate
        return slot - now

    @classmethod
    def wait(cls, host: str, rate: float, sleep: Callable[[float], None] = time.sleep,
             stop: threading.Event | None = None) -> None:
        """Wait for this host's next slot; with ``stop``, raise StopRequested as soon as it is set."""
        _pause(cls.reserve(host, rate), sleep, stop)


def _pause(delay: float, sleep: Callable[[float], None], stop: threading.Event | None,
           url: str | None = None) -> None:
    """Wait ``delay`` seconds: with ``sleep`` when there is no stop event, else on the event,
    raising StopRequested when it is (or gets) set."""
    if stop is None:
        if delay > 0:
            sleep(delay)
        return
    stopped = stop.wait(delay) if delay > 0 else stop.is_set()
    if stopped:
        raise StopRequested(url)


@dataclass
class FetchStats:
    """Requests made by one fetcher, for poll results and benchmarks."""

    requests: int = 0
    retries: int = 0
    bytes: int = 0


_SSL_CONTEXT: ssl.SSLContext | None = None
_SSL_LOCK = threading.Lock()


def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every fetcher: building one (loading the CA bundle) costs ~40 ms of
    CPU, which a daemon polling hundreds of forums a minute paid at every poll."""
    global _SSL_CONTEXT
    with _SSL_LOCK:
        if _SSL_CONTEXT is None:
            _SSL_CONTEXT = httpx.create_ssl_context()
        return _SSL_CONTEXT


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Fetcher:
    """Fetches pages from one forum's host only."""

    def __init__(self, base_url: str, *, user_agent: str = "spokeswatch/0.1",
                 rate_limit: float = 1.0, timeout: float = 20.0, retries: int = 3,
                 backoff: float = 1.0, cookies: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 stop: threading.Event | None = None):
        """``stop``: when set, waits end at once and StopRequested is raised (before any further
        request too). Without it, waits go through ``sleep`` (tests inject one that records)."""
        self.base_url = base_url
        self.host = _host(base_url)
        self.rate_limit = rate_limit
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.stop = stop
        self.stats = FetchStats()
        self._client = httpx.Client(headers={"User-Agent": user_agent}, timeout=timeout,
                                    cookies=cookies, transport=transport, verify=_ssl_context(),
                                    follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check_url(self, url: str) -> str:
        """Return ``url`` resolved against the forum, or raise OffHostError."""
        absolute = urljoin(self.base_url, url)
        if _host(absolute) != self.host:
            raise OffHostError(absolute, f"not on the forum's host {self.host}; not fetched")
        return absolute

    def get(self, url: str) -> Page:
        """GET a page (following on-host redirects); raise FetchError when it cannot."""
        return self._fetch("GET", url)

    def request(self, method: str, url: str, *, content: bytes | None = None,
                headers: dict[str, str] | None = None) -> Page:
        """GET or POST one page with a body and headers of its own (a JSON API's endpoint)."""
        return self._fetch(method, url, content=content, headers=headers)

    def post(self, url: str, form: dict[str, str]) -> Page:
        """POST a form (a login); redirects after it are followed with GET, on this host only.

        Form values never appear in errors or logs: they may hold a password."""
        return self._fetch("POST", url, form)

    @property
    def cookies(self) -> dict[str, str]:
        return {c.name: c.value for c in self._client.cookies.jar}

    def set_cookies(self, cookies: dict[str, str]) -> None:
        for name, value in cookies.items():
            self._client.cookies.set(name, value)

    def clear_cookies(self) -> None:
        self._client.cookies.clear()

    def _fetch(self, method: str, url: str, form: dict[str, str] | None = None, *,
               content: bytes | None = None, headers: dict[str, str] | None = None) -> Page:
        url = self.check_url(url)
        asked = urldefrag(url).fragment  # never sent; it stays with the page (a JSON forum's page number)
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._send_with_retries(method, url, form, content, headers)
            if response.is_redirect and "location" in response.headers:
                url = self.check_url(urljoin(url, response.headers["location"]))
                if asked and not urldefrag(url).fragment:
                    url = f"{url}#{asked}"
                if response.status_code not in (307, 308):  # those repeat the request as it was
                    method, form, content = "GET", None, None
                continue
            return Page(url=url, body=response.content, server_now=_server_now(response),
                        status=response.status_code,
                        content_type=response.headers.get("content-type"))
        raise FetchError(url, f"more than {_MAX_REDIRECTS} redirects")

    def _send_with_retries(self, method: str, url: str, form: dict[str, str] | None,
                           content: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        attempt = 0
        while True:
            # also checks the stop event when there is nothing to wait for
            _pause(HostRateLimiter.reserve(self.host, self.rate_limit), self.sleep, self.stop, url)
            self.stats.requests += 1
            try:
                response = self._client.request(method, url, data=form, content=content, headers=headers)
                self.stats.bytes += len(response.content)
                if response.status_code not in _RETRY_STATUSES:
                    return response
                reason, status = f"HTTP {response.status_code}", response.status_code
                delay = _retry_after(response)
            except httpx.TimeoutException as exc:
                reason, status, delay = f"timed out ({exc.__class__.__name__})", None, None
            except httpx.TransportError as exc:
                reason, status, delay = f"connection failed ({exc})", None, None
            if attempt >= self.retries:
                raise FetchError(url, f"{reason} after {attempt + 1} attempts", status)
            delay = min(delay if delay is not None else self.backoff * 2 ** attempt, 300.0)
            logger.warning("fetch {} failed ({}); retry {} in {:.1f}s", url, reason, attempt + 1, delay)
            self.stats.retries += 1
            attempt += 1
            _pause(delay, self.sleep, self.stop, url)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def _server_now(response: httpx.Response) -> datetime:
    """The server's clock (Date header); relative times on the page count from it."""
    try:
        return parsedate_to_datetime(response.headers["date"]).astimezone(timezone.utc)
    except (KeyError, TypeError, ValueError):
        return datetime.now(timezone.utc)
