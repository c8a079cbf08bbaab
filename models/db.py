"""Engines and migrations: SQLite (WAL, foreign keys on) or PostgreSQL (psycopg 3)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StorageError

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x5370_6B57_4D69_6772  # the advisory lock key migrations take on PostgreSQL


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL mode, foreign keys and a busy timeout."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
        return engine
    # overflow for a daemon's poll pool (up to max_parallel_polls), its check, dispatcher and /metrics
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=40)


def upgrade(engine: Engine) -> None:
    """Apply every Alembic migration (idempotent)."""
    from alembic import command  # only the commands that migrate pay for Alembic
    from alembic.config import Config as AlembicConfig
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # two nodes starting together: one migrates, the other waits
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise StorageError(f"database migration failed on {engine.url.render_as_string()}: {exc}") from exc
