"""Discuz! X touch pages and mobile API v4 against the real X3.5 pages, and all three ways agreeing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scrapers import discuz, discuz_api, discuz_touch
from scrapers.records import Page, Site
from tests.conftest import real_dir
from tests.test_scrapers.test_discuz_real_pages import load, stored_posts, utc

SITE = Site("http://127.0.0.1:8089/")
API = "http://127.0.0.1:8089/api/mobile/index.php?version=4&module={module}&{key}={value}&page={page}"


def api_page(name: str, truth: dict, module: str, key: str, value: int, page: int = 1) -> Page:
    cap = truth["pages"][name]["capture"]
    return Page(API.format(module=module, key=key, value=value, page=page),
                (real_dir() / "discuz-x35-local" / name).read_bytes(),
                datetime.fromtimestamp(cap["fetched_unix"], timezone.utc))


@pytest.mark.parametrize("name", ["touch_viewthread_tid5_page1.html", "touch_viewthread_tid5_page2.html",
                                  "touch_viewthread_tid5_page3.html", "touch_viewthread_tid8_edited.html"])
def test_touch_thread_posts_match_stored_posts(name, ground_truth):
    parsed = discuz_touch.parse_thread(load(name, ground_truth), SITE)
    stored = stored_posts(ground_truth)
    assert parsed.posts and parsed.warnings == []
    for post in parsed.posts:
        truth = stored[post.pid]
        assert (post.author, post.author_uid, post.floor) == (truth["author"], str(truth["authorid"]), truth["position"])
        # touch pages give only relative times: the truth lies within the stated precision
        assert abs(post.posted_at - utc(truth["dateline"])) <= timedelta(seconds=post.posted_precision)
        assert post.body


def test_touch_thread_list_rows(ground_truth):
    parsed = discuz_touch.parse_thread_list(load("touch_forumdisplay_fid3_page1.html", ground_truth), SITE)
    expected = ground_truth["pages"]["touch_forumdisplay_fid3_page1.html"]["extracted"]["threads"]
    assert [r.tid for r in parsed.threads] == [e["tid"] for e in expected]
    threads = {t["tid"]: t for t in ground_truth["threads"]}
    for row in parsed.threads[1:]:
        truth = threads[row.tid]
        assert (row.author_uid, row.replies, row.category) == (str(truth["authorid"]), truth["replies"], truth["typename"])
        assert abs(row.posted_at - utc(truth["dateline"])) <= timedelta(seconds=row.posted_precision)
    assert parsed.threads[0].sticky and parsed.next_page.endswith("page=2&mobile=2")


def test_api_thread_pages_are_exact(ground_truth):
    stored = stored_posts(ground_truth)
    seen = []
    for n in (1, 2, 3):
        parsed = discuz_api.parse_thread(api_page(f"api4_viewthread_tid5_page{n}.json", ground_truth,
                                                  "viewthread", "tid", 5, n), SITE)
        seen += parsed.posts
        assert (parsed.page, parsed.total_pages) == (n, 3)
        assert (parsed.next_page is None) == (n == 3)
    assert [p.pid for p in seen] == [p["pid"] for t in ground_truth["threads"] if t["tid"] == 5 for p in t["posts"]]
    for p in seen:
        assert p.posted_at == utc(stored[p.pid]["dateline"]) and p.posted_precision == 0
        assert p.floor == stored[p.pid]["position"] and p.author_uid == str(stored[p.pid]["authorid"])


def test_api_thread_list_and_deleted_thread(ground_truth):
    parsed = discuz_api.parse_thread_list(api_page("api4_forumdisplay_fid3_page1.json", ground_truth,
                                                   "forumdisplay", "fid", 3), SITE)
    threads = {t["tid"]: t for t in ground_truth["threads"]}
    assert [r.tid for r in parsed.threads] == [15, 5, 16, 10, 12, 13, 8, 9, 7, 6]
    for row in parsed.threads:
        truth = threads[row.tid]
        assert row.posted_at == utc(truth["dateline"]) and row.last_post_at == utc(truth["lastpost"])
        assert (row.last_poster, row.category) == (truth["lastposter"], truth["typename"])
    assert parsed.threads[0].sticky and (parsed.page, parsed.total_pages) == (1, 2)
    gone = discuz_api.parse_thread(api_page("api4_viewthread_tid14_deleted.json", ground_truth,
                                            "viewthread", "tid", 14), SITE)
    assert gone.kind == "prompt" and gone.reason == "not_found"


def test_the_three_ways_agree_on_the_same_thread(ground_truth):
    """Desktop, touch and API give the same posts, authors and floors for tid 5 and tid 8;
    the times agree within what each way shows (API and desktop exactly)."""
    for desktop_names, touch_names, api_names, tid in (
            (["desktop_viewthread_tid5_page1.html", "desktop_viewthread_tid5_page2.html",
              "desktop_viewthread_tid5_page3.html"],
             ["touch_viewthread_tid5_page1.html", "touch_viewthread_tid5_page2.html",
              "touch_viewthread_tid5_page3.html"],
             ["api4_viewthread_tid5_page1.json", "api4_viewthread_tid5_page2.json",
              "api4_viewthread_tid5_page3.json"], 5),
            (["desktop_viewthread_tid8_edited.html"], ["touch_viewthread_tid8_edited.html"],
             ["api4_viewthread_tid8.json"], 8)):
        desktop = [p for n in desktop_names for p in discuz.parse_thread(load(n, ground_truth), SITE).posts]
        touch = [p for n in touch_names for p in discuz_touch.parse_thread(load(n, ground_truth), SITE).posts]
        api = [p for i, n in enumerate(api_names)
               for p in discuz_api.parse_thread(api_page(n, ground_truth, "viewthread", "tid", tid, i + 1), SITE).posts]
        key = lambda p: (p.pid, p.floor, p.author, p.author_uid)  # noqa: E731
        assert list(map(key, desktop)) == list(map(key, touch)) == list(map(key, api))
        for d, t, a in zip(desktop, touch, api):
            assert d.posted_at == a.posted_at
            assert abs(t.posted_at - a.posted_at) <= timedelta(seconds=t.posted_precision)
            assert d.body == t.body == a.body  # the same text, whatever the markup
        assert desktop[0].edit_note == touch[0].edit_note or tid != 8


def test_rss_feed_rows_match_the_real_feed(ground_truth):
    from scrapers import rss
    cap = ground_truth["pages"]["rss_fid3.xml"]["capture"]
    page = Page(cap["url"], (real_dir() / "discuz-x35-local" / "rss_fid3.xml").read_bytes(),
                datetime.fromtimestamp(cap["fetched_unix"], timezone.utc), content_type="application/xml")
    parsed = rss.parse_feed(page, SITE, discuz.tid_from_url, discuz.thread_url)
    expected = ground_truth["pages"]["rss_fid3.xml"]["extracted"]["items"]
    threads = {t["tid"]: t for t in ground_truth["threads"]}
    assert [r.tid for r in parsed.threads] == [e["tid"] for e in expected]
    for row in parsed.threads:
        assert row.posted_at == utc(threads[row.tid]["dateline"]) and row.author == threads[row.tid]["author"]
    assert 14 in [r.tid for r in parsed.threads]  # the feed cache still lists the deleted thread


def test_rss_items_off_the_forum_are_skipped():
    from scrapers import rss
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>
    <item><title>ok</title><link>http://127.0.0.1:8089/forum.php?mod=viewthread&amp;tid=3</link></item>
    <item><title>ad</title><link>http://ads.example.com/forum.php?mod=viewthread&amp;tid=4</link></item>
    </channel></rss>"""
    parsed = rss.parse_feed(Page("http://127.0.0.1:8089/forum.php?mod=rss&fid=3", feed, datetime.now(timezone.utc)),
                            SITE, discuz.tid_from_url, discuz.thread_url)
    assert [r.tid for r in parsed.threads] == [3] and "off the forum" in parsed.warnings[0]


def test_api_saved_page_knows_its_page_from_positions(ground_truth):
    """A saved answer (no page= in its address) is placed by its posts' positions and ppp:
    the last page of tid 5 reports page 3 of 3 and no next page."""
    for n in (1, 2, 3):
        name = f"api4_viewthread_tid5_page{n}.json"
        cap = ground_truth["pages"][name]["capture"]
        saved = Page(f"http://localhost/{name}", (real_dir() / "discuz-x35-local" / name).read_bytes(),
                     datetime.fromtimestamp(cap["fetched_unix"], timezone.utc))
        parsed = discuz_api.parse_thread(saved, SITE)
        assert (parsed.page, parsed.total_pages) == (n, 3)
        assert (parsed.next_page is None) == (n == 3)


def test_api_subjects_come_out_as_characters(ground_truth):
    """Discuz! keeps subjects HTML-escaped and the API returns them so: the characters come out."""
    import json
    shown = '水费&电费 "双倍" <急> 5>3'
    stored = shown.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    for name, module, key, value in (("api4_viewthread_tid5_page1.json", "viewthread", "tid", 5),
                                     ("api4_forumdisplay_fid3_page1.json", "forumdisplay", "fid", 3)):
        page = api_page(name, ground_truth, module, key, value)
        data = json.loads(page.body)
        v = data["Variables"]
        if "thread" in v:
            v["thread"]["subject"] = stored
        else:
            v["forum_threadlist"][1]["subject"] = stored
            v["forum_threadlist"][1]["lastposter"] = "A&amp;B"
        edited = Page(page.url, json.dumps(data).encode(), page.server_now)
        parsed = discuz_api.parse_page(edited, SITE)
        if parsed.kind == "thread":
            assert parsed.title == shown
        else:
            assert parsed.threads[1].title == shown and parsed.threads[1].last_poster == "A&B"
