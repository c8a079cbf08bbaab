"""Corrections by the office: ``spokeswatch case assign|exclude|include|show``.

Through the CLI as a user runs it (real processes, real exit codes) against the served demo
forum, on SQLite and on PostgreSQL; the overrides hold through a re-poll and a full check, and
the bulletin's figures follow them. Then the pure rules of an override, and the incremental
check held to the full one over randomized histories with overrides recorded along the way.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from models.db import make_engine, upgrade
from models.override_store import EffectiveOverride, effective_override
from models.repository import Repository
from models.tables import ResponseCase, ThreadRecord
from monitor.assignment import Assignment, Directory, apply_override
from monitor.bulletin import build_bulletin
from monitor.check import calendar_of, run_check
from monitor.periods import parse_period
from tests.helpers import ROOT, add_reply, config_for, local, sample_config, scenario_copy, start_forum
from tests.test_monitor.test_incremental_check import History, decisions

EXE = [sys.executable, "-m", "monitor"]
Q1 = parse_period("2011Q1")
PROPERTY_FEES = "小区物业乱收费向哪里反映"  # answered late by 市交警支队's spokesperson: assigned by first_answer


def run(*args, cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run([*EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


@pytest.fixture
def demo(db_url, tmp_path):
    """The demo forum (a scenario copy) polled once through the CLI into ``db_url``: a ``cli(*args)``
    that runs spokeswatch with its config, the scenario, the forum, and the config in-process."""
    scenario = scenario_copy()
    forum = start_forum(scenario)
    cfg = tmp_path / "config.yaml"
    cfg.write_text((ROOT / "config.yaml").read_text("utf-8").replace("http://127.0.0.1:8089/", forum.base_url)
                   .replace("rate_limit: 5 ", "rate_limit: 0 "), "utf-8")
    env = {"SPOKESWATCH_DATABASE": db_url}

    def cli(*args) -> subprocess.CompletedProcess:
        return run(*args, "-c", str(cfg), cwd=tmp_path, env=env)
    try:
        polled = cli("poll")
        assert polled.returncode == 0, polled.stderr
        yield cli, scenario, forum, config_for(forum, db_url)
    finally:
        forum.stop()


def figures(config) -> dict:
    """The 2011Q1 bulletin's headline figures, computed from the database as it stands."""
    engine = make_engine(config.database)
    try:
        b = build_bulletin(config, Repository(engine), Q1)
    finally:
        engine.dispose()
    return {k: getattr(b, k) for k in ("received", "answered_in_time", "answered_late", "unanswered",
                                       "not_in_time")}


def pick_threads(config) -> tuple[int, int, int]:
    """tids of: the property-fees thread; an unanswered overdue programme thread; a watched-board
    chatter thread nothing counts, posted early enough in the quarter to be overdue at its end."""
    engine = make_engine(config.database)
    with engine.connect() as c:
        rows = c.execute(select(ThreadRecord.tid, ThreadRecord.fid, ThreadRecord.title, ThreadRecord.counted,
                                ThreadRecord.proactive_unit_id, ThreadRecord.posted_at, ResponseCase.state,
                                ResponseCase.answered_at)
                         .outerjoin(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                         .order_by(ThreadRecord.tid)).all()
    engine.dispose()
    in_q1 = [r for r in rows if local(2011, 1, 1) <= r.posted_at < local(2011, 3, 20)]
    fees = next(r.tid for r in rows if r.title == PROPERTY_FEES)
    unanswered = next(r.tid for r in in_q1 if r.fid == 2 and r.state == "overdue" and r.answered_at is None)
    chatter = next(r.tid for r in in_q1 if r.fid == 3 and not r.counted and r.proactive_unit_id is None)
    return fees, unanswered, chatter


def shown(cli, ref: str) -> dict:
    r = cli("case", "show", ref, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_offices_corrections_hold_through_a_re_poll_and_a_full_check(demo, tmp_path):
    cli, scenario, forum, config = demo
    fees, dup, chatter = pick_threads(config)
    before = shown(cli, f"demo:{fees}")
    assert (before["assignment"]["unit_id"], before["assignment"]["assigned_by"]) == ("traffic", "first_answer")
    assert before["case"]["state"] == "answered_late" and before["overrides"] == []
    start = figures(config)

    # 1. reassigned: 市交警支队's answer is not 市城管局's, so the thread waits unanswered
    r = cli("case", "assign", f"demo:{fees}", "urban", "--reason", "物业收费归城管局管", "--by", "王科长")
    assert r.returncode == 0, r.stderr
    assert "recorded: assign → 市城管局 (urban) by 王科长: 物业收费归城管局管" in r.stdout
    assert "unit: 市交警支队 (traffic), by first_answer → 市城管局 (urban), by office" in r.stdout
    assert "case: answered_late → overdue" in r.stdout and "incremental" in r.stdout
    after_assign = figures(config)
    assert after_assign == {**start, "answered_late": start["answered_late"] - 1,
                            "unanswered": start["unanswered"] + 1}

    # 2. excluded: one received and one unanswered fewer
    r = cli("case", "exclude", f"demo:{dup}", "--reason", "重复帖", "--by", "王科长")
    assert r.returncode == 0, r.stderr
    assert "case: overdue → void" in r.stdout and "; not counted" in r.stdout
    after_exclude = figures(config)
    assert after_exclude == {**after_assign, "received": after_assign["received"] - 1,
                             "unanswered": after_assign["unanswered"] - 1,
                             "not_in_time": after_assign["not_in_time"] - 1}

    # 3. included: a watched-board thread no rule counts becomes the office's unanswered request
    r = cli("case", "include", f"demo:{chatter}", "--reason", "实为求助", "--by", "李科员")
    assert r.returncode == 0, r.stderr
    assert "case: no case → overdue" in r.stdout and "the office (no unit); not counted → the office" in r.stdout
    after_include = figures(config)
    assert after_include == {**after_exclude, "received": after_exclude["received"] + 1,
                             "unanswered": after_exclude["unanswered"] + 1,
                             "not_in_time": after_exclude["not_in_time"] + 1}

    # new replies on all three, a re-poll (it re-reads them) and a full check: the overrides hold
    forum.clock.set(local(2011, 4, 1, 9, 0))
    add_reply(scenario, fees, 34, local(2011, 4, 1, 8, 30), "已转市城管局办理。")  # 市交警支队 again
    add_reply(scenario, dup, 5, local(2011, 4, 1, 8, 31), "顶")
    add_reply(scenario, chatter, 5, local(2011, 4, 1, 8, 32), "顶")
    repolled = cli("poll")
    assert repolled.returncode == 0 and "3 new posts" in repolled.stdout, repolled.stdout + repolled.stderr
    full = cli("check", "--full")
    assert full.returncode == 0 and "full (asked for)" in full.stdout, full.stderr
    assert figures(config) == after_include
    h = shown(cli, f"demo:{fees}")
    assert (h["assignment"]["unit_id"], h["assignment"]["assigned_by"]) == ("urban", "office")
    assert (h["case"]["unit_id"], h["case"]["state"], h["case"]["answered_at"]) == ("urban", "overdue", None)
    assert h["posts"][-1]["unit_id"] == "traffic" and h["posts"][-1]["excerpt"] == "已转市城管局办理。"
    assert [(o["action"], o["unit_id"], o["by"]) for o in h["overrides"]] == [("assign", "urban", "王科长")]
    excluded = shown(cli, f"demo:{dup}")
    assert excluded["assignment"]["counted"] is False and excluded["case"]["state"] == "void"
    included = shown(cli, f"demo:{chatter}")
    assert included["assignment"]["counted"] is True and included["assignment"]["unit_id"] is None
    assert included["case"]["state"] == "overdue"

    # an exclusion cancelled by an include: counted again
    r = cli("case", "include", f"demo:{dup}", "--reason", "不是重复帖", "--by", "王科长")
    assert r.returncode == 0 and "case: void → overdue" in r.stdout, r.stdout + r.stderr
    assert figures(config) == {**after_include, "received": after_include["received"] + 1,
                               "unanswered": after_include["unanswered"] + 1,
                               "not_in_time": after_include["not_in_time"] + 1}

    # the record, as a person reads it
    text = cli("case", "show", f"demo:{fees}")
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert out.startswith(f"demo:{fees} {PROPERTY_FEES}\n") and f"tid={fees}" in out
    assert "board 网络发言人 (fid 2, programme)" in out
    assert f"posted:   {h['thread']['posted_at'][:10]} " in out and "+08:00" in out
    assert f"posts ({len(h['posts'])}):" in out and "  #1 " in out and "交警支队发言人 (uid 34) [市交警支队]: " in out
    assert "assignment: 市城管局 (urban), by office" in out
    due = h["case"]["due_at"]
    assert f"  due:      {due[:10]} {due[11:16]} +08:00" in out and "  state:    overdue since" in out
    assert "answered_late (recorded" in out and "overdue (recorded" in out  # the state changes
    assert "assign → 市城管局 (urban) by 王科长: 物业收费归城管局管" in out

    # the bulletin author's read: the overrides of threads posted in the quarter, in order
    engine = make_engine(config.database)
    notes = Repository(engine).overrides_between(*Q1.bounds(config.timezone))
    engine.dispose()
    assert [(o.tid, o.action, o.unit_id, o.reason, o.by_user) for o in notes] == [
        (fees, "assign", "urban", "物业收费归城管局管", "王科长"), (dup, "exclude", None, "重复帖", "王科长"),
        (chatter, "include", None, "实为求助", "李科员"), (dup, "include", None, "不是重复帖", "王科长")]
    assert notes[0].title == PROPERTY_FEES and notes[0].url.endswith(f"tid={fees}")
    assert notes[0].at.tzinfo is not None and notes[0].forum_id == "demo"

    # and the bulletin, written as the office writes it, lists them in its notes (说明)
    out = tmp_path / "bulletin"
    written = cli("bulletin", "--period", "2011Q1", "--out", str(out))
    assert written.returncode == 0, written.stderr
    data = json.loads((out / "bulletin.json").read_text("utf-8"))
    assert any(n.startswith(f"《{PROPERTY_FEES}》经王科长于") and "改派至市城管局，理由：物业收费归城管局管。" in n
               for n in data["notes"]), data["notes"]
    assert "物业收费归城管局管" in (out / "bulletin.md").read_text("utf-8")


def test_bad_input_exits_with_the_right_status_and_one_line(tmp_path):
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text("utf-8"), "utf-8")
    env = {"SPOKESWATCH_DATABASE": f"sqlite:///{tmp_path / 'x.sqlite3'}"}

    def cli(*args):
        return run(*args, cwd=tmp_path, env=env)
    syntax = cli("case", "exclude", "demo-88", "--reason", "x")
    assert syntax.returncode == 2 and "FORUM:TID" in syntax.stderr and "Traceback" not in syntax.stderr
    unit = cli("case", "assign", "demo:88", "nosuch", "--reason", "x")
    assert unit.returncode == 2 and "no unit 'nosuch' in config (units: tourism (市旅游局), water" in unit.stderr
    reason = cli("case", "include", "demo:88")
    assert reason.returncode == 2 and "--reason" in reason.stderr
    blank = cli("case", "include", "demo:88", "--reason", "  ")
    assert blank.returncode == 2 and "--reason" in blank.stderr
    missing = cli("case", "exclude", "demo:88", "--reason", "spam")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no thread 88 on forum demo is stored; poll first"
    forum = cli("case", "show", "nosuch:1")
    assert forum.returncode == 1 and "no forum 'nosuch' in config" in forum.stderr
    assert len(forum.stderr.strip().splitlines()) == 1


def test_an_override_wins_over_every_rule():
    rules = Assignment("traffic", "first_answer", True, None)
    assert apply_override(rules, None) is rules
    assert apply_override(rules, EffectiveOverride(True, "urban")) == Assignment("urban", "office", True, None)
    assert apply_override(rules, EffectiveOverride(counted=False)) == Assignment("traffic", "first_answer", False,
                                                                                 None)
    chatter = Assignment(None, None, False, None)  # a watched board, nothing assigns it
    assert apply_override(chatter, EffectiveOverride(counted=True)) == Assignment(None, None, True, None)
    assert apply_override(chatter, EffectiveOverride(True, "water", True)) == Assignment("water", "office", True,
                                                                                         None)
    proactive = Assignment("tourism", "proactive", False, "tourism")
    assert apply_override(proactive, EffectiveOverride(counted=False)) == Assignment("tourism", "proactive", False,
                                                                                     None)
    assert apply_override(proactive, EffectiveOverride(True, "water")) == Assignment("water", "office", False,
                                                                                    "water")
    # the latest assign gives the unit, the latest of exclude/include decides whether it counts
    assert effective_override([]) is None
    assert effective_override([("assign", "urban"), ("exclude", None), ("assign", "water"), ("include", None)]) \
        == EffectiveOverride(True, "water", True)
    assert effective_override([("include", None), ("exclude", None)]) == EffectiveOverride(False, None, False)


def test_incremental_checks_with_overrides_end_where_full_checks_do(db_url, tmp_path):
    """The randomized histories of test_incremental_check, with the office recording overrides
    along the way: the incremental check (it sees them through the version bump) ends where
    the full one does, at every step."""
    config = sample_config()
    repos = []
    for url in (db_url, f"sqlite:///{tmp_path / 'oracle.sqlite3'}"):
        engine = make_engine(url)
        upgrade(engine)
        repos.append(Repository(engine))
        repos[-1].sync_forum("demo", "demo", "discuz", "http://demo/")
    incremental, full = repos
    history = History(7, repos, config)
    calendar, directory = calendar_of(config), Directory(config)
    units = [u.id for u in config.units]
    recorded = 0
    for round_ in range(25):
        for _ in range(history.rnd.randint(1, 6)):
            history.step()
        for _ in range(history.rnd.choice([0, 1, 2])):
            tid = history.rnd.choice(sorted(history.threads))
            action = history.rnd.choice(["assign", "exclude", "include"])
            unit = history.rnd.choice(units) if action == "assign" else None
            for repo in repos:
                thread_id = repo.known_threads("demo", [tid])[tid].id
                repo.record_override(thread_id, action, "test", "tester", history.now, unit)
            recorded += 1
        history.now += timedelta(hours=history.rnd.choice([1, 3, 7, 16, 30]))
        if round_ % 5 == 4:
            history.finish_reads()
        run_check(config, incremental, history.now, calendar, directory)
        run_check(config, full, history.now, calendar, directory, full=True)
        assert decisions(incremental) == decisions(full), f"round {round_}"
    _, assigned, _ = decisions(full)
    assert recorded > 10 and any(a[2] == "office" for a in assigned)
    for repo in repos:
        repo.engine.dispose()
