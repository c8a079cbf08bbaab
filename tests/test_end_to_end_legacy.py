"""End to end over HTTP for the older engines: the demo forum served as Discuz! 7, phpwind 8 and phpwind 9."""
from __future__ import annotations

import pytest

from monitor.config import Login
from monitor.periods import parse_period
from monitor.service import Service
from tests.helpers import config_for, start_forum

Q1 = parse_period("2011Q1")
# the addresses each flavor's poll asks: phpwind 9 has no thread.php (HTTP 404): the engine asks it once,
# then lists boards at index.php?c=thread (remembered for the process)
SCRIPTS = {"discuz7": ("/forumdisplay.php?", "/viewthread.php?"), "phpwind": ("/thread.php?", "/read.php?"),
           "phpwind9": ("/index.php?c=thread&", "/read.php?")}


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
        asked = forum.requests
        if flavor == "phpwind9":
            assert [q for q in asked if q.startswith("/thread.php?")] == [asked[0]]
            asked = asked[1:]
        assert asked and all(q.startswith(SCRIPTS[flavor]) for q in asked)
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
                                                ("phpwind", "phpwind", "本版块为认证版块"),
                                                ("phpwind9", "phpwind", "没有访问该版块的权限")])
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


GONE = {"discuz7": ("指定的主题不存在", "指定的主题不存在"), "phpwind9": ("该帖子已被删除", "该帖子不存在或已被删除"),
        "phpwind": ("<li>1、读取数据错误,原因：您要访问的链接无效,可能链接不完整,或数据已被删除！</li>",
                    "<li>1、帖子ID非法</li>")}  # (deleted, missing) as each real engine words it


@pytest.mark.parametrize("flavor,gone_status", [("discuz7", 404), ("phpwind", 200), ("phpwind9", 200)])
def test_the_older_flavors_answer_as_their_real_engines(flavor, gone_status):
    """7.2 answers 404 for a deleted or missing thread; 8.7 says so with HTTP 200 (to a guest beside its
    login form); 9.0 with HTTP 200, has no thread.php and lists boards at index.php?c=thread (see
    tests/fixtures/discuz72-real, phpwind87-real, phpwind9-real)."""
    forum = start_forum(flavor=flavor)
    try:
        s, now = forum.scenario, forum.clock.now()
        deleted = next(t for t in s.threads if t.deleted_at and t.deleted_at <= now)
        script = "viewthread.php" if flavor == "discuz7" else "read.php"
        status, html = forum.respond(f"/{script}?tid={deleted.tid}")
        assert status == gone_status and GONE[flavor][0] in html
        status, html = forum.respond(f"/{script}?tid=99999")
        assert status == gone_status and GONE[flavor][1] in html
        if flavor == "phpwind":
            assert 'name="login"' in html and "2、您还不是站点会员,请先登录站点" in html
            assert forum.respond("/thread.php?fid=999")[0] == 200
        if flavor == "phpwind9":
            assert forum.respond("/thread.php?fid=2")[0] == 404
            status, html = forum.respond("/index.php?c=thread&fid=2&page=2")
            assert status == 200 and 'id="J_posts_list"' in html and "index.php?c=thread&fid=2&page=1" in html
            assert "thread.php" not in html.replace("c=thread", "")
            forum.members_only = True
            status, html = forum.respond("/index.php?c=thread&fid=2")
            assert status == 200 and "您所在的用户组 (游客) 没有访问该版块的权限" in html and "<form" not in html
    finally:
        forum.stop()


def test_a_phpwind9_board_lists_its_topped_thread_again_and_the_engine_keeps_one_row():
    from scrapers import phpwind
    from scrapers.records import Page, Site
    forum = start_forum(flavor="phpwind9")
    try:
        s, now = forum.scenario, forum.clock.now()
        stuck = next(t for t in s.threads if t.sticky)
        status, html = forum.respond(f"/index.php?c=thread&fid={stuck.fid}")
    finally:
        forum.stop()
    assert html.count(f'read.php?tid={stuck.tid}&fid={stuck.fid}" class="st"') == 2
    assert html.count("icon_headtopic_1") == 1
    site = Site(forum.base_url)
    parsed = phpwind.parse_thread_list(Page(f"{forum.base_url}index.php?c=thread&fid={stuck.fid}",
                                            html.encode("gbk", errors="xmlcharrefreplace"), now), site)
    assert [r.tid for r in parsed.threads].count(stuck.tid) == 1 and not parsed.warnings
    assert [r.tid for r in parsed.threads if r.sticky] == [stuck.tid]



def test_a_phpwind8_thread_deleted_after_a_poll_is_marked_deleted_from_its_200_message(tmp_path):
    """8.7 answers a deleted thread with HTTP 200 and, to a guest, "1、读取数据错误…" beside its login
    form: the re-read of an open case reads that as gone (not_found), not as a login wall."""
    from sqlalchemy import select

    from models.tables import ResponseCase, ThreadRecord
    from tests.helpers import local
    forum = start_forum(flavor="phpwind")
    try:
        s = forum.scenario
        svc = Service(config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}", engine="phpwind"),
                      clock=forum.clock.now)
        [first] = svc.poll()
        svc.check()
        gone = next(t for t in s.threads if t.fid == 2 and t.deleted_at is None and t.posts[0].uid < 30
                    and all(p.uid < 30 for p in t.posts) and t.posts[0].at < local(2011, 3, 20))
        gone.deleted_at = local(2011, 4, 1, 8, 0)
        forum.clock.set(local(2011, 4, 1, 9, 0))
        status, html = forum.respond(f"/read.php?tid={gone.tid}")
        assert status == 200 and "<li>1、读取数据错误,原因：您要访问的链接无效,可能链接不完整,或数据已被删除！</li>" in html
        [again] = svc.poll()  # open cases not re-read for an hour: all re-read now
        svc.check(local(2011, 4, 1, 9, 0))
        with svc.repo.session("t") as session:
            t = session.scalars(select(ThreadRecord).where(ThreadRecord.tid == gone.tid)).one()
            assert t.deleted_at is not None
            assert session.scalar(select(ResponseCase.state).where(ResponseCase.thread_id == t.id)) == "void"
        svc.close()
    finally:
        forum.stop()
    assert first.status == again.status == "ok" and not again.warnings
    assert f"/read.php?tid={gone.tid}" in forum.requests
