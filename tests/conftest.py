"""Shared fixtures: paths to the real pages, database URLs (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "fixtures" / "real"
LOCAL = REAL / "discuz-x35-local"


def real_dir() -> Path:
    if not LOCAL.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real fixtures missing at {REAL}")
        pytest.skip(f"real fixtures not found at {REAL} (they live in ../shared beside the repo)")
    return REAL


@pytest.fixture(scope="session")
def ground_truth() -> dict:
    return json.loads((real_dir() / "discuz-x35-local" / "ground_truth.json").read_text("utf-8"))


def _postgres_admin_url() -> str:
    return os.environ.get("SPOKESWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def new_postgres_database() -> Iterator[str]:
    """A PostgreSQL database of its own, created here and dropped after (others share the server).
    Skips with the reason when no server answers; in CI (CI=true) that fails instead."""
    import sqlalchemy as sa
    admin_url = _postgres_admin_url()
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "absent"
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {admin_url}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {admin_url} ({exc.__class__.__name__}); "
                    "set SPOKESWATCH_TEST_PG to a server URL to run these tests")
    name = f"spokeswatch_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL database of this run's own, created here and dropped after."""
    with new_postgres_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_url():
    """An empty PostgreSQL database for one test (e.g. daemons racing to migrate it)."""
    with new_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Each storage test runs on SQLite and on the real PostgreSQL (emptied after each test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'spokeswatch.sqlite3'}"
        return
    import sqlalchemy as sa
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def inbox():
    """A local webhook that records what Apprise's json:// targets post to it: (port, [{path, title,
    message, …}]); a path containing "broken" answers 500."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append({"path": self.path, **json.loads(body)})
            self.send_response(200 if "broken" not in self.path else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


@pytest.fixture
def caplog_loguru():
    """Messages loguru logs during a test."""
    from loguru import logger
    messages: list[str] = []
    handler = logger.add(lambda m: messages.append(str(m)), level="DEBUG")
    yield messages
    logger.remove(handler)


@pytest.fixture
def repo(db_url):
    """A migrated repository on each database, with the forums "demo" and "other" known."""
    from models.db import make_engine, upgrade
    from models.repository import Repository
    engine = make_engine(db_url)
    upgrade(engine)
    r = Repository(engine)
    r.sync_forum("demo", "荆门社区", "discuz", "http://f/")
    r.sync_forum("other", "别的论坛", "discuz", "http://o/")
    yield r
    engine.dispose()
