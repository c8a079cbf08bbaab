"""phpwind 8.x engine: ``thread.php?fid=F`` board lists and ``read.php?tid=T`` threads.

Also their rewritten forms (``thread-htm-fid-F-page-P.html``,
``read-htm-tid-T-page-P.html``). The markup is that of phpwind 8.7's ``wind``
templates (``thread_maincommon.htm``, ``read.htm``, ``showmsg.htm``) and the
pager of its ``numofpage()``:

- rows: ``tbody#threadlist > tr.tr3`` with ``a.subject_t#a_ajax_T``, the author
  cell ``td.author`` (``u.php?uid=N``; post date ``Y-m-d``), ``td.num``
  (``<em>replies</em>views``) and a second ``td.author`` for the last post whose
  link's title is the full time ("2011-03-01 10:22") and text the friendly one
  ("3小时前", "昨天 10:22");
- posts: ``div.read_t#readfloor_PID``; the opening post's pid is the literal
  ``tpc`` (it lives in the thread table), stored here as ``-tid`` so it never
  meets a reply's pid; floors ``楼主/沙发/板凳/地板`` then ``N楼`` count from 0;
  the time is ``div.tipTop span[@title]``; the body ``div#read_PID``;
- the pager ``div.pages``: ``b`` is this page, ``a.pages_next`` the next one
  (shown only past 7 pages; otherwise the link after ``b``);
- prompts: ``div.tip-content`` (a login form ``form[name=login]`` on a login wall).

No saved phpwind page with its original bytes was available: the tests read
pages generated from those templates. phpwind 9 (``bbs/read/run``) is not covered.
"""
from __future__ import annotations

import re
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from scrapers.engine import kind_parsers
from scrapers.errors import ParseError
from scrapers.lxmlutil import base_of, body_text, first_int, html_doc, page_complete, text_of, xall, xfirst
from scrapers.records import ParsedPage, Post, PromptPage, Site, ThreadListPage, ThreadPage, ThreadRow
from scrapers.timeparse import parse_forum_time

NAME = "phpwind"

_TID = re.compile(r"[?&-]tid[=-](\d+)|htm_data/\d+/\d+/(\d+)\.html")
_FID = re.compile(r"[?&-]fid[=-](\d+)")
_PAGE = re.compile(r"[?&-]page[=-](\d+)")
_UID = re.compile(r"u\.php\?(?:.*&)?uid[=-](\d+)|u-htm-uid-(\d+)")
_EDIT_NOTE = re.compile(r"^\[?\s*此帖被.+?在.+?重新编辑\s*\]?$")
_NOT_FOUND = ("不存在", "已被删除", "已删除", "数据错误", "非法")
_LOGIN = ("没有登录", "未登录", "没有权限", "请先登录")


# ---- URLs ---------------------------------------------------------------

def board_url(site: Site, fid: int, page: int = 1) -> str:
    """URL of page ``page`` of board ``fid`` (newest last post first, the default order)."""
    url = urljoin(site.base_url, f"thread.php?fid={fid}")
    return url if page == 1 else f"{url}&page={page}"


def thread_url(site: Site, tid: int, page: int = 1) -> str:
    """URL of page ``page`` of thread ``tid``."""
    url = urljoin(site.base_url, f"read.php?tid={tid}")
    return url if page == 1 else f"{url}&page={page}"


def tid_from_url(url: str, site: Site | None = None) -> int | None:
    """The thread id in read.php?tid=T, read-htm-tid-T.html or htm_data/F/YYMM/T.html."""
    m = _TID.search(url)
    return int(m.group(1) or m.group(2)) if m else None


def page_number(url: str) -> int:
    """The page number a list or thread URL asks for (1 when none)."""
    m = _PAGE.search(url)
    return int(m.group(1)) if m else 1


def feed_url(site: Site, fid: int) -> str:
    """The board's RSS feed (rss.php?fid=F)."""
    return urljoin(site.base_url, f"rss.php?fid={fid}")


def uid_in(href: str | None) -> int | None:
    """The uid in a member link (u.php?uid=N or u-htm-uid-N.html)."""
    m = _UID.search(href or "")
    return int(m.group(1) or m.group(2)) if m else None


def floor_of(label: str, site: Site) -> int | None:
    """Floor from 1 (the opening post): named floors, or 'N楼' which counts from 0."""
    if label in site.floor_labels:
        return site.floor_labels.index(label) + 1
    n = first_int(label)
    return n + 1 if n is not None else None


# ---- shared pieces ------------------------------------------------------

def pager(doc, base: str) -> tuple[int, int | None, str | None]:
    """(current page, total pages, next page URL) from numofpage()'s div.pages."""
    pages = xfirst(doc, "//div[contains(concat(' ',@class,' '),' pages ')]")
    if pages is None:
        return 1, 1, None
    current = first_int(text_of(xfirst(pages, "./b"))) or 1
    numbers = [first_int(text_of(a)) for a in xall(pages, "./a[not(@class)]")]
    total = max([n for n in numbers if n] + [current])
    nxt = xfirst(pages, "./a[@class='pages_next']|./b/following-sibling::a[not(@class)][1]")
    return current, total, urljoin(base, nxt.get("href")) if nxt is not None else None


def detect_prompt(doc) -> PromptPage | None:
    """phpwind's showmsg page (div.tip-content): deleted thread, login wall, …"""
    box = xfirst(doc, "//div[@class='tip-content']")
    if box is None:
        return None
    form = xfirst(box, ".//form[@name='login']")
    shown = xfirst(box, ".//span[contains(@class,'f14')]")
    message = text_of(shown) if shown is not None else " ".join(
        t for t in (text_of(el) for el in xall(box, "./div[1]|.//ol/li[1]")) if t)
    if form is not None or any(k in message for k in _LOGIN):
        reason = "login_required"
    elif any(k in message for k in _NOT_FOUND):
        reason = "not_found"
    else:
        reason = "other"
    return PromptPage(reason=reason, message=message or text_of(box)[:200])


def _time(el, server_now, tz: ZoneInfo):
    """A time shown as friendly text with the full time in a title attribute."""
    if el is None:
        return None
    return parse_forum_time(text_of(el).replace("发表于:", "").strip(), el.get("title"), server_now, tz)


# ---- thread list --------------------------------------------------------

def _thread_row(tr, link, site: Site, sticky: bool, server_now, tz: ZoneInfo) -> ThreadRow:
    tid = first_int(link.get("id")) if (link.get("id") or "").startswith("a_ajax_") else tid_from_url(link.get("href"))
    if tid is None:
        raise ValueError("no thread id in the subject link")
    authors = xall(tr, "./td[@class='author']")
    author_link = xfirst(authors[0], "./a") if authors else None
    posted = parse_forum_time(text_of(xfirst(authors[0], "./p")), None, server_now, tz) if authors else None
    last_link = xfirst(authors[1], "./p/a") if len(authors) > 1 else None
    last = _time(last_link, server_now, tz)
    num = xfirst(tr, "./td[@class='num']")
    em = xfirst(num, "./em") if num is not None else None
    cat = xfirst(tr, "./td[contains(@class,'subject')]/a[contains(@href,'type=')]")
    return ThreadRow(
        tid=tid, title=text_of(link), url=thread_url(site, tid),
        author=text_of(author_link) or None if author_link is not None else None,
        author_uid=uid_in(author_link.get("href")) if author_link is not None else None,
        posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
        replies=first_int(text_of(em)) if em is not None else None,
        views=first_int(em.tail) if em is not None else None,
        last_post_at=last.at if last else None, last_post_precision=last.precision if last else 0,
        last_poster=text_of(xfirst(authors[1], "./a")) or None if len(authors) > 1 else None,
        category=text_of(cat).strip("[]") or None if cat is not None else None,
        category_id=first_int(re.search(r"type[=-](\d+)", cat.get("href")).group(1)) if cat is not None else None,
        sticky=sticky)


def _thread_list(doc, page, site: Site) -> ThreadListPage:
    base, tz = base_of(doc, page.url), ZoneInfo(site.timezone)
    rows, warnings = [], []
    sticky_part = True  # topped threads come first, then a "普通主题" separator row
    separator = xfirst(doc, "id('threadlist')/tr[@class='tr4'][normalize-space(.)='普通主题']")
    if separator is None:
        sticky_part = False
    for tr in xall(doc, "id('threadlist')/tr"):
        if tr is separator:
            sticky_part = False
            continue
        link = xfirst(tr, "./td[contains(@class,'subject')]/a[contains(@class,'subject_t')]")
        if link is None:
            continue  # the header, announcements, moderator rows
        topped = sticky_part or xfirst(tr, ".//img[@alt='置顶帖标志']") is not None
        try:
            rows.append(_thread_row(tr, link, site, topped, page.server_now, tz))
        except (ValueError, AttributeError, IndexError, TypeError) as exc:
            warnings.append(f"skipped a row ({text_of(link)[:30]}): {exc}")
    for row in rows:
        if row.posted_at is None or row.author is None:
            warnings.append(f"thread {row.tid}: author or post time not found")
    m = _FID.search(page.url)
    current, total, nxt = pager(doc, base)
    return ThreadListPage(fid=int(m.group(1)) if m else None, threads=rows, page=current, total_pages=total,
                          next_page=nxt, warnings=warnings, complete=page_complete(page.text, warnings))


# ---- thread -------------------------------------------------------------

def _post(div, tid: int | None, site: Site, server_now, tz: ZoneInfo, position: int) -> Post:
    right = xfirst(div, ".//td[contains(@class,'floot_right')]")
    raw_pid = (right.get("id") or "")[3:] if right is not None else div.get("id", "")[len("readfloor_"):]
    if raw_pid == "tpc":
        if tid is None:
            raise ValueError("the opening post (tpc) on a page without a thread id")
        pid = -tid
    else:
        pid = int(raw_pid)
    author = xfirst(div, ".//div[contains(@class,'r_name')]/a")
    label = xfirst(div, ".//div[@class='tipTop']/a[contains(@class,'s2')]")
    label_text = text_of(label)
    floor = floor_of(label_text, site) if label_text and label_text != "置顶" else position
    posted = _time(xfirst(div, ".//div[@class='tipTop']/span[@title][1]"), server_now, tz)
    content = xfirst(div, ".//div[@id=$id]", id=f"read_{raw_pid}")
    body = body_text(content) if content is not None else ""
    note = None
    lines = body.split("\n")
    for i in (0, len(lines) - 1):
        if lines and _EDIT_NOTE.match(lines[i]):
            note = lines.pop(i).strip("[] ")
            body = "\n".join(lines)
            break
    return Post(pid=pid, floor=floor, author=text_of(author) or None if author is not None else None,
                author_uid=uid_in(author.get("href")) if author is not None else None,
                posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
                body=body, edit_note=note)


def _thread(doc, page, site: Site) -> ThreadPage:
    base, tz = base_of(doc, page.url), ZoneInfo(site.timezone)
    tid = tid_from_url(page.url)
    if tid is None:  # a rewritten or static URL without the id: the reply form's hidden field
        hidden = xfirst(doc, "//form[@name='delatc']/input[@name='tid']")
        tid = first_int(hidden.get("value")) if hidden is not None else None
    posts, warnings = [], []
    for i, div in enumerate(xall(doc, "//div[@class='read_t'][.//td[contains(@class,'floot_right')]]")):
        try:
            posts.append(_post(div, tid, site, page.server_now, tz, i + 1))
        except (ValueError, AttributeError) as exc:
            warnings.append(f"skipped post {div.get('id')}: {exc}")
    for p in posts:
        if p.posted_at is None:
            warnings.append(f"post {p.pid}: post time not found")
    counts = [first_int(text_of(s)) for s in xall(doc, "//div[@class='readTop']//ul[contains(@class,'pw_ulC')]/li/span")]
    subject = xfirst(doc, "id('subject_tpc')")
    cat = xfirst(subject, ".//a[contains(@href,'type=')]") if subject is not None else None
    title = text_of(subject)
    if cat is not None:
        title = title.replace(text_of(cat), "", 1).strip()
    current, total, nxt = pager(doc, base)
    return ThreadPage(tid=tid, title=title or None, category=text_of(cat).strip("[]") if cat is not None else None,
                      views=counts[0] if counts else None, replies=counts[1] if len(counts) > 1 else None,
                      posts=posts, page=current, total_pages=total, next_page=nxt, warnings=warnings,
                      complete=page_complete(page.text, warnings))


# ---- login --------------------------------------------------------------

def login_url(site: Site) -> str:
    """The login page (login.php)."""
    return urljoin(site.base_url, "login.php")


def login_form(page, site: Site, username: str, password: str) -> tuple[str, dict[str, str]]:
    """(action URL, fields) of the login form (pwuser/pwpwd), filled in; ParseError if none or a captcha."""
    doc = html_doc(page.text, page.url)
    form = xfirst(doc, "//form[.//input[@name='pwuser'] and .//input[@name='pwpwd']]")
    if form is None:
        raise ParseError(page.url, "no login form (input pwuser/pwpwd) on the login page")
    if xfirst(form, ".//input[@name='gdcode' or @name='qanswer']") is not None:
        raise ParseError(page.url, "the login form asks for a captcha (认证码): use a cookie from a browser instead")
    fields = {i.get("name"): i.get("value") or "" for i in xall(form, ".//input[@type='hidden' and @name]")}
    fields.update(pwuser=username, pwpwd=password, lgt=fields.get("lgt", "0"), step="2", hideid="0",
                  cktime=fields.get("cktime") or "31536000")
    return urljoin(base_of(doc, page.url), form.get("action") or "login.php"), fields


def login_result(page) -> tuple[bool, str]:
    """(succeeded, the forum's message) after posting the login form."""
    try:
        prompt = detect_prompt(html_doc(page.text, page.url))
    except ParseError:
        prompt = None
    message = prompt.message if prompt else re.sub(r"<[^>]+>", " ", page.text).strip()[:200]
    ok = prompt is not None and prompt.reason != "login_required" and any(
        k in message for k in ("顺利登录", "登录成功", "欢迎"))
    return ok, " ".join(message.split())


# ---- parse --------------------------------------------------------------

_KINDS = {"thread": ("//div[@class='read_t']//td[contains(@class,'floot_right')]", _thread,
                     "no posts (div.read_t)"),
          "thread_list": ("id('threadlist')", _thread_list, "no thread list (tbody#threadlist)")}


def _parse(page, site: Site, want: str | None) -> ParsedPage:
    """Parse the page once: the kind wanted (or whichever it is), else a prompt page."""
    doc = html_doc(page.text, page.url)
    prompt = detect_prompt(doc)
    if prompt:
        return prompt
    for kind in ([want] if want else list(_KINDS)):
        marker, build, _ = _KINDS[kind]
        if xfirst(doc, marker) is not None:
            return build(doc, page, site)
    if want:
        raise ParseError(page.url, f"{_KINDS[want][2]} on this page; is it a phpwind {want.replace('_', ' ')} page?")
    raise ParseError(page.url, "neither a phpwind board list, a thread nor a message page")


parse_thread_list, parse_thread, parse_page = kind_parsers(_parse)
