"""Poll benchmark: a large generated forum served by the demo server, polled by spokeswatch.

Run by hand:  .venv/bin/python benchmarks/poll_benchmark.py [--boards 50] [--threads 400]

Prints, each measured in the same run:
  * requests made ÷ the minimum needed: cold poll, steady poll (nothing changed), and a poll
    after a few changes (new replies, new threads);
  * parse+extract rate of the Discuz! parser ÷ a plain lxml XPath extraction of the same
    fields from the same ~100 KB thread pages;
  * post-storing rate of the repository ÷ a plain sqlite3 executemany of the same rows;
  * peak resident memory of the polling process (the forum runs in another process).
"""
from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lxml.etree  # noqa: E402
import lxml.html  # noqa: E402

from models.db import make_engine, upgrade  # noqa: E402
from models.repository import Repository  # noqa: E402
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


def make_scenario(boards: int, threads: int, posts_per_thread: int, seed: int = 7) -> Scenario:
    """boards × threads, each thread one full page of long posts (~100 KB rendered)."""
    rnd = random.Random(seed)
    bodies = ["\n".join(PARAGRAPH[i:] + PARAGRAPH[:i] for _ in range(16)) for i in range(20)]
    items, pid = [], 0
    for b in range(boards):
        for n in range(threads):
            tid = b * threads + n + 1
            start = NOW - timedelta(days=rnd.randint(1, 300), minutes=rnd.randint(0, 1440))
            posts = []
            for k in range(posts_per_thread):
                pid += 1
                posts.append(DemoPost(pid, 2 + (pid % 50), start + timedelta(minutes=13 * k), bodies[pid % 20]))
            items.append(DemoThread(tid, 100 + b, f"第{b}版 第{n}帖 关于自来水水质的问题", 0, rnd.randint(10, 5000),
                                    posts=posts))
    return Scenario(name="基准论坛", timezone="Asia/Shanghai",
                    boards={100 + b: {"name": f"版块{b}", "types": {}} for b in range(boards)},
                    users={i: f"网友{i}" for i in range(1, 60)}, threads=items, threads_per_page=20,
                    posts_per_page=10, default_now=NOW)


def _serve(conn, boards: int, threads: int, posts: int) -> None:
    scenario = make_scenario(boards, threads, posts)
    forum = DemoForum(scenario, clock=DemoClock(NOW)).start()
    conn.send(forum.base_url)
    rnd = random.Random(1)
    while True:
        cmd = conn.recv()
        if cmd == "stop":
            forum.stop()
            return
        if cmd == "requests":
            conn.send(len(forum.requests))
        elif cmd == "change":  # 5 replies to existing threads, 3 new threads, all newer than anything
            later = NOW + timedelta(hours=1)
            forum.clock.set(later + timedelta(minutes=30))
            pid = max(p.pid for t in scenario.threads for p in t.posts)
            changed_pages = 0
            for i, t in enumerate(rnd.sample(scenario.threads, 5)):
                pid += 1
                t.posts.append(DemoPost(pid, 3, later + timedelta(minutes=i), "补充情况：问题仍未解决"))
                changed_pages += 1  # the page holding the new post
            for i in range(3):
                pid += 1
                tid = len(scenario.threads) + 1
                scenario.threads.append(DemoThread(tid, 100 + i, f"新帖{i}", 0, 1,
                                                   posts=[DemoPost(pid, 4, later + timedelta(minutes=10 + i), "新问题")]))
                changed_pages += 1
            conn.send(changed_pages)


def bench_polls(boards: int, threads: int, posts: int, db_dir: Path) -> dict:
    parent, child = mp.Pipe()
    proc = mp.Process(target=_serve, args=(child, boards, threads, posts), daemon=True)
    proc.start()
    base = parent.recv()
    cfg = parse_config(f"""
database: sqlite:///{db_dir / 'bench.sqlite3'}
forums:
  - id: bench
    name: bench
    base_url: {base}
    rate_limit: 0
    max_pages: 1000
    recheck_interval_minutes: 100000
    boards: [{', '.join(f'{{fid: {100 + b}}}' for b in range(boards))}]
""")
    clock = [NOW]
    svc = Service(cfg, clock=lambda: clock[0])
    pages_per_thread = math.ceil(posts / 10)
    list_pages = boards * math.ceil(threads / 20)
    out = {}
    t0 = time.perf_counter()
    [cold] = svc.poll(recheck=False)
    out["cold_s"] = time.perf_counter() - t0
    out["cold"] = (cold.requests, list_pages + boards * threads * pages_per_thread)
    [steady] = svc.poll(recheck=False)
    out["steady"] = (steady.requests, boards)
    parent.send("change")
    changed = parent.recv()
    clock[0] = NOW + timedelta(hours=2)
    [after] = svc.poll(recheck=False)
    out["after_changes"] = (after.requests, boards + changed)
    out["posts"] = svc.repo.counts()["posts"]
    svc.close()
    parent.send("stop")
    proc.join(10)
    return out


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
    s = make_scenario(1, pages, 10)
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


def bench_store(tmp: Path, threads: int = 400, per_thread: int = 25) -> tuple[float, float]:
    from scrapers.records import Post, ThreadRow
    at = NOW.astimezone(timezone.utc)
    rows = [ThreadRow(tid=t, title="标题", url=f"u{t}", author="a", author_uid=2, posted_at=at, posted_precision=0,
                      replies=per_thread - 1, views=1, last_post_at=at, last_post_precision=0, last_poster="a")
            for t in range(1, threads + 1)]
    posts = {t: [Post(pid=t * 1000 + k, floor=k + 1, author="网友", author_uid=3, posted_at=at, posted_precision=0,
                      body=PARAGRAPH * 3) for k in range(per_thread)] for t in range(1, threads + 1)}
    n = threads * per_thread

    def ours():
        db = tmp / f"ours{time.perf_counter_ns()}.sqlite3"
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        repo = Repository(engine)
        repo.sync_forum("b", "b", "discuz", "http://x/")
        ids = repo.upsert_thread_rows("b", 1, rows, at)
        t0 = time.perf_counter()
        for t, ps in posts.items():
            repo.store_posts("b", ids[t], ps, [None] * len(ps), at, assume_new=True)
        elapsed = time.perf_counter() - t0
        engine.dispose()
        return elapsed

    def plain():
        db = tmp / f"plain{time.perf_counter_ns()}.sqlite3"
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("create table posts (id integer primary key, thread_id int, forum_id text, pid int, floor int,"
                     " author text, author_uid int, unit_id text, posted_at text, posted_precision int, body text,"
                     " body_hash text, edit_note text, first_seen_at text, last_seen_at text, deleted_at text,"
                     " unique(forum_id, pid))")
        t0 = time.perf_counter()
        for t, ps in posts.items():  # one transaction per thread, like the repository
            with conn:
                conn.executemany("insert into posts (thread_id, forum_id, pid, floor, author, author_uid, unit_id,"
                                 " posted_at, posted_precision, body, body_hash, edit_note, first_seen_at,"
                                 " last_seen_at) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                 [(t, "b", p.pid, p.floor, p.author, p.author_uid, None, str(at), 0, p.body, "h",
                                   None, str(at), str(at)) for p in ps])
        elapsed = time.perf_counter() - t0
        conn.close()
        return elapsed
    best_ours = min(ours() for _ in range(3))
    best_plain = min(plain() for _ in range(3))
    return n / best_ours, n / best_plain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", type=int, default=50)
    ap.add_argument("--threads", type=int, default=400, help="threads per board")
    ap.add_argument("--posts", type=int, default=10, help="posts per thread (10 per page)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours, plain, size = bench_parse()
        print(f"parse: {ours:8.1f} pages/s ours vs {plain:8.1f} pages/s plain lxml on {size / 1024:.0f} KB pages "
              f"-> ratio {ours / plain:.2f} (goal >= 0.5)")
        ours, plain = bench_store(tmp)
        print(f"store: {ours:8.0f} posts/s ours vs {plain:8.0f} posts/s plain sqlite3 executemany "
              f"-> ratio {ours / plain:.2f} (goal >= 0.5)")
        polls = bench_polls(args.boards, args.threads, args.posts, tmp)
        for name in ("cold", "steady", "after_changes"):
            made, minimum = polls[name]
            print(f"requests {name:13}: {made:6d} made / {minimum:6d} minimum -> ratio {made / minimum:.2f}")
        print(f"cold poll: {polls['posts']} posts in {polls['cold_s']:.0f} s "
              f"({polls['posts'] / polls['cold_s']:.0f} posts/s over HTTP, forum in another process)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the polling process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
