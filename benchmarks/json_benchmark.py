"""JSON benchmark: the generic engine's ``format: json`` mode, parsing answers and polling a 留言板 API.

Run by hand:

    .venv/bin/python benchmarks/json_benchmark.py [--items 2000] [--page-size 20] [--answer 10]
        [--passes 5] [--seconds 0.25] [--database postgresql+psycopg://postgres@127.0.0.1/NAME]

Prints, each figure measured in the same run:
  * parse rates, in CPU time (time.process_time; the measurements alternate over ``--passes``
    passes and each keeps its best): the JSON engine's parse_thread_list and parse_thread,
    called as the poller calls them (scrapers.generic, with the Site the poller builds from a
    config validated by monitor.config.parse_config, options = ``forum.generic.model_dump()``),
    each on a fresh Page (decoding included), on
      - a Misago-shaped thread list answer (26 rows with nested starter / last_poster / url /
        acl objects, ISO 8601 times) and posts page (18 posts with HTML content): the shapes of
        Misago 0.39's API, field for field, as the forum the tests run answers;
      - the 留言板 answers served below: a list page (``--page-size`` rows, times as text, counts
        like "1.2万") and an answered item's detail (unix milliseconds, an official reply in HTML);
    answers and rows parsed per second, and the answer rate ÷ the rate of a bare ``json.loads``
    of the same bytes (the floor: no JSON engine reads an answer faster than it decodes it);
  * the poll as the daemon runs it, ``Service(config).poll()`` (the poll, then the search
    index), of a generated 留言板 API (the test's server, tests/test_generic/
    test_json_message_board.py, made bigger) served on 127.0.0.1 by a thread of this process:
    ``--items`` items, a third answered, ``--page-size`` a page, newest first, listed by a POST
    with a JSON body and a token header, each item's detail by a GET:
      - cold, into a fresh database: items and posts stored per second, requests (counted by the
        server) ÷ the minimum (every list page + every detail), and its wall time ÷ a plain httpx
        loop (POST every list page, GET every detail, json.loads each answer, store nothing)
        against the same server, run before and after the cold poll and after the last poll (the
        fastest run counts);
      - steady, nothing changed: requests ÷ the minimum (the first list page) and wall time;
      - after the server answers the ``--answer`` newest open items: requests ÷ the minimum (list
        pages down to the first one holding an unchanged row, + one detail per answered item),
        wall time, and the official replies stored.

Database: a temporary SQLite file by default. ``--database postgresql+psycopg://postgres@host/NAME``
creates NAME on that server (it must not exist: the cold poll needs an empty database) and drops
it at the end; ``--database sqlite:///PATH`` uses a new SQLite file and removes it at the end.

What it leaves out: network latency and the politeness limit (loopback, ``rate_limit: 0``; at a
real portal's 1 request/s a cold poll of 2,000 items takes over half an hour whatever the parser
costs); the server's own CPU (it shares this process and its GIL with the poller, the plain loop
alike); the rules check, and so the re-reads of open cases every ``recheck_interval_minutes``
(no check runs, so no case is open: with two thirds of the items unanswered, a daemon would
re-read those details every interval); threads of several pages (an item is one answer; the
Misago posts page is parsed but not polled); errors, retries, an expired token; several forums or
pollers at once.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402
from loguru import logger  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import scale_benchmark as scale  # noqa: E402
from models.db import normalise_url  # noqa: E402
from models.tables import PostRecord, ThreadRecord  # noqa: E402
from monitor.config import Config, parse_config  # noqa: E402
from monitor.poller import site_of  # noqa: E402
from monitor.service import Service  # noqa: E402
from scrapers import generic  # noqa: E402
from scrapers.records import Page, Site  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "t0ken-for-benchmarks"
CONTENT_TYPE = "application/json;charset=UTF-8"
UNITS = ["市供水公司", "荆门市自来水公司", "市城管局"]
FID = 7  # the 留言板's column
MISAGO_CATEGORY = 4
SENTENCE = "小区自来水发黄已经三天了，烧开以后还有沉淀，物业说是市政管网的问题，请相关部门尽快派人检测水质并给出处理时限。"
REPLY = ("<p>网友您好！</p><p>收到您的留言后，我单位立即安排工作人员到现场核实，经检测，该小区二次供水水箱"
         "清洗不及时导致水质浑浊，已责成物业于三日内完成清洗消毒，并将检测报告在小区公示。</p>"
         "<p>如有疑问，请拨打服务热线<a href=\"tel:12345\">12345</a>。感谢您对我们工作的监督！</p>")


# ---- the config, as a user writes it ---------------------------------------------------------------

LIUYAN = """
  - id: liuyan
    name: 市长信箱
    base_url: BASE_URL
    rate_limit: 0
    max_pages: 1000
    engine: generic
    generic:
      format: json
      board_url: "gov/api/message/list"
      board_body: '{"columnId": {fid}, "pageNum": {page}, "pageSize": PAGE_SIZE}'
      thread_url: "gov/api/message/detail?id={tid}"
      link_url: "gov/message/detail.html?id={tid}"
      headers: {X-Access-Token: "${LIUYAN_TOKEN}"}
      time_formats: ["%Y-%m-%d %H:%M:%S"]
      threads:
        row: data.list
        tid: id
        title: title
        author: userName
        time: createTime
        views: hits
        replies: replyStatus
        page: data.pageNum
        pages: data.pages
      posts:
        post: "data | [@]"
        pid: "#tid"
        title: data.title
        author: userName
        time: createTime
        body: content
        official_reply: data.reply
        official_unit: unitName
        official_time: replyTime
        official_body: content
    boards:
      - {fid: FID, name: 市长信箱, kind: programme}
"""

MISAGO = """
  - id: misago
    name: Misago 问政
    base_url: http://127.0.0.1:8000/
    engine: generic
    generic:
      format: json
      board_url: "api/threads/?category={fid}"
      board_next_url: "api/threads/?category={fid}&start={next}"
      thread_url: "api/threads/{tid}/posts/?page={page}"
      threads:
        row: results
        tid: id
        link: url.index
        title: title
        author: starter_name
        uid: starter.id
        time: started_on
        replies: replies
        last_post_time: last_post_on
        last_poster: last_poster_name
        sticky: "weight > `0`"
        next_page: next
      posts:
        post: post_set.results
        pid: id
        author: poster_name
        uid: poster.id
        time: posted_on
        body: content
        posts_before: post_set.before
        title: title
        replies: replies
        category: category.name
        page: post_set.page
        pages: post_set.pages
        next_page: post_set.next
    boards:
      - {fid: FID, name: 网络问政, kind: programme}
"""


def load_config(database: str, state_dir: Path, forums: list[str]) -> Config:
    """A config of the given forum blocks, validated as the CLI validates config.yaml; the
    token comes from the environment, as the README says it must."""
    os.environ["LIUYAN_TOKEN"] = TOKEN
    return parse_config(f"""
database: {database}
timezone: Asia/Shanghai
state_dir: {state_dir}
forums:{''.join(forums)}
units:
  - id: water
    name: 市供水公司
    aliases: [自来水公司]
  - id: street
    name: 市城管局
""", "json-benchmark.yaml")


def liuyan_block(base_url: str, page_size: int) -> str:
    return (LIUYAN.replace("BASE_URL", base_url).replace("PAGE_SIZE", str(page_size))
            .replace("FID", str(FID)))


def misago_block() -> str:
    return MISAGO.replace("FID", str(MISAGO_CATEGORY))


# ---- Misago-shaped answers (misago 0.39's /api/threads/ and /api/threads/<id>/posts/) -----------

def _hex(*parts) -> str:
    return hashlib.md5("/".join(map(str, parts)).encode()).hexdigest()


def _misago_user(uid: int, name: str, full: bool = False) -> dict:
    """A user as Misago nests it in a thread row (``full``: in a post, with rank and status)."""
    user = {"id": uid, "username": name, "real_name": None,
            "avatars": [{"url": f"/media/avatars/{_hex(uid)[:2]}/{_hex(uid)[2:4]}/{_hex(uid, size)}.png",
                         "size": size} for size in (400, 200, 100)]}
    if full:
        user = {**user, "rank": {"id": 2, "name": "Members", "slug": "members", "description": "", "title": None,
                                 "css_class": None, "is_default": True, "is_tab": False, "url": "/users/members/"},
                "signature": None, "title": None,
                "status": {"is_offline": True, "is_online": False, "is_hidden": False, "is_offline_hidden": False,
                           "is_online_hidden": False, "last_click": "2026-10-03T08:00:05+08:00", "is_banned": False,
                           "banned_until": None},
                "posts": 10 + uid, "url": f"/u/user-{uid}/{uid}/"}
    return user


def _misago_acl(keys: str) -> dict:
    return {k: False for k in keys.split()}


THREAD_ACL = ("can_start_poll can_reply can_edit can_pin can_pin_globally can_hide can_unhide can_delete can_close "
              "can_move can_merge can_move_posts can_merge_posts can_approve can_see_reports can_mark_best_answer "
              "can_change_best_answer can_unmark_best_answer")
POST_ACL = ("can_reply can_edit can_see_hidden can_unhide can_hide can_delete can_protect can_approve can_move "
            "can_merge can_report can_see_reports can_see_likes can_like can_see_protected can_mark_as_best_answer "
            "can_hide_best_answer can_delete_best_answer")
MISAGO_NAMES = ["alice", "荆门老张", "Old Wang", "市水务局发言人"]


def _misago_thread(tid: int, started: datetime, replies: int) -> dict:
    """A thread as its list row and the head of its posts answer share it."""
    slug, starter, last = f"wen-zheng-{tid}", tid % 3 + 1, (tid + replies) % 4 + 1
    last_on = started + timedelta(minutes=37 * replies)
    return {
        "id": tid, "category": MISAGO_CATEGORY, "title": f"问政{tid}：小区自来水发黄 & <水压>", "replies": replies,
        "has_unapproved_posts": False, "started_on": started.isoformat(), "starter_name": MISAGO_NAMES[starter - 1],
        "last_post_on": last_on.isoformat(), "last_post_is_event": False, "last_post": tid * 40 + replies,
        "last_poster_name": MISAGO_NAMES[last - 1], "is_unapproved": False, "is_hidden": False, "is_closed": False,
        "weight": 1 if tid % 13 == 0 else 0, "best_answer": None, "best_answer_is_protected": False,
        "best_answer_marked_on": None, "best_answer_marked_by": None, "best_answer_marked_by_name": None,
        "best_answer_marked_by_slug": None, "acl": _misago_acl(THREAD_ACL), "is_new": False, "is_read": True,
        "notifications": None, "starter": _misago_user(starter, MISAGO_NAMES[starter - 1]),
        "last_poster": _misago_user(last, MISAGO_NAMES[last - 1]), "pages": 1 + replies // 17,
        "api": {"index": f"/api/threads/{tid}/", "editor": f"/api/threads/{tid}/posts/reply_editor/",
                "merge": f"/api/threads/{tid}/merge/", "poll": f"/api/threads/{tid}/poll/",
                "watch": f"/api/v2/threads/{tid}/watch/",
                "posts": {k: f"/api/threads/{tid}/posts/{k}/".replace("/index/", "/")
                          for k in ("index", "merge", "move", "split")}},
        "url": {"index": f"/t/{slug}/{tid}/", "new_post": f"/t/{slug}/{tid}/new/",
                "last_post": f"/t/{slug}/{tid}/last/", "best_answer": f"/t/{slug}/{tid}/best-answer/",
                "unapproved_post": f"/t/{slug}/{tid}/unapproved/", "starter": f"/u/user-{starter}/{starter}/",
                "last_poster": f"/u/user-{last}/{last}/"},
        "has_poll": False}


def misago_list_answer(rows: int = 26) -> dict:
    """A category's first page of threads: ``rows`` rows (Misago's page) and a ``next`` cursor."""
    start = datetime(2026, 11, 2, 8, 0, 5, tzinfo=TZ)
    threads = [_misago_thread(200 - n, start - timedelta(hours=7 * n, minutes=n), (n * 7) % 23) for n in range(rows)]
    return {"results": threads, "subcategories": [], "next": 200 - rows}


def _misago_post(pid: int, tid: int, k: int, posted: datetime) -> dict:
    uid = k % 4 + 1
    on = posted.isoformat()
    content = (f"<p>第{k + 1}楼：{SENTENCE}</p>\n<blockquote>\n<p>{SENTENCE[:40]}</p>\n</blockquote>\n"
               f"<ul>\n<li>时间：{posted:%m月%d日}</li>\n<li>地点：东宝区白云大道</li>\n</ul>\n"
               f"<p>附：<a href=\"http://www.example.gov.cn/notice/{pid}.html\" rel=\"nofollow noopener\">停水通知</a>"
               f" <strong>请尽快处理！</strong></p>")
    return {
        "id": pid, "poster": _misago_user(uid, MISAGO_NAMES[uid - 1], full=True), "poster_name": MISAGO_NAMES[uid - 1],
        "content": content, "attachments": None, "posted_on": on, "updated_on": on, "hidden_on": on, "edits": 0,
        "last_editor": None, "last_editor_name": None, "last_editor_slug": None, "hidden_by": None,
        "hidden_by_name": None, "hidden_by_slug": None, "is_unapproved": False, "is_hidden": False,
        "is_protected": None, "is_event": False, "event_type": None, "event_context": None,
        "acl": _misago_acl(POST_ACL), "is_liked": None, "is_new": False, "is_read": True, "last_likes": None,
        "likes": 0,
        "api": {k2: f"/api/threads/{tid}/posts/{pid}/{k2}/".replace("/index/", "/")
                for k2 in ("index", "likes", "editor", "edits", "read")},
        "url": {"index": f"/t/wen-zheng-{tid}/{tid}/post/{pid}/", "last_editor": None, "hidden_by": None}}


def misago_posts_answer(posts: int = 18, tid: int = 6) -> dict:
    """A thread's first page of posts (Misago's 18, of 26 in all) under the thread's own fields."""
    started = datetime(2026, 11, 3, 19, 5, 5, tzinfo=TZ)
    category = {"id": MISAGO_CATEGORY, "parent": 2, "name": "网络问政", "short_name": None, "color": None,
                "description": None, "is_closed": False, "css_class": None, "level": 1, "lft": 6, "rght": 7,
                "is_read": None, "url": {"index": "/c/wang-luo-wen-zheng/4/", "last_thread": None,
                                         "last_thread_new": None, "last_post": None}}
    head = {**_misago_thread(tid, started, 25), "category": category, "path": [category], "poll": None, "pages": 2}
    results = [_misago_post(tid * 40 + k, tid, k, started + timedelta(minutes=30 + k, seconds=k))
               for k in range(posts)]
    return {**head, "post_set": {"results": results, "page": 1, "pages": 2, "count": 26, "first": None,
                                 "previous": None, "next": 2, "last": 2, "before": 0, "more": 26 - posts + 1}}


# ---- the 留言板 API ----------------------------------------------------------------------------------

@dataclass
class Item:
    id: int
    title: str
    asker: str
    asked: datetime
    hits: str
    unit: str | None = None  # who answered, when answered
    replied: datetime | None = None


class MessageBoard:
    """A generated 留言板 API, the test's server made bigger: ``items`` questions, every third one
    answered (the newest asked two days ago), a PageHelper-style list answered to a POST with a
    JSON body and a token header, one item per detail GET; ``requests`` counts what it was asked."""

    def __init__(self, items: int, page_size: int):
        self.page_size = page_size
        self.lock = threading.Lock()
        self.requests: Counter = Counter()
        newest = datetime.now(TZ).replace(microsecond=0) - timedelta(days=2)
        self.items: list[Item] = []  # oldest first
        for i in range(items):
            asked = newest - timedelta(hours=3 * (items - 1 - i), minutes=i % 60)
            item = Item(5001 + i, f"第{i + 1}号留言：{'水压' if i % 2 else '路灯'}问题 <急>", f"网友{i % 500:03d}", asked,
                        "1.2万" if i % 97 == 0 else str(40 + i % 1000))
            if i % 3 == 0:
                item.unit, item.replied = UNITS[i % len(UNITS)], asked + timedelta(hours=20)
            self.items.append(item)
        self.by_id = {it.id: it for it in self.items}
        self.server: ThreadingHTTPServer | None = None

    # the answers

    @property
    def pages(self) -> int:
        return math.ceil(len(self.items) / self.page_size)

    def list_answer(self, page: int, size: int | None = None) -> dict:
        size = size or self.page_size
        rows = self.items[::-1][(page - 1) * size: page * size]  # newest first
        return {"code": 200, "msg": "success", "data": {
            "total": len(self.items), "pageNum": page, "pageSize": size, "pages": math.ceil(len(self.items) / size),
            "list": [{"id": it.id, "title": it.title, "userName": it.asker,
                      "createTime": it.asked.strftime("%Y-%m-%d %H:%M:%S"),
                      "replyStatus": 0 if it.unit is None else 1, "hits": it.hits} for it in rows]}}

    def detail_answer(self, item: Item) -> dict:
        reply = None if item.unit is None else {"unitName": item.unit, "replyTime": item.replied.isoformat(),
                                                "content": REPLY}
        return {"code": 200, "msg": "success", "data": {
            "id": item.id, "title": item.title, "userName": item.asker,
            "createTime": int(item.asked.timestamp() * 1000), "content": f"{item.title}。{SENTENCE * 2}",
            "reply": reply}}

    @staticmethod
    def encode(data: dict) -> bytes:
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    # changes

    def answer(self, n: int) -> list[int]:
        """Answer the ``n`` newest open items now; their ids."""
        with self.lock:
            chosen = [it for it in reversed(self.items) if it.unit is None][:n]
            for k, it in enumerate(chosen):
                it.unit, it.replied = UNITS[k % len(UNITS)], datetime.now(TZ).replace(microsecond=0)
        return [it.id for it in chosen]

    def pages_down_to_unchanged(self, changed: set[int]) -> int:
        """List pages a poll reads after ``changed`` items changed: down to the first page that
        holds an unchanged row (or to the end)."""
        for page in range(1, self.pages + 1):
            if any(row["id"] not in changed for row in self.list_answer(page)["data"]["list"]):
                return page
        return self.pages

    # serving

    def start(self) -> MessageBoard:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _handler(board: MessageBoard) -> type[BaseHTTPRequestHandler]:
    """The test's request handler, bound to ``board``; it keeps connections open and sends without
    delay (TCP_NODELAY), as real servers do: else every answer, written as headers then body, would
    wait out the client's delayed ACK (40 ms on Linux)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _answer(self, status: int, data: dict) -> None:
            body = board.encode(data)
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _token_ok(self) -> bool:
            if self.headers.get("X-Access-Token") != TOKEN:
                self._answer(401, {"code": 401, "msg": "token 无效，请重新登录", "data": None})
                return False
            return True

        def do_POST(self):  # noqa: N802
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with board.lock:
                board.requests["POST"] += 1
                if not self._token_ok():
                    return
                if self.path == "/gov/api/message/list" and payload.get("columnId") == FID:
                    return self._answer(200, board.list_answer(int(payload.get("pageNum", 1)),
                                                               int(payload.get("pageSize", board.page_size))))
            self._answer(404, {"code": 404, "msg": "not found"})

        def do_GET(self):  # noqa: N802
            with board.lock:
                board.requests["GET"] += 1
                if not self._token_ok():
                    return
                parts = urlsplit(self.path)
                item = board.by_id.get(int(parse_qs(parts.query).get("id", ["0"])[0]))
                if parts.path == "/gov/api/message/detail" and item:
                    return self._answer(200, board.detail_answer(item))
            self._answer(404, {"code": 404, "msg": "留言不存在", "data": None})

        def log_message(self, *args):
            pass

    return Handler


# ---- 1. parse rates ---------------------------------------------------------------------------------

@dataclass
class ParseCase:
    """One answer, the engine function that reads it as the poller would, and the rows it must give."""
    label: str
    site: Site
    url: str
    body: bytes
    parse: Callable
    rows: int  # rows (list) or posts (thread, the official reply included) the parse must give

    def run(self):
        page = Page(self.url, self.body, datetime.now(timezone.utc), content_type=CONTENT_TYPE)
        return self.parse(page, self.site)

    def check(self) -> None:
        """The parse must read every row without a warning, or its rate would measure a failure."""
        parsed = self.run()
        got = len(parsed.threads if hasattr(parsed, "threads") else parsed.posts)
        if got != self.rows or parsed.warnings:
            raise SystemExit(f"{self.label}: parsed {got} rows (want {self.rows}); warnings {parsed.warnings[:3]}")


def parse_cases(page_size: int) -> list[ParseCase]:
    """The four answers, with Sites built from one validated config exactly as the poller builds them."""
    config = load_config("sqlite://", Path(tempfile.gettempdir()) / "spokeswatch-json-state",  # never polled
                         [misago_block(), liuyan_block("http://127.0.0.1:8080/", page_size)])
    misago, liuyan = site_of(config.forum("misago")), site_of(config.forum("liuyan"))
    board = MessageBoard(items=max(100, 3 * page_size), page_size=page_size)
    answered = next(it for it in reversed(board.items) if it.unit is not None)
    enc = MessageBoard.encode
    return [
        ParseCase("Misago thread list", misago, generic.board_url(misago, MISAGO_CATEGORY),
                  enc(misago_list_answer()), generic.parse_thread_list, 26),
        ParseCase("Misago posts page", misago, generic.thread_url(misago, 6), enc(misago_posts_answer()),
                  generic.parse_thread, 18),
        ParseCase("留言板 list page", liuyan, generic.board_url(liuyan, FID), enc(board.list_answer(1)),
                  generic.parse_thread_list, page_size),
        ParseCase("留言板 detail (answered)", liuyan, generic.thread_url(liuyan, answered.id),
                  enc(board.detail_answer(answered)), generic.parse_thread, 2),
    ]


def cpu_seconds(work: Callable[[], object], rounds: int) -> float:
    """CPU seconds of one call of ``work``, averaged over ``rounds`` calls."""
    start = time.process_time()
    for _ in range(rounds):
        work()
    return (time.process_time() - start) / rounds


def rounds_for(work: Callable[[], object], seconds: float) -> int:
    """How many calls of ``work`` take about ``seconds`` of CPU time."""
    return max(3, int(seconds / max(cpu_seconds(work, 3), 1e-6)))


def bench_parse(cases: list[ParseCase], passes: int, seconds: float) -> dict[str, tuple[float, float]]:
    """(engine answers/s, json.loads answers/s) per case: measured alternately, case after case
    and pass after pass, so machine load hits them alike; each keeps its best pass."""
    works = {c.label: (c.run, lambda body=c.body: json.loads(body)) for c in cases}
    rounds = {label: tuple(rounds_for(w, seconds) for w in pair) for label, pair in works.items()}
    best = {label: [math.inf, math.inf] for label in works}
    for _ in range(passes):
        for label, pair in works.items():
            for i, work in enumerate(pair):
                best[label][i] = min(best[label][i], cpu_seconds(work, rounds[label][i]))
    return {label: (1 / engine, 1 / loads) for label, (engine, loads) in best.items()}


def print_parse(cases: list[ParseCase], rates: dict[str, tuple[float, float]]) -> None:
    print(f"{'answer':<26} {'KB':>6} {'rows':>5} {'answers/s':>10} {'rows/s':>9} {'json.loads/s':>13} "
          f"{'÷ json.loads':>12}")
    for c in cases:
        engine, loads = rates[c.label]
        print(f"{c.label:<26} {len(c.body) / 1024:>6.1f} {c.rows:>5} {engine:>10.0f} {engine * c.rows:>9.0f} "
              f"{loads:>13.0f} {engine / loads:>12.3f}")


# ---- 2. the poll -----------------------------------------------------------------------------------

@dataclass
class PollFigures:
    """One poll (or plain fetch): its wall time, the requests the server saw, the fewest it needed."""
    label: str
    wall: float
    requests: Counter  # by method, as the server counted them
    minimum: int
    indexing: float = 0.0  # seconds of the wall time spent indexing for search after the poll

    @property
    def made(self) -> int:
        return sum(self.requests.values())


class IndexTimer:
    """Times the service's search indexing after a poll (Repository.index_search), part of the poll's wall time."""

    def __init__(self, repo):
        self.seconds = 0.0
        original = repo.index_search

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
        repo.index_search = timed


def timed_poll(svc: Service, board: MessageBoard, indexing: IndexTimer, label: str, minimum: int) -> PollFigures:
    """One ``Service.poll()`` as the daemon's poll job makes it, timed on the wall clock."""
    before, index_before = board.requests.copy(), indexing.seconds
    t0 = time.perf_counter()
    [result] = svc.poll()
    wall = time.perf_counter() - t0
    if result.status != "ok":
        raise SystemExit(f"the {label} poll did not go through: {result.status} {result.error} {result.warnings[:3]}")
    return PollFigures(label, wall, board.requests - before, minimum, indexing.seconds - index_before)


def plain_fetch(board: MessageBoard, when: str) -> PollFigures:
    """The baseline: a plain httpx loop over the same API, in the poller's order (a list page, then
    its items' details), json.loads of every answer, nothing stored."""
    before = board.requests.copy()
    t0 = time.perf_counter()
    with httpx.Client(base_url=board.base_url, headers={"X-Access-Token": TOKEN}) as client:
        page, pages = 1, 1
        while page <= pages:
            listed = json.loads(client.post("gov/api/message/list", json={
                "columnId": FID, "pageNum": page, "pageSize": board.page_size}).content)["data"]
            pages = listed["pages"]
            for row in listed["list"]:
                json.loads(client.get("gov/api/message/detail", params={"id": row["id"]}).content)
            page += 1
    wall = time.perf_counter() - t0
    return PollFigures(f"plain httpx fetch, {when}", wall, board.requests - before, board.pages + len(board.items))


def stored(svc: Service) -> tuple[int, int, int]:
    """(threads, posts, official replies) in the database."""
    with svc.repo.session("json benchmark: counting") as s:
        threads = s.scalar(select(func.count()).select_from(ThreadRecord))
        posts = s.scalar(select(func.count()).select_from(PostRecord))
        replies = s.scalar(select(func.count()).select_from(PostRecord).where(PostRecord.pid < 0))
    return threads, posts, replies


def bench_poll(args, database: str, tmp: Path) -> dict:
    """Cold, steady and after-answers polls of a served 留言板; the plain fetch before, between and after."""
    board = MessageBoard(args.items, args.page_size).start()
    try:
        config = load_config(database, tmp / "state", [liuyan_block(board.base_url, args.page_size)])
        plain = [plain_fetch(board, "before")]
        svc = Service(config)  # creates the tables: not part of any timing
        indexing = IndexTimer(svc.repo)
        cold = timed_poll(svc, board, indexing, "cold", board.pages + len(board.items))
        after_cold = stored(svc)
        plain.append(plain_fetch(board, "between"))
        steady = timed_poll(svc, board, indexing, "steady (nothing changed)", 1)
        changed = board.answer(args.answer)
        after = timed_poll(svc, board, indexing, f"after {len(changed)} answered",
                           board.pages_down_to_unchanged(set(changed)) + len(changed))
        after_answers = stored(svc)
        svc.close()
        plain.append(plain_fetch(board, "after"))
    finally:
        board.stop()
    return {"cold": cold, "steady": steady, "after": after, "plain": plain, "stored": after_cold,
            "replies_added": after_answers[2] - after_cold[2], "answered": len(changed)}


def print_poll(r: dict, kind: str, items: int, page_size: int) -> None:
    cold, plain = r["cold"], min(r["plain"], key=lambda p: p.wall)
    threads, posts, replies = r["stored"]
    print(f"{'poll':<26} {'requests ÷ minimum':>25} {'wall s':>8} {'of it, indexing s':>18}")
    for p in (cold, r["steady"], r["after"], *r["plain"]):
        made = f"{p.made / p.minimum:.2f} ({p.made} / {p.minimum})"
        print(f"{p.label:<26} {made:>25} {p.wall:>8.3f} {p.indexing:>18.3f}")
    print(f"\n[{kind}] cold poll of {items} items ({page_size} a page): stored {threads} items, {posts} posts "
          f"({replies} official replies); {threads / cold.wall:.0f} items/s, {posts / cold.wall:.0f} posts/s, "
          f"{cold.made / cold.wall:.0f} requests/s")
    print(f"[{kind}] plain httpx fetch of the same: {plain.made / plain.wall:.0f} requests/s (runs: "
          f"{', '.join(f'{p.wall:.2f} s' for p in r['plain'])}; the fastest counts)")
    print(f"[{kind}] cold poll time ÷ plain fetch time: {cold.wall / plain.wall:.2f}; without the search "
          f"indexing: {(cold.wall - cold.indexing) / plain.wall:.2f}")
    print(f"[{kind}] after {r['answered']} answers: {r['after'].made} requests ({r['after'].requests['POST']} list, "
          f"{r['after'].requests['GET']} detail), {r['replies_added']} official replies stored")


# ---- the database ----------------------------------------------------------------------------------

class BenchDatabase:
    """This run's own, empty database: a SQLite file (in the temp dir unless given), or a
    PostgreSQL database created here. Both are removed by ``drop``."""

    def __init__(self, url: str | None, tmp: Path):
        self.created_file: str | None = None
        self.created_db: str | None = None
        self.server = None
        self.url = normalise_url(url or f"sqlite:///{tmp / 'json.sqlite3'}")
        u = make_url(self.url)
        self.kind = u.get_backend_name()
        if self.kind == "sqlite":
            if not u.database or Path(u.database).exists():
                raise SystemExit(f"{u.database or 'an in-memory database'}: give a new SQLite file")
            self.created_file = u.database
            return
        self.server = u
        admin = scale.admin_engine(u)
        with admin.connect() as c:
            if c.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": u.database}).first():
                admin.dispose()
                raise SystemExit(f"database {u.database} exists: give a new name (the cold poll needs an empty "
                                 "database, and this run drops what it created)")
            c.execute(text(f'CREATE DATABASE "{u.database}"'))
        admin.dispose()
        self.created_db = u.database

    def drop(self) -> None:
        scale.remove_created(self.created_file, self.server, self.created_db)


# ---- the run ---------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=2000, help="items on the generated 留言板")
    ap.add_argument("--page-size", type=int, default=20, help="items per list page")
    ap.add_argument("--answer", type=int, default=10, help="items the server answers before the last poll")
    ap.add_argument("--passes", type=int, default=5, help="alternating passes of the parse measurements")
    ap.add_argument("--seconds", type=float, default=0.25, help="CPU seconds per parse measurement")
    ap.add_argument("--database", help="SQLAlchemy URL of a database to create (PostgreSQL: "
                    "postgresql+psycopg://postgres@host/NAME); default: a temporary SQLite file")
    ap.add_argument("--skip-parse", action="store_true", help="leave out the parse rates")
    ap.add_argument("--skip-poll", action="store_true", help="leave out the polls")
    args = ap.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still drops the database
    load_before = os.getloadavg()[0]

    if not args.skip_parse:
        cases = parse_cases(args.page_size)
        for case in cases:
            case.check()
        print(f"== parse rates, CPU time, best of {args.passes} alternating passes", flush=True)
        print_parse(cases, bench_parse(cases, args.passes, args.seconds))

    if not args.skip_poll:
        tmp = Path(tempfile.mkdtemp(prefix="spokeswatch-json-"))
        db = None
        try:
            db = BenchDatabase(args.database, tmp)
            print(f"\n== polls of a 留言板 API of {args.items} items on 127.0.0.1, {db.kind}", flush=True)
            r = bench_poll(args, db.url, tmp)
        finally:
            if db is not None:
                db.drop()
            shutil.rmtree(tmp, ignore_errors=True)
        print_poll(r, db.kind, args.items, args.page_size)
    print(f"(load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end on "
          f"{os.cpu_count()} CPUs: wall-clock figures are only as steady as the machine)")


if __name__ == "__main__":
    main()
