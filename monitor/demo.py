"""``spokeswatch demo``: the whole product on the bundled demo forum, over real HTTP.

Without ``-c`` it reads the sample config shipped in the package (``monitor/sample_config.yaml``,
the repository's ``config.yaml``), so it runs from any folder; what it writes goes to ``--out``.
"""
from __future__ import annotations

import signal
import threading
from datetime import datetime
from pathlib import Path

from loguru import logger

from monitor.config import Config, parse_config
from monitor.demoforum.scenario import load_scenario
from monitor.demoforum.server import DemoClock, DemoForum
from monitor.errors import ConfigError
from monitor.init_config import SAMPLE, packaged
from monitor.periods import parse_period
from monitor.render import headline, write_all
from monitor.service import Service

DEMO_FORUM_ID = "demo"
DEMO_PERIOD = "2011Q1"


def sample_config() -> Config:
    """The sample config shipped in the package: the demo forum, its boards and units."""
    ref = packaged(SAMPLE)
    return parse_config(ref.read_text(encoding="utf-8"), str(ref))


def demo_config(config: Config, base_url: str, database: str) -> Config:
    """The config with its demo forum pointed at a running demo server."""
    try:
        forum = config.forum(DEMO_FORUM_ID)
    except KeyError:
        raise ConfigError("config.yaml", f"the demo needs a forum with id {DEMO_FORUM_ID!r}", "forums") from None
    only = forum.model_copy(update={"base_url": base_url, "rate_limit": 0})
    return config.model_copy(update={"forums": [only], "database": database})


def run_demo(config: Config, out: Path, at: datetime | None = None, lang: str | None = None) -> str:
    """Serve the demo forum, poll it, check, write digest and bulletin into ``out``; return the headline."""
    scenario = load_scenario()
    clock = DemoClock(at or scenario.default_now)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.sqlite3"
    for stale in out.glob("demo.sqlite3*"):
        stale.unlink()
    with DemoForum(scenario, clock=clock) as forum:
        logger.info("demo forum serving {} as of {}", forum.base_url, clock.now().isoformat())
        svc = Service(demo_config(config, forum.base_url, f"sqlite:///{db}"), clock=clock.now)
        try:
            svc.poll()
            write_all("digest", svc.digest(lang=lang), out)
            bulletin, _ = svc.write_bulletin(parse_period(DEMO_PERIOD), out, lang=lang)
        finally:
            svc.close()
    logger.info("digest and bulletin written to {}", out)
    return headline(bulletin)


def demo_web_users(config: Config) -> tuple[Config, dict[str, str]]:
    """The config with web users for the demo only: ``office`` and one user per unit (named by the
    unit's id), each with a fresh random password; returns (config, name → password)."""
    import secrets

    from monitor.config import WebUser
    from monitor.web.auth import hash_password
    passwords = {"office": secrets.token_urlsafe(9)} | {u.id: secrets.token_urlsafe(9) for u in config.units}
    users = [WebUser(name=name, password_hash=hash_password(pw), role="office" if name == "office" else "unit",
                     unit=None if name == "office" else name) for name, pw in passwords.items()]
    return config.model_copy(update={"web": config.web.model_copy(update={"users": users})}), passwords


def serve_demo_web(config: Config, out: Path, listen: str, at: datetime | None = None) -> None:
    """Serve the web view over the demo's database in ``out`` (made by :func:`run_demo`) until Ctrl-C,
    as of the demo's clock, with the users of :func:`demo_web_users` (their passwords are logged)."""
    from models.db import make_engine
    from models.repository import Repository
    from monitor.web.server import serve
    scenario = load_scenario()
    clock = DemoClock(at or scenario.default_now)
    config, passwords = demo_web_users(config.model_copy(update={"state_dir": str(out / "state")}))
    engine = make_engine(f"sqlite:///{out / 'demo.sqlite3'}")
    logger.info("demo web view: log in as {}", ", ".join(f"{n} / {pw}" for n, pw in passwords.items()))
    try:
        serve(lambda: config, Repository(engine), listen, clock.now)
    finally:
        engine.dispose()


def serve_demo(port: int, at: datetime | None = None, host: str = "127.0.0.1") -> None:
    """Serve the demo forum until Ctrl-C or SIGTERM (``docker stop``, systemd), for ``spokeswatch run``
    to poll."""
    scenario = load_scenario()
    forum = DemoForum(scenario, host=host, port=port, clock=DemoClock(at or scenario.default_now))
    # SIGTERM stops it like Ctrl-C (as PID 1 in a container it would otherwise be ignored)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    logger.info("demo forum at {} (clock {}); Ctrl-C stops it", forum.base_url, forum.clock.now().isoformat())
    try:
        forum.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        forum.stop()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
