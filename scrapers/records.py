"""Plain records that parsers produce: what a page says, nothing more.

Times are aware datetimes in UTC. A time shown relatively ("3 小时前") or
without seconds is only known to within ``*_precision`` seconds; the
repository keeps the most precise value it has seen.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from typing import Any, Literal



@dataclass(frozen=True)
class Page:
    """A fetched (or saved) page: the raw bytes and what the server said."""

    url: str
    body: bytes
    server_now: datetime
    status: int = 200
    content_type: str | None = None

    @cached_property
    def text(self) -> str:
        """The body decoded (header charset, meta tag, or detection); decoded once."""
        from scrapers.charset import decode_body  # the records load without the charset detector
        return decode_body(self.body, self.content_type, self.url)


@dataclass(frozen=True)
class ThreadRow:
    """One row of a board's thread list."""

    tid: int
    title: str
    url: str
    author: str | None
    author_uid: str | None  # the forum's user id as text: a number ("30") or a name
    posted_at: datetime | None
    posted_precision: int
    replies: int | None
    views: int | None
    last_post_at: datetime | None
    last_post_precision: int
    last_poster: str | None
    category: str | None = None
    category_id: int | None = None
    sticky: bool = False


@dataclass(frozen=True)
class Post:
    """One post of a thread (floor 1 is the thread's opening post)."""

    pid: int
    floor: int | None
    author: str | None
    author_uid: str | None  # the forum's user id as text: a number ("30") or a name
    posted_at: datetime | None
    posted_precision: int
    body: str
    edit_note: str | None = None
    on_behalf_of: str | None = None  # a message board's official reply: the unit it names


@dataclass
class ThreadListPage:
    """A page of a board's thread list."""

    fid: int | None
    threads: list[ThreadRow]
    page: int
    total_pages: int | None
    next_page: str | None
    warnings: list[str] = field(default_factory=list)
    complete: bool = True  # False when the page was cut short (no footer)
    kind: Literal["thread_list"] = "thread_list"


@dataclass
class ThreadPage:
    """A page of one thread."""

    tid: int | None
    title: str | None
    category: str | None
    replies: int | None
    views: int | None
    posts: list[Post]
    page: int
    total_pages: int | None
    next_page: str | None
    warnings: list[str] = field(default_factory=list)
    complete: bool = True  # False when the page was cut short (no footer)
    kind: Literal["thread"] = "thread"


PromptReason = Literal["not_found", "login_required", "other"]


@dataclass
class PromptPage:
    """A forum's message page instead of content: deleted thread, login wall."""

    reason: PromptReason
    message: str
    warnings: list[str] = field(default_factory=list)
    kind: Literal["prompt"] = "prompt"


@dataclass
class ProfilePage:
    """A member's profile: when they were last seen on the forum."""

    uid: str | None
    username: str | None
    last_visit: datetime | None
    last_activity: datetime | None
    last_post: datetime | None
    registered: datetime | None
    warnings: list[str] = field(default_factory=list)
    kind: Literal["profile"] = "profile"


ParsedPage = ThreadListPage | ThreadPage | PromptPage | ProfilePage


def user_id(value: object) -> str | None:
    """A user id as spokeswatch keeps it: text (7 and "7" are one id); None or "" is none."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class Site:
    """What a parser needs to know about the forum a page came from."""

    base_url: str
    timezone: str = "Asia/Shanghai"
    floor_labels: tuple[str, ...] = ("楼主", "沙发", "板凳", "地板")
    options: Any = None  # engine settings from config.yaml (the generic engine's selectors)
