"""A government message board (留言板) that renders in the browser from a JSON API.

The API is generated here in the shape such platforms commonly have (a PageHelper-style list
answered to a POST with a JSON body and a token header; one item per detail answer, the
official reply as an object or null; times as text, unix milliseconds and ISO 8601; counts
like "1.2万"). spokeswatch reads it with ``format: json`` and JMESPath only, end to end
through the CLI a user types: probe, poll, check, bulletin.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import ROOT
from tests.test_generic.local_server import QuietHandler, serving

TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "t0ken-for-tests"
PAGE_SIZE = 10
UNITS = ["市供水公司", "荆门市自来水公司", "市城管局"]


def _items() -> list[dict]:
    """23 questions, 2 to 24 November 2026: answered next day, answered 8 days later, or not."""
    items = []
    for i in range(23):
        asked = datetime(2026, 11, 2 + i, 9, 0, 17, tzinfo=TZ)
        kind = ("in_time", "late", "open")[i % 3]
        replied = asked + (timedelta(days=1, hours=1) if kind == "in_time" else timedelta(days=8))
        if kind == "late" and replied > datetime(2026, 11, 30, tzinfo=TZ):
            kind = "open"
        items.append({"id": 5001 + i, "title": f"第{i + 1}号留言：{'水压' if i % 2 else '路灯'}问题 <急>",
                      "asker": f"网友{i + 1:02d}", "asked": asked, "kind": kind,
                      "unit": UNITS[i % 3] if kind != "open" else None, "replied": replied if kind != "open" else None,
                      "hits": "1.2万" if i == 0 else str(40 + i)})
    return items


ITEMS = _items()


def _list_answer(page: int) -> dict:
    newest_first = sorted(ITEMS, key=lambda it: it["asked"], reverse=True)
    rows = newest_first[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    pages = -(-len(ITEMS) // PAGE_SIZE)
    return {"code": 200, "msg": "success", "data": {
        "total": len(ITEMS), "pageNum": page, "pageSize": PAGE_SIZE, "pages": pages,
        "list": [{"id": it["id"], "title": it["title"], "userName": it["asker"],
                  "createTime": it["asked"].strftime("%Y-%m-%d %H:%M:%S"),
                  "replyStatus": 0 if it["kind"] == "open" else 1, "hits": it["hits"]} for it in rows]}}


def _detail_answer(item: dict) -> dict:
    reply = None if item["kind"] == "open" else {
        "unitName": item["unit"], "replyTime": item["replied"].isoformat(),
        "content": "<p>您好！</p><p>已安排处理。</p>"}
    return {"code": 200, "msg": "success", "data": {
        "id": item["id"], "title": item["title"], "userName": item["asker"],
        "createTime": int(item["asked"].timestamp() * 1000), "content": f"{item['title']}，请尽快处理。",
        "reply": reply}}


@pytest.fixture
def api():
    """The generated API on 127.0.0.1; what it was asked is kept in ``asked``."""
    asked: list[tuple[str, str, dict]] = []

    class Handler(QuietHandler):
        def _answer(self, status: int, data: dict) -> None:
            self.send_body(status, json.dumps(data, ensure_ascii=False).encode("utf-8"),
                           "application/json;charset=UTF-8")

        def _token_ok(self) -> bool:
            if self.headers.get("X-Access-Token") != TOKEN:
                self._answer(401, {"code": 401, "msg": "token 无效，请重新登录", "data": None})
                return False
            return True

        def do_POST(self):  # noqa: N802
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            asked.append(("POST", self.path, payload))
            if not self._token_ok():
                return
            if self.path == "/gov/api/message/list" and payload.get("columnId") == 7:
                return self._answer(200, _list_answer(int(payload.get("pageNum", 1))))
            self._answer(404, {"code": 404, "msg": "not found"})

        def do_GET(self):  # noqa: N802
            asked.append(("GET", self.path, {}))
            if not self._token_ok():
                return
            parts = urlsplit(self.path)
            item_id = int(parse_qs(parts.query).get("id", ["0"])[0])
            item = next((it for it in ITEMS if it["id"] == item_id), None)
            if parts.path == "/gov/api/message/detail" and item:
                return self._answer(200, _detail_answer(item))
            self._answer(404, {"code": 404, "msg": "留言不存在", "data": None})

    with serving(Handler) as base:
        yield base, asked


FORUM = """
  - id: liuyan
    name: 市长信箱
    base_url: {base}
    rate_limit: 0
    engine: generic
    generic:
      format: json
      board_url: "gov/api/message/list"
      board_body: '{{"columnId": {{fid}}, "pageNum": {{page}}, "pageSize": 10}}'
      thread_url: "gov/api/message/detail?id={{tid}}"
      link_url: "gov/message/detail.html?id={{tid}}"
      headers: {{X-Access-Token: "${{LIUYAN_TOKEN}}"}}
      time_formats: ["%Y-%m-%d %H:%M:%S"]
      threads:
        row: data.list
        tid: id
        title: title
        author: userName
        time: createTime
        views: hits
        replies: replyStatus         # 1 once answered: the item is read again then
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
      - {{fid: 7, name: 市长信箱, kind: programme}}
"""


def write_config(tmp_path, base: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"""
database: sqlite:///{tmp_path / 'db.sqlite3'}
timezone: Asia/Shanghai
forums:{FORUM.format(base=base)}
units:
  - id: water
    name: 市供水公司
    aliases: [自来水公司]
  - id: street
    name: 市城管局
""", "utf-8")
    return str(path)


def spokeswatch(*args, token: str | None = TOKEN, cwd=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LIUYAN_TOKEN"}
    if token is not None:
        env["LIUYAN_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=120)


def test_probe_reads_the_post_endpoint_with_its_body_and_token(api, tmp_path):
    base, asked = api
    cfg = write_config(tmp_path, base)
    out = spokeswatch("probe", f"{base}gov/api/message/list#fid=7&page=2", "-c", cfg, "--forum", "liuyan", "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    expected = sorted(ITEMS, key=lambda it: it["asked"], reverse=True)[10:20]
    assert [t["tid"] for t in r["threads"]] == [it["id"] for it in expected]
    assert [t["posted_at"] for t in r["threads"]] == [it["asked"].isoformat() for it in expected]
    assert r["next_page"].endswith("gov/api/message/list#fid=7&page=3") and (r["page"], r["total_pages"]) == (2, 3)
    assert asked[-1] == ("POST", "/gov/api/message/list", {"columnId": 7, "pageNum": 2, "pageSize": 10})
    plain = spokeswatch("probe", f"{base}gov/api/message/detail?id=5001#tid=5001", "-c", cfg, "--forum", "liuyan")
    assert plain.returncode == 0, plain.stderr
    assert "市供水公司" in plain.stdout and "next page: none" in plain.stdout
    assert "2026-11-02T09:00:17+08:00" in plain.stdout  # the millisecond time, exact to the second


def test_poll_check_bulletin_through_the_cli(api, tmp_path):
    base, asked = api
    cfg = write_config(tmp_path, base)
    for command in (["poll"], ["check", "--now", "2026-12-01 00:00"]):
        out = spokeswatch(*command, "-c", cfg)
        assert out.returncode == 0, out.stdout + out.stderr
    assert sum(1 for a in asked if a[0] == "POST") == 3  # the three list pages, each once
    assert sum(1 for a in asked if a[0] == "GET") == len(ITEMS)  # every item once
    before = len(asked)
    out = spokeswatch("poll", "-c", cfg)
    assert out.returncode == 0, out.stdout + out.stderr
    assert [a[0] for a in asked[before:]] == ["POST"]  # nothing changed: the first list page only
    out = spokeswatch("bulletin", "--period", "2026-11", "--as-of", "2026-12-01 00:00", "-c", cfg,
                      "--out", str(tmp_path / "out"))
    assert out.returncode == 0, out.stdout + out.stderr
    b = json.loads((tmp_path / "out" / "bulletin.json").read_text("utf-8"))
    kinds = [it["kind"] for it in ITEMS]
    totals = b["totals"] if "totals" in b else b
    assert totals["received"] == len(ITEMS)
    assert totals["answered_in_time"] == kinds.count("in_time")
    assert totals["answered_late"] == kinds.count("late")
    assert totals["unanswered"] == kinds.count("open")
    html = (tmp_path / "out" / "bulletin.html").read_text("utf-8")
    assert "&lt;急&gt;" in html and "<急>" not in html  # API text is escaped in HTML output
    assert f"{base}gov/message/detail.html?id=" in html  # links go to the page for people

    from sqlalchemy import create_engine, text
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.connect() as c:
        views = c.execute(text("SELECT views FROM threads WHERE tid = 5001")).scalar_one()
        replies = dict(c.execute(text("SELECT pid, unit_id FROM posts WHERE pid < 0")).all())
        asked_at = c.execute(text("SELECT posted_at FROM posts WHERE pid = 5001")).scalar_one()
    engine.dispose()
    assert views == 12000  # "1.2万"
    assert {-it["id"] for it in ITEMS if it["kind"] != "open"} == set(replies)
    assert all(unit in ("water", "street") for unit in replies.values())
    assert str(asked_at).startswith("2026-11-02 01:00:17")  # stored in UTC, to the second


def test_a_refused_token_fails_the_poll_with_the_apis_own_words_and_stores_nothing(api, tmp_path):
    base, _ = api
    cfg = write_config(tmp_path, base)
    out = spokeswatch("poll", "-c", cfg, token="expired")
    assert out.returncode != 0
    assert "token 无效" in out.stdout + out.stderr and "Traceback" not in out.stderr
    out = spokeswatch("status", "-c", cfg)
    assert "liuyan: " in out.stdout and "failed" in out.stdout, out.stdout
    assert "stored: 0 threads, 0 posts" in out.stdout, out.stdout
