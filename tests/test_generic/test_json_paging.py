"""A JSON forum whose paging misbehaves: a thread API that answers "there is more" for ever.

The poll must end, store the posts once, say what happened, and mark the thread read.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from models.tables import PostRecord, ThreadRecord
from monitor.config import parse_config
from monitor.service import Service
from tests.test_generic.local_server import QuietHandler, serving

POSTS = [{"id": 11, "who": "网友甲", "at": "2026-11-02T09:00:00+08:00", "text": "路灯不亮"},
         {"id": 12, "who": "城管发言人", "at": "2026-11-02T10:00:00+08:00", "text": "已修复"}]


@pytest.fixture
def endless():
    asked: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self):  # noqa: N802
            asked.append(self.path)
            if self.path.startswith("/api/board"):
                data = {"rows": [{"id": 5, "title": "路灯", "n": 1}], "cursor": None}
            else:  # every page of the thread: the same posts, and "more after this"
                data = {"posts": POSTS, "cursor": "again"}
            self.send_body(200, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json")

    with serving(Handler) as base:
        yield base, asked


def test_a_cursor_that_never_ends_stops_at_the_first_page_of_nothing_new(endless, tmp_path):
    base, asked = endless
    svc = Service(parse_config(f"""
database: sqlite:///{tmp_path / 'db.sqlite3'}
forums:
  - id: endless
    name: endless
    base_url: {base}
    rate_limit: 0
    engine: generic
    generic:
      format: json
      board_url: "api/board?fid={{fid}}"
      thread_url: "api/thread?tid={{tid}}"
      thread_next_url: "api/thread?tid={{tid}}&after={{next}}"
      threads: {{row: rows, tid: id, title: title, replies: n, next_page: cursor}}
      posts: {{post: posts, pid: id, author: who, time: at, body: text, next_page: cursor}}
    boards:
      - {{fid: 1, name: b}}
"""))
    [r] = svc.poll()
    with svc.repo.session("t") as s:
        thread = s.scalars(select(ThreadRecord)).one()
        posts = [(p.pid, p.floor) for p in s.scalars(select(PostRecord).order_by(PostRecord.pid))]
    svc.close()
    assert r.status in ("ok", "partial"), r.error
    assert sum(1 for a in asked if a.startswith("/api/thread")) == 2  # the first page and one repeat, no more
    assert any("a next page of posts already read" in w for w in r.warnings)
    assert posts == [(11, 1), (12, 2)] and not thread.read_pending


def test_a_thread_without_floors_read_from_a_later_page_numbers_its_new_posts_from_there(tmp_path):
    """Posts carry no floor: the first read numbers them 1, 2, … across the pages; a later poll
    starts at the page that can hold new posts and numbers them on from that page's place."""
    posts = [{"id": 100 + n, "who": f"网友{n}", "at": f"2026-11-02T{8 + n:02d}:00:00+08:00", "text": f"第{n}帖"}
             for n in range(1, 6)]
    asked: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self):  # noqa: N802
            asked.append(self.path)
            if self.path.startswith("/api/board"):
                data = {"rows": [{"id": 5, "title": "路灯", "n": len(posts) - 1}]}
            else:
                page = int(self.path.rsplit("page=", 1)[1])
                data = {"posts": posts[(page - 1) * 2: page * 2], "page": page, "pages": -(-len(posts) // 2)}
            self.send_body(200, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json")

    with serving(Handler) as base:
        svc = Service(parse_config(f"""
database: sqlite:///{tmp_path / 'db.sqlite3'}
forums:
  - id: paged
    name: paged
    base_url: {base}
    rate_limit: 0
    posts_per_page: 2
    engine: generic
    generic:
      format: json
      board_url: "api/board?fid={{fid}}"
      thread_url: "api/thread?tid={{tid}}&page={{page}}"
      threads: {{row: rows, tid: id, title: title, replies: n}}
      posts: {{post: posts, pid: id, author: who, time: at, body: text, page: page, pages: pages}}
    boards:
      - {{fid: 1, name: b}}
"""))
        first = svc.poll()[0]
        posts.append({"id": 106, "who": "城管发言人", "at": "2026-11-03T09:00:00+08:00", "text": "已修复"})
        asked.clear()
        second = svc.poll()[0]
        with svc.repo.session("t") as s:
            stored = [(p.pid, p.floor) for p in s.scalars(select(PostRecord).order_by(PostRecord.pid))]
        svc.close()
    assert first.status == "ok" and second.status == "ok", (first.warnings, second.warnings)
    assert [a for a in asked if a.startswith("/api/thread")] == ["/api/thread?tid=5&page=3"]
    assert stored == [(100 + n, n) for n in range(1, 7)]
