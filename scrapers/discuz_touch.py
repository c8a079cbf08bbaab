"""Discuz! X touch pages (``mobile=2``): what some sites serve to every client.

Same records as the desktop engine. Touch pages show no last-post column and
only relative times without a title (IN_MOBILE), so times here are coarse
(a "3 天前" is known to within 12 hours): prefer the desktop pages or the
mobile API where a site offers them.
"""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from scrapers import discuz
from scrapers.engine import kind_parsers
from scrapers.errors import ParseError
from scrapers.lxmlutil import base_of, body_text, first_int, html_doc, page_complete, text_of, xall, xfirst
from scrapers.records import ParsedPage, Post, Site, ThreadListPage, ThreadPage, ThreadRow
from scrapers.timeparse import parse_forum_time

NAME = "discuz-touch"
_TID = re.compile(r"[?&]tid=(\d+)")
_TYPEID = re.compile(r"typeid=(\d+)")
page_number = discuz.page_number
tid_from_url = discuz.tid_from_url
feed_url = discuz.feed_url
profile_url = discuz.profile_url  # profiles are read from the desktop page
uid_from_url = discuz.uid_from_url  # the same space links (…&mobile=2)


def board_url(site: Site, fid: int, page: int = 1) -> str:
    return discuz.board_url(site, fid, page) + "&mobile=2"


def thread_url(site: Site, tid: int, page: int = 1) -> str:
    return discuz.thread_url(site, tid, page) + "&mobile=2"


def _stat(row, icon: str) -> int | None:
    """A count shown after an icon (dm-eye-fill: views, dm-chat-s-fill: replies)."""
    li = xfirst(row, ".//li[i[contains(@class,$icon)]]", icon=icon)
    return first_int(text_of(li)) if li is not None else None


def _row(li, site: Site, server_now, tz: ZoneInfo) -> ThreadRow:
    link = xfirst(li, ".//a[contains(@href,'mod=viewthread')]")
    tid = int(_TID.search(link.get("href")).group(1))
    sticky = "list_top" in (li.get("class") or "")
    title_el = xfirst(li, ".//div[contains(@class,'threadlist_tit')]/em") if not sticky else xfirst(link, "./em")
    author = xfirst(li, ".//div[@class='muser']//a")
    when = xfirst(li, ".//span[@class='mtime']")
    posted = parse_forum_time(text_of(when), None, server_now, tz) if when is not None else None
    cat = xfirst(li, ".//div[contains(@class,'threadlist_foot')]//li[@class='mr']/a[contains(@href,'typeid=')]")
    return ThreadRow(
        tid=tid, title=text_of(title_el), url=discuz.thread_url(site, tid),
        author=text_of(author) or None,
        author_uid=discuz.uid_from_url(author.get("href")) if author is not None else None,
        posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
        replies=_stat(li, "dm-chat-s"), views=_stat(li, "dm-eye"),
        last_post_at=None, last_post_precision=0, last_poster=None,
        category=text_of(cat).lstrip("#") if cat is not None else None,
        category_id=int(_TYPEID.search(cat.get("href")).group(1)) if cat is not None else None,
        sticky=sticky)


def _thread_list(doc, page, site: Site) -> ThreadListPage:
    tz, warnings = ZoneInfo(site.timezone), []
    rows = []
    for li in xall(doc, "//div[contains(@class,'threadlist')]/ul/li[@class='list' or @class='list_top']"):
        try:
            rows.append(_row(li, site, page.server_now, tz))
        except (AttributeError, ValueError) as exc:
            warnings.append(f"skipped a row: {exc}")
    current, total, nxt = discuz.pager(doc, base_of(doc, page.url))
    fid = first_int(re.search(r"fid=(\d+)", page.url).group(1)) if "fid=" in page.url else None
    return ThreadListPage(fid=fid, threads=rows, page=current, total_pages=total, next_page=nxt,
                          warnings=warnings, complete=page_complete(page.text, warnings))


def _post(div, site: Site, server_now, tz: ZoneInfo, position: int) -> Post:
    pid = int(div.get("id")[3:])
    author = xfirst(div, ".//li[@class='mtit']/span[contains(@class,'z')]/a")
    label = text_of(xfirst(div, ".//li[@class='mtit']/span[contains(@class,'y')]"))
    when_li = xfirst(div, ".//li[@class='mtime']")
    when_text = "".join(t for t in xall(when_li, "./text()")) if when_li is not None else ""
    posted = parse_forum_time(when_text.replace("\xa0", " ").strip(), None, server_now, tz)
    message = xfirst(div, ".//div[@class='message']")
    note = xfirst(message, ".//i[@class='pstatus']") if message is not None else None
    floor = discuz.floor_of(label.replace("#", "").strip(), site) if label else position
    return Post(pid=pid, floor=floor, author=text_of(author) or None,
                author_uid=discuz.uid_from_url(author.get("href")) if author is not None else None,
                posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
                body=body_text(message, skip=note) if message is not None else "",
                edit_note=text_of(note) or None)


def _thread(doc, page, site: Site) -> ThreadPage:
    tz, warnings = ZoneInfo(site.timezone), []
    posts = []
    for i, div in enumerate(xall(doc, "//div[contains(@class,'plc') and starts-with(@id,'pid')]")):
        try:
            posts.append(_post(div, site, page.server_now, tz, i + 1))
        except (AttributeError, ValueError) as exc:
            warnings.append(f"skipped post {div.get('id')}: {exc}")
    title_div = xfirst(doc, "//div[@class='view_tit']")
    cat = xfirst(title_div, "./em") if title_div is not None else None
    title = text_of(title_div)
    if cat is not None:
        title = title.replace(text_of(cat), "", 1).strip()
    counts = [first_int(text_of(e)) for e in xall(doc, "(//li[@class='mtime'])[1]/span[@class='y']/em")]
    current, total, nxt = discuz.pager(doc, base_of(doc, page.url))
    m = _TID.search(page.url)
    return ThreadPage(tid=int(m.group(1)) if m else None, title=title or None,
                      category=text_of(cat).strip("[]") if cat is not None else None,
                      views=counts[0] if counts else None, replies=counts[1] if len(counts) > 1 else None,
                      posts=posts, page=current, total_pages=total, next_page=nxt, warnings=warnings,
                      complete=page_complete(page.text, warnings))


_KINDS = {"thread": ("//div[@class='viewthread']", _thread), "thread_list": ("//div[contains(@class,'threadlist_box')]", _thread_list)}


def _parse(page, site: Site, want: str | None) -> ParsedPage:
    doc = html_doc(page.text, page.url)
    prompt = discuz.detect_prompt(doc)
    if prompt:
        return prompt
    for kind in ([want] if want else list(_KINDS)):
        marker, build = _KINDS[kind]
        if xfirst(doc, marker) is not None:
            return build(doc, page, site)
    raise ParseError(page.url, f"not a Discuz! touch {want or 'list or thread'} page (mobile=2)")


parse_thread_list, parse_thread, parse_page = kind_parsers(_parse)
