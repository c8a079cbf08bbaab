"""The period bulletin, computed from stored data as of a moment.

Every thread that counts and was posted in the period is re-evaluated with
the rules as of ``as_of`` (pure), so a bulletin can be written for any past
moment and its figures follow the data, never a stored tally.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.repository import Repository
from monitor.bulletin_text import dress
from monitor.check import calendar_of, outcome_of
from monitor.config import Config
from monitor.periods import Period, period_name, previous_period
from monitor.quality import UNRESOLVED, Answer, FLAG_NAMES, Flag, ThreadPost, excerpt, flag_answers, follow_up
from monitor.rules import IN_TIME, LATE, OVERDUE, PENDING, outcome_at

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
    median_response_days: float | None = None
    in_time_rate: float | None = None  # percent of the decided cases (received less pending)
    last_seen: str | None = None  # the latest post or visit of the unit's accounts
    flagged: int = 0  # answers with a reply-quality flag
    followups_unresolved: int = 0

    @property
    def not_in_time(self) -> int:
        return self.answered_late + self.unanswered

    def finish(self, hours: list[float]) -> None:
        """Medians and the in-time rate, once the counts are in."""
        self.median_response_hours = round(statistics.median(hours), 1) if hours else None
        self.median_response_days = round(statistics.median(hours) / 24, 1) if hours else None
        self.in_time_rate = rate(self.answered_in_time, self.received - self.pending)


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
    title: str = ""
    office: dict = field(default_factory=dict)  # name, short_name
    issued_on: str = ""  # the date line, as the office writes it
    as_of_text: str = ""  # 统计截至… in the document's language
    in_time_rate: float | None = None
    total: dict = field(default_factory=dict)  # the 合计 row
    comparison: dict | None = None  # with the previous period of the same length
    answered_within: dict = field(default_factory=dict)  # days → {count, share}
    silent: dict = field(default_factory=dict)  # unanswered and waiting more than 10 / 30 days
    answer_time_buckets: list[dict] = field(default_factory=list)
    weekly: list[dict] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)  # reply-quality flags (appendix 2)
    followups: list[dict] = field(default_factory=list)  # follow-ups after the answer (appendix 3)
    followups_unresolved: int = 0
    overrides: list[dict] = field(default_factory=list)  # the office's corrections
    threads: list[dict] = field(default_factory=list)  # every received thread (the spreadsheet)
    problems: list[str] = field(default_factory=list)  # 二、存在的问题, generated from the figures
    next_steps: list[str] = field(default_factory=list)  # 三、下一步工作要求, from config
    charts: dict = field(default_factory=dict)  # chart name → file name, when written

    def to_json(self) -> dict:
        return asdict(self)


def rate(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, one decimal; None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole > 0 else None


def waited_text(delta: timedelta, lang: str) -> str:
    days, hours = delta.days, delta.seconds // 3600
    if lang == "en":
        return f"{days} d {hours} h" if days else f"{hours} h"
    return f"{days}天{hours}小时" if days else f"{hours}小时"


_STATE = {IN_TIME: "answered_in_time", LATE: "answered_late", OVERDUE: "unanswered", PENDING: "pending"}
_BUCKETS = ((1, "≤1天", "≤1 d"), (2, "1–2天", "1–2 d"), (3, "2–3天", "2–3 d"), (7, "3–7天", "3–7 d"),
            (30, "7–30天", "7–30 d"), (None, ">30天", ">30 d"))


def build_bulletin(config: Config, repo: Repository, period: Period, as_of: datetime | None = None,
                   lang: str | None = None, compare: bool = True) -> Bulletin:
    """Compute the bulletin for ``period`` as of ``as_of`` (default: the period's end); with
    ``compare``, also the previous period of the same kind, as of its own end. Without it only
    the counts and rates are filled (no appendices, weekly figures, flags or follow-ups): what a
    comparison and the web view's overview read."""
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
    # appendix rows: title, url, unit, posted_at, due_at, answered_at, waited_hours/_text/_days, hot,
    # views, replies, status (answered_late | unanswered)
    appendix: list[dict] = []
    received: list[dict] = []
    outcomes: dict[int, object] = {}
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
        outcomes[t.id] = o
        row.received += 1
        estimated += o.due_estimated
        if compare:  # the previous period's rows are not shown
            posted = _local(t.posted_at, tz)
            received.append(dict(
                forum=t.forum_id, tid=t.tid, board=t.fid, title=t.title, url=t.url, author=t.author, unit=row.unit,
                assigned_by=t.assigned_by, posted_at=posted, due_at=_local(o.due_at, tz),
                answered_at=_local(o.answered_at, tz) if o.answered_at else None, state=_STATE[o.state], hot=o.hot,
                views=t.max_views or 0, replies=t.max_replies or 0,
                days_to_answer=round((o.answered_at - t.posted_at).total_seconds() / 86400, 2)
                if o.answered_at else None))
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
        if not compare:  # the counts and rates only: no appendix rows
            continue
        waited = o.waited(as_of, t.posted_at)
        appendix.append(dict(
            title=t.title, url=t.url, unit=row.unit, posted_at=posted,
            due_at=_local(o.due_at, tz), answered_at=_local(o.answered_at, tz) if o.answered_at else None,
            waited_hours=round(waited.total_seconds() / 3600, 1), waited_text=waited_text(waited, lang),
            hot=o.hot, views=t.max_views or 0, replies=t.max_replies or 0,
            status="answered_late" if o.state == LATE else "unanswered",
            waited_days=round(waited.total_seconds() / 86400, 1)))
    counted = [t for t in threads if t.id in outcomes]
    answered = {t.id: t for t in counted if outcomes[t.id].answered_at is not None}
    # the previous period's bulletin (``compare=False``) is only read for its counts and rates
    flags = _quality_flags(config, repo, (start, end), answered, rows, names, office, tz, lang) if compare else []
    followups = (_followups(config, repo, (start, end), answered, calendar, as_of, rows, names, office, tz)
                 if compare else [])
    activity = repo.unit_posts_between(start, min(end, as_of))
    spokespersons = _spokespersons(config, repo, start, min(end, as_of), as_of, tz) if compare else []
    for unit_id, row in rows.items():
        row.finish(response_hours.get(unit_id) or [])
        row.spokesperson_posts = activity.get(unit_id, 0) if unit_id else 0
        seen = [s["last_post_seen"] or "" for s in spokespersons if s["unit"] == row.unit] + \
               [s["last_visit"] or "" for s in spokespersons if s["unit"] == row.unit]
        row.last_seen = max(seen, default="") or None
    all_hours = [h for hs in response_hours.values() for h in hs]
    units = [r for r in rows.values() if r.unit_id is not None]
    office_row = rows[None]
    ranked = sorted(units, key=lambda r: (r.in_time_rate is None, -(r.in_time_rate or 0), -r.received, r.unit))
    shown = ranked + ([office_row] if office_row.received else [])
    unit_dicts = [dict(asdict(r), not_in_time=r.not_in_time, rank=i + 1 if r.unit_id else None)
                  for i, r in enumerate(shown)]
    total_row = _total(rows.values(), all_hours, lang)
    by_unit = {r.unit: r.proactive for r in units if r.proactive}
    n = len(counted)
    b = Bulletin(
        period={"start": period.first.isoformat(), "end": period.last.isoformat(), "label": period.label,
                "name": period_name(period, lang)},
        as_of=as_of.astimezone(tz).isoformat(),
        received=n, answered_in_time=total_row["answered_in_time"],
        answered_late=total_row["answered_late"], unanswered=total_row["unanswered"], pending=total_row["pending"],
        not_in_time=total_row["not_in_time"],
        proactive={"total": sum(by_unit.values()), "by_unit": by_unit},
        units=unit_dicts,
        appendix=sorted(appendix, key=lambda a: a["posted_at"]),
        response_time={
            "answered": len(all_hours),
            "median_hours": round(statistics.median(all_hours), 1) if all_hours else None,
            "mean_hours": round(statistics.fmean(all_hours), 1) if all_hours else None,
            "median_days": round(statistics.median(all_hours) / 24, 1) if all_hours else None,
            "longest_wait_hours": max((a["waited_hours"] for a in appendix), default=None),
            "longest_wait_days": max((a["waited_days"] for a in appendix), default=None),
            "deadline_days": _days(config.rules.respond_within)},
        hot_not_in_time=hot_late,
        inactive_units=[r.unit for r in units if r.spokesperson_posts == 0],
        spokespersons=spokespersons, estimated_deadlines=estimated, lang=lang,
        office={"name": config.office.name, "short_name": config.office.short_name},
        in_time_rate=total_row["in_time_rate"], total=total_row,
        answered_within={str(d): {"count": c, "share": rate(c, n)} for d, c in
                         ((d, sum(1 for h in all_hours if h <= 24 * d)) for d in (1, 3, 7))},
        silent={str(d): sum(1 for a in appendix if a["status"] == "unanswered" and a["waited_days"] > d)
                for d in (10, 30)},
        answer_time_buckets=_buckets(all_hours, lang),
        weekly=_weekly(counted, outcomes, start, min(end, as_of), tz) if compare else [],
        flags=flags, followups=followups,
        followups_unresolved=sum(1 for f in followups if f["state"] == UNRESOLVED),
        overrides=_overrides(repo, start, end, names, tz),
        threads=received,
        next_steps=[p.strip() for p in re.split(r"\n\s*\n", config.office.next_steps) if p.strip()])
    if compare:
        before = previous_period(period)
        b.comparison = _comparison(b, build_bulletin(config, repo, before, None, lang, compare=False), before, lang)
    dress(b, period, as_of.astimezone(tz), lang)
    return b


def _days(deadline) -> float:
    """A deadline in days (working days as days): what a median time to answer is judged by."""
    return deadline.working_days if deadline.working_days is not None else deadline.hours / 24


def _total(rows, hours: list[float], lang: str) -> dict:
    """The 合计 row over every unit and the office."""
    total = UnitRow(None, "合计" if lang == "zh" else "Total")
    for r in rows:
        for attr in ("received", "answered_in_time", "answered_late", "unanswered", "pending", "proactive",
                     "spokesperson_posts", "flagged", "followups_unresolved"):
            setattr(total, attr, getattr(total, attr) + getattr(r, attr))
    total.finish(hours)
    return dict(asdict(total), not_in_time=total.not_in_time, rank=None)


def _buckets(hours: list[float], lang: str) -> list[dict]:
    out, low = [], 0
    for high, zh, en in _BUCKETS:
        count = sum(1 for h in hours if h > 24 * low and (high is None or h <= 24 * high)) if low else \
            sum(1 for h in hours if h <= 24 * high)
        out.append({"label": zh if lang == "zh" else en, "count": count})
        low = high
    return out


def _weekly(threads, outcomes: dict, start: datetime, end: datetime, tz: ZoneInfo) -> list[dict]:
    """Received and answered per week (Monday to Sunday, office zone) over the period."""
    first = start.astimezone(tz).date()
    monday = first - timedelta(days=first.weekday())
    weeks: dict = {}
    day = monday
    while datetime.combine(day, datetime.min.time(), tz) < end:
        weeks[day] = {"week": day.isoformat(), "received": 0, "answered": 0}
        day += timedelta(days=7)
    week_of = lambda dt: (d := dt.astimezone(tz).date()) - timedelta(days=d.weekday())  # noqa: E731
    for t in threads:
        if (w := weeks.get(week_of(t.posted_at))) is not None:
            w["received"] += 1
        o = outcomes[t.id]
        if o.answered_at is not None and (w := weeks.get(week_of(o.answered_at))) is not None:
            w["answered"] += 1
    return list(weeks.values())


def answer_flags(config: Config, repo: Repository, answers: list[Answer]) -> list[Flag]:
    """The flags of ``answers``, each compared with its unit's earlier answers: those among
    ``answers`` and the unit's latest ones before them (an earlier answer's own flags are left out)."""
    first = min((a.at for a in answers), default=None)
    if first is None:
        return []
    keys = {a.key for a in answers}
    earlier = [Answer(("before", r.thread_id), unit_id, r.posted_at, r.body)
               for unit_id in {a.unit_id for a in answers if a.unit_id}
               for r in repo.unit_answers_before(unit_id, first, config.quality.boilerplate_lookback)
               if r.thread_id not in keys]
    return [f for f in flag_answers(earlier + answers, config.quality) if f.key in keys]


def _quality_flags(config: Config, repo: Repository, bounds: tuple, answered: dict, rows: dict, names: dict, office: str,
                   tz: ZoneInfo, lang: str) -> list[dict]:
    """Reply-quality flags of the period's answers, each compared with the unit's earlier answers
    (those of the period, and the ones just before it)."""
    bodies = {i: r for i, r in repo.answer_bodies_between(*bounds).items() if i in answered}
    answers = [Answer(tid, r.unit_id, r.posted_at, r.body) for tid, r in bodies.items()]
    kinds = FLAG_NAMES[lang]
    out = []
    flagged: dict[str | None, set[int]] = {}
    for f in answer_flags(config, repo, answers):
        t, body = answered[f.key], bodies[f.key]
        flagged.setdefault(t.unit_id, set()).add(f.key)  # a unit's count is of answers, not of flags
        twin = None
        if f.kind == "boilerplate":
            key = _similar_thread(f.detail)
            twin = answered[key].title if isinstance(key, int) and key in answered else None
        out.append({"title": t.title, "url": t.url, "unit": names.get(t.unit_id, office),
                    "answered_at": _local(body.posted_at, tz), "kind": f.kind, "kind_name": kinds[f.kind],
                    "reason": f.reason, "similar_to": twin, "excerpt": excerpt(body.body)})
    for unit_id, keys in flagged.items():
        rows[unit_id].flagged = len(keys)
    return sorted(out, key=lambda o: (o["answered_at"], o["kind"]))


def _similar_thread(detail: str) -> int | None:
    """A boilerplate flag's ``detail`` names the similar answer's key: a thread id in the period."""
    return int(detail) if detail.isdigit() else None


def _followups(config: Config, repo: Repository, bounds: tuple, answered: dict, calendar, as_of: datetime, rows: dict,
               names: dict, office: str, tz: ZoneInfo) -> list[dict]:
    """Follow-ups by the starters of the period's answered threads, as of ``as_of``."""
    later = {i: ps for i, ps in repo.posts_after_answers_between(*bounds).items() if i in answered}
    out = []
    for tid, posts in later.items():
        if not posts:
            continue
        t = answered[tid]
        case_answer = t.case_answered_at or posts[0].posted_at
        f = follow_up(t.unit_id, case_answer, [ThreadPost(p.posted_at, p.body, bool(p.by_starter), p.unit_id)
                                               for p in posts], config.followups, config.rules.respond_within,
                      calendar, as_of)
        if f is None:
            continue
        if f.state == UNRESOLVED:
            rows[t.unit_id].followups_unresolved += 1
        out.append({"title": t.title, "url": t.url, "unit": names.get(t.unit_id, office),
                    "answered_at": _local(case_answer, tz), "followup_at": _local(f.at, tz),
                    "due_at": _local(f.due_at, tz), "state": f.state,
                    "answered_again_at": _local(f.answered_at, tz) if f.answered_at else None,
                    "excerpt": excerpt(f.body)})
    return sorted(out, key=lambda o: o["followup_at"])


def _overrides(repo: Repository, start: datetime, end: datetime, names: dict, tz: ZoneInfo) -> list[dict]:
    """The office's corrections of threads posted in the period."""
    return [{"forum": o.forum_id, "tid": o.tid, "title": o.title, "url": o.url, "action": o.action,
             "unit": names.get(o.unit_id, o.unit_id), "reason": o.reason, "by": o.by_user, "at": _local(o.at, tz)}
            for o in repo.overrides_between(start, end)]


def _comparison(b: Bulletin, prev: Bulletin, before: Period, lang: str) -> dict:
    """Change from the previous period: received, the in-time rate, each unit's rate."""
    prev_units = {u["unit"]: u for u in prev.units}
    delta = lambda now, then: round(now - then, 1) if now is not None and then is not None else None  # noqa: E731
    return {
        "period": period_name(before, lang), "label": before.label,
        "received": prev.received, "received_change": b.received - prev.received,
        "received_change_share": rate(b.received - prev.received, prev.received),
        "in_time_rate": prev.in_time_rate, "in_time_rate_change": delta(b.in_time_rate, prev.in_time_rate),
        "units": [{"unit": u["unit"], "in_time_rate": u["in_time_rate"],
                   "previous": prev_units.get(u["unit"], {}).get("in_time_rate"),
                   "change": delta(u["in_time_rate"], prev_units.get(u["unit"], {}).get("in_time_rate"))}
                  for u in b.units]}


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
