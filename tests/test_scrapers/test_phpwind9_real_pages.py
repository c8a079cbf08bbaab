"""The phpwind engine against pages served by a real phpwind 9.0 (nextwind 20130227).

The pages, their headers and the values stored in the engine's database are in
tests/fixtures/phpwind9-real/ (its README says how they were made). Every expected
value here comes from ground_truth.json: the stored rows (users, threads, posts) and
what each page shows. Times are checked to the precision the page shows them: a
``Y-m-d H:i`` time must be the stored time's minute exactly (read as mid-minute, ±30 s),
a ``Y-m-d`` date the stored day (read as noon, ±12 h).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, time, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from scrapers import detect_engine, phpwind
from scrapers.errors import ParseError
from scrapers.records import Page, Site, user_id

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "fixtures" / "phpwind9-real"
BASE = "http://127.0.0.1:8097/"
SITE = Site(BASE)
TZ = ZoneInfo("Asia/Shanghai")
LISTS = ["thread_fid3_page1.html", "thread_fid3_page2.html", "thread_fid3_type1.html", "thread_fid4_loggedin.html"]
THREADS = ["read_tid4_page1.html", "read_tid4_page2.html", "read_tid4_page3.html", "read_tid13_short.html",
           "read_tid5_edited.html", "read_tid7_topped.html", "saved_read_tid15.html", "read_tid10_loggedin.html"]
PER_PAGE = 5  # read.perpage (the opening post counts)


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((REAL / "ground_truth.json").read_text("utf-8"))


def load(name: str, truth: dict, url: str | None = None) -> Page:
    cap = truth["pages"][name]["capture"]
    return Page(url or cap["url"], (REAL / name).read_bytes(), utc(cap["fetched_unix"]),
                status=int(cap["status"].split()[1]), content_type="text/html;charset=utf-8")


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def shown_minute(ts: int) -> datetime:
    """A stored time as a ``H:i`` page shows it: its minute, read as mid-minute."""
    return utc(ts).replace(second=0) + timedelta(seconds=30)


def shown_day(ts: int) -> datetime:
    """A stored time as a ``Y-m-d`` page shows it: its day in the site's zone, read as noon."""
    return datetime.combine(utc(ts).astimezone(TZ).date(), time(12), tzinfo=TZ).astimezone(timezone.utc)


def threads_of(truth: dict) -> dict[int, dict]:
    return {t["tid"]: t for t in truth["threads"]}


def posts_of(truth: dict) -> dict[tuple[int, int], dict]:
    return {(t["tid"], p["pid"]): p for t in truth["threads"] for p in t["posts"]}


# ---- board lists ----------------------------------------------------------

def check_row(row, stored: dict) -> None:
    """A list row against the stored thread: every field the row carries."""
    assert row.title == stored["subject"]
    assert row.url == f"{BASE}read.php?tid={row.tid}"
    assert (row.author, row.author_uid) == (stored["created_username"], user_id(stored["created_userid"]))
    assert (row.replies, row.views) == (stored["replies"], stored["hits"])
    assert row.last_poster == stored["lastpost_username"]
    assert (row.posted_at, row.posted_precision) == (shown_day(stored["created_time"]), 12 * 3600)
    assert (row.last_post_at, row.last_post_precision) == (shown_minute(stored["lastpost_time"]), 30)


@pytest.mark.parametrize("name", LISTS)
def test_board_rows_match_the_stored_threads(name, truth):
    parsed = phpwind.parse_thread_list(load(name, truth), SITE)
    shown = truth["pages"][name]["extracted"]["threads"]
    stored = threads_of(truth)
    once = list(dict.fromkeys(e["tid"] for e in shown))  # a topped thread is listed twice on page 1
    assert parsed.kind == "thread_list" and [r.tid for r in parsed.threads] == once
    for row in parsed.threads:
        rows_shown = [e for e in shown if e["tid"] == row.tid]
        check_row(row, stored[row.tid])
        thread = stored[row.tid]
        assert (row.category, row.category_id) == (thread["topic_type_name"], thread["topic_type"] or None)
        assert row.sticky == any(e["icon"].startswith("icon_headtopic") for e in rows_shown)
        # what the page shows, read back: the start day, and the last post's minute without a year
        assert f"{row.posted_at.astimezone(TZ):%Y-%m-%d}" == rows_shown[0]["created_display"]
        last_minute = (row.last_post_at - timedelta(seconds=30)).astimezone(TZ)
        assert f"{last_minute:%m-%d %H:%M}" == rows_shown[0]["lastpost_display"]
    assert parsed.warnings == [] and parsed.complete


def test_a_topped_thread_listed_twice_is_one_sticky_row(truth):
    shown = [e["tid"] for e in truth["pages"]["thread_fid3_page1.html"]["extracted"]["threads"]]
    assert shown.count(7) == 2
    parsed = phpwind.parse_thread_list(load("thread_fid3_page1.html", truth), SITE)
    assert [(r.tid, r.sticky) for r in parsed.threads if r.tid == 7] == [(7, True)]
    assert [r.tid for r in parsed.threads if r.sticky] == [t["tid"] for t in truth["threads_sort"]]


def test_a_last_post_of_last_year_gets_its_year_from_the_list_order(truth):
    """Page 2 shows tid 1's last post as "11-16 20:55" below "10-04 20:55": 2025, not 2026."""
    parsed = phpwind.parse_thread_list(load("thread_fid3_page2.html", truth), SITE)
    first = next(r for r in parsed.threads if r.tid == 1)
    assert first.last_post_at.astimezone(TZ).year == 2025
    assert first.last_post_at == shown_minute(threads_of(truth)[1]["lastpost_time"])


def test_board_pages_and_the_next_page(truth):
    first = phpwind.parse_thread_list(load("thread_fid3_page1.html", truth), SITE)
    assert (first.fid, first.page, first.total_pages) == (3, 1, 2)
    assert first.next_page == f"{BASE}index.php?c=thread&fid=3&page=2"
    last = phpwind.parse_thread_list(load("thread_fid3_page2.html", truth), SITE)
    assert (last.fid, last.page, last.total_pages, last.next_page) == (3, 2, 2, None)
    only = phpwind.parse_thread_list(load("thread_fid3_type1.html", truth), SITE)
    assert (only.page, only.total_pages, only.next_page) == (1, 1, None)
    saved = phpwind.parse_thread_list(load("thread_fid3_page1.html", truth, f"{BASE}board.html"), SITE)
    assert saved.fid == 3  # a saved board page: the board from its breadcrumb


@pytest.mark.parametrize("name", ["cate_fid1.html", "forum_newthreads.html"])
def test_cross_board_lists_match_the_stored_threads(name, truth):
    """The category page and 本站新帖 list threads of several boards, newest last post first.

    They show no 主题分类 (the 新帖 page's bracketed link is the board) and no topped rows; the
    category page's board rows (relative times such as 1秒前, 昨天21:55) are not thread rows."""
    parsed = phpwind.parse_thread_list(load(name, truth), SITE)
    stored = threads_of(truth)
    guests_see = sorted((t for t in truth["threads"] if t["state"] in ("normal", "topped (置顶 level 1)")
                         and t["fid"] != 4), key=lambda t: -t["lastpost_time"])
    assert [r.tid for r in parsed.threads] == [t["tid"] for t in guests_see][: len(parsed.threads)]
    assert len(parsed.threads) == (15 if name == "cate_fid1.html" else 10)
    for row in parsed.threads:
        check_row(row, stored[row.tid])
        assert (row.category, row.category_id, row.sticky) == (None, None, False)
    assert parsed.warnings == [] and parsed.complete


def test_the_board_index_is_not_a_thread_list(truth):
    """版块 (forumlist) shows boards, not threads: their last posts in relative form (1秒前, 21分钟前,
    17:57, 昨天21:55, 前天21:25) are not read; the engine polls the boards themselves."""
    with pytest.raises(ParseError, match="neither a phpwind board list"):
        phpwind.parse_page(load("forumlist.html", truth), SITE)


# ---- thread pages -----------------------------------------------------------

@pytest.mark.parametrize("name", THREADS)
def test_thread_posts_match_the_stored_posts(name, truth):
    page = load(name, truth)
    parsed = phpwind.parse_thread(page, SITE)
    shown = truth["pages"][name]["extracted"]
    tid = phpwind.tid_from_url(page.url)
    thread, stored = threads_of(truth)[tid], posts_of(truth)
    assert parsed.kind == "thread" and parsed.tid == tid
    assert [p.pid for p in parsed.posts] == [-tid if e["pid"] == 0 else e["pid"] for e in shown["posts"]]
    for post, e in zip(parsed.posts, shown["posts"]):
        s = stored[(tid, e["pid"])]
        assert post.floor == s["floor"] + 1  # 楼主 is floor 1 here, 0 on the page
        assert (post.author, post.author_uid) == (s["author"], user_id(s["authorid"]))
        assert (post.posted_at, post.posted_precision) == (shown_minute(s["created_time"]), 30)
        assert post.body == s["content"]
        note = f"{s['modified_username']}于{s['modified_time_bj'][:16]}编辑了帖子" if s["edited"] else None
        assert post.edit_note == note
    page_no = stored[(tid, shown["posts"][0]["pid"])]["page"]
    pages = -(-(thread["replies"] + 1) // PER_PAGE)
    assert (parsed.page, parsed.total_pages) == (page_no, pages)
    assert parsed.next_page == (f"{BASE}read.php?tid={tid}&fid={thread['fid']}&page={page_no + 1}"
                                if page_no < pages else None)
    if page_no == 1:  # title, category and counts are on the opening floor only
        assert (parsed.title, parsed.category) == (thread["subject"], thread["topic_type_name"])
        assert (parsed.views, parsed.replies) == (thread["hits"], thread["replies"])
        assert (parsed.views, parsed.replies) == (shown["hits_at_capture"], shown["replies"])
    else:
        assert (parsed.title, parsed.category, parsed.views, parsed.replies) == (None, None, None, None)
    assert parsed.warnings == [] and parsed.complete


def test_every_post_of_a_long_thread_is_read_across_its_pages(truth):
    """Following the parser's own next-page links from page 1 reads all 13 floors of tid 4."""
    by_url = {truth["pages"][n]["capture"]["url"].replace("&page=1", ""): n
              for n in ("read_tid4_page1.html", "read_tid4_page2.html", "read_tid4_page3.html")}
    url, seen = phpwind.thread_url(SITE, 4), []
    while url:
        name = by_url[url.replace("&fid=3", "")]
        parsed = phpwind.parse_thread(load(name, truth, url), SITE)
        seen += parsed.posts
        url = parsed.next_page
    thread = threads_of(truth)[4]
    assert [p.pid for p in seen] == [-4 if p["pid"] == 0 else p["pid"] for p in thread["posts"]]
    assert [p.floor for p in seen] == list(range(1, thread["replies"] + 2))


def test_a_saved_thread_page_keeps_its_opening_post(truth):
    """A page saved from the browser has no tid in its name; #js-tid holds the literal "$tid"."""
    body = (REAL / "saved_read_tid15.html").read_bytes()
    assert b'id="js-tid" value="$tid"' in body
    parsed = phpwind.parse_thread(load("saved_read_tid15.html", truth, f"{BASE}saved_read_tid15.html"), SITE)
    assert parsed.tid == 15 and parsed.warnings == []
    opening = parsed.posts[0]
    stored = posts_of(truth)[(15, 0)]
    assert (opening.pid, opening.floor, opening.author) == (-15, 1, stored["author"])
    assert opening.posted_at == shown_minute(stored["created_time"])
    assert [p.pid for p in parsed.posts] == [-15, 19, 20]


@pytest.mark.parametrize("name", THREADS)
def test_every_thread_page_names_its_thread_without_its_url(name, truth):
    """Page 2 and 3 of tid 4 too: the breadcrumb, the reply links or the pager carry the tid."""
    tid = phpwind.tid_from_url(truth["pages"][name]["capture"]["url"])
    parsed = phpwind.parse_thread(load(name, truth, f"{BASE}{name}"), SITE)
    assert parsed.tid == tid and parsed.warnings == []


def test_the_edited_post_shows_its_new_text_and_the_edit_note(truth):
    parsed = phpwind.parse_thread(load("read_tid5_edited.html", truth), SITE)
    first = parsed.posts[0]
    assert first.edit_note == "荆门老张于2026-11-24 22:55编辑了帖子"
    assert first.body == "今年漳河风景区门票从60涨到了80，涨价有没有经过听证？\n补充：本地居民凭身份证是否还有优惠？"


# ---- prompts ----------------------------------------------------------------

@pytest.mark.parametrize("name,reason", [
    ("read_tid6_deleted.html", "not_found"),
    ("read_tid999_missing.html", "not_found"),
    ("thread_fid4_guest_prompt.html", "login_required"),
    ("read_tid10_guest_prompt.html", "login_required"),
])
def test_prompt_pages_say_why(name, reason, truth):
    page = load(name, truth)
    assert page.status == 200  # phpwind 9 answers its messages with HTTP 200
    want = phpwind.parse_thread_list if "thread_fid" in name else phpwind.parse_thread
    for parse in (want, phpwind.parse_page):
        parsed = parse(page, SITE)
        assert (parsed.kind, parsed.reason) == ("prompt", reason)
        assert parsed.message == truth["pages"][name]["extracted"]["message"]


def test_the_pages_name_their_engine(truth):
    for name in truth["pages"]:
        assert detect_engine((REAL / name).read_bytes()) == "phpwind", name


# ---- the board URL: 8.x or 9.x ------------------------------------------------

NOT_FOUND = b"<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"


class Replay:
    """A fetcher answering from a table of URL → Page, 404 otherwise; it records what it was asked."""

    def __init__(self, pages: dict[str, Page]):
        self.pages, self.asked = pages, []

    def get(self, url: str) -> Page:
        self.asked.append(url)
        return self.pages.get(url) or Page(url, NOT_FOUND, utc(1796216240), status=404)


def test_a_9x_board_is_found_at_index_php_when_thread_php_is_missing(truth):
    listed = load("thread_fid3_page1.html", truth)
    fetcher = Replay({listed.url: listed})
    assert phpwind.board_url(SITE, 3) == f"{BASE}thread.php?fid=3"  # nothing known yet: 8.x first
    page = phpwind.fetch(fetcher, phpwind.board_url(SITE, 3), SITE)
    assert fetcher.asked == [f"{BASE}thread.php?fid=3", f"{BASE}index.php?c=thread&fid=3"]
    assert page is listed and phpwind.parse_thread_list(page, SITE).fid == 3
    # from now on the forum's boards are asked at their 9.x URL directly
    assert phpwind.board_url(SITE, 3) == f"{BASE}index.php?c=thread&fid=3"
    assert phpwind.board_url(SITE, 3, 2) == f"{BASE}index.php?c=thread&fid=3&page=2"
    assert phpwind.fetch(fetcher, phpwind.board_url(SITE, 3), SITE) is listed and len(fetcher.asked) == 3
    assert phpwind.board_url(Site("http://bbs.example.cn/"), 3) == "http://bbs.example.cn/thread.php?fid=3"


def test_a_9x_members_only_board_is_found_by_its_message(truth):
    wall = load("thread_fid4_guest_prompt.html", truth)
    page = phpwind.fetch(Replay({wall.url: wall}), phpwind.board_url(SITE, 4), SITE)
    assert page is wall and phpwind.parse_thread_list(page, SITE).reason == "login_required"
    assert phpwind.board_url(SITE, 4) == f"{BASE}index.php?c=thread&fid=4"


def test_a_server_sending_thread_php_to_its_home_page_is_not_read_as_the_board(truth):
    """A server that sends every unknown path to index.php answers thread.php with 200 and the
    home page's new threads of all boards: its breadcrumb names no board, so 9.x's URL is asked."""
    home = load("forum_newthreads.html", truth)
    listed = load("thread_fid3_page1.html", truth)
    fetcher = Replay({f"{BASE}thread.php?fid=3": Page(f"{BASE}thread.php?fid=3", home.body, home.server_now),
                      listed.url: listed})
    assert phpwind.fetch(fetcher, f"{BASE}thread.php?fid=3", SITE) is listed and len(fetcher.asked) == 2
    # a 9.x list of the board asked for, served at thread.php, is taken as it is
    same = Page(f"{BASE}thread.php?fid=3", listed.body, listed.server_now)
    other = Site("http://elsewhere.example/")
    served = Replay({same.url: same})
    assert phpwind.fetch(served, same.url, other) is same and served.asked == [same.url]
    assert phpwind.board_url(other, 3) == "http://elsewhere.example/thread.php?fid=3"


def test_an_8x_board_costs_no_second_request_and_a_dead_url_stays_8x():
    html8 = b'<html><body><table><tbody id="threadlist"></tbody></table></body></html>'
    board8 = Page(f"{BASE}thread.php?fid=3", html8, utc(1796216240))
    fetcher = Replay({board8.url: board8})
    assert phpwind.fetch(fetcher, board8.url, SITE) is board8 and fetcher.asked == [board8.url]
    nothing = Replay({})
    page = phpwind.fetch(nothing, f"{BASE}thread.php?fid=9", SITE)
    assert page.status == 404 and len(nothing.asked) == 2
    assert phpwind.board_url(SITE, 9) == f"{BASE}thread.php?fid=9"
    with pytest.raises(ParseError, match="HTTP 404"):
        phpwind.parse_thread_list(page, SITE)


# ---- through the poller and the CLI ---------------------------------------------

class _Server:
    """The captured pages served over HTTP at the URLs they came from, with the capture's Date;
    thread.php is missing, as on phpwind 9. Threads not captured answer 404. The engine's
    absolute links name its host (127.0.0.1:8097): they are pointed at this server's port."""

    def __init__(self, truth: dict):
        self.routes = {}
        for name, page in truth["pages"].items():
            if page["capture"]["logged_in_as"] is None:
                parts = urlsplit(page["capture"]["url"])
                self.routes[f"{parts.path}?{parts.query}"] = name
        self.routes["/read.php?tid=15"] = "saved_read_tid15.html"
        self.routes["/read.php?tid=4"] = "read_tid4_page1.html"
        self.asked: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                path = self.path.replace("&fid=3", "") if self.path.startswith("/read.php") else self.path
                server.asked.append(self.path)
                name = server.routes.get(path)
                body = NOT_FOUND if name is None else (
                    (REAL / name).read_bytes().replace(BASE.encode(), server.base_url.encode()))
                self.send_response(200 if name else 404)
                self.send_header("Date", "Wed, 02 Dec 2026 12:57:20 GMT")
                self.send_header("Content-Type", "text/html;charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_9x_board_is_polled_and_its_long_thread_read_to_the_last_page(tmp_path, truth):
    import sqlite3

    from monitor.config import Board
    from monitor.service import Service
    from tests.helpers import config_for

    server = _Server(truth)
    try:
        cfg = config_for(server, f"sqlite:///{tmp_path / 'db.sqlite3'}", engine="phpwind",
                         boards=[Board(fid=3, name="网络问政", kind="programme")])
        svc = Service(cfg, clock=lambda: utc(1796216240))
        [r] = svc.poll()
        asked_first = list(server.asked)
        server.asked.clear()
        [again] = svc.poll()
        svc.close()
    finally:
        server.stop()
    assert asked_first[:2] == ["/thread.php?fid=3", "/index.php?c=thread&fid=3"]
    assert asked_first.count("/thread.php?fid=3") == 1 and "/index.php?c=thread&fid=3&page=2" in asked_first
    assert {"/read.php?tid=4", "/read.php?tid=4&fid=3&page=2", "/read.php?tid=4&fid=3&page=3"} <= set(asked_first)
    assert "/thread.php?fid=3" not in server.asked and server.asked[0] == "/index.php?c=thread&fid=3"
    uncaptured = {1, 2, 3, 8, 9, 11, 14}  # threads whose pages were not captured: 404 here
    assert r.status == "partial" and all(any(f"thread {t}:" in w for w in r.warnings) for t in uncaptured)
    assert len(r.warnings) == len(uncaptured), r.warnings
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    rows = db.execute("select t.tid, p.pid, p.floor, p.author_uid, p.posted_at from posts p "
                      "join threads t on t.id = p.thread_id order by t.tid, p.floor").fetchall()
    stored = posts_of(truth)
    read = {4, 5, 7, 13, 15}
    assert len(rows) == sum(len(threads_of(truth)[t]["posts"]) for t in read)
    for tid, pid, floor, uid, posted in rows:
        s = stored[(tid, 0 if pid == -tid else pid)]
        assert (floor, uid) == (s["floor"] + 1, str(s["authorid"]))
        assert datetime.fromisoformat(posted).replace(tzinfo=timezone.utc) == shown_minute(s["created_time"])
    topped = db.execute("select sticky, category, last_post_at from threads where tid = 7").fetchone()
    assert topped[:2] == (1, "供水")
    old = db.execute("select last_post_at from threads where tid = 1").fetchone()[0]
    assert old.startswith("2025-11-16 12:55:30")  # 11-16 20:55 in GMT+8, of 2025


def test_probe_on_a_saved_thread_page_shows_the_opening_post_and_its_time(truth):
    page = REAL / "saved_read_tid15.html"
    args = [sys.executable, "-m", "monitor", "probe", str(page), "--now", "2026-12-02T20:57:20+08:00",
            "--base-url", BASE]
    r = subprocess.run([*args, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["engine"], data["kind"], data["tid"]) == ("phpwind", "thread", 15)
    assert (data["page"], data["total_pages"], data["next_page"]) == (1, 1, None)
    assert data["warnings"] == ["engine detected: phpwind"]
    assert (data["title"], data["replies"], data["views"]) == ("请问市民之家周六上班吗？", 2, 2)
    stored = {p["pid"]: p for p in threads_of(truth)[15]["posts"]}
    assert [p["pid"] for p in data["posts"]] == [-15, 19, 20]
    for post in data["posts"]:
        s = stored[0 if post["pid"] == -15 else post["pid"]]
        assert (post["floor"], post["author"], post["uid"]) == (s["floor"] + 1, s["author"], str(s["authorid"]))
        shown = f"{utc(s['created_time']).astimezone(TZ):%Y-%m-%dT%H:%M}"  # the minute the page shows
        assert post["posted_at"] == f"{shown}:30+08:00"
        assert post["body"] == s["content"]
    assert data["posts"][0]["posted_at"].startswith("2026-12-02T20:30")  # 发布于：2026-12-02 20:30
    readable = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert readable.returncode == 0, readable.stderr
    assert "thread 15: 请问市民之家周六上班吗？; 2 replies, 2 views" in readable.stdout
    assert "#1    pid      -15  2026-12-02T20:30+08:00 " in readable.stdout  # the minute the page shows
    assert "荆门老张 (uid 2)  想周六去办社保卡" in readable.stdout
    assert "warning" not in readable.stdout.replace("warning: engine detected: phpwind", "")
