"""Migrations on a database that holds data: 0003 (before the incremental check) → head."""
from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

from models.db import MIGRATIONS, make_engine, upgrade
from models.repository import Repository
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
