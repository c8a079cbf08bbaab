"""The storage layer on SQLite and on the real PostgreSQL: migrations, idempotent writes, history."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from models.db import make_engine, upgrade
from models.repository import ReadDone
from models.tables import PostRecord, PostRevision, ThreadCount, ThreadRecord
from scrapers.records import Post, ThreadRow
from tests.helpers import local, run_at_once

T0 = local(2011, 3, 1, 9, 0)


def row(tid=7, replies=1, views=10, last=T0 + timedelta(hours=1), poster="漳河水") -> ThreadRow:
    return ThreadRow(tid=tid, title="自来水发黄", url=f"http://f/forum.php?mod=viewthread&tid={tid}",
                     author="荆门老张", author_uid="2", posted_at=T0, posted_precision=43200, replies=replies,
                     views=views, last_post_at=last, last_post_precision=30, last_poster=poster,
                     category="市供水公司", category_id=2)


def post(pid, floor, body="水是黄的", at=T0, note=None) -> Post:
    return Post(pid=pid, floor=floor, author="荆门老张", author_uid="2", posted_at=at, posted_precision=0,
                body=body, edit_note=note)


def test_migrations_create_the_schema_and_are_idempotent(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"forums", "threads", "posts", "post_revisions", "response_cases", "case_events",
            "poll_runs", "thread_counts", "board_state", "alembic_version"} <= tables
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_thread_rows_are_idempotent_and_keep_count_history(repo):
    ids = repo.upsert_thread_rows("demo", 2, [row()], T0)
    again = repo.upsert_thread_rows("demo", 2, [row()], T0 + timedelta(minutes=10))
    assert ids == again
    repo.upsert_thread_rows("demo", 2, [row(replies=2, views=30)], T0 + timedelta(hours=2))
    with repo.session("t") as s:
        counts = s.execute(select(ThreadCount.replies, ThreadCount.views).order_by(ThreadCount.id)).all()
        t = s.scalars(select(ThreadRecord)).one()
    assert counts == [(1, 10), (2, 30)]
    assert (t.max_replies, t.max_views, t.posted_at) == (2, 30, T0)
    assert t.posted_at.tzinfo is not None  # aware UTC on every backend


def test_posts_are_stored_once_and_edits_keep_history(repo):
    tid = repo.upsert_thread_rows("demo", 2, [row()], T0)[7]
    first = repo.store_posts("demo", tid, [post(11, 1), post(12, 2, "顶")], [None, None], T0)
    assert (first.new, first.changed) == (2, 0)
    same = repo.store_posts("demo", tid, [post(11, 1), post(12, 2, "顶")], [None, None], T0)
    assert (same.new, same.changed) == (0, 0)
    edited = repo.store_posts("demo", tid, [post(11, 1, "水是黄的，补充：已三天", note="本帖最后由 荆门老张 于 2011-3-2 编辑")],
                              [None], T0 + timedelta(days=1))
    assert edited.changed == 1
    with repo.session("t") as s:
        assert s.scalar(select(PostRecord.body).where(PostRecord.pid == 11)) == "水是黄的，补充：已三天"
        assert s.scalars(select(PostRevision.body)).all() == ["水是黄的"]
        assert s.scalar(select(ThreadRecord.posted_at)) == T0  # refined from the opening post


def test_vanished_posts_and_threads_are_marked_never_dropped(repo):
    tid = repo.upsert_thread_rows("demo", 2, [row()], T0)[7]
    repo.store_posts("demo", tid, [post(11, 1), post(12, 2), post(13, 3)], [None] * 3, T0)
    reread = repo.store_posts("demo", tid, [post(11, 1), post(13, 3)], [None] * 2, T0 + timedelta(hours=1),
                              done=ReadDone(1, T0 + timedelta(hours=1), frozenset({11, 13})))
    assert (reread.new, reread.changed, reread.deleted) == (0, 0, 1)
    repo.mark_thread_deleted(tid, T0 + timedelta(hours=2))
    with repo.session("t") as s:
        rows = s.execute(select(PostRecord.pid, PostRecord.deleted_at).order_by(PostRecord.pid)).all()
    assert [pid for pid, _ in rows] == [11, 12, 13]
    assert rows[1][1] == T0 + timedelta(hours=1) and rows[0][1] == T0 + timedelta(hours=2)


def test_two_pollers_storing_the_same_posts_at_once_never_duplicate(repo):
    tid = repo.upsert_thread_rows("demo", 2, [row()], T0)[7]
    posts = [post(100 + i, i + 1) for i in range(50)]
    assert run_at_once(lambda: repo.store_posts("demo", tid, posts, [None] * 50, T0), 4) == []
    assert repo.counts()["posts"] == 50


def test_driver_errors_become_storage_errors(repo):
    from monitor.errors import StorageError
    with pytest.raises(StorageError, match="saving posts failed"):
        repo.store_posts("no-such-forum", 999999, [post(1, 1)], [None], T0)
