"""A real forum whose pages render from its JSON API: Misago (from PyPI) read with ``format: json``.

Misago's pages are a React app over a REST API, so its HTML holds no threads; spokeswatch
reads the API with JMESPath only. The thread list pages by a cursor (``next`` → ``&start=``),
a thread's posts by number with the last post of a page repeated first on the next, times are
ISO 8601 with microseconds or not. Every thread, post, author, user id, floor and time must be
stored exactly, and poll → check → bulletin must give the figures the spec implies — with
numeric user ids, and with name ids (profile slugs) and an account given by its profile link.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models.tables import PostRecord, ThreadRecord
from monitor.config import parse_config
from monitor.periods import parse_period
from monitor.service import Service
from tests.helpers import ROOT
from tests.test_generic.misago_site import LONG, SPOKESPERSON, sample_spec as _spec

TZ = ZoneInfo("Asia/Shanghai")
GENERIC = """
    engine: generic
    generic:
      format: json
      board_url: "api/threads/?category={fid}"
      board_next_url: "api/threads/?category={fid}&start={next}"   # the list pages by a cursor
      thread_url: "api/threads/{tid}/posts/?page={page}"
      threads:
        row: results
        tid: id
        link: url.index
        title: title
        author: starter_name
        %(list_uid)s
        time: started_on
        replies: replies
        last_post_time: last_post_on
        last_poster: last_poster_name
        sticky: "weight > `0`"
        next_page: next
      posts:
        post: post_set.results
        pid: id
        author: poster_name
        %(post_uid)s
        time: posted_on
        body: content
        posts_before: post_set.before
        title: title
        replies: replies
        category: category.name
        page: post_set.page
        pages: post_set.pages
        next_page: post_set.next
"""
NUMERIC = GENERIC % {"list_uid": "uid: starter.id", "post_uid": "uid: poster.id"}
# user ids that are names: the profile links' slugs (/u/<slug>/<id>/)
NAMES = (GENERIC % {"list_uid": "author_link: url.starter", "post_uid": "author_link: poster.url"}).replace(
    "      threads:", '      uid_pattern: "/u/([^/]+)/"\n      threads:', 1)


def _config(misago, db: str, generic: str, account: str):
    return parse_config(f"""
database: {db}
forums:
  - id: misago
    name: Misago 问政
    base_url: {misago.base_url}
    rate_limit: 0
{generic}
    boards:
      - {{fid: {misago.data["category"]}, name: 网络问政, kind: programme}}
units:
  - id: water
    name: 市水务局
    accounts:
      - {{forum: misago, {account}}}
""", "misago-config.yaml")


def _stored(svc):
    with svc.repo.session("t") as s:
        return ({t.tid: t for t in s.scalars(select(ThreadRecord))},
                {p.pid: p for p in s.scalars(select(PostRecord))})


@pytest.mark.parametrize("names", [False, True], ids=["numeric-ids", "name-ids"])
def test_every_thread_and_post_is_stored_exactly(misago, tmp_path, names):
    spec, data = _spec(), misago.data
    speaker = data["users"][SPOKESPERSON]
    account = f'profile: "u/{speaker["slug"]}/{speaker["id"]}/"' if names else f"uid: {speaker['id']}"
    svc = Service(_config(misago, f"sqlite:///{tmp_path / 'db.sqlite3'}", NAMES if names else NUMERIC, account),
                  clock=lambda: datetime(2026, 12, 1, tzinfo=TZ))
    [r] = svc.poll()
    assert r.status == "ok", (r.error, r.warnings[:5])
    assert r.list_pages == 2  # the cursor was followed to the end
    threads, posts = _stored(svc)
    assert set(threads) == {t["id"] for t in data["threads"]}
    for made, source in zip(data["threads"], spec["threads"]):
        t = threads[made["id"]]
        assert t.title == source["title"]  # "&" and "<…>" as written, not escaped
        assert t.replies == len(source["posts"]) - 1
        assert t.url == f"{misago.base_url}t/{made['slug']}/{made['id']}/"
        for floor, (post, src) in enumerate(zip(made["posts"], source["posts"]), start=1):
            p = posts[post["id"]]
            user = data["users"][src["user"]]
            assert (p.author, p.author_uid, p.floor) == (src["user"], user["slug"] if names else str(user["id"]), floor)
            assert p.posted_at == datetime.fromisoformat(src["at"]).replace(tzinfo=TZ) and p.posted_precision == 0
            assert p.body == src["text"]
            assert (p.unit_id == "water") == (src["user"] == SPOKESPERSON)
    assert len(posts) == sum(len(t["posts"]) for t in spec["threads"])  # the repeated post stored once

    result = svc.check(datetime(2026, 12, 1, tzinfo=TZ))
    answered = sum(1 for n in range(len(spec["threads"])) if n % 4 == 0 or n == LONG)
    assert result.states["answered_in_time"] == answered
    assert result.states["overdue"] == len(spec["threads"]) - answered
    b = svc.bulletin(parse_period("2026-11"), as_of=datetime(2026, 12, 1, tzinfo=TZ))
    assert (b.received, b.answered_in_time, b.unanswered) == (len(spec["threads"]), answered,
                                                              len(spec["threads"]) - answered)
    [steady] = svc.poll()
    assert steady.threads_fetched == 0 and steady.list_pages == 1 and steady.requests == 1
    svc.close()


def test_probe_shows_the_cursor_page_and_a_thread(misago, tmp_path):
    data = misago.data
    cfg = tmp_path / "config.yaml"
    speaker = data["users"][SPOKESPERSON]
    cfg.write_text(f"""
database: sqlite:///{tmp_path / 'p.sqlite3'}
forums:
  - id: misago
    name: Misago
    base_url: {misago.base_url}
{NUMERIC}
    boards: [{{fid: {data["category"]}}}]
units:
  - {{id: water, name: 市水务局, accounts: [{{forum: misago, uid: {speaker['id']}}}]}}
""", "utf-8")
    board = f"{misago.base_url}api/threads/?category={data['category']}#fid={data['category']}&page=1"
    out = subprocess.run([sys.executable, "-m", "monitor", "probe", board, "-c", str(cfg), "--forum", "misago"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"api/threads/?category={data['category']}&start=" in out.stdout and "page 1; next page:" in out.stdout
    long = data["threads"][LONG]
    out = subprocess.run([sys.executable, "-m", "monitor", "probe",
                          f"{misago.base_url}api/threads/{long['id']}/posts/?page=2#tid={long['id']}&page=2",
                          "-c", str(cfg), "--forum", "misago", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert (r["page"], r["total_pages"], r["next_page"]) == (2, 2, None)
    assert r["posts"][0]["pid"] == long["posts"][17]["id"] and r["posts"][0]["floor"] == 18
    assert r["posts"][-1]["author"] == SPOKESPERSON and r["warnings"] == []
