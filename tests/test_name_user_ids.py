"""User ids are text: numbers on Discuz! and phpwind ("30"), names where profile links carry one
(``/user/<name>``, ``/user/<pk>/<slug>/``). Config accounts by ``uid`` (7 and "7" are one
account), ``username`` or ``profile`` link; stored, matched, shown and reported as text, on
SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models.tables import AccountPresence, PollRun, PostRecord, ThreadRecord
from monitor.assignment import Directory
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.periods import parse_period
from monitor.service import Service
from scrapers import get_engine
from scrapers.records import Site
from tests.helpers import ROOT, local, scenario_copy, start_forum

TZ = ZoneInfo("Asia/Shanghai")


# ---- config: uid, username or profile link ---------------------------------------------------

def _config(accounts: str, engine: str = "discuz", extra: str = "") -> str:
    return f"""\
forums:
  - id: city
    name: 城市论坛
    engine: {engine}
    base_url: http://bbs.example.cn/bbs/
{extra}    boards:
      - fid: 2
units:
  - id: water
    name: 市供水公司
    accounts:
{accounts}"""


@pytest.mark.parametrize("engine,account", [
    ("discuz", "uid: 9"), ("discuz", "uid: '9'"), ("discuz", "uid: '009'"),
    ("discuz", "profile: http://bbs.example.cn/bbs/home.php?mod=space&uid=9"),
    ("discuz", "profile: 'http://bbs.example.cn/bbs/home.php?mod=space&uid=9&do=profile'"),
    ("discuz", "profile: space-uid-9.html"),  # relative to base_url
    ("discuz", "uid: 9, profile: 'space-uid-9.html', username: 供水公司发言人"),  # both: they must agree
    ("discuz-auto", "profile: http://bbs.example.cn/bbs/home.php?mod=space&uid=9"),
    ("discuz-touch", "profile: http://bbs.example.cn/bbs/home.php?mod=space&uid=9&mobile=2"),
    ("discuz-api", "profile: http://bbs.example.cn/bbs/space-uid-9.html"),
    ("discuz7", "profile: http://bbs.example.cn/bbs/space.php?uid=9"),
    ("phpwind", "profile: http://bbs.example.cn/bbs/u.php?uid=9"),
    ("phpwind", "profile: http://bbs.example.cn/bbs/index.php?m=space&uid=9"),
])
def test_a_profile_link_is_the_same_account_as_its_uid(engine, account):
    cfg = parse_config(_config(f"      - {{forum: city, {account}}}\n", engine))
    [a] = cfg.units[0].accounts
    assert a.uid == "9"
    directory = Directory(cfg)
    assert directory.accounts_on("city") == [("water", "9")]
    for seen in ("9", 9):  # a page's uid (text) and a number are the same user
        assert directory.unit_of_author("city", seen, "someone else") == "water"
    assert directory.unit_of_author("city", "90", None) is None


def test_each_engine_reads_uids_from_its_profile_links_as_text():
    site = Site("http://bbs.example.cn/")
    cases = {"discuz": ["home.php?mod=space&uid=30", "space-uid-30.html", "home.php?mod=space&uid=030&do=profile"],
             "discuz-touch": ["home.php?mod=space&uid=30&mobile=2"], "discuz-api": ["space-uid-30.html"],
             "discuz7": ["space.php?uid=30", "space-uid-30.html"],
             "phpwind": ["u.php?uid=30", "u-htm-uid-30.html", "index.php?m=space&uid=30"]}
    for engine, links in cases.items():
        module = get_engine(engine)
        for link in links:
            assert module.uid_from_url(site.base_url + link, site) == "30", (engine, link)
        assert module.uid_from_url(site.base_url + "forum.php?mod=viewthread&tid=5", site) is None
        assert module.uid_from_url(None, site) is None
    assert get_engine("discuz").profile_url(site, "30") == "http://bbs.example.cn/home.php?mod=space&uid=30&do=profile"


GENERIC = """\
    generic:
      board_url: "c/{fid}?page={page}"
      thread_url: "t/{tid}?page={page}"
      tid_pattern: "/t/(\\\\d+)"
      uid_pattern: "/user/([^/?#]+)"
      threads: {row: "tr.topic", link: "a.title@href"}
      posts: {post: "div.post", pid: "@data-pid"}
"""


def test_a_name_is_a_uid_on_a_forum_whose_profile_links_carry_names():
    accounts = ("      - {forum: city, profile: 'http://bbs.example.cn/user/%E5%BC%A0%20%E4%B8%89'}\n"
                "      - {forum: city, uid: 张 三}\n"
                "      - {forum: city, profile: /user/alice?tab=summary}\n"
                "      - {forum: city, uid: 7}\n"
                "      - {forum: city, uid: '007'}\n")
    cfg = parse_config(_config(accounts, "generic", GENERIC))
    assert [a.uid for a in cfg.units[0].accounts] == ["张 三", "张 三", "alice", "7", "007"]  # names kept as written
    directory = Directory(cfg)
    assert directory.unit_of_author("city", "张 三", None) == "water"
    assert directory.unit_of_author("city", "alice", "Alice Smith") == "water"
    assert directory.unit_of_author("city", "7", None) == directory.unit_of_author("city", 7, None) == "water"
    assert directory.unit_of_author("city", "bob", "张 三") is None  # a name uid is not a username


@pytest.mark.parametrize("accounts,engine,extra,path,line,message", [
    ("      - {forum: city, uid: 9}\n      - {forum: city, profile: 'http://evil.example.cn/bbs/space-uid-9.html'}\n",
     "discuz", "", "units[0].accounts[1].profile", 13, "is not on forum 'city' (http://bbs.example.cn/bbs/)"),
    ("      - {forum: city, profile: 'https://bbs.example.cn:8443/bbs/space-uid-9.html'}\n",
     "discuz", "", "units[0].accounts[0].profile", 12, "is not on forum 'city'"),
    ("      - {forum: city, profile: 'home.php?mod=space&username=admin'}\n", "discuz", "",
     "units[0].accounts[0].profile", 12,
     "names no user: discuz profile links look like home.php?mod=space&uid=N or space-uid-N.html"),
    ("      - {forum: city, profile: 'forum.php?mod=viewthread&tid=5'}\n", "discuz7", "",
     "units[0].accounts[0].profile", 12, "names no user: discuz7 profile links look like space.php?uid=N"),
    ("      - {forum: city, profile: 'member/alice'}\n", "generic", GENERIC, "units[0].accounts[0].profile", 19,
     "generic.uid_pattern '/user/([^/?#]+)' finds none in it"),
    ("      - {forum: city, profile: 'user/alice'}\n", "generic", GENERIC.replace(
        '      uid_pattern: "/user/([^/?#]+)"\n', ""), "units[0].accounts[0].profile", 18,
     "generic.uid_pattern is not set"),
    ("      - {forum: city, uid: alice}\n", "discuz", "", "units[0].accounts[0].uid", 12,
     "uid 'alice' is not a number: users on discuz forums have numeric ids (give a name as `username`)"),
    ("      - {forum: city, uid: 8, profile: space-uid-9.html}\n", "discuz", "", "units[0].accounts[0].uid", 12,
     "uid '8' is not the user of the profile link, which names uid '9'"),
    ("      - {forum: city, uid: 9.5}\n", "discuz", "", "units[0].accounts[0].uid", 12,
     "a uid is a whole number or a name, not 9.5"),
    ("      - {forum: city}\n", "discuz", "", "units[0].accounts[0]", 12,
     "an account needs a uid, a username or a profile link"),
])
def test_a_profile_link_off_the_forum_or_naming_no_user_is_a_config_error(accounts, engine, extra, path, line,
                                                                           message):
    with pytest.raises(ConfigError) as e:
        parse_config(_config(accounts, engine, extra), "config.yaml")
    assert (e.value.key_path, e.value.line) == (path, line), str(e.value)
    assert message in str(e.value) and f"config.yaml:{line}:" in str(e.value)


# ---- the demo forum (Discuz! X, numeric uids) with accounts given by profile link ------------

def test_the_demo_quarter_is_the_same_with_accounts_given_as_profile_links(tmp_path):
    """The sample config's accounts as profile links (absolute, relative, space-uid-N.html) and
    quoted uids: the same posts are tagged, the same bulletin comes out, profiles are read."""
    forum = start_forum(scenario_copy())
    try:
        text = (ROOT / "config.yaml").read_text("utf-8")
        for old, new in (("base_url: http://127.0.0.1:8089/", f"base_url: {forum.base_url}"),
                         ("{forum: demo, uid: 30, username: 荆门市旅游局}",
                          f"{{forum: demo, profile: '{forum.base_url}home.php?mod=space&uid=30'}}"),
                         ("{forum: demo, uid: 31, username: 供水公司发言人}", "{forum: demo, profile: space-uid-31.html}"),
                         ("{forum: demo, uid: 32, username: 市出租办发言人}",
                          "{forum: demo, profile: 'home.php?mod=space&uid=32&do=profile', uid: '32'}"),
                         ("{forum: demo, uid: 33}", "{forum: demo, uid: '33'}")):
            assert old in text
            text = text.replace(old, new)
        cfg = parse_config(text.replace("${SPOKESWATCH_DATABASE:-sqlite:///spokeswatch.sqlite3}",
                                        f"sqlite:///{tmp_path / 'db.sqlite3'}"))
        assert [a.uid for u in cfg.units for a in u.accounts] == ["30", "31", "32", "33", None, "35", "36"]
        svc = Service(cfg.model_copy(update={"forums": [cfg.forums[0].model_copy(update={"rate_limit": 0})]}),
                      clock=forum.clock.now)
        [r] = svc.poll()
        assert r.status == "ok", (r.error, r.warnings[:3])
        assert len([q for q in forum.requests if "do=profile" in q]) == 6  # every account with a uid
        b = svc.bulletin(parse_period("2011Q1"))
        with svc.repo.session("t") as s:
            presence = {p.uid: p.username for p in s.scalars(select(AccountPresence))}
            water = s.execute(select(PostRecord.author_uid, PostRecord.author)
                              .where(PostRecord.unit_id == "water").distinct()).all()
        svc.close()
    finally:
        forum.stop()
    assert (b.received, b.answered_in_time, b.not_in_time) == (95, 39, 56)
    assert b.proactive["by_unit"] == {"市旅游局": 2, "市供水公司": 2, "市出租办": 1}
    assert presence.keys() == {"30", "31", "32", "33", "35", "36"} and presence["31"] == "供水公司发言人"
    assert water == [("31", "供水公司发言人")]
    rows = {sp["unit"]: sp for sp in b.spokespersons}
    assert rows["市供水公司"]["uid"] == "31" and rows["市供水公司"]["account"] == "供水公司发言人"
    assert rows["市供水公司"]["posts_in_period"] > 0


# ---- a forum whose profile links carry names: /user/<name> (the uid_pattern) ----------

USERS = {"张 三": "water", "alice": "taxi", "7": "tourism", "bob": None}  # "7": a name that looks like a number
START = datetime(2026, 11, 2, 9, 0)


def _topics() -> list[dict]:
    """Four citizen threads by bob; the first three answered by one spokesperson each."""
    topics = []
    for n, answerer in enumerate(["张 三", "alice", "7", None]):
        posted = START + timedelta(days=n)
        posts = [{"pid": 100 * (n + 1) + 1, "user": "bob", "at": posted, "text": f"第{n}个问题：小区停水"}]
        if answerer:
            posts.append({"pid": 100 * (n + 1) + 2, "user": answerer, "at": posted + timedelta(hours=3),
                          "text": "已安排检修，谢谢监督。"})
        topics.append({"tid": n + 1, "title": f"问政{n}：小区停水", "posts": posts})
    return topics


def _page(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>问政</title></head><body>{body}</body></html>" \
        .encode("utf-8")


def _user_link(name: str) -> str:
    return f'<a class="author" href="/user/{quote(name)}">{name}</a>'


class _NamesForum(BaseHTTPRequestHandler):
    topics: list[dict] = []

    def do_GET(self):  # noqa: N802
        path = unquote(urlsplit(self.path).path)
        if path == "/c/2":
            rows = "".join(
                f'<tr class="topic"><td><a class="title" href="/t/{t["tid"]}">{t["title"]}</a></td>'
                f'<td>{_user_link(t["posts"][0]["user"])}</td>'
                f'<td class="time">{t["posts"][0]["at"]:%Y-%m-%d %H:%M}</td>'
                f'<td class="replies">{len(t["posts"]) - 1}</td>'
                f'<td class="last">{t["posts"][-1]["at"]:%Y-%m-%d %H:%M}</td></tr>'
                for t in reversed(self.topics))
            self._send(200, _page(f"<table>{rows}</table>"))
        elif path.startswith("/t/") and path[3:].isdigit() and int(path[3:]) <= len(self.topics):
            t = self.topics[int(path[3:]) - 1]
            posts = "".join(
                f'<div class="post" data-pid="{p["pid"]}" data-floor="{i}">{_user_link(p["user"])}'
                f'<span class="time">{p["at"]:%Y-%m-%d %H:%M}</span><div class="body">{p["text"]}</div></div>'
                for i, p in enumerate(t["posts"], start=1))
            self._send(200, _page(f'<h1 class="title">{t["title"]}</h1>{posts}'))
        else:
            self._send(404, _page("<p>not found</p>"))

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def names_forum():
    handler = type("Handler", (_NamesForum,), {"topics": _topics()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _names_config(base_url: str, database: str) -> str:
    return f"""\
database: {database}
forums:
  - id: names
    name: 问政论坛
    engine: generic
    base_url: {base_url}
    rate_limit: 0
    generic:
      board_url: "c/{{fid}}"
      thread_url: "t/{{tid}}"
      tid_pattern: "/t/(\\\\d+)"
      uid_pattern: "/user/([^/?#]+)"
      time_formats: ["%Y-%m-%d %H:%M"]
      threads:
        row: "tr.topic"
        link: "a.title@href"
        author: "a.author"
        author_link: "a.author@href"
        time: "td.time"
        replies: "td.replies"
        last_post_time: "td.last"
      posts:
        post: "div.post"
        pid: "@data-pid"
        floor: "@data-floor"
        author: "a.author"
        author_link: "a.author@href"
        time: "span.time"
        body: "div.body"
        title: "h1.title"
    boards:
      - {{fid: 2, name: 问政, kind: programme}}
units:
  - id: water
    name: 市水务局
    accounts:
      - {{forum: names, profile: "{base_url}user/%E5%BC%A0%20%E4%B8%89"}}
  - id: taxi
    name: 市出租办
    accounts:
      - {{forum: names, uid: alice}}
  - id: tourism
    name: 市旅游局
    accounts:
      - {{forum: names, uid: 7}}
"""


def _cli(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "NO_COLOR": "1"})


def test_probe_and_poll_read_name_uids_store_them_and_tag_their_units(names_forum, db_url, tmp_path):
    """The issue: `uid_pattern: "/user/([^/?#]+)"` made probe and poll exit 1 (int() of a name), the
    poll unrecorded and threads stored without posts. Now both run, the poll is recorded, every
    post is stored with its author's name as uid and tagged with the unit whose account it is."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(_names_config(names_forum, db_url), "utf-8")
    assert _cli("config", "check", "-c", str(cfg)).returncode == 0

    probe = _cli("probe", f"{names_forum}t/1", "--json", "-c", str(cfg), "--forum", "names")
    assert probe.returncode == 0, probe.stderr
    data = json.loads(probe.stdout)
    assert [(p["author"], p["uid"]) for p in data["posts"]] == [("bob", "bob"), ("张 三", "张 三")]
    board = json.loads(_cli("probe", f"{names_forum}c/2", "--json", "-c", str(cfg), "--forum", "names").stdout)
    assert [t["uid"] for t in board["threads"]] == ["bob"] * 4
    readable = _cli("probe", f"{names_forum}t/3", "-c", str(cfg), "--forum", "names")
    assert readable.returncode == 0 and "7 (uid 7)" in readable.stdout and "Traceback" not in readable.stderr

    poll = _cli("poll", "-c", str(cfg), timeout=300)
    assert poll.returncode == 0, poll.stdout + poll.stderr
    assert "Traceback" not in poll.stderr and "names: ok" in poll.stdout

    from models.db import make_engine
    engine = make_engine(db_url)
    with engine.connect() as c:
        runs = c.execute(select(PollRun.forum_id, PollRun.status, PollRun.error)).all()
        threads = c.execute(select(ThreadRecord.tid, ThreadRecord.author_uid, ThreadRecord.unit_id)
                            .order_by(ThreadRecord.tid)).all()
        posts = c.execute(select(PostRecord.pid, PostRecord.author, PostRecord.author_uid, PostRecord.unit_id)
                          .order_by(PostRecord.pid)).all()
    engine.dispose()
    assert runs == [("names", "ok", None)]
    assert threads == [(1, "bob", "water"), (2, "bob", "taxi"), (3, "bob", "tourism"), (4, "bob", None)]
    expected = [(p["pid"], p["user"], p["user"], USERS[p["user"]]) for t in _topics() for p in t["posts"]]
    assert [tuple(p) for p in posts] == expected

    shown = _cli("case", "show", "names:3", "--json", "-c", str(cfg))
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["thread"]["starter"] == {"name": "bob", "uid": "bob"}
    assert [(p["uid"], p["unit_id"]) for p in record["posts"]] == [("bob", None), ("7", "tourism")]
    text = _cli("case", "show", "names:1", "-c", str(cfg)).stdout
    assert "张 三 (uid 张 三) [市水务局]" in text

    config = parse_config(cfg.read_text("utf-8"), str(cfg))
    svc = Service(config, clock=lambda: local(2026, 12, 1))
    result = svc.check(local(2026, 12, 1), full=True)
    assert result.states == {"answered_in_time": 3, "overdue": 1}
    b = svc.bulletin(parse_period("2026-11"), as_of=local(2026, 12, 1))
    from monitor.web.pages import unit_page
    page = unit_page(config, svc.repo, "water", local(2026, 12, 1))
    svc.close()
    rows = {sp["unit"]: (sp["uid"], sp["account"], sp["posts_in_period"]) for sp in b.spokespersons}
    assert rows == {"市水务局": ("张 三", "张 三", 1), "市出租办": ("alice", "alice", 1), "市旅游局": ("7", "7", 1)}
    assert [(a["uid"], a["username"], a["posts"]) for a in page["accounts"]] == [("张 三", "张 三", 1)]
