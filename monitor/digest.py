"""The nightly digest, for the people who must act: what falls due next, what has just become
overdue, what is still overdue, what was answered late, which answers drew a follow-up that
nobody answered, and the health of the polling.

Sections, in this order (the counts line at the top follows it):

1. **Due soon**: open cases whose deadline falls before the end of the *next working day*
   (the first working day after today on the official calendar, :class:`WorkCalendar`) or
   within ``digest.due_soon_hours``, whichever reaches later; soonest first, each with its
   deadline and the time left in *working hours* (only hours of working days count, the
   measure deadlines are set in).
2. **Newly overdue**: cases whose deadline passed in the digest's window (``since`` to now,
   by default the last 24 hours) and that are still unanswered now (one answered since is
   listed under 4).
3. **Still overdue**: the other overdue cases, grouped by unit, longest overdue first, with
   the lateness in *working days*: the whole working days (24 hours of working time each)
   between the deadline and now, the ``k`` with now before ``add_working_days(due, k + 1)``
   and, for k ≥ 1, not before ``add_working_days(due, k)``.
4. **Answered late** in the window, with how many working days late the answer came.
5. **Unresolved follow-ups**: threads answered within ``followups.lookback_days`` whose
   starter came back (:func:`monitor.quality.follow_up`) and got no new answer by the rule's
   deadline, as of now; with the follow-up's time and an excerpt of it.

Each item has its thread's title and link, unit (left out of a unit's own digest), board,
views and replies, a one-line excerpt of the opening post, times, and hot / estimated marks.
All wording is Chinese, or English with ``lang: en`` (:data:`TEXT`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.digest_store import DigestDetail
from models.repository import Repository
from monitor.bulletin import OFFICE, OFFICE_EN, waited_text
from monitor.check import calendar_of
from monitor.config import Config
from monitor.quality import UNRESOLVED, ThreadPost, excerpt, follow_up
from monitor.workdays import WorkCalendar

# key → (Chinese, English); str.format placeholders
TEXT: dict[str, tuple[str, str]] = {
    "title": ("网络发言人逾期答复日报", "Overdue digest"),
    "counts": ("即将到期 {} 条 · 新增逾期 {} 条 · 仍逾期 {} 条 · 逾期后答复 {} 条 · 追问未解决 {} 条"
               "（当前逾期未答复共 {} 条）",
               "Due soon: {} · newly overdue: {} · still overdue: {} · answered late: {} · "
               "unresolved follow-ups: {} (overdue now: {} in all)"),
    "due_soon": ("一、即将到期（{} 前到期）", "1. Due soon (by {})"),
    "due_soon_note": ("截至下一个工作日（{}）结束，或 {} 小时内，取较晚者；剩余时间只计工作日。",
                      "Due by the end of the next working day ({}) or within {} hours, whichever is later; "
                      "time left counts working days only."),
    "newly": ("二、新增逾期（{} 以来）", "2. Newly overdue (since {})"),
    "still": ("三、仍逾期未答复（按单位，超期最久的在前）", "3. Still overdue, by unit, longest overdue first"),
    "still_unit": ("三、仍逾期未答复（超期最久的在前）", "3. Still overdue, longest overdue first"),
    "late": ("四、逾期后答复（{} 以来）", "4. Answered late (since {})"),
    "followups": ("五、追问未解决（近 {} 天内答复的帖子）", "5. Unresolved follow-ups (threads answered in the last {} days)"),
    "health": ("采集状况", "Polling health"),
    "health_ok": ("各论坛采集正常。", "All forums polled normally."),
    "never_polled": ("尚未采集", "never polled"),
    "none": ("无。", "None."),
    "unit_heading": ("{}（{} 条）", "{} ({})"),
    "posted": ("发帖 {}", "posted {}"),
    "due": ("期限 {}", "due {}"),
    "left": ("剩余{}小时（工作时间）", "{} working hours left"),
    "left_1": ("剩余1小时（工作时间）", "1 working hour left"),
    "left_under": ("剩余不足1小时（工作时间）", "under 1 working hour left"),
    "late_days": ("超期{}个工作日", "{} working days late"),
    "late_1": ("超期1个工作日", "1 working day late"),
    "late_under": ("超期不足1个工作日", "under 1 working day late"),
    "answered": ("答复 {}", "answered {}"),
    "followup": ("追问 {}", "follow-up {}"),
    "followup_due": ("应于 {} 前再答复", "to be answered again by {}"),
    "views": ("浏览 {}", "{} views"),
    "replies": ("回复 {}", "{} replies"),
    "hot": ("热点", "hot"),
    "estimated": ("期限为估算", "deadline estimated"),
}


def text(key: str, lang: str, *args) -> str:
    zh, en = TEXT[key]
    return (zh if lang == "zh" else en).format(*args)


@dataclass
class DigestItem:
    title: str
    url: str
    unit: str
    posted_at: str
    due_at: str  # the deadline (local time)
    age: str
    late_by: str  # calendar time since the deadline (kept for older readers; the digest shows late_work_days)
    hot: bool
    estimated: bool
    thread_id: int = 0
    board: str = ""
    views: int = 0
    replies: int = 0
    excerpt: str = ""  # the opening post, one line
    time_left_hours: float | None = None  # open, not yet due: calendar hours to the deadline
    time_left_work_hours: float | None = None  # … counting only hours of working days
    late_work_days: int | None = None  # past due: whole working days late (at the answer, if answered)
    answered_at: str | None = None
    followup_at: str | None = None
    followup_excerpt: str | None = None
    followup_due_at: str | None = None


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
    overdue_by_unit: dict[str, list[dict]]  # every overdue case (newly overdue included), by unit
    overdue_total: int
    newly_overdue: list[dict]
    answered_late: list[dict]
    due_soon: list[dict]  # due before ``due_soon_until``: the next working day's end, or due_soon_hours
    health: list[dict]
    lang: str = "zh"
    never_polled: list[str] = field(default_factory=list)
    unit: str | None = None  # set when the digest is one unit's own list
    due_soon_until: str = ""
    next_workday: str = ""
    due_soon_hours: float = 0  # config.digest.due_soon_hours, for the note on what "due soon" means
    still_overdue_by_unit: dict[str, list[dict]] = field(default_factory=dict)  # overdue_by_unit less newly
    still_overdue_total: int = 0
    followups_unresolved: list[dict] = field(default_factory=list)
    followups_lookback_days: int = 0

    def to_json(self) -> dict:
        return asdict(self)

    def t(self, key: str, *args) -> str:
        """The digest's wording in its language (the templates' and the chat title's)."""
        return text(key, self.lang, *args)


def for_unit(d: Digest, unit_name: str) -> Digest:
    """The same digest narrowed to one unit's threads (what a unit receives)."""
    mine = lambda items: [i for i in items if i["unit"] == unit_name]  # noqa: E731
    overdue = {u: items for u, items in d.overdue_by_unit.items() if u == unit_name}
    still = {u: items for u, items in d.still_overdue_by_unit.items() if u == unit_name}
    return replace(d, overdue_by_unit=overdue, overdue_total=sum(len(v) for v in overdue.values()),
                   newly_overdue=mine(d.newly_overdue), answered_late=mine(d.answered_late),
                   due_soon=mine(d.due_soon), health=[], never_polled=[], unit=unit_name,
                   still_overdue_by_unit=still, still_overdue_total=sum(len(v) for v in still.values()),
                   followups_unresolved=mine(d.followups_unresolved))


class WorkingTime:
    """Time on working days between two moments, measured as :meth:`WorkCalendar.add_working_days`
    measures it (24 hours per working day, local days of the calendar's zone). Whole days are
    counted from a running total per date, so a digest of thousands of long-overdue cases does
    not walk their years day by day."""

    def __init__(self, calendar: WorkCalendar):
        self.calendar = calendar
        self._origin: date | None = None
        self._before: list[int] = [0]  # _before[i]: working days in [origin, origin + i days)

    def _workday(self, day: date) -> bool:
        return self.calendar.is_workday(day)[0]

    def _count_before(self, day: date) -> int:
        """Working days in [origin, day)."""
        if self._origin is None or day < self._origin:
            self._origin, self._before = day, [0]
        i = (day - self._origin).days
        while len(self._before) <= i:
            self._before.append(self._before[-1] + self._workday(self._origin + timedelta(len(self._before) - 1)))
        return self._before[i]

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The part of [start, end) that falls on working days."""
        if end <= start:
            return timedelta(0)
        tz = self.calendar.tz
        a, b = start.astimezone(tz), end.astimezone(tz)
        midnight = lambda d: datetime.combine(d, time(0), tzinfo=tz)  # noqa: E731
        if a.date() == b.date():
            return b - a if self._workday(a.date()) else timedelta(0)
        first, last = a.date(), b.date()
        self._count_before(first)  # the earlier day first: one running total covers both
        whole = self._count_before(last) - self._count_before(first + timedelta(days=1))
        return ((midnight(first + timedelta(days=1)) - a if self._workday(first) else timedelta(0))
                + timedelta(days=whole) + (b - midnight(last) if self._workday(last) else timedelta(0)))

    def days_late(self, due: datetime, at: datetime) -> int:
        """Whole working days (24 h of working time each) from ``due`` to ``at``."""
        return self.between(due, at) // timedelta(days=1)


def next_workday(calendar: WorkCalendar, now: datetime) -> date:
    """The first working day after ``now``'s local date."""
    day = now.astimezone(calendar.tz).date() + timedelta(days=1)
    for _ in range(366):
        if calendar.is_workday(day)[0]:
            return day
        day += timedelta(days=1)
    return day


def _question(title: str, body: str | None) -> str:
    """The opening post in one line, without a first line that only repeats the title."""
    if not body:
        return ""
    lines = body.strip().splitlines()
    if len(lines) > 1 and " ".join(lines[0].split()) == " ".join(title.split()):
        lines = lines[1:]
    return excerpt("\n".join(lines))


def _boards(config: Config) -> dict[tuple[str, int], str]:
    """(forum id, fid) → the board's name as the office knows it (the forum's too with several forums)."""
    out = {}
    for f in config.forums:
        for b in f.boards:
            name = b.name or f"fid {b.fid}"
            out[(f.id, b.fid)] = f"{f.name} {name}" if len(config.forums) > 1 else name
    return out


def _details(repo: Repository, thread_ids: list[int], at: datetime) -> dict[int, DigestDetail]:
    return repo.digest_details(thread_ids, at)


def build_digest(config: Config, repo: Repository, now: datetime, lang: str | None = None,
                 since: datetime | None = None) -> Digest:
    """The digest as of ``now``, with changes since ``since`` (default: 24 hours before)."""
    lang = lang or config.digest.lang
    tz = ZoneInfo(config.timezone)
    calendar = calendar_of(config)
    working = WorkingTime(calendar)
    since = since or now - timedelta(hours=24)
    names = {u.id: u.name for u in config.units}
    boards = _boards(config)
    office = OFFICE if lang == "zh" else OFFICE_EN
    local = lambda dt: dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")  # noqa: E731

    open_cases = repo.cases_open_at(now)  # oldest first; also right for a past ``now``
    events = repo.case_events_between(since, now)
    lookback = now - timedelta(days=config.followups.lookback_days)
    answered = repo.cases_answered_between(lookback, now)
    later = repo.posts_after_answers([a.thread_id for a in answered]) if answered else {}
    details = _details(repo, sorted({c.id for c in [*open_cases, *events, *answered]}), now)

    def item(case, **extra) -> dict:
        """One entry of the digest from a case row (its thread's columns included)."""
        d = details.get(case.id)
        return vars(DigestItem(
            title=case.title, url=case.url, unit=names.get(case.unit_id, office), posted_at=local(case.posted_at),
            due_at=local(case.due_at), age=waited_text(now - case.posted_at, lang),
            late_by=waited_text(max(now - case.due_at, timedelta(0)), lang), hot=case.hot,
            estimated=case.due_estimated, thread_id=case.id,
            board=boards.get((case.forum_id, case.fid), f"fid {case.fid}"),
            views=(d.views if d and d.views is not None else case.max_views) or 0,
            replies=(d.replies if d and d.replies is not None else case.max_replies) or 0,
            excerpt=_question(case.title, d.opening if d else None), **extra))

    # 1 and 3: the open cases
    soon_day = next_workday(calendar, now)
    until = max(datetime.combine(soon_day + timedelta(days=1), time(0), tzinfo=tz),
                now + timedelta(hours=config.digest.due_soon_hours))
    due_soon, overdue = [], []
    for case in open_cases:
        if case.due_at <= now:
            overdue.append(case)
        elif case.due_at <= until:
            due_soon.append(case)
    due_soon.sort(key=lambda c: c.due_at)
    due_soon_items = [item(c, time_left_hours=round((c.due_at - now).total_seconds() / 3600, 1),
                           time_left_work_hours=round(working.between(now, c.due_at).total_seconds() / 3600, 1))
                      for c in due_soon]
    overdue.sort(key=lambda c: (c.due_at, c.posted_at))
    open_ids = {c.id for c in overdue}

    # 2 and 4: what happened in the window
    newly_ids, late_ids, newly, late = set(), set(), [], []
    for e in events:
        if e.event_state == "overdue" and e.id in open_ids:
            newly_ids.add(e.id)
        elif (e.event_state == "answered_late" and e.id not in late_ids and e.id in details
              and details[e.id].answered_at is not None):
            late_ids.add(e.id)
            at = details[e.id].answered_at
            late.append(item(e, answered_at=local(at), late_work_days=working.days_late(e.due_at, at)))
    by_unit: dict[str, list[dict]] = {}
    still: dict[str, list[dict]] = {}
    for c in overdue:
        entry = item(c, late_work_days=working.days_late(c.due_at, now))
        by_unit.setdefault(entry["unit"], []).append(entry)
        if c.id in newly_ids:
            newly.append(entry)
        else:
            still.setdefault(entry["unit"], []).append(entry)

    # 5: follow-ups nobody answered
    followups = []
    for a in answered:
        posts = [ThreadPost(p.posted_at, p.body, bool(p.by_starter), p.unit_id) for p in later.get(a.thread_id, [])]
        f = follow_up(a.unit_id, a.answered_at, posts, config.followups, config.rules.respond_within, calendar, now)
        if f is not None and f.state == UNRESOLVED:
            followups.append(item(a, answered_at=local(a.answered_at), followup_at=local(f.at),
                                  followup_excerpt=excerpt(f.body), followup_due_at=local(f.due_at),
                                  late_work_days=working.days_late(f.due_at, now)))
    followups.sort(key=lambda i: i["followup_at"])

    runs = {r.forum_id: r for r in repo.last_poll_runs()}
    health = [asdict(ForumHealth(r.forum_id, r.status, local(r.finished_at or r.started_at), r.error,
                                 json.loads(r.warnings) if r.warnings else []))
              for r in runs.values() if r.status not in ("ok", "interrupted", "running")]
    biggest = lambda groups: dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))  # noqa: E731
    return Digest(as_of=local(now), since=local(since), overdue_by_unit=biggest(by_unit),
                  overdue_total=len(overdue), newly_overdue=newly, answered_late=late, due_soon=due_soon_items,
                  health=health, lang=lang, never_polled=[f.id for f in config.forums if f.id not in runs],
                  due_soon_until=local(until), next_workday=soon_day.isoformat(),
                  due_soon_hours=config.digest.due_soon_hours,
                  still_overdue_by_unit=biggest(still), still_overdue_total=len(overdue) - len(newly),
                  followups_unresolved=followups, followups_lookback_days=config.followups.lookback_days)
