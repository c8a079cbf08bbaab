"""phpwind 8.x and 9.x engine: ``thread.php?fid=F`` board lists and ``read.php?tid=T`` threads.

Also their rewritten forms (``thread-htm-fid-F-page-P.html``,
``read-htm-tid-T-page-P.html``, 9.x ``/read/T``). Each page is read by the
markup it carries. phpwind 8.x is that of phpwind 8.7's ``wind`` templates
(``thread_maincommon.htm``, ``read.htm``, ``showmsg.htm``) and the pager of its
``numofpage()``:

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

phpwind 9.x (nextwind ``www/template/bbs``: ``thread_run.htm``/``widget_thread.htm``,
``read_run.htm``/``read_floor.htm``, ``common/error.htm``):

- rows: ``table#J_posts_list tr`` with ``p.title a.st`` (full subject in its
  title), ``p.info`` (楼主 link with ``data-uid`` and a ``Y-m-d`` date; 最后回复
  link and ``m-d H:i`` without a year), ``td.num`` (回复/浏览 ``em``); topped
  rows come before the ``td.ordinary`` "普通主题" row;
- posts: ``div.J_read_floor#read_PID`` (the opening post's pid is 0: stored as
  ``-tid``), author ``div.name a[data-uid]``, floor ``span.lou``, time
  "发布于：…" in ``div.floor_top_tips span.fl``, body ``div.editor_content``,
  edit note ``div.edit_log``; counts and title in ``div.floor_title``;
- pager ``div.pages``: ``strong`` this page, ``a.pages_next``; errors ``li#J_html_error``.

No saved phpwind page with its original bytes was available: the tests read
pages generated from those templates. Logging in with a form is 8.x only (9.x
posts its login by AJAX with a CSRF token): give 9.x boards ``cookies``.
"""
from __future__ import annotations

import re
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from scrapers.engine import fill_login_form, kind_parsers, login_reply, paged_url
from scrapers.errors import ParseError
from scrapers.lxmlutil import base_of, body_text, first_int, html_doc, page_complete, text_of, xall, xfirst
from scrapers.records import ParsedPage, Post, PromptPage, Site, ThreadListPage, ThreadPage, ThreadRow
from scrapers.timeparse import parse_forum_time

NAME = "phpwind"

_TID = re.compile(r"[?&-]tid[=-](\d+)|htm_data/\d+/\d+/(\d+)\.html|/read/(\d+)")
_FID = re.compile(r"[?&-]fid[=-](\d+)")
_PAGE = re.compile(r"[?&-]page[=-](\d+)")
_UID = re.compile(r"u\.php\?(?:.*&)?uid[=-](\d+)|u-htm-uid-(\d+)|[?&]uid=(\d+)")
_EDIT_NOTE = re.compile(r"^\[?\s*此帖被.+?在.+?重新编辑\s*\]?$")
_NOT_FOUND = ("不存在", "已被删除", "已删除", "数据错误", "非法")
_LOGIN = ("没有登录", "未登录", "没有权限", "请先登录")


# ---- URLs ---------------------------------------------------------------

def board_url(site: Site, fid: int, page: int = 1) -> str:
    """URL of page ``page`` of board ``fid`` (newest last post first, the default order)."""
    return paged_url(site, f"thread.php?fid={fid}", page)


def thread_url(site: Site, tid: int, page: int = 1) -> str:
    """URL of page ``page`` of thread ``tid``."""
    return paged_url(site, f"read.php?tid={tid}", page)


def tid_from_url(url: str, site: Site | None = None) -> int | None:
    """The thread id in read.php?tid=T, read-htm-tid-T.html or htm_data/F/YYMM/T.html."""
    m = _TID.search(url)
    return int(next(g for g in m.groups() if g)) if m else None


def page_number(url: str) -> int:
    """The page number a list or thread URL asks for (1 when none)."""
    m = _PAGE.search(url)
    return int(m.group(1)) if m else 1


def feed_url(site: Site, fid: int) -> str:
    """The board's RSS feed (rss.php?fid=F)."""
    return urljoin(site.base_url, f"rss.php?fid={fid}")


def uid_from_url(url: str | None, site: Site | None = None) -> str | None:
    """The uid in a member link (u.php?uid=N, u-htm-uid-N.html, 9.x index.php?m=space&uid=N), as text."""
    m = _UID.search(url or "")
    return str(int(next(g for g in m.groups() if g))) if m else None


def _data_uid(link) -> str | None:
    """A 9.x author link's ``data-uid``, else the uid in its href."""
    if link is None:
        return None
    uid = (link.get("data-uid") or "").strip()
    return str(int(uid)) if uid.isdigit() else uid_from_url(link.get("href"))


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
    current = first_int(text_of(xfirst(pages, "./b|./strong"))) or 1  # 8.x <b>, 9.x <strong>
    numbers = [first_int(text_of(a)) for a in xall(pages, "./a[not(@class)]")]
    total = max([n for n in numbers if n] + [current])
    nxt = xfirst(pages, "./a[contains(concat(' ',@class,' '),' pages_next ')]"
                        "|./b/following-sibling::a[not(@class)][1]")
    return current, total, urljoin(base, nxt.get("href")) if nxt is not None else None


def detect_prompt(doc) -> PromptPage | None:
    """phpwind's showmsg page (div.tip-content): deleted thread, login wall, …"""
    box = xfirst(doc, "//div[@class='tip-content']")
    if box is None:
        error = xfirst(doc, "//li[@id='J_html_error']")  # 9.x common/error.htm
        if error is None:
            return None
        message = text_of(error)
        reason = ("login_required" if any(k in message for k in _LOGIN + ("登录",)) else
                  "not_found" if any(k in message for k in _NOT_FOUND) else "other")
        return PromptPage(reason=reason, message=message)
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

def _thread_row8(tr, link, site: Site, sticky: bool, server_now, tz: ZoneInfo) -> ThreadRow:
    """A phpwind 8 row: td.subject, td.author (poster, date), td.num, td.author (last post)."""
    tid = first_int(link.get("id")) if (link.get("id") or "").startswith("a_ajax_") else tid_from_url(link.get("href"))
    if tid is None:
        raise ValueError("no thread id in the subject link")
    authors = xall(tr, "./td[@class='author']")
    author_link = xfirst(authors[0], "./a") if authors else None
    posted = parse_forum_time(text_of(xfirst(authors[0], "./p")), None, server_now, tz) if authors else None
    last = _time(xfirst(authors[1], "./p/a") if len(authors) > 1 else None, server_now, tz)
    em = xfirst(tr, "./td[@class='num']/em")
    cat = xfirst(tr, "./td[contains(@class,'subject')]/a[contains(@href,'type=')]")
    return _row(site, tid, text_of(link), author_link, uid_from_url(author_link.get("href")) if author_link is not None else None,
                posted, last, text_of(xfirst(authors[1], "./a")) if len(authors) > 1 else "",
                first_int(text_of(em)) if em is not None else None, first_int(em.tail) if em is not None else None,
                cat, sticky)


def _thread_row9(tr, link, site: Site, sticky: bool, server_now, tz: ZoneInfo) -> ThreadRow:
    """A phpwind 9 row: p.title a.st, p.info (楼主 link + date, 最后回复 link + m-d H:i), td.num ems."""
    tid = tid_from_url(link.get("href"))
    if tid is None:
        raise ValueError("no thread id in the subject link")
    people = xall(tr, "./td[@class='subject']/p[@class='info']/a")
    spans = xall(tr, "./td[@class='subject']/p[@class='info']/span")
    author_link = people[0] if people else None
    posted = parse_forum_time(text_of(spans[0]), None, server_now, tz) if spans else None
    last = parse_forum_time(text_of(spans[1]), None, server_now, tz) if len(spans) > 1 else None
    counts = [first_int(text_of(em)) for em in xall(tr, "./td[@class='num']/span/em")]
    cat = xfirst(tr, "./td[@class='subject']/p[@class='title']/a[contains(@href,'type=')][last()]")
    return _row(site, tid, link.get("title") or text_of(link), author_link, _data_uid(author_link),
                posted, last, text_of(people[1]) if len(people) > 1 else "",
                counts[0] if counts else None, counts[1] if len(counts) > 1 else None, cat, sticky)


def _row(site: Site, tid: int, title: str, author_link, uid, posted, last, last_poster: str,
         replies, views, cat, sticky: bool) -> ThreadRow:
    return ThreadRow(
        tid=tid, title=title, url=thread_url(site, tid),
        author=text_of(author_link) or None if author_link is not None else None, author_uid=uid,
        posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
        replies=replies, views=views,
        last_post_at=last.at if last else None, last_post_precision=last.precision if last else 0,
        last_poster=last_poster or None,
        category=text_of(cat).strip("[]") or None if cat is not None else None,
        category_id=first_int(re.search(r"type[=-](\d+)", cat.get("href")).group(1)) if cat is not None else None,
        sticky=sticky)


# (rows, the "普通主题" separator row, the subject link in a row, the row reader) per generation
_LISTS = {
    8: ("id('threadlist')/tr", "id('threadlist')/tr[@class='tr4'][normalize-space(.)='普通主题']",
        "./td[contains(@class,'subject')]/a[contains(@class,'subject_t')]", _thread_row8),
    9: ("id('J_posts_list')/tr|id('J_posts_list')/tbody/tr",
        "id('J_posts_list')/tr[td[contains(@class,'ordinary')]]|id('J_posts_list')/tbody/tr[td[contains(@class,'ordinary')]]",
        "./td[@class='subject']/p[@class='title']/a[contains(@class,'st') and contains(@href,'tid')]", _thread_row9),
}


def _thread_list(doc, page, site: Site, generation: int) -> ThreadListPage:
    base, tz = base_of(doc, page.url), ZoneInfo(site.timezone)
    rows_at, separator_at, link_at, read_row = _LISTS[generation]
    rows, warnings = [], []
    separator = xfirst(doc, separator_at)
    sticky_part = separator is not None  # topped threads come first, then the "普通主题" row
    for tr in xall(doc, rows_at):
        if tr is separator:
            sticky_part = False
            continue
        link = xfirst(tr, link_at)
        if link is None:
            continue  # the header, announcements, moderator rows
        topped = sticky_part or xfirst(tr, ".//img[@alt='置顶帖标志']") is not None
        try:
            rows.append(read_row(tr, link, site, topped, page.server_now, tz))
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

def _pid(raw: str, tid: int | None) -> int:
    """A post id; the opening post has none of its own (8.x 'tpc', 9.x 0): -tid, never a reply's."""
    if raw in ("tpc", "0"):
        if tid is None:
            raise ValueError("the opening post on a page without a thread id")
        return -tid
    return int(raw)


def _split_note(body: str) -> tuple[str, str | None]:
    """(body, edit note) — 8.x writes "[ 此帖被X在T重新编辑 ]" as the first or last line."""
    lines = body.split("\n")
    for i in (0, len(lines) - 1):
        if lines and _EDIT_NOTE.match(lines[i]):
            note = lines.pop(i).strip("[] ")
            return "\n".join(lines), note
    return body, None


def _post8(div, tid: int | None, site: Site, server_now, tz: ZoneInfo, position: int) -> Post:
    right = xfirst(div, ".//td[contains(@class,'floot_right')]")
    raw_pid = (right.get("id") or "")[3:] if right is not None else div.get("id", "")[len("readfloor_"):]
    author = xfirst(div, ".//div[contains(@class,'r_name')]/a")
    label = text_of(xfirst(div, ".//div[@class='tipTop']/a[contains(@class,'s2')]"))
    posted = _time(xfirst(div, ".//div[@class='tipTop']/span[@title][1]"), server_now, tz)
    content = xfirst(div, ".//div[@id=$id]", id=f"read_{raw_pid}")
    body, note = _split_note(body_text(content) if content is not None else "")
    return _post(_pid(raw_pid, tid), floor_of(label, site) if label and label != "置顶" else position,
                 author, uid_from_url(author.get("href")) if author is not None else None, posted, body, note)


def _post9(div, tid: int | None, site: Site, server_now, tz: ZoneInfo, position: int) -> Post:
    raw_pid = div.get("id", "")[len("read_"):]
    author = xfirst(div, ".//div[@class='name']/a")
    label = text_of(xfirst(div, ".//span[contains(@class,'lou')]")).replace("#", "").strip()
    when = text_of(xfirst(div, ".//div[contains(@class,'floor_top_tips')]/span[@class='fl']"))
    posted = parse_forum_time(when.replace("发布于：", "").split("，")[0].strip(), None, server_now, tz)
    content = xfirst(div, ".//div[@class='editor_content']")
    body = body_text(content, skip=xfirst(content, "./div[@class='inside_title']")) if content is not None else ""
    note = text_of(xfirst(div, ".//div[@class='edit_log']")).strip("[]") or None
    return _post(_pid(raw_pid, tid), floor_of(label, site) if label else position, author,
                 _data_uid(author), posted, body, note)


def _post(pid: int, floor, author, uid, posted, body: str, note) -> Post:
    return Post(pid=pid, floor=floor, author=text_of(author) or None if author is not None else None, author_uid=uid,
                posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
                body=body, edit_note=note)


# (posts, post reader, views/replies, subject, hidden tid field) per generation
_THREADS = {
    8: ("//div[@class='read_t'][.//td[contains(@class,'floot_right')]]", _post8,
        "//div[@class='readTop']//ul[contains(@class,'pw_ulC')]/li/span", "id('subject_tpc')",
        "//form[@name='delatc']/input[@name='tid']"),
    9: ("id('J_posts_list')//div[contains(concat(' ',@class,' '),' J_read_floor ')]", _post9,
        "//div[@class='post_num']//li/em", "id('J_post_title')", "id('js-tid')"),
}


def _thread(doc, page, site: Site, generation: int) -> ThreadPage:
    base, tz = base_of(doc, page.url), ZoneInfo(site.timezone)
    posts_at, read_post, counts_at, subject_at, tid_at = _THREADS[generation]
    tid = tid_from_url(page.url)
    if tid is None:  # a rewritten or static URL without the id: the page's hidden field
        hidden = xfirst(doc, tid_at)
        tid = first_int(hidden.get("value")) if hidden is not None else None
    posts, warnings = [], []
    for i, div in enumerate(xall(doc, posts_at)):
        try:
            posts.append(read_post(div, tid, site, page.server_now, tz, i + 1))
        except (ValueError, AttributeError, TypeError) as exc:
            warnings.append(f"skipped post {div.get('id')}: {exc}")
    for p in posts:
        if p.posted_at is None:
            warnings.append(f"post {p.pid}: post time not found")
    counts = [first_int(text_of(el)) for el in xall(doc, counts_at)]
    subject = xfirst(doc, subject_at)
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
    return fill_login_form(page, {"pwuser": username, "pwpwd": password, "step": "2", "hideid": "0"},
                           {"lgt": "0", "cktime": "31536000"}, ".//input[@name='gdcode' or @name='qanswer']",
                           "login.php")


def login_result(page) -> tuple[bool, str]:
    """(succeeded, the forum's message) after posting the login form."""
    prompt, message = login_reply(page, detect_prompt)
    ok = prompt is not None and prompt.reason != "login_required" and any(
        k in message for k in ("顺利登录", "登录成功", "欢迎"))
    return ok, message


# ---- parse --------------------------------------------------------------

def _generation(doc, kind: str) -> int | None:
    """8 or 9 when the page is a ``kind`` page of that phpwind generation, else None.

    9.x names both its thread table and its posts' container #J_posts_list (by id: no page scan)."""
    nine = xfirst(doc, "id('J_posts_list')")
    if nine is not None:
        return 9 if nine.tag == ("table" if kind == "thread_list" else "div") else None
    marker = "id('threadlist')" if kind == "thread_list" else "//div[@class='read_t']"
    return 8 if xfirst(doc, marker) is not None else None


_KINDS = {"thread": (_thread, "no posts (8.x div.read_t, 9.x div.J_read_floor)"),
          "thread_list": (_thread_list, "no thread list (8.x tbody#threadlist, 9.x table#J_posts_list)")}


def _parse(page, site: Site, want: str | None) -> ParsedPage:
    """Parse the page once: the kind wanted (or whichever it is), else a prompt page."""
    doc = html_doc(page.text, page.url)
    for kind in ([want] if want else list(_KINDS)):
        generation = _generation(doc, kind)
        if generation:
            return _KINDS[kind][0](doc, page, site, generation)
    prompt = detect_prompt(doc)
    if prompt:
        return prompt
    if want:
        raise ParseError(page.url, f"{_KINDS[want][1]} on this page; is it a phpwind {want.replace('_', ' ')} page?")
    raise ParseError(page.url, "neither a phpwind board list, a thread nor a message page")


parse_thread_list, parse_thread, parse_page = kind_parsers(_parse)
