"""Corrections by the office (``spokeswatch case assign|exclude|include``) and a thread's whole record
(``spokeswatch case show``).

An override is a row of ``case_overrides``; none is ever changed or dropped. The effective
correction of a thread is the latest ``assign`` (its unit) and the latest of ``exclude`` /
``include`` (whether the thread counts); the rules check reads them for each batch of threads
in one query (:meth:`OverrideStore.thread_overrides_in`) and applies them before its own rules.
Recording one bumps the thread's ``version`` in the same transaction, so the next incremental
check evaluates the thread again.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, func, insert, select, update

from models.repo_base import RepositoryBase
from models.tables import (CaseEvent, CaseOverride, ForumRow, PostRecord, PostRevision, ResponseCase,
                           ThreadRecord)

ACTIONS = ("assign", "exclude", "include")


@dataclass(frozen=True)
class EffectiveOverride:
    """What the office's overrides of one thread decide: a unit (``assigned``: an assign override
    exists, its unit is ``unit_id``) and whether it counts (None: the rules decide)."""

    assigned: bool = False
    unit_id: str | None = None
    counted: bool | None = None


def effective_override(actions: Iterable[tuple[str, str | None]]) -> EffectiveOverride | None:
    """The effective override of (action, unit_id) pairs given oldest first; None without any."""
    assigned, unit_id, counted, seen = False, None, None, False
    for action, unit in actions:
        seen = True
        if action == "assign":
            assigned, unit_id = True, unit
        elif action in ("exclude", "include"):
            counted = action == "include"
    return EffectiveOverride(assigned, unit_id, counted) if seen else None


class OverrideStore(RepositoryBase):
    """The office's overrides, and the reads behind ``case show``."""

    # ---- overrides ----------------------------------------------------------

    def stored_thread(self, forum_id: str, tid: int) -> Row | None:
        """The stored thread (forum, tid): id, title, url, fid; None when it was never stored."""
        with self.transaction("reading thread") as c:
            return c.execute(select(ThreadRecord.id, ThreadRecord.forum_id, ThreadRecord.tid, ThreadRecord.fid,
                                    ThreadRecord.title, ThreadRecord.url)
                             .where(ThreadRecord.forum_id == forum_id, ThreadRecord.tid == tid)).first()

    def record_override(self, thread_id: int, action: str, reason: str, by_user: str, at: datetime,
                        unit_id: str | None = None) -> int:
        """Keep one override and bump the thread's version (one transaction): the next check
        re-evaluates the thread. Returns the override's id."""
        if action not in ACTIONS:
            raise ValueError(f"unknown override action {action!r}")
        if (action == "assign") != (unit_id is not None):
            raise ValueError("an assign override names a unit, and only an assign does")
        with self.transaction("recording override") as c:
            thread = c.execute(select(ThreadRecord.forum_id, ThreadRecord.tid)
                               .where(ThreadRecord.id == thread_id)).one()
            c.execute(update(ThreadRecord.__table__).where(ThreadRecord.id == thread_id)
                      .values(version=ThreadRecord.version + 1))
            return c.execute(insert(CaseOverride.__table__).values(
                thread_id=thread_id, forum_id=thread.forum_id, tid=thread.tid, action=action, unit_id=unit_id,
                reason=reason, by_user=by_user, at=at).returning(CaseOverride.id)).scalar_one()

    def thread_overrides(self, thread_ids: Sequence[int]) -> dict[int, EffectiveOverride]:
        """thread id → its effective override, for the threads that have one."""
        with self.transaction("reading overrides") as c:
            return self.thread_overrides_in(c, thread_ids)

    @staticmethod
    def thread_overrides_in(c: Connection, thread_ids: Sequence[int]) -> dict[int, EffectiveOverride]:
        """:meth:`thread_overrides` on the check's connection: one indexed query for a batch."""
        if not thread_ids:
            return {}
        by_thread: dict[int, list[tuple[str, str | None]]] = {}
        for thread_id, action, unit_id in c.execute(
                select(CaseOverride.thread_id, CaseOverride.action, CaseOverride.unit_id)
                .where(CaseOverride.thread_id.in_(list(thread_ids)))
                .order_by(CaseOverride.thread_id, CaseOverride.id)):
            by_thread.setdefault(thread_id, []).append((action, unit_id))
        return {t: effective_override(actions) for t, actions in by_thread.items()}

    def overrides_of(self, thread_id: int) -> list[Row]:
        """Every override of one thread, oldest first."""
        with self.transaction("reading overrides") as c:
            return c.execute(select(*_OVERRIDE_COLUMNS).where(CaseOverride.thread_id == thread_id)
                             .order_by(CaseOverride.id)).all()

    def overrides_between(self, start: datetime, end: datetime) -> list[Row]:
        """Overrides recorded for threads posted in [start, end), in the order they were recorded:
        forum_id, tid, title, url, action, unit_id, reason, by_user, at (the bulletin's notes)."""
        with self.transaction("reading overrides") as c:
            return c.execute(select(*_OVERRIDE_COLUMNS, ThreadRecord.title, ThreadRecord.url)
                             .join(ThreadRecord, ThreadRecord.id == CaseOverride.thread_id)
                             .where(ThreadRecord.posted_at >= start, ThreadRecord.posted_at < end)
                             .order_by(CaseOverride.at, CaseOverride.id)).all()

    def case_snapshot(self, thread_id: int) -> Row:
        """A thread's assignment and case as the last check left them (what ``case assign`` compares)."""
        with self.transaction("reading case") as c:
            return c.execute(select(ThreadRecord.unit_id, ThreadRecord.assigned_by, ThreadRecord.counted,
                                    ThreadRecord.proactive_unit_id, ThreadRecord.version,
                                    ThreadRecord.checked_version, ResponseCase.state.label("case_state"),
                                    ResponseCase.unit_id.label("case_unit_id"),
                                    ResponseCase.due_at.label("case_due_at"))
                             .outerjoin(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                             .where(ThreadRecord.id == thread_id)).one()

    # ---- a thread's record (case show) ------------------------------------------

    def thread_record(self, forum_id: str, tid: int) -> dict | None:
        """Everything stored about one thread, in one transaction: ``thread`` (the row), ``forum_name``,
        ``posts`` (every post, deleted ones too, floor order, with bodies and ``revisions``: earlier
        versions kept), ``case`` (or None), ``events`` and ``overrides`` (oldest first). None when
        the thread was never stored."""
        with self.transaction("reading thread") as c:
            thread = c.execute(select(ThreadRecord).where(ThreadRecord.forum_id == forum_id,
                                                          ThreadRecord.tid == tid)).first()
            if thread is None:
                return None
            revisions = (select(func.count()).where(PostRevision.post_id == PostRecord.id)
                         .correlate(PostRecord).scalar_subquery())
            posts = c.execute(select(PostRecord.id, PostRecord.pid, PostRecord.floor, PostRecord.author,
                                     PostRecord.author_uid, PostRecord.unit_id, PostRecord.posted_at,
                                     PostRecord.body, PostRecord.edit_note, PostRecord.deleted_at,
                                     PostRecord.first_seen_at, revisions.label("revisions"))
                              .where(PostRecord.thread_id == thread.id)
                              .order_by(PostRecord.floor, PostRecord.pid)).all()
            case = c.execute(select(ResponseCase).where(ResponseCase.thread_id == thread.id)).first()
            events = c.execute(select(CaseEvent.state, CaseEvent.at, CaseEvent.recorded_at)
                               .where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all() if case else []
            overrides = c.execute(select(*_OVERRIDE_COLUMNS).where(CaseOverride.thread_id == thread.id)
                                  .order_by(CaseOverride.id)).all()
            forum_name = c.execute(select(ForumRow.name).where(ForumRow.id == forum_id)).scalar()
        return {"thread": thread, "forum_name": forum_name, "posts": posts, "case": case, "events": events,
                "overrides": overrides}


_OVERRIDE_COLUMNS = (CaseOverride.id, CaseOverride.thread_id, CaseOverride.forum_id, CaseOverride.tid,
                     CaseOverride.action, CaseOverride.unit_id, CaseOverride.reason, CaseOverride.by_user,
                     CaseOverride.at)
