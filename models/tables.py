"""SQLAlchemy 2 models. Natural keys: (forum, tid) for threads, (forum, pid) for posts.

All times are stored as aware UTC (see :class:`UTCDateTime`). Nothing seen is
ever dropped: a vanished post or thread gets ``deleted_at``; an edited post
keeps its earlier versions in ``post_revisions``.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

UID_LENGTH = 200  # a forum's user id is text: a number (Discuz! "30") or a user name ("张 三")


class _SQLiteDateTimeText(UserDefinedType):
    """DATETIME in SQLite's DDL, values passed through as text (UTCDateTime formats them)."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "DATETIME"


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend.

    SQLite keeps no zone: values are stored as UTC text in SQLAlchemy's own SQLite
    format (``YYYY-MM-DD HH:MM:SS.ffffff``), formatted and parsed here once, which is
    also what keeps bulk inserts fast."""

    impl = DateTime(timezone=True)
    cache_ok = True
    _last_sqlite: tuple = (None, None)  # the last time formatted for SQLite (one tuple: thread-safe)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return _SQLiteDateTimeText()
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass aware times")
        if dialect.name != "sqlite":
            return value.astimezone(timezone.utc)
        seen, text = self._last_sqlite
        if value is seen:  # a poll binds one "seen at" time to every row it writes
            return text
        utc = value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)
        text = utc.isoformat(" ", "microseconds")[:26]  # without the +00:00
        self._last_sqlite = (value, text)
        return text

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class ForumRow(Base):
    __tablename__ = "forums"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    engine: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str] = mapped_column(String(500))
    posts_per_page: Mapped[int | None] = mapped_column(Integer)


class BoardState(Base):
    """Whether the last walk of a board's list finished: only then may the next one stop early."""

    __tablename__ = "board_state"
    forum_id: Mapped[str] = mapped_column(ForeignKey("forums.id"), primary_key=True)
    fid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    walk_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    walked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ThreadRecord(Base):
    """A thread, with what the poller needs to read it incrementally and what the check needs.

    ``version`` is bumped by every write that can change the thread's case (list counts,
    posts stored, edited or deleted, the thread deleted); the rules check evaluates the
    threads whose ``checked_version`` lags behind it (a partial index finds them) and sets
    it to the version it evaluated, so a write during a check is never lost. That partial
    index (ix_threads_unchecked) and ix_posts_unit_posted are made by migration 0004 only:
    declared here, their dialect options would load both SQL dialects at every import."""

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("forum_id", "tid", name="uq_threads_forum_tid"),
                      Index("ix_threads_posted", "posted_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    forum_id: Mapped[str] = mapped_column(ForeignKey("forums.id"))
    tid: Mapped[int] = mapped_column(BigInteger)
    fid: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    author_uid: Mapped[str | None] = mapped_column(String(UID_LENGTH))  # a number ("30") or a name
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    posted_precision: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str | None] = mapped_column(String(200))
    category_id: Mapped[int | None] = mapped_column(Integer)
    sticky: Mapped[bool] = mapped_column(Boolean, default=False)
    replies: Mapped[int | None] = mapped_column(Integer)
    views: Mapped[int | None] = mapped_column(Integer)
    max_replies: Mapped[int] = mapped_column(Integer, default=0)
    max_views: Mapped[int] = mapped_column(Integer, default=0)
    last_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_post_precision: Mapped[int] = mapped_column(Integer, default=0)
    last_poster: Mapped[str | None] = mapped_column(String(200))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_pages: Mapped[int] = mapped_column(Integer, default=0)
    read_pending: Mapped[bool] = mapped_column(Boolean, default=True)  # list row changed, posts not read yet
    max_floor: Mapped[int] = mapped_column(Integer, default=0)  # highest floor of the live posts stored
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    checked_version: Mapped[int] = mapped_column(Integer, default=0)
    # assignment, refreshed by the rules check
    unit_id: Mapped[str | None] = mapped_column(String(64))
    assigned_by: Mapped[str | None] = mapped_column(String(32))
    counted: Mapped[bool] = mapped_column(Boolean, default=False)
    proactive_unit_id: Mapped[str | None] = mapped_column(String(64))


class ThreadCount(Base):
    """View and reply counts as seen over time (a row when they change)."""

    __tablename__ = "thread_counts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replies: Mapped[int | None] = mapped_column(Integer)
    views: Mapped[int | None] = mapped_column(Integer)


class PostRecord(Base):
    __tablename__ = "posts"
    # and the partial index ix_posts_unit_posted (posted_at WHERE unit_id IS NOT NULL): migration 0004
    __table_args__ = (UniqueConstraint("forum_id", "pid", name="uq_posts_forum_pid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    forum_id: Mapped[str] = mapped_column(ForeignKey("forums.id"))
    pid: Mapped[int] = mapped_column(BigInteger)
    floor: Mapped[int | None] = mapped_column(Integer)
    author: Mapped[str | None] = mapped_column(String(200))
    author_uid: Mapped[str | None] = mapped_column(String(UID_LENGTH))  # a number ("30") or a name
    unit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    posted_precision: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(40))
    edit_note: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PostRevision(Base):
    """An earlier version of an edited post, kept when the new one is seen."""

    __tablename__ = "post_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    edit_note: Mapped[str | None] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResponseCase(Base):
    """A unit's obligation to answer one thread, and its current outcome."""

    __tablename__ = "response_cases"
    __table_args__ = (Index("ix_cases_state_due", "state", "due_at"), Index("ix_cases_answered", "answered_at"),
                      Index("ix_cases_unit_state", "unit_id", "state"),  # /metrics: cases per unit and state
                      Index("ix_cases_unit_answered", "unit_id", "answered_at"))  # a unit's latest answers
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), unique=True)
    unit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    hot: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseEvent(Base):
    """A change of a case's state, with the time the change happened."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("response_cases.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountPresence(Base):
    """When a spokesperson account was last seen on its forum (profile page), checked daily."""

    __tablename__ = "account_presence"
    forum_id: Mapped[str] = mapped_column(ForeignKey("forums.id"), primary_key=True)
    uid: Mapped[str] = mapped_column(String(UID_LENGTH), primary_key=True)
    unit_id: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(200))
    last_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class PollRun(Base):
    """One poll of one forum: what it fetched, stored, and why it failed."""

    __tablename__ = "poll_runs"
    __table_args__ = (Index("ix_poll_runs_forum_newest", "forum_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    forum_id: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    threads_fetched: Mapped[int] = mapped_column(Integer, default=0)
    posts_new: Mapped[int] = mapped_column(Integer, default=0)
    posts_changed: Mapped[int] = mapped_column(Integer, default=0)
    posts_deleted: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)
    owner: Mapped[str | None] = mapped_column(String(200))  # host:pid of the process polling


class CheckState(Base):
    """The rules check's own bookkeeping (one row): what it last ran on, so the next run can be
    incremental; its row is also the lock that keeps two checks from running at once."""

    __tablename__ = "check_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config_fingerprint: Mapped[str | None] = mapped_column(String(64))
    checked_now: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the "now" the last check used
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    full_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Node(Base):
    """A running daemon (one row per process), beating every few seconds: replicas on one
    database see each other here and split the forums among the live ones."""

    __tablename__ = "nodes"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid:start
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobSchedule(Base):
    """When a shared job (a forum's poll, the periodic check) is next due, across replicas.

    A node runs the job only after claiming it: an UPDATE that moves ``next_due_at`` on, and
    succeeds for one node only. A forum's failures live here too (backoff, alert once)."""

    __tablename__ = "job_schedule"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # poll:<forum> | check
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner: Mapped[str | None] = mapped_column(String(200))  # the node that claimed it last
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed runs
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)  # the office was told it is failing


class OnceMark(Base):
    """Work done at most once across restarts and replicas: the digest of a day, its delivery
    to one target. The first node to insert the row does the work."""

    __tablename__ = "once_marks"
    job: Mapped[str] = mapped_column(String(40), primary_key=True)  # digest | delivery
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # day, or day + target
    node: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="started")  # started | done | failed
    detail: Mapped[str | None] = mapped_column(Text)


class CaseOverride(Base):
    """A correction by the office to one thread's case: ``assign`` it to a unit, ``exclude`` it
    (spam, duplicate, not a request) or ``include`` it (counts though no rule counts it, or an
    exclusion cancelled). Every one is kept; the rules check applies the latest assign and the
    latest exclude/include before its own rules (see models.override_store)."""

    __tablename__ = "case_overrides"
    __table_args__ = (Index("ix_case_overrides_thread", "thread_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))
    forum_id: Mapped[str] = mapped_column(String(64))
    tid: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))  # assign | exclude | include
    unit_id: Mapped[str | None] = mapped_column(String(64))  # for assign
    reason: Mapped[str] = mapped_column(Text)
    by_user: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class SearchGram(Base):
    """The search index: one row per bigram (see monitor.search_text.grams) of a thread's title or
    of any of its posts' bodies, as they were when indexed (rows are only ever added, so text
    that was replaced still finds its thread: a candidate, which the search then verifies).
    Migration 0008 makes it a WITHOUT ROWID table on SQLite (the key is the table, clustered by
    gram); declared here, that dialect option would load the SQLite dialect at every import."""

    __tablename__ = "search_grams"
    gram: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    thread_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class SearchState(Base):
    """The search indexer's bookkeeping (one row): the last id it indexed of each source table,
    and the ids it skipped that may still appear (written by a transaction not yet committed).
    Its row is also the lock that keeps two indexers from running at once (see
    models.search_store)."""

    __tablename__ = "search_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(Integer, default=0)  # posts.id
    revision_id: Mapped[int] = mapped_column(Integer, default=0)  # post_revisions.id
    count_id: Mapped[int] = mapped_column(Integer, default=0)  # thread_counts.id
    thread_id: Mapped[int] = mapped_column(Integer, default=0)  # threads.id
    gaps: Mapped[str | None] = mapped_column(Text)  # JSON: source → [[id, first missed (epoch s)], …]
