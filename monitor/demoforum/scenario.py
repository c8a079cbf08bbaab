"""Scenario data: a forum's boards, users, threads and posts, and what is visible when.

A scenario is plain JSON (see ``scenario_2011q1.json``): times are local
"YYYY-MM-DD HH:MM:SS" in the scenario's zone. A post appears at its time, an
edit at ``edited_at``, and a thread vanishes (deleted) at ``deleted_at``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

BUNDLED = Path(__file__).with_name("scenario_2011q1.json")


@dataclass
class DemoPost:
    pid: int
    uid: int
    at: datetime
    body: str
    edited_at: datetime | None = None
    edited_body: str | None = None


@dataclass
class DemoThread:
    tid: int
    fid: int
    subject: str
    typeid: int = 0
    views: int = 0
    sticky: bool = False
    deleted_at: datetime | None = None
    posts: list[DemoPost] = field(default_factory=list)


@dataclass
class VisibleThread:
    """A thread as the forum shows it at one moment."""

    thread: DemoThread
    posts: list[DemoPost]
    views: int

    @property
    def tid(self) -> int:
        return self.thread.tid

    @property
    def last_post(self) -> DemoPost:
        return self.posts[-1]


@dataclass
class Scenario:
    name: str
    timezone: str
    boards: dict[int, dict]  # fid → {"name", "types": {typeid: name}}
    users: dict[int, str]    # uid → username
    threads: list[DemoThread]
    threads_per_page: int = 20
    posts_per_page: int = 10
    default_now: datetime | None = None
    last_visits: dict[int, datetime] = field(default_factory=dict)  # uid → shown as 最后访问

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def thread(self, tid: int) -> DemoThread | None:
        return self._by_tid().get(tid)

    def _by_tid(self) -> dict[int, DemoThread]:
        cache = getattr(self, "_tid_cache", None)
        if cache is None or len(cache) != len(self.threads):
            cache = {t.tid: t for t in self.threads}
            self._tid_cache = cache
        return cache

    def visible(self, t: DemoThread, now: datetime) -> VisibleThread | None:
        """The thread as shown at ``now``, or None when not posted yet or deleted."""
        if t.deleted_at is not None and t.deleted_at <= now:
            return None
        posts = [p for p in t.posts if p.at <= now]
        if not posts:
            return None
        age = (now - posts[0].at).total_seconds()
        views = int(t.views * min(1.0, max(age, 0) / (7 * 86400))) if t.views else 0
        return VisibleThread(t, posts, max(views, len(posts)))

    def last_visit(self, uid: int, now: datetime) -> datetime | None:
        """When a user was last seen as of ``now``: a set visit, else their newest post."""
        times = [p.at for t in self.threads for p in t.posts if p.uid == uid and p.at <= now]
        if uid in self.last_visits and self.last_visits[uid] <= now:
            times.append(self.last_visits[uid])
        return max(times, default=None)

    def board_threads(self, fid: int, now: datetime) -> list[VisibleThread]:
        """Visible threads of a board: sticky first, then newest last post first."""
        shown = [v for t in self.threads if t.fid == fid for v in [self.visible(t, now)] if v]
        shown.sort(key=lambda v: (not v.thread.sticky, -v.last_post.at.timestamp(), -v.tid))
        return shown


def _time(text: str | None, tz: ZoneInfo) -> datetime | None:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz) if text else None


def load_scenario(path: str | Path = BUNDLED) -> Scenario:
    """Read a scenario JSON file."""
    data = json.loads(Path(path).read_text("utf-8"))
    tz = ZoneInfo(data.get("timezone", "Asia/Shanghai"))
    threads = [
        DemoThread(tid=t["tid"], fid=t["fid"], subject=t["subject"], typeid=t.get("typeid", 0),
                   views=t.get("views", 0), sticky=t.get("sticky", False),
                   deleted_at=_time(t.get("deleted_at"), tz),
                   posts=[DemoPost(pid=p["pid"], uid=p["uid"], at=_time(p["at"], tz), body=p["body"],
                                   edited_at=_time(p.get("edited_at"), tz), edited_body=p.get("edited_body"))
                          for p in t["posts"]])
        for t in data["threads"]]
    return Scenario(
        name=data["name"], timezone=data.get("timezone", "Asia/Shanghai"),
        boards={int(fid): {"name": b["name"], "types": {int(k): v for k, v in b.get("types", {}).items()}}
                for fid, b in data["boards"].items()},
        users={int(uid): name for uid, name in data["users"].items()},
        threads=threads, threads_per_page=data.get("threads_per_page", 20),
        posts_per_page=data.get("posts_per_page", 10), default_now=_time(data.get("now"), tz),
        last_visits={int(uid): _time(at, tz) for uid, at in data.get("last_visits", {}).items()})


def dump_scenario(s: Scenario, path: str | Path) -> None:
    """Write a scenario as JSON (the inverse of :func:`load_scenario`)."""
    fmt = "%Y-%m-%d %H:%M:%S"

    def t(d: datetime | None) -> str | None:
        return d.astimezone(s.tz).strftime(fmt) if d else None

    data = {
        "name": s.name, "timezone": s.timezone, "now": t(s.default_now),
        "threads_per_page": s.threads_per_page, "posts_per_page": s.posts_per_page,
        "boards": {str(fid): {"name": b["name"], "types": {str(k): v for k, v in b["types"].items()}}
                   for fid, b in s.boards.items()},
        "users": {str(uid): name for uid, name in s.users.items()},
        **({"last_visits": {str(uid): t(at) for uid, at in s.last_visits.items()}} if s.last_visits else {}),
        "threads": [{k: v for k, v in {
            "tid": th.tid, "fid": th.fid, "subject": th.subject, "typeid": th.typeid or None,
            "views": th.views or None, "sticky": th.sticky or None, "deleted_at": t(th.deleted_at),
            "posts": [{k: v for k, v in {"pid": p.pid, "uid": p.uid, "at": t(p.at), "body": p.body,
                                         "edited_at": t(p.edited_at), "edited_body": p.edited_body}.items()
                       if v is not None} for p in th.posts]}.items() if v is not None}
            for th in s.threads]}
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")


