"""phpwind 8.x and 9.x engine: board lists (8.x ``thread.php?fid=F``, 9.x ``index.php?c=thread&fid=F``)
and ``read.php?tid=T`` threads.

Also their rewritten forms (``thread-htm-fid-F-page-P.html``,
``read-htm-tid-T-page-P.html``, 9.x ``/read/T``). Each page is read by the
markup it carries. phpwind 8.x is proven on pages a real phpwind 8.7 (20110913)
served (``tests/fixtures/phpwind87-real``); the older 8.x markup it also reads
is noted where it differs:

- rows: ``tbody#threadlist > tr.tr3`` with ``a.subject_t#a_ajax_T``, the author
  cell ``td.author`` (``u.php?uid=N``; post date ``Y-m-d``), ``td.num``
  (``<em>replies</em>/views``) and a second ``td.author`` for the last post whose
  link's title is the time to the minute ("2026-12-02 21:51") and text the friendly
  one ("35秒前", "3小时前" (hours rounded up), "前天 21:51", "11-29"); topped rows
  (``img[alt=置顶帖]``) come before a "普通主题" row; 主题分类 shows in a row only
  when the board prefixes titles with it (``a[href*=type=]``), else on the thread;
- posts: ``div.read_t#readfloor_PID``; the opening post's pid is the literal
  ``tpc`` (it lives in the thread table), stored here as ``-tid`` so it never
  meets a reply's pid; the author ``div.readName a`` (earlier ``div.r_name``);
  floor labels ``0楼`` (or 楼主), 沙发, 板凳, 地板, 地下室 (the site's own names),
  then ``N楼`` counting from 0; the time ``div.tipTop span[@title]``, the title
  to the second ("2026-11-26 21:51:45"); the body ``div#read_PID``; the title
  ``h1#subject_tpc`` between its ``[分类]`` link and 「[复制链接]」; the counts
  ``div.readNum li`` (``<em>14</em>阅读``) on every page;
- the pager ``div.pages``: ``b`` is this page, ``a.pages_next`` the next one
  (shown only past 7 pages; otherwise the link after ``b``);
- prompts (HTTP 200): ``div.regIgnore`` in the site's page (older 8.x
  ``div.tip-content``); a guest gets every message as the first of a numbered
  list beside a login form ("1、帖子ID非法"), so only a refusal is ``login_required``.

phpwind 9.x (nextwind ``www/template/bbs``: ``thread_run.htm``/``widget_thread.htm``,
``read_run.htm``/``read_floor.htm``, ``common/error.htm``), proven on pages a real
phpwind 9.0 served (``tests/fixtures/phpwind9-real``):

- board list ``index.php?c=thread&fid=F[&page=P]`` (9.x has no ``thread.php``: see
  :func:`fetch` for how the engine finds out which generation a forum runs);
- rows: ``table#J_posts_list tr`` with ``p.title a.st`` (full subject in its
  title; a ``[分类]`` link ``a.st[href*=type=]`` before it), ``p.info`` (楼主 link
  with ``data-uid`` and a ``Y-m-d`` date; 最后回复 link and ``m-d H:i`` *without a
  year*, the year read from the list's last-post order), ``td.num`` (回复/浏览
  ``em``); topped rows (``i.icon_headtopic_N``) come before the ``td.ordinary``
  "普通主题" row, and page 1 lists a topped thread again among the others: one row;
- posts: ``div.J_read_floor#read_PID`` (the opening post's pid is 0: stored as
  ``-tid``), author ``div.name a[data-uid]``, floor ``span.lou``, time
  "发布于：Y-m-d H:i" in ``div.floor_top_tips span.fl``, body ``div.editor_content``,
  edit note ``div.edit_log``; title ``h1#J_post_title`` (its ``[分类]`` link is the
  category) and counts in ``div.post_num`` (9.0 ``span.hits/span.replies > em``,
  9.0.1+ ``li > em``) on page 1 only;
- the thread id: ``#js-tid`` holds the literal ``$tid`` on real pages, so a page
  without it in its URL (a saved page) takes it from the breadcrumb, the reply
  links or the pager;
- pagers: a thread page has two ``div.pages`` at the top and two at the bottom; the
  first of each pair holds only 「返回列表」, the real one has ``strong`` (this page)
  and ``a.pages_next``; a single-page thread has none;
- prompts: ``li#J_html_error`` (HTTP 200): deleted / missing threads are
  ``not_found``; "没有访问该版块的权限" shown to a guest is ``login_required``.

Logging in with a form is 8.x only (9.x posts its login by AJAX with a CSRF token):
give 9.x boards ``cookies``.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from scrapers.engine import fill_login_form, kind_parsers, login_reply, paged_url
from scrapers.errors import ParseError, ScraperError
from scrapers.lxmlutil import base_of, body_text, first_int, html_doc, page_complete, text_of, xall, xfirst
from scrapers.records import Page, ParsedPage, Post, PromptPage, Site, ThreadListPage, ThreadPage, ThreadRow
from scrapers.timeparse import parse_forum_time

NAME = "phpwind"

_TID = re.compile(r"[?&-]tid[=-](\d+)|htm_data/\d+/\d+/(\d+)\.html|/read/(\d+)")
_FID = re.compile(r"[?&-]fid[=-](\d+)")
_PAGE = re.compile(r"[?&-]page[=-](\d+)")
_UID = re.compile(r"u\.php\?(?:.*&)?uid[=-](\d+)|u-htm-uid-(\d+)|[?&]uid=(\d+)")
_EDIT_NOTE = re.compile(r"^\[?\s*此帖被.+?在.+?重新编辑\s*\]?$")
_NOT_FOUND = ("不存在", "已被删除", "已删除", "数据错误", "非法")
_LOGIN = ("没有登录", "未登录", "请先登录")
_LIST_NUMBER = re.compile(r"^\d+、\s*")  # "1、帖子ID非法": the first reason a guest is shown
_MONTH_DAY_MINUTE = re.compile(r"^(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})$")  # 9.x list: 'm-d H:i', no year

# Forums (by base URL) found to run phpwind 9.x: their board list is index.php?c=thread (see fetch).
_NINE: set[str] = set()


# ---- URLs ---------------------------------------------------------------

def board_url(site: Site, fid: int, page: int = 1) -> str:
    """URL of page ``page`` of board ``fid`` (newest last post first, the default order).

    8.x ``thread.php?fid=F``; ``index.php?c=thread&fid=F`` once the forum is known to be 9.x."""
    if site.base_url in _NINE:
        return paged_url(site, f"index.php?c=thread&fid={fid}", page)
    return paged_url(site, f"thread.php?fid={fid}", page)


def fetch(fetcher, url: str, site: Site) -> Page:
    """GET a page; a board list that 8.x's ``thread.php`` does not give is asked of 9.x's ``index.php``.

    One ``phpwind`` engine serves both generations and the config does not say which a
    forum runs. phpwind 9 has no ``thread.php`` (a real 9.0 answers 404) and lists a board at
    ``index.php?c=thread&fid=F``, whereas 8.x's ``index.php`` ignores ``c=thread`` and shows
    its home page with HTTP 200; so the 8.x URL is the one to try first. When ``thread.php``
    does not answer with that board (an error status; a page that is neither a phpwind
    board nor a phpwind message; a 9.x list whose breadcrumb names another board, as a
    server that sends every unknown path to ``index.php`` gives), the same query is asked of
    ``index.php?c=thread``. If that is a 9.x board (or a 9.x message, such as a login wall),
    the forum is remembered as 9.x for this process and :func:`board_url` builds 9.x URLs
    from then on: one extra request per forum and process. Otherwise the first answer
    stands, and the parser says what it is."""
    page = fetcher.get(url)
    parts = urlsplit(url)
    if parts.path.rsplit("/", 1)[-1] != "thread.php" or site.base_url in _NINE:
        return page
    asked = _FID.search(url)
    if page.status < 400 and _is_board_or_message(page, int(asked.group(1)) if asked else None):
        return page
    try:
        nine = fetcher.get(urljoin(url, f"index.php?c=thread&{parts.query}"))
        doc = html_doc(nine.text, nine.url)
    except ScraperError:
        return page  # the first answer says more about this forum than a failure here
    if nine.status < 400 and (_generation(doc, "thread_list") == 9
                              or xfirst(doc, "//li[@id='J_html_error']") is not None):
        _NINE.add(site.base_url)
        return nine
    return page


def _is_board_or_message(page: Page, fid: int | None) -> bool:
    """Whether ``thread.php`` answered with a phpwind board list (of board ``fid``) or message."""
    body = page.body
    if any(m in body for m in (b"threadlist", b"regIgnore", b"tip-content", b"J_html_error")):
        return True  # an 8.x board or message, or a 9.x message
    if b"J_posts_list" not in body:
        return False
    doc = html_doc(page.text, page.url)
    return _generation(doc, "thread_list") == 9 and _crumb_fid(doc) == fid


def _crumb_fid(doc) -> int | None:
    """The board a 9.x page's breadcrumb ends with (its last link with a fid)."""
    crumb = xfirst(doc, "(//div[contains(@class,'bread_crumb')]/a[contains(@href,'fid=')])[last()]")
    m = _FID.search(crumb.get("href", "")) if crumb is not None else None
    return int(m.group(1)) if m else None


def thread_url(site: Site, tid: int, page: int = 1) -> str:
    """URL of page ``page`` of thread ``tid`` (``read.php`` in 8.x and 9.x)."""
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
    """(current page, total pages, next page URL) from the page's pager.

    The pager is the ``div.pages`` that shows this page (8.x ``<b>``, 9.x ``<strong>``): a 9.x
    thread page puts a ``div.pages`` holding only 「返回列表」 before each real one."""
    pages = xfirst(doc, "//div[contains(concat(' ',@class,' '),' pages ')][./b or ./strong]")
    if pages is None:
        return 1, 1, None
    current = first_int(text_of(xfirst(pages, "./b|./strong"))) or 1
    numbers = [first_int(text_of(a)) for a in xall(pages, "./a[not(@class)]")]
    total = max([n for n in numbers if n] + [current])
    nxt = xfirst(pages, "./a[contains(concat(' ',@class,' '),' pages_next ')]"
                        "|./b/following-sibling::a[not(@class)][1]")
    return current, total, urljoin(base, nxt.get("href")) if nxt is not None else None


def detect_prompt(doc) -> PromptPage | None:
    """phpwind's message page: 8.7 ``div.regIgnore`` in the site's page (HTTP 200) and its
    refreshto page ``div.regCorrect`` ("您已经顺利登录" after a login), older 8.x showmsg
    ``div.tip-content``, 9.x common/error ``li#J_html_error``."""
    box = xfirst(doc, "//div[contains(concat(' ',@class,' '),' regIgnore ')]|//div[@class='tip-content']"
                      "|//div[@class='regCorrect']")
    if box is None:
        error = xfirst(doc, "//li[@id='J_html_error']")
        return _prompt9(doc, text_of(error)) if error is not None else None
    return _prompt8(box)


def _prompt8(box) -> PromptPage:
    """An 8.x message. A guest is shown the reason as the first of "可能有如下几个原因" ("1、帖子ID非法")
    with a login form beside it, whatever the reason; a member sees the message alone (``.f14``).
    Gone or never there is ``not_found`` even for a guest; else a page offering a login form (or
    asking to log in) is ``login_required``: "认证版块,您没有权限查看" to a guest."""
    reason_li = xfirst(box, ".//ol/li[1]")
    shown = reason_li if reason_li is not None else xfirst(box, ".//*[contains(concat(' ',@class,' '),' f14 ')]")
    message = _LIST_NUMBER.sub("", text_of(shown if shown is not None else box))[:200]
    form = xfirst(box, ".//form[@name='login']|./following-sibling::form[@name='login']")
    if any(k in message for k in _NOT_FOUND):
        reason = "not_found"
    elif form is not None or any(k in message for k in _LOGIN):
        reason = "login_required"
    else:
        reason = "other"
    return PromptPage(reason=reason, message=message)


def _prompt9(doc, message: str) -> PromptPage:
    """A 9.x error page (HTTP 200): "该帖子已被删除", "该帖子不存在或已被删除", "您所在的用户组 (游客)
    没有访问该版块的权限", …  A refusal for want of permission needs a login when the page is
    shown to a guest (its header offers 登录, the message names the 游客 group); a member
    refused is refused whoever logs in again (``other``)."""
    guest = "(游客)" in message or xfirst(doc, "//div[@class='header_login']/a[contains(@href,'c=login')]") is not None
    if "登录" in message or ("权限" in message and guest):
        reason = "login_required"
    elif any(k in message for k in _NOT_FOUND):
        reason = "not_found"
    else:
        reason = "other"
    return PromptPage(reason=reason, message=message)


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
    """A phpwind 9 row: p.title a.st, p.info (楼主 link + date, 最后回复 link + m-d H:i), td.num ems.

    The year-less last-post time is read here as the latest such time not after the
    server's clock; :func:`_last_post_years` corrects it from the list's order."""
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
    topped = xfirst(tr, "./td[@class='subject']/p[@class='title']//i[starts-with(@class,'icon_headtopic')]")
    sticky = sticky or topped is not None  # 置顶1/2/3: icon_headtopic_N
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


def _local_minute(month: int, day: int, hour: int, minute: int, not_after: datetime, tz: ZoneInfo) -> datetime | None:
    """The latest 'm-d H:i' in ``tz`` (as UTC) at or before ``not_after`` (a 29 February looks back to a leap year)."""
    year = not_after.astimezone(tz).year
    for y in range(year, year - 9, -1):
        try:
            at = datetime.combine(date(y, month, day), time(hour, minute), tzinfo=tz).astimezone(timezone.utc)
        except ValueError:
            continue
        if at <= not_after:
            return at
    return None


def _last_post_years(rows: list[tuple[ThreadRow, str]], by_last_post: bool, server_now: datetime,
                     tz: ZoneInfo) -> list[ThreadRow]:
    """Give 9.x's year-less last-post times ('m-d H:i') their year.

    A lone 'm-d H:i' is the latest such time not after the server's clock; but a board lists
    its threads newest last post first (its default order, the one polled), so below the
    topped rows each row's last post is at or before the one above it: "11-16 20:55" under
    "10-04 20:55" is last year's. A row whose last post would then fall before its own
    start date (Y-m-d, with the year) shows that the list is not in that order: from there on
    each row is read alone."""
    out, bound = [], server_now + timedelta(days=1)  # a day of slack for a forum clock set ahead
    for row, shown in rows:
        m = _MONTH_DAY_MINUTE.match(shown)
        if m is None:
            out.append(row)
            continue
        month, day, hour, minute = (int(g) for g in m.groups())
        chained = by_last_post and not row.sticky
        at = _local_minute(month, day, hour, minute, bound if chained else server_now + timedelta(days=1), tz)
        started = row.posted_at - timedelta(seconds=row.posted_precision) if row.posted_at else None
        if chained and at is not None and started is not None and at + timedelta(minutes=1) <= started:
            by_last_post = chained = False
            at = _local_minute(month, day, hour, minute, server_now + timedelta(days=1), tz)
        if at is None:
            out.append(row)
            continue
        if chained:
            bound = at
        out.append(replace(row, last_post_at=at + timedelta(seconds=30), last_post_precision=30))
    return out


def _one_row_each(rows: list[ThreadRow]) -> list[ThreadRow]:
    """One row per thread: 9.x lists a topped thread again among the others on page 1.

    The first row stays (the topped one, at the top); its last-post time is the later row's,
    whose year was read from its place in the last-post order."""
    first: dict[int, int] = {}
    out: list[ThreadRow] = []
    for row in rows:
        if row.tid not in first:
            first[row.tid] = len(out)
            out.append(row)
            continue
        kept = out[first[row.tid]]
        out[first[row.tid]] = replace(kept, sticky=kept.sticky or row.sticky,
                                      last_post_at=row.last_post_at or kept.last_post_at,
                                      last_post_precision=row.last_post_precision if row.last_post_at
                                      else kept.last_post_precision)
    return out


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
    read: list[tuple[ThreadRow, str]] = []
    warnings: list[str] = []
    separator = xfirst(doc, separator_at)
    sticky_part = separator is not None  # topped threads come first, then the "普通主题" row
    for tr in xall(doc, rows_at):
        if tr is separator:
            sticky_part = False
            continue
        link = xfirst(tr, link_at)
        if link is None:
            continue  # the header, announcements, moderator rows
        topped = sticky_part or xfirst(tr, ".//img[starts-with(@alt,'置顶帖')]") is not None  # 8.7 alt 置顶帖
        try:
            row = read_row(tr, link, site, topped, page.server_now, tz)
        except (ValueError, AttributeError, IndexError, TypeError) as exc:
            warnings.append(f"skipped a row ({text_of(link)[:30]}): {exc}")
            continue
        read.append((row, text_of(xfirst(tr, "./td[@class='subject']/p[@class='info']/span[2]"))
                     if generation == 9 else ""))
    if generation == 9:  # the board's default order is by last post; 最新发帖 is orderby=postdate
        rows = _last_post_years(read, "orderby=postdate" not in page.url, page.server_now, tz)
    else:
        rows = [row for row, _ in read]
    rows = _one_row_each(rows)
    for row in rows:
        if row.posted_at is None or row.author is None:
            warnings.append(f"thread {row.tid}: author or post time not found")
    m = _FID.search(page.url)
    fid = int(m.group(1)) if m else None
    if fid is None and generation == 9:  # a saved page: the board its breadcrumb ends with
        fid = _crumb_fid(doc)
    current, total, nxt = pager(doc, base)
    return ThreadListPage(fid=fid, threads=rows, page=current, total_pages=total,
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
    """An 8.x post: author in ``div.readName`` (8.7; earlier ``div.r_name``), the floor label and
    ``span[@title]`` time in ``div.tipTop``, the body in ``div#read_PID``. A label that names no
    floor the site knows (8.7 may show 地下室) leaves the floor to :func:`_floors_from_neighbours`."""
    right = xfirst(div, ".//td[contains(@class,'floot_right')]")
    raw_pid = (right.get("id") or "")[3:] if right is not None else div.get("id", "")[len("readfloor_"):]
    author = xfirst(div, ".//div[contains(concat(' ',@class,' '),' readName ') or contains(@class,'r_name')]"
                         "/a[contains(@href,'uid')]")
    tip = ".//div[contains(concat(' ',@class,' '),' tipTop ')]"
    label = text_of(xfirst(div, f"{tip}/a[contains(@class,'s2')]"))
    posted = _time(xfirst(div, f"{tip}/span[@title][1]"), server_now, tz)
    content = xfirst(div, ".//div[@id=$id]", id=f"read_{raw_pid}")
    body, note = _split_note(body_text(content) if content is not None else "")
    floor = floor_of(label, site) if label else None
    return _post(_pid(raw_pid, tid), floor, author,
                 uid_from_url(author.get("href")) if author is not None else None, posted, body, note)


# A reply topped in its thread (帖内置顶) heads the thread's pages again, labelled
# "置顶 (来自N楼)" (8.7 read.htm, a.read_topped); the reply itself stays at its floor.
_TOPPED_COPY = ".//div[contains(concat(' ',@class,' '),' tipTop ')]/a[contains(concat(' ',@class,' '),' read_topped ')]"


def _floors_from_neighbours(posts: list[Post]) -> list[Post]:
    """Give posts whose label named no floor the floor their place implies.

    An 8.x page shows consecutive floors (``lou`` counts the posts before it), so a post
    between known floors is one more than the post before it; with no known floor on the
    page the posts count from 1, right for page 1."""
    known = [(i, p.floor) for i, p in enumerate(posts) if p.floor is not None]
    if len(known) == len(posts):
        return posts
    out = []
    for i, post in enumerate(posts):
        if post.floor is None:
            j, floor = min(known, key=lambda k: abs(k[0] - i)) if known else (-1, 0)
            post = replace(post, floor=floor + (i - j))
        out.append(post)
    return out


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


def _counts8(doc) -> tuple[int | None, int | None]:
    """(views, replies) above an 8.x thread, on every page: 8.7 ``div.readNum li``
    (``<em>14</em>阅读``, ``<em id="topicRepliesNum">12</em>回复``), earlier
    ``ul.pw_ulC li`` (``<span>14</span><em>阅读</em>``)."""
    views = replies = None
    for li in xall(doc, "//div[@class='readTop']//div[@class='readNum']//li"
                        "|//div[@class='readTop']//ul[contains(@class,'pw_ulC')]/li"):
        label, number = text_of(li), first_int(text_of(li))
        if label.endswith("阅读"):
            views = number
        elif label.endswith("回复"):
            replies = number
    return views, replies


def _counts9(doc) -> tuple[int | None, int | None]:
    """(views, replies) in page 1's ``div.post_num``: 9.0 ``span.hits > em`` / ``span.replies > em``,
    9.0.1+ ``li > em`` labelled 阅读 / 回复 (the replies ``em#topicRepliesNum`` in both)."""
    views = replies = None
    for em in xall(doc, "//div[contains(concat(' ',@class,' '),' post_num ')]//em"):
        holder = em.getparent()
        kind = f" {holder.get('class') or ''} "
        label = (holder.text or "").strip()
        if " hits " in kind or label.startswith("阅读"):
            views = first_int(text_of(em))
        elif " replies " in kind or em.get("id") == "topicRepliesNum" or label.startswith("回复"):
            replies = first_int(text_of(em))
    return views, replies


def _tid8(doc) -> int | None:
    hidden = xfirst(doc, "//form[@name='delatc']/input[@name='tid']")
    return first_int(hidden.get("value")) if hidden is not None else None


# Where a 9.x thread page names its thread, surest first. #js-tid is last: real 9.0 pages print
# the literal "$tid" there.
_TID9_LINKS = ("(//div[contains(@class,'bread_crumb')]/a[contains(@href,'tid')])[last()]/@href",
               "//a[contains(concat(' ',@class,' '),' btn_replay ')]/@href",
               "id('J_read_moredown_list')//a/@href",
               "//a[contains(concat(' ',@class,' '),' J_read_reply ')]/@href",
               "//div[contains(concat(' ',@class,' '),' pages ')]/a[contains(@href,'tid')]/@href")
_TID9_VALUES = ("//a[contains(concat(' ',@class,' '),' J_like_btn ')]/@data-tid", "id('js-tid')/@value")


def _tid9(doc) -> int | None:
    for where in _TID9_LINKS:
        for href in xall(doc, where):
            tid = tid_from_url(str(href))
            if tid is not None:
                return tid
    for where in _TID9_VALUES:
        for value in xall(doc, where):
            if str(value).strip().isdigit():
                return int(str(value).strip())
    return None


# (posts, post reader, (views, replies), subject, the thread id on the page) per generation
_THREADS = {
    8: ("//div[@class='read_t'][.//td[contains(@class,'floot_right')]]", _post8, _counts8, "id('subject_tpc')", _tid8),
    9: ("id('J_posts_list')//div[contains(concat(' ',@class,' '),' J_read_floor ')]", _post9, _counts9,
        "id('J_post_title')", _tid9),
}


def _title(subject) -> str | None:
    """The thread's title: the heading's text without its links (the ``[分类]`` link before it,
    8.7's 「[复制链接]」 after it)."""
    if subject is None:
        return None
    parts = [subject.text or ""]
    for child in subject:
        if child.tag != "a" and isinstance(child.tag, str):
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return " ".join("".join(parts).replace("\xa0", " ").split()) or None


def _thread(doc, page, site: Site, generation: int) -> ThreadPage:
    base, tz = base_of(doc, page.url), ZoneInfo(site.timezone)
    posts_at, read_post, counts_of, subject_at, tid_on_page = _THREADS[generation]
    tid = tid_from_url(page.url)
    if tid is None:  # a saved page, a rewritten or static URL without the id: the page names it
        tid = tid_on_page(doc)
    posts, warnings = [], []
    for i, div in enumerate(xall(doc, posts_at)):
        if generation == 8 and xfirst(div, _TOPPED_COPY) is not None:
            continue  # 帖内置顶: a copy of a reply that is also shown at its own floor
        try:
            posts.append(read_post(div, tid, site, page.server_now, tz, i + 1))
        except (ValueError, AttributeError, TypeError) as exc:
            warnings.append(f"skipped post {div.get('id')}: {exc}")
    for p in posts:
        if p.posted_at is None:
            warnings.append(f"post {p.pid}: post time not found")
    if generation == 8:
        posts = _floors_from_neighbours(posts)
    views, replies = counts_of(doc)
    subject = xfirst(doc, subject_at)
    cat = xfirst(subject, ".//a[contains(@href,'type=')]") if subject is not None else None
    current, total, nxt = pager(doc, base)
    return ThreadPage(tid=tid, title=_title(subject), category=text_of(cat).strip("[]") if cat is not None else None,
                      views=views, replies=replies,
                      posts=posts, page=current, total_pages=total, next_page=nxt, warnings=warnings,
                      complete=page_complete(page.text, warnings))


# ---- login --------------------------------------------------------------

def login_url(site: Site) -> str:
    """The login page (login.php)."""
    return urljoin(site.base_url, "login.php")


def login_form(page, site: Site, username: str, password: str) -> tuple[str, dict[str, str]]:
    """(action URL, fields) of the login form (pwuser/pwpwd), filled in; ParseError if none or a captcha.

    8.7's page header carries a login form too (``login_FORM``, posted by script with ``ajax=1``,
    answered "success\t…" as text): the form is always posted as a page would, without ``ajax``,
    so that the answer is the refreshto page :func:`login_result` reads."""
    action, fields = fill_login_form(page, {"pwuser": username, "pwpwd": password, "step": "2", "hideid": "0"},
                                     {"lgt": "0", "cktime": "31536000"},
                                     ".//input[@name='gdcode' or @name='qanswer']", "login.php")
    fields.pop("ajax", None)
    return action, fields


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
    status = f" (HTTP {page.status})" if page.status >= 400 else ""
    if want:
        raise ParseError(page.url, f"{_KINDS[want][1]} on this page{status}; is it a phpwind "
                                   f"{want.replace('_', ' ')} page?")
    raise ParseError(page.url, f"neither a phpwind board list, a thread nor a message page{status}")


parse_thread_list, parse_thread, parse_page = kind_parsers(_parse)
