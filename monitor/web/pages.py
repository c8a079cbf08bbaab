"""What each page of the web view shows, as plain data for its template (no HTTP here).

Times are turned into the office's zone by the templates' filters; here they stay aware UTC.
Who may see what is decided by the caller (monitor.web.app) before these are asked; the search
is confined to a unit user's own unit here, in the query itself.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from loguru import logger
from sqlalchemy import select

from models.repository import Repository
from models.tables import AccountPresence
from monitor.bulletin import Bulletin, build_bulletin
from monitor.check import calendar_of
from monitor.config import Config
from monitor.forum_health import NO_RUNS, read_forum_runs, stale_window
from monitor.periods import Period, parse_period

NEWLY_OVERDUE_HOURS = 24
FIGURES_TTL_SECONDS = 60  # the overview's period figures are recomputed at most once a minute per data change
MONTHS_SHOWN = 12
FIGURES_KEPT = 32  # periods whose overview figures are kept


def current_quarter(config: Config, now: datetime) -> Period:
    """The quarter ``now`` falls in, in the office's zone."""
    today = now.astimezone(ZoneInfo(config.timezone)).date()
    return parse_period(f"{today.year}Q{(today.month - 1) // 3 + 1}")


def period_or_current(config: Config, text: str | None, now: datetime) -> Period:
    """The period a user typed (ValueError with the accepted forms), or the current quarter."""
    return parse_period(text) if text and text.strip() else current_quarter(config, now)


def end_of_next_working_day(config: Config, now: datetime) -> datetime:
    """Midnight after the first working day after today (office zone): what "due soon" reaches."""
    tz, calendar = ZoneInfo(config.timezone), calendar_of(config)
    day = now.astimezone(tz).date() + timedelta(days=1)
    for _ in range(40):
        if calendar.is_workday(day)[0]:
            break
        day += timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)


def forum_link(config: Config, forum_id: str, url: str | None) -> str | None:
    """The thread's address on its forum, absolute, only when it is http(s) on the forum's own host."""
    forum = next((f for f in config.forums if f.id == forum_id), None)
    if forum is None or not url:
        return None
    absolute = urljoin(forum.base_url, url)
    parts, base = urlsplit(absolute), urlsplit(forum.base_url)
    if (parts.scheme not in ("http", "https") or parts.hostname != base.hostname or parts.username is not None
            or "\\" in url):  # user@host and backslashes read differently in browsers
        return None
    return absolute


# ---- the period figures, cached ---------------------------------------------------------------

@dataclass
class _Cached:
    version: tuple
    at: float
    value: object


@dataclass
class FiguresCache:
    """The overview's figures per (period, language). A value is current while the data stamp is
    the same and for at most FIGURES_TTL_SECONDS (cases turn overdue with the clock too). Once it
    is not, the last value is still served (its 统计截至 says when it was computed) while one
    background thread computes the new one: only the first request of a period waits."""

    items: dict = field(default_factory=dict)
    refreshing: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: tuple, version: tuple, make):
        with self.lock:
            hit = self.items.get(name)
            if hit is not None and (hit.version != version or time.monotonic() - hit.at >= FIGURES_TTL_SECONDS):
                if name not in self.refreshing:
                    self.refreshing.add(name)
                    threading.Thread(target=self._refresh, args=(name, version, make), name="web-figures",
                                     daemon=True).start()
            if hit is not None:
                return hit.value
        value = make()
        self._store(name, version, value)
        return value

    def _store(self, name: tuple, version: tuple, value) -> None:
        with self.lock:
            self.items.pop(name, None)
            self.items[name] = _Cached(version, time.monotonic(), value)
            while len(self.items) > FIGURES_KEPT:  # periods typed once are forgotten first
                self.items.pop(next(iter(self.items)))

    def _refresh(self, name: tuple, version: tuple, make) -> None:
        try:
            self._store(name, version, make())
        except Exception:  # noqa: BLE001 - the last figures stay; the log says why
            logger.exception("web view: computing the overview's figures failed")
        finally:
            with self.lock:
                self.refreshing.discard(name)


def period_figures(config: Config, repo: Repository, period: Period, now: datetime, lang: str,
                   cache: FiguresCache | None = None) -> Bulletin:
    """The bulletin's counts and rates for ``period`` as of now (or its end): the same figures the
    bulletin shows, by the same code (build_bulletin without its appendices)."""
    _, end = period.bounds(config.timezone)
    as_of = min(end, now)

    def make() -> Bulletin:
        return build_bulletin(config, repo, period, as_of, lang, compare=False)
    if cache is None:
        return make()
    return cache.get((period.label, lang), (repo.data_stamp(), id(config)), make)


# ---- pages ----------------------------------------------------------------------------------

def overview(config: Config, repo: Repository, now: datetime, lang: str, cache: FiguresCache | None = None,
             period: Period | None = None) -> dict:
    """Due soon, newly overdue, overdue by unit, the figures of ``period`` (default: this quarter),
    and the forums' polling."""
    names = {u.id: u.name for u in config.units}
    due_until = end_of_next_working_day(config, now)
    by_unit = []
    for unit_id, count, oldest_due in sorted(repo.overdue_by_unit(), key=lambda r: (-r[1], r[0] or "")):
        by_unit.append({"unit_id": unit_id, "unit": names.get(unit_id, unit_id), "count": count,
                        "oldest_due": oldest_due, "oldest": repo.oldest_overdue(unit_id)})
    period = period or current_quarter(config, now)
    figures = period_figures(config, repo, period, now, lang, cache)
    return {"due": repo.cases_due_between(now, due_until), "due_until": due_until,
            "newly_overdue": repo.cases_overdue_since(now - timedelta(hours=NEWLY_OVERDUE_HOURS)),
            "overdue_by_unit": by_unit, "overdue_total": sum(u["count"] for u in by_unit),
            "period": period, "figures": figures, "forums": forums_polling(config, repo, now)}


def forums_polling(config: Config, repo: Repository, now: datetime) -> list[dict]:
    """Each configured forum's newest poll: when it finished, whether it failed, and since when it
    has not polled successfully (the same reading as /healthz)."""
    with repo.engine.connect() as conn:
        runs = read_forum_runs(conn)
    out = []
    for f in config.forums:
        r = runs.get(f.id, NO_RUNS)
        stale = r.last_success is None or now - r.last_success > stale_window(config, f)
        out.append({"id": f.id, "name": f.name, "last_finished": r.last_finished, "last_success": r.last_success,
                    "status": r.last_status, "error": r.last_error, "failing": r.failing, "stale": stale})
    return out


def unit_page(config: Config, repo: Repository, unit_id: str, now: datetime) -> dict:
    """One unit: open cases, late answers, accounts and when each was last seen, figures by month."""
    unit = next(u for u in config.units if u.id == unit_id)
    tz = ZoneInfo(config.timezone)
    open_cases, open_total = repo.unit_cases(unit_id, ("pending", "overdue"))
    late, late_total = repo.unit_cases(unit_id, ("answered_late",), limit=50, newest_first=True)
    posts = repo.unit_account_posts(unit_id)
    with repo.engine.connect() as conn:
        presence = {(p.forum_id, p.uid): p for p in conn.execute(
            select(AccountPresence).where(AccountPresence.unit_id == unit_id))}
    accounts = []
    for a in unit.accounts:
        mine = [p for p in posts if p.forum_id == a.forum and ((a.uid is not None and p.author_uid == a.uid)
                                                               or (a.uid is None and p.author == a.username))]
        seen = presence.get((a.forum, a.uid))
        accounts.append({"forum": a.forum, "uid": a.uid, "username": a.username or (mine[0].author if mine else None),
                         "posts": sum(p[3] for p in mine), "last_post": max((p[4] for p in mine if p[4]), default=None),
                         "last_visit": seen.last_visit_at if seen else None,
                         "last_activity": seen.last_activity_at if seen else None,
                         "presence_note": seen.note if seen else None})
    return {"unit": unit, "open": open_cases, "open_total": open_total,
            "overdue": open_cases[0].overdue_total if open_cases else 0,
            "late": late, "late_total": late_total, "accounts": accounts,
            "months": _months(repo.unit_cases_posted_since(unit_id, _months_back(now, tz)), now, tz)}


def _months_back(now: datetime, tz: ZoneInfo) -> datetime:
    today = now.astimezone(tz).date()
    y, m = today.year, today.month - (MONTHS_SHOWN - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return datetime.combine(date(y, m, 1), datetime.min.time(), tz)


def _months(rows: list, now: datetime, tz: ZoneInfo) -> list[dict]:
    """Per month (newest first): received, in time, late, unanswered, pending, the in-time rate
    of the decided ones, from each case's state as it stands now."""
    first = _months_back(now, tz).date()
    months: dict[str, dict] = {}
    y, m = first.year, first.month
    for _ in range(MONTHS_SHOWN):
        months[f"{y}-{m:02d}"] = {"month": f"{y}-{m:02d}", "received": 0, "answered_in_time": 0,
                                  "answered_late": 0, "overdue": 0, "pending": 0}
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    for posted_at, state in rows:
        row = months.get(f"{posted_at.astimezone(tz):%Y-%m}")
        if row is None or state not in row:
            continue
        row["received"] += 1
        row[state] += 1
    for row in months.values():
        decided = row["received"] - row["pending"]
        row["in_time_rate"] = round(100 * row["answered_in_time"] / decided, 1) if decided else None
    return list(reversed(months.values()))


def may_see_thread(history: dict, unit_id: str | None) -> bool:
    """Whether a unit user of ``unit_id`` may open this thread: it is assigned to the unit, its case
    is owed by it, or it is the unit's own proactive item."""
    if unit_id is None:
        return False
    a, c = history["assignment"], history["case"]
    return unit_id in (a["unit_id"], a["proactive_unit_id"], c["unit_id"] if c else None)
