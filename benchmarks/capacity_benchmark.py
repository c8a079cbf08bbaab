"""Capacity benchmark: one daemon polling many small forums, each on its own loopback address.

Run by hand (not a test):

    .venv/bin/python benchmarks/capacity_benchmark.py [--forums 200] [--minutes 4] [--rate-limit 2]
        [--interval 1] [--parallel 16] [--servers 4] [--threads 5] [--posts 3]

``--forums`` demo forums (one board, ``--threads`` threads of ``--posts`` posts; the unit's
spokesperson, uid 1, answered all but one thread of each) are served on 127.0.0.2, 127.0.0.3, …
(any 127.x.y.z answers on Linux loopback), from ``--servers`` child processes so that their CPU
is not the daemon's. A config.yaml lists every forum (its own base_url, ``rate_limit``,
``poll_interval_minutes``), one unit with a spokesperson account on each, ``max_parallel_polls``
and a SQLite database in a temp dir; ``spokeswatch run -c config.yaml`` runs as a subprocess, as a
user runs it, for ``--minutes``, then gets SIGTERM. The forums count and time every request they
answer; ``poll_runs`` is read from the database afterwards.

Reports:
  * the cold start (every forum's first poll: list page, thread pages, the spokesperson's
    profile): requests per second achieved ÷ the politeness ceiling. Two ceilings are shown:
    the sum of the forums' rate limits (what politeness allows) and ``max_parallel_polls`` ×
    rate_limit (what a pool of that size can reach when each poll waits on its host's limit);
  * the steady state (after every forum's first poll finished, until SIGTERM): requests per
    second achieved ÷ min(sum of rate limits, requests needed per interval ÷ interval), where a
    steady poll of an unchanged forum needs one list page (no recheck is due within the run:
    the default recheck interval, 60 minutes, is kept), goal ≥ 0.9;
  * whether every forum was polled within its interval: the largest gap between consecutive
    poll starts of each forum (the stop counting as a start) ÷ the interval, goal ≤ 1 + 3 s ÷
    interval (the daemon keeps each forum at its own phase, without jitter; 3 s is the slack a
    job may start late by on a busy machine), and the worst forums;
  * the poll runs' statuses, the rules checks run, the daemon's CPU use, and its exit time
    after SIGTERM.

What it leaves out: network latency and real forums' response times (loopback, small pages),
forums that change while it runs (steady polls read one list page each), rechecks and the
nightly digest (outside the run), PostgreSQL (the daemon runs on SQLite), and this machine's
other load (the load average is printed).
"""
from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.demoforum.scenario import DemoPost, DemoThread, Scenario  # noqa: E402

SPOKESPERSON_UID = 1
BOARD = 2


def address(i: int) -> str:
    """The loopback address of forum i: 127.0.0.2, 127.0.0.3, … 127.0.0.251, 127.0.1.2, …"""
    return f"127.0.{i // 250}.{2 + i % 250}"


def make_scenario(i: int, threads: int, posts: int) -> Scenario:
    """One board of ``threads`` threads; the spokesperson answered all but the last one."""
    rnd = random.Random(i)
    now = datetime.now(timezone.utc)
    items, pid = [], 0
    for n in range(threads):
        start = now - timedelta(days=rnd.randint(3, 60), minutes=rnd.randint(0, 1440))
        answered = n < threads - 1
        thread_posts = []
        for k in range(posts):
            pid += 1
            uid = SPOKESPERSON_UID if (k == 1 and answered) else 2 + (pid % 20)
            thread_posts.append(DemoPost(pid, uid, start + timedelta(minutes=37 * k), f"第{k + 1}楼：关于供水的问题"))
        items.append(DemoThread(n + 1, BOARD, f"论坛{i} 第{n + 1}帖 停水问题", 0, rnd.randint(10, 500),
                                posts=thread_posts))
    return Scenario(name=f"论坛{i}", timezone="Asia/Shanghai", boards={BOARD: {"name": "民生", "types": {}}},
                    users={u: f"网友{u}" for u in range(1, 25)}, threads=items, threads_per_page=20,
                    posts_per_page=10, default_now=None)  # the forum's clock: real time


class _TimedRequests(list):
    """The forum's request log, with the time of each request."""

    def append(self, path) -> None:
        super().append((time.time(), path))


def _serve(conn, indexes: list[int], threads: int, posts: int) -> None:
    from loguru import logger
    from monitor.demoforum.server import DemoForum
    logger.remove()
    forums = {}
    for i in indexes:
        forum = DemoForum(make_scenario(i, threads, posts), host=address(i))
        forum.requests = _TimedRequests()
        forums[i] = forum.start()
    conn.send({i: f.base_url for i, f in forums.items()})
    conn.recv()  # "stop"
    for f in forums.values():
        f.stop()
    conn.send({i: list(f.requests) for i, f in forums.items()})


def write_config(path: Path, tmp: Path, urls: dict[int, str], args) -> None:
    forums, accounts = [], []
    for i, url in sorted(urls.items()):
        forums.append(f"""  - id: f{i:03d}
    name: 论坛{i}
    base_url: {url}
    rate_limit: {args.rate_limit}
    poll_interval_minutes: {args.interval}
    boards: [{{fid: {BOARD}, unit: water}}]""")
        accounts.append(f"      - {{forum: f{i:03d}, uid: {SPOKESPERSON_UID}}}")
    digest_at = (datetime.now() + timedelta(hours=12)).strftime("%H:%M")  # not during the run
    path.write_text(f"""database: sqlite:///{tmp / 'capacity.sqlite3'}
state_dir: {tmp / 'state'}
timezone: Asia/Shanghai
max_parallel_polls: {args.parallel}
check_interval_minutes: 5
digest:
  time: "{digest_at}"
  out_dir: {tmp / 'reports'}
forums:
{chr(10).join(forums)}
units:
  - id: water
    name: 市供水公司
    accounts:
{chr(10).join(accounts)}
""", "utf-8")


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _spy(exe: str, pid: int, seconds: float, out: Path) -> subprocess.Popen:
    """py-spy record, raw (collapsed stacks) of the threads doing something (idle ones left out)."""
    return subprocess.Popen([exe, "record", "-p", str(pid), "-d", str(max(1, int(seconds))), "-r", "100",
                             "--nonblocking", "-f", "raw", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


_KINDS = (("SQLite (sqlite3 calls)", ("execute (sqlite3", "commit (sqlite3", "sqlite3/")),
          ("SQLAlchemy", ("sqlalchemy/",)),
          ("lxml/parsers", ("lxml", "scrapers/discuz", "scrapers/lxmlutil", "scrapers/timeparse",
                            "scrapers/charset", "charset_normalizer")),
          ("HTTP (httpx/httpcore)", ("httpx/", "httpcore/", "h11/", "ssl.py", "socket.py")),
          ("rules check", ("monitor/check.py", "monitor/rules.py", "workdays")),
          ("logging", ("loguru/",)),
          ("APScheduler", ("apscheduler/",)))


def summarize_profile(path: Path, top: int = 12) -> list[str]:
    """Where the active samples of a raw py-spy profile are: by kind of work and by function (self)."""
    if not path.exists():
        return [f"  (no profile at {path})"]
    own: Counter = Counter()
    kinds: Counter = Counter()
    total = 0
    for line in path.read_text("utf-8", "replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf = frames[-1]
        own[re.sub(r":\d+\)$", ")", leaf)] += n
        text = ";".join(frames[-6:])  # the innermost frames decide the kind
        for kind, marks in _KINDS:
            if any(m in text for m in marks):
                kinds[kind] += n
                break
        else:
            kinds["other"] += n
    if not total:
        return ["  (no samples)"]
    out = [f"  {total} active samples; by kind of work (innermost frames):"]
    out += [f"    {k:<28} {100 * v / total:5.1f} %" for k, v in kinds.most_common()]
    out.append("  top functions by own samples:")
    out += [f"    {100 * v / total:5.1f} %  {k[:150]}" for k, v in own.most_common(top)]
    return out


def _utc(text: str | None) -> float | None:
    if text is None:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forums", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=4, help="how long the daemon runs before SIGTERM")
    ap.add_argument("--rate-limit", type=float, default=2, help="rate_limit of every forum (requests/s)")
    ap.add_argument("--interval", type=float, default=1, help="poll_interval_minutes of every forum")
    ap.add_argument("--parallel", type=int, default=16, help="max_parallel_polls")
    ap.add_argument("--servers", type=int, default=4, help="child processes serving the forums")
    ap.add_argument("--threads", type=int, default=5, help="threads per forum")
    ap.add_argument("--posts", type=int, default=3, help="posts per thread")
    ap.add_argument("--py-spy", metavar="PATH", help="py-spy binary: profile the daemon in the cold start and "
                    "in the steady state (raw samples, summarized here)")
    ap.add_argument("--spy-steady-after", type=float, default=100,
                    help="seconds after launch when the steady-state profile starts")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (config, database, daemon log)")
    args = ap.parse_args()
    s = socket.socket()
    try:
        s.bind((address(args.forums - 1), 0))
    finally:
        s.close()
    interval_s = args.interval * 60
    slack = 3.0  # seconds a scheduled poll may start late (the daemon's phases carry no jitter)
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="spokeswatch-capacity-"))
    print(f"{args.forums} forums × {args.threads} threads × {args.posts} posts, rate_limit {args.rate_limit:g}/s, "
          f"poll every {args.interval:g} min, max_parallel_polls {args.parallel}; daemon runs {args.minutes:g} min; "
          f"temp dir {tmp}", flush=True)

    chunks = [list(range(args.forums))[k::args.servers] for k in range(args.servers)]
    servers = []
    for chunk in chunks:
        parent, child = mp.Pipe()
        proc = mp.Process(target=_serve, args=(child, chunk, args.threads, args.posts), daemon=True)
        proc.start()
        servers.append((parent, proc))
    urls: dict[int, str] = {}
    for parent, _ in servers:
        urls.update(parent.recv())
    config = tmp / "config.yaml"
    write_config(config, tmp, urls, args)
    log_path = tmp / "daemon.log"
    exe = ROOT / ".venv" / "bin" / "spokeswatch"
    cmd = [str(exe), "-v", "run", "-c", str(config)] if exe.exists() else \
        [sys.executable, "-m", "monitor", "-v", "run", "-c", str(config)]

    spy = []
    with open(log_path, "w") as log:
        t_launch = time.time()
        daemon = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
        deadline = t_launch + args.minutes * 60
        steady_at = t_launch + args.spy_steady_after
        if args.py_spy:  # the cold start: the first 40 s after the imports
            time.sleep(5)
            spy.append(_spy(args.py_spy, daemon.pid, 40, tmp / "profile-cold.txt"))
        while time.time() < deadline and daemon.poll() is None:
            if args.py_spy and len(spy) == 1 and time.time() >= steady_at:
                spy.append(_spy(args.py_spy, daemon.pid, min(120, deadline - time.time() - 2),
                                tmp / "profile-steady.txt"))
            time.sleep(min(1.0, max(0.0, deadline - time.time())))
        cpu = _cpu_seconds(daemon.pid)
        t_term = time.time()
        daemon.send_signal(signal.SIGTERM)
        try:
            code = daemon.wait(timeout=180)
        except subprocess.TimeoutExpired:
            daemon.kill()
            code = "killed after 180 s"
        exit_s = time.time() - t_term
    for p in spy:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    requests: dict[int, list[float]] = {}
    for parent, proc in servers:
        parent.send("stop")
        got = parent.recv()
        requests.update({i: [t for t, _ in reqs] for i, reqs in got.items()})
        proc.join(10)
    load_after = os.getloadavg()

    # ---- what the daemon recorded ----
    db = sqlite3.connect(tmp / "capacity.sqlite3")
    runs = defaultdict(list)
    statuses = Counter()
    for forum_id, started, finished, status, n, duration in db.execute(
            "select forum_id, started_at, finished_at, status, requests, duration_s from poll_runs order by id"):
        runs[forum_id].append((_utc(started), _utc(finished), status, n or 0, duration))
        statuses[status] += 1
    cases = dict(db.execute("select state, count(*) from response_cases group by state").fetchall())
    db.close()
    log_text = log_path.read_text("utf-8", "replace")
    checks = log_text.count("rules check started")
    lock_errors = log_text.count("database is locked")

    ids = [f"f{i:03d}" for i in range(args.forums)]
    never = [f for f in ids if not runs[f]]
    first_done = {f: runs[f][0][1] for f in ids if runs[f] and runs[f][0][1] is not None}
    all_requests = sorted(t for reqs in requests.values() for t in reqs)
    total_limit = args.rate_limit * args.forums if args.rate_limit > 0 else math.inf
    pool_limit = min(total_limit, args.rate_limit * args.parallel) if args.rate_limit > 0 else math.inf
    rows: list[tuple[str, str, str, str]] = []

    # cold start
    cold_end = max(first_done.values()) if len(first_done) == len(ids) else None
    if cold_end is not None and all_requests:
        cold_reqs = [t for t in all_requests if t <= cold_end]
        cold_span = cold_end - cold_reqs[0]
        cold_rate = len(cold_reqs) / cold_span
        rows.append(("cold start: every forum's first poll done", f"{cold_end - t_launch:.0f} s after launch "
                     f"({len(cold_reqs)} requests in {cold_span:.0f} s)", "record", "-"))
        rows.append((f"cold start: requests/s ÷ sum of rate limits ({total_limit:g}/s)",
                     f"{cold_rate / total_limit:.2f} ({cold_rate:.1f}/s)", "≥ 0.9",
                     "yes" if cold_rate >= 0.9 * total_limit else "NO"))
        rows.append((f"cold start: requests/s ÷ max_parallel_polls × rate_limit ({pool_limit:g}/s)",
                     f"{cold_rate / pool_limit:.2f} ({cold_rate:.1f}/s)", "≥ 0.9",
                     "yes" if cold_rate >= 0.9 * pool_limit else "NO"))
    else:
        rows.append(("cold start: every forum's first poll done", f"NOT within the run: {len(never)} forums never "
                     f"polled, {len(ids) - len(first_done) - len(never)} first polls unfinished", "record", "NO"))

    # steady state: from the end of the cold start to the stop. Each forum is due once per interval
    # from its own first poll on; the first polls are spread over the cold start, so over this
    # window a forum's due polls average span ÷ interval whatever its phase (the spread is shown).
    first_start = [runs[f][0][0] for f in ids if runs[f]]
    if cold_end is not None and t_term - cold_end >= interval_s:
        lo, hi = cold_end, t_term
        span = hi - lo
        steady = [t for t in all_requests if lo < t <= hi]
        rate = len(steady) / span
        needed = args.forums / interval_s  # one list page per forum per interval
        ceiling = min(total_limit, needed)
        rows.append((f"steady ({span:.0f} s): requests/s ÷ min(sum of rate limits {total_limit:g}/s, "
                     f"needed {needed:.2f}/s)",
                     f"{rate / ceiling:.2f} ({len(steady)} requests = {rate:.2f}/s)", "≥ 0.9",
                     "yes" if rate >= 0.9 * ceiling else "NO"))
        steady_polls = sum(1 for f in ids for r in runs[f] if r[0] is not None and lo < r[0] <= hi)
        due = args.forums * span / interval_s
        rows.append((f"steady: polls started ÷ polls due (first polls spread over "
                     f"{max(first_start) - min(first_start):.0f} s)",
                     f"{steady_polls / due:.2f} ({steady_polls} / {due:.0f})",
                     "≥ 0.9", "yes" if steady_polls >= 0.9 * due else "NO"))
    else:
        rows.append(("steady state", "not reached: less than one interval between the cold start's end and the stop",
                     "≥ 0.9", "NO"))

    # gaps between consecutive poll starts
    gaps = {}
    for f in ids:
        starts = [r[0] for r in runs[f] if r[0] is not None]
        if cold_end is not None:
            starts.append(t_term)  # a forum not polled since its last start by the stop is late too
        gaps[f] = max((b - a for a, b in zip(starts, starts[1:])), default=math.inf)
    goal_gap = 1 + slack / interval_s
    worst = sorted(gaps.items(), key=lambda kv: -kv[1])[:5]
    late = sum(1 for g in gaps.values() if g / interval_s > goal_gap)
    rows.append(("largest gap between a forum's poll starts ÷ interval (all forums, stop time counted)",
                 f"{max(gaps.values()) / interval_s:.2f} (median forum {statistics.median(gaps.values()) / interval_s:.2f}"
                 f"; {late} forums over {goal_gap:.2f})", f"≤ {goal_gap:.2f}",
                 "yes" if max(gaps.values()) / interval_s <= goal_gap else "NO"))
    if first_start:
        rows.append(("first poll of the last forum started", f"{max(first_start) - t_launch:.0f} s after launch",
                     "record", "-"))
    rows.append(("daemon exit after SIGTERM", f"{exit_s:.1f} s (exit code {code})", "a few s",
                 "yes" if isinstance(code, int) and exit_s <= 10 else "NO"))
    if cpu is not None:
        rows.append(("daemon CPU time ÷ its run time (cores busy)", f"{cpu / (t_term - t_launch):.2f} "
                     f"({cpu:.0f} s CPU in {t_term - t_launch:.0f} s)", "record", "-"))
    rows.append(("poll runs by status", ", ".join(f"{k} {v}" for k, v in statuses.most_common()), "record", "-"))
    rows.append(("rules checks run / 'database is locked' in the log", f"{checks} / {lock_errors}", "record", "-"))
    rows.append(("response cases", ", ".join(f"{k} {v}" for k, v in sorted(cases.items())) or "none", "record", "-"))

    durations = [r[4] for f in ids for r in runs[f] if r[4] is not None]
    if durations:
        steady_d = [r[4] for f in ids for r in runs[f][1:] if r[4] is not None]
        print(f"poll durations: cold median {statistics.median([runs[f][0][4] for f in ids if runs[f] and runs[f][0][4]] or [0]):.2f} s; "
              f"steady median {statistics.median(steady_d or [0]):.3f} s, max {max(steady_d or [0]):.3f} s")
    print("worst forums (largest gap between poll starts, s; their poll starts relative to launch):")
    for f, g in worst:
        starts = " ".join(f"{r[0] - t_launch:.0f}" for r in runs[f] if r[0] is not None)
        print(f"  {f} {urls[int(f[1:])]:<26} gap {g:6.1f} s  starts: {starts}")
    width = max(len(r[0]) for r in rows)
    mwidth = max(len(r[1]) for r in rows)
    print(f"\n{'figure':<{width}} | {'measured':<{mwidth}} | goal   | met")
    print(f"{'-' * width}-|-{'-' * mwidth}-|--------|----")
    for figure, measured, goal, met in rows:
        print(f"{figure:<{width}} | {measured:<{mwidth}} | {goal:<6} | {met}")
    if args.py_spy:
        for phase in ("cold", "steady"):
            print(f"\npy-spy, {phase}:")
            print("\n".join(summarize_profile(tmp / f"profile-{phase}.txt")))
    print(f"(load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, on {os.cpu_count()} CPUs; "
          f"daemon log: {log_path if args.keep or args.py_spy else 'removed'})")
    if not (args.keep or args.py_spy):
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
