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

from sqlalchemy import Boolean, Connection, Integer, Text, and_, bindparam, case, func, insert, or_, select, update

from models.case_store import CaseStore, insert_ignoring_duplicates, upsert
from models.digest_store import DigestStore
from models.override_store import OverrideStore
from models.search_store import SearchStore
from models.web_store import WebStore
from models.tables import (BoardState, ForumRow, PostRecord, PostRevision, ResponseCase,
                           ThreadCount, ThreadRecord)
from monitor.errors import StorageError
from scrapers.records import Post, ThreadRow, user_id


# statements of the post-storing hot path, built once (their cache keys are computed once too)
_THREADS = ThreadRecord.__table__
_POSTS = PostRecord.__table__
# typed bind parameters: psycopg's dialect sends each with its type, so a NULL reads fine
_OPENER_AT = bindparam("opener_at", type_=ThreadRecord.posted_at.type)
_OPENER_PRECISION = bindparam("opener_precision", type_=Integer())
_DATES_BY_OPENER = and_(_OPENER_AT.is_not(None), or_(ThreadRecord.posted_at.is_(None),
                                                     ThreadRecord.posted_precision > _OPENER_PRECISION))
_DONE = bindparam("done", type_=Boolean())
_TITLE, _CATEGORY = bindparam("title", type_=Text()), bindparam("category", type_=Text())
# what storing a thread page does to its thread row, in one prebuilt statement: the highest
# floor, title and category where the list gave none, the check's version, the read mark on
# the last page, and the posting time from the opening post
_AFTER_THREAD_PAGE = (
    update(_THREADS).where(ThreadRecord.id == bindparam("thread_id"))
    .values(max_floor=case((ThreadRecord.max_floor < bindparam("top"), bindparam("top")),
                           else_=ThreadRecord.max_floor),
            title=case((and_(_TITLE.is_not(None), or_(ThreadRecord.title.is_(None), ThreadRecord.title == "")),
                        _TITLE), else_=ThreadRecord.title),
            category=func.coalesce(ThreadRecord.category, _CATEGORY),
            version=ThreadRecord.version + bindparam("bump"),
            read_pages=case((_DONE, bindparam("read_pages", type_=Integer())), else_=ThreadRecord.read_pages),
            read_at=case((_DONE, bindparam("read_at", type_=ThreadRecord.read_at.type)), else_=ThreadRecord.read_at),
            read_pending=case((_DONE, False), else_=ThreadRecord.read_pending),
            posted_at=case((_DATES_BY_OPENER, _OPENER_AT), else_=ThreadRecord.posted_at),
            posted_precision=case((_DATES_BY_OPENER, _OPENER_PRECISION), else_=ThreadRecord.posted_precision)))
_BUMP = {"version": ThreadRecord.version + 1}


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
    author: str | None = None


@dataclass(frozen=True)
class StoreResult:
    new: int = 0
    changed: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class ReadDone:
    """A thread read to its last page: pages read, when (our clock), and for a full re-read
    the pids seen on every page (the others are marked deleted)."""

    pages: int
    at: datetime
    seen_pids: frozenset[int] | None = None


class Repository(CaseStore, OverrideStore, DigestStore, WebStore, SearchStore):
    """Database access for the poller, the rules check and the reports.

    Forums, threads and posts are here; cases, presence, poll runs and report
    queries in :class:`models.case_store.CaseStore`; sessions in :class:`RepositoryBase`."""

    # ---- forums -----------------------------------------------------------

    def sync_forum(self, forum_id: str, name: str, engine: str, base_url: str) -> None:
        with self.transaction("saving forum") as c:
            upsert(c, ForumRow.__table__, ["id"], dict(id=forum_id, name=name, engine=engine, base_url=base_url))

    def posts_per_page(self, forum_id: str) -> int | None:
        with self.session("reading forum") as s:
            row = s.get(ForumRow, forum_id)
            return row.posts_per_page if row else None

    def set_posts_per_page(self, forum_id: str, ppp: int) -> None:
        with self.session("saving posts per page") as s:
            s.execute(update(ForumRow).where(ForumRow.id == forum_id).values(posts_per_page=ppp))

    def start_board_walk(self, forum_id: str, fid: int, at: datetime) -> bool:
        """Record that a walk of the board's list started; return whether the previous one finished."""
        with self.transaction("saving board state") as c:
            finished = c.execute(select(BoardState.walk_complete).where(
                BoardState.forum_id == forum_id, BoardState.fid == fid)).scalar()
            _save_board_walk(c, forum_id, fid, False, at)
        return bool(finished)

    def set_board_walk(self, forum_id: str, fid: int, complete: bool, at: datetime) -> None:
        """Record that a walk of the board's list finished (True) or was left unfinished."""
        with self.transaction("saving board state") as c:
            _save_board_walk(c, forum_id, fid, complete, at)

    # ---- threads ----------------------------------------------------------

    def known_threads(self, forum_id: str, tids: Iterable[int]) -> dict[int, KnownThread]:
        """The stored state of the given threads: one indexed read of their rows."""
        tids = list(tids)
        if not tids:
            return {}
        with self.transaction("reading threads") as c:
            rows = c.execute(
                select(ThreadRecord.tid, ThreadRecord.id, ThreadRecord.replies, ThreadRecord.last_post_at,
                       ThreadRecord.last_post_precision, ThreadRecord.last_poster, ThreadRecord.read_pages,
                       ThreadRecord.max_floor, ThreadRecord.read_pending, ThreadRecord.author,
                       ThreadRecord.deleted_at)
                .where(ThreadRecord.forum_id == forum_id, ThreadRecord.tid.in_(tids))).all()
        return {r.tid: KnownThread(r.id, r.replies, r.last_post_at, r.last_post_precision, r.last_poster,
                                   r.read_pages, r.max_floor or 0,
                                   needs_read=bool(r.read_pending) or r.deleted_at is not None,
                                   author=r.author) for r in rows}

    def upsert_thread_rows(self, forum_id: str, fid: int, rows: Sequence[ThreadRow],
                           seen_at: datetime) -> dict[int, int]:
        """Insert or refresh list rows in one transaction; return tid → thread id.

        Every row given is marked for reading (``read_pending``) and for the check (its
        version bumped). New rows go in with ``ON CONFLICT DO NOTHING`` and stored ones are
        locked before they are updated, so two pollers of one forum never collide.
        Counts history is kept (a ``thread_counts`` row when replies or views change)."""
        if not rows:
            return {}
        rows = list({r.tid: r for r in rows}.values())
        with self.transaction("saving thread rows") as c:
            existing = self._lock_threads(c, forum_id, [r.tid for r in rows])
            fresh = [r for r in rows if r.tid not in existing]
            out: dict[int, int] = {}
            counts = []
            if fresh:
                inserted = c.execute(
                    insert_ignoring_duplicates(c, _THREADS, ["forum_id", "tid"])
                    .returning(ThreadRecord.tid, ThreadRecord.id),
                    [_new_thread_values(forum_id, fid, r, seen_at) for r in fresh]).all()
                out.update({tid: id_ for tid, id_ in inserted})
                counts += [dict(thread_id=out[r.tid], seen_at=seen_at, replies=r.replies, views=r.views)
                           for r in fresh if r.tid in out]
                raced = [r.tid for r in fresh if r.tid not in out]  # another poller inserted them first
                if raced:
                    existing.update(self._lock_threads(c, forum_id, raced))
            updates = []
            for row in rows:
                old = existing.get(row.tid)
                if old is None:
                    continue
                values, counts_changed = _refreshed_thread_values(old, fid, row, seen_at)
                updates.append(values)
                out[row.tid] = old.id
                if counts_changed:
                    counts.append(dict(thread_id=old.id, seen_at=seen_at, replies=row.replies, views=row.views))
            if updates:
                c.execute(_UPDATE_THREAD_ROW, updates)
            if counts:
                c.execute(insert(ThreadCount.__table__), counts)
        return out

    @staticmethod
    def _lock_threads(c: Connection, forum_id: str, tids: list[int]) -> dict:
        """Stored rows of these threads, locked for this transaction (PostgreSQL) in id order, the
        order the rules check writes them in, so the two never deadlock."""
        return {r.tid: r for r in c.execute(
            select(*_THREAD_ROW_COLUMNS).where(ThreadRecord.forum_id == forum_id, ThreadRecord.tid.in_(tids))
            .order_by(ThreadRecord.id).with_for_update(key_share=True))}

    def mark_thread_deleted(self, thread_id: int, at: datetime) -> None:
        """The forum says the thread is gone: mark it and its posts, drop nothing."""
        with self.transaction("marking thread deleted") as c:
            # read from the first page again if it is listed again (restored, or out of moderation)
            c.execute(update(_THREADS).where(ThreadRecord.id == thread_id)
                      .values(read_pending=False, read_at=at, read_pages=0, max_floor=0))
            c.execute(update(_THREADS).where(ThreadRecord.id == thread_id, ThreadRecord.deleted_at.is_(None))
                      .values(deleted_at=at, changed_at=at, **_BUMP))
            c.execute(update(_POSTS).where(PostRecord.thread_id == thread_id, PostRecord.deleted_at.is_(None))
                      .values(deleted_at=at))

    def threads_to_recheck(self, forum_id: str, read_before: datetime) -> list[tuple[int, int]]:
        """(thread id, tid) of threads with open cases not re-read since ``read_before`` (our clock)."""
        with self.session("reading threads to recheck") as s:
            return [tuple(r) for r in s.execute(
                select(ThreadRecord.id, ThreadRecord.tid).join(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                .where(ThreadRecord.forum_id == forum_id, ThreadRecord.deleted_at.is_(None),
                       ResponseCase.state.in_(("pending", "overdue")),
                       or_(ThreadRecord.read_at.is_(None), ThreadRecord.read_at < read_before)))]

    # ---- posts ------------------------------------------------------------

    def store_posts(self, forum_id: str, thread_id: int, posts: Sequence[Post], units: Sequence[str | None],
                    seen_at: datetime, assume_new: bool = False, *, title: str | None = None,
                    category: str | None = None, done: ReadDone | None = None) -> StoreResult:
        """Store one thread page in one transaction: its posts, the thread's title and category
        where the list gave none, its highest floor, and (``done``) that the thread was read.

        New posts are inserted, edited ones keep a revision; idempotent on (forum, pid) even
        against another poller (``ON CONFLICT DO NOTHING``, then the careful path for what it
        had stored first). ``assume_new`` skips looking for stored copies (a thread never
        stored before)."""
        with self.transaction("saving posts") as c:
            new, changed, revised = self._store_post_rows(c, forum_id, thread_id, posts, units, seen_at, assume_new)
            deleted = 0
            if done is not None and done.seen_pids is not None:
                deleted = self._mark_missing_deleted(c, thread_id, done.seen_pids, done.at)
            opener = next((p for p in posts if p.floor == 1 and p.posted_at is not None), None)
            bind_time = ThreadRecord.read_at.type.process_bind_param
            _execute_prebuilt(c, _AFTER_THREAD_PAGE, {
                "thread_id": thread_id, "top": max((p.floor for p in posts if p.floor is not None), default=0),
                "title": title or None, "category": category or None, "bump": int(bool(new or revised or deleted)),
                "done": done is not None, "read_pages": done.pages if done else None,
                "read_at": bind_time(done.at, c.dialect) if done else None,
                # the opening post dates the thread more precisely than the list
                "opener_at": bind_time(opener.posted_at, c.dialect) if opener else None,
                "opener_precision": opener.posted_precision if opener else None})
        return StoreResult(new=new, changed=changed, deleted=deleted)

    def _store_post_rows(self, c: Connection, forum_id: str, thread_id: int, posts: Sequence[Post],
                         units: Sequence[str | None], seen_at: datetime, assume_new: bool) -> tuple[int, int, int]:
        """(new, edited, revised in any way) after inserting new posts and updating stored ones."""
        if not posts:
            return 0, 0, 0
        existing = {} if assume_new else self._stored_posts(c, forum_id, [p.pid for p in posts])
        fresh = [(p, u) for p, u in zip(posts, units) if p.pid not in existing]
        new = 0
        if fresh:  # the hot path: one driver-level executemany
            inserted = _insert_new_posts(c, forum_id, thread_id, fresh, seen_at)
            new = len(fresh) if inserted is None or inserted < 0 else inserted
            if new < len(fresh):  # another poller stored some first: refresh them from this reading
                existing.update(self._stored_posts(c, forum_id, [p.pid for p, _ in fresh]))
        changed, revised, touched = 0, 0, []
        for post, unit in zip(posts, units):
            if post.pid in existing:
                edited, untouched = self._refresh_post(c, existing[post.pid], post, unit, seen_at)
                changed += edited
                revised += not untouched  # undeleted, re-tagged, re-dated or edited: the check looks again
                if untouched:
                    touched.append({"post_id": existing[post.pid].id, "seen": seen_at})
        if touched:  # posts seen again unchanged: one executemany
            c.execute(_TOUCH_POST, touched)
        return new, changed, revised

    @staticmethod
    def _stored_posts(c: Connection, forum_id: str, pids: list[int]) -> dict:
        return {r.pid: r for r in c.execute(
            select(PostRecord.id, PostRecord.pid, PostRecord.body_hash, PostRecord.posted_at,
                   PostRecord.posted_precision, PostRecord.deleted_at, PostRecord.unit_id)
            .where(PostRecord.forum_id == forum_id, PostRecord.pid.in_(pids)))}

    @staticmethod
    def _refresh_post(c: Connection, old, post: Post, unit: str | None, seen_at: datetime) -> tuple[bool, bool]:
        """Update a stored post from a new reading: (edited, unchanged: only to be marked seen)."""
        values: dict = {"last_seen_at": seen_at}
        if old.deleted_at is not None or old.unit_id != unit:
            values.update(deleted_at=None, unit_id=unit)
        digest = body_hash(post.body, post.edit_note)
        edited = False
        if old.body_hash != digest:
            prev = c.execute(select(PostRecord.body, PostRecord.edit_note).where(PostRecord.id == old.id)).one()
            edited = not _garbled(prev.body, post.body)
            if edited:  # keep the earlier text
                c.execute(insert(PostRevision.__table__).values(post_id=old.id, body=prev.body,
                                                                edit_note=prev.edit_note, replaced_at=seen_at))
                values.update(body=post.body, edit_note=post.edit_note, body_hash=digest)
        if post.posted_at and (old.posted_at is None or post.posted_precision < old.posted_precision):
            values.update(posted_at=post.posted_at, posted_precision=post.posted_precision)
        if len(values) == 1:
            return False, True
        c.execute(update(_POSTS).where(PostRecord.id == old.id).values(**values))
        return edited, False

    @staticmethod
    def _mark_missing_deleted(c: Connection, thread_id: int, seen_pids: frozenset[int], at: datetime) -> int:
        """After a full re-read: live posts of the thread not seen any more are marked deleted."""
        ids = [i for i, pid in c.execute(select(PostRecord.id, PostRecord.pid).where(
            PostRecord.thread_id == thread_id, PostRecord.deleted_at.is_(None))) if pid not in seen_pids]
        if ids:
            c.execute(update(_POSTS).where(PostRecord.id.in_(ids)).values(deleted_at=at))
            top = (select(func.coalesce(func.max(PostRecord.floor), 0))
                   .where(PostRecord.thread_id == thread_id, PostRecord.deleted_at.is_(None)).scalar_subquery())
            c.execute(update(_THREADS).where(ThreadRecord.id == thread_id).values(changed_at=at, max_floor=top))
        return len(ids)


_THREAD_ROW_COLUMNS = (ThreadRecord.id, ThreadRecord.tid, ThreadRecord.replies, ThreadRecord.views,
                       ThreadRecord.last_poster, ThreadRecord.max_views, ThreadRecord.max_replies,
                       ThreadRecord.posted_at, ThreadRecord.posted_precision, ThreadRecord.last_post_at,
                       ThreadRecord.last_post_precision, ThreadRecord.changed_at)
_UPDATE_THREAD_ROW = (
    update(_THREADS).where(ThreadRecord.id == bindparam("_id"))
    .values(fid=bindparam("fid"), title=bindparam("title"), url=bindparam("url"), sticky=bindparam("sticky"),
            author=bindparam("author"), author_uid=bindparam("author_uid"), category=bindparam("category"),
            category_id=bindparam("category_id"), replies=bindparam("replies"), views=bindparam("views"),
            last_poster=bindparam("last_poster"), max_views=bindparam("max_views"),
            max_replies=bindparam("max_replies"),
            posted_at=bindparam("posted_at", type_=ThreadRecord.posted_at.type),
            posted_precision=bindparam("posted_precision"),
            last_post_at=bindparam("last_post_at", type_=ThreadRecord.last_post_at.type),
            last_post_precision=bindparam("last_post_precision"),
            changed_at=bindparam("changed_at", type_=ThreadRecord.changed_at.type),
            last_seen_at=bindparam("last_seen_at", type_=ThreadRecord.last_seen_at.type),
            deleted_at=None, read_pending=True, **_BUMP))
_TOUCH_POST = (update(_POSTS).where(PostRecord.id == bindparam("post_id"))
               .values(last_seen_at=bindparam("seen", type_=PostRecord.last_seen_at.type)))


def _save_board_walk(c: Connection, forum_id: str, fid: int, complete: bool, at: datetime) -> None:
    upsert(c, BoardState.__table__, ["forum_id", "fid"],
           dict(forum_id=forum_id, fid=fid, walk_complete=complete, walked_at=at))


def _new_thread_values(forum_id: str, fid: int, row: ThreadRow, seen_at: datetime) -> dict:
    return dict(forum_id=forum_id, tid=row.tid, fid=fid, title=row.title, url=row.url, sticky=row.sticky,
                author=row.author, author_uid=user_id(row.author_uid), category=row.category,
                category_id=row.category_id, replies=row.replies, views=row.views, last_poster=row.last_poster,
                max_views=row.views or 0, max_replies=row.replies or 0,
                posted_at=row.posted_at, posted_precision=row.posted_precision if row.posted_at else 0,
                last_post_at=row.last_post_at,
                last_post_precision=row.last_post_precision if row.last_post_at else 0,
                first_seen_at=seen_at, last_seen_at=seen_at, changed_at=seen_at, read_pages=0,
                read_pending=True, max_floor=0, version=1, checked_version=0, counted=False)


def _refreshed_thread_values(old, fid: int, row: ThreadRow, seen_at: datetime) -> tuple[dict, bool]:
    """The update of a stored thread from a new list row, and whether its counts changed."""
    counts_changed = (old.replies, old.views) != (row.replies, row.views)
    changed = counts_changed or old.last_poster != row.last_poster
    posted_at, posted_precision = _more_precise(old.posted_at, old.posted_precision, row.posted_at,
                                                row.posted_precision)
    last_at, last_precision = _more_precise(old.last_post_at, old.last_post_precision, row.last_post_at,
                                            row.last_post_precision, newer_wins=True)
    return dict(_id=old.id, fid=fid, title=row.title, url=row.url, sticky=row.sticky, author=row.author,
                author_uid=user_id(row.author_uid), category=row.category, category_id=row.category_id,
                replies=row.replies, views=row.views, last_poster=row.last_poster,
                max_views=max(old.max_views or 0, row.views or 0),
                max_replies=max(old.max_replies or 0, row.replies or 0),
                posted_at=posted_at, posted_precision=posted_precision, last_post_at=last_at,
                last_post_precision=last_precision, changed_at=seen_at if changed else old.changed_at,
                last_seen_at=seen_at), counts_changed


_PREBUILT: dict[tuple[str, int], tuple[str, list[str] | None, dict]] = {}


def _execute_prebuilt(c: Connection, stmt, values: dict) -> None:
    """Run a prebuilt statement straight through the driver: compiled once per database kind,
    its parameters given already bound (times as :class:`UTCDateTime` binds them)."""
    key = (c.dialect.name, id(stmt))
    if key not in _PREBUILT:
        compiled = stmt.compile(dialect=c.dialect)
        literals = {name: bind.effective_value for name, bind in compiled.binds.items()}  # e.g. '' and False
        _PREBUILT[key] = (compiled.string, compiled.positiontup, literals)
    sql, order, literals = _PREBUILT[key]
    params = {**literals, **values}
    c.exec_driver_sql(sql, tuple(params[name] for name in order) if order is not None else params)


_POST_COLUMNS = ("thread_id", "forum_id", "pid", "floor", "author", "author_uid", "unit_id", "posted_at",
                 "posted_precision", "body", "body_hash", "edit_note", "first_seen_at", "last_seen_at")
_INSERT_POSTS_SQL: dict[str, str] = {}


def _insert_new_posts(c: Connection, forum_id: str, thread_id: int, fresh: list[tuple[Post, str | None]],
                      seen_at: datetime) -> int:
    """``INSERT … ON CONFLICT DO NOTHING`` of new posts straight through the driver's executemany
    (SQLAlchemy's per-row parameter processing cost more than the insert itself); times are
    bound as :class:`UTCDateTime` binds them. Returns the rows inserted (-1: not known)."""
    dialect = c.dialect
    sql = _INSERT_POSTS_SQL.get(dialect.name)
    if sql is None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = _INSERT_POSTS_SQL[dialect.name] = (
            f"INSERT INTO posts ({', '.join(_POST_COLUMNS)}) VALUES ({', '.join([mark] * len(_POST_COLUMNS))}) "
            "ON CONFLICT (forum_id, pid) DO NOTHING")
    bind_time = PostRecord.posted_at.type.process_bind_param
    seen = bind_time(seen_at, dialect)
    params = [(thread_id, forum_id, p.pid, p.floor, p.author, user_id(p.author_uid), unit,
               bind_time(p.posted_at, dialect), p.posted_precision, p.body, body_hash(p.body, p.edit_note),
               p.edit_note, seen, seen)
              for p, unit in fresh]
    return c.exec_driver_sql(sql, params).rowcount


def _more_precise(old_at: datetime | None, old_prec: int | None, at: datetime | None, precision: int,
                  newer_wins: bool = False) -> tuple[datetime | None, int]:
    """The most precise reading of a time (a newer last post always wins)."""
    old_prec = old_prec or 0
    if at is None:
        return old_at, old_prec
    moved = newer_wins and old_at is not None and at - old_at > timedelta(seconds=precision + old_prec)
    if old_at is None or moved or precision < old_prec:
        return at, precision
    return old_at, old_prec


def _garbled(old: str, new: str) -> bool:
    """A new reading that has gained replacement characters is a bad decoding, not an edit."""
    return new.count("\ufffd") > old.count("\ufffd")
