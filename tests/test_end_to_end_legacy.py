"""End to end over HTTP for the older engines: the demo forum served as Discuz! 7, phpwind 8 and phpwind 9."""
from __future__ import annotations

import pytest

from monitor.config import Login
from monitor.periods import parse_period
from monitor.service import Service
from tests.helpers import config_for, start_forum

Q1 = parse_period("2011Q1")
SCRIPTS = {"discuz7": ("/forumdisplay.php?", "/viewthread.php?"), "phpwind": ("/thread.php?", "/read.php?")}


@pytest.mark.parametrize("flavor,engine", [("discuz7", "discuz7"), ("phpwind", "phpwind"), ("phpwind9", "phpwind")])
def test_an_older_engine_gives_the_same_quarter(tmp_path, flavor, engine):
    """Polling the same forum in Discuz! 7 or phpwind 8/9 markup yields the Discuz! X bulletin."""
    forum = start_forum(flavor=flavor)
    try:
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}", engine=engine)
        svc = Service(cfg, clock=forum.clock.now)
        [r] = svc.poll()
        assert r.status == "ok", (r.error, r.warnings[:3])
        assert r.store.new > 500 and not r.warnings
        assert forum.requests and all(q.startswith(SCRIPTS[engine]) for q in forum.requests)
        [steady] = svc.poll()
        assert steady.requests == 3 and steady.threads_fetched == 0  # one board page each, nothing changed
        b = svc.bulletin(Q1)
        svc.close()
    finally:
        forum.stop()
    assert (b.received, b.answered_in_time, b.answered_late, b.unanswered) == (95, 39, 20, 36)
    assert b.proactive["by_unit"] == {"市旅游局": 2, "市供水公司": 2, "市出租办": 1}


@pytest.mark.parametrize("engine", ["discuz7", "phpwind"])
def test_an_older_engines_members_only_board_is_read_after_its_own_login_form(tmp_path, engine):
    forum = start_forum(flavor=engine, members_only=True, passwords={"监督员": "s3cret-pass"})
    try:
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}", engine=engine,
                         login=Login(username="监督员", password="s3cret-pass"))
        cfg = cfg.model_copy(update={"state_dir": str(tmp_path / "state")})
        svc = Service(cfg, clock=forum.clock.now)
        [r] = svc.poll()
        assert r.status == "ok" and r.store.new > 500
        assert len([q for q in forum.requests if q.startswith("POST")]) == 1
        forum.sessions.clear()  # the forum forgets the session: the next poll logs in again
        [again] = svc.poll()
        assert again.status == "ok" and len([q for q in forum.requests if q.startswith("POST")]) == 2
        svc.close()
    finally:
        forum.stop()


@pytest.mark.parametrize("flavor,engine,says", [("discuz7", "discuz7", "您还未登录"),
                                                ("phpwind", "phpwind", "只有注册会员才能进入"),
                                                ("phpwind9", "phpwind", "请先登录")])
def test_an_older_engines_login_wall_without_a_login_fails_clearly(tmp_path, flavor, engine, says):
    forum = start_forum(flavor=flavor, members_only=True)
    try:
        svc = Service(config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}", engine=engine), clock=forum.clock.now)
        [r] = svc.poll()
        svc.close()
    finally:
        forum.stop()
    assert r.status == "failed" and "login_required" in r.error and says in r.error


def test_a_phpwind9_members_only_board_is_read_with_a_browser_cookie(tmp_path):
    """phpwind 9 logs in by AJAX with a CSRF token: such boards are read with the session cookie."""
    forum = start_forum(flavor="phpwind9", members_only=True)
    forum.sessions["c0ffee"] = "监督员"  # the session a browser login left
    try:
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}", engine="phpwind", cookies="demo_auth=c0ffee")
        svc = Service(cfg, clock=forum.clock.now)
        [r] = svc.poll()
        svc.close()
    finally:
        forum.stop()
    assert r.status == "ok" and r.store.new > 500
