"""What the immediate alerts read and write (see :mod:`monitor.alerts`).

The alerts look only at what came in since their last look, found by primary key: a new
thread is a ``threads`` row past the threads cursor, a change of views or replies is a
``thread_counts`` row past the counts cursor. Ids only grow, so each look is a range scan of a
primary key, whatever the size of the history. The cursors live in ``once_marks`` (job
``alert-cursor``, keys ``threads`` and ``counts``, the id in ``detail``) where every node sees
them; no table of their own, so no migration.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import case, delete, false, func, or_, select

from models.case_store import upsert
from models.repo_base import RepositoryBase
from models.tables import OnceMark, PostRecord, ResponseCase, ThreadCount, ThreadRecord

CURSOR_JOB = "alert-cursor"
_CHUNK = 500

_CANDIDATE_COLUMNS = (
    ThreadRecord.id, ThreadRecord.forum_id, ThreadRecord.tid, ThreadRecord.fid, ThreadRecord.title,
    ThreadRecord.url, ThreadRecord.posted_at, ThreadRecord.first_seen_at, ThreadRecord.views,
    ThreadRecord.replies, ThreadRecord.max_views, ThreadRecord.max_replies, ThreadRecord.counted,
    ThreadRecord.deleted_at, ThreadRecord.version, ThreadRecord.checked_version,
    ResponseCase.id.label("case_id"), ResponseCase.unit_id.label("case_unit_id"),
    ResponseCase.state.label("case_state"), ResponseCase.hot.label("case_hot"),
    ResponseCase.due_at.label("case_due_at"), ResponseCase.due_estimated.label("case_due_estimated"))


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def hot_sample(min_views: int | None, min_replies: int | None):
    """SQL: a ``thread_counts`` row at or past the hot thresholds (None: no thresholds)."""
    parts = []
    if min_views:
        parts.append(ThreadCount.views >= min_views)
    if min_replies:
        parts.append(ThreadCount.replies >= min_replies)
    return or_(*parts) if parts else None


class AlertStore(RepositoryBase):
    """The alerts' reads (new threads, count changes, candidates) and their cursors."""

    # ---- cursors -------------------------------------------------------------

    def cursors(self) -> dict[str, int]:
        """The saved cursors by name (``threads``, ``counts``); none before the first look."""
        with self.transaction("reading the alert cursors") as c:
            rows = c.execute(select(OnceMark.key, OnceMark.detail).where(OnceMark.job == CURSOR_JOB)).all()
        return {k: int(v) for k, v in rows if v is not None and v.isdigit()}

    def save_cursors(self, values: dict[str, int], node: str, now: datetime) -> None:
        with self.transaction("saving the alert cursors") as c:
            for name, value in values.items():
                upsert(c, OnceMark.__table__, ["job", "key"],
                       dict(job=CURSOR_JOB, key=name, node=node, at=now, status="done", detail=str(value)))

    def drop_cursors(self, names: Iterable[str]) -> None:
        """Forget cursors (alerts of that kind turned off): turned on again, they start as new."""
        names = list(names)
        if names:
            with self.transaction("dropping alert cursors") as c:
                c.execute(delete(OnceMark.__table__).where(OnceMark.job == CURSOR_JOB, OnceMark.key.in_(names)))

    def last_id_before(self, name: str, before: datetime) -> int:
        """The greatest id stamped before ``before`` (0 if none): where a first look starts. The
        newest rows are read backwards by primary key until one older than ``before``."""
        table, stamp = ((ThreadRecord, ThreadRecord.first_seen_at) if name == "threads"
                        else (ThreadCount, ThreadCount.seen_at))
        with self.transaction(f"finding where the alerts start ({name})") as c:
            return c.scalar(select(table.id).where(stamp < before).order_by(table.id.desc()).limit(1)) or 0

    # ---- what came in ------------------------------------------------------------

    def new_threads(self, after: int) -> list:
        """Threads first seen past the cursor: (id, first_seen_at)."""
        with self.transaction("reading new threads") as c:
            return c.execute(select(ThreadRecord.id, ThreadRecord.first_seen_at)
                             .where(ThreadRecord.id > after).order_by(ThreadRecord.id)).all()

    def count_changes(self, after: int, min_views: int | None, min_replies: int | None) -> list:
        """Changes of views or replies past the cursor: (id, thread_id, seen_at, hot), where ``hot``
        says the row is at or past the hot thresholds."""
        sample = hot_sample(min_views, min_replies)
        hot = case((sample, True), else_=False) if sample is not None else false()
        with self.transaction("reading count changes") as c:
            return c.execute(select(ThreadCount.id, ThreadCount.thread_id, ThreadCount.seen_at, hot.label("hot"))
                             .where(ThreadCount.id > after).order_by(ThreadCount.id)).all()

    # ---- the candidates ---------------------------------------------------------

    def candidates(self, thread_ids: Iterable[int]) -> list:
        """The threads with their cases (``case_*``, None without one), in one statement per chunk."""
        ids = sorted(set(thread_ids))
        out = []
        with self.transaction("reading alert candidates") as c:
            for chunk in _chunks(ids):
                out += c.execute(select(*_CANDIDATE_COLUMNS)
                                 .outerjoin(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                                 .where(ThreadRecord.id.in_(chunk)).order_by(ThreadRecord.id)).all()
        return out

    def first_samples(self, thread_ids: Iterable[int], min_views: int | None,
                      min_replies: int | None) -> dict[int, tuple[int, int | None]]:
        """Per thread: the id of its first counts row and of its first hot one (None: never hot)."""
        ids = sorted(set(thread_ids))
        sample = hot_sample(min_views, min_replies)
        if not ids or sample is None:
            return {}
        first_hot = func.min(case((sample, ThreadCount.id), else_=None))
        out = {}
        with self.transaction("reading when threads turned hot") as c:
            for chunk in _chunks(ids):
                out.update({t: (first, hot) for t, first, hot in c.execute(
                    select(ThreadCount.thread_id, func.min(ThreadCount.id), first_hot)
                    .where(ThreadCount.thread_id.in_(chunk)).group_by(ThreadCount.thread_id))})
        return out

    def opening_posts(self, thread_ids: Iterable[int]) -> dict[int, str]:
        """The opening post's text of each thread that has one stored (floor 1, else its first post)."""
        out: dict[int, str] = {}
        with self.transaction("reading opening posts") as c:
            for thread_id in sorted(set(thread_ids)):
                body = c.scalar(select(PostRecord.body)
                                .where(PostRecord.thread_id == thread_id, PostRecord.deleted_at.is_(None))
                                .order_by(PostRecord.floor.is_(None), PostRecord.floor, PostRecord.pid).limit(1))
                if body is not None:
                    out[thread_id] = body
        return out

    def marked(self, job: str, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` already have a once-mark of ``job``."""
        keys = sorted(set(keys))
        out: set[str] = set()
        if not keys:
            return out
        with self.transaction(f"reading {job} marks") as c:
            for chunk in _chunks(keys):
                out.update(c.scalars(select(OnceMark.key).where(OnceMark.job == job, OnceMark.key.in_(chunk))))
        return out
