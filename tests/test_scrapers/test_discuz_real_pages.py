"""The Discuz! X parser against pages served by a real Discuz! X3.5 (and saved real sites).

Every expected value comes from ground_truth.json, written beside the pages
from the engine's database; relative times resolve against each file's fetch time.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scrapers import discuz
from scrapers.records import Page, Site, user_id
from tests.conftest import real_dir

SITE = Site("http://127.0.0.1:8089/")
TZ = ZoneInfo("Asia/Shanghai")
DESKTOP_LISTS = ["desktop_forumdisplay_fid3_page1.html", "desktop_forumdisplay_fid3_page2.html",
                 "desktop_forumdisplay_fid3_typeid2.html", "desktop_forumdisplay_fid4_page1.html"]
DESKTOP_THREADS = ["desktop_viewthread_tid12_short.html", "desktop_viewthread_tid14_before_delete.html",
                   "desktop_viewthread_tid15_sticky_spokesperson.html", "desktop_viewthread_tid1_closed.html",
                   "desktop_viewthread_tid5_page1.html", "desktop_viewthread_tid5_page1_loggedin_citizen.html",
                   "desktop_viewthread_tid5_page2.html", "desktop_viewthread_tid5_page3.html",
                   "desktop_viewthread_tid8_edited.html"]


def load(name: str, truth: dict) -> Page:
    cap = truth["pages"][name]["capture"]
    body = (real_dir() / "discuz-x35-local" / name).read_bytes()
    return Page(cap["url"], body, datetime.fromtimestamp(cap["fetched_unix"], timezone.utc),
                status=int(cap["status"].split()[1]))


def stored_posts(truth: dict) -> dict[int, dict]:
    return {p["pid"]: p for t in truth["threads"] for p in t["posts"]}


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


@pytest.mark.parametrize("name", DESKTOP_LISTS)
def test_thread_list_rows_match_stored_threads(name, ground_truth):
    parsed = discuz.parse_thread_list(load(name, ground_truth), SITE)
    expected = ground_truth["pages"][name]["extracted"]["threads"]
    threads = {t["tid"]: t for t in ground_truth["threads"]}
    assert [r.tid for r in parsed.threads] == [e["tid"] for e in expected]
    for row, exp in zip(parsed.threads, expected):
        stored = threads[row.tid]
        assert row.title == exp["subject"]
        assert (row.author, row.author_uid) == (exp["author"], user_id(exp["author_uid"]))
        assert row.category == exp["type"] and row.category_id == exp["typeid"]
        assert row.replies == exp["replies"] and row.views == exp["views_at_capture"]
        assert row.last_poster == exp["lastposter"]
        assert row.sticky == (exp["tbody"] == "stickthread")
        assert row.url == f"http://127.0.0.1:8089/forum.php?mod=viewthread&tid={row.tid}"
        # the true stored times lie within the precision the page allows
        assert abs(row.posted_at - utc(stored["dateline"])) <= timedelta(seconds=row.posted_precision)
        assert abs(row.last_post_at - utc(stored["lastpost"])) <= timedelta(seconds=row.last_post_precision)
        assert row.last_post_precision <= 30  # desktop gives the minute in the title
    assert parsed.warnings == []


def test_thread_list_pagination(ground_truth):
    first = discuz.parse_thread_list(load("desktop_forumdisplay_fid3_page1.html", ground_truth), SITE)
    assert (first.fid, first.page, first.total_pages) == (3, 1, 2)
    assert first.next_page == "http://127.0.0.1:8089/forum.php?mod=forumdisplay&fid=3&page=2"
    last = discuz.parse_thread_list(load("desktop_forumdisplay_fid3_page2.html", ground_truth), SITE)
    assert (last.page, last.total_pages, last.next_page) == (2, 2, None)


@pytest.mark.parametrize("name", DESKTOP_THREADS)
def test_thread_posts_match_stored_posts(name, ground_truth):
    parsed = discuz.parse_thread(load(name, ground_truth), SITE)
    expected = ground_truth["pages"][name]["extracted"]["posts"]
    stored = stored_posts(ground_truth)
    assert [p.pid for p in parsed.posts] == [e["pid"] for e in expected]
    for post, exp in zip(parsed.posts, expected):
        truth = stored[post.pid]
        assert (post.author, post.author_uid) == (exp["author"], user_id(exp["author_uid"]))
        assert post.floor == truth["position"]
        assert post.posted_at == utc(truth["dateline"])  # exact, to the second
        assert post.edit_note == exp["edit_note"]
        assert post.body and "本帖最后由" not in post.body
    assert parsed.warnings == [] and parsed.complete


def test_long_thread_pages_and_counts(ground_truth):
    p1 = discuz.parse_thread(load("desktop_viewthread_tid5_page1.html", ground_truth), SITE)
    assert (p1.tid, p1.page, p1.total_pages) == (5, 1, 3)
    assert p1.title == "东宝区部分小区自来水发黄、有异味，已经一个星期了"
    assert p1.category == "市供水公司" and p1.replies == 13
    assert discuz.page_number(p1.next_page) == 2
    p3 = discuz.parse_thread(load("desktop_viewthread_tid5_page3.html", ground_truth), SITE)
    assert (p3.page, p3.next_page) == (3, None)


def test_edited_post_body_and_note(ground_truth):
    parsed = discuz.parse_thread(load("desktop_viewthread_tid8_edited.html", ground_truth), SITE)
    first = parsed.posts[0]
    assert first.edit_note == "本帖最后由 荆门老张 于 2026-11-30 13:13 编辑"
    assert first.body.startswith("今年国庆前后漳河风景区门票从60元涨到了80元")
    assert first.body.count("\n") == 2  # three lines, breaks kept


@pytest.mark.parametrize("name,reason", [
    ("discuz-x35-local/desktop_viewthread_tid14_deleted.html", "not_found"),
    ("discuz-x35-local/touch_viewthread_tid14_deleted.html", "not_found"),
    ("discuz-x35-local/desktop_profile_uid9_anonymous_prompt.html", "login_required"),
    ("discuz/yamibo_x35_desktop_prompt_notloggedin_utf8.html", "login_required"),
])
def test_prompt_pages_are_recognised(name, reason):
    page = Page("http://127.0.0.1:8089/forum.php?mod=viewthread&tid=14",
                (real_dir() / name).read_bytes(), datetime.now(timezone.utc), status=404)
    parsed = discuz.parse_page(page, SITE)
    assert parsed.kind == "prompt" and parsed.reason == reason
    assert parsed.message.startswith("抱歉")


def test_httrack_mirror_of_discuz_x34_thread():
    body = (real_dir() / "discuz" / "bapuro_x34_desktop_viewthread_tid6_httrack_utf8.html").read_bytes()
    page = Page("http://www.bapuro.net/thread-6-1-1.html", body, datetime(2020, 4, 23, tzinfo=timezone.utc))
    parsed = discuz.parse_thread(page, Site("http://www.bapuro.net/"))
    assert parsed.tid == 6 and len(parsed.posts) == 1 and parsed.complete
    post = parsed.posts[0]
    assert post.pid == 7 and post.floor == 1 and post.author_uid == "4"
    assert post.posted_at == datetime(2020, 2, 26, 20, 39, 24, tzinfo=TZ)


@pytest.mark.parametrize("name,uid", [("desktop_profile_uid9_loggedin_citizen.html", 9),
                                      ("desktop_profile_uid7_loggedin_citizen.html", 7)])
def test_profile_last_visit_matches_the_stored_member(name, uid, ground_truth):
    parsed = discuz.parse_profile(load(name, ground_truth), SITE)
    member = next(u for u in ground_truth["users"] if u["uid"] == uid)
    assert (parsed.uid, parsed.username) == (str(uid), member["username"])
    for got, stored in ((parsed.last_visit, member["lastvisit"]), (parsed.last_activity, member["lastactivity"]),
                        (parsed.registered, member["regdate"])):
        assert abs(got - utc(stored)) <= timedelta(seconds=60)  # shown to the minute


def test_profile_for_guests_is_a_login_prompt(ground_truth):
    parsed = discuz.parse_profile(load("desktop_profile_uid9_anonymous_prompt.html", ground_truth), SITE)
    assert parsed.kind == "prompt" and parsed.reason == "login_required"
