"""What the web view reads beyond the reports: open cases by deadline, overdue counts by unit,
a unit's cases and its accounts' posts, and a stamp that changes whenever the data does.

Every read here is bounded by an index (the cases' (state, due_at) and (unit_id, state), the
case events' time, the posts' unit) and by a LIMIT, so a page costs the same on a database of
any age.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from models.repo_base import RepositoryBase
from models.tables import CaseEvent, CaseOverride, CheckState, PollRun, PostRecord, ResponseCase, ThreadRecord

PENDING, OVERDUE, IN_TIME, LATE = "pending", "overdue", "answered_in_time", "answered_late"

# a case with its thread: what a list row of the web view shows
_CASE_ROW = (ThreadRecord.forum_id, ThreadRecord.tid, ThreadRecord.fid, ThreadRecord.title, ThreadRecord.url,
             ThreadRecord.posted_at, ThreadRecord.max_views, ThreadRecord.max_replies,
             ResponseCase.unit_id, ResponseCase.state, ResponseCase.due_at, ResponseCase.due_estimated,
             ResponseCase.hot, ResponseCase.answered_at, ResponseCase.state_changed_at)
_LIVE_COUNTED = (ThreadRecord.deleted_at.is_(None), ThreadRecord.counted.is_(True))


def _cases():
    return select(*_CASE_ROW).join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id).where(*_LIVE_COUNTED)


class WebStore(RepositoryBase):
    """The web view's reads."""

    def data_stamp(self) -> tuple:
        """Changes whenever what the pages show can change: a poll finished, a check ran, an
        override was recorded. Three index probes; cached pages are keyed by it."""
        with self.transaction("reading the data stamp") as c:
            return (c.execute(select(func.max(PollRun.id))).scalar(),
                    c.execute(select(CheckState.checked_now)).scalar(),
                    c.execute(select(func.max(CaseOverride.id))).scalar())

    def cases_due_between(self, start: datetime, end: datetime, unit_id: str | None = None,
                          limit: int = 200) -> list:
        """Pending cases due in [start, end), soonest first (ix_cases_state_due)."""
        q = _cases().where(ResponseCase.state == PENDING, ResponseCase.due_at >= start, ResponseCase.due_at < end)
        if unit_id is not None:
            q = q.where(ResponseCase.unit_id == unit_id)
        with self.transaction("reading cases due") as c:
            return c.execute(q.order_by(ResponseCase.due_at).limit(limit)).all()

    def cases_overdue_since(self, since: datetime, limit: int = 200) -> list:
        """Cases that turned overdue at or after ``since`` and are still unanswered, newest first
        (the case events' time index)."""
        turned = (select(CaseEvent.case_id, func.max(CaseEvent.at).label("at"))
                  .where(CaseEvent.state == OVERDUE, CaseEvent.at >= since).group_by(CaseEvent.case_id).subquery())
        q = (_cases().add_columns(turned.c.at.label("overdue_at")).join(turned, turned.c.case_id == ResponseCase.id)
             .where(ResponseCase.state == OVERDUE).order_by(turned.c.at.desc()).limit(limit))
        with self.transaction("reading newly overdue cases") as c:
            return c.execute(q).all()

    def overdue_by_unit(self) -> list:
        """(unit_id, count, oldest due_at) of the unanswered overdue cases, per unit."""
        with self.transaction("reading overdue cases") as c:
            return c.execute(select(ResponseCase.unit_id, func.count(), func.min(ResponseCase.due_at))
                             .join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
                             .where(ResponseCase.state == OVERDUE, *_LIVE_COUNTED)
                             .group_by(ResponseCase.unit_id)).all()

    def oldest_overdue(self, unit_id: str | None) -> object | None:
        """The unit's overdue case that has waited longest (ix_cases_unit_state)."""
        q = _cases().where(ResponseCase.state == OVERDUE,
                           ResponseCase.unit_id.is_(None) if unit_id is None else ResponseCase.unit_id == unit_id)
        with self.transaction("reading the oldest overdue case") as c:
            return c.execute(q.order_by(ResponseCase.due_at).limit(1)).first()

    def unit_cases(self, unit_id: str, states: tuple[str, ...], limit: int = 200,
                   newest_first: bool = False) -> tuple[list, int]:
        """The unit's cases in ``states`` (the (unit_id, state) index): up to ``limit`` rows, by due
        time (``newest_first``: latest state change first), and how many there are in all (each
        row also carries ``overdue_total``: how many of them all are overdue).

        One read: the ordering sorts every matching case anyway, so the count comes beside each
        row as a window count (column ``total``), not from a second query over the same cases
        (that halved this on PostgreSQL, where each is a scan of the cases)."""
        where = (ResponseCase.unit_id == unit_id, ResponseCase.state.in_(states))
        order = ResponseCase.state_changed_at.desc() if newest_first else ResponseCase.due_at
        q = (_cases().add_columns(func.count().over().label("total"),
                                  func.count().filter(ResponseCase.state == OVERDUE).over().label("overdue_total"))
             .where(*where).order_by(order).limit(limit))
        with self.transaction("reading a unit's cases") as c:
            rows = c.execute(q).all()
        return rows, rows[0].total if rows else 0

    def unit_cases_posted_since(self, unit_id: str, since: datetime) -> list:
        """(posted_at, state) of the unit's cases whose thread was posted since ``since``: its
        figures by month."""
        with self.transaction("reading a unit's figures") as c:
            return c.execute(select(ThreadRecord.posted_at, ResponseCase.state)
                             .join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
                             .where(ResponseCase.unit_id == unit_id, ThreadRecord.posted_at >= since,
                                    *_LIVE_COUNTED)).all()

    def unit_account_posts(self, unit_id: str) -> list:
        """(forum_id, author_uid, author, posts, last posted_at) of the posts tagged with the unit."""
        with self.transaction("reading a unit's posts") as c:
            return c.execute(select(PostRecord.forum_id, PostRecord.author_uid, PostRecord.author, func.count(),
                                    func.max(PostRecord.posted_at))
                             .where(PostRecord.unit_id == unit_id, PostRecord.deleted_at.is_(None))
                             .group_by(PostRecord.forum_id, PostRecord.author_uid, PostRecord.author)).all()
