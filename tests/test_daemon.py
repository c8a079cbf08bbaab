"""The daemon: polls in a pool of max_parallel_polls, one rules check at a time, a prompt stop on SIGTERM."""
from __future__ import annotations

import re
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from models.db import make_engine, upgrade
from monitor.config import parse_config
from monitor.daemon import CheckRunner, Daemon
from tests.helpers import start_forum
from tests.running import STOP_SECONDS, RunningDaemon, sample_config, write_config

POLL_LINE = re.compile(r" INFO +poll (\S+): ")


# ---- the coalescing, at unit level ----------------------------------------------------------

def test_requests_during_a_running_check_make_exactly_one_more_check():
    stop = threading.Event()
    started, release = threading.Event(), threading.Event()
    calls: list[datetime | None] = []
    active, most = [0], [0]
    guard = threading.Lock()

    def check(now):
        with guard:
            active[0] += 1
            most[0] = max(most[0], active[0])
            calls.append(now)
            first = len(calls) == 1
        if first:
            started.set()
            release.wait(30)
        with guard:
            active[0] -= 1

    runner = CheckRunner(check, interval_seconds=3600, stop=stop)
    runner.start()
    try:
        runner.request()
        assert started.wait(30), "the requested check never started"
        askers = [threading.Thread(target=lambda: [runner.request() for _ in range(50)]) for _ in range(8)]
        for t in askers:
            t.start()
        for t in askers:
            t.join()
        digest = threading.Thread(target=runner.run)  # the digest's own check waits for the running one
        digest.start()
        release.set()
        digest.join(30)
        deadline = time.monotonic() + 30
        while len(calls) < 3 and time.monotonic() < deadline:  # the coalesced check, and the digest's
            time.sleep(0.01)
    finally:
        stop.set()
        runner.shutdown()
    assert len(calls) == 3  # the running one, one for the 400 requests, the digest's
    assert most[0] == 1  # never two at once
    runner.request()
    assert runner.run() is None and len(calls) == 3  # nothing runs after the stop


def test_periodic_check_runs_without_requests_and_none_after_stop():
    stop = threading.Event()
    ran = threading.Event()
    runner = CheckRunner(lambda now: ran.set(), interval_seconds=0.05, stop=stop)
    runner.start()
    try:
        assert ran.wait(30)
    finally:
        stop.set()
        runner.shutdown()
    count = runner.runs
    runner.request()
    time.sleep(0.2)
    assert runner.runs == count


class _FakeService:
    def __init__(self, config, stored: bool | None):
        self.config = config
        self.stop = threading.Event()
        self.clock = lambda: datetime.now(ZoneInfo("UTC"))
        self.engine = make_engine("sqlite://")  # the daemon's shared schedule lives in the database
        upgrade(self.engine)
        self.polled: list[str] = []
        self.stored = stored

    def poll(self, forum_id=None):
        self.polled.append(forum_id)
        if self.stored is None:  # a PollResult from before `stored_something` existed
            return [SimpleNamespace(forum_id=forum_id)]
        return [SimpleNamespace(forum_id=forum_id, stored_something=self.stored)]

    def check(self, now=None):
        raise AssertionError("the poll job never checks by itself")


def _config(**top):
    text = "forums:\n" + "".join(
        f"  - {{id: f{i}, name: F{i}, base_url: 'http://127.0.0.1:9/', boards: [{{fid: 2}}]}}\n" for i in range(10))
    return parse_config(text + "".join(f"{k}: {v}\n" for k, v in top.items()))


@pytest.mark.parametrize("stored,asks", [(True, True), (False, False), (None, True)])
def test_a_poll_asks_for_a_check_only_when_it_stored_something(stored, asks):
    daemon = Daemon(_FakeService(_config(), stored))
    daemon.poll_job("f1")
    assert daemon.service.polled == ["f1"] and daemon.checks._wake.is_set() is asks


def test_a_poll_job_queued_before_the_stop_does_nothing():
    daemon = Daemon(_FakeService(_config(), True))
    daemon.request_stop()
    daemon.poll_job("f1")
    daemon.digest_job()
    assert daemon.service.polled == [] and not daemon.checks._wake.is_set()


def test_the_poll_pool_is_max_parallel_polls_or_the_forums_capped():
    assert Daemon(_FakeService(_config(max_parallel_polls=3), True)).poll_pool_size == 3
    assert Daemon(_FakeService(_config(), True)).poll_pool_size == 8  # 10 forums, capped


def test_the_digest_fires_at_the_offices_time_on_a_utc_host(monkeypatch):
    import tzlocal
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    tzlocal.reload_localzone()
    try:
        daemon = Daemon(_FakeService(_config(timezone="Asia/Shanghai"), True))
        daemon.schedule()
        daemon.scheduler.start(paused=True)
        try:
            fire = daemon.scheduler.get_job("digest").next_run_time
        finally:
            daemon.scheduler.shutdown(wait=False)
    finally:
        monkeypatch.undo()
        time.tzset()
        tzlocal.reload_localzone()
    local = fire.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (22, 0), fire


# ---- the daemon as an operator runs it --------------------------------------------------------

def _write_config(tmp_path: Path, base_url: str, forums: int, parallel: int) -> Path:
    """The sample config with the demo forum listed under several forum ids (each its own data)."""
    raw = sample_config()
    demo = raw["forums"][0]
    demo.update(base_url=base_url, rate_limit=0)
    ids = ["demo"] + [f"demo{i}" for i in range(2, forums + 1)]
    raw["forums"] = [{**demo, "id": fid} for fid in ids]
    for unit in raw["units"]:
        unit["accounts"] = [{**a, "forum": fid} for a in unit["accounts"] for fid in ids]
    raw["max_parallel_polls"] = parallel
    raw["digest"]["out_dir"] = str(tmp_path / "reports")
    raw["state_dir"] = str(tmp_path / "state")
    raw["health"] = {"listen": "127.0.0.1:0"}  # any free port: tests may run beside a real daemon
    return write_config(tmp_path / "config.yaml", raw)


class _Running(RunningDaemon):
    """`spokeswatch run -c cfg` on a SQLite file of its own."""

    def __init__(self, tmp_path: Path, cfg: Path):
        self.db = tmp_path / "live.sqlite3"
        super().__init__(tmp_path, cfg, {"SPOKESWATCH_DATABASE": f"sqlite:///{self.db}"})


def _cases(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as c:
        return dict(c.execute("select state, count(*) from response_cases group by state").fetchall())


def _duplicate_events(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute("select case_id, state, at, count(*) from case_events group by case_id, state, at "
                         "having count(*) > 1").fetchall()


def _assert_clean_exit(daemon: _Running) -> str:
    err = daemon.log.read_text("utf-8", errors="replace")
    assert daemon.proc.returncode == 0, err[-3000:]
    assert "IntegrityError" not in err and "Traceback" not in err, err[-3000:]
    assert "stopped cleanly" in err
    return err


def test_polls_in_parallel_then_one_check_matches_a_plain_check(tmp_path):
    forum = start_forum()
    daemon = None
    try:
        daemon = _Running(tmp_path, _write_config(tmp_path, forum.base_url, forums=6, parallel=4))
        ids = {"demo", *(f"demo{i}" for i in range(2, 7))}

        def all_polled_then_checked(lines):
            """Every forum polled, and a check that started after the last poll stored its posts has ended."""
            polls = [i for i, line in enumerate(lines) if POLL_LINE.search(line)]
            if {POLL_LINE.search(lines[i]).group(1) for i in polls} != ids:
                return False
            later = lines[polls[-1]:]
            started = next((i for i, line in enumerate(later) if "rules check started" in line), None)
            return started is not None and any("checked:" in line for line in later[started:])
        daemon.wait_for(all_polled_then_checked)
        assert daemon.terminate() < STOP_SECONDS
        err = _assert_clean_exit(daemon)
        assert "6 forum(s), up to 4 polled at once" in err
        assert all(f"poll {fid}: ok," in err for fid in ids)
        checks = [m.group(0) for m in re.finditer(r"rules check started|checked:", err)]
        assert checks[:2] == ["rules check started", "checked:"]
        assert all(a != b for a, b in zip(checks, checks[1:]))  # one at a time: each ends before the next starts
        by_daemon = _cases(daemon.db)
        assert by_daemon.get("overdue", 0) > 0 and _duplicate_events(daemon.db) == []
        plain = daemon.cli("check")
        assert plain.returncode == 0, plain.stderr
        assert _cases(daemon.db) == by_daemon  # the daemon's checks left what one plain check gives
        assert _duplicate_events(daemon.db) == []
    finally:
        if daemon:
            daemon.close()
        forum.stop()


def test_sigterm_with_polls_running_and_queued_exits_promptly_without_more_checks(tmp_path):
    forum = start_forum()
    daemon = None
    try:
        daemon = _Running(tmp_path, _write_config(tmp_path, forum.base_url, forums=8, parallel=4))
        daemon.wait_for(lambda lines: any(POLL_LINE.search(line) for line in lines))  # one done, others busy
        daemon.terminate()
        err = _assert_clean_exit(daemon)
        after = err.split("stop requested", 1)[1]
        assert "rules check started" not in after  # the one running may end, none starts
        assert after.count("checked:") <= 1
        assert len(POLL_LINE.findall(after)) <= 4  # only the polls that were running end; queued ones never start
        assert _duplicate_events(daemon.db) == []
    finally:
        if daemon:
            daemon.close()
        forum.stop()
