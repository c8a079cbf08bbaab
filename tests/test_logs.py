"""The daemon's logs: JSON lines with their context, a rotated file, times in the office's zone,
and an interactive poll's progress."""
from __future__ import annotations

import json
import sys

import pytest
from loguru import logger

from monitor.logs import setup_logging
from monitor.poller import _log_progress


@pytest.fixture
def restore_logging():
    yield
    logger.remove()
    logger.configure(patcher=None)
    logger.add(sys.stderr)


def test_json_lines_carry_the_context_and_the_offices_time(tmp_path, restore_logging, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # a UTC host: the times are still the office's
    file = tmp_path / "spokeswatch.log"
    setup_logging("INFO", json_lines=True, file=str(file), zone="Asia/Shanghai")
    with logger.contextualize(forum="demo", run_id=41):
        logger.bind(board=2).warning("poll demo: failed — 攻击 <script>")
    logger.debug("not at INFO")
    logger.complete()  # the file sink is queued
    lines = file.read_text("utf-8").splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["level"] == "WARNING" and event["message"] == "poll demo: failed — 攻击 <script>"
    assert (event["forum"], event["board"], event["run_id"]) == ("demo", 2, 41)
    assert event["time"].endswith("+08:00")


def test_the_log_file_rotates_and_keeps_human_lines(tmp_path, restore_logging):
    file = tmp_path / "spokeswatch.log"
    setup_logging("INFO", file=str(file), rotation="2 KB", retention="30 days", zone="Asia/Shanghai")
    for i in range(200):
        logger.info("poll demo{}: ok, 3 requests", i)
    logger.complete()
    files = sorted(tmp_path.glob("spokeswatch*.log"))
    assert len(files) > 3  # rotated at 2 KB
    assert all(f.stat().st_size < 4096 for f in files)
    assert " INFO    poll demo199: ok" in file.read_text("utf-8")


def test_progress_is_logged_at_most_every_interval(restore_logging):
    seen: list[str] = []
    logger.remove()
    logger.add(lambda m: seen.append(m.record["message"]), level="INFO")
    report = _log_progress(every=0)
    report("demo board 2: 3 list pages, 40 threads read, 120 new posts")
    quiet = _log_progress(every=3600)
    quiet("demo board 2: 1 list pages")
    assert seen == ["polling demo board 2: 3 list pages, 40 threads read, 120 new posts"]


def test_a_poll_reports_its_progress_page_by_page(tmp_path):
    from monitor.config import load_config
    from monitor.demo import demo_config
    from monitor.service import Service
    from tests.helpers import ROOT, start_forum
    forum = start_forum()
    try:
        cfg = demo_config(load_config(ROOT / "config.yaml"), forum.base_url, f"sqlite:///{tmp_path / 'x.sqlite3'}")
        svc = Service(cfg)
        told: list[str] = []
        [result] = svc.poll(progress=told.append)
        svc.close()
    finally:
        forum.stop()
    assert told[0].startswith("demo board 2: 1 list pages, 0 threads read")
    assert told[-1] == (f"demo board 4: {result.list_pages} list pages, {result.threads_fetched} threads read, "
                        f"{result.store.new} new posts")
    assert len(told) >= result.threads_fetched  # after every thread read, not only at the end
