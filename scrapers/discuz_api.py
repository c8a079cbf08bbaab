"""Discuz! X mobile API v4 (``api/mobile/index.php?version=4&module=…``): exact unix times.

Every scalar in the JSON is a string; ``dbdateline``/``dblastpost`` are unix
times, so times here are exact (precision 0). The API omits edit notes.
Errors come as ``Message.messageval`` (``thread_nonexistence``, ``to_login`` …).
Discuz! stores subjects HTML-escaped (``&amp;``, ``&quot;``) and the API returns them as
stored, so text fields are unescaped here. A saved answer's URL may say nothing of its
page: the posts' ``position`` and ``ppp`` tell which page of the thread it is.
"""
from __future__ import annotations

import html
import json
import math
import re
from datetime import datetime, timezone
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html

from scrapers import discuz
from scrapers.engine import kind_parsers
from scrapers.errors import ParseError
from scrapers.lxmlutil import body_text
from scrapers.records import ParsedPage, Post, PromptPage, Site, ThreadListPage, ThreadPage, ThreadRow

NAME = "discuz-api"
_JSONP = re.compile(r"^[\w$.]+\((.*)\)\s*;?\s*$", re.S)
_NOT_FOUND = ("nonexistence", "not_exist", "deleted")
_LOGIN = ("login", "nopermission", "no_permission", "group_nopermission")


def _api(site: Site, module: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return urljoin(site.base_url, f"api/mobile/index.php?version=4&module={module}&{query}")


def board_url(site: Site, fid: int, page: int = 1) -> str:
    return _api(site, "forumdisplay", fid=fid, orderby="lastpost", page=page)


def thread_url(site: Site, tid: int, page: int = 1) -> str:
    return _api(site, "viewthread", tid=tid, page=page)


tid_from_url = discuz.tid_from_url
feed_url = discuz.feed_url
profile_url = discuz.profile_url  # profiles are read from the desktop page
uid_from_url = discuz.uid_from_url  # profile links are the desktop site's


def page_number(url: str) -> int:
    values = parse_qs(urlsplit(url).query).get("page")
    return int(values[0]) if values and values[0].isdigit() else 1


def _with_page(url: str, page: int) -> str:
    return re.sub(r"([?&]page=)\d+", rf"\g<1>{page}", url) if "page=" in url else f"{url}&page={page}"


def _load(page) -> dict:
    text = page.text.lstrip("\ufeff").strip()
    m = _JSONP.match(text)
    try:
        data = json.loads(m.group(1) if m else text)
    except json.JSONDecodeError as exc:
        raise ParseError(page.url, f"not a Discuz! mobile API answer (invalid JSON: {exc.msg})") from None
    if not isinstance(data, dict) or "Variables" not in data and "Message" not in data:
        raise ParseError(page.url, "not a Discuz! mobile API answer (no Variables)")
    return data


def _prompt(data: dict) -> PromptPage | None:
    message = data.get("Message") or {}
    val = str(message.get("messageval", ""))
    v = data.get("Variables") or {}
    if not val or v.get("postlist") or v.get("forum_threadlist"):
        return None  # a notice beside real content is not an error
    if any(k in val for k in _NOT_FOUND):
        return PromptPage("not_found", message.get("messagestr") or val)
    if any(k in val for k in _LOGIN):
        return PromptPage("login_required", message.get("messagestr") or val)
    return PromptPage("other", message.get("messagestr") or val)


def _ts(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), timezone.utc) if str(value or "").isdigit() and int(value) else None


def _text(value) -> str | None:
    """A text field as the forum shows it: Discuz! keeps subjects and names HTML-escaped."""
    return html.unescape(str(value)) if value else None


def _int(value) -> int | None:
    return int(value) if str(value or "").lstrip("-").isdigit() else None


def _uid(value) -> str | None:
    """A user id (``authorid``) as text; 0 (a guest) is none."""
    n = _int(value)
    return str(n) if n else None


def _html_text(fragment: str) -> str:
    if not fragment.strip():
        return ""
    return body_text(lxml.html.fragment_fromstring(fragment, create_parent="div"))


def _next(url: str, page: int, per_page: int | None, total: int | None) -> tuple[int | None, str | None]:
    if not per_page or total is None:
        return None, None
    pages = max(1, math.ceil(total / per_page))
    return pages, (_with_page(url, page + 1) if page < pages else None)


def _thread_list(data: dict, page, site: Site) -> ThreadListPage:
    v = data["Variables"]
    types = ((v.get("threadtypes") or {}).get("types")) or {}
    rows = []
    for t in v.get("forum_threadlist") or []:
        tid = int(t["tid"])
        typeid = _int(t.get("typeid")) or None
        rows.append(ThreadRow(
            tid=tid, title=_text(t.get("subject")) or "", url=discuz.thread_url(site, tid),
            author=_text(t.get("author")), author_uid=_uid(t.get("authorid")),
            posted_at=_ts(t.get("dbdateline")), posted_precision=0,
            replies=_int(t.get("replies")), views=_int(t.get("views")),
            last_post_at=_ts(t.get("dblastpost")), last_post_precision=0, last_poster=_text(t.get("lastposter")),
            category=_text(types.get(str(typeid))) if typeid else None, category_id=typeid,
            sticky=(_int(t.get("displayorder")) or 0) > 0))
    forum = v.get("forum") or {}
    current = _int(v.get("page")) or page_number(page.url)
    total, nxt = _next(page.url, current, _int(v.get("tpp")), _int(forum.get("threadcount") or forum.get("threads")))
    return ThreadListPage(fid=_int(forum.get("fid")), threads=rows, page=current, total_pages=total, next_page=nxt)


def _thread(data: dict, page, site: Site) -> ThreadPage:
    v = data["Variables"]
    thread = v.get("thread") or {}
    posts = [Post(pid=int(p["pid"]), floor=_int(p.get("number") or p.get("position")),
                  author=_text(p.get("author")), author_uid=_uid(p.get("authorid")),
                  posted_at=_ts(p.get("dbdateline")), posted_precision=0,
                  body=_html_text(p.get("message") or ""))
             for p in v.get("postlist") or []]
    per_page = _int(v.get("ppp"))
    current = _thread_page_number(page.url, v.get("postlist") or [], per_page)
    replies = _int(thread.get("replies"))
    # pages run by position; deleted posts leave gaps, so the highest position counts too
    shown = max(replies + 1 if replies is not None else 0, _int(thread.get("maxposition")) or 0) or None
    total, nxt = _next(page.url, current, per_page, shown)
    typeid = _int(thread.get("typeid"))
    return ThreadPage(tid=_int(thread.get("tid")), title=_text(thread.get("subject")),
                      category=None if not typeid else _text(thread.get("typename")),
                      replies=replies, views=_int(thread.get("views")), posts=posts, page=current,
                      total_pages=total, next_page=nxt)


def _thread_page_number(url: str, postlist: list, per_page: int | None) -> int:
    """The page the posts are on: from their positions when the API gives them, else the URL."""
    positions = [n for n in (_int(p.get("position")) for p in postlist) if n]
    if positions and per_page:
        return (min(positions) - 1) // per_page + 1
    return page_number(url)


def _parse(page, site: Site, want: str | None) -> ParsedPage:
    data = _load(page)
    prompt = _prompt(data)
    if prompt:
        return prompt
    v = data.get("Variables") or {}
    kind = "thread" if "postlist" in v else "thread_list" if "forum_threadlist" in v else None
    if kind is None or (want and kind != want):
        raise ParseError(page.url, f"the API answer holds no {want or 'thread list or post list'}")
    return _thread(data, page, site) if kind == "thread" else _thread_list(data, page, site)


parse_thread_list, parse_thread, parse_page = kind_parsers(_parse)
