"""Migrations on a database that holds data: 0003 (before the incremental check) → head; 0008 → 0009
(user ids as text) and back."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import text

from models.db import MIGRATIONS, make_engine, upgrade
from models.repository import Repository
from models.tables import Base
from monitor.check import run_check
from tests.helpers import local, sample_config


def _to_revision(engine, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_a_database_with_data_upgrades_to_the_incremental_check(db_url):
    engine = make_engine(db_url)
    _to_revision(engine, "0003")
    seen, read = "2011-03-01 10:00:00.000000", "2011-03-01 11:00:00.000000"
    if engine.dialect.name == "postgresql":
        seen, read = seen + "+00", read + "+00"
    with engine.begin() as c:
        c.execute(text("INSERT INTO forums (id, name, engine, base_url) VALUES ('demo', 'demo', 'discuz', 'http://x/')"))
        for tid, read_at in ((7, read), (8, None)):  # 7 read after its last change, 8 never read
            c.execute(text(
                "INSERT INTO threads (forum_id, tid, fid, title, url, posted_at, posted_precision, sticky, "
                "max_replies, max_views, last_post_precision, first_seen_at, last_seen_at, changed_at, read_at, "
                "read_pages, counted) VALUES ('demo', :tid, 2, '小区停水', 'u', :seen, 0, false, 1, 5, 0, :seen, "
                ":seen, :seen, :read, 1, false)"), {"tid": tid, "seen": seen, "read": read_at})
        thread_id = c.execute(text("SELECT id FROM threads WHERE tid = 7")).scalar()
        for pid, floor, deleted in ((1, 1, None), (2, 2, None), (3, 3, seen)):
            c.execute(text(
                "INSERT INTO posts (thread_id, forum_id, pid, floor, author, author_uid, posted_at, posted_precision, "
                "body, body_hash, first_seen_at, last_seen_at, deleted_at) VALUES (:t, 'demo', :pid, :floor, '网友', "
                "1001, :seen, 0, '停水', 'h', :seen, :seen, :deleted)"),
                {"t": thread_id, "pid": pid, "floor": floor, "seen": seen, "deleted": deleted})
    upgrade(engine)
    with engine.connect() as c:
        rows = dict(c.execute(text("SELECT tid, max_floor FROM threads")).all())
        pending = dict(c.execute(text("SELECT tid, read_pending FROM threads")).all())
        assert c.execute(text("SELECT count(*) FROM check_state")).scalar() == 1
    assert rows == {7: 2, 8: 0}  # the highest live floor (floor 3 was deleted)
    assert (bool(pending[7]), bool(pending[8])) == (False, True)
    repo = Repository(engine)
    result = run_check(sample_config(), repo, local(2011, 4, 1))
    assert result.full and result.reason == "first check" and result.states["overdue"] == 2  # 8: unread for weeks
    engine.dispose()


def _downgrade(engine, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_user_ids_become_text_with_every_stored_number_kept(db_url):
    """0008 → 0009: threads.author_uid, posts.author_uid and account_presence.uid hold text; each
    number becomes its decimal string, NULL stays NULL, nothing else moves; the app reads and
    matches them; a downgrade turns them back into numbers (a name has none: NULL, presence row gone)."""
    from sqlalchemy import inspect

    engine = make_engine(db_url)
    _to_revision(engine, "0008")
    seen = "2011-03-01 10:00:00.000000" + ("+00" if engine.dialect.name == "postgresql" else "")
    with engine.begin() as c:
        c.execute(text("INSERT INTO forums (id, name, engine, base_url) VALUES ('demo', 'demo', 'discuz', 'http://x/')"))
        for tid, uid in ((7, 1001), (8, None), (9, 9007199254740993)):  # a number beyond a double's precision
            c.execute(text(
                "INSERT INTO threads (forum_id, tid, fid, title, url, author, author_uid, posted_at, posted_precision, "
                "sticky, max_replies, max_views, last_post_precision, first_seen_at, last_seen_at, changed_at, "
                "read_pages, counted, read_pending, max_floor, version, checked_version) VALUES ('demo', :tid, 2, "
                "'小区停水', 'u', '网友', :uid, :seen, 0, false, 1, 5, 0, :seen, :seen, :seen, 1, false, false, 2, "
                "1, 0)"), {"tid": tid, "uid": uid, "seen": seen})
        thread_id = c.execute(text("SELECT id FROM threads WHERE tid = 7")).scalar()
        for pid, floor, uid in ((1, 1, 1001), (2, 2, 30), (3, 3, None)):
            c.execute(text(
                "INSERT INTO posts (thread_id, forum_id, pid, floor, author, author_uid, posted_at, posted_precision, "
                "body, body_hash, first_seen_at, last_seen_at) VALUES (:t, 'demo', :pid, :floor, '网友', :uid, "
                ":seen, 0, '停水', 'h', :seen, :seen)"), {"t": thread_id, "pid": pid, "floor": floor, "uid": uid,
                                                         "seen": seen})
        c.execute(text("INSERT INTO post_revisions (post_id, body, replaced_at) SELECT id, 'old', :seen FROM posts "
                       "WHERE pid = 2"), {"seen": seen})  # rows referencing posts: the table must not be dropped
        c.execute(text("INSERT INTO account_presence (forum_id, uid, unit_id, username, checked_at) "
                       "VALUES ('demo', 30, 'water', '供水公司发言人', :seen)"), {"seen": seen})
    before = _rows(engine)
    upgrade(engine)
    after = _rows(engine)
    assert after["threads"] == [(7, "网友", "1001"), (8, "网友", None), (9, "网友", "9007199254740993")]
    assert after["posts"] == [(1, 1, "1001"), (2, 2, "30"), (3, 3, None)]
    assert after["presence"] == [("demo", "30", "water")]
    assert [r[:-1] for r in after["threads"]] == [r[:-1] for r in before["threads"]]
    assert [r[:-1] for r in after["posts"]] == [r[:-1] for r in before["posts"]]
    assert after["revisions"] == before["revisions"] == 1
    columns = {t: {c["name"]: c["type"] for c in inspect(engine).get_columns(t)}
               for t in ("threads", "posts", "account_presence")}
    for table, column in (("threads", "author_uid"), ("posts", "author_uid"), ("account_presence", "uid")):
        assert columns[table][column].python_type is str, (table, columns[table][column])
    with engine.connect() as c:  # the models say what the migration made
        diffs = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert [d for d in diffs if "uid" in repr(d) or "account_presence" in repr(d)] == []
    if engine.dialect.name == "sqlite":  # stored as text, not as numbers in a text column
        with engine.connect() as c:
            assert c.execute(text("SELECT DISTINCT typeof(author_uid) FROM posts WHERE author_uid IS NOT NULL")
                             ).scalars().all() == ["text"]
    repo = Repository(engine)
    repo.sync_forum("demo", "demo", "discuz", "http://x/")
    assert repo.presence_checked("demo").keys() == {"30"}
    with engine.begin() as c:  # a name, as forums whose profile links carry one store it
        c.execute(text("UPDATE posts SET author_uid = '张 三' WHERE pid = 3"))
        c.execute(text("INSERT INTO account_presence (forum_id, uid, checked_at) VALUES ('demo', 'alice', :seen)"),
                  {"seen": seen})
    _downgrade(engine, "0008")
    down = _rows(engine)
    assert down["threads"] == [(7, "网友", 1001), (8, "网友", None), (9, "网友", 9007199254740993)]
    assert down["posts"] == [(1, 1, 1001), (2, 2, 30), (3, 3, None)]  # the name has no number
    assert down["presence"] == [("demo", 30, "water")] and down["revisions"] == 1
    upgrade(engine)
    assert _rows(engine)["posts"] == after["posts"]
    engine.dispose()


def _rows(engine) -> dict:
    def rows(sql: str) -> list[tuple]:
        return [tuple(r) for r in c.execute(text(sql))]
    with engine.connect() as c:
        return {"threads": rows("SELECT tid, author, author_uid FROM threads ORDER BY tid"),
                "posts": rows("SELECT pid, floor, author_uid FROM posts ORDER BY pid"),
                "presence": rows("SELECT forum_id, uid, unit_id FROM account_presence ORDER BY uid"),
                "revisions": c.execute(text("SELECT count(*) FROM post_revisions")).scalar()}
