"""Test helpers: the demo forum running on a copy of the bundled scenario, and its config."""
from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.config import Config, load_config
from monitor.demo import demo_config
from monitor.demoforum.scenario import DemoPost, Scenario, load_scenario
from monitor.demoforum.server import DemoClock, DemoForum

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
_BUNDLED: Scenario | None = None


def scenario_copy() -> Scenario:
    """A fresh, mutable copy of the bundled 2011Q1 scenario."""
    global _BUNDLED
    if _BUNDLED is None:
        _BUNDLED = load_scenario()
    return copy.deepcopy(_BUNDLED)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def sample_config() -> Config:
    return load_config(ROOT / "config.yaml")


def config_for(forum: DemoForum, db_url: str, **forum_updates) -> Config:
    cfg = demo_config(sample_config(), forum.base_url, db_url)
    if forum_updates:
        cfg = cfg.model_copy(update={"forums": [cfg.forums[0].model_copy(update=forum_updates)]})
    return cfg


def start_forum(scenario: Scenario | None = None, at: datetime | None = None, **options) -> DemoForum:
    """The demo forum started; ``options`` go to DemoForum (flavor, members_only, passwords, …)."""
    s = scenario or scenario_copy()
    return DemoForum(s, clock=DemoClock(at or s.default_now), **options).start()


def add_reply(s: Scenario, tid: int, uid: int, at: datetime, body: str = "已转相关部门办理。") -> DemoPost:
    pid = max(p.pid for t in s.threads for p in t.posts) + 1
    post = DemoPost(pid, uid, at, body)
    thread = s.thread(tid)
    thread.posts.append(post)
    thread.posts.sort(key=lambda p: (p.at, p.pid))
    return post


def run_at_once(work, threads: int) -> list[Exception]:
    """Run ``work()`` in ``threads`` threads started together; return what they raised."""
    import threading
    errors: list[Exception] = []
    barrier = threading.Barrier(threads)

    def run() -> None:
        try:
            barrier.wait()
            work()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return errors
