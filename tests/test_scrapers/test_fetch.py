"""The fetch layer: retries with backoff, the server's clock, and never leaving the forum's host."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import httpx
import pytest

from scrapers.errors import FetchError, OffHostError, ScraperError, StopRequested
from scrapers.fetch import Fetcher, HostRateLimiter

BASE = "http://bbs.example.cn/"
DATE = "Thu, 31 Mar 2011 16:00:00 GMT"


def fetcher(handler, **kw) -> tuple[Fetcher, list[float]]:
    sleeps: list[float] = []
    f = Fetcher(BASE, transport=httpx.MockTransport(handler), rate_limit=0, backoff=0.5,
                sleep=sleeps.append, **kw)
    return f, sleeps


def test_retries_5xx_and_429_then_succeeds_with_backoff():
    answers = iter([httpx.Response(500), httpx.Response(429, headers={"Retry-After": "7"}),
                    httpx.Response(200, content=b"ok", headers={"Date": DATE})])
    f, sleeps = fetcher(lambda req: next(answers))
    page = f.get("forum.php?mod=forumdisplay&fid=2")
    assert page.body == b"ok" and page.url == BASE + "forum.php?mod=forumdisplay&fid=2"
    assert sleeps == [0.5, 7.0]  # exponential backoff, then the server's Retry-After
    assert f.stats.requests == 3 and f.stats.retries == 2
    assert page.server_now == datetime(2011, 3, 31, 16, 0, tzinfo=timezone.utc)


def test_timeouts_exhaust_retries_into_a_fetch_error():
    def handler(request):
        raise httpx.ReadTimeout("slow", request=request)
    f, sleeps = fetcher(handler, retries=2)
    with pytest.raises(FetchError, match="timed out.*after 3 attempts"):
        f.get(BASE)
    assert sleeps == [0.5, 1.0]


def test_404_prompt_pages_are_returned_not_raised():
    f, _ = fetcher(lambda req: httpx.Response(404, content=b"<div id='messagetext'>"))
    assert f.get(BASE + "forum.php?mod=viewthread&tid=9").status == 404


def test_never_requests_another_host():
    seen = []
    f, _ = fetcher(lambda req: seen.append(str(req.url)) or httpx.Response(200))
    with pytest.raises(OffHostError):
        f.get("http://evil.example.com/forum.php")
    with pytest.raises(OffHostError):
        f.get("https://bbs.example.cn/")  # another scheme is another origin
    assert seen == []


def test_redirect_off_host_is_refused_and_on_host_followed():
    def handler(request):
        if request.url.path == "/a":
            return httpx.Response(302, headers={"Location": "/b"})
        if request.url.path == "/b":
            return httpx.Response(301, headers={"Location": "http://ads.example.com/x"})
        return httpx.Response(200)
    f, _ = fetcher(handler)
    with pytest.raises(OffHostError, match="ads.example.com"):
        f.get(BASE + "a")
    assert f.stats.requests == 2


def test_rate_limiter_spaces_requests_per_host():
    sleeps: list[float] = []
    host = "http://rate-test.example"
    for _ in range(3):
        HostRateLimiter.wait(host, 2.0, sleeps.append)
    assert len(sleeps) == 2 and all(0.3 < s <= 1.0 for s in sleeps)


# ---- the stop event (SIGTERM): no wait outlives it ----------------------------------------------

def _set_later(stop: threading.Event, seconds: float = 0.2) -> threading.Timer:
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    return timer


def test_stop_requested_is_not_a_scraper_error():
    """The poller records ScraperError as a failed poll and skips a thread on FetchError; a stop is neither."""
    assert not issubclass(StopRequested, ScraperError) and not issubclass(StopRequested, FetchError)
    assert "not fetched" in str(StopRequested("http://bbs.example.cn/x"))


def test_stop_ends_a_retry_after_wait():
    seen = []
    def handler(request):
        seen.append(str(request.url))
        return httpx.Response(429, headers={"Retry-After": "60"})
    stop = threading.Event()
    f = Fetcher(BASE, transport=httpx.MockTransport(handler), rate_limit=0, stop=stop)
    timer = _set_later(stop)
    started = time.monotonic()
    try:
        with pytest.raises(StopRequested) as caught:
            f.get("forum.php?mod=forumdisplay&fid=2")
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10  # not the 60 s the server asked for
    assert caught.value.url == BASE + "forum.php?mod=forumdisplay&fid=2"
    assert len(seen) == 1 and f.stats.requests == 1 and f.stats.retries == 1


def test_stop_ends_a_backoff_wait():
    def handler(request):
        raise httpx.ConnectError("refused", request=request)
    stop = threading.Event()
    f = Fetcher(BASE, transport=httpx.MockTransport(handler), rate_limit=0, backoff=60, stop=stop)
    timer = _set_later(stop)
    started = time.monotonic()
    try:
        with pytest.raises(StopRequested):
            f.get(BASE)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10 and f.stats.requests == 1


def test_stop_ends_a_rate_limit_wait():
    stop = threading.Event()
    host = "http://rate-stop.example"
    HostRateLimiter.wait(host, 0.01, stop=stop)  # the first slot is now; the next one 100 s later
    timer = _set_later(stop)
    started = time.monotonic()
    try:
        with pytest.raises(StopRequested):
            HostRateLimiter.wait(host, 0.01, stop=stop)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10


def test_stop_ends_the_fetchers_politeness_wait_before_its_next_request():
    seen = []
    base = "http://polite-stop.example/"
    stop = threading.Event()
    f = Fetcher(base, transport=httpx.MockTransport(lambda req: seen.append(req.url) or httpx.Response(200)),
                rate_limit=0.01, stop=stop)
    assert f.get("a").status == 200  # the host's first slot is free
    timer = _set_later(stop)
    started = time.monotonic()
    try:
        with pytest.raises(StopRequested):
            f.get("b")  # its slot is 100 s away
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10 and len(seen) == 1 and f.stats.requests == 1


def test_stop_set_before_a_request_makes_no_request():
    seen = []
    stop = threading.Event()
    stop.set()
    f = Fetcher(BASE, transport=httpx.MockTransport(lambda req: seen.append(req.url) or httpx.Response(200)),
                rate_limit=0, stop=stop)
    with pytest.raises(StopRequested):
        f.get(BASE)
    with pytest.raises(StopRequested):
        f.post(BASE + "member.php?mod=logging&action=login", {"username": "u", "password": "secret"})
    assert seen == [] and f.stats.requests == 0


def test_an_unset_stop_event_lets_retries_run():
    answers = iter([httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"}),
                    httpx.Response(200, content=b"ok")])
    f = Fetcher(BASE, transport=httpx.MockTransport(lambda req: next(answers)), rate_limit=0, backoff=0.01,
                stop=threading.Event())
    assert f.get(BASE).body == b"ok" and f.stats.requests == 3 and f.stats.retries == 2
