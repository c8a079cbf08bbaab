"""Discuz! 7.x (and 6.x) engine: the pre-X boards older city forums still run.

Board lists are ``forumdisplay.php?fid=F&page=P``, threads
``viewthread.php?tid=T&page=P`` (rewritten ``forum-F-P.html`` and
``thread-T-P-1.html`` as in X). Proven on pages served by a real Discuz! 7.2
(``tests/fixtures/discuz72-real``); Discuz! 7.0's variants are kept where they differ.

* Thread rows: ``tbody#normalthread_T`` / ``tbody#stickthread_T``; the category
  ``<em>[<a …typeid=K>名称</a>]</em>`` before ``span#thread_T > a``; ``td.author``
  (``cite > a[href=space.php?uid=N]``, the thread's date ``em`` as ``Y-n-j``);
  ``td.nums`` (``strong`` replies, ``em`` views); ``td.lastpost`` (``cite > a
  [href=space.php?username=…]``, the time in ``em > a``).
* Posts: ``div#post_PID > table#pidPID``; author ``div.authorinfo > a.posterlink``
  (7.0: ``td.postauthor > div.postinfo > a``); floor ``a#postnumPID`` (``<em>N</em><sup>#</sup>``);
  time ``em#authorpostonPID``; message ``td#postmessage_PID`` with the edit note in ``i.pstatus``.
* Times (``dgmdate``): within a week relative, always inside ``<span title="Y-n-j H:i">``
  (``N 秒前``, ``N 分钟前``, ``半小时前``, ``N 小时前``, ``昨天 H:i``, ``前天 H:i``,
  ``N 天前 H:i``); the title's minute is read, else the text (its H:i where shown); older: ``Y-n-j H:i``.
* Thread page: the thread id from the floor links' ``setCopy(…tid=T…)`` / ``ptid=T``, the
  只看该作者 links, the pager, the favourites link or the head script; the title and
  category from ``div#threadtitle > h1`` (``<a …typeid=K>[名称]</a> 标题``, page 1 only)
  or the subject at the end of ``div#nav``. The reply count is not on the page (the list has it).
* Pager ``div.pages`` (``strong`` = this page, ``a.next``).
* Message pages: 7.2's ``div.alert_win > div.postbox > div.alert_error|alert_info|alert_right``
  (a deleted or missing thread is answered with HTTP 404; a guest's wall carries
  ``form#loginform``), 7.0's ``div.showmessage``.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

from scrapers import discuz
from scrapers.engine import fill_login_form, kind_parsers, login_reply, marker_parser, paged_url
from scrapers.lxmlutil import base_of, body_text, first_int, page_complete, text_of, xall, xfirst
from scrapers.records import Post, PromptPage, Site, ThreadListPage, ThreadPage, ThreadRow
from scrapers.timeparse import parse_absolute, parse_relative

NAME = "discuz7"
tid_from_url = discuz.tid_from_url  # viewthread.php?tid=T and thread-T-P-1.html, as in X
page_number = discuz.page_number
floor_of = discuz.floor_of

_UID = re.compile(r"(?:space\.php\?(?:.*&)?uid=|space-uid-)(\d+)")
_USERNAME = re.compile(r"space\.php\?(?:.*&)?username=([^&#]+)")
_EDIT_NOTE = re.compile(r"^\[?\s*本帖最后由 .+? 于 .+? 编辑\s*\]?$")
_NOT_FOUND = ("不存在", "已被删除", "正在被审核", "没有找到")
_LOGIN = ("未登录", "请先登录", "登录后", "需要登录")  # 对不起，您还未登录，无权访问该版块。
_NO_PERMISSION = ("无权", "没有权限")  # 对不起，您无权访问该版块: a login helps a guest, not a member
_TID = re.compile(r"[?&](?:amp;)?p?tid=(\d+)")  # viewthread.php?tid=T, findpost&ptid=T, favorites&tid=T
_SCRIPT_TID = re.compile(r"\btid\s*=\s*parseInt\('(\d+)'\)")
_SCRIPT_UID = re.compile(r"\bdiscuz_uid\s*=\s*'?(\d+)")
_TIME_LABEL = re.compile(r"^\s*发表于\s*")
_PREFIX = re.compile(r"^(?:\[[^\]]+\]\s*)+$")  # '[名称] ' prefixes shown as plain text (no link)
_CLASS = "contains(concat(' ', normalize-space(@class), ' '), ' {} ')"


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


def _text(el) -> str:
    """An element's text without its scripts, whitespace folded."""
    return " ".join("".join(el.xpath(".//text()[not(ancestor::script)]")).replace("\xa0", " ").split())


def _member(doc) -> bool:
    """Whether the page was served to a logged-in member (the head script's discuz_uid > 0)."""
    script = xfirst(doc, "//script[contains(., 'discuz_uid')]")
    m = _SCRIPT_UID.search(script.text or "") if script is not None else None
    return bool(m and int(m.group(1)))


def _message_box(doc) -> tuple[str, object] | None:
    """(message, the box a login form would be in) of a message page, or None."""
    win = xfirst(doc, f"//div[{_CLASS.format('alert_win')}]")
    alert = xfirst(win, f".//div[{_CLASS.format('postbox')}]/div[{_CLASS.format('alert_error')} or "
                        f"{_CLASS.format('alert_info')} or {_CLASS.format('alert_right')}]") if win is not None else None
    if alert is not None:  # 7.2: <p> lines (the last one a p.alert_btnleft back link), then the groups allowed
        lines = [_text(p) for p in xall(alert, "./p[not(@class='alert_btnleft')]")] or [_text(alert)]
        groups = xfirst(alert, "following-sibling::div[contains(., '有权访问')]")
        if groups is not None:
            lines.append(_text(groups))
        return " ".join(line for line in lines if line), win
    box = xfirst(doc, "//div[@class='showmessage']")  # 7.0
    if box is None:
        return None
    first = xfirst(box, "./p")
    return (_text(first) if first is not None else _text(box)), box


def detect_prompt(doc) -> PromptPage | None:
    """Discuz! 7's message page: deleted or missing thread, login wall, no permission, …

    A guest refused gets the login form under the message (``form#loginform``), whatever the
    wording: that is a login wall. A logged-in member refused ("无权访问该版块", no form) is
    ``other``: logging in again cannot help, the account lacks the group the board wants."""
    found = _message_box(doc)
    if found is None:
        return None
    message, box = found
    if any(k in message for k in _NOT_FOUND):
        reason = "not_found"
    elif xfirst(box, ".//form[@id='loginform']") is not None or any(k in message for k in _LOGIN):
        reason = "login_required"
    elif any(k in message for k in _NO_PERMISSION):
        reason = "other" if _member(doc) else "login_required"
    else:
        reason = "other"
    return PromptPage(reason=reason, message=message)


def _time(el, server_now, tz: ZoneInfo):
    """A shown time: the span's title (Y-n-j H:i, the exact minute) and its text ("7 天前 09:12")."""
    if el is None:
        return None
    span = xfirst(el, ".//span[@title]")
    text = _TIME_LABEL.sub("", text_of(span if span is not None else el))
    shown = parse_absolute(text, tz) or parse_relative(text, server_now, tz)
    exact = parse_absolute(span.get("title"), tz) if span is not None else None
    if exact is None:
        return shown
    # the title's minute wins; the text only narrows it ("40 秒前" inside that minute)
    if shown is not None and shown.precision < exact.precision and \
            abs((shown.at - exact.at).total_seconds()) + shown.precision <= exact.precision:
        return shown
    return exact


# ---- thread list --------------------------------------------------------

def _thread_row(tbody, site: Site, server_now, tz: ZoneInfo) -> ThreadRow:
    tid = int(tbody.get("id").rsplit("_", 1)[1])
    link = xfirst(tbody, ".//span[@id=$id]/a", id=f"thread_{tid}")
    author_td, last_td = xfirst(tbody, ".//td[@class='author']"), xfirst(tbody, ".//td[@class='lastpost']")
    author_link = xfirst(author_td, "./cite/a") if author_td is not None else None
    posted = _time(xfirst(author_td, "./em"), server_now, tz) if author_td is not None else None
    last = _time(xfirst(last_td, "./em"), server_now, tz) if last_td is not None else None
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
        last_poster=_last_poster(last_td),
        category=text_of(cat) if cat is not None else None,
        category_id=first_int(re.search(r"typeid=(\d+)", cat.get("href")).group(1)) if cat is not None else None,
        sticky=tbody.get("id").startswith("stickthread_"))


def _last_poster(td) -> str | None:
    """The last poster's name: the space.php?username= link (by name, not uid), else the text (匿名)."""
    if td is None:
        return None
    link = xfirst(td, "./cite/a")
    if link is not None:
        name = text_of(link)
        m = _USERNAME.search(link.get("href") or "")
        return name or (unquote(m.group(1)) if m else None)
    return text_of(xfirst(td, "./cite")) or None


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
    posted = _time(xfirst(table, ".//em[@id=$id]", id=f"authorposton{pid}"), server_now, tz)
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
    title, category = _title(doc)
    return ThreadPage(tid=_thread_id(doc, page.url), title=title, category=category,
                      views=None, replies=None, posts=posts, page=current, total_pages=total, next_page=nxt,
                      warnings=warnings, complete=page_complete(page.text, warnings))


def _thread_id(doc, url: str) -> int | None:
    """The thread's id as the page itself gives it (a saved page's URL names no thread), else the URL's."""
    for expr in ("id('postlist')//a[starts-with(@id,'postnum')]/@onclick",  # setCopy('…viewthread.php?tid=T' / '…ptid=T…')
                 "id('postlist')//div[@class='authorinfo']/a[contains(@href,'authorid=')]/@href",  # 只看该作者
                 "//div[@class='pages']/a/@href",
                 "//a[contains(@onclick,'item=favorites')]/@onclick"):
        for value in xall(doc, expr):
            m = _TID.search(value)
            if m:
                return int(m.group(1))
    script = xfirst(doc, "//script[contains(., 'discuz_uid')]")
    m = _SCRIPT_TID.search(script.text or "") if script is not None else None
    if m and int(m.group(1)):
        return int(m.group(1))
    return first_int(parse_qs(urlsplit(url).query).get("tid", [""])[0]) or tid_from_url(url)


def _title(doc) -> tuple[str | None, str | None]:
    """(subject without the [分类] prefix, category) of a thread page.

    The h1 (page 1 only) is ``<a …typeid=K>[名称]</a> 标题`` (a ``[名称]`` text when the
    categories are not listable; a ``sortid`` link before it for 分类信息); ``div#nav`` ends
    with the bare subject on every page (7.0 puts the category link in the nav)."""
    nav = xfirst(doc, "id('nav')")
    last = xfirst(nav, "./a[last()]") if nav is not None else None
    nav_subject = " ".join((last.tail or "").replace("\xa0", " ").split()).lstrip("»› ").strip() if last is not None else ""
    h1 = xfirst(doc, "id('threadtitle')/h1")
    cat = xfirst(h1, "./a[contains(@href,'typeid=')]") if h1 is not None else None
    if cat is None:
        cat = xfirst(doc, "id('nav')/a[contains(@href,'typeid=')]")
    category = text_of(cat).strip("[] ") or None if cat is not None else None
    if h1 is None:
        return nav_subject or None, category
    own = " ".join("".join([h1.text or ""] + [child.tail or "" for child in h1]).replace("\xa0", " ").split())
    title = own or text_of(h1)
    if nav_subject and title != nav_subject and title.endswith(nav_subject):
        prefix = title[: -len(nav_subject)].strip()
        if _PREFIX.match(prefix):  # '[名称] 标题' as plain text
            title = nav_subject
            category = category or prefix.rsplit("[", 1)[1].rstrip("] ")
    return title or None, category


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
