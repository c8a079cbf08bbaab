"""Immediate alerts: a hot thread nobody answers, a new thread with a watch word — sent once, within
a poll, to the unit's and the office's targets; across replicas, restarts, and not for history."""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from models.coordination import Coordinator
from monitor.alerts import SLACK, Alert, Candidate, advance, compose, delivery_key, select_alerts, send_alerts
from monitor.config import parse_config
from monitor.demoforum.scenario import DemoPost, DemoThread, Scenario
from monitor.demoforum.server import DemoClock, DemoForum
from monitor.notify import deliver_alert
from monitor.service import Service
from tests.helpers import add_reply, config_for, scenario_copy
from tests.running import RunningDaemon, sample_config, write_config

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)  # 12:00 in Beijing
CITIZEN = 5  # a netizen of the demo scenario
UNANSWERED = (80, 79)  # 供水服务 threads of early 2011 nobody answered, far below the hot thresholds


# ---- the selection, pure ---------------------------------------------------------------------------

def _config(**alerts):
    text = ("forums:\n  - {id: demo, name: 荆门社区, base_url: 'http://127.0.0.1:9/', "
            "boards: [{fid: 4, name: 供水服务, kind: programme, unit: water}]}\n"
            "units:\n  - {id: water, name: 市供水公司, notify: ['json://127.0.0.1:9/water']}\n"
            "rules: {hot: {min_views: 10000, min_replies: 100, respond_within: {hours: 24}}}\n"
            "digest: {notify: ['json://127.0.0.1:9/office']}\n")
    cfg = parse_config(text)
    return cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={"keywords": ["曝光", "上访"], **alerts})})


def _thread(tid: int = 1, **kw) -> Candidate:
    values = dict(thread_id=tid, forum_id="demo", tid=tid, fid=4, title="水费问题", url=f"http://f/t{tid}",
                  posted_at=NOW - timedelta(minutes=30), first_seen_at=NOW - timedelta(minutes=20), views=50,
                  replies=1, counted=True, deleted=False, settled=True, unit_id="water", state="pending",
                  due_at=NOW + timedelta(days=2))
    return Candidate(**{**values, **kw})


def _kinds(alerts: list[Alert]) -> list[tuple[str, int, str | None]]:
    return [(a.kind, a.thread.tid, a.keyword) for a in alerts]


def test_a_new_thread_with_a_watch_word_in_its_title_or_opening_post_alerts():
    cfg = _config()
    picked = select_alerts([
        _thread(1, new=True, title="我要曝光自来水公司"),
        _thread(2, new=True, opening="去市里上访也投诉无门"),  # the first word of the list that matches
        _thread(3, new=True, title="水费为什么涨了"),  # no watch word
        _thread(4, new=False, title="早就曝光过了"),  # not new: seen before the last look
        _thread(5, new=True, title="曝光", counted=False),  # not a counted thread
        _thread(6, new=True, title="曝光", settled=False),  # the check has not judged it yet
        _thread(7, new=True, title="曝光", deleted=True),
        _thread(8, new=True, title="曝光", state=None),  # no case (undatable)
        # history: first seen long after its posting (a first poll, a board just added)
        _thread(9, new=True, title="曝光", posted_at=NOW - timedelta(days=400)),
        _thread(10, new=True, title="曝光", state="answered_in_time"),  # a watch word alerts whatever the state
    ], cfg)
    assert _kinds(picked) == [("keyword", 1, "曝光"), ("keyword", 2, "上访"), ("keyword", 10, "曝光")]
    assert picked[0].key == "keyword:demo:1"
    assert select_alerts([_thread(1, new=True, title="曝光")], cfg, {"keyword:demo:1"}) == []  # marked: sent before
    assert select_alerts([_thread(1, new=True, title="曝光")], _config(keywords=[])) == []


def test_a_thread_alerts_when_it_turns_hot_while_unanswered():
    cfg = _config()
    old = dict(posted_at=NOW - timedelta(days=60), first_seen_at=NOW - timedelta(days=59))
    picked = select_alerts([
        _thread(1, hot=True, turned_hot=True, state="pending"),
        _thread(2, hot=True, turned_hot=True, state="overdue", **old),  # an old thread seen cold, now hot
        _thread(3, hot=True, turned_hot=True, state="answered_late"),  # answered: nobody to chase
        _thread(4, hot=True, turned_hot=False, state="overdue"),  # hot before the last look
        _thread(5, hot=False, turned_hot=True, state="overdue"),  # the check says not hot
        _thread(6, hot=True, turned_hot=True, hot_at_first_sight=True, state="overdue",  # history, read in a backfill
                posted_at=NOW - timedelta(days=60), first_seen_at=NOW - timedelta(hours=1)),
        _thread(7, hot=True, turned_hot=True, hot_at_first_sight=True, state="pending"),  # news, hot at once
        _thread(8, hot=True, turned_hot=True, state="overdue", unit_id=None),  # the office owes it
    ], cfg)
    assert _kinds(picked) == [("hot", 1, None), ("hot", 2, None), ("hot", 7, None), ("hot", 8, None)]
    assert select_alerts([_thread(1, hot=True, turned_hot=True)], _config(hot=False)) == []
    both = select_alerts([_thread(1, new=True, title="曝光", hot=True, turned_hot=True, hot_at_first_sight=True)], cfg)
    assert [a.key for a in both] == ["keyword:demo:1", "hot:demo:1"]


def test_a_cursor_stops_at_young_rows_and_at_rows_the_check_has_not_judged():
    old, young = NOW - SLACK - timedelta(minutes=1), NOW - timedelta(minutes=1)
    assert advance(10, [(11, old, False), (12, old, False)], NOW) == 12
    assert advance(10, [(11, old, False), (12, young, False), (13, old, False)], NOW) == 11
    assert advance(10, [(11, old, True), (12, old, False)], NOW) == 10  # waits for the check
    assert advance(10, [(11, NOW - timedelta(days=3), True), (12, old, False)], NOW) == 12  # gave up waiting
    assert advance(10, [], NOW) == 10


def test_a_delivery_mark_fits_its_column_and_stays_apart_per_target():
    short = delivery_key("hot:demo:1", "office 0123456789abcdef")
    assert short == "hot:demo:1 office 0123456789abcdef"
    long_a, long_b = (delivery_key("hot:demo:1", "某单位" * 70 + tail) for tail in (" a", " b"))
    assert len(long_a) <= 200 and long_a.startswith("hot:demo:1 ") and long_a != long_b


def test_the_message_in_chinese_and_english_with_forum_text_made_inert():
    c = _thread(1, title="[点我](javascript:alert(1)) <img src=x onerror=alert(1)> 曝光", new=True,
                opening="第一行\n\n" + "很长的内容" * 40, state="overdue", due_at=NOW - timedelta(hours=1), views=12345,
                replies=7)
    title, body = compose(Alert("keyword", "keyword:demo:1", c, "曝光"), _config())
    assert title == "【关键词预警：曝光】[点我](javascript:alert(1)) <img src=x onerror=alert(1)> 曝光"
    assert not re.search(r"(?<!\\)<img", body) and "](javascript" not in body and "\\<img src=x" in body
    assert "- 责任单位：市供水公司" in body and "- 版块：荆门社区 · 供水服务" in body
    assert "- 发帖时间：2026-12-02 11:30+08:00" in body  # the office's time
    assert "- 浏览 12345，回复 7" in body and "- 答复期限：2026-12-02 11:00+08:00（已逾期）" in body
    excerpt = next(line for line in body.splitlines() if line.startswith("- 首帖："))
    assert excerpt.startswith("- 首帖：第一行 很长的内容") and excerpt.endswith("…") and len(excerpt) < 100
    assert "- 链接：http://f/t1" in body
    en = _config().model_copy(update={"digest": _config().digest.model_copy(update={"lang": "en"})})
    title, body = compose(Alert("hot", "hot:demo:2", _thread(2, unit_id=None, title="停水")), en)
    assert title == "[Hot, unanswered] 停水"
    assert "- Unit: \\(no unit assigned\\)" in body and "- Answer due: 2026-12-04 12:00+08:00" in body


def test_an_alert_goes_to_the_unit_and_the_office_and_only_the_office_when_no_unit_owes_it(inbox):
    port, received = inbox
    cfg = _config()
    cfg = cfg.model_copy(update={
        "units": [cfg.units[0].model_copy(update={"notify": [f"json://127.0.0.1:{port}/water"]})],
        "alerts": cfg.alerts.model_copy(update={"notify": [f"json://127.0.0.1:{port}/alerts"]}),
        "digest": cfg.digest.model_copy(update={"notify": [f"json://127.0.0.1:{port}/digest"]})})
    assert deliver_alert(cfg, "t", "b", "water").sent == ["office", "市供水公司"]
    assert deliver_alert(cfg, "t", "b", None).sent == ["office"]
    assert [m["path"] for m in received] == ["/alerts", "/water", "/alerts"]  # alerts.notify before digest.notify
    received.clear()
    no_alert_targets = cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={"notify": []})})
    deliver_alert(no_alert_targets, "t", "b", None)
    assert [m["path"] for m in received] == ["/digest"]


# ---- over a database: history stays quiet, replicas send once ------------------------------------------

def _new_keyword_thread(s: Scenario, at: datetime, subject: str = "自来水公司乱收费，我要曝光") -> int:
    tid = max(t.tid for t in s.threads) + 1
    pid = max(p.pid for t in s.threads for p in t.posts) + 1
    s.threads.append(DemoThread(tid=tid, fid=4, subject=subject,
                                posts=[DemoPost(pid, CITIZEN, at, "水费一个月翻了三倍，打电话没人接。")]))
    return tid


def _make_hot(s: Scenario, tid: int, at: datetime, views: int = 20000) -> None:
    """More views than the hot threshold, and a reply (a list row changes only with its replies)."""
    s.thread(tid).views = views
    add_reply(s, tid, CITIZEN, at, "顶，怎么还没人管？")


def test_history_stays_quiet_and_two_nodes_send_each_alert_once(db_url, inbox):
    """An existing database (polled for days, no alert cursor yet): only what turned hot or came
    in within the last day alerts; two nodes looking at once send each alert to each target once."""
    port, received = inbox
    s = scenario_copy()
    forum = DemoForum(s, clock=DemoClock(None)).start()  # the forum on real time: a thread posted now is new
    cfg = config_for(forum, db_url)
    cfg = cfg.model_copy(update={
        "units": [u.model_copy(update={"notify": [f"json://127.0.0.1:{port}/water"]}) if u.id == "water" else u
                  for u in cfg.units],
        "alerts": cfg.alerts.model_copy(update={"notify": [f"json://127.0.0.1:{port}/office"]})})
    now = datetime.now(timezone.utc)
    clock = [now - timedelta(days=3)]
    svc = Service(cfg, clock=lambda: clock[0])
    try:
        svc.poll()
        svc.check()
        _make_hot(s, UNANSWERED[0], now - timedelta(days=3))  # turned hot two days ago
        clock[0] = now - timedelta(days=2)
        svc.poll()
        svc.check()
        clock[0] = now
        fresh = _new_keyword_thread(s, now - timedelta(minutes=3))
        _make_hot(s, UNANSWERED[1], now - timedelta(minutes=2))
        svc.poll()
        svc.check()
        assert _kinds(send_alerts(cfg, svc.repo, Coordinator(svc.engine, "x:0:dry"), now, dry_run=True).alerts) == [
            ("hot", UNANSWERED[1], None), ("keyword", fresh, "曝光")]

        nodes = [Coordinator(svc.engine, f"node{i}:{i}:x") for i in range(2)]
        runs, start = [None, None], threading.Barrier(2)

        def look(i):
            start.wait()
            runs[i] = send_alerts(cfg, svc.repo, nodes[i], now)
        workers = [threading.Thread(target=look, args=(i,)) for i in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert sorted(k for r in runs for k in r.sent) == [f"hot:demo:{UNANSWERED[1]}", f"keyword:demo:{fresh}"]
        assert sorted((m["path"], m["title"]) for m in received) == sorted(
            (path, title) for path in ("/office", "/water")
            for title in ("【热点帖未答复】" + s.thread(UNANSWERED[1]).subject, "【关键词预警：曝光】自来水公司乱收费，我要曝光"))
        # looked at again, and after more polls: nothing more
        _make_hot(s, UNANSWERED[1], now - timedelta(minutes=1), views=30000)
        svc.poll()
        svc.check()
        assert send_alerts(cfg, svc.repo, nodes[1], now + timedelta(minutes=1)).alerts == []
        assert send_alerts(cfg, svc.repo, nodes[0], now + SLACK * 2).alerts == []
        assert len(received) == 4
        with svc.engine.connect() as c:
            marks = dict(c.execute(sa.text("select job, count(*) from once_marks group by job")).all())
            cursors = dict(c.execute(sa.text("select key, detail from once_marks where job = 'alert-cursor'")).all())
            top = c.execute(sa.text("select (select max(id) from threads), (select max(id) from thread_counts)")).one()
        assert marks["alert"] == 2 and marks["alert-delivery"] == 4
        assert cursors == {"threads": str(top[0]), "counts": str(top[1])}  # moved on once the rows were old enough
    finally:
        svc.close()
        forum.stop()


def test_alerts_turned_off_forget_their_cursor(tmp_path):
    s = scenario_copy()
    with DemoForum(s, clock=DemoClock(None)) as forum:
        cfg = config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}")
        cfg = cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={"notify": ["json://127.0.0.1:9/x"]})})
        svc = Service(cfg)
        try:
            node = Coordinator(svc.engine, "a:1:x")

            def cursors() -> set[str]:
                with svc.engine.connect() as c:
                    return set(c.execute(sa.text("select key from once_marks where job = 'alert-cursor'")).scalars())
            send_alerts(cfg, svc.repo, node)
            assert cursors() == {"threads", "counts"}
            off = cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={"keywords": []})})
            send_alerts(off, svc.repo, node)
            assert cursors() == {"counts"}
        finally:
            svc.close()


# ---- the daemon, as an operator runs it ---------------------------------------------------------------

def _daemon_config(tmp_path, base_url: str, port: int) -> dict:
    raw = sample_config()
    raw["forums"] = [{**raw["forums"][0], "base_url": base_url, "rate_limit": 0, "poll_interval_minutes": 0.05}]
    raw["check_interval_minutes"] = 0.1
    raw["state_dir"] = str(tmp_path / "state")
    raw["health"] = {"listen": ""}
    raw["digest"].update(out_dir=str(tmp_path / "reports"), notify=[])
    raw["alerts"] = {"hot": True, "keywords": ["曝光", "投诉无门", "上访"],
                     "notify": [f"json://127.0.0.1:{port}/office?token=${{HOOK_TOKEN}}"]}
    next(u for u in raw["units"] if u["id"] == "water")["notify"] = [f"json://127.0.0.1:{port}/water"]
    return raw


def test_the_daemon_alerts_once_within_a_poll_to_the_unit_and_the_office_across_a_restart(tmp_path, inbox):
    port, received = inbox
    alerts = lambda: sorted((m["path"].split("?")[0], m["title"]) for m in received  # noqa: E731
                            if m["title"].startswith("【"))
    s = scenario_copy()
    forum = DemoForum(s, clock=DemoClock(None)).start()
    cfg = write_config(tmp_path / "config.yaml", _daemon_config(tmp_path, forum.base_url, port))
    env = {"SPOKESWATCH_DATABASE": f"sqlite:///{tmp_path / 'db.sqlite3'}", "HOOK_TOKEN": "t0ken-secret"}
    daemon = RunningDaemon(tmp_path, cfg, env)
    second = None
    try:
        daemon.wait_for_text("poll demo: ok,")
        daemon.wait_for(lambda lines: "checked:" in "\n".join(lines).split("poll demo: ok,", 1)[1], 60,
                        "a check after the first poll")
        assert alerts() == []  # a new installation's first poll is history: no flood

        polls = daemon.text().count("poll demo: ok,")  # change the forum just after a poll: the next sees it all
        daemon.wait_for(lambda _l: daemon.text().count("poll demo: ok,") > polls, 30, "a poll")
        mark = len(daemon.text())
        now = datetime.now(timezone.utc)
        hot = s.thread(UNANSWERED[0])
        _make_hot(s, hot.tid, now - timedelta(minutes=1))
        fresh = _new_keyword_thread(s, now - timedelta(minutes=2), "停水三天投诉无门，我要曝光")
        expected = sorted((path, title) for path in ("/office", "/water")
                          for title in ("【热点帖未答复】" + hot.subject, "【关键词预警：曝光】停水三天投诉无门，我要曝光"))
        daemon.wait_for(lambda _l: len(alerts()) >= 4, 60, "four alert messages")
        assert alerts() == expected
        # the daemon logs an alert once every target has been told: the webhook may see it first
        for key in (f"alert hot:demo:{hot.tid}", f"alert keyword:demo:{fresh}"):
            daemon.wait_for_text(key, 30, after=mark)
        # within one poll: sent after the check that follows the poll that stored the change
        log = daemon.text()[mark:]
        # the two changes are made one after the other while the daemon polls: one poll usually
        # stores both ("2 new posts"), now and then one each
        stored = re.search(r" [12] new posts", log).start()
        assert log.index(f"alert hot:demo:{hot.tid}") > stored and log.index(f"alert keyword:demo:{fresh}") > stored
        assert log.count("poll demo: ok,", stored, log.index(f"alert keyword:demo:{fresh}")) <= 2

        # more polls, views still growing: nothing more
        _make_hot(s, hot.tid, datetime.now(timezone.utc) - timedelta(seconds=30), views=25000)
        polls = daemon.text().count("poll demo: ok,")
        daemon.wait_for(lambda _l: daemon.text().count("poll demo: ok,") >= polls + 3, 60, "three more polls")
        daemon.terminate()
        assert "t0ken-secret" not in daemon.text()  # the target's secret never reaches the log

        # restarted on the same database, and the thread changes again: still once
        _make_hot(s, hot.tid, datetime.now(timezone.utc) - timedelta(seconds=10), views=30000)
        second = RunningDaemon(tmp_path, cfg, env, name="restarted")
        second.wait_for(lambda _l: second.text().count("poll demo: ok,") >= 3, 90, "three polls after the restart")
        second.wait_for(lambda lines: "checked:" in "\n".join(lines).split("poll demo: ok,")[-1], 60, "a check")
        assert "1 new posts" in second.text()  # the restarted daemon stored the change
        assert alerts() == expected
        assert second.terminate() < 10
        assert "Traceback" not in daemon.text() + second.text()
        assert "t0ken-secret" not in second.text()
    finally:
        daemon.close()
        if second is not None:
            second.close()
        forum.stop()

