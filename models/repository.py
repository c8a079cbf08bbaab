"""The repository: every database read and write the service makes, one short transaction each.

Writes are idempotent on the natural keys, so a re-poll, a crash mid-poll or
two replicas polling the same board neither duplicate nor lose a post.
Driver errors come out as :class:`monitor.errors.StorageError`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from models.case_store import CaseStore
from models.tables import (BoardState, ForumRow, PostRecord, PostRevision, ResponseCase,
                           ThreadCount, ThreadRecord)
from monitor.errors import StorageError
from scrapers.records import Post, ThreadRow


# statements of the post-storing hot path, built once (their cache keys are computed once too)
_INSERT_POSTS = insert(PostRecord.__table__)
_DATE_THREAD_BY_OPENER = (
    update(ThreadRecord.__table__)
    .where(ThreadRecord.id == bindparam("thread_id"),
           or_(ThreadRecord.posted_at.is_(None), ThreadRecord.posted_precision > bindparam("precision")))
    .values(posted_at=bindparam("at", type_=ThreadRecord.posted_at.type), posted_precision=bindparam("precision")))


def body_hash(body: str, edit_note: str | None) -> str:
    return hashlib.sha1(f"{body}\x00{edit_note or ''}".encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KnownThread:
    """What the last poll stored about a thread, to decide whether to fetch it."""

    id: int
    replies: int | None
    last_post_at: datetime | None
    last_post_precision: int
    last_poster: str | None
    read_pages: int
    max_floor: int
    needs_read: bool


@dataclass(frozen=True)
class StoreResult:
    new: int = 0
    changed: int = 0
    deleted: int = 0


class Repository(CaseStore):
    """Database access for the poller, the rules check and the reports.

    Forums, threads and posts are here; cases, presence, poll runs and report
    queries in :class:`models.case_store.CaseStore`; sessions in :class:`RepositoryBase`."""

    # ---- forums -----------------------------------------------------------

    def sync_forum(self, forum_id: str, name: str, engine: str, base_url: str) -> None:
        with self.session("saving forum") as s:
            row = s.get(ForumRow, forum_id)
            if row is None:
                s.add(ForumRow(id=forum_id, name=name, engine=engine, base_url=base_url))
            else:
                row.name, row.engine, row.base_url = name, engine, base_url

    def posts_per_page(self, forum_id: str) -> int | None:
        with self.session("reading forum") as s:
            row = s.get(ForumRow, forum_id)
            return row.posts_per_page if row else None

    def set_posts_per_page(self, forum_id: str, ppp: int) -> None:
        with self.session("saving posts per page") as s:
            s.execute(update(ForumRow).where(ForumRow.id == forum_id).values(posts_per_page=ppp))

    def board_walk_complete(self, forum_id: str, fid: int) -> bool:
        with self.session("reading board state") as s:
            state = s.get(BoardState, (forum_id, fid))
            return bool(state and state.walk_complete)

    def set_board_walk(self, forum_id: str, fid: int, complete: bool, at: datetime) -> None:
        """Record that a walk of the board's list started (False) or finished (True)."""
        with self.session("saving board state") as s:
            state = s.get(BoardState, (forum_id, fid))
            if state is None:
                s.add(BoardState(forum_id=forum_id, fid=fid, walk_complete=complete, walked_at=at))
            else:
                state.walk_complete, state.walked_at = complete, at

    # ---- threads ----------------------------------------------------------

    def known_threads(self, forum_id: str, tids: Iterable[int]) -> dict[int, KnownThread]:
        tids = list(tids)
        if not tids:
            return {}
        with self.session("reading threads") as s:
            floors = (select(PostRecord.thread_id, func.max(PostRecord.floor).label("mf"))
                      .where(PostRecord.deleted_at.is_(None)).group_by(PostRecord.thread_id).subquery())
            rows = s.execute(
                select(ThreadRecord.tid, ThreadRecord.id, ThreadRecord.replies, ThreadRecord.last_post_at,
                       ThreadRecord.last_post_precision, ThreadRecord.last_poster, ThreadRecord.read_pages,
                       floors.c.mf, ThreadRecord.read_at, ThreadRecord.changed_at)
                .outerjoin(floors, floors.c.thread_id == ThreadRecord.id)
                .where(ThreadRecord.forum_id == forum_id, ThreadRecord.tid.in_(tids))).all()
        return {r[0]: KnownThread(r[1], r[2], r[3], r[4], r[5], r[6], r[7] or 0,
                                  needs_read=r[8] is None or r[8] < r[9]) for r in rows}

    def upsert_thread_rows(self, forum_id: str, fid: int, rows: Sequence[ThreadRow],
                           seen_at: datetime) -> dict[int, int]:
        """Insert or refresh list rows; return tid → thread id. Counts history kept."""
        out: dict[int, int] = {}
        with self.session("saving thread rows") as s:
            existing = {t.tid: t for t in s.scalars(select(ThreadRecord).where(
                ThreadRecord.forum_id == forum_id, ThreadRecord.tid.in_([r.tid for r in rows])))}
            for row in rows:
                t = existing.get(row.tid)
                if t is None:
                    t = ThreadRecord(forum_id=forum_id, tid=row.tid, first_seen_at=seen_at, read_pages=0,
                                     max_views=0, max_replies=0, counted=False, posted_precision=0,
                                     last_post_precision=0)
                    s.add(t)
                    changed = True
                else:
                    changed = (t.replies, t.views) != (row.replies, row.views) or t.last_poster != row.last_poster
                if changed:
                    t.changed_at = seen_at
                t.fid, t.title, t.url, t.sticky = fid, row.title, row.url, row.sticky
                t.author, t.author_uid = row.author, row.author_uid
                t.category, t.category_id = row.category, row.category_id
                t.replies, t.views, t.last_poster = row.replies, row.views, row.last_poster
                t.max_views = max(t.max_views or 0, row.views or 0)
                t.max_replies = max(t.max_replies or 0, row.replies or 0)
                _keep_precise(t, "posted", row.posted_at, row.posted_precision)
                _keep_precise(t, "last_post", row.last_post_at, row.last_post_precision, newer_wins=True)
                t.last_seen_at = seen_at
                t.deleted_at = None
                s.flush()
                if changed:
                    s.add(ThreadCount(thread_id=t.id, seen_at=seen_at, replies=row.replies, views=row.views))
                out[row.tid] = t.id
        return out

    def fill_thread_meta(self, thread_id: int, title: str | None, category: str | None) -> None:
        """Fill a thread's title and category from its page where the list did not give them."""
        if not title and not category:
            return
        with self.session("saving thread details") as s:
            t = s.get(ThreadRecord, thread_id)
            if title and not t.title:
                t.title = title
            if category and not t.category:
                t.category = category

    def mark_thread_read(self, thread_id: int, pages: int, at: datetime) -> None:
        with self.session("saving thread read") as s:
            s.execute(update(ThreadRecord).where(ThreadRecord.id == thread_id)
                      .values(read_pages=pages, read_at=at))

    def mark_thread_deleted(self, thread_id: int, at: datetime) -> None:
        """The forum says the thread is gone: mark it and its posts, drop nothing."""
        with self.session("marking thread deleted") as s:
            s.execute(update(ThreadRecord).where(ThreadRecord.id == thread_id, ThreadRecord.deleted_at.is_(None))
                      .values(deleted_at=at, changed_at=at))
            s.execute(update(PostRecord).where(PostRecord.thread_id == thread_id, PostRecord.deleted_at.is_(None))
                      .values(deleted_at=at))

    def threads_to_recheck(self, forum_id: str, read_before: datetime) -> list[tuple[int, int]]:
        """(thread id, tid) of threads with open cases not re-read since ``read_before``."""
        with self.session("reading threads to recheck") as s:
            return [tuple(r) for r in s.execute(
                select(ThreadRecord.id, ThreadRecord.tid).join(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                .where(ThreadRecord.forum_id == forum_id, ThreadRecord.deleted_at.is_(None),
                       ResponseCase.state.in_(("pending", "overdue")),
                       or_(ThreadRecord.read_at.is_(None), ThreadRecord.read_at < read_before)))]

    # ---- posts ------------------------------------------------------------

    def store_posts(self, forum_id: str, thread_id: int, posts: Sequence[Post], units: Sequence[str | None],
                    seen_at: datetime, assume_new: bool = False) -> StoreResult:
        """Insert new posts, keep a revision of edited ones; idempotent on (forum, pid).

        ``assume_new`` skips looking for stored copies (a thread never stored before); if
        some exist after all, the unique key refuses the insert and
        :meth:`store_posts_idempotent` stores again the careful way."""
        if not posts:
            return StoreResult()
        new = changed = 0
        with self.transaction("saving posts") as s:
            existing = {} if assume_new else {r.pid: r for r in s.execute(
                select(PostRecord.id, PostRecord.pid, PostRecord.body_hash, PostRecord.posted_at,
                       PostRecord.posted_precision, PostRecord.deleted_at, PostRecord.unit_id)
                .where(PostRecord.forum_id == forum_id, PostRecord.pid.in_([p.pid for p in posts])))}
            fresh = []
            for post, unit in zip(posts, units):
                digest = body_hash(post.body, post.edit_note)
                old = existing.get(post.pid)
                if old is None:
                    fresh.append(dict(thread_id=thread_id, forum_id=forum_id, pid=post.pid, floor=post.floor,
                                      author=post.author, author_uid=post.author_uid, unit_id=unit,
                                      posted_at=post.posted_at, posted_precision=post.posted_precision,
                                      body=post.body, body_hash=digest, edit_note=post.edit_note,
                                      first_seen_at=seen_at, last_seen_at=seen_at))
                    continue
                values: dict = {"last_seen_at": seen_at}
                if old.deleted_at is not None or old.unit_id != unit:
                    values.update(deleted_at=None, unit_id=unit)
                if old.body_hash != digest:  # an edit: keep the earlier text
                    prev = s.execute(select(PostRecord.body, PostRecord.edit_note).where(PostRecord.id == old.id)).one()
                    s.execute(insert(PostRevision.__table__).values(post_id=old.id, body=prev.body,
                                                                    edit_note=prev.edit_note, replaced_at=seen_at))
                    values.update(body=post.body, edit_note=post.edit_note, body_hash=digest)
                    changed += 1
                if post.posted_at and (old.posted_at is None or post.posted_precision < old.posted_precision):
                    values.update(posted_at=post.posted_at, posted_precision=post.posted_precision)
                s.execute(update(PostRecord.__table__).where(PostRecord.id == old.id).values(**values))
            if fresh:  # Core executemany: no ORM unit of work on the hot path
                s.execute(_INSERT_POSTS, fresh)
                new = len(fresh)
            opener = next((p for p in posts if p.floor == 1 and p.posted_at is not None), None)
            if opener is not None:  # the opening post dates the thread more precisely than the list
                s.execute(_DATE_THREAD_BY_OPENER, {"thread_id": thread_id, "at": opener.posted_at,
                                                   "precision": opener.posted_precision})
        return StoreResult(new=new, changed=changed)

    def store_posts_idempotent(self, forum_id: str, thread_id: int, posts: Sequence[Post],
                               units: Sequence[str | None], seen_at: datetime,
                               assume_new: bool = False) -> StoreResult:
        """store_posts, retried the careful way when another poller (or an earlier,
        interrupted poll) stored the same pids first."""
        try:
            return self.store_posts(forum_id, thread_id, posts, units, seen_at, assume_new)
        except StorageError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            return self.store_posts(forum_id, thread_id, posts, units, seen_at)

    def mark_missing_posts_deleted(self, thread_id: int, seen_pids: set[int], at: datetime) -> int:
        """After a full re-read: posts of the thread not seen any more are marked deleted."""
        with self.session("marking posts deleted") as s:
            ids = [i for i, pid in s.execute(select(PostRecord.id, PostRecord.pid).where(
                PostRecord.thread_id == thread_id, PostRecord.deleted_at.is_(None))) if pid not in seen_pids]
            if ids:
                s.execute(update(PostRecord).where(PostRecord.id.in_(ids)).values(deleted_at=at))
                s.execute(update(ThreadRecord).where(ThreadRecord.id == thread_id).values(changed_at=at))
            return len(ids)

def _keep_precise(t: ThreadRecord, name: str, at: datetime | None, precision: int, newer_wins: bool = False) -> None:
    """Keep the most precise reading of a time (a newer last post always wins)."""
    old_at, old_prec = getattr(t, f"{name}_at"), getattr(t, f"{name}_precision")
    if at is None:
        return
    moved = newer_wins and old_at is not None and at - old_at > timedelta(seconds=precision + (old_prec or 0))
    if old_at is None or moved or precision < (old_prec or 0):
        setattr(t, f"{name}_at", at)
        setattr(t, f"{name}_precision", precision)
