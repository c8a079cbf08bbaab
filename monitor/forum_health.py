"""Whether each forum is being polled: its newest finished and newest successful poll runs, and
when that counts as failing. One place for ``/healthz`` and ``spokeswatch status`` (so it stays
light: SQLAlchemy and the config, no logging or metrics libraries)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, String, Text, text

from models.tables import UTCDateTime
from monitor.config import Config

@dataclass(frozen=True)
class ForumRuns:
    """What a forum's poll runs say: its newest finished run, and its newest successful one."""

    last_status: str | None = None
    last_error: str | None = None
    last_finished: datetime | None = None
    last_success: datetime | None = None

    @property
    def failing(self) -> bool:
        """Whether the newest finished poll failed."""
        return self.last_status == "failed"


NO_RUNS = ForumRuns()

# Every forum that has runs (a loose index scan over ix_poll_runs_forum_id, as
# CaseStore.last_poll_runs does), then per forum its newest finished run and its newest
# successful (ok or partial) run, each found by walking the (forum_id, id) index backwards: the
# cost does not grow with the runs kept. A run still "running" has no finished_at and is passed over.
_FORUM_RUNS = text("""
    WITH RECURSIVE forum_ids(forum_id) AS (
        SELECT min(forum_id) FROM poll_runs
        UNION ALL
        SELECT (SELECT min(p.forum_id) FROM poll_runs p WHERE p.forum_id > forum_ids.forum_id)
        FROM forum_ids WHERE forum_ids.forum_id IS NOT NULL),
    newest AS (
        SELECT f.forum_id,
               (SELECT p.id FROM poll_runs p WHERE p.forum_id = f.forum_id AND p.finished_at IS NOT NULL
                ORDER BY p.id DESC LIMIT 1) AS last_id,
               (SELECT p.id FROM poll_runs p WHERE p.forum_id = f.forum_id AND p.status IN ('ok', 'partial')
                ORDER BY p.id DESC LIMIT 1) AS success_id
        FROM forum_ids f WHERE f.forum_id IS NOT NULL)
    SELECT n.forum_id, l.status AS last_status, l.error AS last_error, l.finished_at AS last_finished,
           s.finished_at AS last_success
    FROM newest n
    LEFT JOIN poll_runs l ON l.id = n.last_id
    LEFT JOIN poll_runs s ON s.id = n.success_id""").columns(
    forum_id=String(), last_status=String(), last_error=Text(), last_finished=UTCDateTime(),
    last_success=UTCDateTime())


def read_forum_runs(conn: Connection) -> dict[str, ForumRuns]:
    """forum id → its newest finished and newest successful poll run, for every forum with runs."""
    return {r.forum_id: ForumRuns(r.last_status, r.last_error, r.last_finished, r.last_success)
            for r in conn.execute(_FORUM_RUNS)}


def stale_window(config: Config, forum) -> timedelta:
    """How long a forum may go without a successful poll: ``health.stale_after_intervals`` × its interval."""
    return timedelta(minutes=config.health.stale_after_intervals * forum.poll_interval_minutes)


def stale_forums(config: Config, runs: dict[str, ForumRuns], now: datetime, since: datetime,
                 stamp: Callable[[datetime | None], str | None]) -> list[str]:
    """A sentence for each configured forum without a successful poll within
    ``health.stale_after_intervals`` × its ``poll_interval_minutes`` before ``now``. ``since``
    (when the daemon started) counts as a success: a young daemon has time for its first polls."""
    reasons = []
    for forum in config.forums:
        r = runs.get(forum.id, NO_RUNS)
        window = stale_window(config, forum)
        if now - max(r.last_success or since, since) > window:
            when = f"since {stamp(r.last_success)}" if r.last_success else "ever"
            why = f"; its last poll failed: {r.last_error}" if r.failing else ""
            reasons.append(f"forum {forum.id} ({forum.name}) has not polled successfully {when}, "
                           f"longer than {window.total_seconds() / 60:g} minutes (health.stale_after_intervals "
                           f"× its poll_interval_minutes){why}")
    return reasons
