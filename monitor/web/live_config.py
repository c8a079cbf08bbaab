"""The config of a standalone ``spokeswatch web``: re-read when config.yaml changes, so a new user
or unit applies at the next request; an edit that does not validate is logged and the last good
config stays in use."""
from __future__ import annotations

import threading
from pathlib import Path

from loguru import logger

from monitor.config import Config, load_config
from monitor.errors import ConfigError


class LiveConfig:
    """Call it for the current config (one stat of the file per call)."""

    def __init__(self, path: Path, config: Config):
        self.path = path
        self.config = config
        self._stamp = self._file_stamp()
        self._lock = threading.Lock()

    def _file_stamp(self) -> tuple | None:
        try:
            st = self.path.stat()
            return st.st_mtime_ns, st.st_size, st.st_ino
        except OSError:
            return None

    def __call__(self) -> Config:
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return self.config
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self.config = load_config(self.path)
                    logger.info("web view: {} changed, config reloaded", self.path)
                except ConfigError as exc:
                    logger.error("web view: {} changed but does not load, keeping the last good config: {}",
                                 self.path, exc)
        return self.config
