"""config.yaml: declared once, typed and documented here (pydantic), read as YAML 1.2 (ruamel.yaml).

Secrets never sit in the file: write ``${ENV_VAR}`` (or ``${ENV_VAR:-default}``)
and the value comes from the environment when the file is loaded. Anchors, aliases,
tags and duplicate keys are refused; every error names the file, line and key path.
"""
from __future__ import annotations

import os
import re
import datetime as dt
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from monitor.errors import ConfigError

DEFAULT_PARALLEL_POLLS_CAP = 8  # the default poll pool: one thread per forum, at most this many

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---- checks the settings use: each value that would fail at run time fails here ----

class _At(ValueError):
    """A problem at ``loc`` below the model that raises it; parse_config adds it to the key path."""

    def __init__(self, loc: tuple[Any, ...], message: str):
        super().__init__(message)
        self.loc = loc


# Durations beyond these break timers and date arithmetic at run time; far beyond any real setting.
_LIMITS = {"poll_interval_minutes": (525600, "minutes (a year)"),
           "recheck_interval_minutes": (525600, "minutes (a year)"),
           "check_interval_minutes": (525600, "minutes (a year)"),
           "backoff_max_minutes": (525600, "minutes (a year)"),
           "timeout_seconds": (3600, "seconds (an hour)"),
           "alert_after_hours": (8760, "hours (a year)"),
           "due_soon_hours": (8760, "hours (a year)"),
           "inactive_after_days": (3650, "days (ten years)"),
           "stale_after_intervals": (1000, "intervals")}


def _within_limit(cls: type, v: Any, info: ValidationInfo) -> Any:
    limit, unit = _LIMITS[info.field_name]
    if v is not None and v > limit:
        raise ValueError(f"must be at most {limit} {unit}, not {v}")
    return v


def _zone_name(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)") from None
    return v


def _folder_problem(folder: str | Path) -> str | None:
    """Why spokeswatch could not create and use ``folder`` (None: it can): it, or a folder on its way, is a file."""
    p = Path(folder)
    for q in (p, *p.parents):
        if q.exists():
            if q.is_dir():
                return None
            return f"{q} is a file, not a folder" + ("" if q == p else f" (on the way to {p})")
    return None


_DATABASES = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DATABASE"
_SQLITE_FILE = re.compile(r"sqlite://(?:/(?P<file>[^?]*))?")


def _database_problem(url: str) -> str | None:
    """Why the database URL cannot work (None: it can): the dialect and its driver must be installed."""
    m = _SQLITE_FILE.fullmatch(url)
    if m:  # plain SQLite: Python's own driver; checked without loading SQLAlchemy (config check stays light)
        import sqlite3  # noqa: F401  (a Python built without it fails here, not at the first poll)
        file = m.group("file") or ""
        if file in ("", ":memory:"):
            return None
        if Path(file).is_dir():
            return f"the SQLite database {file} is a folder"
        parent = Path(file).parent
        if not parent.is_dir():
            return (f"the folder of the SQLite database, {parent}, " + ("is a file" if parent.exists() else
                    "does not exist (SQLite creates the file, not its folder)"))
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from models.db import normalise_url
    try:
        parsed = make_url(normalise_url(url))
    except (ArgumentError, ValueError):
        return f"not a database URL (use {_DATABASES})"  # the URL is not echoed: it may hold a password
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        return f"unknown database {parsed.drivername!r}: spokeswatch runs on sqlite or postgresql ({_DATABASES})"
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return f"unknown database driver {parsed.drivername!r} (use {_DATABASES})"
    except ImportError as exc:
        return (f"the driver of {parsed.drivername} is not installed ({exc.name or exc}); "
                f"the installed choices are sqlite and postgresql ({_DATABASES})")
    return None


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_APPRISE_URL = re.compile(_SCHEME.pattern + r"\S")


def _apprise_urls(cls: type, v: Any, info: ValidationInfo) -> Any:
    """Each notify target must be an Apprise URL; with optional secrets, one left empty is dropped."""
    if not isinstance(v, list):
        return v
    optional = bool(info.context and info.context.get("optional_secrets"))
    for i, url in enumerate(v):
        if isinstance(url, str) and not url.strip() and optional:
            continue
        if isinstance(url, str) and not (_SCHEME if optional else _APPRISE_URL).match(url.strip()):  # not echoed
            raise _At((i,), "not an Apprise URL: it needs a scheme, e.g. mailtos://, dingtalk://, "
                            "wecombot:// or json://")
    return [u for u in v if not (optional and isinstance(u, str) and not u.strip())]


_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _time_of_day(v: Any) -> Any:
    """HH:MM (or HH:MM:SS) only: pydantic would read a number as seconds after midnight."""
    if isinstance(v, dt.time) and v.tzinfo is None:
        return v
    m = _TIME_OF_DAY.fullmatch(v.strip()) if isinstance(v, str) else None
    if m:
        h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
        if h < 24 and mi < 60 and s < 60:
            return dt.time(h, mi, s)
        raise ValueError(f"{v!r} is not a time of day (00:00 to 23:59)")
    what = f"the number {v!r}" if isinstance(v, (int, float)) and not isinstance(v, bool) else repr(v)
    raise ValueError(f"must be a time of day written HH:MM, e.g. 22:00, not {what}")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _dates(v: Any) -> Any:
    """YYYY-MM-DD dates only: pydantic would read a number as seconds since 1970."""
    if not isinstance(v, list):
        return v
    out = []
    for i, d in enumerate(v):
        if isinstance(d, dt.datetime):
            if d.time() != dt.time(0) or d.tzinfo is not None:
                raise _At((i,), f"must be a date written YYYY-MM-DD, not a date and time ({d.isoformat()})")
            d = d.date()
        elif isinstance(d, str) and _DATE.fullmatch(d.strip()):
            try:
                d = date.fromisoformat(d.strip())
            except ValueError:
                raise _At((i,), f"{d!r} is not a day of the calendar") from None
        elif not isinstance(d, date):
            what = f"the number {d!r}" if isinstance(d, (int, float)) and not isinstance(d, bool) else repr(d)
            raise _At((i,), f"must be a date written YYYY-MM-DD, e.g. 2011-10-01, not {what}")
        out.append(d)
    return out


_LISTEN = re.compile(r"(?P<host>\[[0-9A-Fa-f:.%\w]+\]|[^\s:\[\]]*):(?P<port>\d{1,5})")


def _listen(v: str) -> str:
    """Empty (off) or HOST:PORT; only parsed here, never bound."""
    if not v.strip():
        return ""
    m = _LISTEN.fullmatch(v.strip())
    if not m:
        raise ValueError(f"{v!r} is not HOST:PORT, e.g. 127.0.0.1:9108, [::1]:9108 or :9108 (every address); "
                         "leave it empty to turn the endpoint off")
    if int(m["port"]) > 65535:
        raise ValueError(f"{v!r}: port {int(m['port'])} is out of range (1-65535, or 0 for any free port)")
    return v.strip()


# What loguru accepts (sizes, durations, frequencies, times of day), without importing it.
_LOG_NUMBER = r"\d+(?:\.\d+)?"
_LOG_SIZE = rf"{_LOG_NUMBER}\s*[KMGTPEZY]?i?B"
_LOG_DURATION = (rf"(?:{_LOG_NUMBER}\s*(?:years?|y|months?|weeks?|w|days?|d|hours?|h|min(?:ute)?s?"
                 rf"|sec(?:ond)?s?|s|milliseconds?|ms|microseconds?|us)(?![a-z])[\s,]*)+")
_LOG_TIME = r"(?:[01]?\d|2[0-3])(?::[0-5]\d){0,2}"
_LOG_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|w[0-6])"
_LOG_ROTATION = re.compile(rf"{_LOG_SIZE}|{_LOG_DURATION}|hourly|daily|weekly|monthly|yearly"
                           rf"|{_LOG_TIME}|{_LOG_DAY}(?:\s+at\s+{_LOG_TIME})?", re.IGNORECASE)
_LOG_RETENTION = re.compile(_LOG_DURATION, re.IGNORECASE)


# ---- the settings ----------------------------------------------------------

class Board(_Model):
    """A thread list on a forum (Discuz! fid)."""

    fid: int = Field(description="the board's id on the forum (Discuz! fid)")
    name: str = Field("", description="display name")
    kind: Literal["programme", "watched"] = Field(
        "programme", description="programme: every citizen thread is a request to the programme; "
        "watched: a thread counts only once something assigns it to a unit")
    unit: str | None = Field(None, description="unit id every thread on this board is assigned to")
    categories: dict[str, str] = Field(default_factory=dict, description=(
        "thread category (主题分类) name → unit id; categories named like a unit or alias match anyway"))
    feed_url: str | None = Field(None, description=(
        "read the thread list from this RSS/Atom feed on the forum's host instead of the board pages; "
        "'auto' = the engine's own feed (Discuz!: forum.php?mod=rss&fid=F)"))


class Login(_Model):
    """A forum account spokeswatch logs in with; give both from the environment."""

    username: str = Field(description="login name; use ${ENV_VAR}")
    password: SecretStr = Field(description="password; use ${ENV_VAR} (never logged)")


class ListSelectors(_Model):
    """Where a board page shows each thread (generic engine). ``css@attr`` reads an attribute."""

    format: Literal["html"] = "html"
    row: str = Field(description="one element per thread")
    link: str = Field(description="the thread link, e.g. 'a.title@href' (its text is the title)")
    title: str | None = Field(None, description="the title, if not the link's text")
    author: str | None = Field(None, description="the author's name")
    author_link: str | None = Field(None, description="the author's profile link (uid via uid_pattern)")
    time: str | None = Field(None, description="when the thread was posted")
    replies: str | None = Field(None, description="reply count (1,234 and 1.2万 read as numbers)")
    replies_from: Literal["replies", "posts"] = Field("replies", description=(
        "posts: the replies field counts the opening post too, so replies = shown − 1"))
    replies_offset: int = Field(0, ge=-10, le=10, description="added to every shown reply count")
    views: str | None = Field(None, description="view count")
    last_post_time: str | None = Field(None, description="time of the last post")
    last_poster: str | None = Field(None, description="name of the last poster")
    category: str | None = Field(None, description="the thread's category")
    next_page: str | None = Field(None, description="link to the next page, e.g. 'a.next@href'")
    empty: str | None = Field(None, description="an element shown when the board has no threads")

    @model_validator(mode="after")
    def _selectors_compile(self) -> ListSelectors:
        _check_selectors(self, "row")
        return self


class ThreadSelectors(_Model):
    """Where a thread page shows each post (generic engine)."""

    format: Literal["html"] = "html"
    post: str = Field(description="one element per post")
    pid: str = Field(description=(
        "the post's id, e.g. '@data-pk' or '@id' with pid_pattern; '#tid' for one question per page (留言板)"))
    pid_pattern: str | None = Field(None, description="regex whose group 1 is the post id")
    author: str | None = Field(None, description="the author's name")
    author_link: str | None = Field(None, description="the author's profile link (uid via uid_pattern)")
    time: str | None = Field(None, description="when the post was made")
    floor: str | None = Field(None, description="the floor number")
    body: str | None = Field(None, description="the post's text")
    title: str | None = Field(None, description="the thread title (page-wide)")
    next_page: str | None = Field(None, description="link to the next page")
    empty: str | None = Field(None, description="an element shown when the thread has no posts")
    official_reply: str | None = Field(None, description=(
        "message boards (留言板): the official reply block; it becomes a post by the unit it names"))
    official_unit: str | None = Field(None, description="within the block: the replying unit (回复单位)")
    official_time: str | None = Field(None, description="within the block: the reply time (回复时间)")
    official_body: str | None = Field(None, description="within the block: the reply text (回复内容)")

    @model_validator(mode="after")
    def _selectors_compile(self) -> ThreadSelectors:
        _check_selectors(self, "post")
        return self


def _check_selectors(section: BaseModel, key: str) -> None:
    """Refuse a selector that does not compile, or a section mixing CSS and XPath."""
    from scrapers.generic import check_selectors  # the parsers load only for a generic forum's config
    problems = check_selectors(section.model_dump(exclude_none=True), key)
    if problems:
        raise ValueError("; ".join(problems))


class _JsonSection(_Model):
    """Fields of a JSON answer, each a JMESPath expression (format: json)."""

    format: Literal["json"] = "json"

    @model_validator(mode="after")
    def _expressions_compile(self):
        from scrapers.generic_json import check_expressions  # loads only for a JSON forum's config
        problems = check_expressions(self.model_dump(exclude_none=True))
        if problems:
            raise ValueError("; ".join(problems))
        return self


class JsonListFields(_JsonSection):
    """Where a board endpoint's answer holds each thread (JMESPath; row fields from each row)."""

    row: str = Field(description="the list of thread rows, e.g. 'results' or 'data.list'")
    tid: str = Field(description="the thread id, e.g. 'id'")
    link: str | None = Field(None, description="the thread's page for people, e.g. 'url.index' (else link_url)")
    title: str | None = Field(None, description="the title")
    author: str | None = Field(None, description="the author's name")
    uid: str | None = Field(None, description="the author's user id (a number or a name)")
    author_link: str | None = Field(None, description="the author's profile link (uid via uid_pattern)")
    time: str | None = Field(None, description="when the thread was posted (unix, ISO 8601, time_formats)")
    replies: str | None = Field(None, description="reply count")
    replies_from: Literal["replies", "posts"] = Field("replies", description=(
        "posts: the count includes the opening post, so replies = shown − 1"))
    replies_offset: int = Field(0, ge=-10, le=10, description="added to every shown reply count")
    views: str | None = Field(None, description="view count")
    last_post_time: str | None = Field(None, description="time of the last post")
    last_poster: str | None = Field(None, description="name of the last poster")
    category: str | None = Field(None, description="the thread's category")
    sticky: str | None = Field(None, description="true for a pinned thread")
    next_page: str | None = Field(None, description=(
        "page-wide: the next page as an address, a page number or true; null on the last page"))
    pages: str | None = Field(None, description="page-wide: the number of pages")
    page: str | None = Field(None, description="page-wide: this page's number")


class JsonPostFields(_JsonSection):
    """Where a thread endpoint's answer holds each post (JMESPath; post fields from each post)."""

    post: str = Field(description="the list of posts, e.g. 'results'; '[@]' for one item per answer (留言板)")
    pid: str = Field(description="the post's id, e.g. 'id'; '#tid' for one question per answer (留言板)")
    pid_pattern: str | None = Field(None, description="regex whose group 1 is the post id")
    floor: str | None = Field(None, description="the floor number")
    author: str | None = Field(None, description="the author's name")
    uid: str | None = Field(None, description="the author's user id (a number or a name)")
    author_link: str | None = Field(None, description="the author's profile link (uid via uid_pattern)")
    time: str | None = Field(None, description="when the post was made")
    body: str | None = Field(None, description="the post's text or HTML")
    posts_before: str | None = Field(None, description=(
        "page-wide: how many posts come before this page's first (floors count on from it)"))
    tid: str | None = Field(None, description="page-wide: the thread id, when the address does not carry it")
    title: str | None = Field(None, description="page-wide: the thread title")
    category: str | None = Field(None, description="page-wide: the thread's category")
    replies: str | None = Field(None, description="page-wide: the reply count")
    replies_from: Literal["replies", "posts"] = Field("replies", description=(
        "posts: the count includes the opening post, so replies = shown − 1"))
    replies_offset: int = Field(0, ge=-10, le=10, description="added to the shown reply count")
    views: str | None = Field(None, description="page-wide: the view count")
    next_page: str | None = Field(None, description="page-wide: the next page (address, number or true)")
    pages: str | None = Field(None, description="page-wide: the number of pages")
    page: str | None = Field(None, description="page-wide: this page's number")
    official_reply: str | None = Field(None, description=(
        "page-wide, message boards (留言板): the official reply object; it becomes a post by the unit it names"))
    official_unit: str | None = Field(None, description="within the reply: the replying unit (回复单位)")
    official_time: str | None = Field(None, description="within the reply: the reply time (回复时间)")
    official_body: str | None = Field(None, description="within the reply: the reply text (回复内容)")


class GenericSelectors(_Model):
    """A forum described by selectors (HTML pages) or JMESPath expressions (JSON answers): engine ``generic``."""

    format: Literal["html", "json"] = Field("html", description=(
        "html: pages read by CSS/XPath selectors; json: API answers read by JMESPath expressions"))
    board_url: str = Field(description="board page (or endpoint) URL relative to base_url, with {fid} and {page}")
    thread_url: str = Field(description="thread page (or endpoint) URL relative to base_url, with {tid} and {page}")
    tid_pattern: str | None = Field(None, description=(
        "regex on thread links whose group 1 is the thread id (required for html)"))
    uid_pattern: str | None = Field(None, description="regex on profile links whose group 1 is the user id")
    time_formats: list[str] = Field(default_factory=list, description=(
        "strptime formats of absolute times, e.g. '%Y-%m-%d %H:%M:%S'; relative English/Chinese text, unix "
        "times and ISO 8601 are always understood"))
    link_url: str | None = Field(None, description=(
        "json: the thread's page for people, with {tid} (reports and the web view link to it)"))
    board_body: str | None = Field(None, description=(
        "json: POST this body (with {fid} and {page}) to board_url instead of a GET"))
    thread_body: str | None = Field(None, description="json: POST this body (with {tid} and {page}) to thread_url")
    board_next_url: str | None = Field(None, description=(
        "json, for a list paged by a cursor: the next page's URL with {fid} and {next} (what next_page gives)"))
    thread_next_url: str | None = Field(None, description=(
        "json, for posts paged by a cursor: the next page's URL with {tid} and {next}"))
    body_type: Literal["json", "form"] = Field("json", description="json: how a POST body is sent")
    headers: dict[str, str] = Field(default_factory=dict, description=(
        "json: extra request headers (a token: use ${ENV_VAR})"))
    threads: ListSelectors | JsonListFields = Field(discriminator="format", description=(
        "board page: one row per thread"))
    posts: ThreadSelectors | JsonPostFields = Field(discriminator="format", description=(
        "thread page: one element per post"))

    @model_validator(mode="before")
    @classmethod
    def _sections_share_the_format(cls, data: Any) -> Any:
        """Each section is read in the block's format (the operator writes ``format`` once)."""
        if isinstance(data, dict):
            fmt = data.get("format", "html")
            for key in ("threads", "posts"):
                section = data.get(key)
                if isinstance(section, dict) and section.get("format", fmt) != fmt:
                    raise ValueError(f"{key}: format {section['format']!r} differs from the block's {fmt!r}; "
                                     "write `format` once, beside board_url")
            data = {**data, **{k: {**data[k], "format": fmt} for k in ("threads", "posts")
                               if isinstance(data.get(k), dict)}}
        return data

    @model_validator(mode="after")
    def _html_needs_tid_pattern(self) -> GenericSelectors:
        if self.format == "html" and not self.tid_pattern:
            raise ValueError("tid_pattern is required for html pages (the regex that finds the thread id in links)")
        if self.thread_body and not self.link_url and not getattr(self.threads, "link", None):
            raise ValueError("thread_body: every thread is read from the same address, so give link_url (the "
                             "thread's page for people, with {tid}) or threads.link for reports to link to")
        return self

    @field_validator("tid_pattern", "uid_pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                if re.compile(v).groups < 1:
                    raise ValueError(f"{v!r} needs a group, e.g. '/topic/(\\d+)/'")
            except re.error as exc:
                raise ValueError(f"{v!r} is not a regular expression: {exc}") from None
        return v


class Forum(_Model):
    """One forum site to poll."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="short id used in the CLI and database")
    name: str = Field(description="display name")
    engine: Literal["discuz", "discuz-touch", "discuz-api", "discuz-auto", "discuz7", "phpwind", "generic"] = Field(
        "discuz", description=(
            "forum engine: discuz (Discuz! X desktop pages), discuz-touch (mobile=2 pages), discuz-api "
            "(mobile API v4), discuz-auto (the mobile API when the site answers it, else the desktop pages), "
            "discuz7 (Discuz! 7.x/6.x: viewthread.php), phpwind (phpwind 8.x/9.x: read.php), generic (selectors)"))
    generic: GenericSelectors | None = Field(None, description="selectors, for engine generic")
    base_url: str = Field(pattern=r"^https?://", description="the forum's root URL, ending with /")
    timezone: str = Field("Asia/Shanghai", description="zone the forum shows its times in")
    poll_interval_minutes: float = Field(10, gt=0, description="how often the boards are polled")
    recheck_interval_minutes: float = Field(60, gt=0, description=(
        "how often threads with open response cases are re-read to catch edits and deletions"))
    rate_limit: float = Field(1.0, ge=0, description="max requests per second to this host (0: no limit)")
    timeout_seconds: float = Field(20, gt=0, description="per-request timeout")
    retries: int = Field(3, ge=0, description="retries on timeouts, 5xx and 429")
    user_agent: str = Field("spokeswatch/0.1 (+network spokesperson monitor)", description="User-Agent header")
    cookies: str | None = Field(None, description="Cookie header for boards behind a login; use ${ENV_VAR}")
    login: Login | None = Field(None, description="log in with the engine's own form; the session is kept on disk")
    max_pages: int = Field(20, ge=1, description="deepest board list page read on a cold poll")
    posts_per_page: int = Field(10, ge=1, description=(
        "posts per thread page the forum shows: a first guess, replaced by what the pages show"))
    floor_labels: list[str] = Field(["楼主", "沙发", "板凳", "地板"], description="labels shown for floors 1..n")
    boards: list[Board] = Field(min_length=1, description="boards to poll")

    @field_validator("base_url")
    @classmethod
    def _slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return _zone_name(v)

    _limits = field_validator("poll_interval_minutes", "recheck_interval_minutes", "timeout_seconds")(
        classmethod(_within_limit))

    @model_validator(mode="after")
    def _generic_needs_selectors(self) -> Forum:
        if self.engine == "generic" and self.generic is None:
            raise ValueError("engine generic needs a `generic:` block of selectors")
        return self

    def cookie_dict(self) -> dict[str, str]:
        pairs = (c.split("=", 1) for c in (self.cookies or "").split(";") if "=" in c)
        return {k.strip(): v.strip() for k, v in pairs}


class Account(_Model):
    """A forum user who speaks for a unit; give uid, username or both, or a profile link."""

    forum: str = Field(description="forum id")
    uid: str | None = Field(None, description=(
        "the user's id on the forum, as its profile links show it: a number (Discuz!, phpwind: 7 and '7' are "
        "the same) or a name (/user/<name>)"))
    username: str | None = Field(None, description="the user's name on the forum")
    profile: str | None = Field(None, description=(
        "a link to the user's profile page on that forum (e.g. home.php?mod=space&uid=9): the uid is read from it"))

    @field_validator("uid", mode="before")
    @classmethod
    def _uid_text(cls, v: Any) -> Any:
        """A uid is kept as text: a YAML number becomes its decimal string."""
        if isinstance(v, bool) or isinstance(v, float):
            raise ValueError(f"a uid is a whole number or a name, not {v!r}")
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            if not v.strip():
                raise ValueError("the uid is empty")
            return v.strip()
        return v

    @model_validator(mode="after")
    def _some_key(self) -> Account:
        if self.uid is None and not self.username and not self.profile:
            raise ValueError("an account needs a uid, a username or a profile link")
        return self


# engines whose user ids are numbers (a uid given as a name can never match one of their authors)
_NUMERIC_UID_ENGINES = {"discuz", "discuz-touch", "discuz-api", "discuz-auto", "discuz7", "phpwind"}


def _resolve_accounts(unit_index: int, unit: Unit, forums: dict[str, Forum]) -> Unit:
    """The unit with each account's uid in the form its forum's pages give it: a profile link read by
    the forum's engine, a number on the numeric engines ("007" → "7"). _At for a link off the forum,
    a link naming no user, a uid that disagrees with the link, or a name on a numeric engine."""
    accounts = []
    for j, a in enumerate(unit.accounts):
        forum = forums.get(a.forum)
        if forum is None:  # an unknown forum: Config._references says so
            accounts.append(a)
            continue
        where = (unit_index, "accounts", j)  # below `units`
        uid = a.uid
        if a.profile is not None:
            found = _profile_uid(a.profile, forum, (*where, "profile"))
            if uid is not None and _same_uid(uid, found, forum) is False:
                raise _At((*where, "uid"),
                          f"uid {uid!r} is not the user of the profile link, which names uid {found!r}")
            uid = found
        if uid is not None and forum.engine in _NUMERIC_UID_ENGINES:
            if not uid.isdigit():
                raise _At((*where, "uid"), f"uid {uid!r} is not a number: users on {forum.engine} forums have "
                                           "numeric ids (give a name as `username`)")
            uid = str(int(uid))
        accounts.append(a if uid == a.uid else a.model_copy(update={"uid": uid}))
    return unit.model_copy(update={"accounts": accounts}) if accounts != unit.accounts else unit


def _same_uid(given: str, found: str, forum: Forum) -> bool:
    if forum.engine in _NUMERIC_UID_ENGINES and given.isdigit():
        return int(given) == int(found)
    return given == found


def _profile_uid(link: str, forum: Forum, loc: tuple[Any, ...]) -> str:
    """The uid in a profile link on ``forum``, read by the forum's own engine."""
    from urllib.parse import urljoin, urlsplit

    from scrapers import get_engine  # the engines load only for a config with profile links
    from scrapers.records import Site
    url = urljoin(forum.base_url, link.strip())
    here, there = urlsplit(forum.base_url), urlsplit(url)
    if there.scheme not in ("http", "https") or (there.hostname, there.port) != (here.hostname, here.port):
        raise _At(loc, f"the profile link {link!r} is not on forum {forum.id!r} ({forum.base_url})")
    engine = "discuz" if forum.engine == "discuz-auto" else forum.engine
    site = Site(base_url=forum.base_url, timezone=forum.timezone,
                options=forum.generic.model_dump() if forum.generic else None)
    try:
        uid = get_engine(engine).uid_from_url(url, site)
    except Exception as exc:  # noqa: BLE001 - an engine that cannot read it: the link names no uid
        uid, why = None, f": {exc}"
    else:
        why = ""
    if not uid:
        if engine == "generic":
            pattern = forum.generic.uid_pattern if forum.generic else None
            hint = f"generic.uid_pattern {pattern!r} finds none in it" if pattern else "generic.uid_pattern is not set"
        elif engine in _PROFILE_LINKS:
            hint = f"{engine} profile links look like {_PROFILE_LINKS[engine]}"
        else:
            hint = f"the {engine} engine finds no user id in it"
        raise _At(loc, f"the profile link {link!r} names no user: {hint}{why}")
    return uid


_PROFILE_LINKS = {"discuz": "home.php?mod=space&uid=N or space-uid-N.html",
                  "discuz-touch": "home.php?mod=space&uid=N or space-uid-N.html",
                  "discuz-api": "home.php?mod=space&uid=N or space-uid-N.html",
                  "discuz7": "space.php?uid=N or space-uid-N.html",
                  "phpwind": "u.php?uid=N, u-htm-uid-N.html or index.php?m=space&uid=N"}


class Unit(_Model):
    """A government unit with spokesperson accounts."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="short id")
    name: str = Field(description="official name, e.g. 市旅游局")
    aliases: list[str] = Field(default_factory=list, description="other names and keywords matched in titles")
    accounts: list[Account] = Field(default_factory=list, description="spokesperson accounts")
    notify: list[str] = Field(default_factory=list, description=(
        "Apprise URLs that receive this unit's own overdue list each night; put tokens in ${ENV_VAR}"))

    _notify = field_validator("notify")(classmethod(_apprise_urls))


class Deadline(_Model):
    """A response time: working days on the official calendar, or plain hours."""

    working_days: float | None = Field(None, gt=0, description="working days on the official calendar")
    hours: float | None = Field(None, gt=0, description="calendar hours")

    @field_validator("working_days")
    @classmethod
    def _days_bound(cls, v: float | None) -> float | None:
        if v is not None and v > 60:
            raise ValueError(f"must be at most 60 working days (about three months), not {v:g}: "
                             "a longer response time is surely a typo")
        return v

    @field_validator("hours")
    @classmethod
    def _hours_bound(cls, v: float | None) -> float | None:
        if v is not None and v > 24 * 90:
            raise ValueError(f"must be at most {24 * 90} hours (90 days), not {v:g}: "
                             "a longer response time is surely a typo")
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> Deadline:
        if (self.working_days is None) == (self.hours is None):
            raise ValueError("give exactly one of working_days or hours")
        return self


class HotRule(_Model):
    """Hot threads (many views or replies) must be answered sooner."""

    min_views: int | None = Field(None, ge=1, description="views that make a thread hot")
    min_replies: int | None = Field(None, ge=1, description="replies that make a thread hot")
    respond_within: Deadline = Field(Deadline(hours=24), description="deadline for hot threads")


class Rules(_Model):
    """Response-time rules."""

    respond_within: Deadline = Field(Deadline(working_days=2), description="default deadline")
    hot: HotRule | None = Field(None, description="stricter deadline for hot threads")


class CalendarOverrides(_Model):
    """Dates the official calendar library lacks or gets wrong."""

    extra_holidays: list[date] = Field(default_factory=list, description="days off beyond the library's data")
    extra_workdays: list[date] = Field(default_factory=list, description="working days in lieu (调休) beyond it")

    _days = field_validator("extra_holidays", "extra_workdays", mode="before")(classmethod(lambda cls, v: _dates(v)))


class Digest(_Model):
    """The nightly overdue digest."""

    time: dt.time = Field(dt.time(22, 0), description="local time the digest is written")
    out_dir: str = Field("reports", description="folder digests and bulletins are written to")
    due_soon_hours: float = Field(24, gt=0, description="cases due within this many hours are listed as due soon")
    lang: Literal["zh", "en"] = Field("zh", description="language of digests and bulletins")
    notify: list[str] = Field(default_factory=list, description=(
        "Apprise URLs (mailtos://, dingtalk://, wecombot://, json:// …) that receive the nightly digest; "
        "put passwords and tokens in ${ENV_VAR}"))

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, v: Any) -> Any:
        return _time_of_day(v)

    @field_validator("out_dir")
    @classmethod
    def _out_dir(cls, v: str) -> str:
        if problem := _folder_problem(v):
            raise ValueError(problem)
        return v

    _notify = field_validator("notify")(classmethod(_apprise_urls))
    _limits = field_validator("due_soon_hours")(classmethod(_within_limit))


class Office(_Model):
    """The supervising office: who issues the bulletin, and what it asks of the units next."""

    name: str = Field("网络发言人工作办公室", description="the issuing office, e.g. 荆门市网络发言人工作办公室")
    short_name: str = Field("", description="its short form, e.g. 荆门市网发办 (signature line when set)")
    next_steps: str = Field("", description=(
        "text of 三、下一步工作要求 (the office writes it; paragraphs separated by blank lines); "
        "the section is left out when empty"))


class Quality(_Model):
    """Reply-quality flags: answers that are too short, boilerplate, or only redirect elsewhere.
    They are counted and listed; they never change whether an answer was in time."""

    min_chars: int = Field(15, ge=0, description="an answer with fewer characters (spaces aside) is flagged too short")
    boilerplate_similarity: float = Field(0.9, ge=0.5, le=1, description=(
        "an answer this similar (0.5..1) to one of the same unit's earlier answers is flagged boilerplate"))
    boilerplate_lookback: int = Field(50, ge=1, description="how many of the unit's earlier answers are compared")
    redirect_phrases: list[str] = Field(
        ["请拨打", "已转交", "转交.{0,6}(部门|单位|科室)", "请到.{0,20}咨询", "请致电", "请与.{0,20}联系"],
        description="regular expressions of answers that only send the citizen elsewhere")
    redirect_max_chars: int = Field(80, ge=1, description=(
        "an answer matching a redirect phrase is flagged only if it is at most this long (a longer one says more)"))

    @field_validator("redirect_phrases")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"{pattern!r} is not a regular expression: {e}") from None
        return v


class FollowUps(_Model):
    """A thread's starter coming back after the answer: the answer did not settle it."""

    phrases: list[str] = Field(
        ["还是没", "没人管", "没有解决", "仍未解决", "未解决", "没解决", "没用", "怎么还", "依然", "依旧", "为什么", "？", "?"],
        description="text in the starter's later post that makes it a follow-up (plain substrings)")
    lookback_days: int = Field(60, ge=1, description=(
        "the digest lists unresolved follow-ups of threads answered within this many days"))


class Alerts(_Model):
    """Messages sent within one poll, not at night: a hot thread nobody answers, a watch keyword."""

    hot: bool = Field(True, description="alert when a thread becomes hot (rules.hot) while unanswered")
    keywords: list[str] = Field(default_factory=list, description=(
        "words that make a new thread urgent, e.g. 曝光, 投诉无门, 上访 (title or opening post)"))
    notify: list[str] = Field(default_factory=list, description=(
        "Apprise URLs of the office for alerts (default: digest.notify); the thread's unit's notify targets "
        "get them too"))

    _notify = field_validator("notify")(classmethod(_apprise_urls))


class Reports(_Model):
    """How bulletins are written."""

    formats: list[Literal["md", "html", "json", "docx", "xlsx"]] = Field(
        ["md", "html", "json", "docx", "xlsx"], description="files the bulletin command writes")
    font: str | None = Field(None, description=(
        "a CJK font file for the charts (default: the first installed of Noto Sans CJK SC, Source Han Sans SC, "
        "WenQuanYi Micro Hei, SimHei, Microsoft YaHei)"))

    @field_validator("font")
    @classmethod
    def _font(cls, v: str | None) -> str | None:
        if v and not Path(v).is_file():
            raise ValueError(f"font file {v} does not exist")
        return v


class Health(_Model):
    """The daemon's health and metrics endpoint."""

    listen: str = Field("127.0.0.1:9108", description=(
        "HOST:PORT serving /healthz and /metrics (Prometheus); empty: off"))
    stale_after_intervals: float = Field(3, gt=0, description=(
        "/healthz fails when a forum has not polled successfully within this many of its poll intervals"))

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        return _listen(v)

    _limits = field_validator("stale_after_intervals")(classmethod(_within_limit))


_HASH_PREFIXES = ("$argon2id$", "$argon2i$", "$argon2d$", "$2b$", "$2a$", "$2y$")


class WebUser(_Model):
    """Someone who may open the web view: the office (everything) or one unit (its own threads)."""

    name: str = Field(min_length=1, description="login name (or the name a trusted proxy header carries)")
    password_hash: SecretStr | None = Field(None, description=(
        "from `spokeswatch web hash-password` (argon2 or bcrypt); none: only a trusted proxy header logs in"))
    role: Literal["office", "unit"] = Field("office", description="office: everything; unit: its unit only")
    unit: str | None = Field(None, description="the unit id, for role unit")

    @field_validator("password_hash")
    @classmethod
    def _hash(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        if not v.get_secret_value().startswith(_HASH_PREFIXES):
            raise ValueError("not an argon2 or bcrypt hash: make one with `spokeswatch web hash-password` "
                             "(never write a password itself here)")
        return v

    @model_validator(mode="after")
    def _unit_role(self) -> WebUser:
        if self.role == "unit" and not self.unit:
            raise _At(("unit",), "a user with role unit needs `unit: ID` (a unit id from units)")
        if self.role == "office" and self.unit:
            raise _At(("role",), f"`unit: {self.unit}` is set: write `role: unit` to confine this user to the unit")
        return self


class Web(_Model):
    """The web view: overview, units, threads, search, bulletins (``spokeswatch web``, or the daemon)."""

    listen: str = Field("", description=(
        "HOST:PORT where the daemon serves the web view; empty: off (`spokeswatch web` serves it alone)"))
    users: list[WebUser] = Field(default_factory=list, description="who may log in, and what each sees")
    secret_key: SecretStr | None = Field(None, description=(
        "signs the session cookies; use ${ENV_VAR}; give every replica the same one. Default: a random key "
        "kept in state_dir"))
    trusted_header: str = Field("", description=(
        "a header set by an authenticating reverse proxy (e.g. X-Remote-User) naming a user in web.users; "
        "honoured only from trusted_proxies"))
    trusted_proxies: list[str] = Field(default_factory=list, description=(
        "addresses or networks of the reverse proxy whose trusted_header and X-Forwarded-For are believed "
        "(default: none)"))
    session_hours: float = Field(12, gt=0, description="a login lasts this long")
    secure_cookies: bool = Field(False, description="send the session cookie over HTTPS only (behind TLS)")
    login_attempts: int = Field(5, ge=1, description="failed logins allowed per address and name in 15 minutes")
    lang: Literal["zh", "en"] | None = Field(None, description="language of the pages (default: digest.lang)")

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        return _listen(v)

    @model_validator(mode="after")
    def _unique(self) -> Web:
        seen: dict[str, int] = {}
        for i, u in enumerate(self.users):
            if u.name in seen:
                raise _At(("users", i, "name"), f"duplicate user {u.name!r} (also users[{seen[u.name]}])")
            seen[u.name] = i
        return self

    def user(self, name: str) -> WebUser | None:
        return next((u for u in self.users if u.name == name), None)


class Log(_Model):
    """Where and how the daemon logs."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="lowest level logged")
    json_lines: bool = Field(False, alias="json", description=(
        "one JSON object per line (with forum, board and run id) instead of human lines"))
    file: str | None = Field(None, description="also write the log to this file (rotated)")
    rotation: str = Field("50 MB", description="rotate the log file at this size or age, e.g. '50 MB', '1 day'")
    retention: str = Field("30 days", description="delete rotated log files older than this, e.g. '30 days'")

    @field_validator("file")
    @classmethod
    def _file(cls, v: str | None) -> str | None:
        if v:
            if Path(v).is_dir():
                raise ValueError(f"{v} is a folder: give a file, e.g. logs/spokeswatch.log")
            if problem := _folder_problem(Path(v).parent):
                raise ValueError(problem)
        return v

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, v: str) -> str:
        if not _LOG_ROTATION.fullmatch(v.strip()):
            raise ValueError(f"{v!r} is not a size ('50 MB'), an age ('1 day', '1 week'), 'daily' or a time of "
                             "day ('00:00')")
        return v

    @field_validator("retention")
    @classmethod
    def _retention(cls, v: str) -> str:
        if not _LOG_RETENTION.fullmatch(v.strip()):
            raise ValueError(f"{v!r} is not an age such as '30 days', '4 weeks' or '1 year'")
        return v


class Config(_Model):
    """The whole config.yaml."""

    database: str = Field("sqlite:///spokeswatch.sqlite3", description="SQLAlchemy URL; use ${ENV_VAR} for passwords")
    timezone: str = Field("Asia/Shanghai", description="zone of the office: days, periods and digest time")
    check_interval_minutes: float = Field(5, gt=0, description="how often response cases are re-evaluated")
    max_parallel_polls: int | None = Field(None, description=(
        "forums the daemon polls at once (its poll pool); default: the number of forums, at most "
        f"{DEFAULT_PARALLEL_POLLS_CAP}"))
    state_dir: str = Field(".spokeswatch", description="folder for login sessions (created owner-only)")
    inactive_after_days: int = Field(7, ge=1, description=(
        "a spokesperson with no post in the period and no visit for this many days is listed as rarely online"))
    forums: list[Forum] = Field(min_length=1, description="forums to poll")
    units: list[Unit] = Field(default_factory=list, description="government units")
    rules: Rules = Field(Rules(), description="response-time rules")
    calendar: CalendarOverrides = Field(CalendarOverrides(), description="working-day overrides")
    digest: Digest = Field(Digest(), description="nightly digest")
    office: Office = Field(Office(), description="the issuing office of the bulletin")
    quality: Quality = Field(Quality(), description="reply-quality flags")
    followups: FollowUps = Field(FollowUps(), description="follow-ups by a thread's starter after the answer")
    alerts: Alerts = Field(Alerts(), description="immediate alerts: hot unanswered threads, watch keywords")
    reports: Reports = Field(Reports(), description="bulletin formats and chart font")
    health: Health = Field(Health(), description="health and metrics endpoint of the daemon")
    log: Log = Field(Log(), description="logging of the daemon")
    web: Web = Field(Web(), description="the web view and who may open it")
    alert_after_hours: float = Field(6, gt=0, description=(
        "a forum failing for this long is reported once to digest.notify, and once more when it recovers"))
    backoff_max_minutes: float = Field(120, gt=0, description=(
        "a failing forum is polled less often, doubling its interval after each failure up to this"))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return _zone_name(v)

    @field_validator("database")
    @classmethod
    def _database(cls, v: str) -> str:
        if problem := _database_problem(v):
            raise ValueError(problem)
        return v

    @field_validator("state_dir")
    @classmethod
    def _state_dir(cls, v: str) -> str:
        if problem := _folder_problem(v):
            raise ValueError(problem)
        return v

    @field_validator("units")
    @classmethod
    def _accounts(cls, v: list[Unit], info: ValidationInfo) -> list[Unit]:
        """Accounts' uids as their forums give them (profile links read, numbers normalised)."""
        forums = {f.id: f for f in info.data.get("forums") or []}
        return [_resolve_accounts(i, u, forums) for i, u in enumerate(v)]

    _limits = field_validator("check_interval_minutes", "alert_after_hours", "backoff_max_minutes",
                              "inactive_after_days")(classmethod(_within_limit))

    @field_validator("max_parallel_polls", mode="before")
    @classmethod
    def _pool_size(cls, v: Any) -> Any:
        if v is None:
            return None
        number = v
        if isinstance(v, str) and v.strip().lstrip("+").isdigit():  # e.g. from ${POLLS:-4}
            number = int(v)
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValueError(f"must be a whole number of at least 1 (how many forums are polled at once), "
                             f"not {v!r}")
        return number

    @property
    def poll_pool_size(self) -> int:
        """How many polls the daemon runs at once: ``max_parallel_polls`` or its default."""
        return self.max_parallel_polls or min(len(self.forums), DEFAULT_PARALLEL_POLLS_CAP)

    @model_validator(mode="after")
    def _references(self) -> Config:
        """Ids are unique, and every forum and unit named elsewhere exists; the error points at the item."""
        for kind, items in (("forums", self.forums), ("units", self.units)):
            first: dict[str, int] = {}
            for i, item in enumerate(items):
                if item.id in first:
                    raise _At((kind, i, "id"), f"duplicate {kind[:-1]} id {item.id!r} (also {kind}[{first[item.id]}])")
                first[item.id] = i
        forum_ids, unit_ids = [f.id for f in self.forums], [u.id for u in self.units]
        for i, u in enumerate(self.units):
            for j, a in enumerate(u.accounts):
                if a.forum not in forum_ids:
                    raise _At(("units", i, "accounts", j, "forum"),
                              f"unknown forum {a.forum!r} (forums: {_listing(forum_ids)})")
        for i, u in enumerate(self.web.users):
            if u.unit is not None and u.unit not in unit_ids:
                raise _At(("web", "users", i, "unit"), f"unknown unit {u.unit!r} (units: {_listing(unit_ids) or 'none'})")
        for i, f in enumerate(self.forums):
            fids: dict[int, int] = {}
            for j, b in enumerate(f.boards):
                if b.fid in fids:
                    raise _At(("forums", i, "boards", j, "fid"),
                              f"board {b.fid} is listed twice on forum {f.id!r} (also boards[{fids[b.fid]}])")
                fids[b.fid] = j
                refs = [(("unit",), b.unit)] if b.unit is not None else []
                refs += [(("categories", name), ref) for name, ref in b.categories.items()]
                for where, ref in refs:
                    if ref not in unit_ids:
                        raise _At(("forums", i, "boards", j, *where),
                                  f"unknown unit {ref!r} (units: {_listing(unit_ids) or 'none'})")
        return self

    def forum(self, forum_id: str) -> Forum:
        for f in self.forums:
            if f.id == forum_id:
                return f
        raise KeyError(f"no forum {forum_id!r} in config (known: {', '.join(f.id for f in self.forums)})")


# ---- loading ------------------------------------------------------------

def _listing(ids: list[str], most: int = 12) -> str:
    return ", ".join(ids[:most]) + (f", … ({len(ids)} in all)" if len(ids) > most else "")



_SECRET_PARTS = ("password", "password_hash", "secret_key", "cookies", "login", "database", "notify")  # values never echoed in messages
_KINDS = {"int": "a number", "float": "a number", "bool": "true/false", "date": "a date",
          "datetime": "a date and time"}


def read_yaml(text: str, path: str = "config.yaml") -> Any:
    """The round-trip data (YAML 1.2, with line numbers) of config text; also what ``forum add`` edits.

    Refused from the parse events, before anything is built, with line and key path:
    anchors and aliases (an alias bomb would take minutes and gigabytes), tags, a %YAML
    version other than 1.2, deep nesting, impossible dates. Then, with the line: syntax
    errors, duplicate keys, a second document."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        _scan_events(YAML().parse(text), path)
        loader = YAML()  # round-trip: keeps each key's line (and, for forum add, its quotes)
        loader.preserve_quotes = True
        return loader.load(text)
    except MarkedYAMLError as exc:
        sentence, mark = _yaml_problem(exc, text)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(path, f"not valid YAML{where}: {sentence}", line=mark.line + 1 if mark else None) from None
    except YAMLError as exc:  # e.g. a control character: a ReaderError with a position, no mark
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        char = getattr(exc, "character", None)
        code = ord(char) if isinstance(char, str) and len(char) == 1 else char
        reason = (f"the control character #x{code:02X} is not allowed (remove it)" if isinstance(code, int)
                  else str(exc).splitlines()[0])
        raise ConfigError(path, f"not valid YAML{f' at line {line}' if line else ''}: {reason}", line=line) from None
    except (ValueError, RecursionError) as exc:  # a timestamp ruamel cannot build that the scan let through
        raise ConfigError(path, f"not valid YAML: {exc}") from None


_MAX_DEPTH = 64  # config.yaml nests about six levels; deeper input only exhausts the composer's recursion
_TIMESTAMP = re.compile(r"(\d{4})-(\d\d?)-(\d\d?)(?:(?:[Tt]|[ \t]+)(\d\d?):(\d\d)(?::(\d\d))?)?")


def _scan_events(stream: Any, path: str) -> None:
    """Refuse what config.yaml never needs, from the parse events (linear in the text), with the
    line and the key path of the node."""
    from ruamel.yaml import events as ev
    stack: list[list[Any]] = []  # per open collection: [is mapping, current key or index, expecting a key, is a key]

    def refuse(event: Any, key_path: list[Any], message: str) -> ConfigError:
        mark = event.start_mark
        return ConfigError(path, f"{message} (column {mark.column + 1})", _dotted(key_path) or None, mark.line + 1)

    for event in stream:
        if isinstance(event, ev.CollectionEndEvent):
            done = stack.pop()
            if stack and stack[-1][0] and not done[3]:
                stack[-1][2] = True
            continue
        if isinstance(event, ev.DocumentStartEvent) and event.version not in (None, (1, 2)):
            raise refuse(event, [], "config.yaml is read as YAML 1.2: remove the "
                                    f"%YAML {'.'.join(map(str, event.version))} line")
        if not isinstance(event, (ev.ScalarEvent, ev.AliasEvent, ev.CollectionStartEvent)):
            continue
        top = stack[-1] if stack else None
        is_key = top is not None and top[0] and top[2]
        if top is not None and not top[0]:
            top[1] += 1
        elif is_key:
            top[1], top[2] = (event.value if isinstance(event, ev.ScalarEvent) else "?"), False
        key_path = [frame[1] for frame in stack]
        anchor = event.anchor if isinstance(event, ev.AliasEvent) else getattr(event, "anchor", None)
        if anchor:
            raise refuse(event, key_path, f"YAML anchors and aliases (&{anchor}, *{anchor}) are not allowed in "
                                          "config.yaml: write each value out")
        if getattr(event, "tag", None):
            tag = str(event.tag).replace("tag:yaml.org,2002:", "!!")
            raise refuse(event, key_path, f"YAML tags ({tag}) are not used in config.yaml: quote a value "
                                          "to make it text")
        if isinstance(event, ev.CollectionStartEvent):
            if len(stack) >= _MAX_DEPTH:
                raise refuse(event, key_path[:3] + ["…"], f"nested more than {_MAX_DEPTH} levels deep")
            mapping = isinstance(event, ev.MappingStartEvent)
            stack.append([mapping, None if mapping else -1, True, is_key])
            continue
        if top is not None and top[0] and not is_key:
            top[2] = True
        stamp = _TIMESTAMP.fullmatch(event.value) if isinstance(event, ev.ScalarEvent) and event.style is None else None
        if stamp:  # YAML 1.2 (ruamel) still reads these as dates; an impossible one would fail without a line
            try:
                dt.datetime(*(int(part or 0) for part in stamp.groups()))
            except ValueError as exc:
                raise refuse(event, key_path, f"{event.value!r} is not a real date or time: {exc}") from None


def _yaml_problem(exc: Any, text: str) -> tuple[str, Any]:
    """One human sentence for a YAML syntax error, and the mark it is best shown at."""
    problem, context = (exc.problem or "").strip(), (exc.context or "").strip()
    mark, opened = exc.problem_mark, exc.context_mark
    until = f" (noticed at line {mark.line + 1})" if mark and opened and mark.line != opened.line else ""
    span = text.splitlines()[opened.line:mark.line + 1] if mark and opened else []
    quote_env = (" (a ${ENV} reference inside [...] or {...} needs quotes: '${TOKEN}')"
                 if any("${" in line for line in span) else "")
    found = re.search(r"but (?:found|got) (.+)$", problem)
    if "'\\t'" in problem:
        lines = text.splitlines()
        before = lines[mark.line][:mark.column] if mark and mark.line < len(lines) else ""
        return ("a tab character is not allowed for indentation (indent with spaces)" if not before.strip()
                else "a tab character is not allowed here (use spaces, or quote the value)"), mark
    if problem.startswith("found character") and "cannot start any token" in problem:
        return f"a value cannot start with {problem.split()[2]} (quote it)", mark
    if problem.startswith("mapping values are not allowed"):
        return "mapping values are not allowed here (a ':' inside an unquoted value? quote it)", mark
    if problem.startswith("could not find expected ':'") and opened:
        return "this line is not `key: value` (a missing ':', or a wrong indentation?)", opened
    if "quoted scalar" in context and "end of stream" in problem and opened:
        return f"this quoted value is never closed{until}", opened
    if "escape character" in problem:
        return f"{problem} in a double-quoted value (use single quotes for backslashes, e.g. in regexes)", mark
    if "flow sequence" in context and opened:
        return f"this '[' list is not closed (expected ',' or ']'){until}{quote_env}", opened
    if "flow mapping" in context and opened:
        return f"this '{{' mapping is not closed (expected ',' or '}}'){until}{quote_env}", opened
    if "flow node" in context:
        return (f"found {found.group(1) if found else 'this'} inside a '[...]' or '{{...}}' "
                "(is a '[' or '{' above not closed?)"), mark
    if problem.startswith("expected <block end>"):
        return "the indentation of this line does not match the lines above it", mark
    if problem.startswith("found duplicate key"):
        key = re.match(r'found duplicate key "(.*?)" with value', problem)
        return f"the key {key.group(1)!r} appears twice in the same mapping" if key else problem, mark
    if "another document" in problem:
        return "a second YAML document ('---'): config.yaml holds one", mark
    return (f"{problem} ({context})" if context else problem or str(exc).splitlines()[0]), mark or opened


def _substitute(value: Any, path: str, key_path: list[Any], root: Any = None, optional: bool = False) -> Any:
    """Plain Python values of the round-trip data, with ``${ENV}`` references replaced.

    With ``optional``, a variable that is not set inside a delivery or login setting
    (digest.notify, alerts.notify, units[*].notify, forums[*].login, forums[*].cookies) becomes ''."""
    if isinstance(value, dict):
        return {(str(k) if isinstance(k, str) else k): _substitute(v, path, [*key_path, k], root, optional)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path, [*key_path, i], root, optional) for i, v in enumerate(value)]
    if isinstance(value, bool) or value is None or isinstance(value, (dt.date, dt.time)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if not isinstance(value, str):
        return value
    value = str(value)

    def repl(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        if optional and _optional_secret(key_path):
            return ""
        raise ConfigError(path, f"environment variable {name} is not set (set it, or write ${{{name}:-default}})",
                          _dotted(key_path), _line_of(root, tuple(key_path)))
    return _ENV_REF.sub(repl, value)


def _optional_secret(key_path: list[Any]) -> bool:
    kp = tuple(key_path)
    return (kp[:2] in (("digest", "notify"), ("alerts", "notify"))
            or (len(kp) >= 3 and kp[0] == "units" and kp[2] == "notify")
            or (len(kp) >= 3 and kp[0] == "forums" and kp[2] in ("login", "cookies"))
            or kp[:2] == ("web", "secret_key") or (kp[:2] == ("web", "users") and kp[-1:] == ("password_hash",)))


def _dotted(loc: list[Any] | tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: Any, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the key or item at ``loc`` in round-trip data (or of its nearest parent)."""
    lc = getattr(root, "lc", None)
    line = lc.line + 1 if lc is not None and lc.line is not None else None
    node = root
    for part in loc:
        try:
            if isinstance(node, dict):
                key = next(k for k in node if str(k) == str(part))
                position, node = node.lc.key(key), node[key]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                position, node = node.lc.item(part), node[part]
            else:
                break
        except (StopIteration, KeyError, AttributeError, TypeError):
            break
        line = position[0] + 1
    return line


def _message(err: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """The sentence for one pydantic error; the value is shown unless it may be a secret."""
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        return "unknown setting (check the spelling; see the README's config reference)"
    if err["type"] == "string_type" and isinstance(value, (int, float, bool, dt.date)):
        kind = _KINDS.get(type(value).__name__, "a value")
        return f"expected text, but YAML reads {value!r} as {kind}: put it in quotes"
    secret = any(str(part) in _SECRET_PARTS for part in loc)
    if not secret and (err["type"].endswith("_type") or err["type"].endswith("_parsing")) \
            and isinstance(value, (str, int, float, bool, dt.date)):
        shown = repr(value)
        msg += f" (got {shown[:60] + '…' if len(shown) > 60 else shown})"
    return msg


def parse_config(text: str, path: str = "config.yaml", *, optional_secrets: bool = False) -> Config:
    """Validate config text; raise ConfigError naming the key path and line."""
    root = read_yaml(text, path)
    if not isinstance(root, dict):
        raise ConfigError(path, "expected a mapping of settings at the top level", line=1)
    raw = _substitute(root, path, [], root, optional_secrets)
    try:
        return Config.model_validate(raw, context={"optional_secrets": optional_secrets})
    except ValidationError as exc:
        errors = exc.errors()
        err = errors[0]
        # validator names and the generic sections' format tags are not keys of the file
        loc = tuple(p for i, p in enumerate(err["loc"]) if not str(p).startswith("function-")
                    and not (p in ("html", "json") and i and err["loc"][i - 1] in ("threads", "posts")))
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _At):
            loc += cause.loc
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(path, _message(err, loc) + more, _dotted(loc) or None, _line_of(root, loc)) from None


def load_config(path: str | Path, *, optional_secrets: bool = False) -> Config:
    """Read and validate a config.yaml file. ``optional_secrets``: an unset ``${ENV}`` in a delivery
    or login setting reads as '' (for commands that neither deliver nor log in, e.g. status)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found (pass -c PATH or create config.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from None
    return parse_config(text, str(path), optional_secrets=optional_secrets)
