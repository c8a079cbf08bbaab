"""The CLI as a user runs it: real processes, real exit codes, real files."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import real_dir
from tests.helpers import ROOT

EXE = [sys.executable, "-m", "monitor"]


def run(*args, cwd=ROOT, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([*EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_demo_command_writes_reports_and_prints_the_headline(tmp_path):
    r = run("demo", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "共受理网民意见建议95条" in r.stdout and "得到发言人答复的39条" in r.stdout
    assert "未在规定时间内答复的56条" in r.stdout and "市旅游局2条、市供水公司2条、市出租办1条" in r.stdout
    for name in ("digest.md", "digest.html", "bulletin.md", "bulletin.html", "bulletin.json"):
        assert (tmp_path / name).stat().st_size > 0
    data = json.loads((tmp_path / "bulletin.json").read_text("utf-8"))
    assert data["period"]["start"] == "2011-01-01" and data["period"]["end"] == "2011-03-31"
    assert (data["received"], data["answered_in_time"], data["not_in_time"]) == (95, 39, 56)
    assert data["answered_late"] + data["unanswered"] == data["not_in_time"] == len(data["appendix"])
    assert data["proactive"]["by_unit"] == {"市旅游局": 2, "市供水公司": 2, "市出租办": 1}
    assert {"title", "url", "unit", "posted_at", "answered_at", "waited_hours"} <= set(data["appendix"][0])
    english = run("demo", "--out", str(tmp_path / "en"), "--lang", "en")
    assert "95 netizen opinions and suggestions were received; 39 got" in english.stdout
    en = tmp_path / "en"
    english_data = json.loads((en / "bulletin.json").read_text("utf-8"))
    assert english_data["title"] == "Network spokesperson work in the first quarter of 2011: bulletin"
    assert english_data["problems"][0].startswith("Answers are slow") and english_data["total"]["unit"] == "Total"
    html = (en / "bulletin.html").read_text("utf-8")
    assert "<th>In-time rate</th>" in html.replace(' class="n"', "") and "Appendix 1: threads not answered in time" in html
    assert (en / "bulletin.docx").stat().st_size > 0 and (en / "bulletin.xlsx").stat().st_size > 0
    assert "Overdue digest" in (en / "digest.md").read_text("utf-8")


def test_bad_config_exits_2_naming_file_key_and_line(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text((ROOT / "config.yaml").read_text("utf-8").replace("poll_interval_minutes: 10",
                                                                      "poll_interval_minutes: -3"), "utf-8")
    r = run("config", "check", "-c", str(bad))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = 1 + bad.read_text("utf-8").splitlines().index("    poll_interval_minutes: -3")
    assert f"{bad}:{line}: forums[0].poll_interval_minutes: Input should be greater than 0" in r.stderr
    missing = run("poll", "-c", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "file not found" in missing.stderr


def test_config_check_and_db_upgrade_on_the_sample(tmp_path):
    env = {"SPOKESWATCH_DATABASE": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    r = run("config", "check", env=env)
    assert r.returncode == 0 and "OK — 1 forum(s), 3 board(s), 7 unit(s)" in r.stdout
    assert run("db", "upgrade", env=env).returncode == 0 and (tmp_path / "x.sqlite3").exists()


def test_bad_period_is_a_user_error(tmp_path):
    env = {"SPOKESWATCH_DATABASE": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    r = run("bulletin", "--period", "2011Q7", env=env)
    assert r.returncode == 2 and "use 2011Q1, 2011-03" in r.stderr


def test_probe_json_on_a_saved_real_page():
    page = real_dir() / "discuz-x35-local" / "desktop_viewthread_tid8_edited.html"
    r = run("probe", str(page), "--json", "--now", "2026-11-30T13:18:24+08:00", "--base-url", "http://127.0.0.1:8089/")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["kind"] == "thread" and data["next_page"] is None and data["threads"] == []
    first = data["posts"][0]
    assert (first["pid"], first["floor"], first["author"], first["uid"]) == (24, 1, "荆门老张", "2")
    assert first["posted_at"] == "2026-11-27T11:13:13+08:00"
    assert first["body"].startswith("今年国庆前后漳河风景区门票")
    listing = run("probe", str(real_dir() / "discuz-x35-local" / "desktop_forumdisplay_fid3_page1.html"), "--json",
                  "--now", "2026-11-30T13:18:24+08:00", "--base-url", "http://127.0.0.1:8089/")
    rows = json.loads(listing.stdout)["threads"]
    assert rows[0]["tid"] == 15 and rows[1]["last_post_at"].startswith("2026-11-30T12:33")
    prompt = run("probe", str(real_dir() / "discuz-x35-local" / "desktop_viewthread_tid14_deleted.html"), "--json")
    assert json.loads(prompt.stdout)["kind"] == "prompt"
    assert run("probe", "/no/such/file.html").returncode == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout=60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_daemon_polls_the_served_demo_forum_and_stops_cleanly_on_sigterm(tmp_path):
    port = _free_port()
    cfg = tmp_path / "config.yaml"
    db = tmp_path / "live.sqlite3"
    cfg.write_text((ROOT / "config.yaml").read_text("utf-8").replace("127.0.0.1:8089", f"127.0.0.1:{port}")
                   .replace("out_dir: reports", f"out_dir: {tmp_path / 'reports'}")
                   .replace("rate_limit: 5 ", "rate_limit: 0 ")
                   + "health:\n  listen: 127.0.0.1:0\n", "utf-8")  # any free port for /healthz
    forum = subprocess.Popen([*EXE, "demo", "--serve", "--port", str(port)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    daemon = None
    try:
        assert _wait_for(lambda: _port_open(port), 30)
        daemon = subprocess.Popen([*EXE, "run", "-c", str(cfg)], cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "SPOKESWATCH_DATABASE": f"sqlite:///{db}"})
        import sqlite3
        def polled():
            if not db.exists():
                return False
            try:
                with sqlite3.connect(db) as c:
                    return c.execute("select count(*) from poll_runs where status != 'running'").fetchone()[0] >= 1
            except sqlite3.Error:
                return False
        assert _wait_for(polled, 90), daemon.stderr.read() if daemon.poll() is not None else "no poll run"
        alive = run("status", "-c", str(cfg), env={"SPOKESWATCH_DATABASE": f"sqlite:///{db}"}, cwd=tmp_path)
        assert "daemon: running on 1 node(s): " in alive.stdout and alive.returncode == 0, alive.stdout
        assert alive.stdout.rstrip().endswith("OK")
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
        assert daemon.returncode == 0, err
        assert "stopped cleanly" in err
        after = run("status", "-c", str(cfg), env={"SPOKESWATCH_DATABASE": f"sqlite:///{db}"}, cwd=tmp_path)
        assert "daemon: not running" in after.stdout and "stopped" in after.stdout
        assert after.returncode == 1 and "FAILING: no daemon is running on this database" in after.stdout
        assert "demo: last poll" in after.stdout and " ok, " in after.stdout
        with sqlite3.connect(db) as c:
            assert c.execute("select status from poll_runs").fetchone()[0] == "ok"
            assert c.execute("select count(*) from posts").fetchone()[0] > 500
            assert c.execute("select count(*) from response_cases where state='overdue'").fetchone()[0] > 0
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
        forum.send_signal(signal.SIGINT)
        try:
            forum.wait(timeout=10)
        except subprocess.TimeoutExpired:
            forum.kill()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_forum_add_inspects_the_board_and_keeps_the_operators_comments(tmp_path):
    from tests.helpers import start_forum
    forum = start_forum()
    try:
        cfg = tmp_path / "config.yaml"
        original = (ROOT / "config.yaml").read_text("utf-8")
        cfg.write_text(original, "utf-8")
        other = forum.base_url.replace("127.0.0.1", "localhost")  # the same server under another host name
        r = run("forum", "add", f"{other}forum.php?mod=forumdisplay&fid=3", "-c", str(cfg), "--kind", "watched")
        assert r.returncode == 0, r.stderr
        assert "discuz, board 3 (百姓话题)" in r.stdout and "added forum localhost with board 3" in r.stdout
        assert "OK — 2 forum(s)" in r.stdout
        text = cfg.read_text("utf-8")
        assert text.startswith(original.split("forums:")[0])  # the header comments survive untouched
        assert "# every netizen thread here is a request to the programme" in text
        assert "added by `spokeswatch forum add`" in text
        again = run("forum", "add", f"{other}forum.php?mod=forumdisplay&fid=3", "-c", str(cfg))
        assert "already configured" in again.stdout
        more = run("forum", "add", f"{other}forum-4-1.html", "-c", str(cfg))
        assert "added board 4 to forum localhost" in more.stdout
        bad = run("forum", "add", f"{other}forum.php?mod=viewthread&tid=3", "-c", str(cfg))
        assert bad.returncode == 2 and "no board id in the URL" in bad.stderr
    finally:
        forum.stop()


def test_probe_and_forum_add_on_the_older_engines(tmp_path):
    """A phpwind 8 and a Discuz! 7 board: probe names the engine, forum add writes a block that checks."""
    from tests.helpers import start_forum
    cfg = tmp_path / "config.yaml"
    cfg.write_text((ROOT / "config.yaml").read_text("utf-8"), "utf-8")
    for engine, board in (("phpwind", "thread.php?fid=3"), ("discuz7", "forumdisplay.php?fid=3")):
        forum = start_forum(flavor=engine)
        try:
            probed = run("probe", f"{forum.base_url}{board}", "--json")
            assert probed.returncode == 0, probed.stderr
            data = json.loads(probed.stdout)
            assert data["engine"] == engine and f"engine detected: {engine}" in data["warnings"]
            assert data["kind"] == "thread_list" and data["fid"] == 3 and data["threads"][0]["author"]
            first = data["threads"][0]
            readable = run("probe", first["url"])  # the human-readable form of a thread page
            assert readable.returncode == 0, readable.stderr
            assert f"engine {engine}, kind thread" in readable.stdout
            shown = "?" if engine == "discuz7" else first["replies"]  # Discuz! 7 shows the counts only in lists
            assert f"thread {first['tid']}: " in readable.stdout and f"; {shown} replies" in readable.stdout
            assert f"#1    pid" in readable.stdout and f"{first['author']} (uid {first['uid']})" in readable.stdout
            host = "localhost" if engine == "phpwind" else "127.0.0.1"  # two forum entries, one per engine
            added = run("forum", "add", f"{forum.base_url.replace('127.0.0.1', host)}{board}", "-c", str(cfg))
            assert added.returncode == 0, added.stderr
            assert f"{engine}, board 3" in added.stdout and "OK —" in added.stdout
        finally:
            forum.stop()
    text = cfg.read_text("utf-8")
    assert "engine: phpwind" in text and "engine: discuz7" in text


def _states(text: str) -> dict[str, int]:
    """``overdue 36, answered_in_time 39`` → {"overdue": 36, "answered_in_time": 39}."""
    if text.strip() in ("none", "no cases"):
        return {}
    return {name: int(n) for name, n in (part.rsplit(" ", 1) for part in text.split(", "))}


def test_check_full_gives_the_same_cases_as_a_plain_check(tmp_path):
    from tests.helpers import start_forum
    forum = start_forum()
    try:
        cfg = tmp_path / "config.yaml"
        cfg.write_text((ROOT / "config.yaml").read_text("utf-8").replace("http://127.0.0.1:8089/", forum.base_url)
                       .replace("rate_limit: 5 ", "rate_limit: 0 ")
                   + "health:\n  listen: 127.0.0.1:0\n", "utf-8")  # any free port for /healthz
        env = {"SPOKESWATCH_DATABASE": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
        polled = run("poll", "-c", str(cfg), env=env, cwd=tmp_path)
        assert polled.returncode == 0, polled.stderr
    finally:
        forum.stop()

    def cases() -> dict[str, int]:
        r = run("status", "-c", str(cfg), env=env, cwd=tmp_path)
        assert r.returncode == 1 and "FAILING: no daemon is running" in r.stdout, r.stderr  # no daemon here
        return _states(r.stdout.split("cases: ", 1)[1].splitlines()[0].strip())

    plain = run("check", "-c", str(cfg), env=env, cwd=tmp_path)
    assert plain.returncode == 0 and plain.stdout.startswith("checked: "), plain.stderr
    after_plain = cases()
    assert sum(after_plain.values()) >= 95 and after_plain.get("overdue", 0) > 0  # the demo's cases, checked
    full = run("check", "--full", "-c", str(cfg), env=env, cwd=tmp_path)
    assert full.returncode == 0 and full.stdout.startswith("checked: "), full.stderr
    printed = _states(full.stdout.removeprefix("checked: ").split(";", 1)[0])
    assert printed == after_plain  # a full check evaluates every case and finds what the plain one left
    assert "newly overdue 0" in full.stdout
    assert cases() == after_plain


def _add_poll_run(db, **fields) -> None:
    from sqlalchemy.orm import Session

    from models.db import make_engine
    from models.tables import PollRun
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s, s.begin():
        s.add(PollRun(**{"forum_id": "demo", "requests": 0, "threads_fetched": 0, "posts_new": 0,
                         "posts_changed": 0, "posts_deleted": 0, **fields}))
    engine.dispose()


def test_status_shows_running_and_abandoned_polls_with_their_offset(tmp_path):
    from datetime import datetime, timezone
    from models.case_store import process_owner
    db = tmp_path / "x.sqlite3"
    env = {"SPOKESWATCH_DATABASE": f"sqlite:///{db}"}
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text("utf-8"), "utf-8")

    def status() -> str:
        r = run("status", env=env, cwd=tmp_path)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr  # 1: no daemon runs here
        assert r.stdout.splitlines()[-1].startswith("FAILING: no daemon is running on this database")
        return r.stdout

    nothing = status()  # never creates the database
    assert "demo: never polled" in nothing and "stored: nothing (no database at" in nothing and not db.exists()
    assert run("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    assert "demo: never polled" in status() and "stored: 0 threads, 0 posts; cases: none" in status()

    utc = timezone.utc
    _add_poll_run(db, started_at=datetime(2026, 12, 1, 18, 30, tzinfo=utc),
                  finished_at=datetime(2026, 12, 1, 18, 31, tzinfo=utc), status="ok", requests=12, posts_new=3)
    assert "demo: last poll 2026-12-02 02:31 +08:00 ok, 12 requests, 3 new posts" in status()

    _add_poll_run(db, started_at=datetime(2026, 12, 1, 18, 34, tzinfo=utc), status="running",
                  owner=process_owner())  # this test's own process: alive
    assert "demo: poll running since 2026-12-02 02:34 +08:00" in status()

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _add_poll_run(db, started_at=datetime(2026, 12, 1, 18, 40, tzinfo=utc), status="running",
                  owner=f"{socket.gethostname()}:{int(gone.stdout)}")  # a process that has ended
    shown = status()
    assert "demo: last poll abandoned (process died): started 2026-12-02 02:40 +08:00, never finished" in shown
    assert "running since" not in shown


@pytest.mark.parametrize("at,precision,shown", [
    ("2026-11-02T09:00:17+08:00", 0, "2026-11-02T09:00:17+08:00"),
    ("2026-12-02T20:30:30+08:00", 30, "2026-12-02T20:30+08:00"),
    ("2026-11-26T12:00:00+08:00", 43200, "2026-11-26 (day)"),
    ("2026-11-21T10:00:00+08:00", 453600, "≈2026-11-21T10:00+08:00 ±126h"),
    (None, None, "?"),
])
def test_probe_prints_a_time_as_precisely_as_the_page_showed_it(at, precision, shown):
    from monitor.probe import _shown
    assert _shown({"posted_at": at, "posted_precision": precision}) == shown
