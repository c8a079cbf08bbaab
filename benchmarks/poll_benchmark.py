"""Poll benchmark: a large generated forum served by the demo server, polled as the daemon polls it.

Run by hand (not a test):

    .venv/bin/python benchmarks/poll_benchmark.py [--boards 20] [--threads 200] [--posts 10]
        [--open-share 0.05] [--database sqlite] [--database postgresql]

The forum runs in a child process (its CPU does not count against the poller). Its boards are
programme boards of one unit whose spokesperson account (uid 1) answered most threads; the
others (``--open-share``) stay open cases (overdue), so the poller has threads to re-read.
Every poll is ``Service.poll(forum)`` with rechecks on (the daemon's poll job), followed by
``Service.check()`` (the check it asks for, or the periodic one), on the daemon's cadence:
a poll every ``poll_interval_minutes`` (10) of an injected clock, rechecks due after
``recheck_interval_minutes`` (60). The forum's clock moves with ours.

Prints, each measured in the same run, for each database asked for:
  * requests made (counted by the forum) ÷ the minimum needed, for the cold poll (every list
    page, every thread page, the spokesperson's profile), a steady poll with nothing changed
    (one list page per board), the poll when the recheck interval has passed (list pages +
    every page of every open-case thread), a whole recheck cycle (the steady polls and the
    recheck poll together), and a poll after a few changes (5 new replies, 3 new threads);
  * the store ratio: the cold poll's whole database time per post, bookkeeping included
    (every Repository method the poller calls, timed around the call: known_threads,
    upsert_thread_rows, store_posts per thread page, set_board_walk, poll run start/finish,
    presence …) ÷ a plain driver ``executemany`` of the same post rows (read back from the
    database) into an empty table of the same shape (same columns, unique key and indexes),
    one transaction per thread page as a real poll writes: sqlite3 on SQLite, psycopg on
    PostgreSQL; the plain side is the median of three runs;
  * the rules check's time after the steady poll, and the peak resident memory of this
    (the polling) process;
  * the Discuz! parser's rate ÷ a plain lxml XPath extraction of the same fields (CPU time).

What it leaves out: network latency (loopback, rate_limit 0), the daemon's thread pool and
scheduler (one forum, polls run back to back in this thread), concurrent polls contending for
the database, edits and deletions found by rechecks.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import random
import re
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lxml.etree  # noqa: E402
import lxml.html  # noqa: E402
from loguru import logger  # noqa: E402
from sqlalchemy import event  # noqa: E402

from monitor import poller as poller_module  # noqa: E402
from monitor.config import parse_config  # noqa: E402
from monitor.demoforum.render import render_thread  # noqa: E402
from monitor.demoforum.scenario import DemoPost, DemoThread, Scenario  # noqa: E402
from monitor.demoforum.server import DemoClock, DemoForum  # noqa: E402
from monitor.service import Service  # noqa: E402
from scrapers import discuz  # noqa: E402
from scrapers.records import Page, Site  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=TZ)
PARAGRAPH = "网友反映的问题已经收到，我们高度重视，已安排工作人员到现场核实情况。" * 6
SPOKESPERSON_UID = 1
THREADS_PER_PAGE = 20
POSTS_PER_PAGE = 10
PG_ADMIN = os.environ.get("SPOKESWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
POST_COLUMNS = ("thread_id", "forum_id", "pid", "floor", "author", "author_uid", "unit_id", "posted_at",
                "posted_precision", "body", "body_hash", "edit_note", "first_seen_at", "last_seen_at")


# ---- the forum ----------------------------------------------------------------------------

def make_scenario(boards: int, threads: int, posts_per_thread: int, seed: int = 7,
                  open_share: float = 0.0) -> tuple[Scenario, set[int]]:
    """boards × threads of one full page of long posts (~80 KB rendered); the spokesperson
    (uid 1) answers at floor 2 except in about ``open_share`` of the threads. Returns the
    scenario and the tids left unanswered (open cases)."""
    rnd = random.Random(seed)
    bodies = ["\n".join(PARAGRAPH[i:] + PARAGRAPH[:i] for _ in range(16)) for i in range(20)]
    items, pid, unanswered = [], 0, set()
    for b in range(boards):
        for n in range(threads):
            tid = b * threads + n + 1
            start = NOW - timedelta(days=rnd.randint(1, 300), minutes=rnd.randint(0, 1440))
            answered = rnd.random() >= open_share or posts_per_thread < 2
            posts = []
            for k in range(posts_per_thread):
                pid += 1
                uid = SPOKESPERSON_UID if (k == 1 and answered) else 2 + (pid % 50)
                posts.append(DemoPost(pid, uid, start + timedelta(minutes=13 * k), bodies[pid % 20]))
            if not answered:
                unanswered.add(tid)
            items.append(DemoThread(tid, 100 + b, f"第{b}版 第{n}帖 关于自来水水质的问题", 0, rnd.randint(10, 5000),
                                    posts=posts))
    scenario = Scenario(name="基准论坛", timezone="Asia/Shanghai",
                        boards={100 + b: {"name": f"版块{b}", "types": {}} for b in range(boards)},
                        users={i: f"网友{i}" for i in range(1, 60)}, threads=items,
                        threads_per_page=THREADS_PER_PAGE, posts_per_page=POSTS_PER_PAGE, default_now=NOW)
    return scenario, unanswered


def _serve(conn, boards: int, threads: int, posts: int, open_share: float) -> None:
    """The forum process: serves the scenario and answers the benchmark's commands."""
    logger.remove()
    scenario, unanswered = make_scenario(boards, threads, posts, open_share=open_share)
    clock = DemoClock(NOW)
    forum = DemoForum(scenario, clock=clock).start()
    pages = {t.tid: math.ceil(len(t.posts) / POSTS_PER_PAGE) for t in scenario.threads}
    conn.send({"base_url": forum.base_url,
               "list_pages": sum(math.ceil(sum(t.fid == fid for t in scenario.threads) / THREADS_PER_PAGE)
                                 for fid in scenario.boards),
               "thread_pages": sum(pages.values()),
               "open_threads": len(unanswered),
               "open_pages": sum(pages[tid] for tid in unanswered)})
    rnd = random.Random(1)
    while True:
        cmd, arg = conn.recv()
        if cmd == "stop":
            forum.stop()
            conn.send(None)
            return
        if cmd == "requests":
            conn.send(len(forum.requests))
        elif cmd == "clock":
            clock.set(arg)
            conn.send(None)
        elif cmd == "change":  # 5 replies to existing threads, 3 new threads, newer than anything
            later = arg
            pid = max(p.pid for t in scenario.threads for p in t.posts)
            changed_pages = 0
            for i, t in enumerate(rnd.sample(scenario.threads, 5)):
                pid += 1
                t.posts.append(DemoPost(pid, 3, later + timedelta(seconds=i), "补充情况：问题仍未解决"))
                changed_pages += 1  # the page holding the new post
            for i in range(3):
                pid += 1
                tid = len(scenario.threads) + 1
                scenario.threads.append(DemoThread(tid, 100 + i, f"新帖{i}", 0, 1,
                                                   posts=[DemoPost(pid, 4, later + timedelta(seconds=10 + i), "新问题")]))
                changed_pages += 1
            conn.send(changed_pages)


class ForumProcess:
    def __init__(self, boards: int, threads: int, posts: int, open_share: float):
        self._conn, child = mp.Pipe()
        self._proc = mp.Process(target=_serve, args=(child, boards, threads, posts, open_share), daemon=True)
        self._proc.start()
        self.info = self._conn.recv()

    def ask(self, cmd: str, arg=None):
        self._conn.send((cmd, arg))
        return self._conn.recv()

    def stop(self) -> None:
        self.ask("stop")
        self._proc.join(10)


# ---- database time of the poll -------------------------------------------------------------

def poller_repo_methods() -> list[str]:
    """Every Repository method the poller calls (read from its source, so none is missed)."""
    source = Path(poller_module.__file__).read_text("utf-8")
    return sorted(set(re.findall(r"\brepo\.(\w+)\(", source)))


class RepoTimer:
    """Times every Repository method the poller calls, while ``active``; also counts commits."""

    def __init__(self, repo, engine):
        self.active = False
        self.seconds: Counter = Counter()
        self.cpu: Counter = Counter()  # CPU time of this process in the call (SQLite's own work included)
        self.calls: Counter = Counter()
        self.commits = 0
        self.statements = 0
        for name in poller_repo_methods():
            original = getattr(repo, name)
            setattr(repo, name, self._wrap(name, original))

        @event.listens_for(engine, "commit")
        def _commit(_conn):
            if self.active:
                self.commits += 1

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(*_args):
            if self.active:
                self.statements += 1

    def _wrap(self, name, original):
        def timed(*args, **kwargs):
            if not self.active:
                return original(*args, **kwargs)
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0
                self.cpu[name] += time.process_time() - c0
                self.calls[name] += 1
        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.cpu.clear()
        self.calls.clear()
        self.commits = self.statements = 0

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    @property
    def total_cpu(self) -> float:
        return sum(self.cpu.values())


# ---- the polls, as the daemon runs them -------------------------------------------------------

def bench_polls(url: str, args, tmp: Path) -> dict:
    forum = ForumProcess(args.boards, args.threads, args.posts, args.open_share)
    info = forum.info
    boards = ", ".join(f"{{fid: {100 + b}, unit: water}}" for b in range(args.boards))
    cfg = parse_config(f"""
database: {url}
state_dir: {tmp / 'state'}
forums:
  - id: bench
    name: bench
    base_url: {info['base_url']}
    rate_limit: 0
    max_pages: 1000
    poll_interval_minutes: {args.poll_interval}
    recheck_interval_minutes: {args.recheck_interval}
    boards: [{boards}]
units:
  - id: water
    name: 市供水公司
    accounts: [{{forum: bench, uid: {SPOKESPERSON_UID}}}]
""")
    clock = [NOW]
    svc = Service(cfg, clock=lambda: clock[0])
    timer = RepoTimer(svc.repo, svc.engine)
    out: dict = {"info": info, "polls": []}

    def poll_and_check(at: datetime, label: str) -> dict:
        clock[0] = at
        forum.ask("clock", at)
        before = forum.ask("requests")
        timer.reset()
        timer.active = True
        t0 = time.perf_counter()
        [result] = svc.poll("bench")  # the daemon's poll job
        wall = time.perf_counter() - t0
        timer.active = False
        made = forum.ask("requests") - before
        t0 = time.perf_counter()
        checked = svc.check()  # the check the poll asks for (or the periodic one)
        check_s = time.perf_counter() - t0
        row = dict(label=label, at=at, made=made, counted_by_poller=result.requests, status=result.status,
                   warnings=len(result.warnings), stored=result.stored_something, new=result.store.new,
                   wall=wall, db=timer.total, db_cpu=timer.total_cpu, db_by_method=dict(timer.seconds), calls=dict(timer.calls),
                   cpu_by_method=dict(timer.cpu),
                   commits=timer.commits, statements=timer.statements, check_s=check_s,
                   check=checked.summary())
        out["polls"].append(row)
        print(f"  {label:<16} {made:6d} requests, {wall:7.2f} s, db {timer.total:7.2f} s "
              f"({timer.commits} commits), check {check_s:6.3f} s — {checked.summary()}", flush=True)
        return row

    step = timedelta(minutes=args.poll_interval)
    out["cold"] = poll_and_check(NOW, "cold")
    out["posts"] = svc.repo.counts()["posts"]
    out["pages"] = info["thread_pages"]
    out["cases"] = svc.repo.case_states()
    cycle = []
    k = 0
    while True:  # steady polls until the one where the recheck interval has passed
        k += 1
        at = NOW + k * step
        due = at - timedelta(minutes=args.recheck_interval) > NOW  # read_at < now - interval
        cycle.append(poll_and_check(at, "recheck due" if due else f"steady +{k * args.poll_interval:g} min"))
        if due:
            break
    out["steady"], out["recheck"], out["cycle"] = cycle[0], cycle[-1], cycle
    at = NOW + (k + 1) * step
    out["changed_pages"] = forum.ask("change", at - timedelta(minutes=1))  # all of it shown by ``at``
    out["after_changes"] = poll_and_check(at, "after changes")
    svc.close()
    forum.stop()
    return out


# ---- the plain driver baseline ---------------------------------------------------------------

def _pages_of(rows: list[tuple], ppp: int) -> list[list[tuple]]:
    """A thread's posts (ordered by floor) cut into its pages, as a poll stores them."""
    return [rows[i:i + ppp] for i in range(0, len(rows), ppp)]


def plain_sqlite(path: Path, runs: int = 3) -> list[tuple[float, float]]:
    """Seconds to insert every stored post again with sqlite3 executemany, one transaction per
    thread page, into an empty copy of the posts table (same columns, unique key, indexes)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # what the project's engine sets
    conn.execute("PRAGMA foreign_keys=ON")  # so do its foreign keys: the same checks per row
    ddl = [sql for (sql,) in conn.execute(
        "select sql from sqlite_master where tbl_name = 'posts' and sql is not null order by type desc")]
    thread_ids = [i for (i,) in conn.execute("select distinct thread_id from posts order by thread_id")]
    cols = ", ".join(POST_COLUMNS)
    insert = f"insert into plain_posts ({cols}) values ({', '.join('?' * len(POST_COLUMNS))})"
    times = []
    for _ in range(runs):
        conn.execute("drop table if exists plain_posts")
        for sql in ddl:  # CREATE TABLE posts first (type 'table' > 'index'), then its indexes
            sql = re.sub(r"\bposts\b", "plain_posts", sql, count=1) if sql.startswith("CREATE TABLE") else \
                re.sub(r"\b(ix_\w+|uq_\w+)\b", r"plain_\1", sql).replace(" ON posts ", " ON plain_posts ")
            conn.execute(sql)
        elapsed = cpu = 0.0
        for tid in thread_ids:
            rows = conn.execute(f"select {cols} from posts where thread_id = ? order by floor", (tid,)).fetchall()
            for page in _pages_of(rows, POSTS_PER_PAGE):
                t0, c0 = time.perf_counter(), time.process_time()
                conn.execute("begin")
                conn.executemany(insert, page)
                conn.execute("commit")
                elapsed += time.perf_counter() - t0
                cpu += time.process_time() - c0
        times.append((elapsed, cpu))
    conn.execute("drop table plain_posts")
    conn.close()
    return times


def plain_psycopg(dsn: str, runs: int = 3) -> list[tuple[float, float]]:
    """The same with psycopg executemany on PostgreSQL (a LIKE posts INCLUDING ALL copy)."""
    import psycopg
    cols = ", ".join(POST_COLUMNS)
    insert = f"insert into plain_posts ({cols}) values ({', '.join(['%s'] * len(POST_COLUMNS))})"
    times = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        thread_ids = [i for (i,) in conn.execute("select distinct thread_id from posts order by thread_id")]
        for _ in range(runs):
            conn.execute("drop table if exists plain_posts")
            conn.execute("create table plain_posts (like posts including all)")
            conn.execute("alter table plain_posts add foreign key (thread_id) references threads (id), "
                         "add foreign key (forum_id) references forums (id)")
            elapsed = cpu = 0.0
            with conn.cursor() as cur:
                for tid in thread_ids:
                    rows = conn.execute(f"select {cols} from posts where thread_id = %s order by floor",
                                        (tid,)).fetchall()
                    for page in _pages_of(rows, POSTS_PER_PAGE):
                        t0, c0 = time.perf_counter(), time.process_time()
                        with conn.transaction():
                            cur.executemany(insert, page)
                        elapsed += time.perf_counter() - t0
                        cpu += time.process_time() - c0
            times.append((elapsed, cpu))
        conn.execute("drop table plain_posts")
    return times


# ---- parsing ---------------------------------------------------------------------------------

_PLAIN_POSTS = lxml.etree.XPath("//div[@id='postlist']/div[starts-with(@id,'post_')]/table")
_PLAIN_AUTHOR = lxml.etree.XPath(".//div[@class='authi']/a")
_PLAIN_TIME = lxml.etree.XPath(".//em[@id=$id]//text()")
_PLAIN_BODY = lxml.etree.XPath(".//td[@id=$id]")


def _plain_lxml(html: bytes) -> list[tuple]:
    """The baseline: the same fields with precompiled XPath and nothing else."""
    doc = lxml.html.document_fromstring(html.decode("gb18030"))
    rows = []
    for table in _PLAIN_POSTS(doc):
        pid = table.get("id")[3:]
        a = _PLAIN_AUTHOR(table)[0]
        when = _PLAIN_TIME(table, id=f"authorposton{pid}")
        body = _PLAIN_BODY(table, id=f"postmessage_{pid}")[0].text_content()
        rows.append((pid, a.text, a.get("href"), "".join(when), body))
    return rows


def bench_parse(pages: int = 60) -> tuple[float, float, int]:
    s, _ = make_scenario(1, pages, 10)
    site = Site("http://127.0.0.1/")
    bodies = [render_thread(s, s.visible(t, NOW), 1, NOW, site.base_url).encode("gbk") for t in s.threads]
    size = sum(map(len, bodies)) // len(bodies)
    now_utc = NOW.astimezone(timezone.utc)

    def ours():
        for i, b in enumerate(bodies):
            discuz.parse_thread(Page(f"http://127.0.0.1/forum.php?mod=viewthread&tid={i + 1}", b, now_utc), site)

    def plain():
        for b in bodies:
            _plain_lxml(b)
    ours_rate, plain_rate = _rates(ours, plain, len(bodies))
    return ours_rate, plain_rate, size


def _rates(a, b, n: int, repeat: int = 7) -> tuple[float, float]:
    """Best rates of two functions, run alternately and timed in CPU time (this machine is shared)."""
    best = [math.inf, math.inf]
    for _ in range(repeat):
        for i, fn in enumerate((a, b)):
            t0 = time.process_time()
            fn()
            best[i] = min(best[i], time.process_time() - t0)
    return n / best[0], n / best[1]


# ---- databases ---------------------------------------------------------------------------------

class Database:
    """A database of this run's own: a SQLite file in the temp dir, or a PostgreSQL database
    created on the local server and dropped after."""

    def __init__(self, kind: str, tmp: Path):
        self.kind = kind
        if kind == "sqlite":
            self.path = tmp / "bench.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            import psycopg
            self.name = f"spokeswatch_pollbench_{os.getpid()}"
            with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True) as c:
                c.execute(f"drop database if exists {self.name}")
                c.execute(f"create database {self.name}")
            self.dsn = PG_ADMIN.replace("+psycopg", "").rsplit("/", 1)[0] + "/" + self.name
            self.url = self.dsn

    def plain(self) -> list[tuple[float, float]]:
        return plain_sqlite(self.path) if self.kind == "sqlite" else plain_psycopg(self.dsn)

    def drop(self) -> None:
        if self.kind == "sqlite":
            for p in self.path.parent.glob(self.path.name + "*"):
                p.unlink()
        else:
            import psycopg
            with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True) as c:
                c.execute(f"drop database if exists {self.name} with (force)")


# ---- report ------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", type=int, default=20)
    ap.add_argument("--threads", type=int, default=200, help="threads per board")
    ap.add_argument("--posts", type=int, default=10, help="posts per thread (10 per page)")
    ap.add_argument("--open-share", type=float, default=0.05, help="share of threads left unanswered (open cases)")
    ap.add_argument("--poll-interval", type=float, default=10, help="poll_interval_minutes (the daemon's cadence)")
    ap.add_argument("--recheck-interval", type=float, default=60, help="recheck_interval_minutes")
    ap.add_argument("--database", action="append", choices=("sqlite", "postgresql"),
                    help="database(s) to run on (repeat for both; default: both)")
    ap.add_argument("--skip-parse", action="store_true", help="leave out the parse ratio")
    ap.add_argument("--verbose", action="store_true", help="show the service's log")
    args = ap.parse_args()
    if not args.verbose:
        logger.remove()
        logger.add(sys.stderr, level="WARNING")
    databases = args.database or ["sqlite", "postgresql"]
    load_before = os.getloadavg()
    table: list[tuple[str, str, str, str]] = []  # figure, measured, goal, met

    def ratio_row(figure: str, made: int, minimum: int) -> None:
        r = made / minimum
        table.append((figure, f"{r:.2f} ({made} / {minimum})", "1.00", "yes" if made <= minimum else "NO"))

    if not args.skip_parse:
        ours, plain, size = bench_parse()
        print(f"parse: {ours:.0f} pages/s ours vs {plain:.0f} pages/s plain lxml on {size / 1024:.0f} KB pages",
              flush=True)
        table.append(("parse rate ÷ plain lxml XPath (CPU time)", f"{ours / plain:.2f} ({ours:.0f} vs {plain:.0f} "
                      "pages/s)", "≥ 0.5", "yes" if ours / plain >= 0.5 else "NO"))
    peak_polls = 0.0
    details = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind in databases:
            print(f"\n== {kind}: {args.boards} boards × {args.threads} threads × {args.posts} posts, "
                  f"{args.open_share:.0%} open; poll every {args.poll_interval:g} min, recheck after "
                  f"{args.recheck_interval:g} min", flush=True)
            db = Database(kind, tmp)
            try:
                r = bench_polls(db.url, args, tmp)
                peak_polls = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                info = r["info"]
                plain_times = db.plain()
            finally:
                db.drop()
            cold, steady, recheck, cycle, after = r["cold"], r["steady"], r["recheck"], r["cycle"], r["after_changes"]
            b = args.boards
            ratio_row(f"[{kind}] requests ÷ minimum, cold poll", cold["made"],
                      info["list_pages"] + info["thread_pages"] + 1)  # + the spokesperson's profile
            ratio_row(f"[{kind}] requests ÷ minimum, steady poll (nothing changed, no recheck due)",
                      steady["made"], b)
            ratio_row(f"[{kind}] requests ÷ minimum, poll with the recheck interval passed "
                      f"({info['open_threads']} open-case threads)", recheck["made"], b + info["open_pages"])
            ratio_row(f"[{kind}] requests ÷ minimum, one recheck cycle ({len(cycle)} polls)",
                      sum(p["made"] for p in cycle), len(cycle) * b + info["open_pages"])
            ratio_row(f"[{kind}] requests ÷ minimum, after 5 new replies and 3 new threads",
                      after["made"], b + r["changed_pages"])
            posts = r["posts"]
            plain_s = statistics.median(t for t, _ in plain_times)
            store = plain_s / cold["db"]
            table.append((f"[{kind}] store: plain {'sqlite3' if kind == 'sqlite' else 'psycopg'} executemany time "
                          "÷ the cold poll's whole database time",
                          f"{store:.2f} ({posts / cold['db']:.0f} vs {posts / plain_s:.0f} posts/s)", "≥ 0.5",
                          "yes" if store >= 0.5 else "NO"))
            plain_cpu = statistics.median(c for _, c in plain_times)
            cpu_ratio = plain_cpu / cold["db_cpu"]
            table.append((f"[{kind}] same, CPU time of this process only"
                          + (" (SQLite works in-process: robust on a busy machine)" if kind == "sqlite"
                             else " (client side only: the server's work is not in it)"),
                          f"{cpu_ratio:.2f} ({cold['db_cpu']:.1f} s vs {plain_cpu:.1f} s)",
                          "≥ 0.5" if kind == "sqlite" else "record",
                          ("yes" if cpu_ratio >= 0.5 else "NO") if kind == "sqlite" else "-"))
            table.append((f"[{kind}] rules check after the steady poll", f"{steady['check_s']:.3f} s", "record", "-"))
            table.append((f"[{kind}] database time of the steady poll", f"{steady['db']:.3f} s "
                          f"({steady['commits']} commits)", "record", "-"))
            details.append((kind, r, plain_times))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table.append(("peak resident memory of the polling process (after the polls)", f"{peak_polls:.0f} MiB",
                  "record", "-"))

    for kind, r, plain_times in details:
        cold = r["cold"]
        print(f"\n[{kind}] cold poll: {r['posts']} posts, {cold['made']} requests in {cold['wall']:.0f} s "
              f"({r['posts'] / cold['wall']:.0f} posts/s over HTTP); database {cold['db']:.1f} s in "
              f"{cold['commits']} commits, {cold['statements']} statements; cases after the check: "
              f"{dict(sorted(r['cases'].items()))}")
        for name, s in sorted(cold["db_by_method"].items(), key=lambda kv: -kv[1]):
            n = cold["calls"][name]
            print(f"    {name:<22} {s:8.2f} s  {n:7d} calls  {1000 * s / n:7.2f} ms/call, of which CPU here "
                  f"{1000 * cold['cpu_by_method'][name] / n:6.2f} ms")
        print(f"  plain executemany runs: {', '.join(f'{t:.1f} s (CPU here {c:.1f} s)' for t, c in plain_times)} "
              f"(median taken), {len(plain_times) and r['pages']} thread pages")
        for p in r["polls"]:
            print(f"  {p['label']:<16} requests {p['made']:6d} (poller counted {p['counted_by_poller']}), "
                  f"status {p['status']}, db {p['db']:.3f} s / {p['commits']} commits, check {p['check_s']:.3f} s, "
                  f"asks for a check: {p['stored']}")
    width = max(len(row[0]) for row in table)
    mwidth = max(len(row[1]) for row in table)
    print(f"\n{'figure':<{width}} | {'measured':<{mwidth}} | goal   | met")
    print(f"{'-' * width}-|-{'-' * mwidth}-|--------|----")
    for figure, measured, goal, met in table:
        print(f"{figure:<{width}} | {measured:<{mwidth}} | {goal:<6} | {met}")
    print(f"(peak resident memory at the end, after the plain baselines: {peak:.0f} MiB; load average "
          f"{load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end on {os.cpu_count()} CPUs: "
          "wall-clock figures are only as steady as the machine)")


if __name__ == "__main__":
    main()
