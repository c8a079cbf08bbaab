"""The phpwind engine against pages served by a real phpwind 8.7 (20110913).

The pages, their headers and the values stored in the engine's database are in
tests/fixtures/phpwind87-real/ (its README says how they were made). Every expected
value here comes from ground_truth.json: the stored rows (users, threads, posts) and
what each page shows. Thread pages carry each post's time to the second in a title
attribute, so a post's time must be the stored time exactly; a board row's start day
(``Y-m-d``) must be the stored day (read as noon, ±12 h) and its last post must fall
within the precision read (the title shows the minute, "35秒前" the second).
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from scrapers import detect_engine, phpwind
from scrapers.records import Page, Site, user_id
from tests.test_generic.local_server import page_map_handler, serving

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "fixtures" / "phpwind87-real"
TZ = ZoneInfo("Asia/Shanghai")
LISTS = ["thread_fid3_page1.html", "thread_fid3_page2.html", "thread_fid3_type1.html"]
THREADS = [name for name in sorted(p.name for p in REAL.glob("read_tid*.html"))
           if not name.endswith(("_deleted.html", "_missing.html", "_prompt.html"))]
PROMPTS = {"read_tid8_deleted.html": "not_found", "read_tid999_missing.html": "not_found",
           "read_tid1_guest_prompt.html": "login_required", "thread_fid2_guest_prompt.html": "login_required"}


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((REAL / "ground_truth.json").read_text("utf-8"))


def base(truth: dict) -> str:
    return truth["base_url"]


def site(truth: dict) -> Site:
    return Site(base(truth))


def load(name: str, truth: dict, url: str | None = None) -> Page:
    shown = truth["pages"][name]
    return Page(url or base(truth) + shown["url"], (REAL / name).read_bytes(), captured_at(truth, name),
                status=shown["status"], content_type="text/html; charset=utf-8")


def captured_at(truth: dict, name: str) -> datetime:
    return utc(truth["pages"][name]["capture"]["unix_start"])


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def shown_day(ts: int) -> datetime:
    """A stored time as a ``Y-m-d`` list cell shows it: its day in the site's zone, read as noon."""
    return datetime.combine(utc(ts).astimezone(TZ).date(), time(12), tzinfo=TZ).astimezone(timezone.utc)


def threads_of(truth: dict) -> dict[int, dict]:
    return {t["tid"]: t for t in truth["threads"]}


def posts_of(truth: dict) -> dict[tuple[int, str], dict]:
    """Stored posts by (tid, pid as the page names it: "tpc" for the opening post)."""
    return {(p["tid"], str(p["pid"])): p for p in truth["posts"]}


def pid_of(tid: int, shown_pid) -> int:
    return -tid if shown_pid == "tpc" else int(shown_pid)


def views_shown(truth: dict, name: str, tid: int) -> int:
    """The hits a thread page shows: phpwind counts each view, so the value before the capture
    plus the pages of that thread fetched before this one."""
    before = [n for n, p in truth["pages"].items() if n.startswith("read_") and phpwind.tid_from_url(p["url"]) == tid
              and p["capture"]["unix_start"] < truth["pages"][name]["capture"]["unix_start"]]
    return threads_of(truth)[tid]["hits_before_capture"] + len(before)


# ---- board lists ----------------------------------------------------------

@pytest.mark.parametrize("name", LISTS)
def test_board_rows_match_the_stored_threads(name, truth):
    page = load(name, truth)
    parsed = phpwind.parse_thread_list(page, site(truth))
    shown = truth["pages"][name]
    stored = threads_of(truth)
    assert parsed.kind == "thread_list" and parsed.fid == 3
    assert [r.tid for r in parsed.threads] == shown["thread_tids_in_order"]
    last_links = {e["tid"]: e for e in shown["board_lastpost_links"]}
    for row in parsed.threads:
        t = stored[row.tid]
        assert row.title == t["subject"] and row.url == f"{base(truth)}read.php?tid={row.tid}"
        assert (row.author, row.author_uid) == (t["author"], user_id(t["authorid"]))
        assert (row.replies, row.views) == (t["replies"], t["hits_before_capture"])  # boards were fetched first
        assert row.last_poster == t["lastposter"]
        assert (row.posted_at, row.posted_precision) == (shown_day(t["postdate"]), 12 * 3600)
        # the last post: within what was read, never less precise than the title's minute
        assert row.last_post_precision <= 30
        assert abs(row.last_post_at - utc(t["lastpost"])) <= timedelta(seconds=row.last_post_precision + 1)
        assert f"{row.last_post_at.astimezone(TZ):%Y-%m-%d %H:%M}" == last_links[row.tid]["title"]
        assert row.sticky == bool(t["topped"])
        assert (row.category, row.category_id) == (None, None)  # rows carry no 主题分类 unless prefixed
    assert parsed.warnings == [] and parsed.complete


def test_every_relative_last_post_form_is_read(truth):
    """35秒前, 41分钟前, 3/6/21小时前 (hours rounded up: the title's minute decides), 前天 21:51, 11-29."""
    shown = truth["pages"]["thread_fid3_page1.html"]["board_lastpost_links"]
    forms = {e["text"] for e in shown}
    assert {"35秒前", "41分钟前", "3小时前", "6小时前", "21小时前", "前天 21:51", "11-29"} <= forms
    parsed = phpwind.parse_thread_list(load("thread_fid3_page1.html", truth), site(truth))
    by_tid = {r.tid: r for r in parsed.threads}
    seconds = by_tid[16]  # 35秒前: read to the second, not only to the title's minute
    assert seconds.last_post_precision <= 1
    assert abs(seconds.last_post_at - utc(threads_of(truth)[16]["lastpost"])) <= timedelta(seconds=1)


def test_topped_rows_and_the_board_pages(truth):
    first = phpwind.parse_thread_list(load("thread_fid3_page1.html", truth), site(truth))
    assert [r.tid for r in first.threads if r.sticky] == [t["tid"] for t in truth["threads"]
                                                          if t["topped"] and t["fid"] == 3]
    assert (first.page, first.total_pages, first.next_page) == (1, 2, f"{base(truth)}thread.php?fid=3&page=2")
    last = phpwind.parse_thread_list(load("thread_fid3_page2.html", truth), site(truth))
    assert (last.page, last.total_pages, last.next_page) == (2, 2, None)
    per_page = truth["settings"]["fid3_forumset_threadnum"]
    listed = [t for t in truth["threads"] if t["fid"] == 3]
    assert len(first.threads) == per_page and len(first.threads) + len(last.threads) == len(listed)
    only = phpwind.parse_thread_list(load("thread_fid3_type1.html", truth), site(truth))
    assert (only.page, only.total_pages, only.next_page) == (1, 1, None)
    assert {r.tid for r in only.threads} == {t["tid"] for t in listed if t["type"] == 1}


def test_the_forum_index_is_not_a_thread_list(truth):
    """index.php shows boards (fid 3: its threads, posts and last post), not threads: the engine
    polls the boards themselves and says so rather than reading the index as a board."""
    from scrapers.errors import ParseError

    with pytest.raises(ParseError, match="neither a phpwind board list"):
        phpwind.parse_page(load("index.html", truth), site(truth))


# ---- thread pages -----------------------------------------------------------

@pytest.mark.parametrize("name", THREADS)
def test_thread_posts_match_the_stored_posts(name, truth):
    page = load(name, truth)
    parsed = phpwind.parse_thread(page, site(truth))
    shown = truth["pages"][name]
    tid = phpwind.tid_from_url(page.url)
    thread, stored = threads_of(truth)[tid], posts_of(truth)
    assert parsed.kind == "thread" and parsed.tid == tid
    assert [p.pid for p in parsed.posts] == [pid_of(tid, e["pid"]) for e in shown["posts_in_order"]]
    for post, e, span in zip(parsed.posts, shown["posts_in_order"], shown["post_time_spans"]):
        s = stored[(tid, str(e["pid"]))]
        assert post.floor == s["floor"] + 1  # 0楼 is floor 1 here
        assert (post.author, post.author_uid) == (s["author"], user_id(s["authorid"]))
        assert (post.posted_at, post.posted_precision) == (utc(s["postdate"]), 0)  # the title's second
        assert f"{post.posted_at.astimezone(TZ):%Y-%m-%d %H:%M:%S}" == span["title"] == s["postdate_bj"]
        assert post.body == s["content"]
        assert post.edit_note is None and s["alterinfo"] == ""  # 8.7 left no edit note
    page_no = phpwind.page_number(page.url)
    per_page = truth["settings"]["fid3_forumset_readnum"]
    pages = -(-(thread["replies"] + 1) // per_page)
    assert (parsed.page, parsed.total_pages) == (page_no, pages)
    assert parsed.next_page == (f"{base(truth)}read.php?tid={tid}&page={page_no + 1}" if page_no < pages else None)
    category = next((ty["name"] for ty in truth["topic_types"] if ty["id"] == thread["type"]), None)
    assert (parsed.title, parsed.category) == (thread["subject"], category)  # on every page in 8.7
    assert (parsed.views, parsed.replies) == (views_shown(truth, name, tid), thread["replies"])
    assert parsed.warnings == [] and parsed.complete


def test_every_post_of_a_long_thread_is_read_across_its_pages(truth):
    """Following the parser's own next-page links from page 1 reads all 13 posts of tid 6,
    the named floors 沙发 板凳 地板 地下室 and then 5楼 … 12楼 each at its place."""
    by_url = {base(truth) + p["url"]: n for n, p in truth["pages"].items() if n.startswith("read_tid6_")}
    url, seen = phpwind.thread_url(site(truth), 6), []
    while url:
        parsed = phpwind.parse_thread(load(by_url[url], truth, url), site(truth))
        seen += parsed.posts
        url = parsed.next_page
    stored = sorted((p for p in truth["posts"] if p["tid"] == 6), key=lambda p: p["floor"])
    assert [p.pid for p in seen] == [pid_of(6, p["pid"]) for p in stored]
    assert [p.floor for p in seen] == list(range(1, 14))
    labels = [e["floor_label"] for n in sorted(by_url.values()) for e in truth["pages"][n]["posts_in_order"]]
    assert labels[:6] == ["0楼", "沙发", "板凳", "地板", "地下室", "5楼"]


def test_every_relative_post_time_form_is_read_to_the_second(truth):
    """The span's text is friendly (37秒前, 4分钟前, 3小时前, 昨天 21:51, 前天 17:51, 11-29);
    its title has the second, and the title wins."""
    forms = {span["text"] for p in truth["pages"].values() for span in p.get("post_time_spans", [])}
    assert {"37秒前", "4分钟前", "3小时前", "昨天 21:51", "前天 17:51", "11-29"} <= forms
    for name in THREADS:
        parsed = phpwind.parse_thread(load(name, truth), site(truth))
        assert all(p.posted_precision == 0 for p in parsed.posts), name


@pytest.mark.parametrize("name", ["read_tid6_page2.html", "read_tid16.html", "read_tid7_edited.html"])
def test_a_saved_thread_page_names_its_thread_and_keeps_its_opening_post(name, truth):
    """A page saved from the browser has no tid in its address: the page's own form names it."""
    tid = phpwind.tid_from_url(truth["pages"][name]["url"])
    parsed = phpwind.parse_thread(load(name, truth, f"{base(truth)}saved.html"), site(truth))
    assert parsed.tid == tid and parsed.warnings == []
    wanted = [pid_of(tid, e["pid"]) for e in truth["pages"][name]["posts_in_order"]]
    assert [p.pid for p in parsed.posts] == wanted


# ---- prompts ----------------------------------------------------------------

@pytest.mark.parametrize("name,reason", PROMPTS.items())
def test_prompt_pages_say_why(name, reason, truth):
    """phpwind 8.7 answers every message with HTTP 200 and, to a guest, a login form beside it."""
    page = load(name, truth)
    assert page.status == 200 and b'name="login"' in page.body
    want = phpwind.parse_thread_list if name.startswith("thread_") else phpwind.parse_thread
    text = (REAL / name).read_text("utf-8")
    for parse in (want, phpwind.parse_page):
        parsed = parse(page, site(truth))
        assert (parsed.kind, parsed.reason) == ("prompt", reason)
        assert f"<li>1、{parsed.message}</li>" in text  # the reason shown, without its list number


def test_the_pages_name_their_engine(truth):
    for name in truth["pages"]:
        assert detect_engine((REAL / name).read_bytes()) == "phpwind", name


def test_an_8x_board_costs_no_second_request(truth):
    """thread.php answers on 8.7 (a board or a message): the engine never asks 9.x's URL."""
    asked = []

    class Fetcher:
        def get(self, url):
            asked.append(url)
            name = {"thread.php?fid=3": "thread_fid3_page1.html", "thread.php?fid=2": "thread_fid2_guest_prompt.html"}
            return load(name[url[len(base(truth)):]], truth)

    for fid in (3, 2):
        phpwind.fetch(Fetcher(), phpwind.board_url(site(truth), fid), site(truth))
    assert asked == [f"{base(truth)}thread.php?fid=3", f"{base(truth)}thread.php?fid=2"]
    assert phpwind.board_url(site(truth), 3) == f"{base(truth)}thread.php?fid=3"


# ---- through the poller and the CLI ---------------------------------------------

def served_pages(truth: dict, base_url: str) -> dict[str, str]:
    """The captured pages by the path they were fetched at, their links pointed at ``base_url``."""
    pages = {}
    for name, page in truth["pages"].items():
        parts = urlsplit(base(truth) + page["url"])
        pages[f"{parts.path}?{parts.query}" if parts.query else parts.path] = (
            (REAL / name).read_text("utf-8").replace(base(truth), base_url))
    return pages


def poll_served(truth: dict, tmp_path: Path, edit=None):
    """One poll of board fid 3 on the captured pages served at their own addresses (with the
    capture's Date); ``edit(pages, url)`` may change the pages first. The result and the database."""
    from monitor.config import Board
    from monitor.service import Service
    from tests.helpers import config_for

    class Served:  # what config_for needs of a forum
        base_url = ""

    date = truth["pages"]["thread_fid3_page1.html"]["capture"]["date_header"]
    pages: dict[str, str] = {}
    with serving(page_map_handler(pages, date=lambda: date)) as url:
        pages.update(served_pages(truth, url))
        if edit is not None:
            edit(pages, url)
        Served.base_url = url
        cfg = config_for(Served, f"sqlite:///{tmp_path / 'db.sqlite3'}", engine="phpwind",
                         boards=[Board(fid=3, name="网络问政", kind="programme")])
        svc = Service(cfg, clock=lambda: captured_at(truth, "read_tid16.html"))
        [result] = svc.poll()
        svc.close()
    return result, sqlite3.connect(tmp_path / "db.sqlite3")


def test_an_8x_board_is_polled_and_every_post_stored_as_served(tmp_path, truth):
    """Polling fid 3 stores every thread and post of the board with the stored authors, floors
    and exact times."""
    result, db = poll_served(truth, tmp_path)
    assert result.status == "ok", result.warnings
    threads = dict(db.execute("select tid, title from threads"))
    assert threads == {t["tid"]: t["subject"] for t in truth["threads"] if t["fid"] == 3}
    categories = dict(db.execute("select tid, category from threads"))
    names = {ty["id"]: ty["name"] for ty in truth["topic_types"]}
    assert categories == {t["tid"]: names.get(t["type"]) for t in truth["threads"] if t["fid"] == 3}
    rows = db.execute("select t.tid, p.pid, p.floor, p.author, p.author_uid, p.posted_at, p.body from posts p "
                      "join threads t on t.id = p.thread_id").fetchall()
    stored = posts_of(truth)
    assert len(rows) == sum(1 for p in truth["posts"] if threads_of(truth)[p["tid"]]["fid"] == 3)
    for tid, pid, floor, author, uid, posted, body in rows:
        s = stored[(tid, "tpc" if pid == -tid else str(pid))]
        assert (floor, author, uid, body) == (s["floor"] + 1, s["author"], str(s["authorid"]), s["content"])
        assert datetime.fromisoformat(posted).replace(tzinfo=timezone.utc) == utc(s["postdate"])


def test_probe_on_a_saved_thread_page_shows_the_opening_post_and_exact_times(truth, tmp_path):
    saved = tmp_path / "帖子.html"
    saved.write_bytes((REAL / "read_tid13.html").read_bytes())
    args = [sys.executable, "-m", "monitor", "probe", str(saved), "--now", "2026-12-02T21:52:13+08:00",
            "--base-url", base(truth)]
    r = subprocess.run([*args, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    thread = threads_of(truth)[13]
    assert (data["engine"], data["kind"], data["tid"]) == ("phpwind", "thread", 13)
    assert (data["title"], data["replies"], data["views"]) == (thread["subject"], 1, views_shown(truth, "read_tid13.html", 13))
    stored = posts_of(truth)
    assert [p["pid"] for p in data["posts"]] == [-13, 16]
    for post in data["posts"]:
        s = stored[(13, "tpc" if post["pid"] == -13 else str(post["pid"]))]
        assert (post["floor"], post["author"], post["uid"]) == (s["floor"] + 1, s["author"], str(s["authorid"]))
        assert post["posted_at"] == utc(s["postdate"]).astimezone(TZ).isoformat()
        assert post["body"] == s["content"]
    readable = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert readable.returncode == 0, readable.stderr
    assert f"thread 13: [供水] {thread['subject']}; 1 replies, 2 views" in readable.stdout
    assert "2026-12-01T21:51:52+08:00" in readable.stdout  # the opening post, to the second
    assert "warning" not in readable.stdout.replace("warning: engine detected: phpwind", "")


def test_a_next_page_off_the_forums_host_ends_the_walk_with_a_warning(tmp_path, truth):
    """Forum markup is untrusted: a pager pointing at another host is not followed. The board
    walk and the thread read end there with a warning, and what was read is stored."""
    elsewhere = "http://elsewhere.example/"

    def point_pagers_elsewhere(pages, url):
        for path, old in (("/thread.php?fid=3", 'href="thread.php?fid=3&page=2"'),
                          ("/read.php?tid=6", 'href="read.php?tid=6&page=2"')):
            assert old in pages[path]
            pages[path] = pages[path].replace(old, old.replace('href="', f'href="{elsewhere}'))

    result, db = poll_served(truth, tmp_path, point_pagers_elsewhere)
    off_host = [w for w in result.warnings if "off the forum's host" in w]
    assert len(off_host) == 2 and all(elsewhere in w for w in off_host), result.warnings
    assert result.status != "failed"
    page1 = truth["pages"]["thread_fid3_page1.html"]["thread_tids_in_order"]
    assert sorted(t for (t,) in db.execute("select tid from threads")) == sorted(page1)  # page 2 not walked
    six = [pid for (pid,) in db.execute("select p.pid from posts p join threads t on t.id = p.thread_id "
                                        "where t.tid = 6 order by p.floor")]
    assert six == [pid_of(6, e["pid"]) for e in truth["pages"]["read_tid6_page1.html"]["posts_in_order"]]


def test_the_login_form_beside_a_page_is_posted_as_a_page_would(truth):
    """8.7's header login form posts by script with ajax=1 (answered as text); the engine posts it
    without, so the answer is the refreshto page it reads. The members-only prompt's own form too."""
    board = load("thread_fid3_page1.html", truth)
    action, fields = phpwind.login_form(board, site(truth), "市水务局", "secret")
    assert action == f"{base(truth)}login.php" and "ajax" not in fields
    assert (fields["pwuser"], fields["pwpwd"], fields["step"]) == ("市水务局", "secret", "2")
    wall = load("thread_fid2_guest_prompt.html", truth)
    action, fields = phpwind.login_form(wall, site(truth), "市水务局", "secret")
    assert action == f"{base(truth)}login.php" and fields["jumpurl"] == f"{base(truth)}thread.php?fid=2"


def test_a_reply_topped_in_its_thread_is_read_once_at_its_own_floor(truth):
    """帖内置顶: 8.7 shows a topped reply again at the head of the thread's pages, labelled as its
    read.htm writes it ("置顶 (来自N楼)", a.read_topped); the copy is not a post of that page."""
    text = (REAL / "read_tid6_page2.html").read_text("utf-8")
    start, end = text.index('<div class="read_t" id="readfloor_11">'), text.index('<div class="read_t" id="readfloor_12">')
    copy = text[start:end].replace(
        '<a class="s2 b cp" onclick="copyFloorUrl(\'11\')" title="复制此楼地址">6楼</a>',
        '<a class="s2 b cp read_topped" onclick="copyFloorUrl(\'11\')" title="复制此楼地址">置顶</a>'
        '&nbsp;(来自<a href="read.php?tid=6&page=2#11" class="s6 mr5">6楼)</a>')
    assert copy != text[start:end]
    first = text.index('<div class="read_t" id="readfloor_9">')
    topped = text[:first] + copy + text[first:]
    page = Page(f"{base(truth)}read.php?tid=6&page=2", topped.encode("utf-8"), captured_at(truth, "read_tid6_page2.html"))
    parsed = phpwind.parse_thread(page, site(truth))
    plain = phpwind.parse_thread(load("read_tid6_page2.html", truth), site(truth))
    assert [(p.pid, p.floor) for p in parsed.posts] == [(p.pid, p.floor) for p in plain.posts] == [
        (9, 5), (10, 6), (11, 7), (12, 8)]
