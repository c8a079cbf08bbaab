"""The nightly digest delivered through Apprise: the office's digest, and each unit's own list."""
from __future__ import annotations

import os
import subprocess
import sys


from tests.helpers import ROOT, start_forum


def _config(tmp_path, forum, port: int, water_path: str = "water") -> str:
    text = (ROOT / "config.yaml").read_text("utf-8")
    text = text.replace("http://127.0.0.1:8089/", forum.base_url).replace("rate_limit: 5 ", "rate_limit: 0 ")
    text = text.replace("  lang: zh\n", f"  lang: zh\n  notify: [\"json://127.0.0.1:{port}/office?token=${{HOOK_TOKEN}}\"]\n")
    text = text.replace("      - {forum: demo, uid: 31, username: 供水公司发言人}\n",
                        "      - {forum: demo, uid: 31, username: 供水公司发言人}\n"
                        f"    notify: [\"json://127.0.0.1:{port}/{water_path}\"]\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(text, "utf-8")
    return str(cfg)


def _run(*args, tmp_path):
    env = {**os.environ, "SPOKESWATCH_DATABASE": f"sqlite:///{tmp_path / 'db.sqlite3'}", "HOOK_TOKEN": "t0ken-secret"}
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=120)


def test_digest_is_sent_to_the_office_and_each_unit_gets_its_own_list(tmp_path, inbox):
    port, received = inbox
    forum = start_forum()
    try:
        cfg = _config(tmp_path, forum, port)
        assert _run("poll", "-c", cfg, tmp_path=tmp_path).returncode == 0
        r = _run("digest", "-c", cfg, "--send", "--out", str(tmp_path / "out"), tmp_path=tmp_path)
    finally:
        forum.stop()
    assert r.returncode == 0, r.stderr
    assert "sent to: office, 市供水公司" in r.stderr
    office = next(m for m in received if m["path"].startswith("/office"))
    water = next(m for m in received if m["path"] == "/water")
    assert office["title"].startswith("网络发言人逾期答复日报")
    assert "### 市城管局" in office["message"] and "### 市供水公司" in office["message"]
    assert water["title"].endswith("· 市供水公司")
    assert "水表安装收费" in water["message"] and "市城管局" not in water["message"]
    assert "### 市供水公司" not in water["message"]  # its own list: no heading repeating the unit
    assert "t0ken-secret" not in r.stderr  # secrets stay out of logs


def test_a_failed_delivery_is_reported_and_the_files_are_still_written(tmp_path, inbox):
    port, received = inbox
    forum = start_forum()
    try:
        cfg = _config(tmp_path, forum, port, water_path="broken")
        _run("poll", "-c", cfg, tmp_path=tmp_path)
        r = _run("digest", "-c", cfg, "--send", "--out", str(tmp_path / "out"), tmp_path=tmp_path)
        unit_only = _run("digest", "-c", cfg, "--unit", "taxi", "--out", str(tmp_path / "taxi"), tmp_path=tmp_path)
    finally:
        forum.stop()
    assert r.returncode == 1 and "not delivered to: 市供水公司" in r.stderr
    assert (tmp_path / "out" / "digest.md").exists()
    assert unit_only.returncode == 0 and "· 市出租办" in unit_only.stdout and "市城管局" not in unit_only.stdout


def test_the_daemons_nightly_job_writes_the_days_folder_and_sends(tmp_path, inbox, monkeypatch):
    from monitor.config import load_config
    from monitor.daemon import Daemon
    from monitor.service import Service
    port, received = inbox
    forum = start_forum()
    try:
        monkeypatch.setenv("HOOK_TOKEN", "x")
        cfg = load_config(_config(tmp_path, forum, port))
        cfg = cfg.model_copy(update={"database": f"sqlite:///{tmp_path / 'd.sqlite3'}",
                                     "digest": cfg.digest.model_copy(update={"out_dir": str(tmp_path / "reports")})})
        svc = Service(cfg, clock=forum.clock.now)
        svc.poll()
        Daemon(svc).digest_job()  # what runs at digest.time each night
        svc.close()
    finally:
        forum.stop()
    assert (tmp_path / "reports" / "2011-04-01" / "digest.html").exists()
    assert {m["path"].split("?")[0] for m in received} == {"/office", "/water"}
