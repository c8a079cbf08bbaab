"""The repository's base: one transaction per operation, driver errors turned into StorageError."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import StorageError


class RepositoryBase:
    """Holds the engine; every operation of the stores runs in :meth:`session` or :meth:`transaction`."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self, what: str) -> Iterator[Session]:
        """One ORM transaction; driver errors become StorageError naming ``what``."""
        with _storage_errors(what), self._sessions.begin() as s:
            yield s

    @contextmanager
    def transaction(self, what: str) -> Iterator[Connection]:
        """One Core transaction, for hot paths that need no ORM unit of work."""
        with _storage_errors(what), self.engine.begin() as conn:
            yield conn


@contextmanager
def _storage_errors(what: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"{what} failed: {exc.__class__.__name__}: {exc}".splitlines()[0]) from exc
