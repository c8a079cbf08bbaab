"""The daemon as an operator leaves it running: reloads, signals, the office's clock on a UTC host,
health and metrics, failing forums, and replicas sharing one PostgreSQL database.

Every test runs `spokeswatch run` as a subprocess against the demo forum over HTTP."""
from __future__ import annotations

import re
import signal
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from models.coordination import owner_of
from monitor.demoforum.server import DemoClock, DemoForum
from tests.helpers import scenario_copy, start_forum
from tests.running import STOP_SECONDS, RunningDaemon, get, sample_config, write_config

OFFICE = ZoneInfo("Asia/Shanghai")


def _config(tmp_path: Path, base_url: str, *, forum_ids=("demo",), interval: float = 0.1, **top) -> dict:
    """The sample config pointed at a demo forum, polled every ``interval`` minutes, each forum id
    its own copy of the demo forum."""
    raw = sample_config()
    demo = {**raw["forums"][0], "base_url": base_url, "rate_limit": 0, "poll_interval_minutes": interval}
    raw["forums"] = [{**demo, "id": fid} for fid in forum_ids]
    for unit in raw["units"]:
        unit["accounts"] = [{**a, "forum": fid} for a in unit["accounts"] for fid in forum_ids]
    raw["digest"]["out_dir"] = str(tmp_path / "reports")
    raw["state_dir"] = str(tmp_path / "state")
    raw["health"] = {"listen": "127.0.0.1:0"}
    raw.update(top)
    return raw


def _health_port(daemon: RunningDaemon) -> int:
    daemon.wait_for_text("health and metrics on http://")
    line = next(l for l in daemon.lines() if "health and metrics on http://" in l)
    return int(line.split("http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def _polls(daemon: RunningDaemon, forum_id: str, after: int = 0) -> int:
    return daemon.text()[after:].count(f"poll {forum_id}: ok,")


# ---- reload, signals, the office's clock ---------------------------------------------------------

def test_reload_on_edit_and_on_sighup_a_broken_edit_keeps_the_old_config_sigterm_stops(tmp_path):
    forum = start_forum()
    cfg = tmp_path / "config.yaml"
    raw = _config(tmp_path, forum.base_url)
    write_config(cfg, raw)
    env = {"SPOKESWATCH_DATABASE": f"sqlite:///{tmp_path / 'db.sqlite3'}", "TZ": "UTC"}  # a UTC host
    daemon = RunningDaemon(tmp_path, cfg, env)
    try:
        daemon.wait_for_text("poll demo: ok,")
        # the digest fires at 22:00 in the office's zone, whatever the host's
        beat = daemon.heartbeat(tmp_path / "state")
        fire = datetime.fromisoformat(beat["next_runs"]["digest"]).astimezone(OFFICE)
        assert (fire.hour, fire.minute) == (22, 0) and fire.utcoffset() == timedelta(hours=8), beat

        # a second daemon on the same SQLite file is refused with a clear message
        second = daemon.cli("run")
        assert second.returncode == 1 and "another spokeswatch daemon" in second.stderr, second.stderr

        # an edit on disk: a new forum gets polled, the old one goes on
        mark = len(daemon.text())
        raw["forums"].append({**raw["forums"][0], "id": "demo2"})
        write_config(cfg, raw)
        daemon.wait_for_text("forums added: demo2", after=mark)
        daemon.wait_for_text("poll demo2: ok,", after=mark)

        # a broken edit: logged with file, line and key path; the daemon runs on the old config
        mark = len(daemon.text())
        broken = cfg.read_text("utf-8").replace("check_interval_minutes: 5", "check_interval_minutes: -1")
        cfg.write_text(broken, "utf-8")
        daemon.wait_for_text("config not reloaded", after=mark)
        refused = next(l for l in daemon.text()[mark:].splitlines() if "config not reloaded" in l)
        line_no = 1 + broken.splitlines().index("check_interval_minutes: -1")
        assert f"{cfg}:{line_no}: check_interval_minutes:" in refused, refused
        assert "still running on the previous config" in refused
        polls = _polls(daemon, "demo2", mark)
        daemon.wait_for(lambda _l: _polls(daemon, "demo2", mark) > polls, what="a poll after the broken edit")

        # the file fixed, without demo2: the forum removed loses its polls
        raw["forums"] = raw["forums"][:1]
        write_config(cfg, raw)
        daemon.wait_for_text("forums removed: demo2", after=mark)
        # SIGHUP reloads (nothing changed since the watcher's reload) and does not kill the daemon
        mark = len(daemon.text())
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_text("config reloaded (SIGHUP): nothing changed", after=mark)
        assert daemon.proc.poll() is None  # SIGHUP no longer kills it
        time.sleep(3 * 6)  # three intervals
        assert _polls(daemon, "demo2", mark) == 0 and _polls(daemon, "demo", mark) >= 1

        assert daemon.terminate() < 10
        assert daemon.proc.returncode == 0 and "stopped cleanly" in daemon.text()
        assert "Traceback" not in daemon.text()
    finally:
        daemon.close()
        forum.stop()


# ---- health and metrics ------------------------------------------------------------------------

def _metrics(port: int) -> dict[tuple, float]:
    r = get(f"http://127.0.0.1:{port}/metrics")
    assert r.status_code == 200
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_healthz_turns_503_when_the_forum_goes_away_and_200_when_it_returns_metrics_match_the_db(tmp_path):
    scenario = scenario_copy()
    forum = DemoForum(scenario, clock=DemoClock(scenario.default_now)).start()
    port = forum.base_url.rsplit(":", 1)[1].strip("/")
    db = tmp_path / "db.sqlite3"
    cfg = write_config(tmp_path / "config.yaml", _config(
        tmp_path, forum.base_url, interval=0.05, backoff_max_minutes=0.1, check_interval_minutes=0.05,
        health={"listen": "127.0.0.1:0", "stale_after_intervals": 2}))
    daemon = RunningDaemon(tmp_path, cfg, {"SPOKESWATCH_DATABASE": f"sqlite:///{db}"})
    try:
        health = _health_port(daemon)
        daemon.wait_for_text("poll demo: ok,")
        daemon.wait_for(lambda lines: "checked:" in "\n".join(lines).split("poll demo: ok,", 1)[1], 60,
                        "a check after the first poll")
        daemon.wait_for(lambda _l: get(f"http://127.0.0.1:{health}/healthz").status_code == 200, 60,
                        "a healthy daemon")
        body = get(f"http://127.0.0.1:{health}/healthz").json()
        assert body["status"] == "ok" and body["forums"]["demo"]["last_status"] in ("ok", "partial")

        # /metrics says what the database says
        figures = _metrics(health)
        with sqlite3.connect(db) as c:
            cases = dict(((u or "unassigned", s), n) for u, s, n in c.execute(
                "select unit_id, state, count(*) from response_cases group by unit_id, state"))
            ok_runs = c.execute("select count(*) from poll_runs where status = 'ok'").fetchone()[0]
        assert cases and all(figures[("spokeswatch_cases", (("state", s), ("unit", u)))] == n
                             for (u, s), n in cases.items())
        assert figures[("spokeswatch_polls_total", (("forum", "demo"), ("outcome", "ok")))] <= ok_runs
        assert figures[("spokeswatch_polls_total", (("forum", "demo"), ("outcome", "ok")))] >= 1

        forum.stop()  # the forum goes away
        mark = len(daemon.text())
        daemon.wait_for(lambda _l: get(f"http://127.0.0.1:{health}/healthz").status_code == 503, 90,
                        "/healthz to fail")
        failing = get(f"http://127.0.0.1:{health}/healthz").json()
        assert any("forum demo" in r for r in failing["reasons"]), failing
        daemon.wait_for_text("poll demo: failed", 90, after=mark)  # after its retries
        assert "WARNING" in next(l for l in daemon.text()[mark:].splitlines() if "poll demo: failed" in l)
        assert "next poll in" in daemon.text()[mark:]  # backing off

        forum = DemoForum(scenario, port=int(port), clock=DemoClock(scenario.default_now)).start()  # it returns
        daemon.wait_for(lambda _l: get(f"http://127.0.0.1:{health}/healthz").status_code == 200, 90,
                        "/healthz to recover")
        status = daemon.cli("status", env={"SPOKESWATCH_DATABASE": f"sqlite:///{db}"})
        assert status.returncode == 0, status.stdout + status.stderr
        assert daemon.terminate() < 10
    finally:
        daemon.close()
        forum.stop()


# ---- replicas on PostgreSQL --------------------------------------------------------------------

def _overlapping_runs(engine) -> list:
    """Poll runs of one forum whose times overlap: two nodes polling it at once."""
    with engine.connect() as c:
        return c.execute(sa.text(
            "select a.id, b.id from poll_runs a join poll_runs b on a.forum_id = b.forum_id and a.id < b.id "
            "where a.finished_at is not null and b.started_at < a.finished_at and b.finished_at > a.started_at"
        )).all()


def test_two_daemons_on_postgresql_share_the_work_and_one_carries_on_after_sigkill(
        tmp_path, fresh_postgres_url, inbox):
    port, received = inbox
    forum = start_forum()
    ids = ("demo", "demo2", "demo3", "demo4", "demo5", "demo6")
    fire = (datetime.now(OFFICE) + timedelta(seconds=40)).replace(microsecond=0)
    raw = _config(tmp_path, forum.base_url, forum_ids=ids, interval=0.1, check_interval_minutes=0.1)
    raw["digest"].update(time=fire.strftime("%H:%M:%S"), notify=[f"json://127.0.0.1:{port}/office"])
    next(u for u in raw["units"] if u["id"] == "water")["notify"] = [f"json://127.0.0.1:{port}/water"]
    env = {"SPOKESWATCH_DATABASE": fresh_postgres_url}
    nodes = []
    for name in ("a", "b"):  # started together on an empty database: both migrate, one waits
        folder = tmp_path / name
        folder.mkdir()
        nodes.append(RunningDaemon(folder, write_config(folder / "config.yaml", {
            **raw, "state_dir": str(folder / "state"), "digest": {**raw["digest"], "out_dir": str(folder / "out")}}),
            env, name))
    engine = sa.create_engine(fresh_postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    a, b = nodes
    try:
        for node in nodes:
            node.wait_for_text("spokeswatch running")
        # the digest fires on both at the office's time: one digest, one delivery per target
        deadline = time.monotonic() + 120
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(5)  # room for a duplicate to arrive
        assert sorted(m["path"] for m in received) == ["/office", "/water"], received
        with engine.connect() as c:
            assert c.execute(sa.text("select count(*) from once_marks where job = 'digest'")).scalar() == 1

        # every forum polled, by both nodes between them, never twice at once
        def polled_by():
            with engine.connect() as c:
                return dict(c.execute(sa.text(
                    "select forum_id, count(distinct owner) from poll_runs where status = 'ok' group by forum_id")).all())
        a.wait_for(lambda _l: set(polled_by()) == set(ids), 120, "every forum polled")
        # the forums are split by rendezvous hashing over the live nodes: each forum's polls
        # (once both nodes beat) are its owner's, but for an owner late past the grace
        node_ids = [next(l for l in n.lines() if "spokeswatch running" in l).split("node ", 1)[1].strip()
                    for n in nodes]
        both_live = datetime.now(timezone.utc)
        time.sleep(15)
        expected = {fid: owner_of(f"poll:{fid}", sorted(node_ids)).rsplit(":", 1)[0] for fid in ids}
        with engine.connect() as c:
            runs = c.execute(sa.text("select forum_id, owner from poll_runs where started_at > :t"),
                             {"t": both_live}).all()
        by_owner = sum(owner == expected[fid] for fid, owner in runs)
        assert runs and by_owner >= 0.8 * len(runs), (expected, runs)
        assert {owner for _fid, owner in runs} >= set(expected.values())  # every node with forums polls them
        assert _overlapping_runs(engine) == []

        # periodic checks: once per interval across both nodes (6 s), not once per node
        window = 36
        marks = [len(n.text()) for n in nodes]
        time.sleep(window)
        checks = sum(n.text()[m:].count("rules check started") for n, m in zip(nodes, marks))
        stored = re.compile(r"poll \S+: \w+, .*?(?:[1-9]\d* new posts|[1-9]\d* edited|[1-9]\d* deleted)")
        polls_stored = sum(len(stored.findall(n.text()[m:])) for n, m in zip(nodes, marks))  # each asks for one
        assert checks <= window / 6 + 2 + polls_stored, (checks, polls_stored)

        # one dies: the other polls every forum within an interval or so
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        killed = datetime.now(timezone.utc)
        time.sleep(6 + 3 + 10)  # an interval, the takeover grace (half an interval), room for the polls

        with engine.connect() as c:
            after = dict(c.execute(sa.text(
                "select forum_id, count(*) from poll_runs where status = 'ok' and started_at > :t group by forum_id"),
                {"t": killed}).all())
        assert set(after) == set(ids), after
        assert _overlapping_runs(engine) == []
        assert b.terminate() < STOP_SECONDS and b.proc.returncode == 0
        with engine.connect() as c:
            posts = c.execute(sa.text("select forum_id, count(*) from posts group by forum_id")).all()
            dupes = c.execute(sa.text("select count(*) from (select forum_id, pid from posts group by forum_id, pid "
                                      "having count(*) > 1) d")).scalar()
        assert dupes == 0 and len({n for _f, n in posts}) == 1  # every copy of the forum stored alike
        assert sorted(m["path"] for m in received) == ["/office", "/water"]  # still one delivery each
    finally:
        for node in nodes:
            node.close()
        engine.dispose()
        forum.stop()


def test_systemd_hears_ready_watchdog_reloading_and_stopping(tmp_path):
    """Under systemd (Type=notify, WatchdogSec) the daemon reports its state on $NOTIFY_SOCKET."""
    import socket
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(60)
    forum = start_forum()
    cfg = write_config(tmp_path / "config.yaml", _config(tmp_path, forum.base_url))
    daemon = RunningDaemon(tmp_path, cfg, {"SPOKESWATCH_DATABASE": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                                           "NOTIFY_SOCKET": str(sock_path)})
    heard: list[str] = []

    def hear_until(word: str) -> None:
        """Read messages until one (after those already heard) says ``word``."""
        while True:
            heard.append(sock.recv(4096).decode())
            if word in heard[-1]:
                return
    try:
        hear_until("READY=1")
        hear_until("WATCHDOG=1")
        raw = _config(tmp_path, forum.base_url, check_interval_minutes=7)
        write_config(cfg, raw)
        hear_until("RELOADING=1")
        assert "MONOTONIC_USEC=" in heard[-1]
        hear_until("READY=1")  # again, once reloaded
        assert "config reloaded" in daemon.text() and "check_interval_minutes changed" in daemon.text()
        daemon.signal(signal.SIGTERM)
        hear_until("STOPPING=1")
        daemon.proc.wait(STOP_SECONDS)
        assert daemon.proc.returncode == 0
    finally:
        daemon.close()
        forum.stop()
        sock.close()
