"""The web view's test world: the demo forum polled into a database of its own, one thread of the
市供水公司 (unit ``water``) retitled ``<script>alert(1)</script>`` with a reply that tries an
``<img onerror>``, web users for the office and for 市城管局 (``urban``), and the app served over
real HTTP on 127.0.0.1 with the demo's clock."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from models.tables import ResponseCase, ThreadRecord
from monitor.config import Config, Web, WebUser
from monitor.demoforum.scenario import DemoPost
from monitor.service import Service
from monitor.web.auth import hash_password
from monitor.web.server import WebServer
from tests.helpers import config_for, scenario_copy, start_forum

EVIL_TITLE = "<script>alert(1)</script>"
EVIL_BODY = "<img src=x onerror=alert(2)> 水压问题请尽快处理"
PASSWORDS = {"office": "office-password-1", "urban": "urban-password-1", "water": "water-password-1"}
HASH = {name: hash_password(pw) for name, pw in PASSWORDS.items()}  # argon2 is slow: once per session


def web_users() -> Web:
    return Web(users=[WebUser(name="office", password_hash=HASH["office"], role="office"),
                      WebUser(name="urban", password_hash=HASH["urban"], role="unit", unit="urban"),
                      WebUser(name="water", password_hash=HASH["water"], role="unit", unit="water")])


@dataclass
class WebWorld:
    config: Config
    service: Service
    server: WebServer
    evil_ref: str  # forum:tid of the thread titled EVIL_TITLE (unit water)
    tmp: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def cases(self, unit_id: str) -> list[tuple[str, int]]:
        """(forum_id, tid) of the unit's cases."""
        with self.service.engine.connect() as c:
            return [(f, t) for f, t in c.execute(
                select(ThreadRecord.forum_id, ThreadRecord.tid).join(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                .where(ResponseCase.unit_id == unit_id).order_by(ThreadRecord.tid))]


def make_world(tmp: Path, database: str | None = None) -> Iterator[WebWorld]:
    """Yield the world (on ``database``, default a SQLite file in ``tmp``); the forum is stopped
    once polled, the web server at the end."""
    scenario = scenario_copy()
    forum = start_forum(scenario)
    try:
        config = config_for(forum, database or f"sqlite:///{tmp / 'web.sqlite3'}").model_copy(
            update={"web": web_users(), "state_dir": str(tmp / "state")})
        service = Service(config, clock=forum.clock.now)
        service.poll()
        service.check()
        with service.engine.connect() as c:  # a 市供水公司 thread, retitled and answered by an attacker
            tid = c.execute(select(ThreadRecord.tid).join(ResponseCase, ResponseCase.thread_id == ThreadRecord.id)
                            .where(ResponseCase.unit_id == "water").order_by(ThreadRecord.tid)).scalars().first()
        thread = scenario.thread(tid)
        thread.subject = EVIL_TITLE
        pid = max(p.pid for t in scenario.threads for p in t.posts) + 1
        citizen = next(p.uid for p in thread.posts)
        thread.posts.append(DemoPost(pid, citizen, forum.clock.now() - timedelta(hours=1), EVIL_BODY))
        service.poll()
        service.check()
    finally:
        forum.stop()
    server = WebServer(lambda: config, service.repo, "127.0.0.1:0", forum.clock.now)
    server.start()
    try:
        yield WebWorld(config, service, server, f"demo:{tid}", tmp)
    finally:
        server.stop()
        service.close()


def login(client: httpx.Client, name: str, password: str | None = None, next_path: str = "/") -> httpx.Response:
    """Log ``client`` in through the form (its CSRF field included); returns the final response."""
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    return client.post("/login", data={"name": name, "password": password or PASSWORDS[name], "csrf": token,
                                       "next": next_path}, follow_redirects=True)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)
