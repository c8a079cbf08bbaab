"""The generic engine on JSON forums: thread lists and thread pages read from a JSON API.

Many newer boards and government message boards (留言板) render in the browser from a JSON
API. With ``format: json`` in a forum's ``generic:`` block, ``board_url`` and ``thread_url``
name the API's endpoints (GET, or POST with ``board_body`` / ``thread_body``), and every field
is a JMESPath expression: ``row`` / ``post`` select the list of rows in the answer, the other
row fields are read from each row, and the page-wide ones (``next_page``, ``pages``, ``page``,
``title``, ``replies`` of a thread page, ``official_reply``) from the whole answer.

Which page an address asks for travels in its fragment (``#fid=3&page=2``, ``#tid=5&page=1``),
which is never sent: a POST endpoint's address is the same for every page, and a thread
answer often does not say its own thread id. Times may be unix seconds or milliseconds, ISO
8601, the configured ``time_formats`` or relative text; bodies may be HTML or plain text.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, urldefrag, urlencode, urljoin
from zoneinfo import ZoneInfo

import jmespath
import lxml.html
from jmespath.exceptions import JMESPathError

from scrapers.errors import ParseError
from scrapers.lxmlutil import body_text
from scrapers.records import Post, Site, ThreadListPage, ThreadPage, ThreadRow

# keys of a section that are settings, not JMESPath expressions
SETTINGS = {"format", "replies_from", "replies_offset", "pid_pattern"}
_PLACEHOLDER = re.compile(r"\{(fid|tid|page)\}")
_NEXT_PLACEHOLDER = re.compile(r"\{(fid|tid|page|next)\}")
_JSONP = re.compile(r"^(?:/\*\*/\s*)?[\w$.]+\((.*)\)\s*;?\s*$", re.S)


def check_expressions(section: Mapping[str, Any]) -> list[str]:
    """Problems with a JSON section: an expression that is not valid JMESPath."""
    problems = []
    for name, expr in section.items():
        if name in SETTINGS or not isinstance(expr, str) or expr == "#tid":
            continue
        try:
            jmespath.compile(expr)
        except JMESPathError as exc:
            problems.append(f"{name}: {expr!r} is not valid JMESPath ({' '.join(str(exc).split())})")
    return problems


# ---- addresses ------------------------------------------------------------------------------

def _with_fragment(url: str, **values) -> str:
    return f"{urldefrag(url).url}#{urlencode(values)}"


def fragment(url: str) -> dict[str, str]:
    """What an address's fragment says: ``fid``/``tid`` and ``page``."""
    return dict(parse_qsl(urldefrag(url).fragment))


def board_url(site: Site, fid: int, page: int = 1) -> str:
    return _with_fragment(urljoin(site.base_url, site.options["board_url"].format(fid=fid, page=page)),
                          fid=fid, page=page)


def thread_url(site: Site, tid: int, page: int = 1) -> str:
    return _with_fragment(urljoin(site.base_url, site.options["thread_url"].format(tid=tid, page=page)),
                          tid=tid, page=page)


def _cursor_url(site: Site, key: str, **values):
    """A function (page, cursor) → the next page's address, from ``board_next_url`` or
    ``thread_next_url`` (with ``{next}``), for APIs that page by a cursor; None without one."""
    template = site.options.get(key)
    if not template:
        return None

    def make(page: int, cursor: str) -> str:
        given = {**values, "page": page, "next": quote(cursor, safe="")}
        filled = _NEXT_PLACEHOLDER.sub(lambda m: str(given[m.group(1)]), template)
        return _with_fragment(urljoin(site.base_url, filled), **values, page=page)
    return make


def link_url(site: Site, tid: int) -> str:
    """The thread's page for people (``link_url``), else its API address without the fragment."""
    template = site.options.get("link_url")
    return urljoin(site.base_url, template.format(tid=tid)) if template else urldefrag(thread_url(site, tid)).url


def tid_from_url(url: str, site: Site) -> int | None:
    said = fragment(url).get("tid", "")
    if said.isdigit():
        return int(said)
    pattern = site.options.get("tid_pattern")
    m = re.search(pattern, url) if pattern else None
    return int(m.group(1)) if m and m.group(1).isdigit() else None


def request(url: str, site: Site) -> tuple[str, bytes | None, dict[str, str]]:
    """(method, body, headers) for an address: POST with ``board_body``/``thread_body`` filled in
    from the fragment when the endpoint wants one, else GET."""
    o, said = site.options, fragment(url)
    headers = {"Accept": "application/json", **(o.get("headers") or {})}
    template = o.get("thread_body") if "tid" in said else o.get("board_body") if "fid" in said else None
    if not template:
        return "GET", None, headers
    values = {k: said.get(k, "") for k in ("fid", "tid", "page")}
    if o.get("body_type", "json") == "form":
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        escape = lambda v: urlencode({"": v})[1:]  # noqa: E731
    else:
        headers.setdefault("Content-Type", "application/json")
        escape = lambda v: json.dumps(v)[1:-1]  # noqa: E731
    # only {fid}, {tid} and {page} are filled in: a JSON body's own braces stay as written
    body = _PLACEHOLDER.sub(lambda m: escape(values[m.group(1)]), template)
    return "POST", body.encode("utf-8"), headers


# ---- reading an answer ----------------------------------------------------------------------

def load(page) -> Any:
    """The page's JSON (a JSONP wrapper is taken off); ParseError when it is not JSON."""
    text = page.text.lstrip("\ufeff").strip()
    m = _JSONP.match(text)
    try:
        return json.loads(m.group(1) if m else text)
    except json.JSONDecodeError as exc:
        raise ParseError(page.url, f"not a JSON answer ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                                   "is this the API endpoint?") from None


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


class _Dotted:
    """A plain ``a.b.c`` path, looked up directly: what JMESPath gives for it, several times faster."""

    def __init__(self, expr: str):
        self.keys = expr.split(".")

    def search(self, data: Any) -> Any:
        for key in self.keys:
            if not isinstance(data, dict):
                return None
            data = data.get(key)
        return data


@lru_cache(maxsize=512)
def _compiled(expr: str):
    """An expression compiled once: a plain dotted path directly, anything else by JMESPath."""
    return _Dotted(expr) if _DOTTED.fullmatch(expr) else jmespath.compile(expr)


def _search(expr: str | None, data: Any) -> Any:
    return _compiled(expr).search(data) if expr else None


def _text(value) -> str | None:
    """A scalar as text (numbers as their digits); None for null, lists and objects."""
    if value is None or isinstance(value, (list, dict)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split())
    return text or None


def _body(value) -> str:
    """A post body: HTML made text (line breaks kept), or plain text as it is."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if "<" in text and re.search(r"</?[a-zA-Z][^>]*>", text):
        return body_text(lxml.html.fragment_fromstring(text, create_parent="div"))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _fields(section: str, spec: Mapping[str, Any]):
    """The section's field reader: JMESPath from each row."""
    from scrapers.generic import FieldReader
    return FieldReader(section, spec, lambda row, expr: _search(expr, row), "expression", "gave nothing on any row")


def _rows(data: Any, spec: Mapping[str, Any], key: str, section: str, url: str) -> list:
    rows = _search(spec[key], data)
    if rows is None:
        raise ParseError(url, f"{section}.{key} {spec[key]!r} found nothing in the answer: the API may have "
                              "changed (or this is an error answer)" + _error_hint(data))
    if not isinstance(rows, list):
        raise ParseError(url, f"{section}.{key} {spec[key]!r} gave a {type(rows).__name__}, not a list of rows")
    return rows


def _error_hint(data: Any) -> str:
    if isinstance(data, dict):
        for key in ("message", "msg", "error", "detail", "errmsg"):
            if isinstance(data.get(key), str) and data[key].strip():
                return f"; it says: {data[key].strip()[:200]}"
    return ""


def _page_and_next(data: Any, spec: Mapping[str, Any], url: str, make_url,
                   cursor_url=None) -> tuple[int, int | None, str | None]:
    """(this page, page count, next page's address) from ``page``, ``pages`` and ``next_page``.

    ``next_page`` may give an address, a page number, or true; ``pages`` a page count. With a
    cursor template (``board_next_url``/``thread_next_url``), whatever ``next_page`` gives is the
    cursor filled into it as ``{next}``."""
    said = fragment(url)
    current = read_int(_search(spec.get("page"), data)) or read_int(said.get("page")) or 1
    pages = read_int(_search(spec.get("pages"), data))
    nxt = _search(spec.get("next_page"), data)
    if cursor_url is not None:
        cursor = _text(nxt)
        ended = cursor is None or nxt is False or cursor in ("0", "false", "")
        return current, pages, None if ended else cursor_url(current + 1, cursor)
    if nxt is True:
        return current, pages, make_url(current + 1)
    if isinstance(nxt, (int, float)) and not isinstance(nxt, bool) or isinstance(nxt, str) and nxt.strip().isdigit():
        n = int(nxt)
        return current, pages, make_url(n) if n > current else None
    if isinstance(nxt, str) and nxt.strip():
        target = urljoin(url, nxt.strip())
        keep = {k: v for k, v in said.items() if k != "page"}  # a thread's or board's id travels on
        return current, pages, _with_fragment(target, **keep, page=current + 1) if keep else target
    if pages is not None and current < pages:
        return current, pages, make_url(current + 1)
    return current, pages, None


def read_int(value) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and not value.is_integer():
        return int(value) if value == value and abs(value) != float("inf") else None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() else None


# ---- parsers --------------------------------------------------------------------------------

def parse_thread_list(page, site: Site) -> ThreadListPage:
    """Thread rows from a board endpoint's answer, by the ``threads`` expressions."""
    from scrapers.generic import parse_time, read_count, replies_shown, uid_value
    o, spec, tz = site.options, site.options["threads"], ZoneInfo(site.timezone)
    data = load(page)
    fields = _fields("threads", spec)
    rows, warnings = [], []
    for i, row in enumerate(_rows(data, spec, "row", "threads", page.url)):
        tid = read_int(fields.get(row, "tid"))
        if tid is None:
            warnings.append(f"{page.url}: row {i + 1} has no thread id ({spec['tid']!r})")
            continue
        posted = parse_time(fields.get(row, "time"), o.get("time_formats") or [], page.server_now, tz)
        last = parse_time(fields.get(row, "last_post_time"), o.get("time_formats") or [], page.server_now, tz)
        rows.append(ThreadRow(
            tid=tid, title=_text(fields.get(row, "title")) or "", url=_row_link(fields.get(row, "link"), site, tid),
            author=_text(fields.get(row, "author")),
            author_uid=uid_value(_text(fields.get(row, "uid")), _text(fields.get(row, "author_link")), site),
            posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
            replies=replies_shown(fields.get(row, "replies"), spec), views=read_count(fields.get(row, "views")),
            last_post_at=last.at if last else None, last_post_precision=last.precision if last else 0,
            last_poster=_text(fields.get(row, "last_poster")), category=_text(fields.get(row, "category")),
            sticky=_flag(fields.get(row, "sticky"))))
    fid = read_int(fragment(page.url).get("fid"))
    current, pages, nxt = _page_and_next(data, spec, page.url,
                                         lambda n: board_url(site, fid, n) if fid is not None else None,
                                         _cursor_url(site, "board_next_url", fid=fid) if fid is not None else None)
    return ThreadListPage(fid=fid, threads=rows, page=current, total_pages=pages, next_page=nxt,
                          warnings=warnings + fields.warnings(page.url))


def parse_thread(page, site: Site) -> ThreadPage:
    """Posts from a thread endpoint's answer, by the ``posts`` expressions."""
    from scrapers.generic import parse_time, read_count, replies_shown, uid_value
    o, spec, tz = site.options, site.options["posts"], ZoneInfo(site.timezone)
    formats = o.get("time_formats") or []
    data = load(page)
    tid = tid_from_url(page.url, site) or read_int(_search(spec.get("tid"), data))
    fields = _fields("posts", spec)
    posts, warnings = [], []
    rows = _rows(data, spec, "post", "posts", page.url)
    before = read_int(_search(spec.get("posts_before"), data))  # floors = posts before this page + 1, 2, …
    for i, row in enumerate(rows):
        pid = tid if spec.get("pid") == "#tid" else _pid(fields.get(row, "pid"), spec.get("pid_pattern"))
        if pid is None:
            warnings.append(f"{page.url}: post {i + 1} has no id ({spec.get('pid')!r})")
            continue
        posted = parse_time(fields.get(row, "time"), formats, page.server_now, tz)
        posts.append(Post(
            pid=pid, floor=(read_int(fields.get(row, "floor")) or (before + i + 1 if before is not None else None)
                            or (1 if spec.get("pid") == "#tid" else None)),
            author=_text(fields.get(row, "author")),
            author_uid=uid_value(_text(fields.get(row, "uid")), _text(fields.get(row, "author_link")), site),
            posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
            body=_body(fields.get(row, "body"))))
    reply = _official_reply(data, spec, page, formats, tz, tid, len(posts))
    if reply is not None:
        posts.append(reply)
    current, pages, nxt = _page_and_next(data, spec, page.url,
                                         lambda n: thread_url(site, tid, n) if tid is not None else None,
                                         _cursor_url(site, "thread_next_url", tid=tid) if tid is not None else None)
    return ThreadPage(tid=tid, title=_text(_search(spec.get("title"), data)),
                      category=_text(_search(spec.get("category"), data)),
                      replies=replies_shown(_search(spec.get("replies"), data), spec),
                      views=read_count(_search(spec.get("views"), data)), posts=posts, page=current,
                      total_pages=pages, next_page=nxt, warnings=warnings + fields.warnings(page.url))


def _flag(value) -> bool:
    """A yes/no field: true, 1, "1", "yes"; PHP-style "0", "false" and "" are no."""
    return bool(value) and str(value).strip().lower() not in ("0", "false", "no", "n", "off")


def _row_link(value, site: Site, tid: int) -> str:
    """A row's ``link`` (the thread's page for people) when it gives one on the forum, else link_url."""
    text = _text(value)
    return urljoin(site.base_url, text) if text else link_url(site, tid)


def _pid(value, pattern: str | None) -> int | None:
    if pattern and value is not None:
        m = re.search(pattern, str(value))
        return int(m.group(1)) if m and m.group(1).isdigit() else None
    return read_int(value)


def _official_reply(data, spec, page, formats, tz, tid: int | None, count: int) -> Post | None:
    """A message board's official reply (回复单位/回复时间/回复内容) as a post by the unit it names;
    its id is the item's id negated, as in the HTML engine. Null or empty: not answered yet."""
    from scrapers.generic import official_post, parse_time
    if not spec.get("official_reply") or tid is None:
        return None
    block = _search(spec["official_reply"], data)
    if isinstance(block, list):
        block = block[0] if block else None
    if not block:
        return None
    when = parse_time(_search(spec.get("official_time"), block), formats, page.server_now, tz)
    return official_post(tid, count, _text(_search(spec.get("official_unit"), block)),
                         _body(_search(spec.get("official_body"), block)), when)


def parse_page(page, site: Site):
    """A thread answer when the address (or the ``post`` expression) says so, else a board answer."""
    said = fragment(page.url)
    if "tid" in said:
        return parse_thread(page, site)
    if "fid" in said:
        return parse_thread_list(page, site)
    data = load(page)
    return parse_thread(page, site) if _score(data, site, "posts") > _score(data, site, "threads") \
        else parse_thread_list(page, site)


def _score(data: Any, site: Site, section: str) -> int:
    """How many of a section's fields the answer's first row gives: which kind a saved answer is."""
    spec = site.options[section]
    rows = _search(spec["post" if section == "posts" else "row"], data)
    if not isinstance(rows, list) or not rows:
        return -1 if not isinstance(rows, list) else 0
    return sum(_search(expr, rows[0]) is not None for name, expr in spec.items()
               if name not in SETTINGS and isinstance(expr, str) and name not in _PAGE_WIDE)


_PAGE_WIDE = {"row", "post", "next_page", "pages", "page", "category", "replies", "views", "posts_before",
              "official_reply", "official_unit", "official_time", "official_body"}
