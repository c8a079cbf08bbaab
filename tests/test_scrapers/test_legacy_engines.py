"""Discuz! 7.x and phpwind 8.x/9.x parsers on pages generated from those engines' templates.

No real page of either engine with its original bytes was available (see the
engine modules' docstrings); these pages follow the engines' own default
templates, rendered by the demo forum from the bundled scenario, so every value
the parser reads can be checked against the scenario.
"""
from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.demoforum.render_legacy import pw_friendly, render_board, render_message, render_thread
from scrapers import detect_engine, discuz7, get_engine, phpwind
from scrapers.errors import ParseError
from scrapers.records import Page, Site
from scrapers.timeparse import parse_forum_time
from tests.helpers import TZ, local, scenario_copy

NOW = local(2011, 4, 1, 0, 0, 0)
SITE = Site("http://127.0.0.1:8089/")
ENGINE_OF = {"discuz7": "discuz7", "phpwind": "phpwind", "phpwind9": "phpwind"}  # demo flavor → engine
FLAVORS = list(ENGINE_OF)
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "real"


def page(url: str, html: str, encoding: str = "gbk") -> Page:
    """A page as served: GBK bytes found through the meta tag, or UTF-8 with its own meta."""
    if encoding != "gbk":
        html = html.replace("charset=gbk", f"charset={encoding}")
    return Page(url, html.encode(encoding, errors="xmlcharrefreplace"), NOW)


def board_page(s, flavor: str, fid: int = 2, page_no: int = 1, encoding: str = "gbk") -> Page:
    return page(get_engine(ENGINE_OF[flavor]).board_url(SITE, fid, page_no),
                render_board(s, fid, page_no, NOW, SITE.base_url, flavor), encoding)


def read_all_pages(s, flavor: str, tid: int) -> list:
    """Every post of a thread, following the parser's own next-page links."""
    eng, v = get_engine(ENGINE_OF[flavor]), s.visible(s.thread(tid), NOW)
    seen, url = [], eng.thread_url(SITE, tid)
    while url:
        n = eng.page_number(url)
        parsed = eng.parse_thread(page(url, render_thread(s, v, n, NOW, SITE.base_url, flavor)), SITE)
        assert parsed.kind == "thread" and parsed.page == n and not parsed.warnings
        seen += parsed.posts
        url = parsed.next_page
    return seen


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
@pytest.mark.parametrize("flavor", FLAVORS)
def test_board_page_rows_are_read_exactly(flavor, encoding):
    s = scenario_copy()
    eng = get_engine(ENGINE_OF[flavor])
    parsed = eng.parse_thread_list(board_page(s, flavor, encoding=encoding), SITE)
    shown = s.board_threads(2, NOW)[: s.threads_per_page]
    assert parsed.kind == "thread_list" and parsed.fid == 2 and not parsed.warnings and parsed.complete
    assert [r.tid for r in parsed.threads] == [v.tid for v in shown]
    for row, v in zip(parsed.threads, shown):
        first = v.posts[0]
        assert (row.title, row.author, row.author_uid) == (v.thread.subject, s.users[first.uid], str(first.uid))
        assert (row.replies, row.views, row.sticky) == (len(v.posts) - 1, v.views, v.thread.sticky)
        assert row.last_poster == s.users[v.last_post.uid]
        assert row.category == s.boards[2]["types"].get(v.thread.typeid)
        assert row.posted_precision == 12 * 3600  # a date only: Y-n-j (Discuz! 7), Y-m-d (phpwind)
        assert abs(row.posted_at - first.at) <= timedelta(hours=12)
        # the last post to the minute: Y-n-j H:i, a title Y-m-d H:i, or phpwind 9's m-d H:i without a year
        assert row.last_post_precision == 30 and abs(row.last_post_at - v.last_post.at) <= timedelta(seconds=30)
        assert row.url == eng.thread_url(SITE, v.tid)
    assert parsed.page == 1 and parsed.total_pages == -(-len(s.board_threads(2, NOW)) // s.threads_per_page)
    assert eng.page_number(parsed.next_page) == 2


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_sticky_thread_is_marked(flavor):
    s = scenario_copy()
    sticky = next(t for t in s.threads if t.sticky)
    parsed = get_engine(ENGINE_OF[flavor]).parse_thread_list(board_page(s, flavor, fid=sticky.fid), SITE)
    assert [r.tid for r in parsed.threads if r.sticky] == [sticky.tid]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_post_of_a_long_thread_is_read_across_its_pages(flavor):
    s = scenario_copy()
    hot = max(s.threads, key=lambda t: len(t.posts))
    v = s.visible(hot, NOW)
    seen = read_all_pages(s, flavor, hot.tid)
    expected_pids = [p.pid for p in v.posts]
    if flavor != "discuz7":  # the opening post's pid is "tpc" (8.x) or 0 (9.x): stored as -tid
        expected_pids[0] = -hot.tid
    assert [p.pid for p in seen] == expected_pids
    assert [p.floor for p in seen] == list(range(1, len(v.posts) + 1))
    assert [(p.author, p.author_uid) for p in seen] == [(s.users[q.uid], str(q.uid)) for q in v.posts]
    assert [p.body for p in seen] == [q.body for q in v.posts]
    for p, q in zip(seen, v.posts):
        assert abs(p.posted_at - q.at) <= timedelta(seconds=p.posted_precision)
    # Discuz! 7 and phpwind 9 show minutes ("发表于 2011-3-23 08:33"); phpwind 8's title carries the seconds
    assert {p.posted_precision for p in seen} == ({0} if flavor == "phpwind" else {30})


@pytest.mark.parametrize("flavor", FLAVORS)
def test_an_edited_post_gives_its_new_text_and_the_edit_note(flavor):
    s = scenario_copy()
    t, p = next((t, p) for t in s.threads for p in t.posts if p.edited_at)
    post = next(x for x in read_all_pages(s, flavor, t.tid) if x.author_uid == str(p.uid) and x.pid in (p.pid, -t.tid))
    assert post.body == p.edited_body
    assert post.edit_note and s.users[p.uid] in post.edit_note and "编辑" in post.edit_note


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_thread_title_and_counts(flavor):
    s = scenario_copy()
    t = next(t for t in s.threads if t.typeid and len(t.posts) > 2)
    v = s.visible(t, NOW)
    eng = get_engine(ENGINE_OF[flavor])
    parsed = eng.parse_thread(page(eng.thread_url(SITE, t.tid), render_thread(s, v, 1, NOW, SITE.base_url, flavor)),
                              SITE)
    assert parsed.tid == t.tid and parsed.title == t.subject
    assert parsed.category == s.boards[t.fid]["types"][t.typeid]
    if flavor != "discuz7":  # 阅读/回复 above the posts; Discuz! 7 shows them only in the list
        assert (parsed.views, parsed.replies) == (v.views, len(v.posts) - 1)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_pagers_past_seven_pages_and_on_the_last_page(flavor):
    s = scenario_copy()
    s.threads_per_page = 2  # dozens of pages: phpwind 8 adds 上一页/下一页 arrows past 7
    eng = get_engine(ENGINE_OF[flavor])
    total = -(-len(s.board_threads(2, NOW)) // 2)
    assert total > 7
    middle = eng.parse_thread_list(board_page(s, flavor, page_no=5), SITE)
    assert (middle.page, middle.total_pages, eng.page_number(middle.next_page)) == (5, total, 6)
    last = eng.parse_thread_list(board_page(s, flavor, page_no=total), SITE)
    assert (last.page, last.total_pages, last.next_page) == (total, total, None)


@pytest.mark.parametrize("flavor,message,reason", [
    ("discuz7", "指定的主题不存在或已被删除或正在被审核，请返回。", "not_found"),
    ("phpwind", "帖子不存在或已被删除", "not_found"),
    ("phpwind9", "该帖子不存在或已被删除", "not_found"),
    ("phpwind9", "该帖子已被删除", "not_found"),
    ("discuz7", "对不起，您还未登录，无权访问该版块。", "login_required"),
    ("phpwind", "本版块为正规版块,只有注册会员才能进入!", "login_required"),
    ("phpwind9", "您所在的用户组 (游客) 没有访问该版块的权限", "login_required"),  # 9.0: no login form
])
def test_prompt_pages_say_why(flavor, message, reason):
    s = scenario_copy()
    eng = get_engine(ENGINE_OF[flavor])
    html = render_message(s, message, SITE.base_url, flavor, login=reason == "login_required")
    parsed = eng.parse_thread(page(eng.thread_url(SITE, 14), html), SITE)
    assert (parsed.kind, parsed.reason) == ("prompt", reason) and message in parsed.message


@pytest.mark.parametrize("engine,fields", [
    ("discuz7", {"username": "监督员", "password": "pw", "formhash": "demohash", "loginsubmit": "true"}),
    ("phpwind", {"pwuser": "监督员", "pwpwd": "pw", "step": "2", "lgt": "0", "cktime": "31536000"}),
])
def test_the_login_form_is_found_and_filled(engine, fields):
    s = scenario_copy()
    eng = get_engine(engine)
    html = render_message(s, "请先登录", SITE.base_url, engine, login=True)
    action, filled = eng.login_form(page(eng.login_url(SITE), html), SITE, "监督员", "pw")
    assert action.startswith(SITE.base_url) and ("logging.php" in action or "login.php" in action)
    assert fields.items() <= filled.items()
    with pytest.raises(ParseError, match="no login form"):
        eng.login_form(page(eng.login_url(SITE), "<html><body><p>维护中</p></body></html>"), SITE, "a", "b")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_truncated_thread_page_keeps_its_posts_and_says_so(flavor):
    s = scenario_copy()
    hot = max(s.threads, key=lambda t: len(t.posts))
    eng = get_engine(ENGINE_OF[flavor])
    html = render_thread(s, s.visible(hot, NOW), 1, NOW, SITE.base_url, flavor)
    cut = html[: html.rindex("</table>", 0, len(html) // 2 + 4000)]
    parsed = eng.parse_thread(page(eng.thread_url(SITE, hot.tid), cut), SITE)
    assert not parsed.complete and parsed.posts and any("truncated" in w for w in parsed.warnings)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_page_of_another_kind_or_changed_markup_is_an_error_not_zero_threads(flavor):
    eng = get_engine(ENGINE_OF[flavor])
    with pytest.raises(ParseError, match="no thread list"):
        eng.parse_thread_list(page(eng.board_url(SITE, 2), "<html><body><div id='x'>改版了</div></body></html>"), SITE)
    s = scenario_copy()
    html = render_board(s, 2, 1, NOW, SITE.base_url, flavor)
    html = html.replace('<td class="author">', '<td class="poster">').replace('<p class="info">', '<p class="meta">')
    parsed = eng.parse_thread_list(page(eng.board_url(SITE, 2), html), SITE)
    assert parsed.threads and any("author or post time not found" in w for w in parsed.warnings)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_generated_pages_name_their_engine(flavor):
    s = scenario_copy()
    assert detect_engine(board_page(s, flavor).body) == ENGINE_OF[flavor]
    assert detect_engine(render_message(s, "x", SITE.base_url, flavor).encode("gbk")) == ENGINE_OF[flavor]


@pytest.mark.skipif(not REAL.is_dir(), reason=f"the shared real pages are not beside this checkout ({REAL})")
def test_real_discuz_x_pages_are_still_named_discuz_x():
    local_x = REAL / "discuz-x35-local"
    assert detect_engine((local_x / "desktop_viewthread_tid5_page1.html").read_bytes()) == "discuz"
    assert detect_engine((local_x / "desktop_forumdisplay_fid3_page1.html").read_bytes()) == "discuz"
    assert detect_engine((local_x / "touch_viewthread_tid5_page1.html").read_bytes()) == "discuz-touch"
    assert detect_engine((local_x / "api4_viewthread_tid5_page1.json").read_bytes()) == "discuz-api"


@pytest.mark.parametrize("url,tid,page_no", [
    ("http://bbs.example.cn/read.php?tid=123", 123, 1),
    ("http://bbs.example.cn/read.php?tid=123&page=4", 123, 4),
    ("http://bbs.example.cn/read-htm-tid-123-page-2.html", 123, 2),
    ("http://bbs.example.cn/htm_data/2/1103/123.html", 123, 1),
    ("http://www.phpwind.net/read/123", 123, 1),
    ("http://bbs.example.cn/read.php?tid=123&fid=2&page=3", 123, 3),
])
def test_phpwind_thread_urls_in_their_rewritten_forms(url, tid, page_no):
    assert phpwind.tid_from_url(url) == tid and phpwind.page_number(url) == page_no


def test_discuz7_thread_urls():
    assert discuz7.tid_from_url("http://bbs.example.cn/viewthread.php?tid=88&extra=page%3D1") == 88
    assert discuz7.tid_from_url("http://bbs.example.cn/thread-88-2-1.html") == 88
    assert discuz7.board_url(SITE, 3, 2) == SITE.base_url + "forumdisplay.php?fid=3&orderby=lastpost&page=2"


@pytest.mark.parametrize("ago", [timedelta(seconds=40), timedelta(minutes=25), timedelta(hours=5),
                                 timedelta(days=1, hours=2), timedelta(days=2, hours=1), timedelta(days=40),
                                 timedelta(days=400)])
def test_phpwinds_friendly_times_read_back_within_their_precision(ago):
    """getLastDate()'s forms: N秒前, N分钟前, N小时前, 昨天/前天 H:i, m-d (this year), Y-m-d."""
    s = copy.copy(scenario_copy())
    now = local(2011, 11, 20, 23, 0, 0)
    at = now - ago
    text = pw_friendly(at, now, s)
    parsed = parse_forum_time(text, None, now, TZ)
    assert parsed is not None, text
    slack = timedelta(seconds=parsed.precision) + timedelta(minutes=1 if "分钟" in text else 0,
                                                              hours=1 if "小时" in text else 0)
    assert abs(parsed.at - at) <= slack, (text, parsed)


def test_a_phpwind9_thread_page_is_never_read_as_an_empty_board():
    """phpwind 9 names both its thread table and its posts' container #J_posts_list."""
    s = scenario_copy()
    t = max(s.threads, key=lambda t: len(t.posts))
    html = render_thread(s, s.visible(t, NOW), 1, NOW, SITE.base_url, "phpwind9")
    with pytest.raises(ParseError, match="no thread list"):
        phpwind.parse_thread_list(page(phpwind.board_url(SITE, 2), html), SITE)
    assert phpwind.parse_page(page(phpwind.thread_url(SITE, t.tid), html), SITE).kind == "thread"
    board = render_board(s, 2, 1, NOW, SITE.base_url, "phpwind9")
    assert phpwind.parse_page(page(phpwind.board_url(SITE, 2), board), SITE).kind == "thread_list"
