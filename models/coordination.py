"""Several daemons on one database: who is alive, who runs which job, what is done once.

* **Nodes** beat every few seconds into ``nodes``; a node whose beat is older than
  ``NODE_TTL`` is gone. Each forum belongs to one live node by rendezvous hashing
  (:func:`owner_of`), so the forums are split among the nodes and a dead node's share moves
  to the others as soon as its beat is stale.
* **Claims.** A job (``poll:<forum>``, ``check``) runs only on the node whose conditional
  UPDATE moved its ``next_due_at`` on (:meth:`Coordinator.claim`): one node per due time,
  whichever the database lets through first, on SQLite and PostgreSQL alike.
* **One at a time.** A forum's poll also holds a PostgreSQL advisory lock for its whole run
  (:meth:`Coordinator.exclusive`), so a poll that overruns its interval is never joined by a
  second one on another node; the lock goes with the connection if the node dies.
* **Once.** The day's digest and each delivery insert a row into ``once_marks`` first; only
  the node whose insert went in does the work, across restarts and replicas.
* SQLite has no way to share work between machines: :func:`single_daemon_lock` keeps a second
  daemon off the same file.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

from sqlalchemy import create_engine, delete, func, literal, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from models.case_store import insert_ignoring_duplicates
from models.repo_base import RepositoryBase
from models.tables import JobSchedule, Node, OnceMark
from monitor.errors import SpokeswatchError

NODE_TTL = timedelta(seconds=30)  # a node that has not beaten for this long is gone
_NEVER = datetime(1970, 1, 1, tzinfo=timezone.utc)


def new_node_id() -> str:
    """host:pid:start — unique per process, readable in ``status``."""
    return f"{socket.gethostname()}:{os.getpid()}:{datetime.now(timezone.utc):%H%M%S%f}"


def _hash(text_: str) -> int:
    return int.from_bytes(hashlib.blake2b(text_.encode(), digest_size=8).digest(), "big", signed=True)


def owner_of(job: str, nodes: list[str]) -> str | None:
    """The live node a job belongs to (rendezvous hashing: stable while nodes come and go)."""
    return max(nodes, key=lambda n: _hash(f"{n}|{job}"), default=None)


@dataclass(frozen=True)
class JobState:
    """A job's failure streak after its latest run."""

    failures: int
    failing_since: datetime | None
    alerted: bool
    last_error: str | None


class Coordinator(RepositoryBase):
    """This node's view of the shared schedule."""

    def __init__(self, engine, node_id: str):
        super().__init__(engine)
        self.node_id = node_id
        self._lock_engine = None  # PostgreSQL: the connections that hold poll locks

    # ---- nodes -----------------------------------------------------------

    def beat(self, now: datetime) -> None:
        """Say this node is alive (insert or refresh its row)."""
        host, pid = self.node_id.split(":")[:2]
        with self.transaction("recording this node's beat") as c:
            if not c.execute(update(Node.__table__).where(Node.id == self.node_id).values(beat_at=now)).rowcount:
                c.execute(insert_ignoring_duplicates(c, Node.__table__, ["id"]),
                          dict(id=self.node_id, host=host, pid=int(pid), started_at=now, beat_at=now))

    def leave(self) -> None:
        """Remove this node at a clean stop: its forums move to the others at once."""
        with self.transaction("removing this node") as c:
            c.execute(delete(Node.__table__).where(Node.id == self.node_id))

    def live_nodes(self, now: datetime) -> list[str]:
        with self.transaction("reading the live nodes") as c:
            return sorted(c.scalars(select(Node.id).where(Node.beat_at >= now - NODE_TTL)))

    def nodes(self) -> list[Node]:
        """Every node row, newest beat first (for ``status``)."""
        with self.session("reading the nodes") as s:
            rows = list(s.scalars(select(Node).order_by(Node.beat_at.desc())))
            s.expunge_all()
            return rows

    # ---- the shared schedule ----------------------------------------------

    def ensure_jobs(self, due: dict[str, datetime]) -> None:
        """Create schedule rows for jobs that have none (first due at the given times)."""
        if not due:
            return
        with self.transaction("creating job schedule rows") as c:
            c.execute(insert_ignoring_duplicates(c, JobSchedule.__table__, ["name"]),
                      [dict(name=n, next_due_at=t, failures=0, alerted=False) for n, t in due.items()])

    def due_jobs(self, prefix: str, until: datetime) -> list[tuple[str, datetime, str | None]]:
        """Jobs named ``prefix…`` due by ``until``: (name, next_due_at, owner), earliest first."""
        with self.transaction("reading due jobs") as c:
            return [tuple(r) for r in c.execute(
                select(JobSchedule.name, JobSchedule.next_due_at, JobSchedule.owner)
                .where(JobSchedule.name.startswith(prefix), JobSchedule.next_due_at <= until)
                .order_by(JobSchedule.next_due_at))]

    def claim(self, job: str, due_by: datetime, now: datetime, next_due: datetime) -> bool:
        """Take the job if it is due by ``due_by``: one node wins each due time."""
        with self.transaction(f"claiming {job}") as c:
            won = c.execute(update(JobSchedule.__table__)
                            .where(JobSchedule.name == job, JobSchedule.next_due_at <= due_by)
                            .values(next_due_at=next_due, owner=self.node_id, claimed_at=now)).rowcount
        return won == 1

    def next_due(self, job: str) -> datetime | None:
        with self.transaction(f"reading when {job} is due") as c:
            return c.scalar(select(JobSchedule.next_due_at).where(JobSchedule.name == job))

    def clamp(self, job: str, latest: datetime) -> None:
        """Bring the job's next run forward to ``latest`` if it is later (an interval shortened)."""
        with self.transaction(f"rescheduling {job}") as c:
            c.execute(update(JobSchedule.__table__)
                      .where(JobSchedule.name == job, JobSchedule.next_due_at > latest).values(next_due_at=latest))

    def reschedule(self, job: str, next_due: datetime) -> None:
        with self.transaction(f"rescheduling {job}") as c:
            c.execute(update(JobSchedule.__table__).where(JobSchedule.name == job).values(next_due_at=next_due))

    def record_outcome(self, job: str, now: datetime, error: str | None) -> JobState:
        """Count a failure (``error``) or end the streak (None); return the streak as it stands."""
        table = JobSchedule.__table__
        with self.transaction(f"recording the outcome of {job}") as c:
            if error is None:
                c.execute(update(table).where(JobSchedule.name == job)
                          .values(failures=0, failing_since=None, last_error=None))
            else:
                c.execute(update(table).where(JobSchedule.name == job).values(
                    failures=JobSchedule.failures + 1, last_error=error[:2000],
                    failing_since=func.coalesce(JobSchedule.failing_since,
                                                literal(now, JobSchedule.failing_since.type))))
            row = c.execute(select(JobSchedule.failures, JobSchedule.failing_since, JobSchedule.alerted,
                                   JobSchedule.last_error).where(JobSchedule.name == job)).one()
        return JobState(*row)

    def set_alerted(self, job: str, alerted: bool) -> bool:
        """Flip the job's ``alerted`` flag; True for the one node that flipped it (tell the office once)."""
        with self.transaction(f"marking {job} alerted") as c:
            return c.execute(update(JobSchedule.__table__)
                             .where(JobSchedule.name == job, JobSchedule.alerted.is_(not alerted))
                             .values(alerted=alerted)).rowcount == 1

    def failing_jobs(self) -> dict[str, JobState]:
        with self.transaction("reading failing jobs") as c:
            rows = c.execute(select(JobSchedule.name, JobSchedule.failures, JobSchedule.failing_since,
                                    JobSchedule.alerted, JobSchedule.last_error)
                             .where(JobSchedule.failures > 0))
            return {r[0]: JobState(*r[1:]) for r in rows}

    # ---- once ----------------------------------------------------------------

    def once(self, job: str, key: str, now: datetime) -> bool:
        """Claim a piece of work done at most once: True for the one caller whose mark went in."""
        with self.transaction(f"marking {job} {key}") as c:
            inserted = c.execute(insert_ignoring_duplicates(c, OnceMark.__table__, ["job", "key"])
                                 .returning(OnceMark.job),  # psycopg reports no rowcount for it
                                 dict(job=job, key=key, node=self.node_id, at=now, status="started"))
            return inserted.first() is not None

    def once_finished(self, job: str, key: str, status: str, detail: str | None = None) -> None:
        with self.transaction(f"finishing {job} {key}") as c:
            c.execute(update(OnceMark.__table__).where(OnceMark.job == job, OnceMark.key == key)
                      .values(status=status, detail=detail))

    def latest_once(self, job: str) -> str | None:
        """The greatest key marked for ``job`` (days sort as text), or None."""
        with self.transaction(f"reading {job} marks") as c:
            return c.scalar(select(OnceMark.key).where(OnceMark.job == job).order_by(OnceMark.key.desc()).limit(1))

    # ---- one poll of a forum at a time ------------------------------------------

    @contextmanager
    def exclusive(self, job: str) -> Iterator[bool]:
        """Hold a PostgreSQL advisory lock named after ``job`` while the block runs; yields
        whether it was free. On SQLite, where one daemon runs per file, it always is."""
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        key = _hash(f"spokeswatch:{job}")
        if self._lock_engine is None:  # unpooled: however many polls run, the work's pool is not drained
            self._lock_engine = create_engine(self.engine.url, poolclass=NullPool)
        with self._lock_engine.connect() as conn:  # a connection of its own: the lock lives with it
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()


def single_daemon_lock(database_url: str) -> IO | None:
    """On a SQLite file, an exclusive lock beside it held for the daemon's life; a second daemon
    on the same file is refused with a clear message. None on other databases (replicas share
    PostgreSQL through :class:`Coordinator`)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database).resolve().with_name(Path(url.database).name + ".daemon-lock")
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise SpokeswatchError(
            f"another spokeswatch daemon ({holder}) already runs on {url.database}: SQLite serves one daemon; "
            "stop it first, or share a PostgreSQL database between replicas") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    handle.flush()
    return handle
