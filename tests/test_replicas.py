"""Coordination between daemons on one database (SQLite and the real PostgreSQL): claims that one
node wins, work done once, per-forum locks, the forums split among live nodes, backoff and alerts
for a failing forum, the digest missed while the service was down."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from models.coordination import NODE_TTL, Coordinator, owner_of, single_daemon_lock
from models.db import make_engine, upgrade
from monitor.config import parse_config
from monitor.daemon import Daemon
from monitor.errors import SpokeswatchError

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_one_node_wins_each_claim_and_each_once_mark(engine):
    nodes = [Coordinator(engine, f"host:{i}:x") for i in range(6)]
    nodes[0].ensure_jobs({"poll:demo": T0})
    with ThreadPoolExecutor(6) as pool:
        claims = list(pool.map(lambda n: n.claim("poll:demo", T0, T0, T0 + timedelta(minutes=10)), nodes))
        marks = list(pool.map(lambda n: n.once("digest", "2026-12-01", T0), nodes))
    assert claims.count(True) == 1 and marks.count(True) == 1
    assert nodes[0].next_due("poll:demo") == T0 + timedelta(minutes=10)
    assert not nodes[1].claim("poll:demo", T0 + timedelta(minutes=5), T0, T0)  # not due yet
    assert nodes[2].claim("poll:demo", T0 + timedelta(minutes=10), T0, T0 + timedelta(minutes=20))
    assert nodes[3].latest_once("digest") == "2026-12-01"


def test_the_forums_are_split_among_live_nodes_and_a_stale_node_drops_out(engine):
    a, b = Coordinator(engine, "a:1:x"), Coordinator(engine, "b:2:x")
    a.beat(T0)
    b.beat(T0)
    live = a.live_nodes(T0 + timedelta(seconds=5))
    assert live == ["a:1:x", "b:2:x"]
    jobs = [f"poll:forum{i}" for i in range(40)]
    owners = [owner_of(j, live) for j in jobs]
    assert 10 < owners.count("a:1:x") < 30  # both get a share
    a.beat(T0 + NODE_TTL)  # b stops beating
    assert a.live_nodes(T0 + NODE_TTL + timedelta(seconds=1)) == ["a:1:x"]
    assert all(owner_of(j, ["a:1:x"]) == "a:1:x" for j in jobs)
    # a's forums stay a's when b leaves: rendezvous hashing moves only the departed node's share
    assert all(owner_of(j, live) == owner_of(j, ["a:1:x"]) for j, o in zip(jobs, owners) if o == "a:1:x")
    b.leave()
    assert [n.id for n in a.nodes()] == ["a:1:x"]


def test_a_forum_is_polled_by_one_node_at_a_time(engine, db_url):
    a, b = Coordinator(engine, "a:1:x"), Coordinator(engine, "b:2:x")
    with a.exclusive("poll:demo") as first:
        with b.exclusive("poll:demo") as second:
            pass
    with b.exclusive("poll:demo") as after:
        pass
    assert first and after
    # PostgreSQL holds an advisory lock; SQLite runs one daemon per file, so the lock is the file's
    assert second is (not db_url.startswith("postgresql"))


def test_a_second_daemon_on_one_sqlite_file_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    held = single_daemon_lock(url)
    with pytest.raises(SpokeswatchError, match="another spokeswatch daemon"):
        single_daemon_lock(url)
    held.close()
    single_daemon_lock(url).close()  # free again once the first is gone
    assert single_daemon_lock("postgresql://x@localhost/db") is None


# ---- a failing forum: backoff, one alert, one recovery note -----------------------------------------

class _Service:
    """Enough of the service for the daemon's bookkeeping."""

    def __init__(self, config, engine):
        self.config, self.engine = config, engine
        self.stop = threading.Event()
        self.clock = lambda: datetime.now(timezone.utc)


def _daemon(engine, port: int, **top) -> Daemon:
    text = ("forums:\n  - {id: demo, name: Demo, base_url: 'http://127.0.0.1:9/', poll_interval_minutes: 10, "
            "boards: [{fid: 2}]}\n"
            f"digest: {{notify: ['json://127.0.0.1:{port}/office']}}\n"
            + "".join(f"{k}: {v}\n" for k, v in top.items()))
    daemon = Daemon(_Service(parse_config(text), engine))
    daemon._sync_jobs(datetime.now(timezone.utc))
    return daemon


def test_a_failing_forum_backs_off_to_the_cap_alerts_once_and_once_more_on_recovery(engine, inbox):
    port, received = inbox
    daemon = _daemon(engine, port, backoff_max_minutes=60, alert_after_hours=1)
    now = datetime.now(timezone.utc)
    delays = []
    for _ in range(5):
        daemon._record_outcome("demo", now, "connection refused")
        delays.append(round((daemon.coord.next_due("poll:demo") - now).total_seconds() / 60))
    assert delays == [20, 40, 60, 60, 60]  # doubling from the 10-minute interval, capped
    assert received == []  # failing for less than alert_after_hours: nobody told yet
    with daemon.coord.transaction("back-dating the failure") as c:  # the streak began 2 h ago
        from sqlalchemy import update

        from models.tables import JobSchedule
        c.execute(update(JobSchedule.__table__).values(failing_since=now - timedelta(hours=2)))
    other = _daemon(engine, port, backoff_max_minutes=60, alert_after_hours=1)  # a replica
    for d in (daemon, other, daemon):
        d._record_outcome("demo", now, "connection refused")
    assert len(received) == 1 and received[0]["title"] == "论坛采集失败：Demo（demo）"
    assert "connection refused" in received[0]["message"]
    assert "+08:00" in received[0]["message"]  # the office's time, with its offset
    for d in (daemon, other):
        d._record_outcome("demo", now, None)
    assert len(received) == 2 and received[1]["title"] == "论坛恢复采集：Demo（demo）"
    assert daemon.coord.failing_jobs() == {}


def test_the_digest_missed_while_down_is_produced_once_at_start(engine, inbox):
    port, _ = inbox
    daemon = _daemon(engine, port, timezone="Asia/Shanghai")
    scheduled = []
    daemon.scheduler = SimpleNamespace(add_job=lambda fn, **kw: scheduled.append(kw["kwargs"]["day"]))
    at = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)  # 09:00 on 5 Dec in Beijing: 4 Dec's digest is due
    daemon._catch_up_digest(at)
    assert scheduled == []  # a new installation has missed nothing
    daemon.coord.once("digest", "2026-12-01", at)  # the last digest before three days of downtime
    daemon._catch_up_digest(at)
    assert scheduled == ["2026-12-04"]  # the latest missed one only, not one per day
    daemon.coord.once("digest", "2026-12-04", at)
    daemon._catch_up_digest(at)
    assert scheduled == ["2026-12-04"]
