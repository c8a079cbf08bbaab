"""What the nightly digest reads beyond the case rows of :mod:`models.case_store`."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from models.repo_base import RepositoryBase
from models.tables import PostRecord, ResponseCase, ThreadCount

_OPENING_CHARS = 400  # enough for a one-line excerpt; a long opening post is not read whole
_CHUNK = 500


@dataclass(frozen=True)
class DigestDetail:
    """What a digest item shows beyond its case row."""

    answered_at: datetime | None  # the case's answer (None: none yet)
    opening: str | None  # the start of the opening post (None: no post of the thread stored)
    views: int | None  # the most views and replies seen by ``at`` (None: the thread not seen by then)
    replies: int | None


class DigestStore(RepositoryBase):
    """The digest's side of the database."""

    def digest_details(self, thread_ids: Sequence[int], at: datetime) -> dict[int, DigestDetail]:
        """thread id → its :class:`DigestDetail`, for threads with a case: the opening post is the
        live post of the lowest floor (else of the lowest pid); views and replies are those the
        polls had seen by ``at`` (the ``thread_counts`` history), so a digest of a past day shows
        that day's figures."""
        opening = (select(func.substr(PostRecord.body, 1, _OPENING_CHARS))
                   .where(PostRecord.thread_id == ResponseCase.thread_id, PostRecord.deleted_at.is_(None))
                   .order_by(PostRecord.floor.is_(None), PostRecord.floor, PostRecord.pid).limit(1)
                   .correlate(ResponseCase).scalar_subquery())
        ids = sorted(set(thread_ids))
        cases, counts = {}, {}
        with self.transaction("reading digest details") as c:
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i:i + _CHUNK]
                cases.update((r.thread_id, r) for r in c.execute(
                    select(ResponseCase.thread_id, ResponseCase.answered_at, opening.label("opening"))
                    .where(ResponseCase.thread_id.in_(chunk))))
                counts.update((r.thread_id, r) for r in c.execute(
                    select(ThreadCount.thread_id, func.max(ThreadCount.views).label("views"),
                           func.max(ThreadCount.replies).label("replies"))
                    .where(ThreadCount.thread_id.in_(chunk), ThreadCount.seen_at <= at)
                    .group_by(ThreadCount.thread_id)))
        return {t: DigestDetail(r.answered_at, r.opening, counts[t].views if t in counts else None,
                                counts[t].replies if t in counts else None) for t, r in cases.items()}
