"""`spokeswatch run` as an operator runs it: a subprocess with real signals, its log in a file."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML

from tests.helpers import ROOT

EXE = [sys.executable, "-m", "monitor"]
STOP_SECONDS = 20  # generous: the daemon should be gone within a few seconds of the write in progress


def sample_config() -> dict:
    """The repository's sample config.yaml, as plain data to edit."""
    return YAML(typ="safe").load((ROOT / "config.yaml").read_text("utf-8"))


def write_config(path: Path, raw: dict) -> Path:
    """Write config data as YAML (atomically: a daemon watching the file never reads half of it)."""
    tmp = path.with_suffix(".tmp")
    yaml = YAML()
    yaml.allow_unicode = True
    yaml.representer.ignore_aliases = lambda *_: True  # config.yaml refuses anchors: write shared parts out
    with tmp.open("w", encoding="utf-8") as fh:
        yaml.dump(raw, fh)
    tmp.replace(path)
    return path


class RunningDaemon:
    """`spokeswatch -v run -c cfg` in ``cwd``; its stderr in ``log``."""

    def __init__(self, cwd: Path, cfg: Path, env: dict | None = None, name: str = "daemon"):
        self.cfg, self.cwd = cfg, cwd
        self.env = {**os.environ, **(env or {})}
        self.log = cwd / f"{name}.log"
        self._err = self.log.open("w")
        self.proc = subprocess.Popen([*EXE, "-v", "run", "-c", str(cfg)], cwd=cwd, env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=self._err, text=True)

    def lines(self) -> list[str]:
        return self.log.read_text("utf-8", errors="replace").splitlines()

    def text(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def wait_for(self, predicate, timeout: float = 180, what: str = "") -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                pytest.fail(f"the daemon exited early ({self.proc.returncode}):\n" + "\n".join(self.lines()[-30:]))
            if predicate(self.lines()):
                return
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what or predicate}; the daemon's log ends:\n"
                    + "\n".join(self.lines()[-30:]))

    def wait_for_text(self, needle: str, timeout: float = 180, after: int = 0) -> None:
        """Wait until ``needle`` appears in the log after its first ``after`` characters."""
        self.wait_for(lambda _lines: needle in self.text()[after:], timeout, repr(needle))

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def terminate(self) -> float:
        """SIGTERM; the seconds until the process was gone."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_SECONDS} s after SIGTERM:\n" + "\n".join(self.lines()[-30:]))
        return time.monotonic() - t0

    def heartbeat(self, state_dir: Path) -> dict:
        return json.loads((state_dir / "heartbeat.json").read_text("utf-8"))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._err.close()

    def cli(self, *args, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*EXE, *args, "-c", str(self.cfg)], cwd=self.cwd, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=300)


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)
