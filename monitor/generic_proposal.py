"""Propose a ``generic:`` block from a forum's own pages (``spokeswatch forum add URL --engine generic``).

Pure functions, no network: page HTML in, a proposal out.

* :func:`propose_board` finds the board page's repeated rows (elements sharing a tag and
  class signature, at least three under one parent, each holding a link whose address,
  resolved on the page, has the same shape with a number in it that differs from row to row:
  the thread id), and from them ``tid_pattern``, ``thread_url``, ``board_url`` (the board id
  as ``{fid}``, the page as ``{page}`` when the pager shows how pages are numbered), the row
  and link selectors, the author link and ``uid_pattern``, times and their strptime formats,
  counts, the category and the next-page link.
* :func:`propose_thread` does the same for a thread page: the repeated post element, its id,
  floor, author, time, body, the page's title and next page; given pages of threads whose rows
  the board showed, it decides what the list's count and time are (``replies_from: posts``
  when the count includes the opening post; the posted or the last post's time).
* :func:`render_block` writes it all as a commented YAML forum entry; what could not be
  determined is a commented ``# TODO`` line, never a guess dressed as a finding.

Every selector proposed is checked on the page it came from (it must pick the element it
was built from in every row), and the whole block is finally run through the generic
engine itself (:func:`check_block`) so that what is written is what a poll will read.
Selectors are CSS as the engine reads them (BeautifulSoup + soupsieve), class-based where
the markup allows; position (``:nth-of-type``) only for table cells without a class.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup, Tag

from monitor.errors import SpokeswatchError
from scrapers import generic
from scrapers.errors import ScraperError
from scrapers.generic import read_count
from scrapers.records import Page, Site


class ProposalError(SpokeswatchError):
    """The page does not show what a proposal needs; the message says what was looked for."""


# ---- what a proposal holds ------------------------------------------------

@dataclass
class Key:
    """One proposed key: its value (None: not determined, written as a ``# TODO`` line) and a comment."""

    name: str
    value: str | None
    note: str = ""


@dataclass
class RowSample:
    """What the board page shows of one thread, for comparing with its own page."""

    tid: int
    url: str
    title: str
    count: int | None = None  # the number the replies field shows
    times: dict[str, str] = field(default_factory=dict)  # time field name → text shown


@dataclass
class BoardProposal:
    page_url: str  # the board page as fetched (after redirects)
    url: str  # the URL the operator gave
    base_url: str
    fid: int | None
    board_url: str | None
    thread_url: str | None
    tid_pattern: str | None
    uid_pattern: str | None
    uid_source: str  # where uid_pattern came from ("" if none)
    time_formats: list[str]
    threads: list[Key]
    rows: list[RowSample]
    board_name: str | None
    notes: list[str] = field(default_factory=list)
    _author_shape: tuple | None = field(default=None, repr=False)

    def key(self, name: str) -> Key | None:
        return next((k for k in self.threads if k.name == name), None)

    def set(self, name: str, value: str | None, note: str = "", after: str | None = None) -> None:
        """Set (or add) a thread-list key."""
        k = self.key(name)
        if k is not None:
            k.value, k.note = value, note or k.note
            return
        new = Key(name, value, note)
        names = [x.name for x in self.threads]
        self.threads.insert(names.index(after) + 1 if after in names else len(self.threads), new)


@dataclass
class ThreadProposal:
    page_url: str
    posts: list[Key]
    post_count: int
    uid_pattern: str | None = None
    time_formats: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def key(self, name: str) -> Key | None:
        return next((k for k in self.posts if k.name == name), None)


# ---- page basics ------------------------------------------------------------

def _soup(html: str) -> BeautifulSoup:
    soup = BeautifulSoup(html, "lxml")
    for el in soup.find_all(("script", "style", "noscript", "template")):
        el.decompose()
    for i, el in enumerate(soup.find_all(True)):
        el.sw_order = i  # document order, for "the first time in the row"
    return soup


def _text(el: Tag) -> str:
    return " ".join(el.get_text(" ", strip=True).replace("\xa0", " ").split())


def _links(el: Tag) -> list[Tag]:
    return [a for a in el.find_all("a", href=True)
            if not a["href"].strip().lower().startswith(("javascript:", "#", "mailto:"))]


def _stable_classes(el: Tag) -> list[str]:
    """The element's classes most likely named for what it is: no digits, state classes last."""
    classes = [c for c in (el.get("class") or []) if re.fullmatch(r"[A-Za-z_][\w-]*", c)
               and not re.search(r"[-_]\d+$|\d{3,}", c)]  # not a per-row one: js-share-10, post_123
    state = re.compile(r"^(js-|is-|has-|active$|current$|on$|cur$|selected$|odd$|even$|alt$|new$|hover)")
    return sorted(classes, key=lambda c: (bool(state.match(c)), -len(c)))


def page_names(html_text: str) -> tuple[str | None, str | None]:
    """(board name, site name) from the page title ("网络问政 - Spirit"): its first and last parts."""
    m = re.search(r"<title>\s*([^<]+?)\s*</title>", html_text, re.I | re.S)
    if not m:
        return None, None
    parts = [p.strip() for p in re.split(r"\s+[-|_–—]\s+|\s*[|–—]\s*", m.group(1)) if p.strip()]
    if not parts:
        return None, None
    return parts[0], (parts[-1] if len(parts) > 1 else None)


# ---- addresses --------------------------------------------------------------

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+){2,}", re.I)
_PAGE_KEYS = {"page", "p", "pn", "pg", "pageno", "page_no", "pagenum", "pageindex", "curpage", "currentpage"}
_FID_KEYS = ("fid", "forumid", "forum_id", "boardid", "board_id", "board", "bid", "cid", "catid", "cat_id", "cat",
             "category", "categoryid", "category_id", "columnid", "column", "nodeid", "node", "typeid", "classid",
             "forum", "f", "id")
_FID_SEGMENTS = {"category", "categories", "c", "forum", "forums", "f", "board", "boards", "b", "list", "node",
                 "column", "section", "cat", "bbs", "bankuai", "lanmu", "topics", "thread"}
_USERISH = re.compile(r"user|member|space|profile|home\.php|u\.php|uid|people|author|usr|account|personal|"
                      r"/u/|个人", re.I)


_PROFILE_DIR = re.compile(r"u|users?|members?|profiles?|people|space|home|author|usr|accounts?|@", re.I)


def escape_braces(text: str) -> str:
    """Text as it is written in an address template (``str.format``): its own braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def _is_slug(segment: str) -> bool:
    return "%" in segment or not segment.isascii() or bool(_SLUG.fullmatch(segment))


@dataclass(frozen=True)
class _Url:
    """An address split into the parts proposals vary: path segments and query pairs."""

    netloc: str
    segments: tuple[str, ...]
    query: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, url: str) -> _Url:
        p = urlsplit(url)
        pairs = tuple(tuple(part.split("=", 1)) if "=" in part else (part, "") for part in p.query.split("&") if part)
        return cls(p.netloc.lower(), tuple(p.path.split("/")), pairs)  # as written: %3D stays %3D

    def shape(self) -> tuple:
        """The address with its varying parts blanked: numbers (#) and slugs (~)."""
        segs = []
        for i, s in enumerate(self.segments):
            if s.isdigit():
                segs.append("#")
            elif _is_slug(s) or (i > 0 and s and "." not in s and (
                    self.segments[i - 1].isdigit() or _PROFILE_DIR.fullmatch(self.segments[i - 1]))):
                segs.append("~")  # a name after an id or a profile folder: /user/2/alice/, /member/alice
            else:
                segs.append(re.sub(r"\d+", "#", s))
        return self.netloc, tuple(segs), tuple(sorted(k for k, _ in self.query))


@dataclass
class _IdSpot:
    """Where an id sits in a set of addresses of one shape, and the regex and template it gives."""

    pattern: str
    template: str | None  # path?query from the site root ("/..."), the id as {tid}; None: a title in it too
    values: list[str]


def _id_spot(urls: list[_Url], prefer_keys: Iterable[str] = ()) -> _IdSpot | None:
    """The part of these same-shaped addresses that carries an id: the varying number (most distinct
    values), in a path segment, inside one ("thread-12-1-1.html") or in a query value."""
    first = urls[0]
    candidates = []  # (distinct count, preference, kind, index, sub)
    for i, seg in enumerate(first.segments):
        values = [u.segments[i] for u in urls]
        if seg.isdigit():
            candidates.append((len(set(values)), 0, "seg", i, None))
        elif not _is_slug(seg) and re.search(r"\d", seg):
            runs = [re.findall(r"\d+", v) for v in values]
            if len({len(r) for r in runs}) == 1:
                for j in range(len(runs[0])):
                    candidates.append((len({r[j] for r in runs}), 0, "run", i, j))
    prefer = [k.lower() for k in prefer_keys]
    for j, (k, v) in enumerate(first.query):
        values = [dict(u.query).get(k, "") for u in urls]
        if all(x.isdigit() for x in values):
            rank = (len(prefer) - prefer.index(k.lower())) if k.lower() in prefer else 0
            if k.lower() in _PAGE_KEYS:
                rank = -1
            candidates.append((len(set(values)), rank, "query", k, None))
    if not candidates:
        return None
    distinct, _, kind, where, sub = max(candidates, key=lambda c: (c[0] > 1 or c[1] > 0, c[1], c[0]))
    if distinct < 2 and not any(c[1] > 0 for c in candidates):
        return None
    return _spot(first, urls, kind, where, sub)


def _spot(first: _Url, urls: list[_Url], kind: str, where, sub) -> _IdSpot:
    segs = list(first.segments)
    lit = [escape_braces(s) for s in segs]  # the template's text: its own braces doubled
    if kind == "query":
        values = [dict(u.query)[where] for u in urls]
        path = "/".join(segs)
        pattern = re.escape(path.rsplit("/", 1)[-1] or path) + r"\?(?:.*&)?" + re.escape(where) + r"=(\d+)"
        if not (path.rsplit("/", 1)[-1]):
            pattern = r"[?&]" + re.escape(where) + r"=(\d+)"
        query = "&".join(f"{escape_braces(k)}={{tid}}" if k == where else escape_braces(f"{k}={v}")
                         for k, v in first.query
                         if k == where or (len({dict(u.query).get(k) for u in urls}) == 1
                                           and k.lower() not in _NOISE_KEYS and k.lower() not in _PAGE_KEYS))
        return _IdSpot(pattern, f"{'/'.join(lit)}?{query}", values)
    lead, same = _lead(segs, urls, where)
    if kind == "seg":
        values = [u.segments[where] for u in urls]
        # keep what follows the id only when it is the same in every address (not a title slug)
        tail = []
        for k in range(where + 1, len(segs)):
            if len({u.segments[k] for u in urls}) > 1 or _is_slug(segs[k]):
                break
            tail.append(segs[k])
        ends_dir = where + 1 < len(segs)
        pattern = lead + "(\\d+)" + ("/" if ends_dir else "")
        template = "/".join(lit[:where] + ["{tid}"] + [escape_braces(t) for t in tail]) + (
            "/" if ends_dir and (not tail or tail[-1]) else "")
        template = template.replace("//", "/")
        return _IdSpot(pattern, _with_query(template, first, urls) if same else None, values)
    # a number inside a segment: thread-12-1-1.html
    seg = segs[where]
    values = [re.findall(r"\d+", u.segments[where])[sub] for u in urls]
    parts = re.split(r"(\d+)", seg)
    pieces, tpl, n = [], [], 0
    for p in parts:
        if p.isdigit():
            pieces.append("(\\d+)" if n == sub else r"\d+")
            tpl.append("{tid}" if n == sub else p)
            n += 1
        else:
            pieces.append(re.escape(p))
            tpl.append(escape_braces(p))
    pattern = lead + "".join(pieces)
    template = "/".join(lit[:where] + ["".join(tpl)])
    return _IdSpot(pattern, _with_query(template, first, urls) if same else None, values)


def _lead(segs: list[str], urls: list[_Url], upto: int, keep: int = 2) -> tuple[str, bool]:
    """The regex of the path before segment ``upto``, its last ``keep`` segments only (enough to tell
    the links apart, whatever folder the forum is installed in), a segment that differs between
    addresses (a title) as ``[^/]+``; and whether none differs (else no template can be made)."""
    pieces, same = [], True
    for k in range(1, upto):
        varies = len({u.segments[k] for u in urls}) > 1
        same = same and not varies
        pieces.append(r"[^/]+" if varies else re.escape(segs[k]))
    return "/" + "".join(p + "/" for p in pieces[-keep:]), same


_NOISE_KEYS = {"extra", "from", "highlight", "spm", "utm_source", "utm_medium", "utm_campaign", "ref", "frompage"}


def _with_query(template: str, first: _Url, urls: list[_Url]) -> str:
    constant = [(k, v) for k, v in first.query if len({dict(u.query).get(k) for u in urls}) == 1
                and k.lower() not in _NOISE_KEYS and k.lower() not in _PAGE_KEYS]
    return template + ("?" + "&".join(escape_braces(f"{k}={v}") for k, v in constant) if constant else "")


def _user_spot(urls: list[_Url]) -> tuple[str, bool] | None:
    """(uid_pattern, numeric) for profile links: a number, else a name (a query value or a path segment)."""
    spot = _id_spot(urls, prefer_keys=("uid", "userid", "user_id", "memberid", "id"))
    if spot is not None:
        return spot.pattern, True
    first = urls[0]
    for k, _ in first.query:
        if k.lower() in ("username", "user", "name", "u", "member", "nick", "nickname"):
            path = "/".join(first.segments).rsplit("/", 1)[-1]
            return re.escape(path) + r"\?(?:.*&)?" + re.escape(k) + r"=([^&#]+)", False
    for i, seg in enumerate(first.segments):
        if seg and i > 0 and (len({u.segments[i] for u in urls}) > 1 or _is_slug(seg)):
            before = "/".join(re.escape(s) for s in first.segments[max(0, i - 2):i])
            return (before if before.startswith("/") else "/" + before) + "/([^/?#]+)", False
    return None


def _relative(url: str, base_url: str) -> str:
    """``url`` (absolute, or a path from the site root; or a template of one) relative to ``base_url``."""
    base = urlsplit(base_url)
    u = urlsplit(urljoin(base_url, url))
    path = u.path
    for prefix in dict.fromkeys((base.path, escape_braces(base.path))):  # a template's braces are doubled
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    else:
        path = path.lstrip("/")
    return path + (f"?{u.query}" if u.query else "")


def _common_base(urls: list[str]) -> str:
    """The deepest folder every address lies under."""
    parts = [urlsplit(u) for u in urls]
    dirs = [p.path.rsplit("/", 1)[0].split("/") for p in parts]
    common = []
    for level in zip(*dirs):
        if len(set(level)) > 1:
            break
        common.append(level[0])
    path = "/".join(common).rstrip("/") + "/"
    return f"{parts[0].scheme}://{parts[0].netloc}{path if path.startswith('/') else '/' + path}"


def fid_in_url(url: str, keep_names: bool = False) -> tuple[int, str] | None:
    """The board id in a board URL and the URL with it as ``{fid}`` (a page number as ``{page}``,
    a name after the id left out unless ``keep_names``); None when it shows no number that could be one."""
    p = urlsplit(url)
    query = list(_Url.of(url).query)  # as written: an encoded value stays encoded
    found = None
    for key in _FID_KEYS:
        for k, v in query:
            if k.lower() == key and v.isdigit():
                found = ("query", k)
                break
        if found:
            break
    segs = p.path.split("/")
    if found is None:
        numbered = [i for i, s in enumerate(segs) if s.isdigit()]
        hinted = [i for i in numbered if i > 0 and segs[i - 1].lower() in _FID_SEGMENTS]
        if hinted or numbered:
            found = ("seg", (hinted or numbered)[0])
    if found is None:
        runs = [(i, m) for i, s in enumerate(segs) if not _is_slug(s) for m in re.finditer(r"\d+", s)]
        if runs:
            found = ("run", runs[0])
    if found is None:
        digits = [(k, v) for k, v in query if v.isdigit() and k.lower() not in _PAGE_KEYS]
        if len(digits) == 1:
            found = ("query", digits[0][0])
    if found is None:
        return None
    kind, where = found
    lit = escape_braces  # the URL's own text in the template
    query_text = []
    for k, v in query:
        if kind == "query" and k == where:
            query_text.append(f"{lit(k)}={{fid}}")
        elif k.lower() in _PAGE_KEYS and v.isdigit():
            query_text.append(f"{lit(k)}={{page}}")
        else:
            query_text.append(lit(f"{k}={v}"))
    if kind == "query":
        fid = int(dict(query)[where])
        path = lit(p.path)
    elif kind == "seg":
        fid = int(segs[where])
        rest = segs[where + 1:]
        while not keep_names and rest and rest[0] and _is_slug(rest[0]):
            rest = rest[1:]  # the board's name after its id: the id alone finds it
        path = "/".join([lit(s) for s in segs[:where]] + ["{fid}"] + [lit(s) for s in rest])
    else:
        i, m = where
        fid = int(m.group())
        seg = segs[i]
        after = lit(seg[m.end():])
        # "forum-2-1.html": the next number in the same segment is the page
        after = re.sub(r"\d+", "{page}", after, count=1) if re.match(r"[-_]\d+", after) else after
        path = "/".join([lit(s) for s in segs[:i]] + [lit(seg[:m.start()]) + "{fid}" + after]
                        + [lit(s) for s in segs[i + 1:]])
    return fid, path + ("?" + "&".join(query_text) if query_text else "")


def _page2(url: str, page_url: str) -> str | None:
    """How ``url`` names page 2 of ``page_url``: the text that differs (e.g. "&page=2", "?page=2",
    "2" in forum-2-2.html), or None when it is not page 2 of it."""
    a, b = urlsplit(page_url), urlsplit(url)
    if (a.netloc, a.scheme) != (b.netloc, b.scheme):
        return None
    old = a.path + ("?" + a.query if a.query else "")
    new = b.path + ("?" + b.query if b.query else "")
    if old == new:
        return None
    i = 0
    while i < min(len(old), len(new)) and old[i] == new[i]:
        i += 1
    j = 0
    while j < min(len(old), len(new)) - i and old[-1 - j] == new[-1 - j]:
        j += 1
    mid_old, mid_new = old[i:len(old) - j], new[i:len(new) - j]
    m = re.fullmatch(r"(\D{0,16}?)0*2(/?)", mid_new)
    if not m:
        return None
    if mid_old not in ("", "1", m.group(1) + "1"):
        return None
    return mid_new


# ---- times and counts ---------------------------------------------------------

TIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日%H:%M",
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M",
    "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
    "%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d",
]
_TIME_ATTRS = ("datetime", "title", "data-time", "data-date", "data-datetime", "data-timestamp", "content")
_UTC = ZoneInfo("UTC")


def _is_count(text: str) -> bool:
    """Whether ``text`` is a count and nothing else, as the engine reads counts ("1,234", "1.2万", "3.5k")."""
    return generic._COUNT.fullmatch(text) is not None


# a relative time as the whole text ("3 天前", not "alice 3 天前"): the engine's "N units ago", or a word
_RELATIVE = re.compile(rf"(?:{generic._AGO.pattern})|刚刚|刚才|半小时前|just now|yesterday.*|"
                       r"(?:昨天|前天|今天)\s*\d{1,2}:\d{2}", re.I)


def _is_relative(text: str) -> bool:
    """Whether ``text`` is a relative time and nothing else, one the engine reads ("3 天前", "2 hours ago",
    "昨天 10:30", "刚刚")."""
    return (_RELATIVE.fullmatch(text) is not None
            and generic.parse_time(text, [], datetime.now(timezone.utc), _UTC) is not None)


_LABEL = re.compile(r"^((?:发表于|发布于|发表时间|发布时间|回复于|回复时间|留言时间|提问时间|更新于|更新时间|时间|日期|"
                    r"posted(?: on| at)?|published|updated|on|at)\s*[:：]?\s*|[^\d%\s]{1,6}[:：]\s*)"
                    r"(?=\d|昨天|前天|今天|刚|半)", re.I)


def time_format(text: str) -> str | None:
    """The strptime format ``text`` is written in (a short label before the time is part of it:
    "发表于 %Y-%m-%d %H:%M"), "relative" for "3 天前", or None."""
    text = " ".join(text.replace("\xa0", " ").split())
    if not text or len(text) > 40:
        return None
    label = _LABEL.match(text)
    for prefix, rest in (("", text), *([(label.group(1), text[label.end():])] if label else [])):
        for fmt in TIME_FORMATS:
            try:
                dt = datetime.strptime(rest, fmt)
            except ValueError:
                continue
            if 1990 <= dt.year <= 2100:
                return prefix + fmt
        if _is_relative(rest):
            return "relative"
    return None


def _to_local(text: str, fmt: str, tz: ZoneInfo) -> datetime | None:
    try:
        dt = datetime.strptime(" ".join(text.split()), fmt)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=tz)).astimezone(tz)


# ---- repeated structure ---------------------------------------------------------

def _groups(soup: BeautifulSoup, minimum: int) -> list[list[Tag]]:
    """Children of one parent sharing a tag and their common classes, at least ``minimum`` of them."""
    out = []
    for parent in soup.find_all(True):
        by_tag: dict[str, list[Tag]] = defaultdict(list)
        for child in parent.find_all(True, recursive=False):
            by_tag[child.name].append(child)
        for tag, els in by_tag.items():
            if len(els) < minimum or tag in ("br", "option", "script", "style", "input", "img", "hr", "meta", "link"):
                continue
            freq = Counter(c for e in els for c in set(e.get("class") or []))
            common = {c for c, n in freq.items() if n >= 0.6 * len(els)}
            loose: dict[frozenset, list[Tag]] = defaultdict(list)  # odd/even, sticky: set aside
            exact: dict[tuple, list[Tag]] = defaultdict(list)  # rows among other elements of the tag
            for e in els:
                loose[frozenset(set(e.get("class") or []) & common)].append(e)
                exact[(tuple(sorted(_stable_classes(e))), _id_prefix(e))].append(e)
            seen = set()
            for members in [*loose.values(), *exact.values()]:
                key = tuple(id(m) for m in members)
                if len(members) >= minimum and key not in seen:
                    seen.add(key)
                    out.append(members)
    return out


def _id_prefix(el: Tag) -> str | None:
    """"post_" of id="post_123": what per-row ids share."""
    m = re.fullmatch(r"([A-Za-z_-]+)\d+", el.get("id") or "")
    return m.group(1) if m else None


def _path_sig(el: Tag, top: Tag) -> tuple:
    """The element's place below ``top``: tag and stable classes of each step."""
    steps = []
    while el is not None and el is not top:
        classes = tuple(sorted(_stable_classes(el)))
        # classless siblings (table cells) are told apart by their place among the classless ones
        place = 0 if classes else 1 + sum(1 for x in el.find_previous_siblings(el.name) if not _stable_classes(x))
        steps.append((el.name, classes, place))
        el = el.parent
    return tuple(reversed(steps))


def _doc_index(el: Tag) -> int:
    return el.__dict__.get("sw_order", 0)


# ---- selectors --------------------------------------------------------------------

def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _candidates(target: Tag, row: Tag, attr: str | None, href_hint: str | None) -> list[str]:
    """Selectors (relative to a row) that might pick ``target``: its own classes, a classed
    ancestor's, the link's address, then the bare tag; table cells by position last."""
    tag = target.name
    has = f"[{attr}]" if attr and attr not in ("href",) else ""
    out = []
    for c in _stable_classes(target):
        out += [f".{c}", f"{tag}.{c}"] + ([f".{c}{has}", f"{tag}.{c}{has}"] if has else [])
    if _id_prefix(target):  # id="authorposton32": [id^="authorposton"]
        out.append(f"{tag}[id^={_css_string(_id_prefix(target))}]")
    hinted = f"a[href*={_css_string(href_hint)}]" if href_hint and tag == "a" else None
    if hinted:  # a class the row's other links share too (9.x: a.st is also the [分类] link)
        out += [f"{hinted[:1]}.{c}{hinted[1:]}" for c in _stable_classes(target)[:1]]
    ancestor, depth = target.parent, 0
    while ancestor is not None and ancestor is not row and depth < 4:
        names = [f".{c}" for c in _stable_classes(ancestor)[:2]]
        aid = ancestor.get("id") or ""
        if re.fullmatch(r"[A-Za-z_-]+\d+", aid):  # a per-row id: thread_58 → [id^="thread_"]
            prefix = _css_string(re.sub(r"\d+$", "", aid))
            names.append(f"{ancestor.name}[id^={prefix}]")
        for name in names:
            for own in _stable_classes(target)[:1]:
                out.append(f"{name} {tag}.{own}{has}")
            out += [f"{name} {tag}{has}", f"{name} > {tag}{has}"] + ([f"{name} {hinted}"] if hinted else [])
        ancestor, depth = ancestor.parent, depth + 1
    if hinted:
        out.append(hinted)
    out += [f"{tag}{has}", tag]
    # position, for table cells without classes
    cell = target if target.name in ("td", "th") else target.find_parent(["td", "th"])
    if cell is not None and row in cell.parents:
        index = 1 + sum(1 for s in cell.find_previous_siblings(cell.name))
        inner = "" if cell is target else f" {tag}{has}"
        out.append(f"{cell.name}:nth-of-type({index}){inner}")
    seen, unique = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            unique.append(c)
    return unique


def _pick(rows: list[Tag], targets: list[Tag | None], attr: str | None = None,
          href_hint: str | None = None) -> tuple[str, float] | None:
    """The first candidate selector that finds each row's target (None targets: nothing or anything),
    or the one that does for the most rows (at least 80%); with the share it finds."""
    with_target = [(r, t) for r, t in zip(rows, targets) if t is not None]
    if not with_target:
        return None
    best = None
    tried = set()
    for r, t in with_target[:3]:
        for sel in _candidates(t, r, attr, href_hint):
            if sel in tried:
                continue
            tried.add(sel)
            try:
                hits = sum(1 for r2, t2 in with_target if r2.select_one(sel) is t2)
            except Exception:  # noqa: BLE001 - a candidate soupsieve refuses is just not one
                continue
            share = hits / len(with_target)
            if share == 1:
                return sel, 1.0
            if share >= 0.8 and (best is None or share > best[1]):
                best = (sel, share)
    return best


def _shared_classes(elements: list[Tag]) -> list[str]:
    """The stable classes every element has, in the first one's order."""
    common = set(_stable_classes(elements[0]))
    for e in elements[1:]:
        common &= set(_stable_classes(e))
    return [c for c in _stable_classes(elements[0]) if c in common]


def _row_selector(soup: BeautifulSoup, rows: list[Tag], link_sel: str | None,
                  href_hint: str | None = None) -> str | None:
    """A page-wide selector that finds exactly these rows.

    A selector finding the rows and more (a header, a "普通主题" separator) is narrowed to the
    ones holding a thread link: ``:has()`` of the link's selector, of its parts (soupsieve
    takes no descendant combinator inside ``:has``), or of ``a[href*=…]``."""
    want = {id(r) for r in rows}
    tag = rows[0].name
    ordered = _shared_classes(rows)
    cands = []
    for c in ordered:
        cands += [f".{c}", f"{tag}.{c}"]
    prefixes = {_id_prefix(r) for r in rows}
    by_id = f"{tag}[id^={_css_string(next(iter(prefixes)))}]" if len(prefixes) == 1 and None not in prefixes else None
    if by_id:
        cands.append(by_id)
    parent = rows[0].parent
    if parent is not None and parent.name not in ("[document]",):
        for psel in _container_selectors(parent):
            cands += [f"{psel} {tag}", f"{psel} > {tag}"] + [f"{psel} {tag}.{c}" for c in ordered[:1]]
            if by_id:
                cands.append(f"{psel} > {by_id}")
    cands.append(tag)
    parts = sorted(link_sel.split(), key=lambda p: (re.fullmatch(r"[a-z]+\d?", p) is not None, -len(p))) \
        if link_sel else []  # the most specific first, a bare tag ("a") last
    has = [link_sel, *parts[:-1]] if link_sel else []
    has += [f"a[href*={_css_string(href_hint)}]"] if href_hint else []
    has += parts[-1:]
    for sel in cands:
        try:
            found = soup.select(sel)
        except Exception:  # noqa: BLE001
            continue
        got = {id(e) for e in found}
        if got == want:
            return sel
        if want <= got:
            for inner in has:
                narrowed = f"{sel}:has({inner})"
                try:
                    if {id(e) for e in soup.select(narrowed)} == want:
                        return narrowed
                except Exception:  # noqa: BLE001
                    continue
    return None


def _container_selectors(el: Tag) -> list[str]:
    """Ways to name a container element page-wide: its id (when not a per-row one), its classes."""
    out = []
    eid = el.get("id")
    if eid and not re.search(r"\d", eid) and re.fullmatch(r"[\w-]+", eid):
        out.append(f"#{eid}")
    out += [f"{el.name}.{c}" for c in _stable_classes(el)[:2]]
    if el.parent is not None and el.parent.name != "[document]" and not out:
        out += [f"{p} > {el.name}" for p in _container_selectors(el.parent)[:1]]
    return out


# ---- next page ---------------------------------------------------------------------

_NEXT_WORDS = ("下一页", "下页", "后页", "下一頁", "next", "›", "»", ">", ">>", "→", "››")
_ICON = re.compile(r"right|next|chevron|arrow|forward", re.I)


def _next_page(soup: BeautifulSoup, page_url: str, base: str, skip: list[Tag]) -> tuple[Key, str | None]:
    """The next-page selector (or a TODO), and how pages are numbered in addresses ("&page=2")."""
    inside = {id(e) for s in skip for e in s.find_all(True)}
    to_page2 = []
    for a in soup.find_all("a", href=True):
        if id(a) in inside:
            continue
        how = _page2(urljoin(base, a["href"]), page_url)
        if how:
            to_page2.append((a, how))
    if not to_page2:
        return Key("next_page", None, "no link to a second page here (one page only?); add it when a "
                                      "longer page shows one, e.g. \"a.next@href\""), None
    how = Counter(h for _, h in to_page2).most_common(1)[0][0]
    href = {urljoin(base, a["href"]) for a, h in to_page2 if h == how}
    ok = [a for a, h in to_page2 if h == how]

    def works(sel: str) -> bool:
        try:
            el = soup.select_one(sel)
        except Exception:  # noqa: BLE001
            return False
        return el is not None and el.get("href") is not None and urljoin(base, el["href"]) in href

    cands = []  # (preference, selector): what says "next" first, the page after the current one last
    for a in ok:
        text = _text(a)
        rel = a.get("rel") or []
        if "next" in rel:
            cands.append((0, "a[rel~=next]"))
        for c in a.get("class") or []:
            if re.search(r"next|nxt", c, re.I):
                cands.append((1, f"a.{c}"))
        if a.get("title") and re.search(r"下一页|next", a["title"], re.I):
            cands.append((2, f"a[title*={_css_string(a['title'])}]"))
        low = text.lower()
        for w in _NEXT_WORDS:
            if low == w or (len(w) > 2 and w in low and len(low) <= 12):
                cands.append((3, f"a:-soup-contains({_css_string(text if len(w) <= 2 else w)})"))
                break
        if not text:
            for child in a.find_all(True, recursive=False):
                icon = [c for c in child.get("class") or [] if _ICON.search(c)]
                if icon:
                    cands.append((4, f"a:has(> {child.name}.{icon[0]})"))
        prev = a.find_previous_sibling(True)
        if prev is not None and prev.name != "a" and _text(prev) in ("1", "[1]"):
            cands.append((5, f"{prev.name} + a"))
        holder = a.parent
        if holder is not None and holder.name == "li":
            before = holder.find_previous_sibling("li")
            if before is not None and not before.find("a") and _text(before) == "1":
                marker = before.find(True)
                cands.append((6, f"li:has(> {marker.name}) + li > a" if marker is not None
                              else "li:not(:has(a)) + li > a"))
    pager = _pager(ok)
    for _, sel in sorted(cands, key=lambda c: c[0]):
        for full in ([f"{p} {sel}" for p in pager] + [sel]):
            if works(full):
                return Key("next_page", f"{full}@href",
                           f"the link to page 2 here: {_relative(next(iter(href)), base) or '/'}"), how
    return Key("next_page", None, f"page 2 is linked ({_relative(next(iter(href)), base)}) but no selector "
                                  "tells the next-page link apart; give one, e.g. \"a.next@href\""), how


def _pager(links: list[Tag]) -> list[str]:
    """Selectors of the pager holding these links (nearest classed or id'd ancestor)."""
    el = links[0].parent
    for _ in range(5):
        if el is None or el.name in ("body", "[document]"):
            break
        names = _container_selectors(el)
        if names and (el.get("class") or el.get("id")) and len(el.find_all("a", href=True)) >= 2:
            return names[:2]
        el = el.parent
    return []


# ---- the board page -------------------------------------------------------------------

@dataclass
class _Rows:
    rows: list[Tag]
    links: list[Tag]  # the thread link of each row
    urls: list[_Url]
    spot: _IdSpot
    score: float


def _find_rows(soup: BeautifulSoup, base: str, board_shape: tuple | None) -> _Rows | None:
    """The repeated rows whose links to threads (on the page's own host) carry an id differing from row
    to row; of several such groups, the most rows with the longest link texts."""
    host = _Url.of(base).netloc
    best = None
    for members in _groups(soup, 3):
        # each row's links by address shape; of several of one shape, the one with the longest
        # text (an icon links to the thread too)
        by_shape: dict[tuple, dict[int, tuple[Tag, Tag]]] = defaultdict(dict)
        for m in members:
            for a in _links(m):
                u = _Url.of(urljoin(base, a["href"]))
                shape = u.shape()
                if shape == board_shape or u.netloc != host:  # another site's pages are no thread of this board
                    continue
                held = by_shape[shape].get(id(m))
                if held is None or len(_text(a)) > len(_text(held[1])):
                    by_shape[shape][id(m)] = (m, a)
        for shape, per_row in by_shape.items():
            rows = [m for m, _ in per_row.values()]
            links = [a for _, a in per_row.values()]
            if len(rows) < 3 or len(rows) < 0.6 * len(members):
                continue
            urls = [_Url.of(urljoin(base, a["href"])) for a in links]
            spot = _id_spot(urls)
            if spot is None or len(set(spot.values)) < 0.8 * len(rows):
                continue  # thread ids differ from row to row
            texts = [_text(a) for a in links]
            titles = [0 if (time_format(t) or _is_count(t)) else len(t) for t in texts]
            score = len(rows) * (sum(titles) / len(titles))
            if best is None or score > best.score:
                best = _Rows(rows, links, urls, spot, score)
    return best


@dataclass
class _Item:
    """A value found in a row: a time or a number, where it sits and how it reads."""

    el: Tag
    attr: str | None
    text: str
    kind: str  # a strptime format, "relative", or "number"
    sig: tuple


def _items(row: Tag, skip: set[int]) -> list[_Item]:
    """Times (text or attribute) and bare numbers inside a row, innermost elements first."""
    out = []
    for el in [row, *row.find_all(True)]:
        if id(el) in skip:
            continue
        sig = _path_sig(el, row) if el is not row else ()
        for attr in _TIME_ATTRS:
            value = el.get(attr)
            if isinstance(value, str) and value.strip():
                fmt = time_format(value)
                if fmt and fmt != "relative":
                    out.append(_Item(el, attr, value.strip(), fmt, sig + ((attr,),)))
        kids = el.find_all(True, recursive=False)
        text = _text(el)
        if not text or any(_text(k) == text for k in kids):
            continue  # the same text sits in a child: read it there
        fmt = time_format(text)
        if fmt:
            out.append(_Item(el, None, text, fmt, sig))
        elif _is_count(text):
            out.append(_Item(el, None, text, "number", sig))
    return out


def _fields(rows: list[Tag], items: list[list[_Item]], numbers: bool, share: float) -> list[list[_Item | None]]:
    """The times (or the numbers) grouped by where they sit, present in ``share`` of the rows; each
    group as one item (or None) per row, in the order they appear in the first row having them."""
    by_sig: dict[tuple, list[_Item | None]] = {}
    for i, row_items in enumerate(items):
        for it in row_items:
            if (it.kind == "number") == numbers:
                slot = by_sig.setdefault(it.sig, [None] * len(rows))
                if slot[i] is None:
                    slot[i] = it
    groups = [v for v in by_sig.values() if sum(x is not None for x in v) >= share * len(rows)]

    def place(group: list[_Item | None]) -> int:  # where in its row (rows differ in length)
        i, x = next((i, x) for i, x in enumerate(group) if x is not None)
        return _doc_index(x.el) - _doc_index(rows[i])
    groups.sort(key=place)
    return groups


def _count_hint(it: _Item, row: Tag, header: list[str]) -> str | None:
    """"replies" or "views" from the classes around a count, or its column's header."""
    names = " ".join(" ".join(e.get("class") or []) + " " + (e.get("title") or "")
                     for e in [it.el, *it.el.parents] if e is not row and e is not None and e.name != "[document]"
                     and row in e.parents)
    cell = it.el if it.el.name in ("td", "th") else it.el.find_parent(["td", "th"])
    if cell is not None and header:
        index = len(cell.find_previous_siblings(["td", "th"]))
        if index < len(header):
            names += " " + header[index]
    if re.search(r"repl|comment|answer|post|回复|回帖|评论|答复|帖数", names, re.I):
        return "replies"
    if re.search(r"view|hit|click|read|visit|浏览|查看|点击|阅读|人气", names, re.I):
        return "views"
    return None


def _header(rows: list[Tag]) -> list[str]:
    """A table's column headings (th cells of a row before the first one), if any."""
    first = rows[0]
    if first.name != "tr":
        return []
    table = first.find_parent("table")
    if table is None:
        return []
    for tr in table.find_all("tr"):
        if tr in rows:
            break
        cells = tr.find_all(["th", "td"], recursive=False)
        if cells and not tr.find("a", href=re.compile(r"\d")):
            return [_text(c) for c in cells]
    return []


def propose_board(html: str, url: str, page_url: str | None = None, tz: str = "Asia/Shanghai") -> BoardProposal:
    """What a board page shows and where: the ``generic`` thread-list selectors and addresses.

    ``url`` is the board URL the operator gave (its board id becomes ``{fid}``); ``page_url`` the
    address the page was served from (after redirects; links are resolved on it). Raises
    ProposalError when the page shows no repeated rows with thread links."""
    page_url = page_url or url
    soup = _soup(html)
    base = page_url  # links resolved as the engine resolves them (no <base>)
    board_shape = _Url.of(page_url).shape()
    found = _find_rows(soup, base, board_shape)
    if found is None:
        raise ProposalError(
            f"{page_url}: no repeated rows with thread links found (looked for at least 3 elements of one "
            f"kind under one parent, each with a link on {urlsplit(page_url).netloc} whose address differs only "
            "by a number); is it a board's thread list? A page built by JavaScript shows no rows to read")
    rows, links, spot = found.rows, found.links, found.spot
    notes: list[str] = []
    threads: list[Key] = []

    # addresses
    fid_tpl = fid_in_url(url)
    first_thread = urljoin(base, links[0]["href"])
    base_url = _common_base([url, first_thread])
    thread_url = _relative(spot.template, base_url) if spot.template else None
    if thread_url is None:
        notes.append(f"the thread links carry more than the id (e.g. {_relative(first_thread, base_url)}): "
                     "write thread_url with {tid} where a link without the title still opens the thread")
    fid, board_url = (fid_tpl if fid_tpl else (None, None))
    if board_url is not None:
        board_url = _relative(board_url, base_url)
    tid_pattern = spot.pattern

    # the row and its link
    link_pick = _pick(rows, links, "href", _href_hint(spot))
    link_sel = link_pick[0] if link_pick else None
    row_sel = _row_selector(soup, rows, link_sel, _href_hint(spot))
    if row_sel is None:
        raise ProposalError(f"{page_url}: the thread rows ({len(rows)} <{rows[0].name}> elements) have nothing "
                            "in common a selector could name (no shared class or id prefix)")
    threads.append(Key("row", row_sel, f"{len(rows)} rows on this page"))
    if link_sel is None:
        threads.append(Key("link", None, f"the thread links ({_relative(first_thread, base_url)}) could not be "
                                         "told apart by a selector"))
    else:
        threads.append(Key("link", f"{link_sel}@href", f"its text is the title: {_text(links[0])[:40]}"))

    # author links: a second repeated address shape with a user id
    thread_shape = found.urls[0].shape()
    skip = {id(e) for a in links for e in [a, *a.find_all(True)]}
    user_shapes: dict[tuple, list[list[Tag]]] = defaultdict(lambda: [[] for _ in rows])
    category: list[Tag | None] = [None] * len(rows)
    for i, r in enumerate(rows):
        for a in _links(r):
            if id(a) in skip:
                continue
            u = _Url.of(urljoin(base, a["href"]))
            shape = u.shape()
            if shape == thread_shape:
                continue
            if shape == board_shape or (shape[1] == board_shape[1] and shape[2] != board_shape[2]
                                        and set(board_shape[2]) <= set(shape[2])):
                if category[i] is None and _text(a):
                    category[i] = a
                continue
            if _USERISH.search(a["href"]) and _text(a):
                user_shapes[shape][i].append(a)
    uid_pattern, uid_source, author_shape = None, "", None
    ordered_shapes = sorted(user_shapes.items(), key=lambda kv: min(
        (_doc_index(a[0]) for a in kv[1] if a), default=0))
    user_slots = [(shape, [a[0] if a else None for a in per]) for shape, per in ordered_shapes
                  if sum(1 for a in per if a) >= 0.6 * len(rows)]
    if user_slots:
        shape, firsts = user_slots[0]
        pick = _pick(rows, firsts, "href")
        urls = [_Url.of(urljoin(base, a["href"])) for a in firsts if a is not None]
        user = _user_spot(urls)
        if pick and user:
            uid_pattern, numeric = user
            uid_source = "the board's author links"
            author_shape = shape
            threads.append(Key("author", pick[0], f"e.g. {_text(next(a for a in firsts if a))}"))
            threads.append(Key("author_link", f"{pick[0]}@href", "the author's profile link"
                               + ("" if numeric else " (the user id is a name)")))
        # a later link of a user shape: the last poster
        lasts = []
        for i, r in enumerate(rows):
            later = [a for s, per in ordered_shapes for a in per[i] if firsts[i] is None or a is not firsts[i]]
            later = [a for a in later if firsts[i] is None or _doc_index(a) > _doc_index(firsts[i])]
            lasts.append(later[-1] if later else None)
        if sum(a is not None for a in lasts) >= 0.6 * len(rows):
            pick = _pick(rows, lasts)
            if pick:
                threads.append(Key("last_poster", pick[0], f"e.g. {_text(next(a for a in lasts if a))}"))
    if not any(k.name == "author" for k in threads):
        threads.append(Key("author", None, "no profile links in the rows; the posts' authors are read "
                                           "from the thread pages"))

    # times and counts
    all_items = [_items(r, skip) for r in rows]
    time_groups = _fields(rows, all_items, False, 0.6)
    formats: list[str] = []
    picks = []
    for group in time_groups:
        attr = next(x for x in group if x is not None).attr
        pick = _pick(rows, [x.el if x else None for x in group], attr)
        if pick is None:
            continue
        picks.append((group, f"{pick[0]}@{attr}" if attr else pick[0]))
        for x in group:
            if x is not None and x.kind != "relative" and x.kind not in formats:
                formats.append(x.kind)
    samples = [RowSample(_id_value(spot, u), urljoin(base, a["href"]), _text(a)) for a, u in zip(links, found.urls)]
    if len(picks) >= 2:
        names = ["time", "last_post_time"]
        for (group, sel), name in zip([picks[0], picks[-1]], names):
            first = next(x for x in group if x is not None)
            threads.append(Key(name, sel, f"{'posted' if name == 'time' else 'last post'}, e.g. {first.text} "
                                          "(the first time in the row taken as posted, the last as the last post)"))
            for s, x in zip(samples, group):
                if x is not None:
                    s.times[name] = x.text
    elif len(picks) == 1:
        group, sel = picks[0]
        first = next(x for x in group if x is not None)
        threads.append(Key("time?", sel, f"e.g. {first.text}: posted (time) or last post (last_post_time)? "
                                         "compare with the thread page"))
        for s, x in zip(samples, group):
            if x is not None:
                s.times["time?"] = x.text
    else:
        threads.append(Key("time", None, "no time found in the rows (times in a title= attribute or as "
                                         "text such as 2026-11-30 13:18 are found)"))
    if any(x is not None and x.kind == "relative" for g, _ in picks for x in g):
        notes.append("some list times are relative (3 天前): read to within the unit shown")

    header = _header(rows)
    counts = [g for g in _fields(rows, all_items, True, 0.6)
              if not all(x is None or read_count(x.text) == s.tid for x, s in zip(g, samples))]
    hinted: dict[str, list] = {}
    for group in counts:
        first = next(x for x in group if x is not None)
        hint = _count_hint(first, rows[[i for i, x in enumerate(group) if x is not None][0]], header)
        if hint and hint not in hinted:
            hinted[hint] = group
    unhinted = [g for g in counts if all(g is not h for h in hinted.values())]
    if "replies" not in hinted and "views" not in hinted and len(unhinted) >= 2:
        a, b = unhinted[0], unhinted[1]
        smaller = sum(1 for x, y in zip(a, b) if x and y and read_count(x.text) <= read_count(y.text))
        hinted["replies"], hinted["views"] = (a, b) if smaller >= 0.8 * len(rows) else (b, a)
        notes.append("replies and views told apart by size (replies ≤ views): check")
    elif "replies" not in hinted and len(unhinted) == 1:
        hinted["replies?"] = unhinted[0]
    for name in ("replies", "replies?", "views"):
        group = hinted.get(name)
        if group is None:
            continue
        pick = _pick(rows, [x.el if x else None for x in group])
        if pick is None:
            continue
        first = next(x for x in group if x is not None)
        note = {"replies": f"e.g. {first.text}; if the number counts the opening post too, "
                           "set replies_from: posts",
                "replies?": f"e.g. {first.text}: replies or views? (the one count in the row)",
                "views": f"e.g. {first.text}"}[name]
        threads.append(Key(name, pick[0], note))
        if name.startswith("replies"):
            for s, x in zip(samples, group):
                s.count = read_count(x.text) if x is not None else None
    if not any(k.name.startswith("replies") for k in threads):
        threads.append(Key("replies", None, "no reply count found in the rows: every thread is read at "
                                            "each poll without one"))

    if sum(c is not None for c in category) >= 0.6 * len(rows):
        pick = _pick(rows, category)
        if pick:
            threads.append(Key("category", pick[0], f"e.g. {_text(next(c for c in category if c))} "
                                                    "(board categories: map these names to units)"))

    nxt, how = _next_page(soup, page_url, base, rows)
    threads.append(nxt)
    if board_url is not None and "{page}" not in board_url and how:
        m = re.fullmatch(r"([?&])(\w+)=0*2", how)
        if m:
            board_url += ("&" if "?" in board_url else "?") + f"{m.group(2)}={{page}}"
    threads.append(Key("empty", None, "the element a board without threads shows (e.g. \"p.no-threads\"): "
                                      "without it an empty board fails the poll"))
    return BoardProposal(page_url=page_url, url=url, base_url=base_url, fid=fid, board_url=board_url,
                         thread_url=thread_url, tid_pattern=tid_pattern, uid_pattern=uid_pattern,
                         uid_source=uid_source, time_formats=formats, threads=threads, rows=samples,
                         board_name=page_names(html)[0], notes=notes, _author_shape=author_shape)


def _by_position(selector: str) -> str:
    return " (by column position: check)" if ":nth-of-type" in selector else ""


def _id_value(spot: _IdSpot, url: _Url) -> int:
    path = "/".join(url.segments) + ("?" + "&".join(f"{k}={v}" for k, v in url.query) if url.query else "")
    m = re.search(spot.pattern, path)
    return int(m.group(1)) if m else -1


def _href_hint(spot: _IdSpot) -> str | None:
    """A constant piece of the thread links' address, for ``a[href*=…]``."""
    if not spot.template:
        return None
    head = spot.template.split("{tid}")[0].replace("{{", "{").replace("}}", "}")
    piece = [p for p in head.split("/") if p]
    text = "/".join(piece[-2:]) if piece else ""
    return text if len(text) >= 3 else None


# ---- the thread page ---------------------------------------------------------------------

def _find_posts(soup: BeautifulSoup, base: str, user_shape: tuple | None) -> list[Tag] | None:
    """The repeated elements (2 or more) that each hold a time or a profile link, the most text."""
    marks = set()  # elements showing a time or linking a profile
    for e in soup.find_all(True):
        own = " ".join("".join(e.find_all(string=True, recursive=False)).split())
        if (own and time_format(own)) or any(time_format(e.get(a) or "") for a in ("title", "datetime")) or (
                e.name == "a" and e.get("href") and (_USERISH.search(e["href"]) or (
                    user_shape and _Url.of(urljoin(base, e["href"])).shape() == user_shape))):
            marks.add(id(e))
    best, best_score = None, 0.0
    for members in _groups(soup, 2):
        if not _alike(members):
            continue  # the page's own blocks (div#top, div.wrap) that only share a parent
        marked = sum(1 for m in members if any(id(e) in marks for e in m.find_all(True)))
        if marked < 0.8 * len(members):
            continue
        size = sum(len(_text(m)) for m in members)
        # unmarked members (a reply box among the posts) count against a group
        score = size * (marked / len(members)) ** 2 * (1 + len(members) / 10)
        if score > best_score:
            best, best_score = members, score
    return best


def _alike(members: list[Tag]) -> bool:
    """Whether elements look like one repeated thing: a class they all share, one id prefix
    (``readfloor_12``, ``readfloor_tpc`` count by their letters), or no class and no id at all."""
    if _shared_classes(members):
        return True
    prefixes = {re.match(r"[A-Za-z_-]*", m.get("id") or "").group() for m in members}
    if len(prefixes) == 1 and next(iter(prefixes)):
        return True
    return not any(m.get("class") or m.get("id") for m in members)


def _own_id(posts: list[Tag]) -> tuple[list[Key], list[Key]]:
    """(pid keys, floor keys) from the posts' own attributes or an anchor in each."""
    pid, floor = [], []
    n = len(posts)
    attrs = set(posts[0].attrs)
    for p in posts[1:]:
        attrs &= set(p.attrs)
    found = []
    for attr in sorted(attrs):
        if attr in ("class", "style"):
            continue
        values = [p.get(attr) for p in posts]
        if not all(isinstance(v, str) and re.search(r"\d", v) for v in values):
            continue
        nums = [int(re.search(r"\d+", v).group()) for v in values]
        if len(set(nums)) < n:
            continue
        prefix = {re.sub(r"\d+.*$", "", v) for v in values}
        suffix = {re.sub(r"^\D*\d+", "", v) for v in values}
        consecutive = nums == list(range(nums[0], nums[0] + n))
        floorish = consecutive and nums[0] in (0, 1) or bool(re.search(r"floor|number|position|index|louceng|no$",
                                                                       attr, re.I))
        pidish = bool(re.search(r"pk|pid|post|comment|reply|^id$|data-id", attr, re.I))
        found.append((attr, values, prefix, suffix, floorish, pidish))
    for attr, values, prefix, suffix, floorish, pidish in sorted(found, key=lambda f: (f[4], not f[5])):
        if not floorish and not pid and any(int(re.search(r"\d+", v).group()) == 0 for v in values):
            pid.append(Key("pid", None, f"@{attr} numbers the posts but one is 0 ({values[0]}, {values[1]}, …): "
                                        "not an id of its own for each post"))
        elif not floorish and not pid:
            pattern = None
            if len(prefix) == 1 and len(suffix) == 1 and (next(iter(prefix)) or next(iter(suffix))):
                pattern = "^" + re.escape(next(iter(prefix))) + r"(\d+)" + re.escape(next(iter(suffix))) + "$"
            pid.append(Key("pid", f"@{attr}", f"e.g. {values[0]}"))
            if pattern:
                pid.append(Key("pid_pattern", pattern))
        elif floorish and not floor and not re.fullmatch(r"id", attr):
            floor.append(Key("floor", f"@{attr}", f"{values[0]}, {values[1]}, …"))
    if not floor:
        floor = _floor_text(posts)
    if not pid:
        # an anchor inside each post: <a name="pid123">, <div id="post_123">
        for attr in ("id", "name"):
            per = []
            for p in posts:
                el = p.find(attrs={attr: re.compile(r"^[A-Za-z_-]*\d+$")})
                per.append(el)
            if all(per):
                values = [e[attr] for e in per]
                prefixes = {re.sub(r"\d+$", "", v) for v in values}
                nums = [int(re.search(r"\d+", v).group()) for v in values]
                if nums == list(range(nums[0], nums[0] + n)) and nums[0] in (0, 1):
                    continue  # 0, 1, 2, … again on every page: a counter, not the posts' ids
                if len(prefixes) == 1 and len(set(nums)) == n and next(iter(prefixes)):
                    prefix = next(iter(prefixes))
                    sel = f"{per[0].name}[{attr}^={_css_string(prefix)}]"
                    if all(p.select_one(sel) is e for p, e in zip(posts, per)):
                        pid.append(Key("pid", f"{sel}@{attr}", f"e.g. {values[0]}"))
                        pid.append(Key("pid_pattern", "^" + re.escape(prefix) + r"(\d+)$"))
                        break
    return pid, floor


_FLOOR = re.compile(r"^(?:#|第)?\s*(\d+)\s*(?:楼|#|F|樓)?$", re.I)


def _floor_text(posts: list[Tag]) -> list[Key]:
    """A floor number shown in each post ("1楼", "#2"), counting up from post to post."""
    per: dict[tuple, list[Tag | None]] = defaultdict(lambda: [None] * len(posts))
    for i, p in enumerate(posts):
        for el in p.find_all(True):
            m = _FLOOR.match(_text(el))
            if m and not el.find(True, string=re.compile(r"\d")):
                per[_path_sig(el, p)][i] = per[_path_sig(el, p)][i] or el
    for els in per.values():
        if any(e is None for e in els):
            continue
        nums = [int(_FLOOR.match(_text(e)).group(1)) for e in els]
        if nums != list(range(nums[0], nums[0] + len(nums))) or nums[0] > 1 and len(nums) < 3:
            continue
        if not re.search(r"楼|#|F|樓|第", " ".join(_text(e) for e in els), re.I) and not any(
                re.search(r"floor|lou|num", " ".join(e.get("class") or []), re.I) for e in els):
            continue  # a bare counting number: not surely the floor
        pick = _pick(posts, els)
        if pick:
            return [Key("floor", pick[0], f"{_text(els[0])}, {_text(els[1])}, …")]
    return []


def propose_thread(html: str, url: str, board: BoardProposal, samples: Iterable[tuple[str, str]] = (),
                   tz: str = "Asia/Shanghai") -> ThreadProposal:
    """What a thread page shows and where: the ``generic`` post selectors.

    ``board`` is the board's proposal (its user links and times help; its row for this thread
    gives the title to look for). ``samples`` are (html, url) of more thread pages whose rows the
    board showed: with this page they tell whether the list's count includes the opening post
    and whether its time is the posted or the last post's (``board`` is updated)."""
    soup = _soup(html)
    base = url  # links resolved as the engine resolves them (no <base>)
    posts = _find_posts(soup, base, board._author_shape)
    if not posts:
        raise ProposalError(f"{url}: no repeated posts found (looked for at least 2 elements of one kind "
                            "under one parent, each with a time or a profile link); give a thread with "
                            "replies (--thread URL)")
    keys: list[Key] = []
    notes: list[str] = []
    sel = _row_selector(soup, posts, None)
    if sel is None:
        raise ProposalError(f"{url}: the posts ({len(posts)} <{posts[0].name}> elements) have nothing in "
                            "common a selector could name")
    keys.append(Key("post", sel, f"{len(posts)} posts on this page"))
    pid, floor = _own_id(posts)
    keys += pid or [Key("pid", None, "no post id found (an id= or data- attribute with a number on each "
                                     "post, or an anchor inside it); required")]

    # author: the first profile link in each post that has text
    uid_pattern = None
    shapes: dict[tuple, list[Tag | None]] = defaultdict(lambda: [None] * len(posts))
    for i, p in enumerate(posts):
        for a in _links(p):
            shape = _Url.of(urljoin(base, a["href"])).shape()
            if (_USERISH.search(a["href"]) or shape == board._author_shape) and _text(a) and shapes[shape][i] is None:
                shapes[shape][i] = a
    usable = [(s, v) for s, v in shapes.items() if sum(x is not None for x in v) >= 0.8 * len(posts)]
    usable.sort(key=lambda sv: (sv[0] != board._author_shape, _doc_index(next(x for x in sv[1] if x))))
    author_el = None
    if usable:
        shape, per = usable[0]
        pick = _pick(posts, per, "href")
        user = _user_spot([_Url.of(urljoin(base, a["href"])) for a in per if a is not None])
        if pick:
            author_el = per
            keys.append(Key("author", pick[0], f"e.g. {_text(next(a for a in per if a))}"))
            keys.append(Key("author_link", f"{pick[0]}@href", "the author's profile link"))
            if user:
                uid_pattern = user[0]
                if not user[1]:
                    notes.append("user ids in profile links are names, not numbers")
    if author_el is None:
        keys.append(Key("author", None, "no profile link in the posts; give the element with the author's "
                                        "name, e.g. \".author\""))

    # time: the first time in each post
    skip = {id(e) for a in (author_el or []) if a is not None for e in [a, *a.find_all(True)]}
    items = [_items(p, skip) for p in posts]
    groups = _fields(posts, items, False, 0.8)
    formats = []
    time_el = None
    for group in groups:
        attr = next(x for x in group if x is not None).attr
        pick = _pick(posts, [x.el if x else None for x in group], attr)
        if pick:
            first = next(x for x in group if x is not None)
            keys.append(Key("time", f"{pick[0]}@{attr}" if attr else pick[0], f"e.g. {first.text}"))
            formats = list(dict.fromkeys(x.kind for x in group if x is not None and x.kind != "relative"))
            if any(x is not None and x.kind == "relative" for x in group):
                notes.append("post times are relative (3 天前): check whether an attribute holds the exact time")
            time_el = [x.el if x else None for x in group]
            break
    if time_el is None:
        keys.append(Key("time", None, "no time found in the posts"))
    keys += floor

    # body: the block whose text differs most from post to post, outside the author and time
    keys.append(_body(posts, author_el, time_el))

    # the title: where the page repeats the list's title for this thread
    tid_row = _row_of(url, board)
    title_key = Key("title", None, "the thread's title on its page (page-wide), e.g. \"h1\"")
    if tid_row is not None and tid_row.title:
        same = [el for el in soup.find_all(["h1", "h2", "h3", "h4", "div", "span", "p", "strong", "td", "th"])
                if _text(el) == tid_row.title and not el.find_parent("a")]
        outside = [el for el in same if not any(el is p or p in el.parents for p in posts)]
        target = (outside or same or [None])[0]
        if target is not None:
            tid_attr = target.get("id") or ""
            own_id = [f"#{tid_attr}"] if tid_attr and re.fullmatch(r"[A-Za-z_][\w-]*", tid_attr) \
                and not re.search(r"\d", tid_attr) else []
            for cand in [f"{target.name}.{c}" for c in _stable_classes(target)] + own_id + \
                        [f"{s} {target.name}" for s in _container_selectors(target.parent)] + [target.name]:
                try:
                    if soup.select_one(cand) is target:
                        title_key = Key("title", cand, f"e.g. {tid_row.title[:40]}")
                        break
                except Exception:  # noqa: BLE001
                    continue
    keys.append(title_key)
    nxt, _ = _next_page(soup, url, base, posts)
    if nxt.value is None and board.key("next_page") and board.key("next_page").value:
        nxt = Key("next_page", None, f"this thread has one page; the board's pager would be "
                                     f"{board.key('next_page').value!r}: check on a longer thread")
    keys.append(nxt)
    proposal = ThreadProposal(page_url=url, posts=keys, post_count=len(posts), uid_pattern=uid_pattern,
                              time_formats=formats, notes=notes)
    if board.uid_pattern is None and uid_pattern:
        board.uid_pattern, board.uid_source = uid_pattern, "the posts' author links"
    for fmt in formats:
        if fmt not in board.time_formats:
            board.time_formats.append(fmt)
    _compare(board, proposal, [(html, url), *samples], tz)
    return proposal


def _row_of(url: str, board: BoardProposal) -> RowSample | None:
    if not board.tid_pattern:
        return None
    u = _Url.of(url)
    path = "/".join(u.segments) + ("?" + "&".join(f"{k}={v}" for k, v in u.query) if u.query else "")
    m = re.search(board.tid_pattern, path) or re.search(board.tid_pattern, url)
    if not m:
        return None
    return next((r for r in board.rows if r.tid == int(m.group(1))), None)


_PROFILE_LABELS = re.compile(r"UID|帖子|主题|精华|积分|威望|金钱|贡献|阅读权限|在线时间|注册时间|最后登录|发帖|级别|等级")


def _body(posts: list[Tag], author: list[Tag | None] | None, times: list[Tag | None] | None) -> Key:
    """The post text: the element (same place in every post) whose text is longest and differs
    between posts; not the header holding the author or the time, not boilerplate."""
    avoid = [e for e in (author or []) + (times or []) if e is not None]
    by_sig: dict[tuple, list[Tag | None]] = defaultdict(lambda: [None] * len(posts))
    for i, p in enumerate(posts):
        for el in p.find_all(True):
            if el.name in ("a", "img", "br", "i", "input", "button", "span", "b", "strong", "em", "font"):
                continue
            sig = _path_sig(el, p)
            if by_sig[sig][i] is None:
                by_sig[sig][i] = el
    best, best_score = None, 0.0
    for sig, per in by_sig.items():
        present = [e for e in per if e is not None]
        if len(present) < 0.8 * len(posts):
            continue
        if any(a is e or e in a.parents for e in present[:3] for a in avoid):
            continue  # holds the author or the time: a header
        if any(e is not None and a is not None and a.get("href") and e.find("a", href=a["href"])
               for e, a in list(zip(per, author or []))[:3]):
            continue  # links the author's profile again: the profile panel beside the post
        texts = [_text(e) for e in present]
        if sum(len(set(_PROFILE_LABELS.findall(t))) >= 3 for t in texts[:3]) >= min(2, len(texts)):
            continue  # "UID 5 帖子 7 积分 0 注册时间 …": the author's card, not what they wrote
        distinct = len(set(texts)) / len(texts)
        if distinct < 0.5:
            continue
        score = sum(len(t) for t in texts) / len(texts) * distinct
        classed = bool(_stable_classes(present[0]))
        score *= 1.2 if classed else 1.0
        if score > best_score:
            best, best_score = per, score
    if best is not None:
        # a classed block inside it holding most of its text is the text itself (not a header + text)
        mean = sum(len(_text(e)) for e in best if e is not None) / max(1, sum(e is not None for e in best))
        for sig, per in by_sig.items():
            inner = [(o, e) for o, e in zip(best, per) if o is not None and e is not None and o in e.parents]
            if len(inner) < 0.8 * len(posts) or not _stable_classes(inner[0][1]):
                continue
            texts = [_text(e) for _, e in inner]
            if sum(len(t) for t in texts) / len(texts) >= 0.6 * mean and len(set(texts)) >= 0.5 * len(texts):
                best, mean = per, sum(len(t) for t in texts) / len(texts)
    if best is None:
        return Key("body", None, "no block of post text found; give the element holding it")
    pick = _pick(posts, best)
    if pick is None:
        return Key("body", None, "the post text could not be told apart by a selector")
    first = _text(next(e for e in best if e is not None))
    return Key("body", pick[0], f"e.g. {first[:30]}")


def _compare(board: BoardProposal, thread: ThreadProposal, pages: list[tuple[str, str]], tz_name: str) -> None:
    """Decide the list's count and time from threads whose rows the board showed: read each page
    with the proposed block (the engine itself) and compare."""
    if any(k.value is None for k in thread.posts if k.name in ("post", "pid")):
        return
    tz = ZoneInfo(tz_name)
    count_votes: Counter = Counter()
    time_votes: dict[str, Counter] = defaultdict(Counter)
    evidence = []
    pids: dict[int, int] = {}  # pid → the thread it was seen in
    for html, url in pages:
        row = _row_of(url, board)
        try:
            parsed = _parse_thread(html, url, board, thread, tz_name)
        except Exception:  # noqa: BLE001 - no evidence from a page the block cannot read
            continue
        if not parsed.posts:
            continue
        tid = row.tid if row is not None else hash(url)
        clash = [p.pid for p in parsed.posts if pids.get(p.pid, tid) != tid]
        if clash:
            key = thread.key("pid")
            thread.notes.append(f"post id {clash[0]} ({key.value}) is in two threads: the posts' ids must be "
                                "unique across the forum")
            key.note, key.value = f"{key.value} repeats across threads (e.g. {clash[0]}): not a post id", None
            return
        pids.update({p.pid: tid for p in parsed.posts})
        if row is None:
            continue
        whole = parsed.next_page is None
        n = len(parsed.posts)
        if whole and row.count is not None:
            if row.count == n:
                count_votes["posts"] += 1
                evidence.append(f"thread {row.tid}: the list shows {row.count}, its page {n} posts")
            elif row.count == n - 1:
                count_votes["replies"] += 1
                evidence.append(f"thread {row.tid}: the list shows {row.count}, its page {n} posts")
        first_at = parsed.posts[0].posted_at
        last_at = parsed.posts[-1].posted_at if whole else None
        for name, text in row.times.items():
            fmt = next((f for f in board.time_formats if _to_local(text, f, tz)), None)
            shown = _to_local(text, fmt, tz) if fmt else None
            if shown is None:
                continue
            date_only = "%H" not in fmt

            def same(at: datetime | None) -> bool:
                if at is None:
                    return False
                local = at.astimezone(tz)
                return local.date() == shown.date() if date_only else abs((local - shown).total_seconds()) <= 60

            is_first, is_last = same(first_at), same(last_at)
            if is_first and not is_last and (whole or n > 1):
                time_votes[name]["time"] += 1
            elif is_last and not is_first:
                time_votes[name]["last_post_time"] += 1
    replies = board.key("replies") or board.key("replies?")
    if replies is not None and count_votes:
        verdict = count_votes.most_common(1)[0][0]
        if replies.name == "replies?":
            replies.name = "replies"
        if verdict == "posts":
            replies.note = "the number of posts, the opening post included (" + "; ".join(evidence[:2]) + ")"
            board.set("replies_from", "posts", "the list's count includes the opening post", after="replies")
        else:
            replies.note = "replies, the opening post not counted (" + "; ".join(evidence[:2]) + ")"
    for name, votes in time_votes.items():
        key = board.key(name)
        if key is None or not votes:
            continue
        verdict = votes.most_common(1)[0][0]
        if key.name == "time?":
            key.name = verdict
            key.note = ("the thread's last post (matches the last post's time on its page)" if verdict ==
                        "last_post_time" else "when the thread was posted (matches its first post)")
        elif key.name != verdict:
            thread.notes.append(f"the list's {key.name} matched the thread's "
                                f"{'last' if verdict == 'last_post_time' else 'first'} post: check it")


# ---- the block ----------------------------------------------------------------------------

def block_options(board: BoardProposal, thread: ThreadProposal) -> dict:
    """The ``generic`` options as the engine takes them (keys not determined left out)."""
    def section(keys: list[Key]) -> dict:
        return {k.name: k.value for k in keys if k.value is not None and not k.name.endswith("?")}
    opts = {"board_url": board.board_url or "", "thread_url": board.thread_url or "",
            "tid_pattern": board.tid_pattern or "", "time_formats": list(board.time_formats),
            "threads": section(board.threads), "posts": section(thread.posts)}
    if board.uid_pattern:
        opts["uid_pattern"] = board.uid_pattern
    return opts


def _parse_thread(html: str, url: str, board: BoardProposal, thread: ThreadProposal, tz: str):
    site = Site(board.base_url, tz, options=block_options(board, thread))
    return generic.parse_thread(Page(url, html.encode("utf-8"), datetime.now(timezone.utc),
                                     content_type="text/html; charset=utf-8"), site)


@dataclass
class Check:
    """What the generic engine reads with the proposed block from the pages it was made from."""

    threads: int = 0
    posts: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def check_block(board: BoardProposal, thread: ThreadProposal, board_html: str, thread_html: str,
                tz: str = "Asia/Shanghai") -> Check:
    """Run the engine with the proposed block on the board page and the thread page."""
    site = Site(board.base_url, tz, options=block_options(board, thread))
    out = Check()
    now = datetime.now(timezone.utc)
    try:
        listed = generic.parse_thread_list(Page(board.page_url, board_html.encode("utf-8"), now,
                                                content_type="text/html; charset=utf-8"), site)
        out.threads = len(listed.threads)
        out.warnings += listed.warnings
        read = generic.parse_thread(Page(thread.page_url, thread_html.encode("utf-8"), now,
                                         content_type="text/html; charset=utf-8"), site)
        out.posts = len(read.posts)
        out.warnings += read.warnings
    except (ScraperError, KeyError, ValueError, re.error) as exc:
        out.error = str(exc)
    return out


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())


def render_block(board: BoardProposal, thread: ThreadProposal, forum_id: str, name: str, kind: str,
                 indent: int = 2) -> str:
    """The forum entry as YAML text (a ``forums:`` list holding it), commented: each key says what it
    found, each key not determined is a ``# TODO`` line."""
    pad = " " * indent
    lines = ["forums:", f"{pad}- id: {forum_id}", f"{pad}  name: {_q(name)}", f"{pad}  engine: generic",
             f"{pad}  base_url: {board.base_url}",
             f"{pad}  rate_limit: 1   # requests per second to the host: keep it polite on a public forum",
             f"{pad}  generic:"]
    g = pad + "    "

    def key(prefix: str, k: str, value: str | None, note: str, bare: bool = False) -> None:
        if value is None:
            lines.append(f"{prefix}# TODO {k}: {_comment(note)}")
            return
        shown = value if bare else _q(value)
        note += _by_position(value)
        lines.append(f"{prefix}{k}: {shown}" + (f"   # {_comment(note)}" if note else ""))

    key(g, "board_url", board.board_url,
        f"this board is {{fid}} = {board.fid}" if board.board_url else
        "no board id in the URL; write the board page address with {fid} (and {page})")
    key(g, "thread_url", board.thread_url, "the thread page, {tid} its id" if board.thread_url else
        "the thread page's address with {tid} for its id (the id alone did not work)")
    key(g, "tid_pattern", board.tid_pattern, f"the thread id in links ({len(board.rows)} rows)")
    if board.uid_pattern:
        key(g, "uid_pattern", board.uid_pattern, f"the user id in {board.uid_source}: use it for units' accounts")
    else:
        lines.append(f"{g}# TODO uid_pattern: no profile links found; spokespersons are then known by "
                     "username only")
    if board.time_formats:
        lines.append(f"{g}time_formats: [{', '.join(_q(f) for f in board.time_formats)}]")
    else:
        lines.append(f"{g}# TODO time_formats: no absolute time found (relative ones are read anyway)")
    for section, keys in (("threads", board.threads), ("posts", thread.posts)):
        lines.append(f"{g}{section}:")
        s = g + "  "
        for k in keys:
            if k.name == "replies_from":
                key(s, k.name, k.value, k.note, bare=True)
                continue
            if k.name.endswith("?"):
                lines.append(f"{s}# TODO {k.name[:-1]}: {_q(k.value)}   # {_comment(k.note)}")
                continue
            key(s, k.name, k.value, k.note)
    lines += [f"{pad}  boards:",
              f"{pad}    - fid: {board.fid}",
              f"{pad}      name: {_q(board.board_name or f'board {board.fid}')}",
              f"{pad}      kind: {kind}   # TODO check: programme (requests the programme answers) or watched; "
              "add unit: or categories: for who answers here"]
    return "\n".join(lines) + "\n"


def summary(board: BoardProposal, thread: ThreadProposal) -> list[str]:
    """Lines for the terminal: what was found, what is left to do."""
    found = [k.name for k in board.threads if k.value is not None and not k.name.endswith("?")]
    found_posts = [k.name for k in thread.posts if k.value is not None]
    todo = [f"threads.{k.name.rstrip('?')}" for k in board.threads if k.value is None or k.name.endswith("?")]
    todo += [f"posts.{k.name}" for k in thread.posts if k.value is None]
    if not board.uid_pattern:
        todo.append("uid_pattern")
    lines = [f"  threads: {', '.join(found)}", f"  posts: {', '.join(found_posts)}",
             f"  tid_pattern {board.tid_pattern}, uid_pattern {board.uid_pattern or '-'}, "
             f"time formats {', '.join(board.time_formats) or '-'}"]
    rf = board.key("replies_from")
    if rf is not None:
        lines.append(f"  replies_from: {rf.value} ({rf.note})")
    lines += [f"  note: {n}" for n in board.notes + thread.notes]
    if todo:
        lines.append(f"  TODO (commented lines in the block): {', '.join(todo)}")
    return lines
