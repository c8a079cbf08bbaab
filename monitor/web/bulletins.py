"""The bulletins the web view shows and offers for download, written once per change of the data.

A bulletin of a busy quarter takes a second or two to compute and its Word file several more,
and the data changes with every poll. So:

* each (period, language) keeps its latest files in ``state_dir/web-bulletins/<period>-<lang>-<version>/``,
  ``version`` a hash of the data stamp and the config;
* a request whose version is not written yet gets the latest written one (its 统计截至 time says
  how fresh it is) while one background thread writes the new one; only the very first request
  of a (period, language) waits for it;
* the page needs HTML and JSON (with the charts) only: Word and Excel are written when someone
  first downloads them.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from loguru import logger

from models.repository import Repository
from monitor.bulletin import Bulletin, build_bulletin
from monitor.check import config_fingerprint
from monitor.config import Config
from monitor.periods import Period
from monitor.render import write_all

PAGE_FORMATS = ("html", "json", "md")  # written with the page; the others on their first download
DOWNLOAD_FORMATS = ("html", "docx", "xlsx", "md", "json")
KEPT_IN_MEMORY = 8  # bulletins kept for their Word and Excel files


@dataclass
class Written:
    """One written bulletin: its folder and what bulletin.json holds."""

    folder: Path
    data: dict
    fresh: bool  # written for the data as it is now


class BulletinFiles:
    """The web view's bulletins (see the module doc); thread-safe."""

    def __init__(self, root: Path, repo: Repository):
        self.root = root
        self.repo = repo
        self._lock = threading.Lock()
        self._building: set[Path] = set()
        self._folder_locks: dict[Path, threading.Lock] = {}
        self._bulletins: dict[Path, Bulletin] = {}  # the newest few, for their office formats

    def _folder(self, config: Config, period: Period, lang: str) -> Path:
        stamp = self.repo.data_stamp()
        version = hashlib.sha1(f"{stamp!r}{config_fingerprint(config)}{config.office!r}{config.reports!r}"
                               .encode("utf-8")).hexdigest()[:12]
        return self.root / f"{_safe(period.label)}-{lang}-{version}"

    def latest(self, config: Config, period: Period, lang: str, now: datetime) -> Written:
        """The bulletin for the data as it is, or the latest written while that one is written."""
        folder = self._folder(config, period, lang)
        if (folder / "bulletin.json").exists():
            return Written(folder, _read(folder), True)
        older = self._newest_written(period, lang)
        if older is None:  # nothing to show yet: write it now
            self._write(config, period, lang, now, folder)
            return Written(folder, _read(folder), True)
        with self._lock:
            start = folder not in self._building
            self._building.add(folder)
        if start:
            threading.Thread(target=self._write_in_background, args=(config, period, lang, now, folder),
                             name="web-bulletin", daemon=True).start()
        return Written(older, _read(older), False)

    def file(self, config: Config, period: Period, lang: str, now: datetime, fmt: str) -> Path:
        """The file of ``fmt`` of the latest bulletin (written now if it is the first download)."""
        written = self.latest(config, period, lang, now)
        path = written.folder / f"bulletin.{fmt}"
        if path.exists():
            return path
        with self._folder_lock(written.folder):
            if not path.exists():
                b = self._bulletins.get(written.folder) or self._rebuild(config, period, lang, written.data)
                tmp = _private_tmp(written.folder / f"{fmt}")
                write_all("bulletin", b, tmp, (fmt,), config.reports.font)
                (tmp / f"bulletin.{fmt}").replace(path)
                shutil.rmtree(tmp, ignore_errors=True)
        return path

    # ---- writing -----------------------------------------------------------------------------

    def _write_in_background(self, config: Config, period: Period, lang: str, now: datetime, folder: Path) -> None:
        try:
            self._write(config, period, lang, now, folder)
        except Exception:  # noqa: BLE001 - the page keeps showing the older one; the log says why
            logger.exception("web view: writing the {} bulletin failed", period.label)
        finally:
            with self._lock:
                self._building.discard(folder)

    def _write(self, config: Config, period: Period, lang: str, now: datetime, folder: Path) -> None:
        with self._folder_lock(folder):
            if (folder / "bulletin.json").exists():
                return
            _, end = period.bounds(config.timezone)
            b = build_bulletin(config, self.repo, period, min(end, now), lang)
            tmp = _private_tmp(folder)  # another process sharing state_dir may be writing the same
            write_all("bulletin", b, tmp, PAGE_FORMATS, config.reports.font)
            try:
                tmp.rename(folder)
            except OSError:  # that other process was first: its files are the same
                shutil.rmtree(tmp, ignore_errors=True)
            self._remember(folder, b)
            self._forget_older(period, lang, keep=folder)

    def _rebuild(self, config: Config, period: Period, lang: str, data: dict) -> Bulletin:
        """The bulletin of written files whose object this process no longer holds: computed again
        as of the same moment (the data stamp is the same, so the figures are too)."""
        return build_bulletin(config, self.repo, period, datetime.fromisoformat(data["as_of"]), lang)

    def _remember(self, folder: Path, b: Bulletin) -> None:
        with self._lock:
            self._bulletins[folder] = b
            while len(self._bulletins) > KEPT_IN_MEMORY:
                self._bulletins.pop(next(iter(self._bulletins)))

    def _folder_lock(self, folder: Path) -> threading.Lock:
        with self._lock:
            return self._folder_locks.setdefault(folder, threading.Lock())

    def _newest_written(self, period: Period, lang: str) -> Path | None:
        done = [p for p in self.root.glob(f"{_safe(period.label)}-{lang}-*")
                if ".tmp" not in p.name and (p / "bulletin.json").is_file()]
        return max(done, key=lambda p: (p / "bulletin.json").stat().st_mtime, default=None)

    def _forget_older(self, period: Period, lang: str, keep: Path) -> None:
        """Remove the earlier versions but the one before ``keep`` (a download may be reading it)."""
        done = sorted((p for p in self.root.glob(f"{_safe(period.label)}-{lang}-*")
                       if p != keep and ".tmp" not in p.name and (p / "bulletin.json").is_file()),
                      key=lambda p: (p / "bulletin.json").stat().st_mtime, reverse=True)
        for old in done[1:]:
            shutil.rmtree(old, ignore_errors=True)
            with self._lock:
                self._bulletins.pop(old, None)
                self._folder_locks.pop(old, None)


def _private_tmp(beside: Path) -> Path:
    """A fresh folder beside ``beside`` that only this process and thread write into."""
    tmp = beside.with_name(f"{beside.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def _read(folder: Path) -> dict:
    return json.loads((folder / "bulletin.json").read_text("utf-8"))


def _safe(label: str) -> str:
    return re.sub(r"[^0-9A-Za-z.-]", "_", label)

