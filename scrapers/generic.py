"""The generic engine: a forum described entirely by selectors in config.yaml.

For forum software nobody wrote a module for. A field is a CSS selector
(BeautifulSoup + soupsieve), optionally ``@attr`` to read an attribute instead of
the text; ``@attr`` alone reads the row's (or post's) own attribute. Or the
section (``threads`` or ``posts``) is written in XPath (lxml) — its ``row``/``post``
selector starts with ``/``, ``./``, ``(`` or ``xpath:`` — and each field is an XPath
from the row: an element gives its text, ``…/@href`` or ``…/text()`` a string.
Ids come from links through regular expressions (``tid_pattern``, ``uid_pattern``),
times through the configured formats, or relative text ("2 hours ago", "3 天前").

A selector that matches nothing is never silently zero threads: a row or post
selector matching nothing raises ParseError naming the selector and the URL,
and a field matching nothing anywhere on a page becomes a warning.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urljoin
from zoneinfo import ZoneInfo

import soupsieve
from bs4 import BeautifulSoup
from lxml import etree

from scrapers import generic_json
from scrapers.errors import ParseError
from scrapers.lxmlutil import body_text, html_doc, text_of, xall
from scrapers.records import ParsedPage, Post, Site, ThreadListPage, ThreadPage, ThreadRow
from scrapers.timeparse import ForumTime, parse_relative

NAME = "generic"
_AGO = re.compile(r"(\d+|an?|one)\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?"
                  r"|秒钟?|分钟|小时|个?钟头|天|周|星期|个月|月|年)\s*(?:ago|前|以前)", re.I)
_COMPOUND = re.compile(r"\d+\s*(?:years?|months?|weeks?|days?|hours?|minutes?|年|个?月|周|天|小时|分钟?)[\s,，]*$", re.I)
_COUNT = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(万|千|[kKwW](?![a-zA-Z]))?")
_COUNT_SCALE = {"万": 10000, "w": 10000, "W": 10000, "千": 1000, "k": 1000, "K": 1000}


def _unit_span(unit: str) -> tuple[float, float]:
    """(shortest, longest) length in seconds of a relative-time unit ("month" is 28 to 31 days)."""
    u = unit.lower()
    for keys, span in ((("sec", "秒"), (1, 1)), (("min", "分"), (60, 60)), (("h", "小时", "钟头"), (3600, 3600)),
                       (("day", "天"), (86400, 86400)), (("week", "周", "星期"), (604800, 604800)),
                       (("month", "月"), (28 * 86400, 31 * 86400)), (("year", "年"), (365 * 86400, 366 * 86400))):
        if u.startswith(keys) or any(k in u for k in keys if not k.isascii()):
            return span
    raise ValueError(unit)


def _opts(site: Site) -> Mapping[str, Any]:
    if not site.options:
        raise ParseError(site.base_url, "the generic engine needs a `generic:` block of selectors in config.yaml")
    return site.options


# ---- URLs ---------------------------------------------------------------

def _json(site: Site) -> bool:
    """Whether the forum's pages are JSON answers (``format: json``: scrapers.generic_json)."""
    return _opts(site).get("format") == "json"


def board_url(site: Site, fid: int, page: int = 1) -> str:
    if _json(site):
        return generic_json.board_url(site, fid, page)
    return urljoin(site.base_url, _opts(site)["board_url"].format(fid=fid, page=page))


def thread_url(site: Site, tid: int, page: int = 1) -> str:
    if _json(site):
        return generic_json.thread_url(site, tid, page)
    return urljoin(site.base_url, _opts(site)["thread_url"].format(tid=tid, page=page))


def tid_from_url(url: str, site: Site | None = None) -> int | None:
    if site is None:
        return None
    if _json(site):
        return generic_json.tid_from_url(url, site)
    m = re.search(_opts(site)["tid_pattern"], url)
    return int(m.group(1)) if m else None


def fetch(fetcher, url: str, site: Site):
    """Fetch one page the way the forum serves it: a JSON endpoint may want a POST body and headers."""
    if not _json(site):
        return fetcher.get(url)
    method, body, headers = generic_json.request(url, site)
    return fetcher.request(method, url, content=body, headers=headers)


def uid_from_url(url: str | None, site: Site) -> str | None:
    """The user id in a profile link, by ``uid_pattern``: a number or a name, as a string."""
    pattern = _opts(site).get("uid_pattern")
    return _uid(url, pattern) if pattern else None


def uid_value(uid: str | None, link: str | None, site: Site) -> str | None:
    """A JSON row's user id: the ``uid`` field as text, else from its profile link by ``uid_pattern``."""
    if uid:
        return uid
    return _uid(urljoin(site.base_url, link), _opts(site).get("uid_pattern")) if link else None


# ---- fields -------------------------------------------------------------

_XPATH_START = ("/", "./", "(", "xpath:")
_NOT_SELECTORS = {"pid_pattern", "format", "replies_from", "replies_offset"}  # keys that are settings


def is_xpath(selector: str) -> bool:
    """Whether a selector is written in XPath (else CSS)."""
    return selector.startswith(_XPATH_START)


def _split(spec: str) -> tuple[str, str | None]:
    sel, _, attr = spec.partition("@")
    return sel.strip(), (attr.strip() or None)


class _CssTree:
    """A page read with CSS selectors (BeautifulSoup + soupsieve); ``css@attr`` reads an attribute."""

    def __init__(self, page):
        self.root = BeautifulSoup(page.text, "lxml")

    def select(self, el, spec: str) -> list:
        return el.select(_split(spec)[0])

    def node(self, el, spec: str | None):
        if not spec:
            return None
        sel, _ = _split(spec)
        return el if not sel else el.select_one(sel)

    def value(self, el, spec: str | None) -> str | None:
        """The text (or attribute) a field spec points at within ``el``; None when it matches nothing."""
        node = self.node(el, spec)
        if node is None:
            return None
        _, attr = _split(spec)
        if attr:
            value = node.get(attr)
            return " ".join(value) if isinstance(value, list) else value
        return " ".join(node.get_text(" ", strip=True).split())

    def link_text(self, el, spec: str) -> str | None:
        """The text of the element a link spec reads its href from."""
        return self.value(el, _split(spec)[0])

    @staticmethod
    def body(node) -> str:
        return "\n".join(line.strip() for line in node.get_text("\n").splitlines() if line.strip())


class _XPathTree:
    """A page read with XPath (lxml): an element gives its text, an attribute or text() its string."""

    def __init__(self, page):
        self.root = html_doc(page.text, page.url)

    def select(self, el, spec: str) -> list:
        return xall(el, _xpath(spec))

    def node(self, el, spec: str | None):
        if not spec:
            return None
        found = xall(el, _xpath(spec))
        if not isinstance(found, list):  # count(), string(): a number or string, not a node set
            return found
        return found[0] if found else None

    def value(self, el, spec: str | None) -> str | None:
        node = self.node(el, spec)
        if node is None:
            return None
        if isinstance(node, str):
            return " ".join(node.split())
        return text_of(node) if isinstance(node, etree._Element) else str(node)

    def link_text(self, el, spec: str) -> str | None:
        node = self.node(el, spec)
        owner = node.getparent() if isinstance(node, str) and hasattr(node, "getparent") else node
        return text_of(owner) if isinstance(owner, etree._Element) else None

    @staticmethod
    def body(node) -> str:
        return body_text(node) if isinstance(node, etree._Element) else " ".join(str(node).split())


def _xpath(spec: str) -> str:
    return spec[len("xpath:"):] if spec.startswith("xpath:") else spec


def _tree(page, section: Mapping[str, Any], key: str):
    """The page read the way the section is written (its row/post selector tells)."""
    return _XPathTree(page) if is_xpath(section[key]) else _CssTree(page)


def check_selectors(section: Mapping[str, Any], key: str) -> list[str]:
    """Problems with a section's selectors: one that does not compile, or CSS and XPath mixed.

    ``key`` names the section's row selector (``row`` or ``post``), which sets its language."""
    xpath = is_xpath(section[key])
    problems = []
    for name, selector in section.items():
        if not isinstance(selector, str) or name in _NOT_SELECTORS or selector == "#tid":
            continue
        if selector.startswith("@"):
            continue  # the row's own attribute: the same in both languages
        if is_xpath(selector) != xpath:
            problems.append(f"{name}: {selector!r} is {'XPath' if is_xpath(selector) else 'CSS'} but {key} is "
                            f"{'XPath' if xpath else 'CSS'}; write a section in one language")
            continue
        try:
            if xpath:
                etree.XPath(_xpath(selector))
            else:
                soupsieve.compile(_split(selector)[0])
        except (etree.XPathSyntaxError, soupsieve.SelectorSyntaxError, ValueError) as exc:
            problems.append(f"{name}: {selector!r} is not valid {'XPath' if xpath else 'CSS'} ({exc})".replace("\n", " "))
    return problems


def _int(text: str | None) -> int | None:
    m = re.search(r"\d[\d,]*", text or "")
    return int(m.group().replace(",", "")) if m else None


def read_count(value) -> int | None:
    """A count as shown: 1234, "1,234", "1.2万" (12000), "3.5k", "12 replies"; None when there is none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    m = _COUNT.search(str(value))
    if not m:
        return None
    number = float(m.group(1).replace(",", ""))
    return int(round(number * _COUNT_SCALE.get(m.group(2) or "", 1)))


def replies_shown(value, spec: Mapping[str, Any]) -> int | None:
    """The reply count from a shown count: ``replies_from: posts`` means the count includes the
    opening post; ``replies_offset`` adds a fixed amount. Never below zero."""
    n = read_count(value)
    if n is None:
        return None
    n += (-1 if spec.get("replies_from") == "posts" else 0) + int(spec.get("replies_offset") or 0)
    return max(0, n)


def _id(text: str | None, pattern: str | None) -> int | None:
    if text is None:
        return None
    if pattern:
        m = re.search(pattern, text)
        return int(m.group(1)) if m else None
    return _int(text)


def _uid(href: str | None, pattern: str | None) -> str | None:
    """A user id from a profile link: group 1 of ``uid_pattern`` (a number or a name), unquoted;
    without a pattern, the link's first number."""
    if not href:
        return None
    m = re.search(pattern or r"(\d+)", href)
    return unquote(m.group(1)).strip() or None if m else None


def parse_time(text, formats: list[str], server_now: datetime, tz: ZoneInfo) -> ForumTime | None:
    """An absolute time in one of ``formats`` (local to ``tz`` unless it has an offset), a unix
    time (seconds or milliseconds, as a number or digits: JSON APIs), ISO 8601, or a relative one in
    English or Chinese against the server's clock."""
    if text is None or text == "" or isinstance(text, bool):
        return None
    raw = text
    text = " ".join(str(text).replace("\xa0", " ").split())
    for fmt in formats:
        try:
            dt = datetime.strptime(text, fmt)
        except ValueError:
            continue
        precision = 0 if "%S" in fmt or "%s" in fmt else (30 if "%M" in fmt else 43200)
        dt = dt if dt.tzinfo else dt.replace(tzinfo=tz)
        if precision == 30:
            dt += timedelta(seconds=30)
        elif precision == 43200:
            dt = dt.replace(hour=12)
        return ForumTime(dt.astimezone(timezone.utc), precision)
    epoch = _epoch(raw)  # after the formats: "20261129" may be a date written without separators
    if epoch is not None:
        return epoch
    iso = _iso(text, tz)
    if iso is not None:
        return iso
    if text.lower() in ("just now", "now", "moments ago", "a few seconds ago", "刚刚", "刚才"):
        return ForumTime(server_now.astimezone(timezone.utc), 1)
    m = _AGO.search(text)
    if m and not _COMPOUND.search(text[:m.start()]) and (not m.group(1).isdigit() or int(m.group(1)) <= 1000):
        return rounded_ago(m.group(1), m.group(2), server_now)
    if text.lower().startswith("yesterday"):
        day = server_now.astimezone(tz).date() - timedelta(days=1)
        return ForumTime(datetime.combine(day, datetime.min.time(), tz).replace(hour=12).astimezone(timezone.utc),
                         43200)
    return parse_relative(text, server_now, tz)


_EPOCH_RANGE = (946684800, 4102444800)  # 2000 to 2100: a number outside is not a forum's time


def _epoch(value) -> ForumTime | None:
    """A unix time between 2000 and 2100: a number, or 9 to 13 digits (13: milliseconds)."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and 9 <= len(value) <= 13):
            return None
        value = int(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    seconds = value / 1000 if value > 1e11 else value
    if not _EPOCH_RANGE[0] <= seconds <= _EPOCH_RANGE[1]:  # NaN fails too
        return None
    return ForumTime(datetime.fromtimestamp(seconds, timezone.utc), 0)


def _iso(text: str, tz: ZoneInfo) -> ForumTime | None:
    """ISO 8601 ("2026-11-29T08:15:42.123Z", "2026-11-29T08:15:42+08:00"); local to ``tz`` without an offset."""
    if "T" not in text[8:13]:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    precision = 0 if text.count(":") >= 2 else 30
    dt = dt if dt.tzinfo else dt.replace(tzinfo=tz)
    return ForumTime(dt.astimezone(timezone.utc) + timedelta(seconds=precision), precision)


def rounded_ago(count: str, unit: str, server_now: datetime) -> ForumTime:
    """"N units ago" as a window holding every time that is shown so: forums round the elapsed time
    down (6 days → "6 days ago") or to the nearest unit (6 days → "1 week ago"), so N covers
    [N − ½, N + 1) units (a month 28–31 days, a year 365–366); the window's middle, its half-width."""
    n = 1 if count.lower() in ("a", "an", "one") else int(count)
    shortest, longest = _unit_span(unit)
    # days may also be calendar days (Discuz!'s "3 天前": the date three days back, at any hour)
    earliest = max(0.0, (n - (1 if shortest == 86400 else 0.5)) * shortest)
    latest = (n + 1) * longest
    middle = (earliest + latest) / 2
    return ForumTime(server_now.astimezone(timezone.utc) - timedelta(seconds=middle),
                     max(1, int((latest - earliest) / 2 + 0.5)))


class FieldReader:
    """Reads a section's fields from many rows, remembering which ones never gave a value.

    ``lookup(row, spec)`` reads one field (a selector on HTML, a JMESPath expression on JSON)."""

    def __init__(self, section: str, spec: Mapping[str, Any], lookup, kind: str = "selector",
                 missing: str = "matched nothing"):
        self.section, self.spec, self.lookup, self.kind, self.missing = section, spec, lookup, kind, missing
        self.hits: dict[str, int] = {}

    def get(self, row, name: str):
        spec = self.spec.get(name)
        if not spec:
            return None
        value = self.lookup(row, spec)
        self.hits[name] = self.hits.get(name, 0) + (value is not None)
        return value

    def warnings(self, url: str) -> list[str]:
        return [f"{url}: {self.kind} {self.section}.{name} {self.spec[name]!r} {self.missing}"
                for name, n in self.hits.items() if n == 0]


def _rows(tree, spec: Mapping[str, Any], key: str, section: str, url: str) -> list:
    rows = tree.select(tree.root, spec[key])
    if not rows and not (spec.get("empty") and tree.node(tree.root, spec["empty"]) is not None):
        raise ParseError(url, f"selector {section}.{key} {spec[key]!r} matched nothing: "
                              "the markup may have changed (or the page is not what was expected)")
    return rows


def _next(tree, spec: Mapping[str, Any], url: str) -> str | None:
    href = tree.value(tree.root, spec.get("next_page"))
    return urljoin(url, href) if href else None


# ---- parsers ------------------------------------------------------------

def _start(page, site: Site, section: str, key: str):
    """What both parsers need: options, zone, the section's selectors, time formats, the tree, a field reader."""
    o = _opts(site)
    spec = o[section]
    tree = _tree(page, spec, key)
    return o, ZoneInfo(site.timezone), spec, o.get("time_formats") or [], tree, FieldReader(section, spec, tree.value)


def parse_thread_list(page, site: Site) -> ThreadListPage:
    """Rows from a board page, by the ``threads`` selectors."""
    if _json(site):
        return generic_json.parse_thread_list(page, site)
    o, tz, spec, formats, tree, fields = _start(page, site, "threads", "row")
    rows, warnings = [], []
    for el in _rows(tree, spec, "row", "threads", page.url):
        href = fields.get(el, "link")
        tid = _id(urljoin(page.url, href), o["tid_pattern"]) if href else None
        if tid is None:
            warnings.append(f"{page.url}: a row without a thread link matching {o['tid_pattern']!r}")
            continue
        posted = parse_time(fields.get(el, "time"), formats, page.server_now, tz)
        last = parse_time(fields.get(el, "last_post_time"), formats, page.server_now, tz)
        author_href = fields.get(el, "author_link")
        title = fields.get(el, "title") if spec.get("title") else tree.link_text(el, spec["link"])
        rows.append(ThreadRow(
            tid=tid, title=title or "", url=thread_url(site, tid), author=fields.get(el, "author"),
            author_uid=_uid(author_href, o.get("uid_pattern")),
            posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
            replies=replies_shown(fields.get(el, "replies"), spec), views=read_count(fields.get(el, "views")),
            last_post_at=last.at if last else None, last_post_precision=last.precision if last else 0,
            last_poster=fields.get(el, "last_poster"), category=fields.get(el, "category")))
    return ThreadListPage(fid=None, threads=rows, page=1, total_pages=None, next_page=_next(tree, spec, page.url),
                          warnings=warnings + fields.warnings(page.url))


def parse_thread(page, site: Site) -> ThreadPage:
    """Posts from a thread page, by the ``posts`` selectors."""
    if _json(site):
        return generic_json.parse_thread(page, site)
    o, tz, spec, formats, tree, fields = _start(page, site, "posts", "post")
    posts, warnings = [], []
    tid = tid_from_url(page.url, site)
    for i, el in enumerate(_rows(tree, spec, "post", "posts", page.url)):
        # "#tid": one question per page (message boards): the item's id is the post's id
        pid = tid if spec.get("pid") == "#tid" else _id(fields.get(el, "pid"), spec.get("pid_pattern"))
        if pid is None:
            warnings.append(f"{page.url}: post {i + 1} has no id ({spec.get('pid')!r})")
            continue
        posted = parse_time(fields.get(el, "time"), formats, page.server_now, tz)
        author_href = fields.get(el, "author_link")
        body_el = tree.node(el, spec.get("body"))
        posts.append(Post(
            pid=pid, floor=_int(fields.get(el, "floor")) or (1 if spec.get("pid") == "#tid" else None),
            author=fields.get(el, "author"),
            author_uid=_uid(author_href, o.get("uid_pattern")),
            posted_at=posted.at if posted else None, posted_precision=posted.precision if posted else 0,
            body=tree.body(body_el) if body_el is not None else ""))
    reply = _official_reply(tree, spec, page, formats, tz, tid, len(posts))
    if reply is not None:
        posts.append(reply)
    title = tree.value(tree.root, spec.get("title"))
    return ThreadPage(tid=tid, title=title, category=None, replies=None, views=None,
                      posts=posts, page=1, total_pages=None, next_page=_next(tree, spec, page.url),
                      warnings=warnings + fields.warnings(page.url))


def _official_reply(tree, spec, page, formats, tz, tid: int | None, count: int) -> Post | None:
    """A message board's official reply block (回复单位/回复时间/回复内容) as a post by that unit.

    Its id is the item's id negated (one official reply per item), so it never collides
    with a real post id."""
    if not spec.get("official_reply"):
        return None
    block = tree.node(tree.root, spec["official_reply"])
    if block is None or tid is None:
        return None  # not answered yet
    when = parse_time(tree.value(block, spec.get("official_time")), formats, page.server_now, tz)
    return official_post(tid, count, tree.value(block, spec.get("official_unit")),
                         tree.value(block, spec.get("official_body")) or "", when)


def official_post(tid: int, count: int, unit: str | None, body: str, when: ForumTime | None) -> Post | None:
    """The official reply as the item's post number ``count + 1``, by the unit it names, with id
    minus the item's id; None for an empty reply block (still unanswered)."""
    if not unit and not body:
        return None
    return Post(pid=-tid, floor=count + 1, author=unit, author_uid=None,
                posted_at=when.at if when else None, posted_precision=when.precision if when else 0,
                body=body, on_behalf_of=unit or None)


def parse_page(page, site: Site) -> ParsedPage:
    """A thread page if the post selector matches, else a board page."""
    if _json(site):
        return generic_json.parse_page(page, site)
    posts = _opts(site)["posts"]
    tree = _tree(page, posts, "post")
    if tree.node(tree.root, posts["post"]) is not None:
        return parse_thread(page, site)
    return parse_thread_list(page, site)
