"""Discuz! 7.x (and 6.x) engine: the pre-X boards older city forums still run.

Board lists are ``forumdisplay.php?fid=F&page=P``, threads
``viewthread.php?tid=T&page=P`` (rewritten ``forum-F-P.html`` and
``thread-T-P-1.html`` as in X). The markup is that of Discuz! 7.0's
``templates/default``: each post is ``div#post_PID > table#pidPID`` with the
author in ``td.postauthor``, the time in ``em#authorpostonPID`` ("发表于 2009-12-3
10:22", minute precision), the floor in ``a#postnumPID`` and the message in
``td#postmessage_PID``; thread rows are ``tbody#normalthread_T`` /
``tbody#stickthread_T`` with ``td.author``, ``td.nums`` (replies/views) and
``td.lastpost``; the pager is ``div.pages`` (``strong`` = this page,
``a.next``); prompts are ``div.showmessage``. No real 7.x page was available:
the tests read pages generated from those templates.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit
from zoneinfo import ZoneInfo

from scrapers import discuz
from scrapers.engine import fill_login_form, kind_parsers, login_reply, marker_parser, paged_url
from scrapers.lxmlutil import base_of, body_text, first_int, page_complete, text_of, xall, xfirst
from scrapers.records import Post, PromptPage, Site, ThreadListPage, ThreadPage, ThreadRow
from scrapers.timeparse import parse_forum_time

NAME = "discuz7"
tid_from_url = discuz.tid_from_url  # viewthread.php?tid=T and thread-T-P-1.html, as in X
page_number = discuz.page_number
floor_of = discuz.floor_of

_UID = re.compile(r"(?:space\.php\?(?:.*&)?uid=|space-uid-)(\d+)")
_EDIT_NOTE = re.compile(r"^\[?\s*本帖最后由 .+? 于 .+? 编辑\s*\]?$")
_NOT_FOUND = ("不存在", "已被删除", "正在被审核", "没有找到")
_LOGIN = ("登录", "无权", "没有权限", "未登录")


# ---- URLs ---------------------------------------------------------------

def board_url(site: Site, fid: int, page: int = 1) -> str:
    """URL of page ``page`` of board ``fid`` (newest last post first, the default order)."""
    return paged_url(site, f"forumdisplay.php?fid={fid}&orderby=lastpost", page)


def thread_url(site: Site, tid: int, page: int = 1) -> str:
    """URL of page ``page`` of thread ``tid``."""
    return paged_url(site, f"viewthread.php?tid={tid}", page)


def feed_url(site: Site, fid: int) -> str:
    """The board's RSS feed (rss.php?fid=F)."""
    return urljoin(site.base_url, f"rss.php?fid={fid}")


def uid_from_url(url: str | None, site: Site | None = None) -> str | None:
    """The uid in a member link (space.php?uid=N or space-uid-N.html), as text ("9")."""
    m = _UID.search(url or "")
    return str(int(m.group(1))) if m else None


# ---- shared pieces ------------------------------------------------------

def pager(doc, base: str) -> tuple[int, int | None, str | None]:
    """(current page, total pages, next page URL) from div.pages (no div: one page)."""
    pages = xfirst(doc, "//div[@class='pages']")
    if pages is None:
        return 1, 1, None
    current = first_int(text_of(xfirst(pages, "./strong"))) or 1
    numbers = [first_int(text_of(a)) for a in xall(pages, "./a[not(@class='prev') and not(@class='next')]")]
    total = max([n for n in numbers if n] + [current])
    nxt = xfirst(pages, "./a[@class='next']")
    return current, total, urljoin(base, nxt.get("href")) if nxt is not None else None


def detect_prompt(doc) -> PromptPage | None:
    """Discuz! 7's message page (div.showmessage): deleted thread, login wall, …"""
    box = xfirst(doc, "//div[@class='showmessage']")
    if box is None:
        return None
    first = xfirst(box, "./p")
    message = text_of(first) if first is not None else text_of(box)
    if any(k in message for k in _NOT_FOUND):
        reason = "not_found"
    elif any(k in message for k in _LOGIN) or xfirst(box, ".//form[@id='loginform']") is not None:
        reason = "login_required"
    else:
        reason = "other"
    return PromptPage(reason=reason, message=message)


# ---- thread list --------------------------------------------------------

def _thread_row(tbody, site: Site, server_now, tz: ZoneInfo) -> ThreadRow:
    tid = int(tbody.get("id").rsplit("_", 1)[1])
    link = xfirst(tbody, ".//span[@id=$id]/a", id=f"thread_{tid}")
    author_td, last_td = xfirst(tbody, ".//td[@class='author']"), xfirst(tbody, ".//td[@class='lastpost']")
    author_link = xfirst(author_td, "./cite/a") if author_td is not None else None
    posted = parse_forum_time(text_of(xfirst(author_td, "./em")), None, server_now, tz) if author_td is not None else None
    last = parse_forum_time(text_of(xfirst(last_td, "./em")), None, server_now, tz) if last_td is not None else None
    nums = xfirst(tbody, ".//td[@class='nums']")
    cat = xfirst(tbody, ".//th//em/a[contains(@href,'typeid=')]")
    return ThreadRow(
        tid=tid, title=text_of(link), url=thread_url(site, tid),
        author=text_of(author_link) if author_link is not None else (
            text_of(xfirst(author_td, "./cite")) or None if author_td is not None else None),
        author_uid=uid_from_url(author_link.get("href")) if author_link is not None else None,
        posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
        replies=first_int(text_of(xfirst(nums, "./strong"))) if nums is not None else None,
        views=first_int(text_of(xfirst(nums, "./em"))) if nums is not None else None,
        last_post_at=last.at if last else None, last_post_precision=last.precision if last else 0,
        last_poster=text_of(xfirst(last_td, "./cite")) or None if last_td is not None else None,
        category=text_of(cat) if cat is not None else None,
        category_id=first_int(re.search(r"typeid=(\d+)", cat.get("href")).group(1)) if cat is not None else None,
        sticky=tbody.get("id").startswith("stickthread_"))


def _thread_list(doc, page, site: Site) -> ThreadListPage:
    base, tz = base_of(doc, page.url), ZoneInfo(site.timezone)
    rows, warnings = [], []
    for tbody in xall(doc, "id('threadlist')//tbody[starts-with(@id,'normalthread_') or starts-with(@id,'stickthread_')]"):
        try:
            rows.append(_thread_row(tbody, site, page.server_now, tz))
        except (ValueError, AttributeError, IndexError, TypeError) as exc:
            warnings.append(f"skipped row {tbody.get('id')}: {exc}")
    for row in rows:
        if row.posted_at is None or row.author is None:
            warnings.append(f"thread {row.tid}: author or post time not found")
    table = xfirst(doc, "id('threadlist')//table[starts-with(@summary,'forum_')]")
    fid = first_int(table.get("summary")) if table is not None else first_int(
        parse_qs(urlsplit(page.url).query).get("fid", [""])[0])
    current, total, nxt = pager(doc, base)
    return ThreadListPage(fid=fid, threads=rows, page=current, total_pages=total, next_page=nxt,
                          warnings=warnings, complete=page_complete(page.text, warnings))


# ---- thread -------------------------------------------------------------

def _author(table) -> tuple[str | None, str | None]:
    """(name, uid) of a post's author: the left column's link, the posterlink, or guest text."""
    link = xfirst(table, ".//td[@class='postauthor']/div[@class='postinfo']/a"
                         "|.//div[@class='authorinfo']/a[@class='posterlink']"
                         "|.//div[@class='popuserinfo']/p/a")
    if link is not None:
        return text_of(link) or None, uid_from_url(link.get("href"))
    avatar = xfirst(table, ".//td[@class='postauthor']/div[@class='avatar']")
    guest = xfirst(avatar, "./a") if avatar is not None else None
    name = (guest.text or "").strip() if guest is not None else text_of(avatar).split(" ")[0]
    return name or None, None  # 游客 (guest) or 匿名 (anonymous)


def _post(table, site: Site, server_now, tz: ZoneInfo, position: int) -> Post:
    pid = int(table.get("id")[3:])
    author, uid = _author(table)
    floor_el = xfirst(table, ".//a[@id=$id]", id=f"postnum{pid}")
    floor = floor_of(text_of(floor_el).replace("#", "").strip(), site) if floor_el is not None else position
    when = xfirst(table, ".//em[@id=$id]", id=f"authorposton{pid}")
    posted = parse_forum_time(text_of(when), None, server_now, tz) if when is not None else None
    td = xfirst(table, ".//td[@id=$id]", id=f"postmessage_{pid}")
    if td is None:  # banned post or author: a div.locked notice instead of the message
        return Post(pid=pid, floor=floor, author=author, author_uid=uid,
                    posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
                    body=text_of(xfirst(table, ".//div[@class='locked']")))
    note_el = xfirst(td, ".//i[@class='pstatus']")
    body = body_text(td, skip=note_el)
    note = text_of(note_el) or None
    lines = body.split("\n")
    if note is None and lines and _EDIT_NOTE.match(lines[0]):  # 7.0 writes the note as plain text
        note, body = lines[0].strip("[] "), "\n".join(lines[1:])
    return Post(pid=pid, floor=floor, author=author, author_uid=uid,
                posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
                body=body, edit_note=note)


def _thread(doc, page, site: Site) -> ThreadPage:
    base, tz = base_of(doc, page.url), ZoneInfo(site.timezone)
    posts, warnings = [], []
    for i, table in enumerate(xall(doc, "id('postlist')/div[starts-with(@id,'post_')]/table[starts-with(@id,'pid')]")):
        try:
            posts.append(_post(table, site, page.server_now, tz, i + 1))
        except (ValueError, AttributeError) as exc:
            warnings.append(f"skipped post {table.get('id')}: {exc}")
    for p in posts:
        if p.posted_at is None:
            warnings.append(f"post {p.pid}: post time not found")
    current, total, nxt = pager(doc, base)
    title = xfirst(doc, "id('threadtitle')/h1")
    cat = xfirst(doc, "id('nav')/a[contains(@href,'typeid=')]")
    tid = first_int(parse_qs(urlsplit(page.url).query).get("tid", [""])[0]) or tid_from_url(page.url)
    return ThreadPage(tid=tid, title=text_of(title) or None, category=text_of(cat).strip("[]") if cat is not None else None,
                      views=None, replies=None, posts=posts, page=current, total_pages=total, next_page=nxt,
                      warnings=warnings, complete=page_complete(page.text, warnings))


# ---- login --------------------------------------------------------------

def login_url(site: Site) -> str:
    """The member login page (logging.php?action=login)."""
    return urljoin(site.base_url, "logging.php?action=login")


def login_form(page, site: Site, username: str, password: str) -> tuple[str, dict[str, str]]:
    """(action URL, fields) of the login form, filled in; ParseError if none or a captcha."""
    return fill_login_form(page, {"username": username, "password": password, "loginfield": "username",
                                  "answer": "", "cookietime": "2592000", "loginsubmit": "true"},
                           {"questionid": "0"}, ".//input[@name='seccodeverify' or @name='secanswer']",
                           "logging.php?action=login&loginsubmit=yes")


def login_result(page) -> tuple[bool, str]:
    """(succeeded, the forum's message) after posting the login form."""
    _, message = login_reply(page, detect_prompt)
    return any(k in message for k in ("欢迎您回来", "登录成功")), message


# ---- parse --------------------------------------------------------------

_KINDS = {"thread": ("id('postlist')", _thread, "no post list (div#postlist)"),
          "thread_list": ("id('threadlist')", _thread_list, "no thread list (div#threadlist)")}

_parse = marker_parser(_KINDS, detect_prompt, "Discuz! 7")
parse_thread_list, parse_thread, parse_page = kind_parsers(_parse)
