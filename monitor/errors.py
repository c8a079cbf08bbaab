"""Errors of the monitor; users see their messages, never a traceback.

    SpokeswatchError
    ├── ConfigError        config.yaml is unreadable or invalid (file, key path, line)
    ├── CalendarError      a date the working-day calendar cannot answer for
    └── StorageError       the database refused an operation (driver error wrapped)

Scraper errors (FetchError, ParseError) live in :mod:`scrapers.errors`.
"""
from __future__ import annotations


class SpokeswatchError(Exception):
    """Base class of every error the monitor reports to a user."""


class ConfigError(SpokeswatchError):
    """A problem in config.yaml, located by file, key path and (when known) line."""

    def __init__(self, path: str, message: str, key_path: str | None = None, line: int | None = None):
        where = path + (f":{line}" if line else "")
        super().__init__(f"{where}: {key_path + ': ' if key_path else ''}{message}")
        self.path, self.key_path, self.line, self.message = path, key_path, line, message


class CalendarError(SpokeswatchError):
    """The working-day calendar has no answer for a date."""


class StorageError(SpokeswatchError):
    """A database operation failed; the message names the operation."""
