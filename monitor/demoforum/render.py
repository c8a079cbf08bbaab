"""Render scenario pages in Discuz! X3.5 desktop markup, as the real engine does.

Times follow ``dgmdate($t, 'u')``: relative forms wrapped in ``<span title>``
for today, yesterday, the day before and up to 7 days back; absolute
``Y-n-j H:i[:s]`` beyond. All forum content is HTML-escaped (autoescape).
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from email.utils import format_datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from monitor.demoforum.scenario import DemoPost, Scenario, VisibleThread

_env = Environment(loader=PackageLoader("monitor.demoforum", "templates"),
                   autoescape=select_autoescape(["html", "xml"]), trim_blocks=True, lstrip_blocks=True)
_env.filters["rfc822"] = lambda dt: format_datetime(dt.astimezone(timezone.utc))


def _abs(dt: datetime, fmt: str) -> str:
    """Discuz! absolute format without zero padding: Y-n-j, Y-n-j H:i, Y-n-j H:i:s."""
    date = f"{dt.year}-{dt.month}-{dt.day}"
    if fmt == "d":
        return date
    return f"{date} {dt:%H:%M}" + (f":{dt:%S}" if fmt == "dts" else "")


def dgmdate(ts: datetime, now: datetime, scenario: Scenario, title_fmt: str) -> Markup:
    """Discuz!'s 'u' format: relative text in a span titled with the absolute time."""
    tz = scenario.tz
    local, local_now = ts.astimezone(tz), now.astimezone(tz)
    absolute = _abs(local, title_fmt)
    today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    delta = int((now - ts).total_seconds())
    days_before = math.ceil((today - local).total_seconds() / 86400) if local < today else 0
    if local >= today:
        if delta > 3600:
            text = f"{delta // 3600}&nbsp;小时前"
        elif delta > 1800:
            text = "半小时前"
        elif delta > 60:
            text = f"{delta // 60}&nbsp;分钟前"
        elif delta > 0:
            text = f"{delta}&nbsp;秒前"
        else:
            text = "刚刚"
    elif days_before == 1:
        text = f"昨天&nbsp;{local:%H:%M}"
    elif days_before == 2:
        text = f"前天&nbsp;{local:%H:%M}"
    elif days_before <= 7:
        text = f"{days_before}&nbsp;天前"
    else:
        return Markup(escape(absolute))
    return Markup(f'<span title="{escape(absolute)}">{text}</span>')


def plain(markup: Markup) -> Markup:
    """dgmdate's text without its title span, as touch pages and the API show it (IN_MOBILE)."""
    text = str(markup)
    return Markup(text.split(">", 1)[1].rsplit("<", 1)[0]) if text.startswith("<span") else markup


def page_slice(items: list, page: int, per_page: int) -> tuple[list, int, int]:
    """(the items on page ``page``, that page clamped to 1..pages, the number of pages)."""
    pages = max(1, math.ceil(len(items) / per_page))
    page = min(max(page, 1), pages)
    return items[(page - 1) * per_page: page * per_page], page, pages


def _pager(base: str, page: int, pages: int) -> dict:
    return {"page": page, "pages": pages, "base": base,
            "numbers": list(range(max(1, page - 4), min(pages, page + 5) + 1))}


def render_board(s: Scenario, fid: int, page: int, now: datetime, base_url: str, touch: bool = False) -> str:
    rows, page, pages = page_slice(s.board_threads(fid, now), page, s.threads_per_page)
    if page > 1:
        rows = [v for v in rows if not v.thread.sticky]
    board = s.boards[fid]
    return _env.get_template("touch_forumdisplay.html" if touch else "forumdisplay.html").render(
        s=s, fid=fid, board=board, rows=[_row(s, v, now) for v in rows], base_url=base_url, now=now,
        footer_time=_abs(now.astimezone(s.tz), "dt"),
        pager=_pager(f"forum.php?mod=forumdisplay&fid={fid}", page, pages))


def _row(s: Scenario, v: VisibleThread, now: datetime) -> dict:
    first, last = v.posts[0], v.last_post
    return {"t": v.thread, "author_uid": first.uid, "author": s.users[first.uid],
            "posted": dgmdate(first.at, now, s, "d"), "posted_plain": plain(dgmdate(first.at, now, s, "d")),
            "today": first.at.astimezone(s.tz).date() == now.astimezone(s.tz).date(),
            "replies": len(v.posts) - 1, "views": v.views, "last_poster": s.users[last.uid],
            "last_posted": dgmdate(last.at, now, s, "dt"),
            "type": s.boards[v.thread.fid]["types"].get(v.thread.typeid)}


def _post_view(s: Scenario, p: DemoPost, floor: int, now: datetime) -> dict:
    edited = p.edited_at is not None and p.edited_at <= now
    body = p.edited_body if edited and p.edited_body is not None else p.body
    note = f"本帖最后由 {s.users[p.uid]} 于 {_abs(p.edited_at.astimezone(s.tz), 'dt')} 编辑" if edited else None
    posted = dgmdate(p.at, now, s, "dts")
    return {"p": p, "floor": floor, "author": s.users[p.uid], "posted": posted, "posted_plain": plain(posted),
            "lines": body.split("\n"), "note": note}


def render_thread(s: Scenario, v: VisibleThread, page: int, now: datetime, base_url: str,
                  touch: bool = False) -> str:
    shown, page, pages = page_slice(v.posts, page, s.posts_per_page)
    start = (page - 1) * s.posts_per_page
    posts = [_post_view(s, p, start + i + 1, now) for i, p in enumerate(shown)]
    labels = ["楼主", "沙发", "板凳", "地板"]
    return _env.get_template("touch_viewthread.html" if touch else "viewthread.html").render(
        s=s, v=v, t=v.thread, board=s.boards[v.thread.fid], posts=posts, labels=labels, base_url=base_url,
        type=s.boards[v.thread.fid]["types"].get(v.thread.typeid), replies=len(v.posts) - 1,
        footer_time=_abs(now.astimezone(s.tz), "dt"),
        pager=_pager(f"forum.php?mod=viewthread&tid={v.tid}&extra=", page, pages))


def render_prompt(s: Scenario, message: str, base_url: str, css: str = "alert_error") -> str:
    return _env.get_template("prompt.html").render(s=s, message=message, css=css, base_url=base_url)


def render_profile(s: Scenario, uid: int, now: datetime, base_url: str) -> str:
    """A member's profile with 活跃概况 (times as 'Y-m-d H:i', like the real page)."""
    seen = s.last_visit(uid, now)
    fmt = (lambda d: d.astimezone(s.tz).strftime("%Y-%m-%d %H:%M")) if seen else None  # noqa: E731
    return _env.get_template("profile.html").render(
        s=s, uid=uid, name=s.users[uid], base_url=base_url, footer_time=_abs(now.astimezone(s.tz), "dt"),
        last_visit=fmt(seen) if seen else None)


def render_rss(s: Scenario, fid: int, now: datetime, base_url: str, limit: int = 20) -> str:
    """RSS 2.0 of a board's newest threads by posting time, as forum.php?mod=rss serves it."""
    threads = sorted(s.board_threads(fid, now), key=lambda v: v.posts[0].at, reverse=True)[:limit]
    return _env.get_template("rss.xml").render(s=s, fid=fid, board=s.boards[fid], base_url=base_url,
                                               items=threads, users=s.users, now=now)


def render_login(s: Scenario, base_url: str) -> str:
    return _env.get_template("login.html").render(s=s, base_url=base_url, footer_time="")


def render_index(s: Scenario, now: datetime, base_url: str) -> str:
    boards = [(fid, b["name"], len(s.board_threads(fid, now))) for fid, b in sorted(s.boards.items())]
    return _env.get_template("index.html").render(s=s, boards=boards, base_url=base_url)
