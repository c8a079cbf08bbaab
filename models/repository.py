"""The repository: every database read and write the service makes, one short transaction each.

Writes are idempotent on the natural keys, so a re-poll, a crash mid-poll or
two replicas polling the same board neither duplicate nor lose a post.
Driver errors come out as :class:`monitor.errors.StorageError`.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models.tables import (AccountPresence, BoardState, CaseEvent, ForumRow, PollRun, PostRecord, PostRevision, ResponseCase,
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


class Repository:
    """Database access for the poller, the rules check and the reports."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self, what: str) -> Iterator[Session]:
        """One ORM transaction; driver errors become StorageError naming ``what``."""
        with _storage_errors(what), self._sessions.begin() as s:
            yield s

    @contextmanager
    def transaction(self, what: str) -> Iterator[Connection]:
        """One Core transaction, for hot paths that need no ORM unit of work."""
        with _storage_errors(what), self.engine.begin() as conn:
            yield conn

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

    def thread_posts(self, thread_ids: Sequence[int]) -> dict[int, list[PostRecord]]:
        """Live posts of the given threads, in floor order."""
        out: dict[int, list[PostRecord]] = {i: [] for i in thread_ids}
        with self.session("reading posts") as s:
            for chunk in _chunks(list(thread_ids), 500):
                for p in s.scalars(select(PostRecord).where(PostRecord.thread_id.in_(chunk),
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


@contextmanager
def _storage_errors(what: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"{what} failed: {exc.__class__.__name__}: {exc}".splitlines()[0]) from exc


def _keep_precise(t: ThreadRecord, name: str, at: datetime | None, precision: int, newer_wins: bool = False) -> None:
    """Keep the most precise reading of a time (a newer last post always wins)."""
    old_at, old_prec = getattr(t, f"{name}_at"), getattr(t, f"{name}_precision")
    if at is None:
        return
    moved = newer_wins and old_at is not None and at - old_at > timedelta(seconds=precision + (old_prec or 0))
    if old_at is None or moved or precision < (old_prec or 0):
        setattr(t, f"{name}_at", at)
        setattr(t, f"{name}_precision", precision)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
