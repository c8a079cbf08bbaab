"""End to end over real HTTP: the demo forum, the poller, the rules, the bulletin and digest."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from monitor.demoforum.scenario import DemoPost, DemoThread
from monitor.periods import parse_period
from monitor.service import Service
from tests.helpers import add_reply, config_for, local, sample_config, scenario_copy, start_forum

Q1 = parse_period("2011Q1")


@pytest.fixture
def world(tmp_path):
    """A demo forum on a scenario copy, and a service polling it with the forum's clock."""
    scenario = scenario_copy()
    forum = start_forum(scenario)
    svc = Service(config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}"), clock=forum.clock.now)
    yield scenario, forum, svc
    svc.close()
    forum.stop()


def test_demo_quarter_figures_come_from_scraping(world):
    _, forum, svc = world
    [result] = svc.poll()
    assert result.status == "ok" and result.store.new > 500
    svc.check()
    b = svc.bulletin(Q1)
    assert (b.received, b.answered_in_time, b.not_in_time) == (95, 39, 56)
    assert (b.answered_late, b.unanswered, b.pending) == (20, 36, 0)
    assert b.proactive == {"total": 5, "by_unit": {"市旅游局": 2, "市供水公司": 2, "市出租办": 1}}
    assert len(b.appendix) == 56 and sum(u["received"] for u in b.units) == 95
    office = next(u for u in b.units if u["unit_id"] is None)
    assert office["unanswered"] == 4  # unassigned programme-board threads nobody answered
    assert b.hot_not_in_time == 1
    late_by_holiday = next(a for a in b.appendix if a["posted_at"] == "2011-01-28 10:00")
    assert late_by_holiday["status"] == "answered_late"  # Sunday 30 Jan 2011 was a working day
    # answers that say little and citizens who came back: listed, figures above unchanged
    assert sorted((f["unit"], f["kind"]) for f in b.flags) == [
        ("市人社局", "redirect"), ("市人社局", "short"), ("市出租办", "boilerplate"), ("市出租办", "redirect"),
        ("市出租办", "redirect")]
    assert {u["unit"]: u["flagged"] for u in b.units if u["flagged"]} == {"市人社局": 2, "市出租办": 2}
    assert sorted((f["unit"], f["state"]) for f in b.followups) == [("市交警支队", "resolved"),
                                                                    ("市城管局", "unresolved")]
    assert b.followups_unresolved == 1 and any("网民追问后仍未答复1条（市城管局1条）" in p for p in b.problems)
    assert b.title == "关于2011年第一季度网络发言人工作情况的通报" and b.as_of_text == "统计截至2011年4月1日0时"
    assert b.total["received"] == 95 and b.in_time_rate == round(100 * 39 / 95, 1)


def polled_bulletin(scenario, tmp_path):
    """The 2011Q1 bulletin after one poll of a demo forum serving ``scenario``."""
    forum = start_forum(scenario)
    try:
        svc = Service(config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}"), clock=forum.clock.now)
        svc.poll()
        b = svc.bulletin(Q1)
        svc.close()
    finally:
        forum.stop()
    return b


def test_answering_the_follow_up_resolves_it(tmp_path):
    """The 市城管局 spokesperson answers the citizen's follow-up: the bulletin's unresolved
    follow-up and its problem sentence go away."""
    scenario = scenario_copy()
    urban = next(int(a.uid) for u in sample_config().units if u.id == "urban" for a in u.accounts)  # demo uids: numbers
    thread, comeback = next((t, p) for t in scenario.threads for p in t.posts
                            if p.body == "还是没解决，到底有没有人管？" and any(q.uid == urban for q in t.posts))
    add_reply(scenario, thread.tid, urban, comeback.at + timedelta(hours=5), "已安排执法队员复查，绿化带已补种。")
    b = polled_bulletin(scenario, tmp_path)
    assert (b.received, b.answered_in_time, b.not_in_time) == (95, 39, 56)
    assert sorted(f["state"] for f in b.followups) == ["resolved", "resolved"] and b.followups_unresolved == 0
    assert not any("追问" in p for p in b.problems)


def test_changing_the_scenario_changes_the_figures(tmp_path):
    """Answer one never-answered thread in the scenario: the scraped figures follow."""
    scenario = scenario_copy()
    spokesperson = {u.name: int(a.uid) for u in sample_config().units for a in u.accounts if a.uid}
    urban = next(t for t in scenario.threads if t.fid == 2 and t.typeid == 6 and local(2011, 1, 1) <= t.posts[0].at
                 < local(2011, 3, 20) and all(p.uid < 30 for p in t.posts))
    add_reply(scenario, urban.tid, spokesperson["市城管局"], urban.posts[0].at + timedelta(hours=3))
    b = polled_bulletin(scenario, tmp_path)
    assert (b.received, b.answered_in_time, b.unanswered, b.not_in_time) == (95, 40, 35, 55)
    assert next(u for u in b.units if u["unit"] == "市城管局")["answered_in_time"] == 7


def test_steady_state_poll_reads_one_list_page_per_board(world):
    scenario, forum, svc = world
    svc.poll()
    forum.requests.clear()
    [again] = svc.poll()
    assert again.requests == 3 and again.threads_fetched == 0 and again.store.new == 0
    assert all("forumdisplay" in r for r in forum.requests)


@pytest.mark.parametrize("skew", [timedelta(hours=-5), timedelta(hours=7)])
def test_a_forum_whose_clock_is_off_or_frozen_costs_no_extra_requests(tmp_path, skew):
    """The forum's clock is frozen at 2011-04-01 00:00 while ours runs hours ahead or behind:
    open-case threads are re-read at the recheck cadence of our clock, never at every poll."""
    forum = start_forum()
    ours = [local(2011, 4, 1, 0, 0) - skew]
    try:
        svc = Service(config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}"), clock=lambda: ours[0])
        svc.poll()
        svc.check()
        open_threads = len(svc.repo.threads_to_recheck("demo", ours[0] + timedelta(days=1)))
        assert open_threads > 10
        polls = []
        for _ in range(5):  # 50 minutes of ten-minute polls: within the hour's recheck interval
            ours[0] += timedelta(minutes=10)
            [r] = svc.poll()
            svc.check()
            polls.append(r.requests)
        assert polls == [3] * 5  # one list page per board, nothing re-read
        ours[0] += timedelta(minutes=15)  # past the hour: each open-case thread re-read once
        [r] = svc.poll()
        assert r.threads_fetched == open_threads
        ours[0] += timedelta(minutes=10)
        [r] = svc.poll()
        assert r.requests == 3
        svc.close()
    finally:
        forum.stop()


def test_a_poll_whose_process_died_shows_as_abandoned(world):
    import subprocess
    import sys
    _, _, svc = world
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run_id = svc.repo.start_poll_run("demo", local(2011, 4, 1, 0, 0))
    from sqlalchemy import update

    from models.case_store import process_owner
    from models.tables import PollRun
    with svc.repo.session("t") as s:
        host = process_owner().rpartition(":")[0]
        s.execute(update(PollRun).where(PollRun.id == run_id).values(owner=f"{host}:{dead.stdout.strip()}"))
    [run] = svc.repo.last_poll_runs()
    assert run.status == "abandoned" and "ended without finishing" in run.error
    assert svc.digest().health[0]["status"] == "abandoned"
    live = svc.repo.start_poll_run("demo", local(2011, 4, 1, 0, 5))  # this process: still running
    assert [r.status for r in svc.repo.last_poll_runs()] == ["running"] and live > run_id


def test_a_new_reply_fetches_only_the_last_page_of_its_thread(world):
    scenario, forum, svc = world
    svc.poll()
    hot = max(scenario.threads, key=lambda t: len(t.posts))  # 121 posts: 13 pages of 10
    forum.clock.set(local(2011, 4, 1, 9, 0))
    add_reply(scenario, hot.tid, 5, local(2011, 4, 1, 8, 30), "问题解决了吗？")
    forum.requests.clear()
    [r] = svc.poll(recheck=False)
    thread_requests = [q for q in forum.requests if "viewthread" in q]
    assert thread_requests == [f"/forum.php?mod=viewthread&tid={hot.tid}&page=13"]
    assert r.store.new == 1 and r.requests == 3 + 1


def test_recheck_catches_edits_and_deletions(world):
    scenario, forum, svc = world
    svc.poll()
    svc.check()
    open_case = next(t for t in scenario.threads if t.fid == 2 and len(t.posts) == 1 and t.posts[0].uid < 30
                     and t.posts[0].at < local(2011, 3, 20))
    edited = open_case.posts[0]
    edited.edited_at, edited.edited_body = local(2011, 4, 1, 8, 0), "补充：已经停水三天了"
    gone = next(t for t in scenario.threads if t is not open_case and t.fid == 2 and t.posts[0].uid < 30
                and all(p.uid < 30 for p in t.posts) and t.posts[0].at < local(2011, 3, 20))
    gone.deleted_at = local(2011, 4, 1, 8, 0)
    forum.clock.set(local(2011, 4, 1, 9, 0))
    [r] = svc.poll()  # open cases not re-read for an hour: all re-read now
    assert r.store.changed >= 1
    svc.check(local(2011, 4, 1, 9, 0))
    with svc.repo.session("t") as s:
        from sqlalchemy import select

        from models.tables import PostRevision, ResponseCase, ThreadRecord
        assert s.scalar(select(PostRevision.body)) == edited.body  # the text before the edit is kept
        t = s.scalars(select(ThreadRecord).where(ThreadRecord.tid == gone.tid)).one()
        assert t.deleted_at is not None
        assert s.scalar(select(ResponseCase.state).where(ResponseCase.thread_id == t.id)) == "void"


def test_a_dead_forum_records_a_failed_run_and_loses_nothing(world):
    scenario, forum, svc = world
    svc.poll()
    stored = svc.repo.counts()
    forum.fail_next = [500] * 10
    cfg = svc.config.model_copy(update={"forums": [svc.config.forums[0].model_copy(update={"retries": 1})]})
    svc.config = cfg
    [r] = svc.poll()
    assert r.status == "failed" and "HTTP 500 after 2 attempts" in r.error
    assert svc.repo.counts() == stored
    [run] = svc.repo.last_poll_runs()
    assert run.status == "failed" and "HTTP 500" in run.error
    d = svc.digest()
    assert d.health[0]["status"] == "failed"


def test_a_forum_that_times_out_fails_cleanly(tmp_path):
    forum = start_forum()
    try:
        forum.fail_next = ["hang"] * 5
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}", timeout_seconds=0.3, retries=0)
        svc = Service(cfg, clock=forum.clock.now)
        [r] = svc.poll()
        assert r.status == "failed" and "timed out" in r.error
        svc.close()
    finally:
        forum.stop()


def test_digest_lists_newly_overdue_and_due_soon(world):
    scenario, forum, svc = world
    # Friday 1 April 2011 10:00. 清明 2011: Sat 2 April worked in lieu, 3-5 April off: due Wed 6 April 10:00
    posted = local(2011, 4, 1, 10, 0)
    pid = max(p.pid for t in scenario.threads for p in t.posts) + 1
    scenario.threads.append(DemoThread(999, 2, "象山大道路灯不亮谁来修", 6, 30, posts=[DemoPost(pid, 3, posted, "路灯坏了")]))
    forum.clock.set(local(2011, 4, 1, 11, 0))
    svc.poll()
    svc.check()
    case = next(c for c in svc.repo.cases_open_at(local(2011, 4, 1, 11, 0)) if c.title == "象山大道路灯不亮谁来修")
    assert case.due_at == local(2011, 4, 6, 10, 0)
    first = svc.digest(local(2011, 4, 5, 22, 0))
    assert any(i["title"] == "象山大道路灯不亮谁来修" for i in first.due_soon)
    svc.check(local(2011, 4, 6, 22, 0))
    later = svc.digest(local(2011, 4, 6, 22, 0))
    assert any(i["title"] == "象山大道路灯不亮谁来修" for i in later.newly_overdue)
    assert later.overdue_by_unit["市城管局"][-1]["title"] == "象山大道路灯不亮谁来修"
    # the same digest re-rendered later for that day lists the same overdue threads
    scenario.thread(999).posts.append(DemoPost(pid + 1, 35, local(2011, 4, 7, 9, 0), "已修复"))
    forum.clock.set(local(2011, 4, 7, 10, 0))
    svc.poll()
    svc.check(local(2011, 4, 7, 10, 0))
    assert svc.digest(local(2011, 4, 6, 22, 0)).overdue_by_unit == later.overdue_by_unit
    assert any(i["title"] == "象山大道路灯不亮谁来修" for i in svc.digest(local(2011, 4, 7, 22, 0)).answered_late)


def test_reports_escape_forum_content(world, tmp_path):
    scenario, forum, svc = world
    victim = next(t for t in scenario.threads if t.fid == 2 and all(p.uid < 30 for p in t.posts)
                  and t.posts[0].at < local(2011, 3, 1))
    victim.subject = '<img src=x onerror=alert(1)>|[x](javascript:alert(1))'
    svc.poll()
    svc.check()
    b, paths = svc.write_bulletin(Q1, tmp_path / "out")
    html = (tmp_path / "out" / "bulletin.html").read_text("utf-8")
    md = (tmp_path / "out" / "bulletin.md").read_text("utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "\\<img src=x onerror=alert\\(1\\)\\>\\|\\[x\\]\\(javascript:alert\\(1\\)\\)" in md
    data = json.loads((tmp_path / "out" / "bulletin.json").read_text("utf-8"))
    assert any(a["title"] == victim.subject for a in data["appendix"])


def _case_history(svc: Service) -> list[tuple]:
    """(tid, state, at) of every case event, the cases' end states: what the check decided."""
    from sqlalchemy import select
    from models.tables import CaseEvent, ResponseCase, ThreadRecord
    with svc.repo.session("t") as s:
        return sorted(tuple(r) for r in s.execute(
            select(ThreadRecord.tid, CaseEvent.state, CaseEvent.at, ResponseCase.state)
            .join(ResponseCase, ResponseCase.id == CaseEvent.case_id)
            .join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)))


def test_a_stop_request_ends_the_poll_after_the_current_write_and_the_next_poll_resumes(world, tmp_path):
    scenario, forum, svc = world
    original = svc.repo.store_posts

    def store_then_stop(*args, **kwargs):
        result = original(*args, **kwargs)
        if svc.repo.counts()["posts"] >= 100:
            svc.stop.set()  # as SIGTERM does in the daemon
        return result
    svc.repo.store_posts = store_then_stop
    [first] = svc.poll()
    assert first.status == "interrupted" and 100 <= svc.repo.counts()["posts"] < 563
    svc.check()  # the daemon's check after an interrupted poll: threads not fully read wait
    svc.stop.clear()
    svc.repo.store_posts = original
    [second] = svc.poll()
    assert second.status == "ok"
    svc.check()
    b = svc.bulletin(Q1)
    assert (b.received, b.answered_in_time, b.not_in_time) == (95, 39, 56)  # nothing lost, nothing doubled
    clean = Service(config_for(forum, f"sqlite:///{tmp_path / 'clean.sqlite3'}"), clock=forum.clock.now)
    clean.poll()
    clean.check()
    assert _case_history(svc) == _case_history(clean)  # no event the complete poll would not record
    clean.close()


@pytest.mark.parametrize("engine,marker", [("discuz-api", "/api/mobile/index.php"), ("discuz-touch", "mobile=2")])
def test_every_discuz_way_in_gives_the_same_quarter(tmp_path, engine, marker):
    """Polling the demo forum's touch pages or its mobile API over HTTP yields the same bulletin."""
    forum = start_forum()
    try:
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}", engine=engine)
        svc = Service(cfg, clock=forum.clock.now)
        [r] = svc.poll()
        assert r.status == "ok", r.warnings[:3]
        assert all(marker in q for q in forum.requests if "do=profile" not in q)
        [steady] = svc.poll()
        assert steady.requests == 3 and steady.threads_fetched == 0
        b = svc.bulletin(Q1)
        svc.close()
    finally:
        forum.stop()
    assert (b.received, b.answered_in_time, b.answered_late, b.unanswered) == (95, 39, 20, 36)
    assert b.proactive["by_unit"] == {"市旅游局": 2, "市供水公司": 2, "市出租办": 1}


def test_spokesperson_presence_is_read_daily_and_reported(world):
    scenario, forum, svc = world
    svc.poll()
    profile_requests = [q for q in forum.requests if "do=profile" in q]
    assert len(profile_requests) == 6  # every account configured with a uid, once
    forum.requests.clear()
    svc.poll()
    assert not any("do=profile" in q for q in forum.requests)  # not again the same day
    b = svc.bulletin(Q1)
    silent = next(sp for sp in b.spokespersons if sp["unit"] == "市教育局")
    assert silent["rarely_online"] and silent["last_visit"] == "2011-01-06 09:12" and silent["posts_in_period"] == 0
    assert not any(sp["rarely_online"] for sp in b.spokespersons if sp["unit"] != "市教育局")
    forum.clock.set(local(2011, 4, 2, 1, 0))
    forum.requests.clear()
    svc.poll()
    assert len([q for q in forum.requests if "do=profile" in q]) == 6  # a day later: read again


def _members_only_forum(scenario=None):
    from monitor.demoforum.server import DemoClock, DemoForum
    s = scenario or scenario_copy()
    return DemoForum(s, clock=DemoClock(s.default_now), passwords={"监督员": "s3cret-pass"},
                     members_only=True).start()


def test_a_members_only_forum_is_polled_after_logging_in(tmp_path, caplog_loguru):
    forum = _members_only_forum()
    try:
        from monitor.config import Login
        login = Login(username="监督员", password="s3cret-pass")
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}", login=login)
        cfg = cfg.model_copy(update={"state_dir": str(tmp_path / "state")})
        svc = Service(cfg, clock=forum.clock.now)
        [r] = svc.poll()
        assert r.status == "ok" and r.store.new > 500
        session = tmp_path / "state" / "session-demo.json"
        assert session.stat().st_mode & 0o777 == 0o600 and (session.parent.stat().st_mode & 0o777) == 0o700
        logins = [q for q in forum.requests if q.startswith("POST")]
        assert len(logins) == 1
        # the forum forgets our session: the next poll logs in again by itself
        forum.sessions.clear()
        [again] = svc.poll()
        assert again.status == "ok" and len([q for q in forum.requests if q.startswith("POST")]) == 2
        svc.close()
    finally:
        forum.stop()
    assert not any("s3cret-pass" in m for m in caplog_loguru)
    assert "s3cret-pass" not in repr(cfg)


def test_a_refused_login_fails_the_poll_with_the_forums_message(tmp_path):
    forum = _members_only_forum()
    try:
        from monitor.config import Login
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}",
                         login=Login(username="监督员", password="wrong-pass"))
        cfg = cfg.model_copy(update={"state_dir": str(tmp_path / "state")})
        svc = Service(cfg, clock=forum.clock.now)
        [r] = svc.poll()
        svc.close()
    finally:
        forum.stop()
    assert r.status == "failed" and "login to demo as '监督员' refused: 登录失败" in r.error
    assert "wrong-pass" not in r.error


def test_without_a_login_a_members_only_board_fails_clearly(tmp_path):
    forum = _members_only_forum()
    try:
        svc = Service(config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}"), clock=forum.clock.now)
        [r] = svc.poll()
        svc.close()
    finally:
        forum.stop()
    assert r.status == "failed" and "login_required" in r.error and "尚未登录" in r.error


def test_a_board_read_through_its_rss_feed(tmp_path):
    """The feed gives the newest 20 threads; their posts come from the thread pages as usual."""
    scenario = scenario_copy()
    forum = start_forum(scenario)
    try:
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}")
        boards = [b.model_copy(update={"feed_url": "auto"}) if b.fid == 2 else b for b in cfg.forums[0].boards]
        cfg = cfg.model_copy(update={"forums": [cfg.forums[0].model_copy(update={"boards": boards})]})
        svc = Service(cfg, clock=forum.clock.now)
        [r] = svc.poll()
        assert r.status == "ok", r.warnings[:3]
        assert any("mod=rss&fid=2" in q for q in forum.requests)
        assert not any("forumdisplay&fid=2" in q for q in forum.requests)
        newest = sorted(scenario.board_threads(2, forum.clock.now()), key=lambda v: v.posts[0].at)[-20:]
        with svc.repo.session("t") as s:
            from sqlalchemy import select

            from models.tables import PostRecord, ThreadRecord
            stored = set(s.scalars(select(ThreadRecord.tid).where(ThreadRecord.fid == 2)))
            pids = set(s.scalars(select(PostRecord.pid).join(ThreadRecord, ThreadRecord.id == PostRecord.thread_id)
                                 .where(ThreadRecord.fid == 2)))
            categories = set(s.scalars(select(ThreadRecord.category).where(ThreadRecord.fid == 2)))
        assert stored == {v.tid for v in newest}
        assert pids == {p.pid for v in newest for p in v.posts}
        assert categories - {None}  # the category came from the thread pages
        svc.close()
    finally:
        forum.stop()


@pytest.mark.parametrize("has_api,expected", [(True, "discuz-api"), (False, "discuz")])
def test_auto_uses_the_mobile_api_when_the_site_answers_it(tmp_path, has_api, expected):
    from monitor.demoforum.server import DemoClock, DemoForum
    from monitor.poller import resolve_engine
    from scrapers.fetch import Fetcher
    s = scenario_copy()
    forum = DemoForum(s, clock=DemoClock(s.default_now), api=has_api).start()
    try:
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}", engine="discuz-auto")
        with Fetcher(forum.base_url, rate_limit=0) as fetcher:
            assert resolve_engine(cfg.forums[0], fetcher) == expected
        svc = Service(cfg, clock=forum.clock.now)
        [r] = svc.poll()
        assert r.status == "ok" and r.store.new > 500
        svc.close()
    finally:
        forum.stop()


def test_two_pollers_of_one_forum_at_once_store_everything_once(db_url):
    """Two daemons (here: two services in threads) polling one forum into one database at the
    same moment: no IntegrityError, every run recorded, each thread and post stored once."""
    import threading
    forum = start_forum()
    try:
        services = [Service(config_for(forum, db_url), clock=forum.clock.now) for _ in range(2)]
        results, errors = [], []

        def poll(svc):
            try:
                results.extend(svc.poll())
                svc.check()
            except Exception as exc:  # noqa: BLE001 - any failure fails the test
                errors.append(exc)
        workers = [threading.Thread(target=poll, args=(svc,)) for svc in services]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert errors == []
        assert [r.status for r in results] == ["ok", "ok"], [r.warnings[:3] for r in results]
        counts = services[0].repo.counts()
        assert (counts["threads"], counts["posts"]) == (119, 563)
        b = services[1].bulletin(Q1)
        assert (b.received, b.answered_in_time, b.not_in_time) == (95, 39, 56)
        keys = [(tid, state, at) for tid, state, at, _ in _case_history(services[0])]
        assert len(keys) == len(set(keys))
        for svc in services:
            svc.close()
    finally:
        forum.stop()


def test_the_bulletin_from_recorded_cases_equals_a_re_evaluation_from_the_posts(world):
    """The bulletin reads each thread's outcome from its recorded case; evaluating every thread
    again from its posts (as it did before) must give the same document at any ``as_of``."""
    from dataclasses import asdict
    from types import SimpleNamespace

    from monitor.bulletin import build_bulletin
    _, _, svc = world
    svc.poll()
    svc.check()
    recorded = svc.repo.report_threads

    def without_cases(*args):
        return [SimpleNamespace(**{**row._asdict(), "case_id": None}) for row in recorded(*args)]
    for as_of in (local(2011, 2, 1), local(2011, 3, 10, 12, 0), local(2011, 4, 1)):
        from_cases = asdict(build_bulletin(svc.config, svc.repo, Q1, as_of))
        svc.repo.report_threads = without_cases
        from_posts = asdict(build_bulletin(svc.config, svc.repo, Q1, as_of))
        svc.repo.report_threads = recorded
        assert from_cases == from_posts
        assert from_cases["received"] > 0


def test_the_problems_judge_by_the_figures(world):
    """答复用时偏长 is said only while the slowest unit's median is beyond the 2-working-day rule."""
    from monitor.bulletin_text import problems
    _, _, svc = world
    svc.poll()
    b = svc.bulletin(Q1)
    slowest = max(u["median_response_days"] or 0 for u in b.units)
    assert slowest > 2 and b.problems[0].startswith("答复用时偏长。") and f"（{slowest:g}天）" in b.problems[0]
    for u in b.units:  # every unit's median within the deadline: the same figures, no judgement
        if u["median_response_days"] is not None:
            u["median_response_days"] = min(u["median_response_days"], 1.5)
    assert problems(b)[0].startswith(f"已答复帖子答复用时中位数为{b.response_time['median_days']:g}天")
