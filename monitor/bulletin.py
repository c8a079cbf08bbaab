"""The period bulletin, computed from stored data as of a moment.

Every thread that counts and was posted in the period is re-evaluated with
the rules as of ``as_of`` (pure), so a bulletin can be written for any past
moment and its figures follow the data, never a stored tally.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.repository import Repository
from monitor.check import calendar_of, outcome_of
from monitor.config import Config
from monitor.periods import Period
from monitor.rules import IN_TIME, LATE, PENDING, outcome_at

OFFICE = "（未明确责任单位）"
OFFICE_EN = "(no unit assigned)"


@dataclass
class UnitRow:
    unit_id: str | None
    unit: str
    received: int = 0
    answered_in_time: int = 0
    answered_late: int = 0
    unanswered: int = 0
    pending: int = 0
    proactive: int = 0
    spokesperson_posts: int = 0
    median_response_hours: float | None = None

    @property
    def not_in_time(self) -> int:
        return self.answered_late + self.unanswered


@dataclass
class AppendixRow:
    title: str
    url: str
    unit: str
    posted_at: str
    due_at: str
    answered_at: str | None
    waited_hours: float
    waited_text: str
    hot: bool
    views: int
    replies: int
    status: str  # answered_late | unanswered


@dataclass
class Bulletin:
    period: dict
    as_of: str
    received: int
    answered_in_time: int
    answered_late: int
    unanswered: int
    pending: int
    not_in_time: int
    proactive: dict
    units: list[dict]
    appendix: list[dict]
    response_time: dict
    hot_not_in_time: int
    inactive_units: list[str]
    spokespersons: list[dict]
    estimated_deadlines: int
    lang: str = "zh"
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def waited_text(delta: timedelta, lang: str) -> str:
    days, hours = delta.days, delta.seconds // 3600
    if lang == "en":
        return f"{days} d {hours} h" if days else f"{hours} h"
    return f"{days}天{hours}小时" if days else f"{hours}小时"


def build_bulletin(config: Config, repo: Repository, period: Period, as_of: datetime | None = None,
                   lang: str | None = None) -> Bulletin:
    """Compute the bulletin for ``period`` as of ``as_of`` (default: the period's end)."""
    lang = lang or config.digest.lang
    tz = ZoneInfo(config.timezone)
    start, end = period.bounds(config.timezone)
    as_of = as_of or end
    calendar = calendar_of(config)
    names = {u.id: u.name for u in config.units}
    office = OFFICE if lang == "zh" else OFFICE_EN
    rows = {u.id: UnitRow(u.id, u.name) for u in config.units}
    rows[None] = UnitRow(None, office)
    threads = [t for t in repo.report_threads(start, end) if t.posted_at <= as_of]
    # the recorded cases give each thread's outcome at ``as_of``; a thread the check has not
    # evaluated yet (its reading unfinished) is evaluated here from its posts
    unchecked = repo.thread_posts([t.id for t in threads if t.case_id is None and not t.proactive_unit_id])
    appendix: list[AppendixRow] = []
    response_hours: dict[str | None, list[float]] = {k: [] for k in rows}
    estimated = hot_late = 0
    for t in threads:
        if t.proactive_unit_id:
            rows.setdefault(t.proactive_unit_id, UnitRow(t.proactive_unit_id, t.proactive_unit_id)).proactive += 1
            continue
        row = rows.setdefault(t.unit_id, UnitRow(t.unit_id, names.get(t.unit_id, str(t.unit_id))))
        o = (outcome_at(as_of, t.case_due_at, t.case_due_estimated, t.case_hot, t.case_answered_at,
                        t.case_answer_post_id) if t.case_id is not None
             else outcome_of(t, unchecked[t.id], config, calendar, as_of))
        row.received += 1
        estimated += o.due_estimated
        if o.answered_at is not None:
            response_hours[t.unit_id].append((o.answered_at - t.posted_at).total_seconds() / 3600)
        if o.state == IN_TIME:
            row.answered_in_time += 1
            continue
        if o.state == PENDING:
            row.pending += 1
            continue
        if o.state == LATE:
            row.answered_late += 1
        else:
            row.unanswered += 1
        hot_late += o.hot
        waited = o.waited(as_of, t.posted_at)
        appendix.append(AppendixRow(
            title=t.title, url=t.url, unit=row.unit, posted_at=_local(t.posted_at, tz),
            due_at=_local(o.due_at, tz), answered_at=_local(o.answered_at, tz) if o.answered_at else None,
            waited_hours=round(waited.total_seconds() / 3600, 1), waited_text=waited_text(waited, lang),
            hot=o.hot, views=t.max_views or 0, replies=t.max_replies or 0,
            status="answered_late" if o.state == LATE else "unanswered"))
    activity = repo.unit_posts_between(start, min(end, as_of))
    for unit_id, row in rows.items():
        hours = response_hours.get(unit_id) or []
        row.median_response_hours = round(statistics.median(hours), 1) if hours else None
        row.spokesperson_posts = activity.get(unit_id, 0) if unit_id else 0
    all_hours = [h for hs in response_hours.values() for h in hs]
    spokespersons = _spokespersons(config, repo, start, min(end, as_of), as_of, tz)
    units = [r for r in rows.values() if r.unit_id is not None]
    office_row = rows[None]
    unit_dicts = [dict(asdict(r), not_in_time=r.not_in_time) for r in units
                  + ([office_row] if office_row.received else [])]
    total = lambda attr: sum(getattr(r, attr) for r in rows.values())  # noqa: E731
    by_unit = {r.unit: r.proactive for r in units if r.proactive}
    return Bulletin(
        period={"start": period.first.isoformat(), "end": period.last.isoformat(), "label": period.label},
        as_of=as_of.astimezone(tz).isoformat(),
        received=total("received"), answered_in_time=total("answered_in_time"),
        answered_late=total("answered_late"), unanswered=total("unanswered"), pending=total("pending"),
        not_in_time=total("answered_late") + total("unanswered"),
        proactive={"total": sum(by_unit.values()), "by_unit": by_unit},
        units=unit_dicts,
        appendix=[asdict(a) for a in sorted(appendix, key=lambda a: a.posted_at)],
        response_time={
            "answered": len(all_hours),
            "median_hours": round(statistics.median(all_hours), 1) if all_hours else None,
            "mean_hours": round(statistics.fmean(all_hours), 1) if all_hours else None,
            "longest_wait_hours": max((a.waited_hours for a in appendix), default=None)},
        hot_not_in_time=hot_late,
        inactive_units=[r.unit for r in units if r.spokesperson_posts == 0],
        spokespersons=spokespersons, estimated_deadlines=estimated, lang=lang)


def _spokespersons(config: Config, repo: Repository, start: datetime, end: datetime, as_of: datetime,
                   tz: ZoneInfo) -> list[dict]:
    """One row per configured account: posts in the period, last post seen, last visit (profile)."""
    posts = repo.spokesperson_posts(start, end)

    def posts_of(a, found: list[tuple]) -> list[tuple]:
        return [p for p in found if p[0] == a.forum and ((a.uid is not None and p[1] == a.uid)
                                                         or (a.uid is None and p[2] == a.username))]
    accounts = [(unit, a) for unit in config.units for a in unit.accounts]
    if any(not posts_of(a, posts) for _, a in accounts):  # silent since the period began: look further back
        posts += repo.spokesperson_posts(start, end, before=True)
    presence = {(p.forum_id, p.uid): p for p in repo.presence()}
    stale = as_of - timedelta(days=config.inactive_after_days)
    rows = []
    for unit, a in accounts:
        mine = posts_of(a, posts)
        seen = presence.get((a.forum, a.uid)) if a.uid is not None else None
        last_post = max((p[4] for p in mine if p[4]), default=None)
        last_visit = seen.last_visit_at if seen else None
        in_period = sum(p[3] or 0 for p in mine)
        rows.append({
            "unit": unit.name, "forum": a.forum, "account": a.username or (seen.username if seen else None) or str(a.uid),
            "uid": a.uid, "posts_in_period": in_period,
            "last_post_seen": _local(last_post, tz) if last_post else None,
            "last_visit": _local(last_visit, tz) if last_visit else None,
            "rarely_online": in_period == 0 and (last_visit is None or last_visit < stale)})
    return rows


def _local(dt: datetime, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")
