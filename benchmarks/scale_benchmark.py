"""Scale benchmark: a two-year history of 10 forums, 100k threads and 1M posts, and what the
recurring jobs cost on it.

Run by hand:  .venv/bin/python benchmarks/scale_benchmark.py [--posts 1000000] [--database URL] [--keep]

The history is written through the project's own storage code, as the poller writes it:
Repository.sync_forum per forum, Repository.known_threads + upsert_thread_rows per list page
of 20 rows, Repository.store_posts per thread page of 10 posts (the last one with
done=ReadDone(pages, at)); replies by the configured spokesperson accounts are tagged by
monitor.assignment.Directory.unit_of_post. 10 forums × 20 boards, threads = posts / 10,
posted over the two years before 2026-11-30 (Asia/Shanghai), about 10 % of them waiting for
an answer (pending or overdue). One full rules check then reaches the steady state.

Printed, each figure measured in the same run:
  * check ÷ SQL: the incremental rules check (run_check, as the daemon runs it) after 100 new
    posts and a few hours, ÷ one hand-written SQL query computing the same overdue set from the
    stored data (the two sets are compared); median of several rounds; goal ≤ 3× and ≤ 0.3 s;
    for the record also ÷ a narrower query, the pending cases that turn overdue now (compared
    with the check's newly overdue);
  * poller per list page: known_threads(20 tids) + upsert_thread_rows(1-2 changed rows) on the
    big database ÷ the same on a 10k-post database built the same way; goal ≤ 1.5;
  * quarterly and yearly bulletin (build_bulletin) ≤ 2 s, digest (build_digest) ≤ 1 s;
  * peak resident memory of `spokeswatch check` in a child process ≤ 300 MiB; and, for the
    record, `spokeswatch check --full` (time and memory) and the build rate. The child is
    started by a tiny launcher: a child forked from this (large) process would report this
    process's peak as its own ru_maxrss.

PostgreSQL runs VACUUM ANALYZE after the build and after the full check, standing in for
autovacuum (the shared test server runs with autovacuum off). SQLite is never analyzed (the
service does not run ANALYZE). Absolute times on a shared machine vary with its load; each
ratio is measured within one run (the list-page figure alternately on the two databases).

Default database: a temporary SQLite file. ``--database postgresql+psycopg://postgres@host/NAME``
uses PostgreSQL: NAME is created when missing, and a second database NAME_small holds the
10k-post history; everything created is dropped at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from loguru import logger  # noqa: E402
from sqlalchemy import bindparam, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from models.db import make_engine, normalise_url, upgrade  # noqa: E402
from models.repository import ReadDone, Repository  # noqa: E402
from models.tables import UTCDateTime  # noqa: E402
from monitor.assignment import Directory  # noqa: E402
from monitor.bulletin import build_bulletin  # noqa: E402
from monitor.check import calendar_of, run_check  # noqa: E402
from monitor.config import Config, parse_config  # noqa: E402
from monitor.digest import build_digest  # noqa: E402
from monitor.periods import parse_period  # noqa: E402
from scrapers.records import Post, ThreadRow  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW0 = datetime(2026, 11, 30, 12, 0, tzinfo=TZ)  # a Monday; the calendar library knows 2024-2026
START = NOW0 - timedelta(days=730)
SPAN = (NOW0 - START).total_seconds()
FORUMS, BOARDS = 10, 20
NBOARDS = FORUMS * BOARDS
PPP = 10  # posts per thread page
TPP = 20  # threads per list page
PID_SLOTS = 32  # pids of thread g: g * 32 + floor index
SEED = 20261130

UNITS = [("tourism", "市旅游局", ["旅游局"]), ("water", "市供水公司", ["供水公司", "自来水公司"]),
         ("taxi", "市出租办", ["出租办"]), ("hrss", "市人社局", ["人社局", "社保局"]),
         ("traffic", "市交警支队", ["交警支队"]), ("urban", "市城管局", ["城管局"]),
         ("education", "市教育局", ["教育局"]), ("housing", "市住建局", ["住建局"]),
         ("health", "市卫健委", ["卫健委"]), ("environment", "市生态环境局", ["环保局", "生态环境局"])]
SUBJECTS = ["小区停水三天了", "路灯不亮好几天", "楼下夜市噪音扰民", "公交站台被占用", "学校门口交通拥堵",
            "医保报销进度查询", "小区垃圾无人清运", "道路施工围挡太久", "老旧小区改造何时开始", "窨井盖缺失很危险",
            "菜市场周边乱停车", "供暖温度不达标", "河道有异味", "景区门票价格疑问", "打车难的问题"]
PHRASES = ["请问这个问题什么时候能解决？", "已经反映多次了，希望有关部门重视。", "附近居民都很着急。",
           "感谢关注，我们已转交相关科室办理，请耐心等待。", "顶一下，同样遇到这个情况。",
           "建议相关部门尽快到现场看看。", "问题仍未解决，继续关注。", "我们已安排工作人员到现场核实，将尽快答复。",
           "这个情况持续好几个月了。", "楼上说得对。"]
BODIES = ["".join(random.Random(i).choice(PHRASES) for _ in range(1 + i % 6)) for i in range(64)]


# ---- the configuration ------------------------------------------------------------------------

def board_setup(forum: int, fid: int) -> dict:
    """fid 1-6: programme boards of one unit; 7-14: programme boards of the office; 15-20: watched."""
    if fid <= 6:
        return {"fid": fid, "name": f"{UNITS[(forum * 3 + fid) % len(UNITS)][1]}专栏", "kind": "programme",
                "unit": UNITS[(forum * 3 + fid) % len(UNITS)][0]}
    if fid <= 14:
        return {"fid": fid, "name": f"网络发言人{fid}", "kind": "programme"}
    return {"fid": fid, "name": f"百姓话题{fid}", "kind": "watched"}


def account_uid(unit_index: int) -> int:
    return 900 + unit_index


def config_text(database: str, tmp: Path) -> str:
    forums = [{"id": f"f{f}", "name": f"城市论坛{f}", "engine": "discuz", "base_url": f"http://bbs{f}.example.cn/",
               "boards": [board_setup(f, fid) for fid in range(1, BOARDS + 1)]} for f in range(FORUMS)]
    units = [{"id": uid, "name": name, "aliases": aliases,
              "accounts": [{"forum": f"f{f}", "uid": account_uid(i), "username": f"{name}发言人"}
                           for f in range(FORUMS)]}
             for i, (uid, name, aliases) in enumerate(UNITS)]
    raw = {"database": database, "timezone": "Asia/Shanghai", "state_dir": str(tmp / "state"),
           "forums": forums, "units": units,
           "rules": {"respond_within": {"working_days": 2},
                     "hot": {"min_views": 10000, "min_replies": 100, "respond_within": {"hours": 24}}},
           "digest": {"out_dir": str(tmp / "reports"), "lang": "zh"}}
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


# ---- the history: thread g, regenerated the same way whenever it is needed ----------------------

@dataclass
class Shape:
    threads: int

    @property
    def per_board(self) -> int:
        return math.ceil(self.threads / NBOARDS)

    def g(self, k: int, b: int) -> int:
        return k * NBOARDS + b

    def board_threads(self, b: int) -> list[int]:
        return [g for g in (self.g(k, b) for k in range(self.per_board)) if g < self.threads]


@dataclass
class Thread:
    g: int
    forum: str
    fid: int
    row: ThreadRow
    posts: list[Post]
    unit_index: int  # the unit that owes (or would give) the answer
    read_at: datetime


def where(g: int) -> tuple[int, int]:
    b = g % NBOARDS
    return b // BOARDS, b % BOARDS + 1


def gen_thread(shape: Shape, g: int, directory: Directory) -> Thread:
    """Thread g as the forum shows it at NOW0: deterministic, so it can be rebuilt at any time."""
    rnd = random.Random(SEED * 1_000_003 + g)
    forum_i, fid = where(g)
    forum = f"f{forum_i}"
    k = g // NBOARDS
    posted = START + timedelta(seconds=int(SPAN * (k + rnd.random()) / shape.per_board))
    posted = min(posted, NOW0 - timedelta(minutes=5))
    setup = board_setup(forum_i, fid)
    title = rnd.choice(SUBJECTS)
    if rnd.random() < 0.3:
        title = f"关于{rnd.choice(rnd.choice(UNITS)[2])}：{title}"
    named = directory.unit_named_in(title)
    owed = setup.get("unit") or named
    unit_index = next(i for i, u in enumerate(UNITS) if u[0] == owed) if owed else rnd.randrange(len(UNITS))
    proactive = rnd.random() < 0.01
    if proactive:
        opener_uid, opener = account_uid(unit_index), f"{UNITS[unit_index][1]}发言人"
        title = f"{UNITS[unit_index][1]}关于{rnd.choice(SUBJECTS)}的通知"
    else:
        opener_uid = rnd.randint(10_000, 60_000)
        opener = f"网友{opener_uid}"
    # replies: citizens within a week; the spokesperson's answer in time, late or never
    timed: list[tuple[datetime, int, str]] = []
    for _ in range(rnd.randint(0, 16)):
        uid = rnd.randint(10_000, 60_000)
        timed.append((posted + timedelta(seconds=rnd.randint(60, 7 * 86400)), uid, f"网友{uid}"))
    age = NOW0 - posted
    unanswered = 0.5 if age < timedelta(days=60) else 0.09
    if not proactive and rnd.random() >= unanswered:
        delay = (timedelta(seconds=rnd.randint(1800, 20 * 3600)) if rnd.random() < 0.84
                 else timedelta(days=rnd.uniform(4, 12)))
        sp = (account_uid(unit_index), f"{UNITS[unit_index][1]}发言人")
        timed.append((posted + delay, *sp))
        if rnd.random() < 0.1:
            timed.append((posted + delay + timedelta(hours=rnd.randint(2, 72)), *sp))
    timed = sorted(t for t in timed if t[0] < NOW0)
    posts = [Post(g * PID_SLOTS, 1, opener, opener_uid, posted, 0, BODIES[rnd.randrange(64)])]
    for i, (at, uid, name) in enumerate(timed, start=2):
        posts.append(Post(g * PID_SLOTS + i - 1, i, name, uid, at, 0, BODIES[rnd.randrange(64)]))
    views = rnd.randint(20_000, 80_000) if rnd.random() < 0.02 else rnd.randint(10, 5000)
    last = posts[-1]
    row = ThreadRow(g, title, f"forum.php?mod=viewthread&tid={g}", opener, opener_uid, posted, 0,
                    len(posts) - 1, views, last.posted_at, 0, last.author)
    read_at = min(last.posted_at + timedelta(minutes=rnd.randint(1, 60)), NOW0)
    return Thread(g, forum, fid, row, posts, unit_index, read_at)


def store_thread_pages(repo: Repository, directory: Directory, t: Thread, posts: list[Post], first_page: int,
                       at: datetime, new: bool) -> None:
    """What the poller stores after reading a thread from ``first_page``: one transaction per page,
    the last one marking the thread read."""
    pages = max(1, math.ceil(len(posts) / PPP))
    thread_id = _ids[(repo.engine.url.database, t.forum, t.row.tid)]
    for page in range(first_page, pages + 1):
        chunk = posts[(page - 1) * PPP:page * PPP]
        units = [directory.unit_of_post(t.forum, p) for p in chunk]
        repo.store_posts(t.forum, thread_id, chunk, units, at, assume_new=new,
                         title=t.row.title if page == 1 else None,
                         done=ReadDone(pages, at) if page == pages else None)


_ids: dict[tuple, int] = {}  # (database, forum, tid) → thread id, for threads this process wrote


def write_list_page(repo: Repository, directory: Directory, threads: list[Thread]) -> int:
    """A list page of one board, polled cold: known_threads, upsert_thread_rows, then every thread read."""
    forum, fid = threads[0].forum, threads[0].fid
    at = max(t.read_at for t in threads)
    known = repo.known_threads(forum, [t.row.tid for t in threads])
    ids = repo.upsert_thread_rows(forum, fid, [t.row for t in threads], at)
    n = 0
    for t in threads:
        _ids[(repo.engine.url.database, forum, t.row.tid)] = ids[t.row.tid]
        store_thread_pages(repo, directory, t, t.posts, 1, at, new=t.row.tid not in known)
        n += len(t.posts)
    return n


def build_boards(url: str, shape: Shape, boards: list[int], config: Config, counter=None) -> int:
    """Write the history of some boards (one process of a parallel build, or the only one)."""
    logger.remove()
    engine = make_engine(url)
    repo = Repository(engine)
    directory = Directory(config)
    total = 0
    for b in boards:
        gs = shape.board_threads(b)
        for i in range(0, len(gs), TPP):
            n = write_list_page(repo, directory, [gen_thread(shape, g, directory) for g in gs[i:i + TPP]])
            total += n
            if counter is not None:
                with counter.get_lock():
                    counter.value += n
    engine.dispose()
    return total


def build(url: str, shape: Shape, config: Config, workers: int, label: str) -> tuple[int, float]:
    """The whole history; returns (posts, seconds). PostgreSQL: ``workers`` processes, boards split."""
    engine = make_engine(url)
    upgrade(engine)
    repo = Repository(engine)
    for f in config.forums:
        repo.sync_forum(f.id, f.name, f.engine, f.base_url)
    engine.dispose()
    expected = shape.threads * 10
    t0 = time.perf_counter()
    if workers <= 1:
        counter = _Counter()
        boards = list(range(NBOARDS))
        done = 0
        step = max(1, NBOARDS // 20)
        for i in range(0, NBOARDS, step):
            done += build_boards(url, shape, boards[i:i + step], config)
            _progress(label, done, expected, t0)
        total = done
    else:
        ctx = mp.get_context("fork")
        counter = ctx.Value("q", 0)
        procs = [ctx.Process(target=build_boards, args=(url, shape, list(range(w, NBOARDS, workers)), config, counter))
                 for w in range(workers)]
        for p in procs:
            p.start()
        while any(p.is_alive() for p in procs):
            time.sleep(min(30.0, max(2.0, expected / 40_000)))
            _progress(label, counter.value, expected, t0)
        for p in procs:
            p.join()
            if p.exitcode != 0:
                raise SystemExit(f"a build process failed (exit {p.exitcode})")
        total = counter.value
    elapsed = time.perf_counter() - t0
    return total, elapsed


class _Counter:
    value = 0


def _progress(label: str, done: int, expected: int, t0: float) -> None:
    el = time.perf_counter() - t0
    print(f"  [{label}] {done:>9,} posts stored ({100 * done / max(expected, 1):5.1f} %), {el:6.0f} s, "
          f"{done / max(el, 1e-9):7.0f} posts/s", flush=True)


def load_ids(repo: Repository) -> None:
    """Thread ids of every stored thread (a parallel build wrote them in other processes)."""
    db = repo.engine.url.database
    with repo.engine.connect() as c:
        for forum, tid, id_ in c.execute(text("SELECT forum_id, tid, id FROM threads")):
            _ids[(db, forum, tid)] = id_


# ---- what happens after the build: new posts, a few hours later -----------------------------

class Activity:
    """New posts written as the poller writes them: list rows of the changed threads, then their last pages."""

    def __init__(self, shape: Shape, directory: Directory, seed: int):
        self.shape, self.directory = shape, directory
        self.rnd = random.Random(seed)
        self.extra: dict[int, list[Post]] = {}  # replies added to base threads
        self.bumps: dict[int, int] = {}  # views added
        self.next_g = shape.threads
        self.new_threads: dict[int, Thread] = {}

    def thread(self, g: int) -> Thread:
        if g in self.new_threads:
            return self.new_threads[g]
        t = gen_thread(self.shape, g, self.directory)
        t.posts = t.posts + self.extra.get(g, [])
        return t

    def _row(self, t: Thread) -> ThreadRow:
        last = t.posts[-1]
        views = t.row.views + self.bumps.get(t.g, 0)
        return ThreadRow(t.row.tid, t.row.title, t.row.url, t.row.author, t.row.author_uid, t.row.posted_at, 0,
                         len(t.posts) - 1, views, last.posted_at, 0, last.author)

    def add_posts(self, repo: Repository, prev: datetime, now: datetime, n: int = 100) -> dict:
        """n new posts in (prev, now]: 30 % new threads (a tenth of them proactive), the rest replies,
        30 % of the replies by the spokesperson of the thread's unit; half the replies go to threads
        of the last 45 days."""
        rnd = self.rnd
        changed: dict[int, Thread] = {}
        new_threads = replies = by_spokesperson = 0
        seconds = int((now - prev).total_seconds())
        for i in range(n):
            at = prev + timedelta(seconds=rnd.randint(1, seconds - 600))
            if i < n * 3 // 10:
                g = self.next_g
                self.next_g += 1
                f, fid = rnd.randrange(FORUMS), rnd.randint(1, BOARDS)
                ui = rnd.randrange(len(UNITS))
                if rnd.random() < 0.1:
                    uid, name, title = account_uid(ui), f"{UNITS[ui][1]}发言人", f"{UNITS[ui][1]}发布：停水通知"
                else:
                    uid = rnd.randint(10_000, 60_000)
                    name, title = f"网友{uid}", rnd.choice(SUBJECTS)
                post = Post(g * PID_SLOTS, 1, name, uid, at, 0, rnd.choice(BODIES))
                row = ThreadRow(g, title, f"forum.php?mod=viewthread&tid={g}", name, uid, at, 0, 0,
                                rnd.randint(1, 50), at, 0, name)
                t = Thread(g, f"f{f}", fid, row, [post], ui, at)
                self.new_threads[g] = t
                changed[g] = t
                new_threads += 1
                continue
            per = self.shape.per_board
            if rnd.random() < 0.5:  # a recent thread
                k = rnd.randint(max(0, per - max(1, per * 45 // 730) - 1), per - 1)
            else:
                k = rnd.randrange(per)
            g = self.shape.g(k, rnd.randrange(NBOARDS))
            if g >= self.shape.threads:
                g = self.shape.threads - 1
            t = changed.get(g) or self.thread(g)
            if len(t.posts) >= PID_SLOTS - 1:
                continue
            if rnd.random() < 0.3:
                uid, name = account_uid(t.unit_index), f"{UNITS[t.unit_index][1]}发言人"
                by_spokesperson += 1
            else:
                uid = rnd.randint(10_000, 60_000)
                name = f"网友{uid}"
            at = max(at, t.posts[-1].posted_at + timedelta(seconds=1))
            post = Post(g * PID_SLOTS + len(t.posts), len(t.posts) + 1, name, uid, at, 0, rnd.choice(BODIES))
            t.posts = t.posts + [post]
            if g not in self.new_threads:
                self.extra[g] = self.extra.get(g, []) + [post]
                self.bumps[g] = self.bumps.get(g, 0) + rnd.randint(1, 5)
            changed[g] = t
            replies += 1
        # the poll at ``now``: per board, one list page with the changed rows, then their new pages
        by_board: dict[tuple[str, int], list[Thread]] = {}
        for t in changed.values():
            by_board.setdefault((t.forum, t.fid), []).append(t)
        db = repo.engine.url.database
        for (forum, fid), threads in by_board.items():
            known = repo.known_threads(forum, [t.row.tid for t in threads])
            ids = repo.upsert_thread_rows(forum, fid, [self._row(t) for t in threads], now)
            for t in threads:
                _ids[(db, forum, t.row.tid)] = ids[t.row.tid]
                kt = known.get(t.row.tid)
                first = 1 if kt is None else max(1, math.ceil((kt.max_floor + 1) / PPP))
                t.read_at = now
                store_thread_pages(repo, self.directory, t, t.posts, first, now, new=kt is None)
        return {"new_threads": new_threads, "replies": replies, "by_spokesperson": by_spokesperson}


# ---- the hand-written baseline ------------------------------------------------------------------

OVERDUE_SQL = text("""
SELECT c.thread_id
FROM response_cases c JOIN threads t ON t.id = c.thread_id
WHERE c.state IN ('pending', 'overdue') AND c.due_at <= :now AND t.deleted_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM posts p
    WHERE p.thread_id = c.thread_id AND p.unit_id IS NOT NULL AND p.deleted_at IS NULL
      AND p.floor > 1 AND p.posted_at <= :now
      AND (c.unit_id IS NULL OR p.unit_id = c.unit_id))
""").bindparams(bindparam("now", type_=UTCDateTime()))


# the narrower question, asked before the check: which pending cases turn overdue now
NEWLY_OVERDUE_SQL = text("""
SELECT c.thread_id
FROM response_cases c JOIN threads t ON t.id = c.thread_id
WHERE c.state = 'pending' AND c.due_at <= :now AND t.deleted_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM posts p
    WHERE p.thread_id = c.thread_id AND p.unit_id IS NOT NULL AND p.deleted_at IS NULL
      AND p.floor > 1 AND p.posted_at <= :now
      AND (c.unit_id IS NULL OR p.unit_id = c.unit_id))
""").bindparams(bindparam("now", type_=UTCDateTime()))


def overdue_by_sql(repo: Repository, now: datetime, query=OVERDUE_SQL) -> tuple[set[int], float]:
    t0 = time.perf_counter()
    with repo.engine.connect() as c:
        ids = {r[0] for r in c.execute(query, {"now": now})}
    return ids, time.perf_counter() - t0


def overdue_stored(repo: Repository) -> set[int]:
    with repo.engine.connect() as c:
        return {r[0] for r in c.execute(text("SELECT thread_id FROM response_cases WHERE state = 'overdue'"))}


# ---- the poller's list-page work ------------------------------------------------------------------

def page_work(repo: Repository, shape: Shape, directory: Directory, rnd: random.Random, now: datetime,
              serial: list[int]) -> float:
    """known_threads for a list page of 20 threads of one forum + upsert of 1-2 changed rows; seconds."""
    f = rnd.randrange(FORUMS)
    if shape.per_board >= TPP:
        b = f * BOARDS + rnd.randrange(BOARDS)
        gs = shape.board_threads(b)
        i = rnd.randrange(len(gs) - TPP + 1)
        gs = gs[i:i + TPP]
    else:
        gs = sorted((g for b in range(f * BOARDS, (f + 1) * BOARDS) for g in shape.board_threads(b)),
                    key=lambda g: (g // NBOARDS, g))
        i = rnd.randrange(max(1, len(gs) - TPP + 1))
        gs = gs[i:i + TPP]
    threads = {g: gen_thread(shape, g, directory) for g in gs}
    changed = rnd.sample(gs, rnd.randint(1, 2))
    serial[0] += 1
    rows = {}
    for g in changed:
        t = threads[g]
        rows.setdefault(t.fid, []).append(ThreadRow(
            t.row.tid, t.row.title, t.row.url, t.row.author, t.row.author_uid, t.row.posted_at, 0,
            t.row.replies + serial[0], t.row.views + serial[0], now, 0, "网友1"))
    forum = f"f{f}"
    t0 = time.perf_counter()
    repo.known_threads(forum, gs)
    for fid, rs in rows.items():
        repo.upsert_thread_rows(forum, fid, rs, now)
    return time.perf_counter() - t0


# ---- child processes ----------------------------------------------------------------------------

# A child's ru_maxrss on Linux starts from the resident size of the process image it was exec'ed
# from (with vfork, the parent's peak): started from this big process, `check` would read as big as
# this process. So a tiny launcher (python -S, ~10 MiB) starts it, waits with wait4 and reports.
_LAUNCHER = """import json, os, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(p.pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump([os.waitstatus_to_exitcode(status), usage.ru_maxrss, time.perf_counter() - t0], f)
"""


def run_child(args: list[str], tmp: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, stdout) of one CLI run in a child process."""
    exe = ROOT / ".venv" / "bin" / "spokeswatch"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "monitor"]
    report = tmp / "child.json"
    proc = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(report), *cmd, *args], cwd=ROOT,
                          capture_output=True, text=True)
    code, maxrss_kib, elapsed = json.loads(report.read_text())
    if proc.returncode != 0 or code != 0:
        raise SystemExit(f"{' '.join(cmd + args)} failed ({code}):\n{proc.stderr[-2000:]}")
    return elapsed, maxrss_kib / 1024, proc.stdout.strip()


# ---- databases -----------------------------------------------------------------------------------

def admin_engine(server):
    """An AUTOCOMMIT engine on the server's postgres (or test) database, for CREATE/DROP DATABASE."""
    for admin in ("postgres", "test"):
        engine = create_engine(server.set(database=admin), isolation_level="AUTOCOMMIT")
        try:
            engine.connect().close()
            return engine
        except Exception:  # noqa: BLE001 - try the next admin database
            engine.dispose()
    raise SystemExit("cannot connect to the PostgreSQL server's postgres or test database")


def remove_created(created_file: str | None, server, created_db: str | None) -> None:
    """Delete a SQLite file this run made (with its -wal and -shm) or drop a database it created."""
    if created_file:
        for suffix in ("", "-wal", "-shm"):
            Path(created_file + suffix).unlink(missing_ok=True)
    if created_db:
        admin = admin_engine(server)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)'))
        admin.dispose()


class Databases:
    """The big and the small database: temporary SQLite files, or PostgreSQL databases created here."""

    def __init__(self, url: str | None, tmp: Path):
        self.created: list[str] = []
        self.emptied: list[str] = []
        if url is None:
            self.kind = "sqlite"
            self.big, self.small = f"sqlite:///{tmp / 'big.sqlite3'}", f"sqlite:///{tmp / 'small.sqlite3'}"
            return
        url = normalise_url(url)
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            self.kind = "sqlite"
            self.big, self.small = url, f"sqlite:///{tmp / 'small.sqlite3'}"
            if u.database and Path(u.database).exists():
                raise SystemExit(f"{u.database} exists: give a new file")
            self.created_files = [u.database]
            return
        self.kind = "postgresql"
        self.server = u
        name = u.database
        self.big = u.render_as_string(hide_password=False)
        self.small = u.set(database=f"{name}_small").render_as_string(hide_password=False)
        for db in (name, f"{name}_small"):
            self._create(db)

    def _admin(self):
        return admin_engine(self.server)

    def _create(self, db: str) -> None:
        admin = self._admin()
        with admin.connect() as c:
            exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": db}).first()
            if not exists:
                c.execute(text(f'CREATE DATABASE "{db}"'))
                self.created.append(db)
        admin.dispose()
        if exists:
            engine = create_engine(self.server.set(database=db))
            with engine.connect() as c:
                tables = c.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar()
            engine.dispose()
            if tables:
                raise SystemExit(f"database {db} exists and has tables: give a new or an empty database")
            self.emptied.append(db)

    def cleanup(self) -> None:
        if self.kind != "postgresql":
            for f in getattr(self, "created_files", []):
                for suffix in ("", "-wal", "-shm"):
                    Path(f + suffix).unlink(missing_ok=True)
            return
        admin = self._admin()
        with admin.connect() as c:
            for db in self.created:
                c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        for db in self.emptied:  # existed before: drop what we put in it
            engine = create_engine(self.server.set(database=db))
            with engine.begin() as c:
                c.execute(text("DROP SCHEMA public CASCADE"))
                c.execute(text("CREATE SCHEMA public"))
            engine.dispose()


def analyze(url: str) -> None:
    """PostgreSQL: what autovacuum would have done after a bulk write (the shared test server runs
    with autovacuum off; without fresh statistics the check's query walks every thread). SQLite:
    nothing, the service never runs ANALYZE there."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text("VACUUM ANALYZE"))
    engine.dispose()


# ---- the run ------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000, help="posts in the big history (threads = posts / 10)")
    ap.add_argument("--database", help="SQLAlchemy URL (PostgreSQL: postgresql+psycopg://postgres@host/NAME); "
                    "default: a temporary SQLite file")
    ap.add_argument("--keep", action="store_true", help="keep the databases (and temp folder)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of 100 new posts + incremental check")
    ap.add_argument("--workers", type=int, default=0, help="build processes (PostgreSQL; default 3)")
    args = ap.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still cleans up
    tmp = Path(tempfile.mkdtemp(prefix="spokeswatch-scale-"))
    dbs = Databases(args.database, tmp)
    ok = False
    try:
        run(args, dbs, tmp)
        ok = True
    finally:
        if args.keep:
            print(f"kept: {dbs.big} and {dbs.small} (folder {tmp})")
        else:
            dbs.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)
        if not ok:
            print("benchmark failed", file=sys.stderr)


def run(args, dbs: Databases, tmp: Path) -> None:
    big_shape, small_shape = Shape(max(NBOARDS, args.posts // 10)), Shape(1000)
    cfg_text = config_text(dbs.big, tmp)
    config = parse_config(cfg_text)
    small_config = parse_config(config_text(dbs.small, tmp))
    cfg_path = tmp / "config.yaml"
    cfg_path.write_text(cfg_text, encoding="utf-8")
    workers = args.workers or (3 if dbs.kind == "postgresql" else 1)
    if dbs.kind == "sqlite":
        workers = 1
    directory, calendar = Directory(config), calendar_of(config)
    print(f"scale benchmark on {dbs.kind}: {FORUMS} forums × {BOARDS} boards, {big_shape.threads:,} threads, "
          f"~{big_shape.threads * 10:,} posts over {START:%Y-%m-%d} .. {NOW0:%Y-%m-%d %H:%M} Asia/Shanghai; "
          f"build processes: {workers}", flush=True)

    # 1. the histories
    small_posts, small_s = build(dbs.small, small_shape, small_config, 1, "small")
    analyze(dbs.small)
    print(f"small history: {small_posts:,} posts in {small_s:.1f} s ({small_posts / small_s:,.0f} posts/s)")
    big_posts, big_s = build(dbs.big, big_shape, config, workers, "big")
    print(f"big history: {big_posts:,} posts in {big_s:.0f} s ({big_posts / big_s:,.0f} posts/s, "
          f"{workers} process(es))", flush=True)
    t0 = time.perf_counter()
    analyze(dbs.big)
    if dbs.kind == "postgresql":
        print(f"VACUUM ANALYZE (as autovacuum would): {time.perf_counter() - t0:.0f} s")

    small_repo, repo = Repository(make_engine(dbs.small)), Repository(make_engine(dbs.big))
    load_ids(repo)
    load_ids(small_repo)
    run_check(small_config, small_repo, NOW0, full=True)
    t0 = time.perf_counter()
    full = run_check(config, repo, NOW0, calendar, directory, full=True)
    full_s = time.perf_counter() - t0
    if dbs.kind == "postgresql":  # the full check rewrote every thread and added every case: autovacuum
        t0 = time.perf_counter()  # (when it is on) would analyze them again before long
        analyze(dbs.big)
        analyze(dbs.small)
        print(f"VACUUM ANALYZE after the full check: {time.perf_counter() - t0:.0f} s")
    counts = repo.counts()
    states = repo.case_states()
    print(f"full check in process: {full_s:.1f} s, {full.evaluated:,} threads evaluated; "
          f"{counts['threads']:,} threads, {counts['posts']:,} posts, cases: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(states.items())), flush=True)

    # 2a. incremental check ÷ one SQL query
    activity = Activity(big_shape, directory, seed=1)
    now = NOW0
    check_s, sql_s, ratios, evaluated, narrow_s, narrow_ratios = [], [], [], [], [], []
    for r in range(args.rounds):
        prev, now = now, now + timedelta(hours=3)
        added = activity.add_posts(repo, prev, now)
        sql_runs, narrow_runs = [], []
        for _ in range(3):
            expected, s = overdue_by_sql(repo, now)
            sql_runs.append(s)
            newly, s = overdue_by_sql(repo, now, NEWLY_OVERDUE_SQL)
            narrow_runs.append(s)
        t0 = time.perf_counter()
        res = run_check(config, repo, now, calendar, directory)
        c = time.perf_counter() - t0
        got = overdue_stored(repo)
        after, _ = overdue_by_sql(repo, now)
        if got != expected or after != expected:
            raise SystemExit(f"round {r}: the check's overdue set ({len(got)}) differs from the SQL's "
                             f"({len(expected)}): {sorted(got ^ expected)[:10]}")
        if newly != set(res.newly_overdue):
            raise SystemExit(f"round {r}: the check's newly overdue ({len(res.newly_overdue)}) differ from the "
                             f"narrow SQL's ({len(newly)})")
        s, narrow = statistics.median(sql_runs), statistics.median(narrow_runs)
        narrow_s.append(narrow)
        narrow_ratios.append(c / narrow)
        check_s.append(c)
        sql_s.append(s)
        ratios.append(c / s)
        evaluated.append(res.evaluated)
        print(f"  round {r + 1}: +{added['new_threads']} threads, +{added['replies']} replies "
              f"({added['by_spokesperson']} by spokespersons), now {now.astimezone(TZ):%m-%d %H:%M}: check "
              f"{c * 1000:.0f} ms ({res.evaluated} threads, {len(res.newly_overdue)} newly overdue, "
              f"{res.full and 'FULL' or 'incremental'}), SQL {s * 1000:.1f} ms, {len(expected):,} overdue "
              f"(same set) -> {c / s:.2f}×; newly-overdue SQL {narrow * 1000:.1f} ms ({len(newly)}, same set) -> "
              f"{c / narrow:.1f}×", flush=True)
    check_med, ratio_med = statistics.median(check_s), statistics.median(ratios)

    # 2b. reports
    q3, year = parse_period("2026Q3"), parse_period("2025")
    t0 = time.perf_counter()
    bq = build_bulletin(config, repo, q3)
    bulletin_q = time.perf_counter() - t0
    t0 = time.perf_counter()
    by = build_bulletin(config, repo, year)
    bulletin_y = time.perf_counter() - t0
    t0 = time.perf_counter()
    d = build_digest(config, repo, now)
    digest_s = time.perf_counter() - t0
    print(f"bulletin 2026Q3: {bq.received:,} received, {len(bq.appendix):,} in the appendix, {bulletin_q:.2f} s; "
          f"bulletin 2025: {by.received:,} received, {len(by.appendix):,} in the appendix, {bulletin_y:.2f} s; "
          f"digest: {d.overdue_total:,} overdue, {digest_s:.2f} s", flush=True)
    print("  where the yearly bulletin and the digest spend their time (the repository calls alone):")
    start, end = year.bounds(config.timezone)
    for name, fn in (("report_threads(2025)", lambda: repo.report_threads(start, end)),
                     ("thread_posts(threads of 2025)", lambda: repo.thread_posts([t.id for t in threads])),
                     ("answer_bodies_between(2025)", lambda: repo.answer_bodies_between(start, end)),
                     ("posts_after_answers_between(2025)", lambda: repo.posts_after_answers_between(start, end)),
                     ("spokesperson_posts(2025)", lambda: repo.spokesperson_posts(start, end)),
                     ("unit_posts_between(2025)", lambda: repo.unit_posts_between(start, end)),
                     ("cases_open_at(now)", lambda: repo.cases_open_at(now)),
                     ("case_events_between(last 24 h)", lambda: repo.case_events_between(now - timedelta(days=1), now))):
        t0 = time.perf_counter()
        got = fn()
        if name.startswith("report_threads"):
            threads = got
        print(f"    {name:32} {time.perf_counter() - t0:7.2f} s  ({len(got):,} rows"
              + (f", {sum(map(len, got.values())):,} posts)" if isinstance(got, dict)
                 and name.startswith(("thread_posts", "posts_after"))
                 else ")"), flush=True)

    # 2c. the check in a child process: peak memory (incremental, then full)
    prev, now = now, now + timedelta(hours=3)
    activity.add_posts(repo, prev, now)
    stamp = now.astimezone(TZ).isoformat()
    inc_s, inc_rss, inc_out = run_child(["check", "-c", str(cfg_path), "--now", stamp], tmp)
    print(f"child `spokeswatch check`: {inc_s:.2f} s wall (process start included), peak RSS {inc_rss:.0f} MiB: "
          f"{inc_out}", flush=True)
    full_child_s, full_rss, full_out = run_child(["check", "-c", str(cfg_path), "--now", stamp, "--full"], tmp)
    print(f"child `spokeswatch check --full`: {full_child_s:.1f} s wall, peak RSS {full_rss:.0f} MiB: "
          f"{full_out}", flush=True)
    if overdue_stored(repo) != overdue_by_sql(repo, now)[0]:
        raise SystemExit("after the full check, the overdue set differs from the SQL's")

    # 2d. the poller's database time per list page, big ÷ small (alternating)
    rnd = random.Random(3)
    big_t, small_t, serial = [], [], [0]
    pnow = now + timedelta(minutes=10)
    for i in range(300):
        for which in ((repo, big_shape, big_t), (small_repo, small_shape, small_t))[::1 if i % 2 else -1]:
            which[2].append(page_work(which[0], which[1], directory, rnd, pnow, serial))
    big_page, small_page = statistics.median(big_t[20:]), statistics.median(small_t[20:])
    print(f"poller list page (known_threads 20 + upsert 1-2 rows): {big_page * 1000:.2f} ms on "
          f"{big_posts:,} posts vs {small_page * 1000:.2f} ms on {small_posts:,} posts (median of 280)")

    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    repo.engine.dispose()
    small_repo.engine.dispose()

    label = f"{big_posts / 1e6:.2f}M posts" if big_posts >= 1e6 else f"{big_posts / 1e3:.0f}k posts"
    rows = [
        (f"check ÷ SQL overdue query (median of {len(ratios)})", f"{ratio_med:.2f}×", "≤ 3×", ratio_med <= 3),
        ("check time (median, incremental, in process)", f"{check_med:.3f} s", "≤ 0.3 s", check_med <= 0.3),
        ("SQL overdue query (median)", f"{statistics.median(sql_s) * 1000:.1f} ms", "-", None),
        ("check ÷ SQL newly-overdue query (median, for the record)", f"{statistics.median(narrow_ratios):.1f}×",
         "(≤ 3×)", None),
        ("SQL newly-overdue query (median)", f"{statistics.median(narrow_s) * 1000:.1f} ms", "-", None),
        ("threads evaluated per check (median)", f"{statistics.median(evaluated):.0f}", "-", None),
        (f"poller list page, {label} ÷ 10k posts", f"{big_page / small_page:.2f}", "≤ 1.5", big_page / small_page <= 1.5),
        ("bulletin 2026Q3 (build_bulletin)", f"{bulletin_q:.2f} s", "≤ 2 s", bulletin_q <= 2),
        ("bulletin 2025 (build_bulletin)", f"{bulletin_y:.2f} s", "≤ 2 s", bulletin_y <= 2),
        ("digest (build_digest)", f"{digest_s:.2f} s", "≤ 1 s", digest_s <= 1),
        ("peak RSS, `spokeswatch check` (child)", f"{inc_rss:.0f} MiB", "≤ 300 MiB", inc_rss <= 300),
        ("peak RSS, `spokeswatch check --full` (child)", f"{full_rss:.0f} MiB", "-", None),
        ("`spokeswatch check --full` wall time (child)", f"{full_child_s:.1f} s", "-", None),
        ("full check in process (steady state)", f"{full_s:.1f} s", "-", None),
        ("build rate (repository, as the poller)", f"{big_posts / big_s:,.0f} posts/s", "-", None),
        ("peak RSS of this benchmark process", f"{rss_self:.0f} MiB", "-", None),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{dbs.kind}, {label}, {counts['threads']:,} threads:")
    print(f"| {'figure':{width}} | measured | goal | met? |")
    print(f"| {'-' * width} | --- | --- | --- |")
    for name, measured, goal, met in rows:
        print(f"| {name:{width}} | {measured} | {goal} | {'-' if met is None else ('yes' if met else 'NO')} |")


if __name__ == "__main__":
    main()
