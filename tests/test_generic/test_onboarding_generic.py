"""``spokeswatch forum add URL --engine generic``: a ``generic:`` block proposed from a forum's own pages.

End to end on the real Spirit forum (django-spirit from PyPI, as test_spirit_forum.py runs it):
the operator types ``forum add``, finds a commented block in config.yaml, fills in what only
they know (the spokesperson's account, a polite rate, the empty-board marker) and polls; every
thread, post, author, time and count the forum holds must be stored. The proposal's heuristics
are also run on other markup (a table-based 留言板 built here, the demo forum's phpwind and
Discuz! pages), and on pages without the structure they look for.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import httpx
import pytest

from monitor.config import load_config, parse_config
from monitor.generic_proposal import ProposalError, check_block, propose_board, propose_thread, render_block
from tests.helpers import ROOT
from tests.test_generic.local_server import page_map_handler, serving
from tests.test_generic.spirit_site import SPOKESPERSON
from tests.test_generic.test_spirit_forum import TZ

EXE = [sys.executable, "-m", "monitor"]


def run(*args, cwd=ROOT, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([*EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ})


def _get(url: str) -> tuple[str, str]:
    """(html, final url) of a page, redirects followed."""
    r = httpx.get(url, follow_redirects=True, timeout=30)
    r.raise_for_status()
    return r.text, str(r.url)


# ---- the whole onboarding, as the operator types it ---------------------------------------

HEADER = "# the office's config: these comments must survive forum add\n"


def test_forum_add_generic_proposes_a_block_that_polls_spirit_correctly(spirit, tmp_path):
    cfg = tmp_path / "config.yaml"
    db = tmp_path / "db.sqlite3"
    cfg.write_text(f"{HEADER}database: sqlite:///{db}   # kept too\nforums: []\n", "utf-8")
    fid = spirit.data["category"]
    board = f"{spirit.base_url}category/{fid}/"

    added = run("forum", "add", board, "--engine", "generic", "--id", "spirit", "-c", str(cfg))
    assert added.returncode == 0, added.stderr
    out = added.stdout
    assert f"generic, board {fid} (网络问政): 20 threads on its first page" in out
    assert "read with the block: 20 threads, 20 posts" in out
    assert "added forum spirit (engine generic) with board 3" in out
    assert f"spokeswatch probe {board} -c {cfg} --forum spirit" in out  # the next command to run
    assert "OK — 1 forum(s), 1 board(s)" in out  # config check passed on the written file

    text = cfg.read_text("utf-8")
    assert text.startswith(HEADER) and "# kept too" in text
    assert "# added by `spokeswatch forum add --engine generic`" in text
    assert "# TODO empty:" in text and "# TODO check: programme" in text  # left for the operator, said so
    assert "replies_from: posts" in text  # the list's 2 is the thread page's 2 posts: the opening post counts
    generic = load_config(cfg).forum("spirit").generic
    assert generic.board_url.startswith("category/{fid}/") and generic.thread_url == "topic/{tid}/"
    assert generic.tid_pattern == r"/topic/(\d+)/" and generic.uid_pattern == r"/user/(\d+)/"
    assert generic.time_formats == ["%Y年%m月%d日 %H:%M"]
    t, p = generic.threads, generic.posts
    assert (t.row, t.link, t.replies, t.last_post_time) == (
        ".layout__topics__topic", ".topic__link@href", ".topic__comments", ".topic__date@title")
    assert t.time is None and t.next_page and "chevron-right" in t.next_page
    assert (p.post, p.pid, p.floor, p.body, p.title) == (
        ".comments_list__comment", "@data-pk", "@data-number", ".comment__text", "h1.headline")
    assert p.author and p.author_link.endswith("@href") and p.time.endswith("@title") and p.next_page

    # probe shows what the block extracts
    probed = run("probe", board, "--json", "-c", str(cfg), "--forum", "spirit")
    assert probed.returncode == 0, probed.stderr
    data = json.loads(probed.stdout)
    assert data["engine"] == "generic" and len(data["threads"]) == 20 and data["next_page"]
    newest = spirit.data["topics"][-1]
    assert data["threads"][0]["tid"] == newest["pk"] and data["threads"][0]["title"] == newest["title"]
    assert data["threads"][0]["replies"] == len(newest["comments"]) - 1

    # the operator finishes the block: the spokesperson's account, no rate limit on this test
    # forum, and what the forum shows on a board without threads
    uid = spirit.data["users"][SPOKESPERSON]
    text = cfg.read_text("utf-8")
    text = text.replace("rate_limit: 1 ", "rate_limit: 0 ")
    text = text.replace("# TODO empty:", 'empty: ".layout__topics p"   #')
    text += f"units:\n  - id: water\n    name: 市水务局\n    accounts:\n      - {{forum: spirit, uid: {uid}}}\n"
    cfg.write_text(text, "utf-8")
    checked = run("config", "check", "-c", str(cfg))
    assert checked.returncode == 0, checked.stderr

    polled = run("poll", "-c", str(cfg))
    assert polled.returncode == 0, polled.stderr
    assert "spirit: ok" in polled.stdout and "25 threads read, 56 new posts" in polled.stdout

    from sqlalchemy import select

    from models.tables import PostRecord, ThreadRecord
    from monitor.service import Service
    svc = Service(load_config(cfg))
    try:
        with svc.repo.session("t") as s:
            threads = {t.tid: t for t in s.scalars(select(ThreadRecord))}
            posts = {p.pid: p for p in s.scalars(select(PostRecord))}
        assert set(threads) == {t["pk"] for t in spirit.data["topics"]}
        assert set(posts) == {c["pk"] for t in spirit.data["topics"] for c in t["comments"]}
        uids = spirit.data["users"]
        for topic in spirit.data["topics"]:
            thread = threads[topic["pk"]]
            comments = topic["comments"]
            assert thread.title == topic["title"]
            assert thread.replies == len(comments) - 1  # replies_from: posts
            assert sum(1 for p in posts.values() if p.thread_id == thread.id) == len(comments)
            last = datetime.fromisoformat(comments[-1]["at"]).replace(tzinfo=TZ)
            assert abs(thread.last_post_at - last) <= timedelta(seconds=thread.last_post_precision)
            for floor, c in enumerate(comments, start=1):
                p = posts[c["pk"]]
                assert (p.author, p.author_uid, p.floor) == (c["user"], str(uids[c["user"]]), floor)
                truth = datetime.fromisoformat(c["at"]).replace(tzinfo=TZ)
                assert p.posted_precision == 30 and abs(p.posted_at - truth) <= timedelta(seconds=30)
                assert p.posted_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") == truth.strftime("%Y-%m-%d %H:%M")
                assert p.body == c["text"]
                assert (p.unit_id == "water") == (c["user"] == SPOKESPERSON)
        result = svc.check(datetime(2026, 12, 31, tzinfo=TZ), full=True)
        assert result.states["answered_in_time"] == 7 and result.states["overdue"] == 18
    finally:
        svc.close()

    # a second board of the same forum: read with the forum's own block (an empty one, now that
    # the operator said what an empty board shows)
    more = run("forum", "add", f"{spirit.base_url}category/2/", "--id", "spirit", "-c", str(cfg))
    assert more.returncode == 0, more.stderr
    assert "generic (forum spirit's selectors), board 2" in more.stdout and "0 threads" in more.stdout
    assert "added board 2 to forum spirit" in more.stdout and "OK — 1 forum(s), 2 board(s)" in more.stdout
    again = run("forum", "add", board, "-c", str(cfg))  # under the forum's base_url: that forum, no new one
    assert again.returncode == 0 and "already configured on forum spirit" in again.stdout


def test_forum_add_says_what_is_wrong_without_a_traceback(spirit, tmp_path, table_site):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database: sqlite:///{tmp_path / 'db.sqlite3'}\nforums: []\n", "utf-8")
    # auto: a URL that is no Discuz!/phpwind board says to try the generic engine
    auto = run("forum", "add", f"{spirit.base_url}category/3/", "-c", str(cfg))
    assert auto.returncode == 2 and "no board id in the URL" in auto.stderr and "--engine generic" in auto.stderr
    # a page with no repeated structure
    flat = run("forum", "add", f"{table_site}about.html", "--engine", "generic", "-c", str(cfg))
    assert flat.returncode == 2 and "Traceback" not in flat.stderr
    assert flat.stderr.startswith("error: ") and "no repeated rows with thread links found" in flat.stderr
    # a board URL without a number: the board's id is asked for
    no_id = run("forum", "add", f"{table_site}latest.asp", "--engine", "generic", "-c", str(cfg))
    assert no_id.returncode == 2 and "--fid" in no_id.stderr
    assert cfg.read_text("utf-8").endswith("forums: []\n")  # nothing written
    # --id of a generic forum that does not read the page: refused, its selectors named
    other = tmp_path / "other.yaml"
    other.write_text(f"database: sqlite:///{tmp_path / 'db.sqlite3'}\nforums: []\n", "utf-8")
    assert run("forum", "add", f"{table_site}list.asp?lm=3", "--engine", "generic", "--id", "board",
               "-c", str(other)).returncode == 0
    no_fid = run("forum", "add", f"{table_site}about.html", "--id", "board", "-c", str(other))
    assert no_fid.returncode == 2 and "no board id where forum board's board_url" in no_fid.stderr
    wrong = run("forum", "add", f"{table_site}about.html", "--id", "board", "--fid", "9", "-c", str(other))
    assert wrong.returncode == 2 and "forum board's selectors do not read it as a board" in wrong.stderr
    assert "selector threads.row" in wrong.stderr and "Traceback" not in wrong.stderr


def test_an_incomplete_proposal_is_written_commented_out_and_the_config_stays_valid(table_site, tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database: sqlite:///{tmp_path / 'db.sqlite3'}\nforums: []\n", "utf-8")
    r = run("forum", "add", f"{table_site}list.asp?lm=4", "--engine", "generic", "-c", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "incomplete (posts.pid)" in r.stdout
    text = cfg.read_text("utf-8")
    assert "# ---- NOT ACTIVE" in text and "#   - id: 127-0-0-1" in text and "#         # TODO pid:" in text
    assert parse_config(text.replace("forums: []", "forums: [{id: x, name: x, base_url: 'http://x/', "
                                                   "boards: [{fid: 1}]}]"), "c.yaml")


# ---- the proposal on the pages themselves ------------------------------------------------

def test_propose_on_spirit_pages(spirit):
    fid = spirit.data["category"]
    html, final = _get(f"{spirit.base_url}category/{fid}/")
    board = propose_board(html, f"{spirit.base_url}category/{fid}/", final)
    assert board.fid == fid and board.base_url == spirit.base_url
    assert board.board_url == "category/{fid}/?page={page}" and board.thread_url == "topic/{tid}/"
    assert [r.tid for r in board.rows] == [t["pk"] for t in reversed(spirit.data["topics"])][:20]
    assert board.key("time?").value == ".topic__date@title"  # one time per row: which one, the thread tells
    busy = next(r for r in board.rows if len(r.url) and r.count == 25)
    first = board.rows[0]
    thread_html, thread_url = _get(busy.url)
    first_html, first_url = _get(first.url)
    posts = propose_thread(thread_html, thread_url, board, [(first_html, first_url)])
    assert posts.post_count == 20
    assert board.key("last_post_time").value == ".topic__date@title" and board.key("time?") is None
    assert board.key("replies_from").value == "posts"
    assert board.uid_pattern == r"/user/(\d+)/"
    check = check_block(board, posts, html, thread_html)
    assert (check.threads, check.posts, check.error) == (20, 20, None)
    block = render_block(board, posts, "spirit", "Spirit", "programme")
    assert "# TODO author:" in block  # the board shows no authors: said, not guessed
    cfg = parse_config(f"database: sqlite:///x.sqlite3\n{block}", "c.yaml")
    assert cfg.forum("spirit").generic.posts.pid == "@data-pk"


ITEMS = [  # id, title, asker, asker id, posts (who, when, text)
    (1001, "小区停水三天了什么时候来水", "zhangsan", "张三", [("张三", "2026-11-02 09:00:00", "已经停水三天。"),
                                                    ("市供水公司", "2026-11-03 10:00:00", "已抢修完毕。")]),
    (1002, "路灯不亮", "lisi", "李四", [("李四", "2026-11-04 20:00:00", "东宝路路灯不亮。")]),
    (1003, "水压太低", "wangwu", "王五", [("王五", "2026-11-05 08:30:00", "六楼水压太低。"),
                                     ("张三", "2026-11-05 09:30:00", "我家也是。"),
                                     ("市供水公司", "2026-11-06 16:00:00", "已调整加压泵。")]),
    (1004, "公交站牌被撞倒", "zhangsan", "张三", [("张三", "2026-11-07 07:45:00", "站牌倒了。")]),
]
POST_IDS = iter(range(5001, 6000))
PIDS = {item[0]: [next(POST_IDS) for _ in item[4]] for item in ITEMS}
USERS = {"张三": "zhangsan", "李四": "lisi", "王五": "wangwu", "市供水公司": "gongshui"}


def _table_board(lm: int) -> str:
    """A table-based board: a header row, rows without classes, counts in columns, a 下一页 link."""
    rows = "".join(
        f"<tr class='{'odd' if n % 2 else 'even'}'><td><a href='show.asp?id={i[0]}&amp;lm={lm}'>{i[1]}</a></td>"
        f"<td><a href='/member/{i[2]}'>{i[3]}</a></td><td>{len(i[4]) - 1}</td><td>{100 + i[0] % 7}</td>"
        f"<td>{i[4][-1][1][:16]}</td></tr>" for n, i in enumerate(reversed(ITEMS)))
    return (f"<html><head><meta charset='utf-8'><title>民生热线 - 市长信箱</title></head><body>"
            f"<div class='nav'><a href='/'>首页</a> <a href='about.html'>关于</a></div>"
            f"<table class='list'><tr><th>标题</th><th>留言人</th><th>回复</th><th>浏览</th><th>最后回复</th></tr>"
            f"{rows}</table><div class='pager'><span>1</span> <a href='list.asp?lm={lm}&amp;page=2'>2</a> "
            f"<a href='list.asp?lm={lm}&amp;page=2'>下一页</a></div></body></html>")


def _table_thread(item, with_ids: bool = True) -> str:
    posts = "".join(
        f"<div class='reply'{f' id=reply_{pid}' if with_ids else ''}><div class='head'><em class='floor'>{n}楼</em> "
        f"<a class='poster' href='/member/{USERS[who]}'>{who}</a> <span class='when'>发表于 {at}</span></div>"
        f"<div class='content'><p>{text}</p></div><div class='tools'><a href='#'>举报</a> 分享</div></div>"
        for n, ((who, at, text), pid) in enumerate(zip(item[4], PIDS[item[0]]), start=1))
    return (f"<html><head><meta charset='utf-8'><title>{item[1]}</title></head><body>"
            f"<div class='nav'><a href='/'>首页</a></div><h2 class='subject'>{item[1]}</h2>"
            f"<div class='replies'>{posts}</div></body></html>")


@pytest.fixture(scope="module")
def table_site():
    """Board 3 as above; board 4 the same but its posts carry no ids; about.html a page without rows."""
    pages = {"/list.asp?lm=3": _table_board(3), "/list.asp?lm=4": _table_board(4),
             "/latest.asp": _table_board(3),
             "/about.html": "<html><body><h1>关于我们</h1><p>市长信箱受理市民来信。</p><a href='/'>首页</a></body></html>"}
    for item in ITEMS:
        pages[f"/show.asp?id={item[0]}&lm=3"] = _table_thread(item)
        pages[f"/show.asp?id={item[0]}&lm=4"] = _table_thread(item, with_ids=False)

    with serving(page_map_handler(pages)) as base:
        yield base


def test_propose_on_a_table_based_board():
    base = "http://gov.example.cn/"
    board = propose_board(_table_board(3), f"{base}list.asp?lm=3")
    assert board.fid == 3 and board.base_url == base
    assert board.board_url == "list.asp?lm={fid}&page={page}" and board.thread_url == "show.asp?id={tid}&lm=3"
    assert [r.tid for r in board.rows] == [1004, 1003, 1002, 1001]
    assert board.uid_pattern == "/member/([^/?#]+)"  # user ids are names here
    assert board.time_formats == ["%Y-%m-%d %H:%M"]
    keys = {k.name: k.value for k in board.threads}
    assert keys["next_page"] == 'a:-soup-contains("下一页")@href' or keys["next_page"].endswith('下一页")@href')
    assert keys["replies"] and keys["views"] and keys["replies"] != keys["views"]  # told apart by the header
    assert "nth-of-type(3)" in keys["replies"] and "nth-of-type(4)" in keys["views"]
    item = ITEMS[2]
    posts = propose_thread(_table_thread(item), f"{base}show.asp?id={item[0]}&lm=3", board)
    p = {k.name: k.value for k in posts.posts}
    assert p["post"] == ".reply" and p["pid"] == "@id" and p["pid_pattern"] == r"^reply_(\d+)$"
    assert p["author"] == ".poster" and p["time"] == ".when" and p["floor"] == ".floor"
    assert p["body"] == ".content" and p["title"] == "h2.subject"
    assert "发表于 %Y-%m-%d %H:%M:%S" in board.time_formats
    assert board.key("replies_from") is None  # the list shows 2 for 3 posts: plain replies
    assert board.key("time?") is None and board.key("last_post_time").value  # the list's time is the last post's

    from scrapers import generic
    from scrapers.records import Page, Site
    from monitor.generic_proposal import block_options
    site = Site(base, options=block_options(board, posts))
    now = datetime(2026, 12, 1)
    rows = generic.parse_thread_list(Page(f"{base}list.asp?lm=3", _table_board(3).encode(), now), site).threads
    assert [(r.tid, r.author, r.author_uid, r.replies) for r in rows][:2] == [
        (1004, "张三", "zhangsan", 0), (1003, "王五", "wangwu", 2)]
    read = generic.parse_thread(Page(f"{base}show.asp?id=1003&lm=3", _table_thread(item).encode(), now), site)
    assert [(x.pid, x.floor, x.author, x.author_uid, x.body) for x in read.posts] == [
        (pid, n, who, USERS[who], text) for n, ((who, _, text), pid) in enumerate(zip(item[4], PIDS[1003]), 1)]
    assert read.posts[0].posted_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S") == "2026-11-05 08:30:00"


@pytest.mark.parametrize("flavor,board_path,row,link,pattern", [
    ("phpwind", "thread.php?fid=2", ".tr3", ".subject_t@href", r"read\.php\?(?:.*&)?tid=(\d+)"),
    ("discuz-x", "forum.php?mod=forumdisplay&fid=2", 'tbody[id^="normalthread_"]', ".xst@href",
     r"forum\.php\?(?:.*&)?tid=(\d+)"),
])
def test_propose_on_the_demo_forums_markup(flavor, board_path, row, link, pattern):
    """The demo forum's phpwind and Discuz! X pages (GBK): other markup, the same heuristics."""
    from scrapers.fetch import Fetcher
    from tests.helpers import start_forum
    forum = start_forum(**({} if flavor == "discuz-x" else {"flavor": flavor}))
    try:
        with Fetcher(forum.base_url, rate_limit=0) as fetcher:
            page = fetcher.get(forum.base_url + board_path)
            board = propose_board(page.text, page.url)
            first = fetcher.get(board.rows[0].url)
            posts = propose_thread(first.text, first.url, board)
            check = check_block(board, posts, page.text, first.text)
    finally:
        forum.stop()
    keys = {k.name: k.value for k in board.threads}
    assert (keys["row"], keys["link"], board.tid_pattern, board.fid) == (row, link, pattern, 2)
    # phpwind 8.7 heads its rows from a table of their own: the one count is replies or views?
    assert board.uid_pattern and keys["author_link"] and keys.get("replies", keys.get("replies?")) and keys["next_page"]
    assert board.key("replies_from") is None  # these forums count replies without the opening post
    assert check.threads == 20 and check.error is None
    if flavor == "discuz-x":
        p = {k.name: k.value for k in posts.posts}
        assert (p["pid"], p["pid_pattern"], p["body"]) == ("@id", r"^post_(\d+)$", ".t_f")
        assert check.posts == posts.post_count > 1


def test_pages_without_the_structure_give_a_clear_error():
    with pytest.raises(ProposalError, match="no repeated rows with thread links found"):
        propose_board("<html><body><h1>关于</h1><p>text</p><a href='/a/1'>a</a></body></html>", "http://x.cn/b/1")
    board = propose_board(_table_board(3), "http://x.cn/list.asp?lm=3")
    with pytest.raises(ProposalError, match="no repeated posts found"):
        propose_thread("<html><body><h2>路灯不亮</h2><p>东宝路路灯不亮。</p></body></html>",
                       "http://x.cn/show.asp?id=1002&lm=3", board)


def test_thread_links_with_a_title_before_the_id_leave_thread_url_to_the_operator():
    rows = "".join(f"<li class='topic-list-item'><a class='title' href='/t/{slug}/{tid}'>{title}</a>"
                   f"<span class='posts'>{n}</span></li>"
                   for slug, tid, title, n in (("water-is-yellow", 41, "Water is yellow", 3),
                                               ("no-street-lights", 42, "No street lights", 1),
                                               ("bus-stop-down", 43, "Bus stop knocked down", 5)))
    html = f"<html><body><ul class='topics'>{rows}</ul></body></html>"
    board = propose_board(html, "http://forum.example.org/c/city/7")
    assert board.tid_pattern == r"/t/[^/]+/(\d+)" and board.thread_url is None
    assert [r.tid for r in board.rows] == [41, 42, 43] and board.fid == 7
    assert any("thread links carry more than the id" in n for n in board.notes)


def test_propose_on_real_discuz_pages(ground_truth):
    """Saved Discuz! X3.5 pages (../shared/fixtures/real): markup nobody wrote for this test."""
    from scrapers import generic
    from scrapers.records import Page, Site
    from monitor.generic_proposal import block_options
    from tests.conftest import real_dir
    folder = real_dir() / "discuz-x35-local"
    base, now = ground_truth["base_url"], datetime(2026, 11, 30, 5, 18, tzinfo=TZ)

    def page(name: str, url: str) -> Page:
        return Page(url, (folder / name).read_bytes(), now)
    board_page = page("desktop_forumdisplay_fid3_page1.html", f"{base}forum.php?mod=forumdisplay&fid=3")
    thread_page = page("desktop_viewthread_tid5_page1.html", f"{base}forum.php?mod=viewthread&tid=5")
    board = propose_board(board_page.text, board_page.url)
    posts = propose_thread(thread_page.text, thread_page.url, board)
    t, p = {k.name: k.value for k in board.threads}, {k.name: k.value for k in posts.posts}
    assert (board.fid, board.board_url, board.thread_url) == (
        3, "forum.php?mod=forumdisplay&fid={fid}&page={page}", "forum.php?mod=viewthread&tid={tid}")
    assert (t["link"], t["author"], t["next_page"]) == (".xst@href", ".by a", "div.pg a.nxt@href")
    assert (p["pid"], p["pid_pattern"], p["author"], p["body"], p["title"]) == (
        "@id", r"^post_(\d+)$", ".xw1", ".t_f", "#thread_subject")
    site = Site(board.base_url, options=block_options(board, posts))
    listed = generic.parse_thread_list(board_page, site)
    shown = ground_truth["pages"]["api4_forumdisplay_fid3_page1.json"]["extracted"]["threads"]
    assert [(r.tid, r.author, r.author_uid) for r in listed.threads] == [
        (int(t["tid"]), t["author"], t["authorid"]) for t in shown]
    read = generic.parse_thread(thread_page, site)
    truth = next(t for t in ground_truth["threads"] if t["tid"] == 5)["posts"][:len(read.posts)]
    assert len(read.posts) >= 5 and read.next_page
    assert [(p.pid, p.author, p.author_uid) for p in read.posts] == [
        (t["pid"], t["author"], str(t["authorid"])) for t in truth]


# ---- addresses, counts and times as the engine reads them ---------------------------------

def _topics(links: list[tuple[str, str]], cls: str = "topic") -> str:
    return "".join(f"<li class='{cls}'><a class='title' href='{href}'>{title}</a></li>" for href, title in links)


def test_literal_braces_in_addresses_stay_literal_in_the_templates():
    from monitor.onboarding import _thread_page
    from scrapers.records import Page
    links = [("/t/{abc}/41", "Water is yellow"), ("/t/{abc}/42", "No street lights"), ("/t/{abc}/43", "Bus stop")]
    board = propose_board(f"<html><body><ul class='topics'>{_topics(links)}</ul></body></html>",
                          "http://forum.example.org/{b}/list/7")
    assert board.thread_url == "t/{{abc}}/{tid}" and board.tid_pattern == r"/t/\{abc\}/(\d+)"
    assert board.thread_url.format(tid=41, page=1) == "t/{abc}/41"
    assert board.board_url.format(fid=7, page=1) == "{b}/list/7"

    class Fetcher:  # what onboarding asks for: the thread page where a poll will ask for it
        asked: list[str] = []

        def get(self, url):
            self.asked.append(url)
            return Page(url, b"<html></html>", datetime.now())
    fetcher = Fetcher()
    _thread_page(fetcher, board, board.rows[0])
    assert fetcher.asked == ["http://forum.example.org/t/{abc}/41"] and board.thread_url


def test_rows_linking_to_another_host_are_not_the_boards_threads():
    offsite = _topics([(f"http://other.example.net/t/{n}", f"A friendly site with a long name, number {n}")
                       for n in (11, 12, 13, 14)], "site")
    with pytest.raises(ProposalError, match=r"no repeated rows with thread links found .* on forum\.example\.org"):
        propose_board(f"<html><body><ul class='links'>{offsite}</ul></body></html>", "http://forum.example.org/c/7")
    own = _topics([("/t/41", "Water"), ("/t/42", "Lights"), ("/t/43", "Bus stop")])
    board = propose_board(f"<html><body><ul class='links'>{offsite}</ul><ul class='topics'>{own}</ul></body></html>",
                          "http://forum.example.org/c/7")
    assert [r.tid for r in board.rows] == [41, 42, 43] and board.thread_url == "t/{tid}"
    assert board.key("row").value == ".topic"


def test_counts_and_relative_times_are_read_as_the_engine_reads_them():
    from monitor.generic_proposal import time_format
    rows = "".join(f"<li class='topic'><a class='title' href='/t/{tid}'>Topic number {tid}</a>"
                   f"<span class='replies'>{n}</span><span class='when'>{when}</span></li>"
                   for tid, n, when in ((41, "1.2万", "3 天前"), (42, "3", "2 hours ago"), (43, "1,015", "昨天 10:30")))
    board = propose_board(f"<html><body><ul class='topics'>{rows}</ul></body></html>", "http://forum.example.org/c/7")
    assert [r.count for r in board.rows] == [12000, 3, 1015]
    assert board.key("replies").value == ".replies" and board.key("time?").value == ".when"
    assert [time_format(t) for t in ("3 天前", "2 hours ago", "刚刚", "alice 3 天前", "1700000000", "3.5k")] == [
        "relative", "relative", "relative", None, None, None]


JSON_FORUM = """database: sqlite:///{db}
forums:
  - id: liuyan
    name: 市长信箱
    base_url: http://gov.example.cn/
    engine: generic
    generic:
      format: json
      board_url: "gov/api/message/list"
      board_body: '{{"columnId": {{fid}}, "pageNum": {{page}}}}'
      thread_url: "gov/api/message/detail?id={{tid}}"
      time_formats: ["%Y-%m-%d %H:%M:%S"]
      threads: {{row: data.list, tid: id, title: title, author: userName, time: createTime}}
      posts: {{post: "data | [@]", pid: "#tid", title: data.title, body: content}}
    boards:
      - {{fid: 7, name: 市长信箱, kind: programme}}
"""


def test_a_board_of_a_json_forum_is_asked_for_as_a_poll_asks(tmp_path):
    from monitor.errors import SpokeswatchError
    from monitor.onboarding import add_generic_board
    from scrapers.records import Page
    cfg = tmp_path / "config.yaml"
    cfg.write_text(JSON_FORUM.format(db=tmp_path / "db.sqlite3"), "utf-8")
    answer = {"code": 200, "data": {"list": [
        {"id": 5001 + i, "title": f"第{i + 1}号留言", "userName": "网友", "createTime": "2026-11-02 09:00:17"}
        for i in range(3)]}}

    class Fetcher:
        asked: list = []

        def request(self, method, url, *, content=None, headers=None):
            self.asked.append((method, url, json.loads(content) if content else None))
            return Page(url, json.dumps(answer).encode(), datetime.now(), content_type="application/json")

        def get(self, url):
            return self.request("GET", url)
    fetcher = Fetcher()
    page = "http://gov.example.cn/gov/message/list.html"
    with pytest.raises(SpokeswatchError, match="JSON API.*--fid"):
        add_generic_board(cfg, page, "liuyan", fetcher=fetcher)
    added = add_generic_board(cfg, page, "liuyan", fid=8, fetcher=fetcher)
    assert fetcher.asked == [("POST", "http://gov.example.cn/gov/api/message/list#fid=8&page=1",
                              {"columnId": 8, "pageNum": 1})]
    assert "board 8 (no name), 3 threads on its first page" in added.lines[0]
    by_fragment = add_generic_board(cfg, "http://gov.example.cn/gov/api/message/list#fid=9", "liuyan",
                                    fetcher=fetcher)
    assert "added board 9 to forum liuyan" in by_fragment.lines[-1]
    assert [b.fid for b in load_config(cfg).forum("liuyan").boards] == [7, 8, 9]


PW87 = ROOT / "tests" / "fixtures" / "phpwind87-real"


def test_propose_on_pages_a_real_phpwind_87_served():
    """A real phpwind 8.7 board and thread page (tests/fixtures/phpwind87-real): the posts are the
    four div.read_t, not the page's two top blocks (div#top, div.wrap) that only share the body;
    the body is the post's text, not the profile panel beside it (which links the author again);
    readFace_0, _1, … (a counter, the same on every page) is not taken for the posts' ids."""
    truth = json.loads((PW87 / "ground_truth.json").read_text("utf-8"))
    base = truth["base_url"]
    board_html = (PW87 / "thread_fid3_page1.html").read_text("utf-8")
    board = propose_board(board_html, f"{base}thread.php?fid=3")
    thread_html = (PW87 / "read_tid6_page1.html").read_text("utf-8")
    first_row = ((PW87 / "read_tid9_topped.html").read_text("utf-8"), f"{base}read.php?tid=9")
    posts = propose_thread(thread_html, f"{base}read.php?tid=6", board, [first_row])
    keys = {k.name: k.value for k in board.threads} | {k.name: k.value for k in posts.posts}
    assert (keys["row"], keys["link"], keys["replies?"]) == (".tr3", ".subject_t@href", ".num em")  # no pid: no vote
    assert (keys["post"], keys["author"], keys["time"]) == (".read_t", ".readName a", ".tipTop span[title]@title")
    assert keys["pid"] is None  # the opening post's only id is "tpc": the phpwind engine is the way
    contents = [p["content"] for p in sorted((p for p in truth["posts"] if p["tid"] == 6), key=lambda p: p["floor"])]
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(thread_html, "lxml")
    assert [" ".join(p.select_one(keys["body"]).get_text().split()) for p in soup.select(keys["post"])] == contents[:4]


def test_forum_add_generic_on_a_known_engine_says_which_engine_reads_it(tmp_path):
    truth = json.loads((PW87 / "ground_truth.json").read_text("utf-8"))
    pages: dict[str, str] = {}
    with serving(page_map_handler(pages)) as url:
        for name in ("thread_fid3_page1.html", "read_tid6_page1.html", "read_tid9_topped.html"):
            path = "/" + truth["pages"][name]["url"]
            pages[path] = (PW87 / name).read_text("utf-8").replace(truth["base_url"], url)
        config = tmp_path / "config.yaml"
        config.write_text("forums: []\n", "utf-8")
        r = run("forum", "add", f"{url}thread.php?fid=3", "--engine", "generic", "-c", str(config))
    assert r.returncode in (0, 1), r.stderr
    assert f"the page names its software (phpwind): `spokeswatch forum add {url}thread.php?fid=3`" in r.stdout + r.stderr


@pytest.mark.parametrize("folder,board_page,thread_page", [
    ("discuz72-real", "forumdisplay_fid3_page1.html", "viewthread_tid5_page1.html"),
    ("phpwind9-real", "thread_fid3_page1.html", "read_tid4_page1.html"),
])
def test_propose_on_board_pages_real_engines_served(folder, board_page, thread_page):
    """Rows that share no class: Discuz! 7.2's tbody#stickthread_N / #normalthread_N, phpwind 9.0's
    bare tr beside a "普通主题" row, whose subject link shares a.st with the [分类] link. The rows are
    named by the thread link they hold; the block reads every thread the page lists."""
    from scrapers import generic
    from scrapers.records import Page, Site

    truth = json.loads((ROOT / "tests" / "fixtures" / folder / "ground_truth.json").read_text("utf-8"))
    shown = truth["pages"][board_page]
    url = shown["capture"]["url"]
    html = (ROOT / "tests" / "fixtures" / folder / board_page).read_text("utf-8", errors="replace")
    board = propose_board(html, url)
    thread_html = (ROOT / "tests" / "fixtures" / folder / thread_page).read_text("utf-8", errors="replace")
    posts = propose_thread(thread_html, truth["pages"][thread_page]["capture"]["url"], board)
    check = check_block(board, posts, html, thread_html)
    tids = [t["tid"] for t in shown["extracted"]["threads"]]
    assert check.error is None and check.threads == len(tids)
    from monitor.generic_proposal import block_options
    site = Site(board.base_url, "Asia/Shanghai", options=block_options(board, posts))
    listed = generic.parse_thread_list(Page(url, html.encode("utf-8"), datetime.now().astimezone(),
                                            content_type="text/html; charset=utf-8"), site)
    assert [r.tid for r in listed.threads] == tids  # a topped thread listed twice is listed twice
    assert {r.title for r in listed.threads} == {t["subject"] for t in shown["extracted"]["threads"]}
