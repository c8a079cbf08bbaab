"""A government message board (留言板): a question per page, then an official reply block.

No real 留言板 page could be obtained (see shared/fixtures/real/SOURCES.md), so this board is
generated here in the common shape: a list table, and item pages whose reply block is a
table of 回复单位 / 回复时间 / 回复内容. The reply counts for the unit it names.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.config import parse_config
from monitor.periods import parse_period
from monitor.service import Service
from tests.test_generic.local_server import page_map_handler, serving

TZ = ZoneInfo("Asia/Shanghai")
ITEMS = [  # id, title, asker, asked, (unit, replied, text) or None
    (1001, "小区停水三天了什么时候来水", "网友甲", "2026-11-02 09:00:00", ("市供水公司", "2026-11-03 10:00:00", "已抢修完毕。")),
    (1002, "路灯不亮", "网友乙", "2026-11-04 20:00:00", None),
    (1003, "水压太低", "网友丙", "2026-11-05 08:30:00", ("荆门市自来水公司", "2026-11-12 16:00:00", "已调整加压泵。")),
]


def _item_page(item) -> str:
    id_, title, asker, asked, reply = item
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in
                   zip(("回复单位", "回复时间", "回复内容"), reply or ("", "", "")))
    return (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<div class='question'><h1>{title}</h1><div class='meta'>留言人：<span class='asker'>{asker}</span>"
            f" 留言时间：<span class='asked'>{asked}</span></div><div class='content'>{title}，请尽快处理。</div></div>"
            f"<h2>回复</h2><table class='reply'>{rows}</table></body></html>")


def _list_page() -> str:
    rows = "".join(f"<tr class='item'><td><a href='detail.jsp?id={i[0]}'>{i[1]}</a></td><td class='who'>{i[2]}</td>"
                   f"<td class='when'>{i[3]}</td><td>{'已回复' if i[4] else '未回复'}</td></tr>" for i in ITEMS)
    return f"<html><head><meta charset='utf-8'></head><body><table class='list'>{rows}</table></body></html>"


@pytest.fixture
def board():
    pages = {"/list.jsp?page=1": _list_page(), **{f"/detail.jsp?id={i[0]}": _item_page(i) for i in ITEMS}}

    with serving(page_map_handler(pages)) as base:
        yield base


def config(base_url: str, db: str):
    return parse_config(f"""
database: {db}
forums:
  - id: liuyan
    name: 市长信箱留言板
    base_url: {base_url}
    rate_limit: 0
    engine: generic
    generic:
      board_url: "list.jsp?page={{page}}"
      thread_url: "detail.jsp?id={{tid}}"
      tid_pattern: "detail\\\\.jsp\\\\?id=(\\\\d+)"
      time_formats: ["%Y-%m-%d %H:%M:%S"]
      threads:
        row: "table.list tr.item"
        link: "a@href"
        author: "td.who"
        time: "td.when"
      posts:
        post: "div.question"
        pid: "#tid"
        author: "span.asker"
        time: "span.asked"
        body: "div.content"
        official_reply: "table.reply"
        official_unit: "td:-soup-contains('回复单位') + td"
        official_time: "td:-soup-contains('回复时间') + td"
        official_body: "td:-soup-contains('回复内容') + td"
    boards:
      - {{fid: 1, name: 留言板, kind: programme}}
units:
  - id: water
    name: 市供水公司
    aliases: [自来水公司]
  - id: street
    name: 市城管局
""")


def test_official_replies_count_for_the_unit_they_name(board, tmp_path):
    svc = Service(config(board, f"sqlite:///{tmp_path / 'db.sqlite3'}"),
                  clock=lambda: datetime(2026, 12, 1, tzinfo=TZ))
    [r] = svc.poll()
    assert r.status == "ok", (r.error, r.warnings)
    from sqlalchemy import select

    from models.tables import PostRecord
    with svc.repo.session("t") as s:
        posts = {p.pid: p for p in s.scalars(select(PostRecord))}
    assert set(posts) == {1001, -1001, 1002, 1003, -1003}  # questions, and replies where there are any
    reply = posts[-1001]
    assert (reply.author, reply.unit_id, reply.body) == ("市供水公司", "water", "已抢修完毕。")
    assert reply.posted_at == datetime(2026, 11, 3, 10, 0, tzinfo=TZ)
    assert posts[-1003].unit_id == "water"  # named by an alias inside a longer name
    assert posts[1002].author == "网友乙" and posts[1002].posted_at == datetime(2026, 11, 4, 20, 0, tzinfo=TZ)
    b = svc.bulletin(parse_period("2026-11"), as_of=datetime(2026, 12, 1, tzinfo=TZ))
    assert (b.received, b.answered_in_time, b.answered_late, b.unanswered) == (3, 1, 1, 1)
    water = next(u for u in b.units if u["unit"] == "市供水公司")
    assert (water["answered_in_time"], water["answered_late"]) == (1, 1)
    svc.close()
