"""The generic engine, configured by selectors only, on a real forum engine nobody here wrote.

django-spirit (from PyPI) runs on 127.0.0.1 with users, topics and comments created
through its own models; spokeswatch polls it over HTTP and must store every thread,
post, author, uid and time (to the minute the pages show).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config import parse_config
from monitor.service import Service
from tests.helpers import ROOT
from tests.test_generic.spirit_site import SPOKESPERSON

TZ = ZoneInfo("Asia/Shanghai")

SELECTORS = """
    engine: generic
    generic:
      board_url: "category/{fid}/"
      thread_url: "topic/{tid}/"
      tid_pattern: "/topic/(\\\\d+)/"
      uid_pattern: "/user/(\\\\d+)/"
      time_formats: ["%Y年%m月%d日 %H:%M"]
      threads:
        row: ".layout__topics__topic"
        link: "a.topic__link@href"
        replies: ".topic__comments"
        replies_from: posts
        last_post_time: ".topic__date@title"
        next_page: "ul.paginator a:has(> i.fa-chevron-right)@href"
        empty: ".layout__topics p"
      posts:
        post: ".comments_list__comment"
        pid: "@data-pk"
        floor: "@data-number"
        author: "a.comment__info__username__link span"
        author_link: "a.comment__info__username__link@href"
        time: ".comment__info__date li[title]@title"
        body: ".comment__text"
        title: "h1.headline"
        next_page: "ul.paginator a:has(> i.fa-chevron-right)@href"
"""


# the same forum described in XPath only (lxml), as an operator used to XPath would write it
XPATH_SELECTORS = """
    engine: generic
    generic:
      board_url: "category/{fid}/"
      thread_url: "topic/{tid}/"
      tid_pattern: "/topic/(\\\\d+)/"
      uid_pattern: "/user/(\\\\d+)/"
      time_formats: ["%Y年%m月%d日 %H:%M"]
      threads:
        row: "//*[contains(concat(' ', @class, ' '), ' layout__topics__topic ')]"
        link: ".//a[contains(concat(' ', @class, ' '), ' topic__link ')]/@href"
        replies: ".//*[contains(concat(' ', @class, ' '), ' topic__comments ')]"
        replies_from: posts
        last_post_time: ".//*[contains(concat(' ', @class, ' '), ' topic__date ')]/@title"
        next_page: "//ul[contains(@class, 'paginator')]//a[i[contains(@class, 'fa-chevron-right')]]/@href"
        empty: "//*[contains(@class, 'layout__topics')]//p"
      posts:
        post: "//*[contains(concat(' ', @class, ' '), ' comments_list__comment ')]"
        pid: "@data-pk"
        floor: "@data-number"
        author: ".//a[contains(@class, 'comment__info__username__link')]//span"
        author_link: ".//a[contains(@class, 'comment__info__username__link')]/@href"
        time: ".//*[contains(@class, 'comment__info__date')]//li[@title]/@title"
        body: ".//*[contains(concat(' ', @class, ' '), ' comment__text ')]"
        title: "//h1[contains(@class, 'headline')]"
        next_page: "//ul[contains(@class, 'paginator')]//a[i[contains(@class, 'fa-chevron-right')]]/@href"
"""


# the same forum with user ids that are names: Spirit's profile links are /user/<pk>/<slug>/, and
# the slug of these users is their name (Chinese kept, percent-encoded in the link)
NAME_SELECTORS = SELECTORS.replace('uid_pattern: "/user/(\\\\d+)/"', 'uid_pattern: "/user/\\\\d+/([^/]+)/"')


def _config(spirit, db: str, selectors: str = SELECTORS, account: str | None = None):
    uid = spirit.data["users"][SPOKESPERSON]
    account = account or f"uid: {uid}"
    text = f"""
database: {db}
forums:
  - id: spirit
    name: Spirit 问政论坛
    base_url: {spirit.base_url}
    rate_limit: 0
{selectors}
    boards:
      - fid: {spirit.data["category"]}
        name: 网络问政
        kind: programme
units:
  - id: water
    name: 市水务局
    accounts:
      - {{forum: spirit, {account}}}
"""
    return parse_config(text, "spirit-config.yaml")


@pytest.mark.parametrize("selectors,names", [(SELECTORS, False), (XPATH_SELECTORS, False), (NAME_SELECTORS, True)],
                         ids=["css", "xpath", "name-ids"])
def test_every_thread_post_author_and_time_is_stored(spirit, tmp_path, selectors, names):
    """Every thread, post, author, user id, floor and time; with name ids, the spokesperson's account
    is given by its profile link and matched by the name the links carry."""
    account = f'profile: "user/{spirit.data["users"][SPOKESPERSON]}/{SPOKESPERSON}/"' if names else None
    svc = Service(_config(spirit, f"sqlite:///{tmp_path / 'db.sqlite3'}", selectors, account))
    [r] = svc.poll()
    assert r.status == "ok", (r.error, r.warnings[:5])
    from sqlalchemy import select

    from models.tables import PostRecord, ThreadRecord
    with svc.repo.session("t") as s:
        threads = {t.tid: t for t in s.scalars(select(ThreadRecord))}
        posts = {p.pid: p for p in s.scalars(select(PostRecord))}
    assert set(threads) == {t["pk"] for t in spirit.data["topics"]}
    expected = [c for t in spirit.data["topics"] for c in t["comments"]]
    assert set(posts) == {c["pk"] for c in expected}
    uids = spirit.data["users"]
    for topic in spirit.data["topics"]:
        t = threads[topic["pk"]]
        assert t.title == topic["title"] and t.posted_at is not None
        assert t.replies == len(topic["comments"]) - 1  # Spirit's list shows comments, the first included
        for floor, c in enumerate(topic["comments"], start=1):
            p = posts[c["pk"]]
            uid = c["user"] if names else str(uids[c["user"]])
            assert (p.author, p.author_uid, p.floor) == (c["user"], uid, floor)
            truth = datetime.fromisoformat(c["at"]).replace(tzinfo=TZ)
            assert abs(p.posted_at - truth) <= timedelta(seconds=p.posted_precision) and p.posted_precision == 30
            assert p.body == c["text"]
            assert (p.unit_id == "water") == (c["user"] == SPOKESPERSON)
    result = svc.check(datetime(2026, 12, 31, tzinfo=TZ))
    assert result.states["answered_in_time"] == 7 and result.states["overdue"] == 18
    [steady] = svc.poll()
    # nothing changed: one list page (two requests: Spirit redirects /category/N/ to its slugged URL)
    assert steady.threads_fetched == 0 and steady.list_pages == 1 and steady.requests == 2
    svc.close()


def test_a_selector_that_matches_nothing_is_reported_with_url_and_selector(spirit, tmp_path):
    broken = SELECTORS.replace('row: ".layout__topics__topic"', 'row: ".topic-row-renamed"')
    svc = Service(_config(spirit, f"sqlite:///{tmp_path / 'db.sqlite3'}", broken))
    [r] = svc.poll()
    svc.close()
    assert r.status == "failed"
    assert "selector threads.row '.topic-row-renamed' matched nothing" in r.error
    assert spirit.base_url in r.error
    half = SELECTORS.replace('author: "a.comment__info__username__link span"', 'author: "span.nickname"')
    svc = Service(_config(spirit, f"sqlite:///{tmp_path / 'db2.sqlite3'}", half))
    [r] = svc.poll()
    health = svc.digest().health
    svc.close()
    assert r.status == "partial"
    assert any("selector posts.author 'span.nickname' matched nothing" in w for w in r.warnings)
    assert health[0]["status"] == "partial"  # the digest's health section says so too
    assert any("span.nickname" in w for w in health[0]["warnings"])


def test_probe_reports_what_the_selectors_find(spirit, tmp_path):
    import subprocess
    import sys
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database: sqlite:///{tmp_path / 'p.sqlite3'}\nforums:\n  - id: spirit\n    name: s\n"
                   f"    base_url: {spirit.base_url}\n{SELECTORS}\n    boards: [{{fid: {spirit.data['category']}}}]\n",
                   "utf-8")
    topic = spirit.data["topics"][7]["pk"]
    r = subprocess.run([sys.executable, "-m", "monitor", "probe", f"{spirit.base_url}topic/{topic}/", "--json",
                        "-c", str(cfg), "--forum", "spirit"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    import json
    data = json.loads(r.stdout)
    assert data["engine"] == "generic" and data["kind"] == "thread" and len(data["posts"]) == 20
    assert data["next_page"] and data["posts"][0]["author"] == "荆门老张"
    # the plain output, as README step 1 asks the operator to read it: rows, the next page, warnings
    board = f"{spirit.base_url}category/{spirit.data['category']}/"
    half = SELECTORS.replace('last_post_time: ".topic__date@title"', 'last_post_time: ".topic__when@title"')
    cfg.write_text(cfg.read_text("utf-8").replace(SELECTORS, half), "utf-8")
    r = subprocess.run([sys.executable, "-m", "monitor", "probe", board, "-c", str(cfg), "--forum", "spirit"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    newest = max(spirit.data["topics"], key=lambda t: t["comments"][-1]["at"])
    assert f"tid {newest['pk']:>8}  {len(newest['comments']) - 1:>5} replies" in r.stdout
    assert "page 1; next page: http://" in r.stdout and "page=2" in r.stdout
    assert "warning: " in r.stdout and "threads.last_post_time '.topic__when@title' matched nothing" in r.stdout
