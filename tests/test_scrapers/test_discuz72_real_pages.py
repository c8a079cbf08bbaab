"""The Discuz! 7 parser against pages served by a real Discuz! 7.2 (tests/fixtures/discuz72-real).

Every expected value comes from ground_truth.json, written beside the pages from the
engine's database; each page is read as it was served (its status line, Date and
Content-type headers from ``_headers/``), so relative times resolve against the fetch time.
Discuz! 7.2 shows times to the minute (``Y-n-j H:i``, in a ``span`` title beside the relative
text), so a time read must fall in the stored time's minute.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from scrapers import detect_engine, discuz7
from scrapers.fetch import Fetcher
from scrapers.records import Page, Site, user_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "discuz72-real"
ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:8172/"
SITE = Site(BASE)
TZ = ZoneInfo("Asia/Shanghai")  # timeoffset=8
LISTS = ["forumdisplay_fid3_page1.html", "forumdisplay_fid3_page2.html", "forumdisplay_fid3_typeid2.html",
         "forumdisplay_fid4_member.html"]
THREADS = ["viewthread_tid5_page1.html", "viewthread_tid5_page2.html", "viewthread_tid5_page3.html",
           "viewthread_tid10_short.html", "viewthread_tid12_sticky.html", "viewthread_tid6_edited.html",
           "viewthread_tid7_member.html", "viewthread_tid11_before_delete.html"]
PROMPTS = {  # page → (reason, HTTP status)
    "viewthread_tid11_deleted.html": ("not_found", 404),
    "viewthread_tid999_missing.html": ("not_found", 404),
    "forumdisplay_fid4_guest_loginwall.html": ("login_required", 200),
    "viewthread_tid7_guest_loginwall.html": ("login_required", 200),
    "forumdisplay_fid5_guest_loginwall.html": ("login_required", 200),  # no-permission words, but a guest's form
    "forumdisplay_fid5_member_nopermission.html": ("other", 200),  # a member: logging in again cannot help
    "viewthread_tid3_member_nopermission.html": ("other", 200),
}
RELATIVE_FORMS = ("秒前", "分钟前", "半小时前", "小时前", "昨天", "前天", "天前")


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((FIXTURES / "ground_truth.json").read_text("utf-8"))


@cache
def headers(name: str) -> tuple[int, dict[str, str]]:
    """(status, headers by lower-case name) of a page as served."""
    status_line, *lines = (FIXTURES / "_headers" / f"{name}.headers").read_text("utf-8").strip().splitlines()
    fields = {}
    for line in lines:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    return int(status_line.split()[1]), fields


def load(name: str, truth: dict, body: bytes | None = None) -> Page:
    """The page as the fetcher would have given it: URL, bytes, the server's clock, status, charset."""
    cap = truth["pages"][name]["capture"]
    status, fields = headers(name)
    server_now = parsedate_to_datetime(fields["date"]).astimezone(timezone.utc)
    assert server_now == utc(cap["fetched_unix"]) and status == int(cap["status"].split()[1])
    return Page(cap["url"], body if body is not None else (FIXTURES / name).read_bytes(), server_now,
                status=status, content_type=fields["content-type"])


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def minute(dt: datetime) -> str:
    return dt.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def stored_posts(truth: dict) -> dict[int, dict]:
    """Every stored post by pid, the deleted thread's too (from the action log)."""
    posts = {p["pid"]: {**p, "tid": t["tid"]} for t in truth["threads"] for p in t["posts"]}
    posts.update({p["pid"]: {**p, "tid": t["tid"]} for t in truth["deleted_threads"] for p in t["posts"]})
    return posts


def stored_threads(truth: dict) -> dict[int, dict]:
    return {t["tid"]: t for t in truth["threads"] + truth["deleted_threads"]}


def type_names(truth: dict) -> dict[int, str]:
    return {t["typeid"]: t["name"] for t in truth["threadtypes"]}


def shown_body(message: str) -> str:
    """A stored message as the page shows it: the [i=s] edit note apart, blank lines dropped."""
    message = re.sub(r"\[i=s\].*?\[/i\]", "", message, flags=re.S)
    return "\n".join(line.strip() for line in message.splitlines() if line.strip())


def assert_in_minute(got: datetime, precision: int, stored: int) -> None:
    """A time read to the minute the page shows: that minute, and the stored second within the precision."""
    assert minute(got) == minute(utc(stored))
    assert precision <= 30
    assert abs(got - utc(stored)) <= timedelta(seconds=precision)


def test_every_captured_page_has_its_ground_truth(truth):
    pages = {p.name for p in FIXTURES.glob("*.html")}
    assert pages == set(truth["pages"])
    assert pages == set(LISTS + THREADS) | set(PROMPTS) | {"index.html", "login_response.html"}
    for name in pages:
        assert detect_engine((FIXTURES / name).read_bytes()) == "discuz7", name


# ---- thread lists -------------------------------------------------------

@pytest.mark.parametrize("name", LISTS)
def test_thread_list_rows_match_stored_threads(name, truth):
    parsed = discuz7.parse_thread_list(load(name, truth), SITE)
    expected = truth["pages"][name]["extracted"]["threads"]
    threads, types = stored_threads(truth), type_names(truth)
    assert parsed.kind == "thread_list" and parsed.warnings == [] and parsed.complete
    assert parsed.fid == threads[expected[0]["tid"]]["fid"]
    assert [r.tid for r in parsed.threads] == [e["tid"] for e in expected]
    for row, exp in zip(parsed.threads, expected):
        stored = threads[row.tid]
        assert row.title == exp["subject"] == stored["subject"]
        assert (row.author, row.author_uid) == (exp["author"], user_id(exp["author_uid"]))
        assert (row.author, row.author_uid) == (stored["author"], user_id(stored["authorid"]))
        assert row.category_id == exp["typeid"] == (stored["typeid"] or None)
        assert row.category == exp["type"] == types.get(stored["typeid"])
        assert row.replies == exp["replies"] == stored["replies"]
        assert row.views == exp["views_at_capture"]
        assert row.last_poster == exp["lastposter"] == stored["lastposter"]
        assert row.sticky == (exp["tbody"] == "stickthread") == (stored["displayorder"] > 0)
        assert row.url == f"{BASE}viewthread.php?tid={row.tid}"
        # the thread's own date is a date only (Y-n-j): that day, known to half a day
        assert row.posted_precision == 12 * 3600
        assert row.posted_at.astimezone(TZ).date() == utc(stored["dateline"]).astimezone(TZ).date()
        assert abs(row.posted_at - utc(stored["dateline"])) <= timedelta(seconds=row.posted_precision)
        # the last post: the title's minute (or the absolute Y-n-j H:i); "40 秒前" narrows it to the second
        assert_in_minute(row.last_post_at, row.last_post_precision, stored["lastpost"])


def test_thread_list_pagination(truth):
    first = discuz7.parse_thread_list(load("forumdisplay_fid3_page1.html", truth), SITE)
    assert (first.fid, first.page, first.total_pages) == (3, 1, 2)
    assert first.next_page == f"{BASE}forumdisplay.php?fid=3&page=2"
    assert discuz7.page_number(first.next_page) == 2
    last = discuz7.parse_thread_list(load("forumdisplay_fid3_page2.html", truth), SITE)
    assert (last.page, last.total_pages, last.next_page) == (2, 2, None)
    assert all(not r.sticky for r in last.threads)
    category = discuz7.parse_thread_list(load("forumdisplay_fid3_typeid2.html", truth), SITE)
    assert (category.page, category.total_pages, category.next_page) == (1, 1, None)
    assert {r.category_id for r in category.threads} == {2}


def test_the_board_lists_every_stored_thread_of_the_board_once(truth):
    rows = [r for name in ("forumdisplay_fid3_page1.html", "forumdisplay_fid3_page2.html")
            for r in discuz7.parse_thread_list(load(name, truth), SITE).threads]
    assert sorted(r.tid for r in rows) == sorted(t["tid"] for t in truth["threads"] if t["fid"] == 3)


# ---- thread pages -------------------------------------------------------

@pytest.mark.parametrize("name", THREADS)
def test_thread_posts_match_stored_posts(name, truth):
    parsed = discuz7.parse_thread(load(name, truth), SITE)
    extracted = truth["pages"][name]["extracted"]
    expected, stored = extracted["posts"], stored_posts(truth)
    assert parsed.kind == "thread" and parsed.warnings == [] and parsed.complete
    assert [p.pid for p in parsed.posts] == [e["pid"] for e in expected]
    for post, exp in zip(parsed.posts, expected):
        truth_post = stored[post.pid]
        assert (post.author, post.author_uid) == (exp["author"], user_id(exp["author_uid"]))
        assert (post.author, post.author_uid) == (truth_post["author"], user_id(truth_post["authorid"]))
        assert post.floor == truth_post["floor"] == int(exp["floor_display"].rstrip("#"))
        assert_in_minute(post.posted_at, post.posted_precision, truth_post["dateline"])
        assert post.edit_note == exp["edit_note"] == truth_post.get("edit_note")
        body = shown_body(truth_post["message"]) if "message" in truth_post else exp["message_text"]
        assert post.body == body and "本帖最后由" not in post.body
    # the thread as the page gives it: a saved page's URL names no thread
    tid = stored[parsed.posts[0].pid]["tid"]
    thread = stored_threads(truth)[tid]
    assert parsed.tid == tid
    saved = discuz7.parse_thread(Page(f"{BASE}{name}", (FIXTURES / name).read_bytes(), parsed_now(name, truth)), SITE)
    assert saved.tid == tid and [p.pid for p in saved.posts] == [p.pid for p in parsed.posts]
    assert parsed.title == thread["subject"]  # no [分类] prefix, on every page (h1 on page 1, the nav after)
    if extracted["title"]:  # the opening post's page: the h1 carries the category link
        assert parsed.category == ((extracted["title"]["type_prefix_text"] or "").strip("[]") or None)
        assert parsed.category == type_names(truth).get(thread["typeid"])
    else:
        assert parsed.category is None  # 7.2 shows the category only in the h1 of page 1
    assert parsed.replies is None and parsed.views is None  # 7.2's thread page prints neither (the list does)


def parsed_now(name: str, truth: dict) -> datetime:
    return utc(truth["pages"][name]["capture"]["fetched_unix"])


def test_a_long_thread_is_read_across_its_three_pages(truth):
    seen, url, pages = [], None, []
    for name in ("viewthread_tid5_page1.html", "viewthread_tid5_page2.html", "viewthread_tid5_page3.html"):
        page = load(name, truth)
        if url is not None:  # the parser's own next-page link is the URL the page was fetched from
            assert url == page.url
        parsed = discuz7.parse_thread(page, SITE)
        pages.append((parsed.page, parsed.total_pages))
        seen += parsed.posts
        url = parsed.next_page
    assert url is None and pages == [(1, 3), (2, 3), (3, 3)]
    thread = stored_threads(truth)[5]
    assert [p.pid for p in seen] == [p["pid"] for p in thread["posts"]]
    assert [p.floor for p in seen] == list(range(1, len(thread["posts"]) + 1))
    assert len(seen) - 1 == thread["replies"] == 13  # the count the list gives


def test_the_edited_opening_post(truth):
    first = discuz7.parse_thread(load("viewthread_tid6_edited.html", truth), SITE).posts[0]
    assert first.edit_note == "本帖最后由 荆门老张 于 2027-1-14 16:20 编辑"
    assert first.body == "漳河风景区门票从60元涨到了80元，事先没有听证公示，请旅游局解释一下。\n补充：儿童票也涨了。"


def test_every_relative_form_appears_and_reads_to_its_minute(truth):
    """Each of dgmdate()'s forms is in the captured pages, and each reads to the stored minute."""
    shown: dict[str, list] = {form: [] for form in RELATIVE_FORMS}
    for name in THREADS:
        parsed = {p.pid: p for p in discuz7.parse_thread(load(name, truth), SITE).posts}
        for exp in truth["pages"][name]["extracted"]["posts"]:
            text = exp["posted_display"]["text"]
            form = next((f for f in RELATIVE_FORMS if f in text), None)
            if form:
                shown[form].append((text, parsed[exp["pid"]]))
    assert all(shown.values()), {k: len(v) for k, v in shown.items()}
    days = sorted(int(text.split()[0]) for text, _ in shown["天前"])
    assert days[0] >= 3 and days[-1] == 7  # N 天前 H:i: 3 to 7 calendar days back


@pytest.mark.parametrize("name", THREADS + LISTS)
def test_without_the_title_the_text_gives_the_time(name, truth):
    """A page whose spans lost their title: 'N 天前 H:i', '昨天 H:i', '前天 H:i' keep their minute
    (not noon); 'N 小时前', '半小时前', 'N 分钟前', 'N 秒前' count back from the server's clock."""
    body = re.sub(rb'<span title="[^"]*">', b"<span>", (FIXTURES / name).read_bytes())
    page = load(name, truth, body)
    stored = stored_posts(truth)
    extracted = truth["pages"][name]["extracted"]
    if "posts" in extracted:
        parsed = discuz7.parse_thread(page, SITE)
        pairs = [(e["posted_display"]["text"], p.posted_at, p.posted_precision, stored[p.pid]["dateline"])
                 for e, p in zip(extracted["posts"], parsed.posts)]
    else:
        threads = stored_threads(truth)
        parsed = discuz7.parse_thread_list(page, SITE)
        pairs = [(e["lastpost_display"]["text"], r.last_post_at, r.last_post_precision, threads[r.tid]["lastpost"])
                 for e, r in zip(extracted["threads"], parsed.threads)]
    assert parsed.warnings == [] and pairs
    for text, at, precision, true in pairs:
        assert abs(at - utc(true)) <= timedelta(seconds=precision), (text, at, precision)
        if ":" in text or "分钟前" in text:  # an H:i shown, or minutes counted: the minute itself
            assert precision == 30 and abs(at - utc(true)) <= timedelta(seconds=30), text
        elif "秒前" in text:
            assert precision <= 1
        elif "半小时前" in text:
            assert precision == 15 * 60
        else:
            assert "小时前" in text and precision == 1800


@pytest.mark.parametrize("text,true_time,precision", [
    ("7\xa0天前\xa009:12", datetime(2027, 1, 8, 9, 12, tzinfo=TZ), 30),  # 7 calendar days back, at 09:12
    ("发表于 3\xa0天前\xa019:35", datetime(2027, 1, 12, 19, 35, tzinfo=TZ), 30),
    ("发表于 半小时前", datetime(2027, 1, 15, 14, 15, tzinfo=TZ), 15 * 60),
    ("发表于 刚才", datetime(2027, 1, 15, 15, 0, tzinfo=TZ), 1),  # dgmdate's 0 s form (not in the captures)
])
def test_discuz7_relative_forms_after_their_label(text, true_time, precision):
    from scrapers.timeparse import parse_relative
    t = parse_relative(text, utc(1799996400), TZ)
    assert t.precision == precision and abs(t.at - true_time) <= timedelta(seconds=precision)


# ---- message pages ------------------------------------------------------

@pytest.mark.parametrize("name", list(PROMPTS))
def test_message_pages_say_why(name, truth):
    reason, status = PROMPTS[name]
    page = load(name, truth)
    assert page.status == status
    box = truth["pages"][name]["extracted"]["message_page"]
    parse = discuz7.parse_thread if name.startswith("viewthread") else discuz7.parse_thread_list
    for parsed in (parse(page, SITE), discuz7.parse_page(page, SITE)):
        assert (parsed.kind, parsed.reason) == ("prompt", reason)
        words = [p for p in box["paragraphs"] if not p.startswith("[ 点击这里返回")]  # the back link is no message
        assert parsed.message.startswith(" ".join(words))
        if box["allowed_groups_note"]:  # which groups may see the board: what the operator needs to know
            assert parsed.message.endswith(box["allowed_groups_note"])
        assert box["has_loginform"] == (reason == "login_required")


def test_a_deleted_thread_answered_with_404_reaches_the_engine_as_not_found(truth):
    """The fetcher hands a 404 page over with its status (no retry, no error): the engine reads it."""
    name = "viewthread_tid11_deleted.html"
    status, fields = headers(name)

    def serve(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == f"{BASE}viewthread.php?tid=11"
        return httpx.Response(status, headers={"Date": fields["date"], "Content-Type": fields["content-type"]},
                              content=(FIXTURES / name).read_bytes())

    with Fetcher(BASE, rate_limit=0, retries=0, transport=httpx.MockTransport(serve)) as fetcher:
        page = fetcher.get(discuz7.thread_url(SITE, 11))
    assert page.status == 404 and page.server_now == parsed_now(name, truth)
    parsed = discuz7.parse_thread(page, SITE)
    assert (parsed.kind, parsed.reason) == ("prompt", "not_found")
    assert parsed.message == "指定的主题不存在或已被删除或正在被审核，请返回。"


def test_the_login_wall_form_is_filled_and_the_login_answer_read(truth):
    action, fields = discuz7.login_form(load("forumdisplay_fid4_guest_loginwall.html", truth), SITE, "荆门老张", "pass1234")
    assert action == f"{BASE}logging.php?action=login&loginsubmit=yes"
    assert {"formhash": "46c0e983", "username": "荆门老张", "password": "pass1234", "loginfield": "username",
            "questionid": "0", "cookietime": "2592000", "loginsubmit": "true"}.items() <= fields.items()
    ok, message = discuz7.login_result(load("login_response.html", truth))
    assert ok and message == "欢迎您回来，荆门老张。现在将转入登录前页面。"
    assert discuz7.parse_page(load("login_response.html", truth), SITE).reason == "other"


# ---- the CLI ------------------------------------------------------------

def probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", "probe", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_probe_on_a_saved_thread_page_shows_the_opening_post_and_exact_times(truth):
    name = "viewthread_tid5_page1.html"
    args = (str(FIXTURES / name), "--engine", "discuz7", "--now", "2027-01-15T15:00:00+08:00", "--base-url", BASE)
    r = probe(*args, "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["kind"], data["tid"], data["title"], data["category"]) == (
        "thread", 5, "东宝区部分小区自来水发黄、有异味", "市供水公司")
    assert (data["page"], data["total_pages"]) == (1, 3)
    assert data["next_page"] == f"{BASE}viewthread.php?tid=5&extra=page%3D1&page=2"
    assert data["warnings"] == []
    stored = stored_posts(truth)
    expected = truth["pages"][name]["extracted"]["posts"]
    assert [p["pid"] for p in data["posts"]] == [e["pid"] for e in expected]
    for p in data["posts"]:
        truth_post = stored[p["pid"]]
        assert (p["floor"], p["author"], p["uid"]) == (truth_post["floor"], truth_post["author"],
                                                        str(truth_post["authorid"]))
        # "7 天前 09:12" in a span titled 2027-1-8 09:12: that minute, not noon
        assert p["posted_at"].startswith(truth_post["dateline_bj"][:16].replace(" ", "T"))
    assert data["posts"][0]["floor"] == 1 and data["posts"][0]["body"].startswith("东宝区泉口街道")
    text = probe(*args)
    assert text.returncode == 0, text.stderr
    assert "thread 5: [市供水公司] 东宝区部分小区自来水发黄、有异味" in text.stdout
    assert "2027-01-08T09:12" in text.stdout and "2027-01-11T07:50" in text.stdout and "T12:00:00" not in text.stdout


def test_probe_on_the_deleted_threads_page_is_a_not_found_prompt():
    r = probe(str(FIXTURES / "viewthread_tid11_deleted.html"), "--json", "--now", "2027-01-15T15:00:00+08:00",
              "--base-url", BASE)  # --engine auto: the page names Discuz! 7.2
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["engine"], data["kind"]) == ("discuz7", "prompt")
    assert data["prompt"] == {"reason": "not_found", "message": "指定的主题不存在或已被删除或正在被审核，请返回。"}
    text = probe(str(FIXTURES / "viewthread_tid11_deleted.html"), "--engine", "discuz7")
    assert text.returncode == 0 and "prompt page (not_found)" in text.stdout
