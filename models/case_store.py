"""Response cases, spokesperson presence, poll runs and the queries behind the reports."""
from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import (Connection, Row, Table, and_, bindparam, case, func, insert, or_, select, text,
                        union, update)

from models.repo_base import RepositoryBase
from models.tables import (AccountPresence, CaseEvent, CheckState, PollRun, PostRecord, ResponseCase,
                           ThreadRecord)

if TYPE_CHECKING:
    from models.repository import StoreResult


class CaseStore(RepositoryBase):
    """The rules check's and the reports' side of the database."""

    # ---- spokesperson presence ---------------------------------------------

    def presence_checked(self, forum_id: str) -> dict[str, datetime]:
        """uid → when its profile was last checked, for one forum."""
        with self.session("reading presence") as s:
            return dict(s.execute(select(AccountPresence.uid, AccountPresence.checked_at)
                                  .where(AccountPresence.forum_id == forum_id)).all())

    def save_presence(self, forum_id: str, uid: str, unit_id: str | None, checked_at: datetime, *,
                      username: str | None = None, last_visit: datetime | None = None,
                      last_activity: datetime | None = None, last_post: datetime | None = None,
                      note: str | None = None) -> None:
        """Record a profile check; a check that learned nothing keeps the earlier times."""
        table = AccountPresence.__table__
        with self.transaction("saving presence") as c:
            c.execute(insert_ignoring_duplicates(c, table, ["forum_id", "uid"])
                      .values(forum_id=forum_id, uid=uid, checked_at=checked_at))
            kept = AccountPresence.last_visit_at.type  # a learned time is kept when this check learned none
            c.execute(update(table).where(AccountPresence.forum_id == forum_id, AccountPresence.uid == uid).values(
                unit_id=unit_id, checked_at=checked_at, note=note,
                username=func.coalesce(username or None, AccountPresence.username),
                last_visit_at=func.coalesce(bindparam("v", last_visit, type_=kept), AccountPresence.last_visit_at),
                last_activity_at=func.coalesce(bindparam("a", last_activity, type_=kept),
                                               AccountPresence.last_activity_at),
                last_post_at=func.coalesce(bindparam("p", last_post, type_=kept), AccountPresence.last_post_at)))

    def presence(self) -> list[AccountPresence]:
        with self.session("reading presence") as s:
            return list(s.scalars(select(AccountPresence)))

    def spokesperson_posts(self, start: datetime, end: datetime, before: bool = False) -> list[tuple]:
        """(forum, uid, author, posts in [start, end), newest post) per spokesperson author, over
        the spokesperson posts made since ``start`` (with ``before``: over those made before it,
        for accounts silent since). Both read through the partial index of spokesperson posts."""
        in_period = func.sum(case((and_(PostRecord.posted_at >= start, PostRecord.posted_at < end), 1), else_=0))
        when = and_(PostRecord.posted_at >= _EPOCH, PostRecord.posted_at < start) if before \
            else PostRecord.posted_at >= start
        with self.transaction("reading spokesperson posts") as c:
            return [tuple(r) for r in c.execute(
                select(PostRecord.forum_id, PostRecord.author_uid, PostRecord.author, in_period,
                       func.max(PostRecord.posted_at))
                .where(PostRecord.unit_id.is_not(None), when, PostRecord.deleted_at.is_(None))
                .group_by(PostRecord.forum_id, PostRecord.author_uid, PostRecord.author))]

    # ---- poll runs --------------------------------------------------------

    def start_poll_run(self, forum_id: str, started_at: datetime) -> int:
        """Record a poll as ``running`` before it fetches anything; :meth:`finish_poll_run` closes it.
        A run left ``running`` by a process that died shows as ``abandoned``."""
        with self.session("recording poll start") as s:
            run = PollRun(forum_id=forum_id, started_at=started_at, status="running", owner=process_owner(),
                          requests=0, threads_fetched=0, posts_new=0, posts_changed=0, posts_deleted=0)
            s.add(run)
            s.flush()
            return run.id

    def finish_poll_run(self, run_id: int, finished_at: datetime, status: str, error: str | None, requests: int,
                        threads_fetched: int, store: StoreResult, warnings: list[str]) -> None:
        with self.session("recording poll run") as s:
            run = s.get(PollRun, run_id)
            run.finished_at, run.status, run.error, run.requests = finished_at, status, error, requests
            run.threads_fetched, run.posts_new = threads_fetched, store.new
            run.posts_changed, run.posts_deleted = store.changed, store.deleted
            run.warnings = json.dumps(warnings[:200], ensure_ascii=False) if warnings else None
            run.duration_s = (finished_at - run.started_at).total_seconds()

    def last_poll_runs(self) -> list[PollRun]:
        """The newest poll run of each forum; a ``running`` one whose process is gone reads ``abandoned``."""
        with self.session("reading poll runs") as s:
            ids = list(s.scalars(_NEWEST_POLL_RUNS))
            runs = list(s.scalars(select(PollRun).where(PollRun.id.in_(ids)).order_by(PollRun.forum_id)))
            s.expunge_all()
        for run in runs:
            if run.status == "running" and not owner_alive(run.owner):
                run.status = "abandoned"
                run.error = run.error or f"the polling process ({run.owner}) ended without finishing the poll"
        return runs

    # ---- cases ------------------------------------------------------------

    @contextmanager
    def check_transaction(self, now: datetime) -> Iterator[tuple[Connection, CheckStateRow]]:
        """The rules check's one transaction, holding the check lock: the ``check_state`` row is
        written first, so a second check (another thread, the CLI, another daemon on the same
        PostgreSQL database) waits for this one to commit and then sees what it wrote. On
        SQLite that first write takes the database's write lock."""
        with self.transaction("rules check") as c:
            c.execute(update(CheckState.__table__).where(CheckState.id == 1).values(started_at=now))
            state = c.execute(select(CheckState.config_fingerprint, CheckState.checked_now)
                              .where(CheckState.id == 1)).one()
            yield c, state

    @staticmethod
    def threads_to_evaluate(c: Connection, now: datetime, previous_now: datetime | None,
                            full: bool, batch: int = 2000) -> Iterator[list]:
        """Threads the check must look at, with their case, in batches by id.

        Incremental: threads written since they were last evaluated (version ahead of
        checked_version, a partial index), pending cases whose deadline has passed
        (index on state, due_at), and open cases with a spokesperson post that ``now`` has
        reached since the last check. Full: every thread. A thread whose reading a poll has
        not finished waits for a later check, for ``READ_GRACE`` at most: a thread that cannot
        be read whole is then judged on what is stored (its deadline still passes)."""
        query = (select(*_THREAD_COLUMNS, *_CASE_COLUMNS)
                 .outerjoin(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                 .where(or_(ThreadRecord.read_pending.is_(False), ThreadRecord.changed_at < now - READ_GRACE)))
        if full:
            last = 0
            while rows := c.execute(query.where(ThreadRecord.id > last).order_by(ThreadRecord.id).limit(batch)).all():
                yield rows
                last = rows[-1].id
            return
        sources = [select(ThreadRecord.id).where(ThreadRecord.version != ThreadRecord.checked_version),
                   select(ResponseCase.thread_id).where(ResponseCase.state == "pending", ResponseCase.due_at <= now)]
        if previous_now is not None:
            sources.append(select(PostRecord.thread_id).where(
                PostRecord.unit_id.is_not(None), PostRecord.posted_at > previous_now, PostRecord.posted_at <= now))
        # the ids first, then their rows by primary key: given the ids inside one query,
        # PostgreSQL cannot estimate "version <> checked_version" and walks every thread
        ids = sorted(c.execute(union(*sources)).scalars())
        for chunk in _chunks(ids, batch):
            yield c.execute(query.where(ThreadRecord.id.in_(chunk)).order_by(ThreadRecord.id)).all()

    def thread_posts(self, thread_ids: Sequence[int]) -> dict[int, list]:
        """Live posts of the given threads in floor order (the reports' read)."""
        with self.transaction("reading posts") as c:
            return self.thread_posts_in(c, thread_ids)

    @staticmethod
    def thread_posts_in(c: Connection, thread_ids: Sequence[int]) -> dict[int, list]:
        """Live posts of the given threads in floor order: who, when, for which unit (no bodies)."""
        out: dict[int, list] = {i: [] for i in thread_ids}
        columns = (PostRecord.id, PostRecord.thread_id, PostRecord.pid, PostRecord.floor, PostRecord.author,
                   PostRecord.author_uid, PostRecord.unit_id, PostRecord.posted_at)
        for chunk in _chunks(list(thread_ids), 500):
            for p in c.execute(select(*columns).where(PostRecord.thread_id.in_(chunk), PostRecord.deleted_at.is_(None))
                               .order_by(PostRecord.thread_id, PostRecord.floor, PostRecord.pid)):
                out[p.thread_id].append(p)
        return out

    @staticmethod
    def apply_check(c: Connection, plan: CheckPlan, now: datetime) -> None:
        """Write one batch of the check's decisions with a few executemany statements."""
        if plan.checked:  # first, in id order: the same order pollers lock threads in
            c.execute(_MARK_CHECKED, plan.checked)
        if plan.new_cases:
            rows = c.execute(insert_ignoring_duplicates(c, ResponseCase.__table__, ["thread_id"])
                             .returning(ResponseCase.id, ResponseCase.thread_id), plan.new_cases).all()
            by_thread = {t: i for i, t in rows}
            plan.events += [dict(case_id=by_thread[v["thread_id"]], state=v["state"], at=v["state_changed_at"],
                                 recorded_at=now) for v in plan.new_cases if v["thread_id"] in by_thread]
        if plan.case_updates:
            c.execute(_UPDATE_CASE, plan.case_updates)
        if plan.events:
            c.execute(insert(CaseEvent.__table__), plan.events)

    @staticmethod
    def finish_check(c: Connection, fingerprint: str, now: datetime, full: bool) -> None:
        values = dict(config_fingerprint=fingerprint, checked_now=now)
        if full:
            values["full_at"] = now
        c.execute(update(CheckState.__table__).where(CheckState.id == 1).values(**values))

    # ---- reports ----------------------------------------------------------

    def report_threads(self, posted_from: datetime, posted_to: datetime) -> list:
        """Live threads posted in [from, to) that count or are proactive items, each with its
        case (``case_*`` columns, None without one): the columns the bulletin reads, no bodies."""
        with self.transaction("reading threads for report") as c:
            return c.execute(
                select(*_REPORT_COLUMNS)
                .outerjoin(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                .where(ThreadRecord.posted_at >= posted_from, ThreadRecord.posted_at < posted_to,
                       ThreadRecord.deleted_at.is_(None),
                       or_(ThreadRecord.counted.is_(True), ThreadRecord.proactive_unit_id.is_not(None)))
                .order_by(ThreadRecord.posted_at, ThreadRecord.id)).all()

    def answer_bodies(self, thread_ids: Sequence[int]) -> dict[int, Row]:
        """thread id → its case's answer (thread_id, unit_id, posted_at, body), answered cases only."""
        with self.transaction("reading answers") as c:
            return {r.thread_id: r for chunk in _chunks(list(thread_ids), 500)
                    for r in c.execute(_ANSWERS.where(ResponseCase.thread_id.in_(chunk)))}

    def answer_bodies_between(self, posted_from: datetime, posted_to: datetime) -> dict[int, Row]:
        """The same for the counted threads posted in [from, to): one range read, as a bulletin's."""
        with self.transaction("reading answers") as c:
            return {r.thread_id: r for r in c.execute(_ANSWERS.where(*_reported(posted_from, posted_to)))}

    def unit_answers_before(self, unit_id: str, before: datetime, limit: int) -> list[Row]:
        """The unit's ``limit`` latest case answers made before ``before`` (posted_at, body), oldest
        first: what a new answer is compared with for boilerplate."""
        with self.transaction("reading earlier answers") as c:
            rows = c.execute(select(ResponseCase.thread_id, PostRecord.posted_at, PostRecord.body)
                             .join(PostRecord, PostRecord.id == ResponseCase.answer_post_id)
                             .where(ResponseCase.unit_id == unit_id, ResponseCase.answered_at < before)
                             .order_by(ResponseCase.answered_at.desc()).limit(limit)).all()
        return rows[::-1]

    def posts_after_answers(self, thread_ids: Sequence[int]) -> dict[int, list[Row]]:
        """Live posts made after each case's answer by the thread's starter or by a spokesperson:
        (thread_id, posted_at, body, by_starter, unit_id), oldest first; what follow-ups are read from."""
        out: dict[int, list[Row]] = {i: [] for i in thread_ids}
        with self.transaction("reading follow-ups") as c:
            for chunk in _chunks(list(thread_ids), 500):
                for r in c.execute(_AFTER_ANSWERS.where(ThreadRecord.id.in_(chunk))):
                    out[r.thread_id].append(r)
        return out

    def posts_after_answers_between(self, posted_from: datetime, posted_to: datetime) -> dict[int, list[Row]]:
        """The same for the counted threads posted in [from, to) (only threads that have such posts)."""
        out: dict[int, list[Row]] = {}
        with self.transaction("reading follow-ups") as c:
            for r in c.execute(_AFTER_ANSWERS.where(*_reported(posted_from, posted_to))):
                out.setdefault(r.thread_id, []).append(r)
        return out

    def cases_answered_between(self, start: datetime, end: datetime) -> list:
        """Cases answered in [start, end), with the digest's columns and the thread id: whose
        follow-ups the digest looks at."""
        with self.transaction("reading answered cases") as c:
            return c.execute(select(ThreadRecord.id.label("thread_id"), ResponseCase.answered_at, *_DIGEST_COLUMNS)
                             .join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
                             .where(ResponseCase.answered_at >= start, ResponseCase.answered_at < end,
                                    ThreadRecord.deleted_at.is_(None), ThreadRecord.counted.is_(True))
                             .order_by(ResponseCase.answered_at)).all()

    def cases_open_at(self, at: datetime) -> list:
        """Cases of threads posted by ``at`` that had no answer yet at ``at``, oldest first: the
        columns a digest item shows (case unit, due time, hot, estimated; thread title, url, time)."""
        still_open = union(  # two indexed reads: the open cases, and those answered only after ``at``
            select(ResponseCase.id).where(ResponseCase.state.in_(("pending", "overdue"))),
            select(ResponseCase.id).where(ResponseCase.answered_at > at,
                                          ResponseCase.state.in_(("answered_in_time", "answered_late"))))
        with self.transaction("reading cases") as c:
            return c.execute(select(*_DIGEST_COLUMNS).join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
                             .where(ThreadRecord.posted_at <= at, ResponseCase.id.in_(still_open))
                             .order_by(ThreadRecord.posted_at, ThreadRecord.id)).all()

    def case_events_between(self, start: datetime, end: datetime) -> list:
        """State changes that happened in [start, end), oldest first: the event's state and the
        columns of :meth:`cases_open_at`."""
        with self.transaction("reading case events") as c:
            return c.execute(select(CaseEvent.state.label("event_state"), *_DIGEST_COLUMNS)
                             .join(ResponseCase, ResponseCase.id == CaseEvent.case_id)
                             .join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
                             .where(CaseEvent.at >= start, CaseEvent.at < end).order_by(CaseEvent.at)).all()

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


@dataclass
class CheckPlan:
    """One batch of the rules check's writes (executemany parameter lists)."""

    new_cases: list[dict] = field(default_factory=list)
    case_updates: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    checked: list[dict] = field(default_factory=list)  # each thread evaluated: version seen, assignment


CheckStateRow = Row
_THREAD_COLUMNS = (ThreadRecord.id, ThreadRecord.forum_id, ThreadRecord.fid, ThreadRecord.title,
                   ThreadRecord.category, ThreadRecord.author, ThreadRecord.author_uid, ThreadRecord.posted_at,
                   ThreadRecord.deleted_at, ThreadRecord.unit_id, ThreadRecord.assigned_by, ThreadRecord.counted,
                   ThreadRecord.proactive_unit_id, ThreadRecord.max_views, ThreadRecord.max_replies,
                   ThreadRecord.version)
_CASE_COLUMNS = (ResponseCase.id.label("case_id"), ResponseCase.state.label("case_state"),
                 ResponseCase.unit_id.label("case_unit_id"), ResponseCase.hot.label("case_hot"),
                 ResponseCase.due_at.label("case_due_at"), ResponseCase.due_estimated.label("case_due_estimated"),
                 ResponseCase.answered_at.label("case_answered_at"),
                 ResponseCase.answer_post_id.label("case_answer_post_id"),
                 ResponseCase.state_changed_at.label("case_state_changed_at"))
_THREADS = ThreadRecord.__table__
READ_GRACE = timedelta(days=1)
_REPORT_COLUMNS = (ThreadRecord.id, ThreadRecord.forum_id, ThreadRecord.tid, ThreadRecord.fid, ThreadRecord.title,
                   ThreadRecord.url, ThreadRecord.posted_at, ThreadRecord.author, ThreadRecord.assigned_by,
                   ThreadRecord.unit_id, ThreadRecord.proactive_unit_id, ThreadRecord.max_views,
                   ThreadRecord.max_replies, ResponseCase.id.label("case_id"),
                   ResponseCase.due_at.label("case_due_at"), ResponseCase.due_estimated.label("case_due_estimated"),
                   ResponseCase.hot.label("case_hot"), ResponseCase.answered_at.label("case_answered_at"),
                   ResponseCase.answer_post_id.label("case_answer_post_id"))
_DIGEST_COLUMNS = (ResponseCase.unit_id, ResponseCase.due_at, ResponseCase.hot, ResponseCase.due_estimated,
                   ThreadRecord.title, ThreadRecord.url, ThreadRecord.posted_at,
                   ThreadRecord.id, ThreadRecord.forum_id, ThreadRecord.fid,  # id: the thread's (not "thread_id":
                   ThreadRecord.max_views, ThreadRecord.max_replies)          # cases_answered_between has that)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _reported(posted_from: datetime, posted_to: datetime) -> tuple:
    """The threads a bulletin reads: live, counted, posted in [from, to) (ix_threads_posted)."""
    return (ThreadRecord.posted_at >= posted_from, ThreadRecord.posted_at < posted_to,
            ThreadRecord.deleted_at.is_(None), ThreadRecord.counted.is_(True))


# a case's answer post; the posts after it by the thread's starter or a spokesperson (follow-ups)
_ANSWERS = (select(ResponseCase.thread_id, ResponseCase.unit_id, PostRecord.posted_at, PostRecord.body)
            .join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
            .join(PostRecord, PostRecord.id == ResponseCase.answer_post_id))
_BY_STARTER = or_(and_(PostRecord.author_uid.is_not(None), PostRecord.author_uid == ThreadRecord.author_uid),
                  and_(ThreadRecord.author_uid.is_(None), PostRecord.author == ThreadRecord.author))
_AFTER_ANSWERS = (
    select(PostRecord.thread_id, PostRecord.posted_at, PostRecord.body,
           case((_BY_STARTER, True), else_=False).label("by_starter"), PostRecord.unit_id)
    .select_from(ThreadRecord)
    .join(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
    .join(PostRecord, PostRecord.thread_id == ThreadRecord.id)
    .where(ResponseCase.answered_at.is_not(None), PostRecord.deleted_at.is_(None),
           PostRecord.posted_at > ResponseCase.answered_at, or_(PostRecord.unit_id.is_not(None), _BY_STARTER))
    .order_by(PostRecord.thread_id, PostRecord.posted_at))
# each forum's newest poll run: a loose index scan (one probe of ix_poll_runs_forum_newest per
# forum) instead of a GROUP BY over the whole, ever-growing history
_NEWEST_POLL_RUNS = text("""
    WITH RECURSIVE forum_ids(forum_id) AS (
        SELECT min(forum_id) FROM poll_runs
        UNION ALL
        SELECT (SELECT min(p.forum_id) FROM poll_runs p WHERE p.forum_id > forum_ids.forum_id)
        FROM forum_ids WHERE forum_ids.forum_id IS NOT NULL)
    SELECT (SELECT max(p.id) FROM poll_runs p WHERE p.forum_id = forum_ids.forum_id)
    FROM forum_ids WHERE forum_ids.forum_id IS NOT NULL""")
_MARK_CHECKED = (update(_THREADS).where(ThreadRecord.id == bindparam("_id"))
                 .values(checked_version=bindparam("_version"), unit_id=bindparam("unit_id"),
                         assigned_by=bindparam("assigned_by"), counted=bindparam("counted"),
                         proactive_unit_id=bindparam("proactive_unit_id")))
_UPDATE_CASE = (
    update(ResponseCase.__table__).where(ResponseCase.id == bindparam("_id"))
    .values(state=bindparam("state"), state_changed_at=bindparam("state_changed_at", type_=ResponseCase.due_at.type),
            unit_id=bindparam("unit_id"), hot=bindparam("hot"),
            due_at=bindparam("due_at", type_=ResponseCase.due_at.type), due_estimated=bindparam("due_estimated"),
            answered_at=bindparam("answered_at", type_=ResponseCase.due_at.type),
            answer_post_id=bindparam("answer_post_id"),
            checked_at=bindparam("checked_at", type_=ResponseCase.due_at.type)))


def dialect_insert(conn: Connection, table: Table):
    """The database's own INSERT, which knows ``ON CONFLICT`` (SQLite and PostgreSQL alike)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


_IGNORING: dict[tuple[str, str, tuple[str, ...]], object] = {}


def insert_ignoring_duplicates(conn: Connection, table: Table, key: list[str]):
    """``INSERT … ON CONFLICT (key) DO NOTHING``, built once per database kind and table."""
    cache_key = (conn.dialect.name, table.name, tuple(key))
    if cache_key not in _IGNORING:
        _IGNORING[cache_key] = dialect_insert(conn, table).on_conflict_do_nothing(index_elements=key)
    return _IGNORING[cache_key]


def upsert(conn: Connection, table: Table, key: list[str], values: dict) -> None:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` the other columns: a write two processes can race."""
    stmt = dialect_insert(conn, table).values(**values)
    conn.execute(stmt.on_conflict_do_update(index_elements=key,
                                            set_={k: stmt.excluded[k] for k in values if k not in key}))


def process_owner() -> str:
    """host:pid of this process, recorded on the poll runs it starts."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process that recorded a run still runs (only knowable on this host: others count as alive)."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
