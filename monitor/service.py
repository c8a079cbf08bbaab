"""The service layer: what the CLI and the daemon's jobs call.

It owns the database engine and repository for one loaded config, and keeps
"now" injectable (a clock), so the demo and the tests run as of any moment.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from loguru import logger

from models.db import make_engine, upgrade
from models.repository import Repository
from monitor.assignment import Directory
from monitor.bulletin import Bulletin, build_bulletin
from monitor.check import CheckResult, calendar_of, run_check
from monitor.config import Config
from monitor.digest import Digest, build_digest
from monitor.errors import SpokeswatchError
from monitor.periods import Period
from monitor.poller import PollResult, Progress, poll_forum, utcnow
from monitor.render import write_all
from scrapers.fetch import Fetcher

Clock = Callable[[], datetime]


class Service:
    """spokeswatch for one config: poll, check, digest, bulletin."""

    def __init__(self, config: Config, clock: Clock = utcnow, migrate: bool = True):
        self.config = config
        self.stop = threading.Event()  # set by the daemon: polls end after the current write
        self.clock = clock
        self.engine = make_engine(config.database)
        if migrate:
            upgrade(self.engine)
        self.repo = Repository(self.engine)
        self.calendar = calendar_of(config)
        self.directory = Directory(config)

    def reconfigure(self, config: Config) -> None:
        """Use a new config from now on (same database): the daemon's reload, between jobs.
        A poll or check already running goes on with the config it started with."""
        calendar, directory = calendar_of(config), Directory(config)
        self.config, self.calendar, self.directory = config, calendar, directory

    def close(self) -> None:
        self.engine.dispose()

    def poll(self, forum_id: str | None = None, recheck: bool = True,
             fetcher_factory: Callable[..., Fetcher] | None = None,
             progress: Progress | None = None) -> list[PollResult]:
        """Poll one forum or all of them; each failure is recorded, none stops the others."""
        forums = [self.config.forum(forum_id)] if forum_id else self.config.forums
        results = []
        for forum in forums:
            fetcher = fetcher_factory(forum) if fetcher_factory else None
            if self.stop.is_set():
                break
            with logger.contextualize(forum=forum.id):
                result = poll_forum(self.config, forum, self.repo, self.clock, fetcher=fetcher, recheck=recheck,
                                    stop=self.stop, progress=progress)
                logger.log("WARNING" if result.status == "failed" else "INFO", "poll {}", result.summary())
                try:  # the search index follows what the poll stored; it never fails the poll
                    while not self.stop.is_set() and self.repo.index_search() > 0:
                        pass
                except SpokeswatchError as exc:
                    logger.warning("indexing for search after the poll of {} failed: {}", forum.id, exc)
            results.append(result)
        return results

    def check(self, now: datetime | None = None, full: bool = False) -> CheckResult:
        """The rules check as of ``now``: what changed since the last one, or everything (``full``)."""
        return run_check(self.config, self.repo, now or self.clock(), self.calendar, self.directory, full=full)

    def digest(self, now: datetime | None = None, lang: str | None = None) -> Digest:
        """The digest as of ``now``; for the present moment the cases are checked first."""
        if now is None:
            now = self.clock()
            self.check(now)
        return build_digest(self.config, self.repo, now, lang)

    def bulletin(self, period: Period, as_of: datetime | None = None, lang: str | None = None) -> Bulletin:
        """The bulletin for ``period`` as of ``as_of`` (default: the period's end, or now if earlier)."""
        now = self.clock()
        self.check(now)  # assignments follow the latest data
        _, end = period.bounds(self.config.timezone)
        return build_bulletin(self.config, self.repo, period, as_of or min(end, now), lang)

    def write_bulletin(self, period: Period, out_dir: str | Path, as_of: datetime | None = None,
                       lang: str | None = None) -> tuple[Bulletin, list[Path]]:
        b = self.bulletin(period, as_of, lang)
        return b, write_all("bulletin", b, out_dir, self.config.reports.formats, self.config.reports.font)
