"""Nothing stored from a bad page: the demo forum behind a fault-injecting proxy (tests/faultproxy.py).

One clean poll through the proxy makes the baseline: its database (every table but poll_runs,
ordered by primary key, all columns) and its 2011Q1 bulletin figures. Each test then starts from a
copy of that database, injects one fault, polls again (the forum unchanged) and asserts that

* the database is byte-for-byte what it was (the rows as the database returns them),
* the poll reported the problem (status, warnings or error naming the page),
* after the fault is removed, a clean poll gives exactly the baseline's bulletin figures.

The forum's clock and ours are the same frozen moment, so even the bookkeeping columns stay
equal. Two exceptions, both asserted: a thread-page fault needs threads that are due to be read
again (the test sets their ``read_at`` a day back before it takes its reference dump: the
recheck path, where the damage happened, re-reads them in full); and a list page that is not
whole leaves its board's walk unfinished (``board_state.walk_complete`` false) so the next poll
walks it again, which is that page's "read again next poll".
"""
from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.tables import ThreadRecord
from monitor.periods import parse_period
from monitor.poller import PollResult, make_fetcher
from monitor.service import Service
from tests.conftest import _postgres_admin_url
from tests.faultproxy import (RESET, FaultProxy, cut_at, drop_middle_post, lie_about_charset, status,
                              strip_list_fields)
from tests.helpers import config_for, start_forum

Q1 = parse_period("2011Q1")
# received, in time, not in time, proactive: the bundled scenario's real bulletin
BULLETIN = (95, 39, 56, 5)
LIST_PAGES = r"mod=forumdisplay"
THREAD_PAGES = r"mod=viewthread"

Dump = dict[str, tuple[tuple[str, ...], list[tuple]]]  # table → (columns, rows)
LeaveOut = dict[str, set[str]]  # table → columns


# ---- databases: a baseline, and copies of it --------------------------------------


class Databases:
    """The databases of one kind for this module: fresh ones, and one work copy of the baseline
    per test. SQLite: a file copy (backup API). PostgreSQL: one work database restored in place
    from a snapshot schema (TRUNCATE, INSERT … SELECT, sequences set back): a database per test
    would cost a checkpoint per DROP DATABASE. Every database made is dropped at the end."""

    SNAPSHOT = "faults_snapshot"

    def __init__(self, kind: str, folder: Path, admin_url: str | None = None):
        self.kind, self.folder = kind, folder
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT") if admin_url else None
        self.created: list[str] = []
        self._snapshot: tuple[list[str], list[tuple[str, int | None]]] | None = None

    def _url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / (name + '.sqlite3')}"
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        name = f"spokeswatch_faults_{uuid.uuid4().hex[:10]}"
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self._url(name)

    def copy(self, url: str) -> str:
        """A database holding what ``url`` held when it was first copied (its baseline)."""
        if self.kind == "sqlite":
            target = self.fresh()
            with sqlite3.connect(sa.make_url(url).database) as src, \
                    sqlite3.connect(sa.make_url(target).database) as dst:
                src.backup(dst)
            return target
        with engine_for(url).begin() as conn:
            if self._snapshot is None:
                self._snapshot = self._take(conn)
            self._restore(conn, *self._snapshot)
        return url

    def _take(self, conn) -> tuple[list[str], list[tuple[str, int | None]]]:
        tables = list(conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        conn.execute(sa.text(f"CREATE SCHEMA {self.SNAPSHOT}"))
        for table in tables:
            conn.execute(sa.text(f'CREATE TABLE {self.SNAPSHOT}."{table}" AS TABLE public."{table}"'))
        sequences = [tuple(r) for r in conn.execute(sa.text(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"))]
        return tables, sequences

    def _restore(self, conn, tables: list[str], sequences: list[tuple[str, int | None]]) -> None:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # no FK triggers while filling
        conn.execute(sa.text("TRUNCATE " + ", ".join(f'public."{t}"' for t in tables)))
        for table in tables:
            conn.execute(sa.text(f'INSERT INTO public."{table}" TABLE {self.SNAPSHOT}."{table}"'))
        for name, last in sequences:
            conn.execute(sa.text("SELECT setval(:seq, :value, :called)"),
                         {"seq": f'public."{name}"', "value": last or 1, "called": last is not None})

    def close(self) -> None:
        dispose_engines()
        if self.admin is not None:
            with self.admin.connect() as conn:
                for name in self.created:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.admin.dispose()


_ENGINES: dict[str, sa.Engine] = {}
_SHAPES: dict[str, list[tuple[str, tuple[str, ...], list[str]]]] = {}


def engine_for(url: str) -> sa.Engine:
    """One engine per database URL for the dumps and counts (disposed with the databases)."""
    if url not in _ENGINES:
        _ENGINES[url] = sa.create_engine(url)
    return _ENGINES[url]


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    _SHAPES.clear()


def dump(url: str) -> Dump:
    """Every table but poll_runs: its columns and rows, all columns, ordered by primary key, as the
    database returns them."""
    engine = engine_for(url)
    if url not in _SHAPES:  # the schema does not change during a test: inspect it once
        inspector = sa.inspect(engine)
        _SHAPES[url] = [(t, tuple(c["name"] for c in inspector.get_columns(t)),
                         inspector.get_pk_constraint(t)["constrained_columns"])
                        for t in sorted(inspector.get_table_names()) if t != "poll_runs"]
    out: Dump = {}
    with engine.connect() as conn:
        for table, cols, key in _SHAPES[url]:
            rows = conn.execute(sa.text(f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)} '
                                        f'FROM "{table}" ORDER BY {", ".join(key or cols)}'))
            out[table] = (cols, [tuple(row) for row in rows])
    return out


def _lines(d: Dump, leave_out: LeaveOut) -> dict[str, list[str]]:
    out = {}
    for table, (cols, rows) in d.items():
        keep = [i for i, c in enumerate(cols) if c not in leave_out.get(table, set())]
        out[table] = [repr(tuple(row[i] for i in keep)) for row in rows]
    return out


def assert_same(now: Dump, before: Dump, leave_out: LeaveOut | None = None) -> None:
    """``now`` is ``before`` exactly (but the ``leave_out`` columns); the message shows the first
    differing rows of each table."""
    a_all, b_all = _lines(before, leave_out or {}), _lines(now, leave_out or {})
    if a_all == b_all:
        return
    report = []
    for table in sorted(set(a_all) | set(b_all)):
        a, b = a_all.get(table, []), b_all.get(table, [])
        if a != b:
            gone, new = [r for r in a if r not in set(b)], [r for r in b if r not in set(a)]
            report.append(f"{table}: {len(a)} → {len(b)} rows; before {gone[:3]}; now {new[:3]}")
    pytest.fail("the database changed:\n" + "\n".join(report))


def scalar(url: str, sql: str, **params):
    with engine_for(url).connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


# ---- the forum, the proxy, the baseline ---------------------------------------------


@pytest.fixture(scope="module")
def forum():
    forum = start_forum()
    yield forum
    forum.stop()


@pytest.fixture(scope="module")
def proxy(forum):
    with FaultProxy(forum.base_url) as proxy:
        yield proxy


@dataclass
class Baseline:
    dbs: Databases
    url: str
    dump: Dump
    figures: tuple
    open_threads: dict[int, int] = field(default_factory=dict)  # tid → posts, threads with open cases

    def due(self, min_posts: int = 1, most: int = 12) -> list[int]:
        """Threads with open cases (those a poll re-reads when due), the longest first, a dozen at
        most: enough to see every fault, few enough to keep the test quick."""
        longest = sorted(self.open_threads.items(), key=lambda item: (-item[1], item[0]))
        return [tid for tid, posts in longest if posts >= min_posts][:most]


def figures(svc: Service) -> tuple:
    b = svc.bulletin(Q1)  # checks the cases as of the (frozen) clock first
    return b.received, b.answered_in_time, b.not_in_time, b.proactive["total"]


def poll(svc: Service) -> tuple[PollResult, int]:
    """One poll through the proxy, with quick retries; (result, retries made)."""
    fetchers = []

    def quick(forum_config):
        fetchers.append(make_fetcher(forum_config, backoff=0.001))
        return fetchers[-1]

    try:
        [result] = svc.poll(fetcher_factory=quick)
    finally:
        for f in fetchers:
            f.close()
    return result, sum(f.stats.retries for f in fetchers)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def baseline(request, tmp_path_factory, forum, proxy):
    """Like conftest's ``db_url`` (SQLite, then the real PostgreSQL), but one baseline per module:
    a clean poll through the proxy, checked; each test works on a copy of it."""
    admin = None
    if request.param == "postgresql":
        request.getfixturevalue("postgres_url")  # skips (or fails in CI) without a server
        admin = _postgres_admin_url()
    dbs = Databases(request.param, tmp_path_factory.mktemp(f"faults_{request.param}"), admin)
    try:
        url = dbs.fresh()
        svc = Service(config_for(proxy, url), clock=forum.clock.now)
        try:
            result, _ = poll(svc)
            assert result.status == "ok" and result.store.new > 500, result.summary()
            got = figures(svc)
        finally:
            svc.close()
        assert got == BULLETIN
        assert scalar(url, "SELECT count(*) FROM post_revisions") == 0
        with engine_for(url).connect() as conn:
            open_threads = dict(conn.execute(sa.text(
                "SELECT t.tid, (SELECT count(*) FROM posts p WHERE p.thread_id = t.id) FROM threads t "
                "JOIN response_cases c ON c.thread_id = t.id WHERE c.state IN ('pending', 'overdue')")).all())
        assert open_threads, "the scenario has open cases to recheck"
        yield Baseline(dbs, url, dump(url), got, open_threads)
    finally:
        proxy.clear()
        dbs.close()


@dataclass
class World:
    """A copy of the baseline database, a service on it, and the dump to compare with."""

    url: str
    svc: Service
    reference: Dump
    due: list[int] = field(default_factory=list)

    def make_due(self, tids: list[int]) -> None:
        """Threads read a day ago: the next poll re-reads them in full (the recheck of open cases)."""
        table = ThreadRecord.__table__
        with engine_for(self.url).begin() as conn:
            read_at = conn.execute(sa.select(sa.func.max(table.c.read_at))).scalar()
            conn.execute(sa.update(table).where(table.c.tid.in_(tids)).values(read_at=read_at - timedelta(days=1)))
        self.due = sorted(tids)
        self.reference = dump(self.url)

    def recover(self, baseline: Baseline) -> PollResult:
        """Poll cleanly: the bulletin is exactly the baseline's, and no post was ever revised."""
        result, _ = poll(self.svc)
        assert result.status == "ok", result.summary()
        assert figures(self.svc) == baseline.figures
        assert scalar(self.url, "SELECT count(*) FROM post_revisions") == 0
        return result


@pytest.fixture
def world(baseline, forum, proxy):
    proxy.clear()
    proxy.fired.clear()
    url = baseline.dbs.copy(baseline.url)
    svc = Service(config_for(proxy, url), clock=forum.clock.now, migrate=False)
    yield World(url, svc, baseline.dump)
    proxy.clear()
    svc.close()


def named(result: PollResult, proxy: FaultProxy) -> None:
    """Every page the fault spoiled is named in a warning of the poll."""
    assert proxy.fired, "the fault was never used"
    for _, path in proxy.fired:
        assert any(path.lstrip("/") in w for w in result.warnings), (path, result.warnings)


# ---- faults on thread pages (the recheck of threads with open cases) ------------------


@pytest.mark.parametrize("charset", ["koi8-r", "cp1252"])
def test_thread_pages_under_a_lying_charset_store_nothing(world, baseline, proxy, charset):
    world.make_due(baseline.due())
    proxy.inject(THREAD_PAGES, lie_about_charset(charset))
    result, _ = poll(world.svc)
    assert_same(dump(world.url), world.reference)
    assert result.status == "partial" and len(proxy.fired) == len(world.due)
    for tid in world.due:
        [warning] = [w for w in result.warnings if w.startswith(f"thread {tid}:")]
        assert f"charset {charset}" in warning and "mis-declared" in warning
    proxy.clear()
    world.recover(baseline)


def test_thread_pages_cut_at_60_percent_store_nothing(world, baseline, proxy):
    world.make_due(baseline.due())
    proxy.inject(THREAD_PAGES, cut_at(0.6))
    result, _ = poll(world.svc)
    assert_same(dump(world.url), world.reference)
    assert result.status == "partial" and len(proxy.fired) == len(world.due)
    named(result, proxy)
    assert all("cut off" in w for w in result.warnings if w.startswith("thread "))
    proxy.clear()
    world.recover(baseline)


def test_a_thread_page_missing_a_post_from_its_middle_stores_nothing(world, baseline, proxy):
    # threads with three posts or more: one can go from the middle; the page stays whole
    world.make_due(baseline.due(min_posts=3))
    assert world.due
    proxy.inject(THREAD_PAGES, drop_middle_post)
    result, _ = poll(world.svc)
    assert_same(dump(world.url), world.reference)  # no post marked deleted, none stored as edited
    assert result.status == "partial" and len(proxy.fired) == len(world.due)
    named(result, proxy)
    proxy.clear()
    world.recover(baseline)


@pytest.mark.parametrize("fault,reason", [(status(500), "HTTP 500"), (RESET, "connection failed")])
def test_a_thread_page_that_keeps_failing_stores_nothing(world, baseline, proxy, fault, reason):
    world.make_due(baseline.due())
    proxy.inject(THREAD_PAGES, fault)
    result, retries = poll(world.svc)
    assert_same(dump(world.url), world.reference)
    assert result.status == "partial" and retries > 0
    for tid in world.due:
        [warning] = [w for w in result.warnings if w.startswith(f"thread {tid}:")]
        assert reason in warning and f"tid={tid}" in warning
    proxy.clear()
    world.recover(baseline)


# ---- faults on list pages (read at every poll) -------------------------------------------


UNFINISHED_WALK = {"board_state": {"walk_complete"}}


def walks(url: str) -> dict[int, bool]:
    with engine_for(url).connect() as conn:
        return {fid: bool(done) for fid, done in conn.execute(sa.text("SELECT fid, walk_complete FROM board_state"))}


@pytest.mark.parametrize("charset", ["koi8-r", "cp1252"])
def test_a_list_page_under_a_lying_charset_fails_the_poll_and_stores_nothing(world, baseline, proxy, charset):
    proxy.inject(LIST_PAGES, lie_about_charset(charset))
    result, _ = poll(world.svc)
    assert_same(dump(world.url), baseline.dump, UNFINISHED_WALK)
    assert result.status == "failed" and f"charset {charset}" in result.error and "mis-declared" in result.error
    assert [done for done in walks(world.url).values()].count(False) == 1  # the board it failed on
    proxy.clear()
    world.recover(baseline)
    assert all(walks(world.url).values())


def test_a_list_page_cut_in_half_stores_nothing(world, baseline, proxy):
    proxy.inject(LIST_PAGES, cut_at(0.5))
    result, _ = poll(world.svc)
    assert_same(dump(world.url), baseline.dump, UNFINISHED_WALK)
    assert result.status == "partial"
    named(result, proxy)
    assert not any(walks(world.url).values())  # every board is walked again next time
    proxy.clear()
    world.recover(baseline)
    assert all(walks(world.url).values())


def test_list_rows_that_lost_their_author_and_counts_store_nothing(world, baseline, proxy):
    proxy.inject(LIST_PAGES, strip_list_fields)
    result, _ = poll(world.svc)
    assert_same(dump(world.url), baseline.dump, UNFINISHED_WALK)
    assert result.status == "partial"
    named(result, proxy)
    assert not any(walks(world.url).values())
    proxy.clear()
    world.recover(baseline)


@pytest.mark.parametrize("fault", [status(500), RESET], ids=["500-then-ok", "reset-then-ok"])
def test_a_list_page_that_fails_once_is_retried_and_nothing_changes(world, baseline, proxy, fault):
    proxy.inject(LIST_PAGES, fault, times=1)
    result, retries = poll(world.svc)
    assert_same(dump(world.url), world.reference)  # byte for byte, walks included
    assert len(proxy.fired) == 1 and retries == 1  # the fetcher saw the failure and asked again
    assert result.status == "ok" and result.requests == len(baseline.dump["board_state"][1]) + 1
    proxy.clear()
    world.recover(baseline)


# ---- a mis-declared forum from the first poll on ----------------------------------------------


def test_a_mis_declared_forum_first_stores_nothing_and_no_revision_is_ever_written(baseline, forum, proxy):
    proxy.fired.clear()
    url = baseline.dbs.fresh()
    svc = Service(config_for(proxy, url), clock=forum.clock.now)
    revisions = "SELECT count(*) FROM post_revisions"
    try:
        proxy.inject("", lie_about_charset("koi8-r"))  # every page
        first, _ = poll(svc)
        assert first.status == "failed" and "koi8-r" in first.error
        assert scalar(url, "SELECT count(*) FROM threads") == 0 and scalar(url, "SELECT count(*) FROM posts") == 0
        proxy.clear()
        proxy.fired.clear()

        proxy.inject(THREAD_PAGES, lie_about_charset("koi8-r"))  # the lists are right, the threads lie
        second, _ = poll(svc)
        assert second.status == "partial" and second.threads_fetched == len(proxy.fired) > 100
        assert scalar(url, "SELECT count(*) FROM posts") == 0 and scalar(url, revisions) == 0
        assert scalar(url, "SELECT count(*) FROM threads WHERE read_at IS NOT NULL") == 0
        proxy.clear()

        third, _ = poll(svc)
        assert third.status == "ok" and third.store.changed == 0 and third.store.deleted == 0
        assert figures(svc) == BULLETIN
        assert scalar(url, revisions) == 0
    finally:
        proxy.clear()
        svc.close()
    # as if the bad pages had never been served; but for the threads' write counters (the list rows
    # were stored in one poll and the threads read in the next: one write more than a clean poll)
    counters = {"threads": {"version", "checked_version"}}
    assert_same(dump(url), baseline.dump, counters)
