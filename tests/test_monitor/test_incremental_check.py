"""The incremental rules check against the full one, over randomized histories.

Two databases receive the same history through the repository (threads and replies
arriving, edits, deletions of posts and threads, hot threads, reads left unfinished,
a config change) across the 2024 National Day holiday and its 调休 working days; at the
same moments one runs the incremental check and the other a full check. Their cases,
assignments and case events must be identical at every step.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from models.db import make_engine, upgrade
from models.repository import ReadDone, Repository
from models.tables import CaseEvent, ResponseCase, ThreadRecord
from monitor.assignment import Directory
from monitor.check import calendar_of, run_check
from scrapers.records import Post, ThreadRow
from tests.helpers import local, sample_config

SPOKESPERSONS = [("30", "荆门市旅游局"), ("31", "供水公司发言人"), ("32", "市出租办发言人"), ("35", "市城管局发言人")]
TITLES = ["小区停水三天了", "旅游局的景区门票问题", "出租车拒载怎么办", "路灯不亮", "自来水公司水质问题",
          "城管局占道经营", "社保卡办理", "公交线路调整建议"]


@dataclass
class FakeThread:
    tid: int
    fid: int
    title: str
    posts: list[Post] = field(default_factory=list)
    views: int = 10
    deleted: bool = False
    removed: dict = field(default_factory=dict)  # floor index → a reply deleted on the forum


class History:
    """A forum's randomized life, written through the repository into several databases."""

    def __init__(self, seed: int, repos: list[Repository], config):
        self.rnd = random.Random(seed)
        self.repos, self.config = repos, config
        self.directory = Directory(config)
        self.threads: dict[int, FakeThread] = {}
        self.now = local(2024, 9, 26, 9, 0)  # before the National Day holiday and its 调休 Sunday 9-29
        self.next_tid, self.next_pid = 1000, 50000
        self.pending_reads: set[int] = set()

    def post(self, uid: str, name: str, floor: int, body: str, ahead: timedelta = timedelta(0)) -> Post:
        """A post made now by the forum's clock, which may run ``ahead`` of ours."""
        self.next_pid += 1
        return Post(self.next_pid, floor, name, uid, self.now + ahead, 0, body)

    def citizen(self) -> tuple[str, str]:
        uid = self.rnd.randint(1000, 1050)
        return str(uid), f"网友{uid}"

    def write(self, t: FakeThread, read: bool = True, relist: bool = True) -> None:
        """What a poll stores for the thread: its list row (unless only a recheck re-reads it,
        ``relist`` False), then (``read``) every page of it."""
        live = [p for p in t.posts if p is not None]
        row = ThreadRow(t.tid, t.title, f"thread-{t.tid}", live[0].author, live[0].author_uid, live[0].posted_at, 0,
                        len(live) - 1, t.views, live[-1].posted_at, 0, live[-1].author)
        units = [self.directory.unit_of_post("demo", p) for p in live]
        for repo in self.repos:
            ids = (repo.upsert_thread_rows("demo", t.fid, [row], self.now) if relist
                   else {t.tid: repo.known_threads("demo", [t.tid])[t.tid].id})
            if t.deleted:
                repo.mark_thread_deleted(ids[t.tid], self.now)
            elif read:
                repo.store_posts("demo", ids[t.tid], live, units, self.now,
                                 done=ReadDone(1, self.now, frozenset(p.pid for p in live)))
        if read:
            self.pending_reads.discard(t.tid)
        else:
            self.pending_reads.add(t.tid)

    def step(self) -> None:
        r = self.rnd.random()
        alive = [t for t in self.threads.values() if not t.deleted]
        if r < 0.3 or not alive:
            self.next_tid += 1
            starter = self.rnd.choice(SPOKESPERSONS) if self.rnd.random() < 0.1 else self.citizen()
            t = FakeThread(self.next_tid, self.rnd.choice([2, 3, 4]), self.rnd.choice(TITLES))
            t.posts.append(self.post(*starter, 1, "请问这个问题什么时候解决？"))
            self.threads[t.tid] = t
            self.write(t, read=self.rnd.random() > 0.1)
            return
        t = self.rnd.choice(alive)
        live = [p for p in t.posts if p is not None]
        relist = True
        if r < 0.65:  # a reply, a third of them by a spokesperson
            who = self.rnd.choice(SPOKESPERSONS) if self.rnd.random() < 0.35 else self.citizen()
            ahead = timedelta(hours=self.rnd.choice([0, 0, 0, 2]))  # a forum clock ahead of ours
            t.posts.append(self.post(*who, len(t.posts) + 1, "已转相关部门办理。", ahead))
        elif r < 0.72:  # an edit, found by a recheck (the list row does not move)
            relist = t.tid not in self.pending_reads
            p = self.rnd.choice(live)
            t.posts[t.posts.index(p)] = Post(p.pid, p.floor, p.author, p.author_uid, p.posted_at, 0,
                                             p.body + "（已编辑）", edit_note="本帖最后由 编辑")
        elif r < 0.8 and len(live) > 1:  # a reply deleted
            i = t.posts.index(self.rnd.choice(live[1:]))
            t.removed[i], t.posts[i] = t.posts[i], None
        elif r < 0.83 and t.removed:  # a deleted reply back (after a bad read), found by a recheck
            relist = t.tid not in self.pending_reads
            i = self.rnd.choice(sorted(t.removed))
            t.posts[i] = t.removed.pop(i)
        elif r < 0.86:  # the thread deleted
            t.deleted = True
        elif r < 0.9:  # it gets hot
            t.views += self.rnd.choice([500, 20000])
        self.write(t, read=self.rnd.random() > 0.08 or not relist, relist=relist)

    def finish_reads(self) -> None:
        for tid in sorted(self.pending_reads):
            self.write(self.threads[tid])


def decisions(repo: Repository) -> tuple[list, list, list]:
    """Cases, assignments and events by thread id: everything the check decides."""
    with repo.session("reading decisions") as s:
        cases = s.execute(select(ThreadRecord.tid, ResponseCase.unit_id, ResponseCase.state, ResponseCase.hot,
                                 ResponseCase.due_at, ResponseCase.due_estimated, ResponseCase.answered_at,
                                 ResponseCase.state_changed_at, ResponseCase.opened_at)
                          .join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
                          .order_by(ThreadRecord.tid)).all()
        assigned = s.execute(select(ThreadRecord.tid, ThreadRecord.unit_id, ThreadRecord.assigned_by,
                                    ThreadRecord.counted, ThreadRecord.proactive_unit_id)
                             .order_by(ThreadRecord.tid)).all()
        events = s.execute(select(ThreadRecord.tid, CaseEvent.state, CaseEvent.at, CaseEvent.recorded_at)
                           .join(ResponseCase, ResponseCase.id == CaseEvent.case_id)
                           .join(ThreadRecord, ThreadRecord.id == ResponseCase.thread_id)
                           .order_by(ThreadRecord.tid, CaseEvent.id)).all()
    return [tuple(c) for c in cases], [tuple(a) for a in assigned], [tuple(e) for e in events]


def _repo(url: str) -> Repository:
    engine = make_engine(url)
    upgrade(engine)
    return Repository(engine)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_checks_end_where_full_checks_do(db_url, tmp_path, seed):
    config = sample_config()
    incremental, full = _repo(db_url), _repo(f"sqlite:///{tmp_path / 'oracle.sqlite3'}")
    for repo in (incremental, full):
        repo.sync_forum("demo", "demo", "discuz", "http://demo/")
    history = History(seed, [incremental, full], config)
    calendar = calendar_of(config)
    evaluated = []
    for round_ in range(30):
        for _ in range(history.rnd.randint(1, 8)):
            history.step()
        history.now += timedelta(hours=history.rnd.choice([1, 3, 7, 16, 30]))
        if round_ == 20:  # the office adds an alias: assignments by title may change
            units = [u.model_copy(update={"aliases": [*u.aliases, "公交"]}) if u.id == "taxi" else u
                     for u in config.units]
            config = config.model_copy(update={"units": units})
            history.directory, calendar = Directory(config), calendar_of(config)
        if round_ % 5 == 4:
            history.finish_reads()
        a = run_check(config, incremental, history.now, calendar, Directory(config))
        b = run_check(config, full, history.now, calendar, Directory(config), full=True)
        evaluated.append(a.evaluated)
        assert len(a.newly_overdue) == len(b.newly_overdue)
        assert decisions(incremental) == decisions(full), f"round {round_}"
    cases, _, events = decisions(full)
    states = {c[2] for c in cases}
    assert {"pending", "overdue", "answered_in_time", "answered_late", "void"} <= states  # the history covers them
    assert len(events) > len(cases)
    assert sum(evaluated[1:]) < len(cases) * (len(evaluated) - 1) / 2  # incremental: far fewer than all
    assert any(c[5] for c in cases) is False  # the 2024 calendar is known: no estimated deadline
    incremental.engine.dispose()
    full.engine.dispose()


def test_a_deadline_across_national_day_passes_on_the_first_working_day_after(tmp_path):
    """A thread posted on the Monday before National Day 2024 is due two working days later,
    Sunday 9-29 being a 调休 working day; the incremental check turns it overdue only then."""
    config = sample_config()
    repo = _repo(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    repo.sync_forum("demo", "demo", "discuz", "http://demo/")
    posted = local(2024, 9, 27, 10, 0)  # a Friday
    row = ThreadRow(77, "小区停水三天了", "t", "网友1", 1001, posted, 0, 0, 5, posted, 0, "网友1")
    ids = repo.upsert_thread_rows("demo", 2, [row], posted)
    repo.store_posts("demo", ids[77], [Post(1, 1, "网友1", 1001, posted, 0, "停水")], [None], posted,
                     done=ReadDone(1, posted))
    first = run_check(config, repo, posted + timedelta(minutes=5))
    assert first.states["pending"] == 1
    on_sunday = run_check(config, repo, local(2024, 9, 29, 9, 0))  # 调休: a working day, the first one
    assert on_sunday.evaluated == 0 and not on_sunday.newly_overdue
    holiday = run_check(config, repo, local(2024, 10, 1, 9, 0))
    assert holiday.newly_overdue == [ids[77]]  # working days after Friday: Sunday 9-29 (调休), Monday 9-30
    with repo.session("t") as s:
        due = s.scalar(select(ResponseCase.due_at))
    assert due == local(2024, 9, 30, 10, 0)
    repo.engine.dispose()


def test_two_checks_at_once_record_each_event_once(db_url, tmp_path):
    """Checks from several threads (the daemon and the CLI, or two daemons) never collide."""
    import threading
    config = sample_config()
    repos = [_repo(db_url) for _ in range(3)]
    repos[0].sync_forum("demo", "demo", "discuz", "http://demo/")
    history = History(5, [repos[0]], config)
    for _ in range(60):
        history.step()
    history.finish_reads()
    history.now += timedelta(days=5)
    errors: list[Exception] = []

    def check(repo):
        try:
            run_check(config, repo, history.now)
        except Exception as exc:  # noqa: BLE001 - any failure fails the test
            errors.append(exc)
    workers = [threading.Thread(target=check, args=(r,)) for r in repos for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    cases, _, events = decisions(repos[0])
    assert len({c[0] for c in cases}) == len(cases)
    keys = [(tid, state, at) for tid, state, at, _ in events]
    assert len(keys) == len(set(keys))  # no event recorded twice
    for r in repos:
        r.engine.dispose()


@pytest.mark.parametrize("change", ["restored", "re-dated", "re-tagged"])
def test_a_recheck_that_changes_the_answer_without_new_posts_is_seen_by_the_incremental_check(tmp_path, change):
    """A spokesperson's answer that a bad read marked deleted and a recheck finds again, an answer
    first stored without its time, or one re-tagged to its unit: no new post, no edit, yet the
    case changes, and the incremental check must see it as the full one does."""
    config = sample_config()
    repos = [_repo(f"sqlite:///{tmp_path / name}.sqlite3") for name in ("incremental", "full")]
    posted = local(2024, 10, 8, 9, 0)
    opener = Post(1, 1, "网友1", 1001, posted, 0, "停水了")
    answer = Post(2, 2, "供水公司发言人", 31, posted + timedelta(hours=3), 0, "已安排抢修")
    first, later = {"restored": ([opener, answer], [opener, answer]),
                    "re-dated": ([opener, Post(2, 2, "供水公司发言人", 31, None, 0, "已安排抢修")], [opener, answer]),
                    "re-tagged": ([opener, answer], [opener, answer])}[change]
    first_units = [None, None] if change == "re-tagged" else [None, "water"]
    results = []
    for repo, full in zip(repos, (False, True)):
        repo.sync_forum("demo", "demo", "discuz", "http://demo/")
        row = ThreadRow(5, "小区停水", "t", "网友1", 1001, posted, 0, 1, 5, posted, 0, "网友1")
        tid = repo.upsert_thread_rows("demo", 4, [row], posted)[5]
        repo.store_posts("demo", tid, first, first_units, posted, done=ReadDone(1, posted, frozenset({1, 2})))
        if change == "restored":  # a bad full read without the answer marks it deleted
            repo.store_posts("demo", tid, [opener], [None], posted, done=ReadDone(1, posted, frozenset({1})))
        run_check(config, repo, local(2024, 10, 12, 9, 0), full=full)
        recheck = local(2024, 10, 12, 10, 0)  # no list row moved: only the recheck reads the thread
        repo.store_posts("demo", tid, later, [None, "water"], recheck, done=ReadDone(1, recheck, frozenset({1, 2})))
        run_check(config, repo, local(2024, 10, 12, 11, 0), full=full)
        results.append(decisions(repo))
    assert results[0] == results[1]
    assert results[1][0][0][2] == "answered_in_time"
    for repo in repos:
        repo.engine.dispose()
