"""config.yaml: declared once, typed and documented here (pydantic).

Secrets never sit in the file: write ``${ENV_VAR}`` (or ``${ENV_VAR:-default}``)
and the value comes from the environment when the file is loaded.
"""
from __future__ import annotations

import os
import re
import datetime as dt
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from monitor.errors import ConfigError

DEFAULT_PARALLEL_POLLS_CAP = 8  # the default poll pool: one thread per forum, at most this many

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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

    row: str = Field(description="one element per thread")
    link: str = Field(description="the thread link, e.g. 'a.title@href' (its text is the title)")
    title: str | None = Field(None, description="the title, if not the link's text")
    author: str | None = Field(None, description="the author's name")
    author_link: str | None = Field(None, description="the author's profile link (uid via uid_pattern)")
    time: str | None = Field(None, description="when the thread was posted")
    replies: str | None = Field(None, description="reply count")
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


class GenericSelectors(_Model):
    """A forum described by CSS selectors: engine ``generic``."""

    board_url: str = Field(description="board page URL relative to base_url, with {fid} and {page}")
    thread_url: str = Field(description="thread page URL relative to base_url, with {tid} and {page}")
    tid_pattern: str = Field(description="regex on thread links whose group 1 is the thread id")
    uid_pattern: str | None = Field(None, description="regex on profile links whose group 1 is the user id")
    time_formats: list[str] = Field(default_factory=list, description=(
        "strptime formats of absolute times, e.g. '%Y-%m-%d %H:%M:%S'; relative English/Chinese text is "
        "always understood"))
    threads: ListSelectors = Field(description="board page selectors: one row per thread")
    posts: ThreadSelectors = Field(description="thread page selectors: one element per post")

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
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)") from None
        return v

    @model_validator(mode="after")
    def _generic_needs_selectors(self) -> Forum:
        if self.engine == "generic" and self.generic is None:
            raise ValueError("engine generic needs a `generic:` block of selectors")
        return self

    def cookie_dict(self) -> dict[str, str]:
        pairs = (c.split("=", 1) for c in (self.cookies or "").split(";") if "=" in c)
        return {k.strip(): v.strip() for k, v in pairs}


class Account(_Model):
    """A forum user who speaks for a unit; give uid, username or both."""

    forum: str = Field(description="forum id")
    uid: int | None = Field(None, description="the user's id on the forum")
    username: str | None = Field(None, description="the user's name on the forum")

    @model_validator(mode="after")
    def _some_key(self) -> Account:
        if self.uid is None and not self.username:
            raise ValueError("an account needs a uid or a username")
        return self


class Unit(_Model):
    """A government unit with spokesperson accounts."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="short id")
    name: str = Field(description="official name, e.g. 市旅游局")
    aliases: list[str] = Field(default_factory=list, description="other names and keywords matched in titles")
    accounts: list[Account] = Field(default_factory=list, description="spokesperson accounts")
    notify: list[str] = Field(default_factory=list, description=(
        "Apprise URLs that receive this unit's own overdue list each night; put tokens in ${ENV_VAR}"))


class Deadline(_Model):
    """A response time: working days on the official calendar, or plain hours."""

    working_days: float | None = Field(None, gt=0, description="working days on the official calendar")
    hours: float | None = Field(None, gt=0, description="calendar hours")

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


class Digest(_Model):
    """The nightly overdue digest."""

    time: dt.time = Field(dt.time(22, 0), description="local time the digest is written")
    out_dir: str = Field("reports", description="folder digests and bulletins are written to")
    due_soon_hours: float = Field(24, gt=0, description="cases due within this many hours are listed as due soon")
    lang: Literal["zh", "en"] = Field("zh", description="language of digests and bulletins")
    notify: list[str] = Field(default_factory=list, description=(
        "Apprise URLs (mailtos://, dingtalk://, wecombot://, json:// …) that receive the nightly digest; "
        "put passwords and tokens in ${ENV_VAR}"))


class Health(_Model):
    """The daemon's health and metrics endpoint."""

    listen: str = Field("127.0.0.1:9108", description=(
        "HOST:PORT serving /healthz and /metrics (Prometheus); empty: off"))
    stale_after_intervals: float = Field(3, gt=0, description=(
        "/healthz fails when a forum has not polled successfully within this many of its poll intervals"))


class Log(_Model):
    """Where and how the daemon logs."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="lowest level logged")
    json_lines: bool = Field(False, alias="json", description=(
        "one JSON object per line (with forum, board and run id) instead of human lines"))
    file: str | None = Field(None, description="also write the log to this file (rotated)")
    rotation: str = Field("50 MB", description="rotate the log file at this size or age, e.g. '50 MB', '1 day'")
    retention: str = Field("30 days", description="delete rotated log files older than this, e.g. '30 days'")


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
    health: Health = Field(Health(), description="health and metrics endpoint of the daemon")
    log: Log = Field(Log(), description="logging of the daemon")
    alert_after_hours: float = Field(6, gt=0, description=(
        "a forum failing for this long is reported once to digest.notify, and once more when it recovers"))
    backoff_max_minutes: float = Field(120, gt=0, description=(
        "a failing forum is polled less often, doubling its interval after each failure up to this"))

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
        forum_ids = [f.id for f in self.forums]
        unit_ids = [u.id for u in self.units]
        for kind, ids in (("forum", forum_ids), ("unit", unit_ids)):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(dupes)}")
        for u in self.units:
            for a in u.accounts:
                if a.forum not in forum_ids:
                    raise ValueError(f"unit {u.id!r} has an account on unknown forum {a.forum!r}")
        for f in self.forums:
            for b in f.boards:
                for ref in [b.unit, *b.categories.values()]:
                    if ref is not None and ref not in unit_ids:
                        raise ValueError(f"forum {f.id!r} board {b.fid} names unknown unit {ref!r}")
        return self

    def forum(self, forum_id: str) -> Forum:
        for f in self.forums:
            if f.id == forum_id:
                return f
        raise KeyError(f"no forum {forum_id!r} in config (known: {', '.join(f.id for f in self.forums)})")


# ---- loading ------------------------------------------------------------

def _substitute(value: Any, path: str, key_path: list[Any]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, path, [*key_path, k]) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path, [*key_path, i]) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(path, f"environment variable {name} is not set", _dotted(key_path))
    return _ENV_REF.sub(repl, value)


def _dotted(loc: list[Any] | tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest parent)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == str(part)]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            match = [node.value[part]]
        else:
            match = []
        if not match:
            break
        node = match[0]
        line = node.start_mark.line + 1
    return line


def parse_config(text: str, path: str = "config.yaml") -> Config:
    """Validate config text; raise ConfigError naming the key path and line."""
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(path, f"not valid YAML: {exc.problem or exc}",
                          line=mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise ConfigError(path, "expected a mapping of settings at the top level", line=1)
    raw = _substitute(raw, path, [])
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown setting (check the spelling; see the README's config reference)"
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise ConfigError(path, msg + more, _dotted(loc) or None, _line_of(root, loc)) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a config.yaml file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found (pass -c PATH or create config.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from None
    return parse_config(text, str(path))
