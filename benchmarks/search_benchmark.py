"""Search benchmark: the bigram index (models.search_store) on the scale benchmark's history of 10
forums, 100k threads and 1M posts: what indexing costs, how big the index is, and how fast a search
answers compared with a plain LIKE over titles and bodies.

Run by hand:  .venv/bin/python benchmarks/search_benchmark.py [--posts 1000000] [--database URL] [--keep]

The history is the scale benchmark's (benchmarks/scale_benchmark.py, its build functions imported:
written through the repository as the poller writes it), followed by one full rules check so that
threads have units and cases. ``--database URL`` of a database that already holds such a history
(a run with ``--keep``, given the same ``--posts``) reuses it: its search index is emptied and built
again here (the incremental pass's replies may then land on floors an earlier run wrote: those
are stored as edits).

Printed, each figure measured in the same run:
  * the initial index pass (SearchStore.index_search called until it returns 0, as the service
    does after a poll): seconds and posts/s; the index's size (rows; MB: SQLite pages, PostgreSQL
    pg_total_relation_size); PostgreSQL then runs VACUUM ANALYZE, standing in for autovacuum;
  * the incremental pass after 100 new posts (the scale benchmark's Activity, as the poller writes);
  * search_threads (first page of 50, as the web view asks) for a rare two-character term, a common
    one (the rarest and the commonest bigram of the history's vocabulary with at least 20 threads),
    a four-character phrase, two terms, and two common terms that rarely meet, each without and with
    a unit filter (the unit of the newest result that has one): median of several runs, ÷ the same query as ``LIKE '%term%'`` over titles and
    bodies (newest first, LIMIT 51), whose first page must be the same.

Default database: a temporary SQLite file. ``--database postgresql+psycopg://postgres@host/NAME``
uses PostgreSQL (NAME created when missing). Whatever this run created is dropped at the end
unless ``--keep``; a reused database is kept.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from loguru import logger  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import scale_benchmark as scale  # noqa: E402
from models.db import make_engine, normalise_url, upgrade  # noqa: E402
from models.repository import Repository  # noqa: E402
from monitor.check import calendar_of, run_check  # noqa: E402
from monitor.config import parse_config  # noqa: E402
from monitor.search_text import grams, normalise  # noqa: E402

RUNS, BASELINE_RUNS = 7, 3
PAGE = 50


class SearchDatabase:
    """The benchmark's database: a temporary SQLite file, a given SQLite file or PostgreSQL database
    (created when missing), reused when it already holds a history."""

    def __init__(self, url: str | None, tmp: Path):
        self.created_db: str | None = None
        self.created_file: str | None = None
        if url is None:
            url = f"sqlite:///{tmp / 'search.sqlite3'}"
        self.url = normalise_url(url)
        u = make_url(self.url)
        self.kind = u.get_backend_name()
        if self.kind == "sqlite":
            if not Path(u.database).exists():
                self.created_file = u.database
        else:
            self.server, self.name = u, u.database
            admin = self._admin()
            with admin.connect() as c:
                if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": self.name}).first():
                    c.execute(text(f'CREATE DATABASE "{self.name}"'))
                    self.created_db = self.name
            admin.dispose()
        engine = create_engine(self.url)
        with engine.connect() as c:
            has = engine.dialect.has_table(c, "threads")
            self.reused = bool(has and c.execute(text("SELECT count(*) FROM threads")).scalar())
        engine.dispose()
        if self.created_file is None and self.created_db is None and not self.reused and has:
            raise SystemExit(f"{self.url} has tables but no history: give a new or an empty database")

    def _admin(self):
        return scale.admin_engine(self.server)

    def cleanup(self) -> None:
        scale.remove_created(self.created_file, getattr(self, "server", None), self.created_db)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000, help="posts in the history (threads = posts / 10)")
    ap.add_argument("--database", help="SQLAlchemy URL (PostgreSQL: postgresql+psycopg://postgres@host/NAME); "
                    "default: a temporary SQLite file")
    ap.add_argument("--keep", action="store_true", help="keep what this run created")
    ap.add_argument("--workers", type=int, default=0, help="build processes (PostgreSQL; default 3)")
    args = ap.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still cleans up
    tmp = Path(tempfile.mkdtemp(prefix="spokeswatch-search-"))
    db = SearchDatabase(args.database, tmp)
    ok = False
    try:
        run(args, db, tmp)
        ok = True
    finally:
        if args.keep or db.reused:
            print(f"kept: {db.url}")
        else:
            db.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
        if not ok:
            print("benchmark failed", file=sys.stderr)


def run(args, db: SearchDatabase, tmp: Path) -> None:
    config = parse_config(scale.config_text(db.url, tmp))
    directory, calendar = scale.Directory(config), calendar_of(config)
    engine = make_engine(db.url)
    upgrade(engine)
    repo = Repository(engine)
    shape = scale.Shape(max(scale.NBOARDS, args.posts // 10))
    if db.reused:
        print(f"search benchmark on {db.kind}: reusing {db.url} ({repo.counts()['threads']:,} threads; "
              f"--posts {args.posts:,} must be what it was built with)", flush=True)
    else:
        workers = 1 if db.kind == "sqlite" else (args.workers or 3)
        print(f"search benchmark on {db.kind}: building {shape.threads:,} threads, ~{shape.threads * 10:,} posts "
              f"({workers} process(es))", flush=True)
        posts, seconds = scale.build(db.url, shape, config, workers, "build")
        print(f"history: {posts:,} posts in {seconds:.0f} s", flush=True)
        scale.analyze(db.url)
    if not _scalar(engine, "SELECT count(*) FROM response_cases"):
        t0 = time.perf_counter()
        run_check(config, repo, scale.NOW0, calendar, directory, full=True)
        print(f"full rules check (units and cases): {time.perf_counter() - t0:.0f} s", flush=True)
        scale.analyze(db.url)
    counts = repo.counts()

    # 1. the initial index pass
    with engine.begin() as c:  # a reused history is indexed again from nothing
        c.execute(text("DELETE FROM search_grams" if db.kind == "sqlite" else "TRUNCATE search_grams"))
        c.execute(text("UPDATE search_state SET post_id = 0, revision_id = 0, count_id = 0, thread_id = 0, "
                       "gaps = NULL"))
    scale.analyze(db.url)
    pages_before = _sqlite_pages(engine)
    t0 = time.perf_counter()
    passes = 0
    while repo.index_search() > 0:
        passes += 1
        if passes % 10 == 0:
            el = time.perf_counter() - t0
            print(f"  [index] {passes} passes, {el:.0f} s", flush=True)
    index_s = time.perf_counter() - t0
    rows = _scalar(engine, "SELECT count(*) FROM search_grams")
    if db.kind == "sqlite":
        size_mb = (_sqlite_pages(engine) - pages_before) * _scalar(engine, "PRAGMA page_size") / 2 ** 20
    else:
        size_mb = _scalar(engine, "SELECT pg_total_relation_size('search_grams')") / 2 ** 20
    print(f"initial index: {counts['posts']:,} posts, {counts['threads']:,} threads in {index_s:.0f} s "
          f"({counts['posts'] / index_s:,.0f} posts/s, {passes} passes); {rows:,} rows "
          f"({rows / counts['threads']:.0f} per thread), {size_mb:,.0f} MB", flush=True)
    t0 = time.perf_counter()
    scale.analyze(db.url)
    if db.kind == "postgresql":
        print(f"VACUUM ANALYZE (as autovacuum would): {time.perf_counter() - t0:.0f} s", flush=True)

    # 2. the incremental pass after 100 new posts
    scale.load_ids(repo)
    activity = scale.Activity(shape, directory, seed=int(time.time()))
    activity.next_g = max(shape.threads, _scalar(engine, "SELECT max(tid) FROM threads") + 1)  # a reused history
    added = activity.add_posts(repo, scale.NOW0, scale.NOW0 + timedelta(hours=3))
    t0 = time.perf_counter()
    indexed = 0
    while (n := repo.index_search()) > 0:
        indexed += n
    incremental_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    repo.index_search()
    idle_s = time.perf_counter() - t0
    print(f"incremental pass after {added['new_threads']} new threads and {added['replies']} replies: "
          f"{incremental_s * 1000:.0f} ms ({indexed} posts and titles); a pass with nothing to do "
          f"{idle_s * 1000:.1f} ms", flush=True)

    # 3. searches ÷ LIKE
    rare, common = _vocabulary_terms(engine)
    cases = [("rare 2-char term", [rare]), ("common 2-char term", [common]), ("4-char phrase", ["现场核实"]),
             ("two terms", ["停水", "尽快"]), ("two common terms rarely together", ["路灯", "噪音"])]
    print(f"terms: rare {rare!r} ({_threads_with(engine, rare):,} threads), common {common!r} "
          f"({_threads_with(engine, common):,} threads)", flush=True)
    table = []
    for name, terms in cases:
        first, _ = repo.search_threads(terms, limit=PAGE)
        unit = next((r.unit_id or r.proactive_unit_id for r in first if r.unit_id or r.proactive_unit_id), "water")
        for unit in (None, unit):
            got, search_s = _timed(lambda: repo.search_threads(terms, unit_id=unit, limit=PAGE), RUNS)
            ids = [r.id for r in got[0]]
            expected, like_s = _timed(lambda: _by_like(engine, terms, unit), BASELINE_RUNS)
            if ids != expected[:PAGE] or got[1] != (len(expected) > PAGE):
                raise SystemExit(f"{name} {terms} unit={unit}: the search's first page differs from LIKE's:\n"
                                 f"  search {ids[:10]}… more={got[1]}\n  like   {expected[:10]}…")
            label = f"{name} {' '.join(terms)}" + (f" + unit {unit}" if unit else "")
            table.append((label, len(ids), search_s, like_s))
            print(f"  {label}: {len(ids)} on the page{' (more)' if got[1] else ''}, search {search_s * 1000:.1f} ms, "
                  f"LIKE {like_s * 1000:.0f} ms -> {like_s / search_s:.0f}× faster (same page)", flush=True)
    engine.dispose()

    label = f"{counts['posts'] / 1e6:.2f}M posts" if counts['posts'] >= 1e6 else f"{counts['posts'] / 1e3:.0f}k posts"
    print(f"\n{db.kind}, {label}, {counts['threads']:,} threads:")
    print("| figure | measured |")
    print("| --- | --- |")
    print(f"| initial index pass | {index_s:.0f} s, {counts['posts'] / index_s:,.0f} posts/s |")
    print(f"| index size | {rows:,} rows, {size_mb:,.0f} MB |")
    print(f"| incremental pass after 100 posts | {incremental_s * 1000:.0f} ms |")
    print(f"| pass with nothing to do | {idle_s * 1000:.1f} ms |")
    print("\n| search (first page of 50) | results | search (median) | LIKE (median) | LIKE ÷ search |")
    print("| --- | --- | --- | --- | --- |")
    for label, n, s, like in table:
        print(f"| {label} | {n} | {s * 1000:.1f} ms | {like * 1000:.0f} ms | {like / s:.0f}× |")


def _scalar(engine, sql: str):
    with engine.connect() as c:
        return c.execute(text(sql)).scalar()


def _sqlite_pages(engine) -> int:
    if engine.dialect.name != "sqlite":
        return 0
    return _scalar(engine, "PRAGMA page_count") - _scalar(engine, "PRAGMA freelist_count")


def _timed(fn, runs: int):
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def _threads_with(engine, term: str) -> int:
    [g] = grams(term)
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM search_grams WHERE gram = :g"), {"g": g}).scalar()


def _vocabulary_terms(engine) -> tuple[str, str]:
    """The rarest (in at least 20 threads) and the commonest two-Chinese-character bigram of the
    words the history is made of."""
    words = scale.SUBJECTS + scale.PHRASES + [u[1] for u in scale.UNITS] + [a for u in scale.UNITS for a in u[2]]
    pairs = {w[i:i + 2] for w in map(normalise, words) for i in range(len(w) - 1)}
    pairs = sorted(p for p in pairs if all("\u4e00" <= ch <= "\u9fff" for ch in p))
    counted = sorted((_threads_with(engine, p), p) for p in pairs)
    rare = next(p for n, p in counted if n >= 20)
    return rare, counted[-1][1]


def _by_like(engine, terms: list[str], unit: str | None) -> list[int]:
    """The baseline: the same search as LIKE '%term%' over the titles and the posts' bodies."""
    where, params = [], {}
    for i, term in enumerate(terms):
        params[f"p{i}"] = f"%{term}%"
        where.append(f"(t.title LIKE :p{i} OR EXISTS (SELECT 1 FROM posts p WHERE p.thread_id = t.id "
                     f"AND p.body LIKE :p{i}))")
    if unit:
        params["u"] = unit
        where.append("(t.unit_id = :u OR t.proactive_unit_id = :u OR c.unit_id = :u)")
    sql = (f"SELECT t.id FROM threads t LEFT JOIN response_cases c ON c.thread_id = t.id WHERE {' AND '.join(where)} "
           f"ORDER BY t.posted_at IS NULL, t.posted_at DESC, t.id DESC LIMIT {PAGE + 1}")
    with engine.connect() as c:
        return list(c.execute(text(sql), params).scalars())


if __name__ == "__main__":
    main()
