"""Response cases, spokesperson presence, poll runs and the queries behind the reports."""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, or_, select, update

from models.repo_base import RepositoryBase
from models.tables import AccountPresence, CaseEvent, PollRun, PostRecord, ResponseCase, ThreadRecord

if TYPE_CHECKING:
    from models.repository import StoreResult


class CaseStore(RepositoryBase):
    """The rules check's and the reports' side of the database."""

    # ---- spokesperson presence ---------------------------------------------

    def presence_checked(self, forum_id: str) -> dict[int, datetime]:
        """uid → when its profile was last checked, for one forum."""
        with self.session("reading presence") as s:
            return dict(s.execute(select(AccountPresence.uid, AccountPresence.checked_at)
                                  .where(AccountPresence.forum_id == forum_id)).all())

    def save_presence(self, forum_id: str, uid: int, unit_id: str | None, checked_at: datetime, *,
                      username: str | None = None, last_visit: datetime | None = None,
                      last_activity: datetime | None = None, last_post: datetime | None = None,
                      note: str | None = None) -> None:
        """Record a profile check; a check that learned nothing keeps the earlier times."""
        with self.session("saving presence") as s:
            row = s.get(AccountPresence, (forum_id, uid))
            if row is None:
                row = AccountPresence(forum_id=forum_id, uid=uid)
                s.add(row)
            row.unit_id, row.checked_at, row.note = unit_id, checked_at, note
            row.username = username or row.username
            row.last_visit_at = last_visit or row.last_visit_at
            row.last_activity_at = last_activity or row.last_activity_at
            row.last_post_at = last_post or row.last_post_at

    def presence(self) -> list[AccountPresence]:
        with self.session("reading presence") as s:
            return list(s.scalars(select(AccountPresence)))

    def spokesperson_posts(self, start: datetime, end: datetime) -> list[tuple[str, int | None, str | None, int, datetime | None]]:
        """(forum, uid, author, posts in [start, end), newest post ever seen) per spokesperson author."""
        in_period = func.sum(case((and_(PostRecord.posted_at >= start, PostRecord.posted_at < end), 1), else_=0))
        with self.session("reading spokesperson posts") as s:
            return [tuple(r) for r in s.execute(
                select(PostRecord.forum_id, PostRecord.author_uid, PostRecord.author, in_period,
                       func.max(PostRecord.posted_at))
                .where(PostRecord.unit_id.is_not(None), PostRecord.deleted_at.is_(None))
                .group_by(PostRecord.forum_id, PostRecord.author_uid, PostRecord.author))]

    # ---- poll runs --------------------------------------------------------

    def record_poll_run(self, forum_id: str, started_at: datetime, finished_at: datetime, status: str,
                        error: str | None, requests: int, threads_fetched: int, store: StoreResult,
                        warnings: list[str]) -> int:
        with self.session("recording poll run") as s:
            run = PollRun(forum_id=forum_id, started_at=started_at, finished_at=finished_at, status=status,
                          error=error, requests=requests, threads_fetched=threads_fetched,
                          posts_new=store.new, posts_changed=store.changed, posts_deleted=store.deleted,
                          warnings=json.dumps(warnings[:200], ensure_ascii=False) if warnings else None,
                          duration_s=(finished_at - started_at).total_seconds())
            s.add(run)
            s.flush()
            return run.id

    def last_poll_runs(self) -> list[PollRun]:
        """The newest poll run of each forum."""
        with self.session("reading poll runs") as s:
            newest = select(PollRun.forum_id, func.max(PollRun.id).label("id")).group_by(PollRun.forum_id).subquery()
            return list(s.scalars(select(PollRun).join(newest, newest.c.id == PollRun.id).order_by(PollRun.forum_id)))

    # ---- cases ------------------------------------------------------------

    def threads_for_check(self) -> list[ThreadRecord]:
        """Threads whose assignment or case may have changed since the last check."""
        with self.session("reading threads for check") as s:
            return list(s.scalars(
                select(ThreadRecord).outerjoin(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                .where(or_(ResponseCase.id.is_(None), ResponseCase.state.in_(("pending", "overdue")),
                           ThreadRecord.changed_at > ResponseCase.checked_at))))

    def thread_posts(self, thread_ids: Sequence[int]) -> dict[int, list]:
        """Live posts of the given threads in floor order: who, when, for which unit (no bodies)."""
        out: dict[int, list] = {i: [] for i in thread_ids}
        columns = (PostRecord.id, PostRecord.thread_id, PostRecord.pid, PostRecord.floor, PostRecord.author,
                   PostRecord.author_uid, PostRecord.unit_id, PostRecord.posted_at)
        with self.session("reading posts") as s:
            for chunk in _chunks(list(thread_ids), 500):
                for p in s.execute(select(*columns).where(PostRecord.thread_id.in_(chunk),
                                                          PostRecord.deleted_at.is_(None))
                                   .order_by(PostRecord.thread_id, PostRecord.floor, PostRecord.pid)):
                    out[p.thread_id].append(p)
        return out

    def save_assignment(self, thread_id: int, unit_id: str | None, assigned_by: str | None, counted: bool,
                        proactive_unit_id: str | None) -> None:
        with self.session("saving assignment") as s:
            s.execute(update(ThreadRecord).where(ThreadRecord.id == thread_id).values(
                unit_id=unit_id, assigned_by=assigned_by, counted=counted, proactive_unit_id=proactive_unit_id))

    def save_case(self, thread_id: int, unit_id: str | None, state: str, hot: bool, due_at: datetime,
                  due_estimated: bool, answered_at: datetime | None, answer_post_id: int | None,
                  state_at: datetime, now: datetime) -> str | None:
        """Create or update a thread's case; record an event when its state changes.

        Returns the previous state when it changed (None for a new case or no change)."""
        with self.session("saving response case") as s:
            case = s.scalars(select(ResponseCase).where(ResponseCase.thread_id == thread_id)).first()
            previous = None
            if case is None:
                case = ResponseCase(thread_id=thread_id, opened_at=now, state=state, state_changed_at=state_at)
                s.add(case)
                changed = True
            else:
                changed = case.state != state
                previous = case.state if changed else None
                if changed:
                    case.state, case.state_changed_at = state, state_at
            case.unit_id, case.hot, case.due_at, case.due_estimated = unit_id, hot, due_at, due_estimated
            case.answered_at, case.answer_post_id, case.checked_at = answered_at, answer_post_id, now
            s.flush()
            if changed:
                s.add(CaseEvent(case_id=case.id, state=state, at=state_at, recorded_at=now))
            return previous

    def drop_case(self, thread_id: int, now: datetime) -> None:
        """A thread that no longer counts (deleted, unassigned) closes its case as 'void'."""
        with self.session("voiding response case") as s:
            case = s.scalars(select(ResponseCase).where(ResponseCase.thread_id == thread_id)).first()
            if case is not None and case.state != "void":
                case.state, case.state_changed_at, case.checked_at = "void", now, now
                s.add(CaseEvent(case_id=case.id, state="void", at=now, recorded_at=now))
            elif case is not None:
                case.checked_at = now

    # ---- reports ----------------------------------------------------------

    def report_threads(self, posted_from: datetime, posted_to: datetime) -> list[ThreadRecord]:
        """Live threads posted in [from, to) that count or are proactive items."""
        with self.session("reading threads for report") as s:
            return list(s.scalars(select(ThreadRecord).where(
                ThreadRecord.posted_at >= posted_from, ThreadRecord.posted_at < posted_to,
                ThreadRecord.deleted_at.is_(None),
                or_(ThreadRecord.counted.is_(True), ThreadRecord.proactive_unit_id.is_not(None)))
                .order_by(ThreadRecord.posted_at, ThreadRecord.id)))

    def cases_open_at(self, at: datetime) -> list[tuple[ResponseCase, ThreadRecord]]:
        """Cases of threads posted by ``at`` that had no answer yet at ``at``, oldest first."""
        with self.session("reading cases") as s:
            return [tuple(r) for r in s.execute(
                select(ResponseCase, ThreadRecord).join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
                .where(ThreadRecord.posted_at <= at,
                       or_(ResponseCase.state.in_(("pending", "overdue")),
                           and_(ResponseCase.state.in_(("answered_in_time", "answered_late")),
                                ResponseCase.answered_at > at)))
                .order_by(ThreadRecord.posted_at, ThreadRecord.id))]

    def case_events_between(self, start: datetime, end: datetime) -> list[tuple[CaseEvent, ResponseCase, ThreadRecord]]:
        with self.session("reading case events") as s:
            return [tuple(r) for r in s.execute(
                select(CaseEvent, ResponseCase, ThreadRecord)
                .join(ResponseCase, ResponseCase.id == CaseEvent.case_id)
                .join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
                .where(and_(CaseEvent.at >= start, CaseEvent.at < end)).order_by(CaseEvent.at))]

    def unit_posts_between(self, start: datetime, end: datetime) -> dict[str, int]:
        """Posts per unit in [start, end): tells which spokespersons were active."""
        with self.session("reading unit activity") as s:
            return dict(s.execute(select(PostRecord.unit_id, func.count()).where(
                PostRecord.unit_id.is_not(None), PostRecord.posted_at >= start, PostRecord.posted_at < end)
                .group_by(PostRecord.unit_id)).all())

    def case_states(self) -> dict[str, int]:
        with self.session("counting cases") as s:
            return dict(s.execute(select(ResponseCase.state, func.count()).group_by(ResponseCase.state)).all())

    def counts(self) -> dict[str, int]:
        with self.session("counting rows") as s:
            return {"threads": s.scalar(select(func.count()).select_from(ThreadRecord)),
                    "posts": s.scalar(select(func.count()).select_from(PostRecord)),
                    "cases": s.scalar(select(func.count()).select_from(ResponseCase))}


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
