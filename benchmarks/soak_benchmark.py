"""Soak benchmark: the daemon's resident memory and CPU per poll cycle over simulated days of polling.

Run by hand (not a test):

    .venv/bin/python benchmarks/soak_benchmark.py [--days 5] [--cycle-minutes 10] [--poll-seconds 0.9]
        [--start 2011-02-14T00:00+08:00] [--idle-cycles 12] [--rest-seconds 60]
        [--database postgresql://postgres@127.0.0.1:5432/test] [--keep]

    .venv/bin/python benchmarks/soak_benchmark.py --days 1      # a quick run, about 4 minutes
    .venv/bin/python benchmarks/soak_benchmark.py --days 7      # a whole week, about 18 minutes

The daemon claims due polls once a second, so a cycle takes a second of real time at best: the
default, a working week (5 days of 10-minute cycles = 720 cycles), takes about 14 minutes.

The bundled demo forum (the 2011Q1 scenario) is served from a child process with a clock this
benchmark moves (its CPU is not the daemon's). A config.yaml made from the repository's sample
(the demo forum at that server, ``rate_limit: 0``, a poll every ``--poll-seconds`` of real time,
which under a second means at every dispatcher tick; the rules check every cycle too; the recheck
of open cases every 6th cycle, 60 simulated minutes as in the sample; health on a free port;
state, reports and a SQLite database in a temp dir; the digest set 12 hours away) is run as a
user runs it: ``.venv/bin/spokeswatch run -c config.yaml``, a subprocess. Each cycle moves the
forum's clock on by ``--cycle-minutes`` (the simulated poll interval), waits until the daemon has
finished a poll started after the move (``poll_runs``, read from its database) and the rules
check that poll asked for, then reads the daemon's RSS (``VmRSS``), CPU time (utime + stime),
threads and open files from ``/proc/PID``. The default start, Monday 2011-02-14, finds 56 threads
(206 posts) on the forum (the cold start, before the first cycle: every thread read once) and
brings 2–14 new posts a day; ``--days 16`` runs into the burst of 2011-03-01 (99 posts).

The baseline runs in the same run, on the same data: a second copy of the forum and clock, its
own database, and a plain loop in a child process of its own doing ``Service(config).poll()``
then ``.check()`` per cycle (what ``spokeswatch poll`` does, without the daemon's scheduler,
dispatcher, check thread, heartbeat and health server), measured the same way
(``time.process_time``, ``/proc/self/status``). Both clocks move together; the plain cycle runs
while the daemon waits for its next dispatcher tick, and both sides run on real time, so their
rechecks fall on the same cycles.

Prints a table per simulated day and these figures:
  * daemon CPU per cycle ÷ the plain loop's (the daemon's own cost: dispatcher ticks every
    second, claims, outcomes, node beats, heartbeat, the config-file watch, its periodic checks);
  * slowdown: daemon CPU per cycle on the last simulated day ÷ on the first (the cold start and
    the first simulated hour left out; 6-hour windows when the run is shorter than 2 days),
    goal ≤ 1.2, and that ÷ the plain loop's same ratio (the data's growth and the machine's load
    slow both sides alike: on a shared machine CPU time per cycle moves with the load too);
  * leak: RSS growth per simulated day after the first day (least squares over every cycle
    after it), goal near 0 (≤ 1 MB/day), and RSS at the end ÷ RSS after the first day; the
    same for the plain loop; the daemon's threads and open files, then and at the end;
  * cycles per second (the daemon's is bounded by its dispatcher: one a second), and the idle
    cost: ``--idle-cycles`` polls at the end with the clock standing still (nothing new);
  * the daemon at rest: config.yaml edited back to the sample's intervals (a poll every 10
    minutes, the check every 5), which the daemon reloads by itself, then its CPU per second
    over ``--rest-seconds`` with nothing due: the fixed cost of a daemon between polls;
  * that both sides did the same work (requests, threads, posts, cases), the daemon's polls and
    checks per cycle, its cold start, its /metrics poll count against ``poll_runs``, errors in
    its log, and its exit time after SIGTERM.

What it leaves out: network latency and slow forums (loopback, rate limit 0); PostgreSQL unless
``--database`` (then two databases of its own are created on that server and dropped at the
end); the nightly digest (set 12 hours away); presence checks after the cold start and whatever
else runs on the daemon's clock, which is real time (a few minutes pass while the forum's clock
moves days); edits and deletions (the scenario has few); Prometheus scrapes (/metrics is read
once, at the end); many forums at once (capacity_benchmark.py covers that). The cold poll's
threads, read over more than one real second, fall into recheck groups a cycle or two apart, on
both sides alike. RSS and CPU come from /proc: Linux only.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OFFICE = ZoneInfo("Asia/Shanghai")
SIDES = ("daemon", "plain")
MB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL_WAIT_SECONDS = 120  # a cycle's poll not finished by then: the run fails
CHECK_WAIT_SECONDS = 5  # the check a storing poll asked for, at most this long
DISPATCH_TICK = 1.0  # monitor.daemon.DISPATCH_SECONDS: due polls are claimed once a second


# ---- the forum, in a child process -----------------------------------------------------------------

def _serve_forums(conn, start_iso: str) -> None:
    """Two copies of the demo forum (daemon's, plain loop's), each with its own clock; commands
    from the pipe: ("set", side, iso) moves a clock, ("requests",) counts requests, ("stop",)."""
    from loguru import logger
    logger.remove()
    from monitor.demoforum.scenario import load_scenario
    from monitor.demoforum.server import DemoClock, DemoForum
    start = datetime.fromisoformat(start_iso)
    forums = {side: DemoForum(load_scenario(), clock=DemoClock(start)).start() for side in SIDES}
    conn.send({side: f.base_url for side, f in forums.items()})
    while True:
        msg = conn.recv()
        if msg[0] == "set":
            forums[msg[1]].clock.set(datetime.fromisoformat(msg[2]))
            conn.send(None)
        elif msg[0] == "requests":
            conn.send({side: len(f.requests) for side, f in forums.items()})
        else:
            for f in forums.values():
                f.stop()
            conn.send(None)
            return


# ---- the plain loop, in a child process --------------------------------------------------------

def _self_status() -> tuple[int, int, int]:
    """(VmRSS bytes, threads, open files) of this process."""
    text = Path("/proc/self/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) * 1024
    threads = int(re.search(r"Threads:\s+(\d+)", text).group(1))
    return rss, threads, len(os.listdir("/proc/self/fd"))


def _plain_loop(conn, config_path: str, log_path: str) -> None:
    """Service(config).poll() then .check() per ("cycle",) message; replies with what it cost."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)  # its log, like the daemon's stderr, goes to a file
    t0 = time.process_time()
    from monitor.config import load_config
    from monitor.logs import setup_from_config
    from monitor.service import Service
    cfg = load_config(config_path)
    setup_from_config(cfg, False)
    svc = Service(cfg)
    conn.send(("ready", time.process_time() - t0, *_self_status()))
    while True:
        msg = conn.recv()
        if msg[0] != "cycle":
            svc.close()
            conn.send(None)
            return
        c0, w0 = time.process_time(), time.perf_counter()
        results = svc.poll()
        svc.check()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        conn.send(("cycle", cpu, wall, *_self_status(), sum(r.requests for r in results),
                   sum(r.store.new for r in results), [r.status for r in results]))


# ---- the daemon, seen from outside -------------------------------------------------------------

@dataclass
class ProcSample:
    cpu: float  # utime + stime, seconds
    rss: int  # bytes
    threads: int
    fds: int


def proc_sample(pid: int) -> ProcSample:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    status = Path(f"/proc/{pid}/status").read_text()
    return ProcSample((int(stat[11]) + int(stat[12])) / CLK_TCK,
                      int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) * 1024,
                      int(re.search(r"Threads:\s+(\d+)", status).group(1)),
                      len(os.listdir(f"/proc/{pid}/fd")))


class Runs:
    """The daemon's poll_runs and check_state, read from its database (costs the daemon nothing)."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine

        from models.db import normalise_url
        self.engine = create_engine(normalise_url(url))
        self.last_id = 0

    def new_finished(self) -> list:
        """Finished runs after ``last_id`` (in order, up to the first unfinished one)."""
        from sqlalchemy import select

        from models.tables import PollRun
        with self.engine.connect() as c:
            rows = c.execute(select(PollRun.id, PollRun.started_at, PollRun.finished_at, PollRun.status,
                                    PollRun.requests, PollRun.posts_new, PollRun.posts_changed,
                                    PollRun.posts_deleted, PollRun.duration_s)
                             .where(PollRun.id > self.last_id).order_by(PollRun.id)).all()
        done = []
        for r in rows:
            if r.finished_at is None:
                break
            done.append(r)
        return done

    def checked_now(self) -> datetime | None:
        from sqlalchemy import select

        from models.tables import CheckState
        with self.engine.connect() as c:
            return c.execute(select(CheckState.checked_now)).scalar()

    def close(self) -> None:
        self.engine.dispose()


def counts(url: str) -> dict[str, object]:
    """What a database holds, to tell that both sides did the same work."""
    from sqlalchemy import create_engine, func, select

    from models.db import normalise_url
    from models.tables import PollRun, PostRecord, ResponseCase, ThreadRecord
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as c:
            return {"threads": c.execute(select(func.count()).select_from(ThreadRecord)).scalar(),
                    "posts": c.execute(select(func.count()).select_from(PostRecord)).scalar(),
                    "cases": dict(c.execute(select(ResponseCase.state, func.count())
                                            .group_by(ResponseCase.state)).all()),
                    "runs": dict(c.execute(select(PollRun.status, func.count()).group_by(PollRun.status)).all())}
    finally:
        engine.dispose()


# ---- config and databases ----------------------------------------------------------------------

def cycle_seconds(args) -> float:
    """A cycle's real length: the poll interval, but at least one dispatcher tick (a second)."""
    return max(DISPATCH_TICK, args.poll_seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, tmp: Path, side: str, base_url: str, database: str, args) -> None:
    """The repository's sample config.yaml, pointed at one forum copy and one database."""
    from ruamel.yaml import YAML
    raw = YAML(typ="safe").load((ROOT / "config.yaml").read_text("utf-8"))
    cycle = cycle_seconds(args)  # one cycle (a simulated poll interval), in real seconds
    forum = raw["forums"][0]
    # the recheck of open cases every recheck_interval_minutes of simulated time (60 in the sample: every 6th
    # cycle), counted in cycles of real time; half a second early, so that it falls on that cycle's poll
    recheck_cycles = max(1, round(forum.get("recheck_interval_minutes", 60) / args.cycle_minutes))
    forum.update(base_url=base_url, rate_limit=0, poll_interval_minutes=args.poll_seconds / 60,
                 recheck_interval_minutes=(recheck_cycles * cycle - 0.5) / 60)
    raw["forums"] = [forum]
    raw["database"] = database
    raw["check_interval_minutes"] = cycle / 60  # a periodic check every poll interval
    raw["state_dir"] = str(tmp / f"state-{side}")
    raw["digest"]["out_dir"] = str(tmp / f"reports-{side}")
    raw["digest"]["time"] = (datetime.now(OFFICE) + timedelta(hours=12)).strftime("%H:%M")  # not during the run
    raw["health"] = {"listen": f"127.0.0.1:{free_port()}"}
    yaml = YAML()
    yaml.allow_unicode = True
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(raw, fh)


class Databases:
    """Two SQLite files in the temp dir, or two databases of our own on a PostgreSQL server."""

    def __init__(self, server: str | None, tmp: Path):
        self.created: list[str] = []
        if server is None:
            self.urls = {side: f"sqlite:///{tmp / f'{side}.sqlite3'}" for side in SIDES}
            self.kind = "SQLite"
            return
        from sqlalchemy import create_engine, make_url, text

        from models.db import normalise_url
        self.kind = "PostgreSQL"
        self.server = make_url(normalise_url(server))
        self.urls = {}
        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            for side in SIDES:
                name = f"spokeswatch_soak_{os.getpid()}_{side}"
                c.execute(text(f'CREATE DATABASE "{name}"'))
                self.created.append(name)
                self.urls[side] = self.server.set(database=name).render_as_string(hide_password=False)
        admin.dispose()

    def drop(self) -> None:
        if not self.created:
            return
        from sqlalchemy import create_engine, text
        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            for name in self.created:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---- the run ------------------------------------------------------------------------------------

@dataclass
class Cycle:
    n: int  # 1, 2, …; 0 is the cold start
    sim: datetime  # the forum's clock during the cycle
    idle: bool
    wall: float  # seconds from the clock's move to the daemon's sample
    d: ProcSample
    d_cpu: float  # daemon CPU in this cycle
    d_polls: int  # polls the daemon finished in this cycle
    d_requests: int
    d_new: int
    d_poll_s: float  # its own duration_s of the cycle's poll
    p_cpu: float
    p_wall: float
    p_rss: int
    p_requests: int
    p_new: int


@dataclass
class Run:
    cycles: list[Cycle] = field(default_factory=list)
    cold: dict = field(default_factory=dict)


class Failed(Exception):
    pass


def wait_for_poll(daemon: subprocess.Popen, runs: Runs, after: datetime, need_check: bool = True):
    """Wait until the daemon finished a poll started at or after ``after`` and (if it stored
    something) the check it asked for; return (that poll, every run finished meanwhile)."""
    finished = []
    end = time.monotonic() + POLL_WAIT_SECONDS
    target = None
    while target is None:
        if daemon.poll() is not None:
            raise Failed(f"the daemon exited ({daemon.returncode})")
        if time.monotonic() > end:
            raise Failed(f"no poll started after {after.isoformat()} finished within {POLL_WAIT_SECONDS} s")
        for r in runs.new_finished():
            runs.last_id = r.id
            finished.append(r)
            if r.started_at >= after:
                target = r
                break
        else:
            time.sleep(0.01)
    if need_check and (target.posts_new or target.posts_changed or target.posts_deleted):
        end = time.monotonic() + CHECK_WAIT_SECONDS
        while time.monotonic() < end:
            now = runs.checked_now()
            if now is not None and now >= target.finished_at:
                break
            time.sleep(0.01)
    return target, finished


def soak(args, tmp: Path, dbs: Databases, forum_conn, urls: dict[str, str]) -> tuple[Run, dict]:
    configs = {}
    for side in SIDES:
        configs[side] = tmp / f"config-{side}.yaml"
        write_config(configs[side], tmp, side, urls[side], dbs.urls[side], args)
    info: dict = {"configs": configs}

    # the plain loop: a child process of its own (spawn: a fresh interpreter, like the daemon's)
    ctx = mp.get_context("spawn")
    plain_conn, child = ctx.Pipe()
    plain = ctx.Process(target=_plain_loop, args=(child, str(configs["plain"]), str(tmp / "plain.log")))
    plain.start()

    exe = ROOT / ".venv" / "bin" / "spokeswatch"
    cmd = [str(exe), "run", "-c", str(configs["daemon"])] if exe.exists() else \
        [sys.executable, "-m", "monitor", "run", "-c", str(configs["daemon"])]
    info["daemon_cmd"] = shlex.join(cmd)
    log = open(tmp / "daemon.log", "w")  # noqa: SIM115 - closed in the finally below
    t_launch = time.monotonic()
    launched_at = datetime.now(timezone.utc)
    daemon = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    info["daemon"] = daemon
    runs = Runs(dbs.urls["daemon"])
    run = Run()
    try:
        # the cold start: the daemon's first poll and check; the plain loop's first cycle
        msg = plain_conn.recv()
        run.cold["p_start_cpu"], run.cold["p_start_rss"] = msg[1], msg[2]
        plain_conn.send(("cycle",))
        msg = plain_conn.recv()
        run.cold.update(p_cpu=msg[1], p_wall=msg[2], p_rss=msg[3], p_requests=msg[6], p_new=msg[7])
        first, _ = _wait_for_first(daemon, runs, launched_at)
        d = proc_sample(daemon.pid)
        run.cold.update(d_cpu=d.cpu, d_rss=d.rss, d_after_s=time.monotonic() - t_launch, d_requests=first.requests,
                        d_new=first.posts_new, d_poll_s=first.duration_s, d_sample=d)
        if args.progress:
            print(f"cold start: daemon {d.cpu:.2f} s CPU, {d.rss / MB:.0f} MB, first poll done "
                  f"{run.cold['d_after_s']:.1f} s after launch ({first.requests} requests, {first.posts_new} posts)",
                  flush=True)
        prev = d
        start = datetime.fromisoformat(args.start)
        step = timedelta(minutes=args.cycle_minutes)
        n_busy = round(args.days * 24 * 60 / args.cycle_minutes)
        for n in range(1, n_busy + args.idle_cycles + 1):
            idle = n > n_busy
            sim = start + step * min(n, n_busy)
            t0 = time.monotonic()
            moved_at = datetime.now(timezone.utc)
            if not idle:
                for side in SIDES:
                    forum_conn.send(("set", side, sim.isoformat()))
                    forum_conn.recv()
            plain_conn.send(("cycle",))
            msg = plain_conn.recv()
            target, finished = wait_for_poll(daemon, runs, moved_at)
            d = proc_sample(daemon.pid)
            c = Cycle(n, sim, idle, time.monotonic() - t0, d, d.cpu - prev.cpu, len(finished),
                      sum(r.requests for r in finished), sum(r.posts_new for r in finished), target.duration_s or 0.0,
                      msg[1], msg[2], msg[3], msg[6], msg[7])
            run.cycles.append(c)
            prev = d
            if args.progress and (n % max(1, round(24 * 60 / args.cycle_minutes / 4)) == 0 or n == n_busy):
                day = (sim - start) / timedelta(days=1)
                print(f"  cycle {n:5d} (day {day:5.2f}{', idle' if idle else ''}): daemon {d.cpu:7.2f} s CPU, "
                      f"{d.rss / MB:6.1f} MB, {d.threads} threads, {d.fds} files; plain {c.p_rss / MB:6.1f} MB",
                      flush=True)
        if args.rest_seconds > 0:
            info["rest"] = rest(args, daemon, runs, configs["daemon"], tmp / "daemon.log")
        info["end_wall"] = time.monotonic() - t_launch
    finally:
        # SIGTERM, and how long the daemon takes to go
        info["metrics"] = _scrape_metrics(configs["daemon"]) if daemon.poll() is None else None
        t_term = time.monotonic()
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
        try:
            info["exit_code"] = daemon.wait(timeout=120)
        except subprocess.TimeoutExpired:
            daemon.kill()
            info["exit_code"] = "killed after 120 s"
            daemon.wait()
        info["exit_s"] = time.monotonic() - t_term
        log.close()
        runs.close()
        if plain.is_alive():
            plain_conn.send(("stop",))
            if plain_conn.poll(30):
                plain_conn.recv()
        plain.join(30)
        if plain.is_alive():
            plain.kill()
    return run, info


def rest(args, daemon: subprocess.Popen, runs: Runs, config: Path, log: Path) -> dict:
    """The daemon at rest: config.yaml edited back to the sample's intervals (a poll every
    ``--cycle-minutes`` of real time, the check every 5 minutes), which the daemon reloads by
    itself; then its CPU over ``--rest-seconds`` with no poll due."""
    from ruamel.yaml import YAML
    yaml = YAML()
    yaml.allow_unicode = True
    raw = yaml.load(config.read_text("utf-8"))
    sample = YAML(typ="safe").load((ROOT / "config.yaml").read_text("utf-8"))
    raw["forums"][0]["poll_interval_minutes"] = args.cycle_minutes
    raw["forums"][0]["recheck_interval_minutes"] = sample["forums"][0].get("recheck_interval_minutes", 60)
    raw["check_interval_minutes"] = sample.get("check_interval_minutes", 5)
    mark = len(log.read_text("utf-8", "replace"))
    tmp = config.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        yaml.dump(raw, fh)
    tmp.replace(config)  # whole, at once: the daemon's file watch never reads half of it
    end = time.monotonic() + 30
    while "config reloaded" not in log.read_text("utf-8", "replace")[mark:]:
        if time.monotonic() > end or daemon.poll() is not None:
            raise Failed("the daemon did not reload its config within 30 s")
        time.sleep(0.1)
    time.sleep(3)  # a poll or check in progress, and the check the reload may bring, are done
    done = runs.new_finished()
    before_runs = runs.last_id = done[-1].id if done else runs.last_id
    s0, t0 = proc_sample(daemon.pid), time.monotonic()
    time.sleep(args.rest_seconds)
    s1, t1 = proc_sample(daemon.pid), time.monotonic()
    polls = [r for r in runs.new_finished() if r.id > before_runs]
    return {"cpu_per_s": (s1.cpu - s0.cpu) / (t1 - t0), "seconds": t1 - t0, "polls": len(polls), "rss": s1.rss}


def _wait_for_first(daemon, runs: Runs, launched_at: datetime):
    return wait_for_poll(daemon, runs, launched_at - timedelta(seconds=1))


def _scrape_metrics(config: Path) -> dict | None:
    """spokeswatch_polls_total by outcome, from the daemon's /metrics (read once, at the end)."""
    listen = re.search(r"listen:\s*(\S+)", config.read_text("utf-8")).group(1)
    try:
        body = urllib.request.urlopen(f"http://{listen}/metrics", timeout=10).read().decode()
    except OSError as exc:
        return {"error": str(exc)}
    polls: dict[str, float] = {}
    for m in re.finditer(r'^spokeswatch_polls_total\{([^}]*)\}\s+(\S+)$', body, re.MULTILINE):
        outcome = re.search(r'outcome="([^"]*)"', m.group(1)).group(1)
        polls[outcome] = polls.get(outcome, 0) + float(m.group(2))
    return polls


# ---- the report ---------------------------------------------------------------------------------

def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y on x."""
    if len(points) < 2:
        return float("nan")
    mx, my = mean(p[0] for p in points), mean(p[1] for p in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float("nan")


def report(args, run: Run, info: dict, tmp: Path, dbs: Databases, forum_conn, load_before) -> None:
    start = datetime.fromisoformat(args.start)
    busy = [c for c in run.cycles if not c.idle]
    idle = [c for c in run.cycles if c.idle]
    day_of = {id(c): int(((c.sim - start) - timedelta(seconds=1)) / timedelta(days=1)) for c in busy}
    days = max(day_of.values()) + 1 if busy else 0
    window = timedelta(days=1) if args.days >= 2 else timedelta(days=args.days / 4)
    warm = timedelta(hours=1)  # the first simulated hour, after the cold start, is left out
    first = [c for c in busy if start + warm < c.sim <= start + window]
    end = busy[-1].sim if busy else start
    last = [c for c in busy if c.sim > end - window]
    after_first = [c for c in busy if c.sim >= start + window]
    wname = "day" if window == timedelta(days=1) else f"{window / timedelta(hours=1):g} h"

    # per simulated day
    print(f"\n{'day':<10} {'cycles':>6} {'polls':>5} {'new posts':>9} {'daemon CPU ms/cycle':>19} "
          f"{'plain CPU ms/cycle':>18} {'ratio':>5} {'daemon RSS MB':>13} {'plain RSS MB':>12} {'poll s':>6}")
    for d in range(days):
        cs = [c for c in busy if day_of[id(c)] == d]
        if not cs:
            continue
        dc, pc = mean(c.d_cpu for c in cs), mean(c.p_cpu for c in cs)
        label = (start + timedelta(days=d)).strftime("%m-%d %a")
        print(f"{label:<10} {len(cs):>6} {sum(c.d_polls for c in cs):>5} {sum(c.d_new for c in cs):>9} "
              f"{1000 * dc:>19.1f} {1000 * pc:>18.1f} {dc / pc:>5.2f} {cs[-1].d.rss / MB:>13.1f} "
              f"{cs[-1].p_rss / MB:>12.1f} {mean(c.d_poll_s for c in cs):>6.3f}")
    if idle:
        dc, pc = mean(c.d_cpu for c in idle), mean(c.p_cpu for c in idle)
        print(f"{'idle':<10} {len(idle):>6} {sum(c.d_polls for c in idle):>5} {sum(c.d_new for c in idle):>9} "
              f"{1000 * dc:>19.1f} {1000 * pc:>18.1f} {dc / pc:>5.2f} {idle[-1].d.rss / MB:>13.1f} "
              f"{idle[-1].p_rss / MB:>12.1f} {mean(c.d_poll_s for c in idle):>6.3f}")

    rows: list[tuple[str, str, str, str]] = []

    def row(figure, measured, goal="—", met=None):
        rows.append((figure, measured, goal, "-" if met is None else ("yes" if met else "NO")))

    cold = run.cold
    row("cold start (first poll, before the clock moves): daemon CPU / RSS",
        f"{cold['d_cpu']:.2f} s / {cold['d_rss'] / MB:.0f} MB (first poll done {cold['d_after_s']:.1f} s after "
        f"launch, {cold['d_requests']} requests, {cold['d_new']} posts)")
    row("cold start: plain loop CPU (imports + Service, then its first poll + check) / RSS",
        f"{cold['p_start_cpu']:.2f} + {cold['p_cpu']:.2f} s / {cold['p_rss'] / MB:.0f} MB "
        f"({cold['p_requests']} requests, {cold['p_new']} posts)")
    if busy:
        dc, pc = mean(c.d_cpu for c in busy), mean(c.p_cpu for c in busy)
        row(f"daemon CPU per cycle ÷ plain loop's ({len(busy)} cycles)",
            f"{dc / pc:.2f} ({1000 * dc:.1f} vs {1000 * pc:.1f} ms)")
    if first and last:
        d1, dl = mean(c.d_cpu for c in first), mean(c.d_cpu for c in last)
        p1, pl = mean(c.p_cpu for c in first), mean(c.p_cpu for c in last)
        row(f"slowdown: daemon CPU per cycle, last {wname} ÷ first {wname} (first simulated hour left out)",
            f"{dl / d1:.2f} ({1000 * dl:.1f} vs {1000 * d1:.1f} ms; plain loop {pl / p1:.2f}: "
            f"{1000 * pl:.1f} vs {1000 * p1:.1f} ms)", "≤ 1.2", dl / d1 <= 1.2)
        row("… ÷ the plain loop's same ratio (what the daemon adds; the data's growth and the machine's load cancel)",
            f"{(dl / d1) / (pl / p1):.2f}", "≤ 1.2", (dl / d1) / (pl / p1) <= 1.2)
        pd1, pdl = mean(c.d_poll_s for c in first), mean(c.d_poll_s for c in last)
        row(f"the daemon's poll wall time (poll_runs.duration_s; noisy on a shared machine), last {wname} ÷ first {wname}",
            f"{pdl / pd1:.2f} ({1000 * pdl:.0f} vs {1000 * pd1:.0f} ms)")
    if after_first:
        base_d, base_p = after_first[0].d.rss, after_first[0].p_rss
        per_day = timedelta(days=1)
        d_slope = slope([((c.sim - start) / per_day, c.d.rss / MB) for c in after_first])
        p_slope = slope([((c.sim - start) / per_day, c.p_rss / MB) for c in after_first])
        end_d = busy[-1].d.rss
        row(f"leak: daemon RSS growth per simulated day after the first {wname} (least squares)",
            f"{d_slope:+.2f} MB/day (plain loop {p_slope:+.2f} MB/day)", "≤ 1 MB/day", abs(d_slope) <= 1.0)
        row(f"daemon RSS at the end ÷ after the first {wname}",
            f"{end_d / base_d:.3f} ({end_d / MB:.1f} vs {base_d / MB:.1f} MB; plain loop "
            f"{busy[-1].p_rss / base_p:.3f}: {busy[-1].p_rss / MB:.1f} vs {base_p / MB:.1f} MB)", "≈ 1")
        peak = max(run.cycles, key=lambda c: c.d.rss)
        row("daemon peak RSS (sampled after each cycle)", f"{peak.d.rss / MB:.1f} MB at cycle {peak.n}")
        dfirst, dlast = after_first[0].d, run.cycles[-1].d
        row(f"daemon threads / open files: after the first {wname} → at the end",
            f"{dfirst.threads} → {dlast.threads} / {dfirst.fds} → {dlast.fds}", "no growth",
            dlast.threads <= dfirst.threads and dlast.fds <= dfirst.fds)
    if busy:
        wall = sum(c.wall for c in busy)
        row("cycles per second: daemon (bounded by its poll interval) / plain loop alone",
            f"{len(busy) / wall:.2f} / {len(busy) / sum(c.p_wall for c in busy):.1f} "
            f"(the plain loop's poll + check: {1000 * mean(c.p_wall for c in busy):.0f} ms wall)")
        extra = sum(c.d_polls for c in busy) - len(busy)
        row("daemon polls per cycle", f"{sum(c.d_polls for c in busy) / len(busy):.3f} ({extra} extra polls: "
            "started before the clock moved)")
    if idle:
        di, pi_ = mean(c.d_cpu for c in idle), mean(c.p_cpu for c in idle)
        dbz = mean(c.d_cpu for c in last) if busy and last else float("nan")
        row(f"idle cycle (clock still, {len(idle)} cycles): daemon CPU / plain loop CPU",
            f"{1000 * di:.1f} / {1000 * pi_:.1f} ms ({di / pi_:.2f}; daemon idle ÷ its busy cycles of the last "
            f"{wname}: {di / dbz:.2f})")

    rest_info = info.get("rest")
    if rest_info:
        per_interval = rest_info["cpu_per_s"] * args.cycle_minutes * 60
        busy_cpu = mean(c.d_cpu for c in busy) if busy else float("nan")
        row(f"daemon at rest (sample's intervals reloaded, {rest_info['seconds']:.0f} s, {rest_info['polls']} polls): "
            "CPU per second",
            f"{1000 * rest_info['cpu_per_s']:.1f} ms/s ({100 * rest_info['cpu_per_s']:.2f} % of a core): "
            f"{per_interval:.1f} s per {args.cycle_minutes:g}-minute poll interval = {per_interval / busy_cpu:.0f} × "
            f"a busy cycle's CPU")

    # same work on both sides
    forum_conn.send(("requests",))
    requests = forum_conn.recv()
    got = {side: counts(dbs.urls[side]) for side in SIDES}
    row("forum requests: daemon / plain loop", f"{requests['daemon']} / {requests['plain']}", "≈ equal",
        abs(requests["daemon"] - requests["plain"]) <= 0.03 * max(requests.values()) + 30)
    same = all(got["daemon"][k] == got["plain"][k] for k in ("threads", "posts", "cases"))
    row("threads / posts / cases by state: daemon's database = plain loop's",
        f"{got['daemon']['threads']} / {got['daemon']['posts']} / {got['daemon']['cases']}"
        + ("" if same else f" vs {got['plain']['threads']} / {got['plain']['posts']} / {got['plain']['cases']}"),
        "equal", same)
    log_text = (tmp / "daemon.log").read_text("utf-8", "replace")
    checks, plain_checks = log_text.count("checked:"), (tmp / "plain.log").read_text("utf-8", "replace").count("checked:")
    n_cycles = len(run.cycles) + 1
    row("rules checks per cycle: daemon (after storing polls + every poll interval) / plain loop",
        f"{checks / n_cycles:.2f} / {plain_checks / n_cycles:.2f} ({checks} / {plain_checks})")
    row("poll runs by status (daemon)", ", ".join(f"{k} {v}" for k, v in sorted(got["daemon"]["runs"].items())))
    metrics = info.get("metrics")
    if metrics is not None and "error" not in metrics:
        total = sum(metrics.values())
        in_db = sum(v for k, v in got["daemon"]["runs"].items() if k != "running")
        row("/metrics spokeswatch_polls_total ÷ finished poll_runs", f"{total / in_db:.3f} ({total:.0f} / {in_db})",
            "1.00", abs(total - in_db) <= 1)
    elif metrics is not None:
        row("/metrics", f"not read: {metrics['error']}")
    bad = [line for line in log_text.splitlines() if " ERROR " in line or "Traceback" in line]
    warnings = sum(" WARNING " in line for line in log_text.splitlines())
    row("daemon log: errors / warnings", f"{len(bad)} / {warnings}", "0 errors", not bad)
    row("daemon exit after SIGTERM", f"{info['exit_s']:.2f} s (exit code {info['exit_code']})", "a few s",
        isinstance(info["exit_code"], int) and info["exit_code"] == 0 and info["exit_s"] <= 10)

    width = max(len(r[0]) for r in rows)
    mwidth = min(100, max(len(r[1]) for r in rows))
    print(f"\n{'figure':<{width}} | {'measured':<{mwidth}} | {'goal':<11} | met")
    print(f"{'-' * width}-|-{'-' * mwidth}-|-{'-' * 11}-|----")
    for figure, measured, goal, met in rows:
        print(f"{figure:<{width}} | {measured:<{mwidth}} | {goal:<11} | {met}")
    if bad:
        print("\nfirst errors in the daemon's log:\n  " + "\n  ".join(bad[:5]))
    load_after = os.getloadavg()
    print(f"\n({dbs.kind}; {len(busy)} cycles of {args.cycle_minutes:g} simulated minutes from {args.start}, "
          f"a poll every {args.poll_seconds:g} s of real time; the run took {info.get('end_wall', 0) / 60:.1f} min; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, on {os.cpu_count()} CPUs)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=5, help="simulated days (default 5: a working week, 720 cycles "
                    "of 10 minutes, about 14 minutes; 7 days take about 18)")
    ap.add_argument("--cycle-minutes", type=float, default=10, help="simulated minutes per cycle (the simulated "
                    "poll interval)")
    ap.add_argument("--poll-seconds", type=float, default=0.9, help="the daemon's real poll interval "
                    "(poll_interval_minutes × 60). Its dispatcher claims due polls once a second, so anything "
                    "under 1 s polls at every tick; exactly 1 s polls every 1 or 2 ticks (the next poll is due "
                    "a second after the claim, a few ms after the tick)")
    ap.add_argument("--start", default="2011-02-14T00:00+08:00", help="the forum's clock at the start (the "
                    "scenario covers 2010-12-05 … 2011-03-31)")
    ap.add_argument("--idle-cycles", type=int, default=12, help="cycles at the end with the clock standing still")
    ap.add_argument("--rest-seconds", type=float, default=60, help="after the idle cycles, the daemon's CPU at "
                    "rest over this long, its config reloaded to the sample's intervals (0: skip)")
    ap.add_argument("--database", metavar="URL", help="a PostgreSQL server (e.g. postgresql://postgres@127.0.0.1:"
                    "5432/test): two databases of our own are created there and dropped at the end")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs, SQLite files)")
    ap.add_argument("--quiet", dest="progress", action="store_false", help="no progress lines")
    args = ap.parse_args()
    if args.days <= 0 or args.cycle_minutes <= 0 or args.poll_seconds <= 0:
        ap.error("--days, --cycle-minutes and --poll-seconds must be positive")
    if datetime.fromisoformat(args.start).tzinfo is None:
        ap.error("--start needs an offset, e.g. 2011-02-14T00:00+08:00")

    print("command: " + shlex.join([os.path.relpath(sys.executable, Path.cwd()), *sys.argv]), flush=True)
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="spokeswatch-soak-"))
    dbs = Databases(args.database, tmp)
    ctx = mp.get_context("spawn")
    forum_conn, child = ctx.Pipe()
    forum_proc = ctx.Process(target=_serve_forums, args=(child, args.start), daemon=True)
    forum_proc.start()
    ok = False
    try:
        urls = forum_conn.recv()
        n = round(args.days * 24 * 60 / args.cycle_minutes)
        print(f"{args.days:g} simulated days from {args.start}: {n} cycles of {args.cycle_minutes:g} min, then "
              f"{args.idle_cycles} idle; a poll every {args.poll_seconds:g} s; {dbs.kind}; temp dir {tmp}", flush=True)
        try:
            run, info = soak(args, tmp, dbs, forum_conn, urls)
        except Failed as exc:
            log = (tmp / "daemon.log").read_text("utf-8", "replace").splitlines()
            print(f"FAILED: {exc}; the daemon's log ends:\n  " + "\n  ".join(log[-30:]), file=sys.stderr)
            raise SystemExit(1)
        print(f"daemon: {info['daemon_cmd']}")
        report(args, run, info, tmp, dbs, forum_conn, load_before)
        ok = True
    finally:
        if forum_proc.is_alive():
            forum_conn.send(("stop",))
            if forum_conn.poll(10):
                forum_conn.recv()
        forum_proc.join(10)
        dbs.drop()
        if args.keep or not ok:
            print(f"(temp dir kept: {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
