"""Discuz! X engine: URL builders and pure parsers for the desktop pages.

Board lists are ``forum.php?mod=forumdisplay&fid=F&page=P`` (rewritten
``forum-F-P.html``), threads ``forum.php?mod=viewthread&tid=T&page=P``
(rewritten ``thread-T-P-1.html``). Parsing uses lxml directly: BeautifulSoup
costs ~12x the time on a 100 KB thread page and the markup here is stable.
See ``shared/fixtures/real/NOTES_discuz_x_markup.md`` for the markup.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit
from zoneinfo import ZoneInfo

from scrapers.engine import fill_login_form, kind_parsers, login_reply, marker_parser, paged_url
from scrapers.lxmlutil import base_of, body_text, first_int, page_complete, text_of, xall, xfirst
from scrapers.records import (Post, ProfilePage, PromptPage, Site, ThreadListPage,
                              ThreadPage, ThreadRow)
from scrapers.timeparse import parse_forum_time

NAME = "discuz"

_UID = re.compile(r"(?:[?&]uid=|space-uid-)(\d+)")
_TYPEID = re.compile(r"typeid=(\d+)")
_REWRITTEN_LIST = re.compile(r"forum-(\d+)-(\d+)\.html")
_REWRITTEN_THREAD = re.compile(r"thread-(\d+)-(\d+)-\d+\.html")
_NOT_FOUND = ("不存在", "已被删除", "正在被审核", "没有找到")
_LOGIN = ("登录", "没有权限", "无权")


# ---- URLs ---------------------------------------------------------------

def board_url(site: Site, fid: int, page: int = 1) -> str:
    """URL of page ``page`` of board ``fid`` (newest last post first)."""
    return paged_url(site, f"forum.php?mod=forumdisplay&fid={fid}&orderby=lastpost", page)


def thread_url(site: Site, tid: int, page: int = 1) -> str:
    """URL of page ``page`` of thread ``tid``."""
    return paged_url(site, f"forum.php?mod=viewthread&tid={tid}", page)


def tid_from_url(url: str, site: Site | None = None) -> int | None:
    """The thread id a thread link names (viewthread&tid=T or thread-T-P-1.html)."""
    m = _REWRITTEN_THREAD.search(url) or re.search(r"[?&]tid=(\d+)", url)
    return int(m.group(1)) if m else None


def feed_url(site: Site, fid: int) -> str:
    """The board's RSS feed (forum.php?mod=rss&fid=F)."""
    return urljoin(site.base_url, f"forum.php?mod=rss&fid={fid}")


def page_number(url: str) -> int:
    """The page number a list or thread URL asks for (1 when none)."""
    m = _REWRITTEN_LIST.search(url) or _REWRITTEN_THREAD.search(url)
    if m:
        return int(m.group(2))
    values = parse_qs(urlsplit(url).query).get("page")
    return int(values[0]) if values and values[0].isdigit() else 1


# ---- helpers ------------------------------------------------------------

def uid_from_url(url: str | None, site: Site | None = None) -> str | None:
    """The uid in a space link (home.php?mod=space&uid=N or space-uid-N.html), as text ("9")."""
    m = _UID.search(url or "")
    return str(int(m.group(1))) if m else None


def time_of(el, server_now, tz):
    """A time element: the innermost span[@title] wins, else the text."""
    if el is None:
        return None
    titled = xall(el, ".//span[@title]")
    title = titled[-1].get("title") if titled else None
    return parse_forum_time(text_of(el), title, server_now, tz)


def pager(doc, base: str) -> tuple[int, int | None, str | None]:
    """(current page, total pages, next page URL) from div.pg."""
    # the pager sits in a known box on desktop pages (an id lookup, not a scan of the page)
    box = xfirst(doc, "id('pgt')|id('fd_page_top')")
    pg = xfirst(box, ".//div[@class='pg']") if box is not None else xfirst(doc, "//div[@class='pg']")
    if pg is None:
        return 1, 1, None
    current = first_int(text_of(xfirst(pg, "./strong"))) or 1
    total_el = xfirst(pg, ".//span[starts-with(@title,'共')]")
    total = first_int(total_el.get("title")) if total_el is not None else None
    if total is None:
        numbers = [first_int(text_of(a)) for a in xall(pg, "./a|./strong")]
        total = max([n for n in numbers if n] or [current])
    nxt = xfirst(pg, "./a[contains(concat(' ',@class,' '),' nxt ')]")
    return current, total, urljoin(base, nxt.get("href")) if nxt is not None else None


def detect_prompt(doc) -> PromptPage | None:
    """Discuz!'s message page (div#messagetext): deleted thread, login wall, …"""
    box = xfirst(doc, "//div[@id='messagetext']|//div[@class='jump_c']")
    if box is None:
        return None
    p = xfirst(box, "./p")
    message = text_of(p if p is not None else box)
    if any(k in message for k in _NOT_FOUND):
        reason = "not_found"
    elif any(k in message for k in _LOGIN) or xfirst(doc, "//div[@id='messagelogin']") is not None:
        reason = "login_required"
    else:
        reason = "other"
    return PromptPage(reason=reason, message=message)


# ---- thread list --------------------------------------------------------

def _thread_row(tbody, base: str, site: Site, server_now, tz: ZoneInfo) -> ThreadRow:
    tid = int(tbody.get("id").rsplit("_", 1)[1])
    link = xfirst(tbody, ".//a[contains(concat(' ',@class,' '),' xst ')]")
    cat = xfirst(tbody, ".//th//em/a[contains(@href,'typeid=')]")
    bys = xall(tbody, ".//td[contains(concat(' ',@class,' '),' by ')]")
    author_link = xfirst(bys[0], "./cite/a") if bys else None
    posted = time_of(xfirst(bys[0], "./em"), server_now, tz) if bys else None
    last_link = xfirst(bys[1], "./cite/a") if len(bys) > 1 else None
    last = time_of(xfirst(bys[1], "./em"), server_now, tz) if len(bys) > 1 else None
    num = xfirst(tbody, ".//td[@class='num']")
    replies = first_int(text_of(xfirst(num, "./a"))) if num is not None else None
    views = first_int(text_of(xfirst(num, "./em"))) if num is not None else None
    return ThreadRow(
        tid=tid,
        title=text_of(link),
        url=thread_url(site, tid),
        author=text_of(author_link) if author_link is not None else (text_of(xfirst(bys[0], "./cite")) or None) if bys else None,
        author_uid=uid_from_url(author_link.get("href")) if author_link is not None else None,
        posted_at=posted.at if posted else None,
        posted_precision=posted.precision if posted else 0,
        replies=replies,
        views=views,
        last_post_at=last.at if last else None,
        last_post_precision=last.precision if last else 0,
        last_poster=text_of(last_link) if last_link is not None else None,
        category=text_of(cat) if cat is not None else None,
        category_id=int(_TYPEID.search(cat.get("href")).group(1)) if cat is not None else None,
        sticky=tbody.get("id").startswith("stickthread_"),
    )


def _thread_list(doc, page, site: Site) -> ThreadListPage:
    table = xfirst(doc, "id('threadlisttableid')")
    base, tz = base_of(doc, page.url), ZoneInfo(site.timezone)
    rows, warnings = [], []
    for tbody in xall(doc, "//tbody[starts-with(@id,'normalthread_') or starts-with(@id,'stickthread_')]"):
        try:
            rows.append(_thread_row(tbody, base, site, page.server_now, tz))
        except (ValueError, AttributeError, IndexError) as exc:
            warnings.append(f"skipped row {tbody.get('id')}: {exc}")
    summary = table.get("summary", "") if table is not None else ""
    fid = first_int(summary) if summary.startswith("forum_") else first_int(parse_qs(urlsplit(page.url).query).get("fid", [""])[0])
    current, total, nxt = pager(doc, base)
    for row in rows:
        if row.posted_at is None or row.author is None:
            warnings.append(f"thread {row.tid}: author or post time not found")
    complete = page_complete(page.text, warnings)
    return ThreadListPage(fid=fid, threads=rows, page=current, total_pages=total,
                          next_page=nxt, warnings=warnings, complete=complete)


# ---- thread -------------------------------------------------------------

def floor_of(label: str, site: Site) -> int | None:
    if label in site.floor_labels:
        return site.floor_labels.index(label) + 1
    return first_int(label)


def _post_parts(table, pid: int) -> dict:
    """The elements of one post, found in a single pass over its table (the hot path)."""
    ids = {f"postnum{pid}": "floor", f"authorposton{pid}": "time", f"postmessage_{pid}": "message"}
    found: dict = {}
    for el in table.iter("a", "em", "td", "div", "i"):
        key = ids.get(el.get("id", ""))
        if key:
            found[key] = el
        elif el.tag == "i" and el.get("class") == "pstatus":
            found.setdefault("note", el)  # the edit note (本帖最后由 … 编辑)
        elif el.tag == "a" and "author" not in found and el.getparent().get("class") == "authi":
            found["author"] = el  # the first authi link is the left column's author name
        elif el.tag == "div" and el.get("class") == "pcb":
            found.setdefault("pcb", el)
    return found


def _post(table, site: Site, server_now, tz: ZoneInfo, position: int) -> Post:
    pid = int(table.get("id")[3:])
    parts = _post_parts(table, pid)
    author_link = parts.get("author")
    author = text_of(author_link) if author_link is not None else (
        text_of(xfirst(table, ".//td[contains(@class,'pls')]//div[@class='authi']")) or None)  # anonymous
    floor_el = parts.get("floor")
    floor = floor_of(text_of(floor_el), site) if floor_el is not None else position
    posted = time_of(parts.get("time"), server_now, tz)
    td = parts.get("message")
    if td is None:  # locked or banned-author posts have no message cell
        body, note = text_of(parts.get("pcb")), None
    else:
        note_el = parts.get("note")
        body, note = body_text(td, skip=note_el), (text_of(note_el) or None)
    return Post(pid=pid, floor=floor, author=author,
                author_uid=uid_from_url(author_link.get("href")) if author_link is not None else None,
                posted_at=posted.at if posted else None,
                posted_precision=posted.precision if posted else 0,
                body=body, edit_note=note)


def _thread(doc, page, site: Site) -> ThreadPage:
    postlist = xfirst(doc, "id('postlist')")
    base, tz = base_of(doc, page.url), ZoneInfo(site.timezone)
    posts, warnings = [], []
    current, total, nxt = pager(doc, base)
    for i, table in enumerate(xall(postlist, "./div[starts-with(@id,'post_')]/table[starts-with(@id,'pid')]")):
        try:
            posts.append(_post(table, site, page.server_now, tz, i + 1))
        except (ValueError, AttributeError) as exc:
            warnings.append(f"skipped post {table.get('id')}: {exc}")
    for p in posts:
        if p.posted_at is None:
            warnings.append(f"post {p.pid}: post time not found")
    counts = [first_int(text_of(s)) for s in
              xall(postlist, "./table[1]//td[contains(@class,'pls')]/div[contains(@class,'hm')]/span[@class='xi1']")]
    subject = xfirst(doc, "id('thread_subject')")
    cat = xfirst(doc, "id('thread_subject')/parent::h1/a[contains(@href,'typeid=')]")
    tid = first_int(parse_qs(urlsplit(page.url).query).get("tid", [""])[0])
    if tid is None:
        m = _REWRITTEN_THREAD.search(page.url)
        tid = int(m.group(1)) if m else None
    complete = page_complete(page.text, warnings)
    return ThreadPage(
        tid=tid, title=text_of(subject) or None, complete=complete,
        category=text_of(cat).strip("[]") if cat is not None else None,
        views=counts[0] if len(counts) > 0 else None,
        replies=counts[1] if len(counts) > 1 else None,
        posts=posts, page=current, total_pages=total, next_page=nxt, warnings=warnings)


# ---- login --------------------------------------------------------------

def login_url(site: Site) -> str:
    """The member login page (member.php?mod=logging&action=login)."""
    return urljoin(site.base_url, "member.php?mod=logging&action=login")


def login_form(page, site: Site, username: str, password: str) -> tuple[str, dict[str, str]]:
    """(action URL, fields) of the login form on ``page``, filled in; ParseError if none or a captcha."""
    return fill_login_form(page, {"username": username, "password": password, "answer": "",
                                  "cookietime": "2592000", "loginfield": "username"}, {"questionid": "0"},
                           ".//input[starts-with(@name,'seccodeverify') or @name='seccode']",
                           "member.php?mod=logging&action=login&loginsubmit=yes")


def login_result(page) -> tuple[bool, str]:
    """(succeeded, the forum's message) after posting the login form."""
    _, message = login_reply(page, detect_prompt)
    return any(k in message for k in ("欢迎您回来", "登录成功", "succeed")), message


# ---- profile ------------------------------------------------------------

_PROFILE_FIELDS = {"最后访问": "last_visit", "上次活动时间": "last_activity", "上次发表时间": "last_post",
                   "注册时间": "registered"}


def profile_url(site: Site, uid: str) -> str:
    """The member's profile page (活跃概况: 最后访问, 上次活动时间, 上次发表时间)."""
    return urljoin(site.base_url, f"home.php?mod=space&uid={uid}&do=profile")


def _profile(doc, page, site: Site) -> ProfilePage:
    tz = ZoneInfo(site.timezone)
    found: dict[str, object] = {}
    for em in xall(doc, "//li/em"):
        key = _PROFILE_FIELDS.get(text_of(em))
        if key:
            t = parse_forum_time((em.tail or "").strip(), None, page.server_now, tz)
            found[key] = t.at if t else None
    name = xfirst(doc, "//h2[contains(@class,'mbn') or contains(@class,'mt')]")
    warnings = [] if found else ["no 活跃概况 (last visit) fields on this profile page"]
    return ProfilePage(uid=uid_from_url(page.url), username=text_of(name).split("(")[0].strip() or None,
                       warnings=warnings, **{k: found.get(k) for k in _PROFILE_FIELDS.values()})


def parse_profile(page, site: Site) -> ProfilePage | PromptPage:
    """Parse a profile page; guests usually get a login prompt instead (allowviewprofile)."""
    return _parse(page, site, want="profile")


_KINDS = {"thread": ("id('postlist')", _thread, "no post list (div#postlist)"),
          "profile": ("//div[@id='ct']//li/em[.='最后访问' or .='注册时间']", _profile, "no profile fields"),
          "thread_list": ("id('threadlist')|id('threadlisttableid')", _thread_list,
                          "no thread list (table#threadlisttableid)")}

_parse = marker_parser(_KINDS, detect_prompt, "Discuz! X")
parse_thread_list, parse_thread, parse_page = kind_parsers(_parse)
