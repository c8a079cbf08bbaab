"""A board that shows rounded relative times ("1 week ago" for 6 days), read by the generic engine.

The list's rounded text must give a window holding the true time, and the thread page's exact
time must replace it in the store — whatever order the pages are read in.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models.tables import PostRecord, ThreadRecord
from monitor.config import parse_config
from monitor.service import Service
from tests.test_generic.local_server import page_map_handler, serving

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=TZ)
# tid, shown on the list (rounded to the nearest unit, as moment.js-style forums do), true age
THREADS = [(1, "1 week ago", timedelta(days=6, hours=2)), (2, "2 weeks ago", timedelta(days=11)),
           (3, "a month ago", timedelta(days=40)), (4, "3 hours ago", timedelta(hours=2, minutes=40))]


def _pages() -> dict[str, str]:
    rows = "".join(f"<li class='t'><a href='/t/{tid}'>问题{tid}</a><time>{shown}</time>"
                   f"<span class='n'>1 post</span></li>" for tid, shown, _ in THREADS)
    pages = {"/board/1": f"<html><body><ul>{rows}</ul></body></html>"}
    for tid, _, age in THREADS:
        at = (NOW - age).strftime("%Y-%m-%d %H:%M:%S")
        pages[f"/t/{tid}"] = (f"<html><body><article class='p' data-id='{tid * 10}'><b>网友{tid}</b>"
                              f"<time>{at}</time><div class='b'>内容{tid}</div></article></body></html>")
    return pages


@pytest.fixture
def board():
    pages = _pages()

    server_clock = format_datetime(NOW.astimezone(timezone.utc), usegmt=True)  # relative times count from it
    with serving(page_map_handler(pages, date=lambda: server_clock)) as base:
        yield base


def _config(base: str, db: str, with_thread_times: bool):
    time = 'time: "time"' if with_thread_times else ""
    return parse_config(f"""
database: {db}
forums:
  - id: rounded
    name: rounded
    base_url: {base}
    rate_limit: 0
    engine: generic
    generic:
      board_url: "board/{{fid}}"
      thread_url: "t/{{tid}}"
      tid_pattern: "/t/(\\\\d+)"
      time_formats: ["%Y-%m-%d %H:%M:%S"]
      threads:
        row: "li.t"
        link: "a@href"
        time: "time"
        replies: "span.n"
        replies_from: posts
      posts:
        post: "article.p"
        pid: "@data-id"
        author: "b"
        {time}
        body: "div.b"
    boards:
      - {{fid: 1, name: b}}
""")


@pytest.mark.parametrize("with_thread_times", [False, True], ids=["list-only", "thread-page-exact"])
def test_rounded_list_times_hold_the_true_time_and_the_thread_page_wins(board, tmp_path, with_thread_times):
    svc = Service(_config(board, f"sqlite:///{tmp_path / 'db.sqlite3'}", with_thread_times), clock=lambda: NOW)
    [r] = svc.poll()
    assert r.status == "ok", (r.error, r.warnings)
    with svc.repo.session("t") as s:
        threads = {t.tid: t for t in s.scalars(select(ThreadRecord))}
        posts = {p.pid: p for p in s.scalars(select(PostRecord))}
    svc.close()
    for tid, shown, age in THREADS:
        t, truth = threads[tid], NOW - age
        assert t.replies == 0  # "1 post" is the opening post alone
        if with_thread_times:
            assert t.posted_at == truth and t.posted_precision == 0, shown  # the exact time replaced the window
            assert posts[tid * 10].posted_at == truth
        else:
            assert abs(t.posted_at - truth) <= timedelta(seconds=t.posted_precision), shown
