"""The nightly digest: what is overdue now, what changed in the last day, forum health."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.repository import Repository
from monitor.bulletin import OFFICE, OFFICE_EN, waited_text
from monitor.config import Config


@dataclass
class DigestItem:
    title: str
    url: str
    unit: str
    posted_at: str
    due_at: str
    age: str
    late_by: str
    hot: bool
    estimated: bool


@dataclass
class ForumHealth:
    forum_id: str
    status: str
    at: str
    error: str | None
    warnings: list[str]


@dataclass
class Digest:
    as_of: str
    since: str
    overdue_by_unit: dict[str, list[dict]]
    overdue_total: int
    newly_overdue: list[dict]
    answered_late: list[dict]
    due_soon: list[dict]
    health: list[dict]
    lang: str = "zh"
    never_polled: list[str] = field(default_factory=list)
    unit: str | None = None  # set when the digest is one unit's own list

    def to_json(self) -> dict:
        return asdict(self)


def for_unit(d: Digest, unit_name: str) -> Digest:
    """The same digest narrowed to one unit's threads (what a unit receives)."""
    mine = lambda items: [i for i in items if i["unit"] == unit_name]  # noqa: E731
    overdue = {u: items for u, items in d.overdue_by_unit.items() if u == unit_name}
    return Digest(as_of=d.as_of, since=d.since, overdue_by_unit=overdue,
                  overdue_total=sum(len(v) for v in overdue.values()), newly_overdue=mine(d.newly_overdue),
                  answered_late=mine(d.answered_late), due_soon=mine(d.due_soon), health=[], lang=d.lang,
                  never_polled=[], unit=unit_name)


def build_digest(config: Config, repo: Repository, now: datetime, lang: str | None = None,
                 since: datetime | None = None) -> Digest:
    """The digest as of ``now``, with changes since ``since`` (default: 24 hours before)."""
    lang = lang or config.digest.lang
    tz = ZoneInfo(config.timezone)
    since = since or now - timedelta(hours=24)
    names = {u.id: u.name for u in config.units}
    office = OFFICE if lang == "zh" else OFFICE_EN
    local = lambda dt: dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")  # noqa: E731

    def item(case) -> dict:
        """One line of the digest from a case row (its thread's columns included)."""
        return vars(DigestItem(
            title=case.title, url=case.url, unit=names.get(case.unit_id, office), posted_at=local(case.posted_at),
            due_at=local(case.due_at), age=waited_text(now - case.posted_at, lang),
            late_by=waited_text(max(now - case.due_at, timedelta(0)), lang), hot=case.hot,
            estimated=case.due_estimated))

    overdue: dict[str, list[dict]] = {}
    due_soon = []
    soon = now + timedelta(hours=config.digest.due_soon_hours)
    for case in repo.cases_open_at(now):  # oldest first; also right for a past ``now``
        if case.due_at <= now:
            overdue.setdefault(names.get(case.unit_id, office), []).append(item(case))
        elif case.due_at <= soon:
            due_soon.append(item(case))
    events = repo.case_events_between(since, now)
    newly = [item(e) for e in events if e.event_state == "overdue"]
    late = [item(e) for e in events if e.event_state == "answered_late"]
    runs = {r.forum_id: r for r in repo.last_poll_runs()}
    health = [asdict(ForumHealth(r.forum_id, r.status, local(r.finished_at or r.started_at), r.error,
                                 json.loads(r.warnings) if r.warnings else []))
              for r in runs.values() if r.status not in ("ok", "interrupted", "running")]
    return Digest(as_of=local(now), since=local(since),
                  overdue_by_unit=dict(sorted(overdue.items(), key=lambda kv: -len(kv[1]))),
                  overdue_total=sum(len(v) for v in overdue.values()), newly_overdue=newly,
                  answered_late=late, due_soon=due_soon, health=health, lang=lang,
                  never_polled=[f.id for f in config.forums if f.id not in runs])
