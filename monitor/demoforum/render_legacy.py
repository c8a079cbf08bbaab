"""Render scenario pages as the older engines do: Discuz! 7.x, phpwind 8.x and phpwind 9.x.

The markup follows those engines' own default templates (Discuz! 7.0
``templates/default``; phpwind 8.7 ``template/wind``; phpwind 9 ``www/template/bbs``),
trimmed to what a page always carries. Times are written the way each engine
formats them: Discuz! 7 ``Y-n-j`` / ``Y-n-j H:i``; phpwind 8 ``Y-m-d`` in lists,
the full time in a ``title`` beside the friendly text of its ``getLastDate()``;
phpwind 9 ``Y-m-d`` and ``m-d H:i`` (no year) in lists, ``Y-m-d H:i`` on posts. The Discuz! 7.2 and
phpwind 9.0 pages follow what those engines served (tests/fixtures/discuz72-real, phpwind9-real).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from markupsafe import Markup

from monitor.demoforum.render import _abs, _env, _pager, dgmdate, page_slice
from monitor.demoforum.scenario import Scenario, VisibleThread

LABELS = ["楼主", "沙发", "板凳", "地板"]
# flavor → (board list, thread, message page) templates and its scripts
TEMPLATES = {"discuz7": ("d7_forumdisplay.html", "d7_viewthread.html", "d7_message.html"),
             "phpwind": ("pw_thread.html", "pw_read.html", "pw_showmsg.html"),
             "phpwind9": ("pw9_thread.html", "pw9_read.html", "pw9_error.html")}
SCRIPTS = {"discuz7": ("forumdisplay.php", "viewthread.php", "logging.php"),
           "phpwind": ("thread.php", "read.php", "login.php"),
           "phpwind9": ("index.php?c=thread", "read.php", "login.php")}  # 9.x has no thread.php (HTTP 404)


def d7_dgmdate(ts: datetime, now: datetime, s: Scenario) -> Markup:
    """Discuz! 7.2's dgmdate() with dateconvert on: X's forms, but 'N 天前 H:i' and '刚才'."""
    text = str(dgmdate(ts, now, s, "dt"))
    return Markup(text.replace("&nbsp;天前<", f"&nbsp;天前&nbsp;{ts.astimezone(s.tz):%H:%M}<").replace(">刚刚<", ">刚才<"))


def pw_friendly(ts: datetime, now: datetime, s: Scenario) -> str:
    """phpwind's getLastDate(): seconds/minutes/hours today, 昨天/前天 H:i, m-d this year, else Y-m-d."""
    local, local_now = ts.astimezone(s.tz), now.astimezone(s.tz)
    decrease = (now - ts).total_seconds()
    if decrease <= 0:
        return f"{local:%Y-%m-%d}"
    if local.date() == local_now.date():
        if decrease <= 60:
            return f"{int(decrease)}秒前"
        if decrease <= 3600:
            return f"{math.ceil(decrease / 60)}分钟前"
        return f"{math.ceil(decrease / 3600)}小时前"
    for days, word in ((1, "昨天"), (2, "前天")):
        if local.date() == local_now.date() - timedelta(days=days):
            return f"{word} {local:%H:%M}"
    return f"{local:%m-%d}" if local.year == local_now.year else f"{local:%Y-%m-%d}"


def pw_page_links(page: int, pages: int) -> list[tuple[int, str]]:
    """numofpage()'s links: 1 (or '1...'), up to two before, this page, the rest up to five, N (or '...N')."""
    links = [(1, "1..." if pages > 7 and page - 3 > 1 else "1")] if page != 1 else []
    left_start = page - 2 if pages - page >= 3 else page - (5 - (pages - page))
    before = [i for i in range(left_start, page) if i > 1]
    links += [(i, str(i)) for i in before]
    links.append((page, str(page)))
    links += [(i, str(i)) for i in range(page + 1, pages) if i <= page + 4 - len(before)]
    if page != pages:
        links.append((pages, f"...{pages}" if pages > 7 and page + 3 < pages else str(pages)))
    return links


def _rows(s: Scenario, fid: int, page: int, now: datetime, flavor: str) -> tuple[list[dict], int, int]:
    threads = s.board_threads(fid, now)
    if flavor == "phpwind9":
        rows, page, pages = _rows9(threads, page, s.threads_per_page)
    else:
        rows, page, pages = page_slice(threads, page, s.threads_per_page)
        if page > 1:
            rows = [v for v in rows if not v.thread.sticky]
        rows = [(v, v.thread.sticky) for v in rows]
    out = []
    for v, stuck in rows:
        first, last = v.posts[0], v.last_post
        row = {"t": v.thread, "author_uid": first.uid, "author": s.users[first.uid], "replies": len(v.posts) - 1,
               "views": v.views, "last_poster": s.users[last.uid],
               "type": s.boards[v.thread.fid]["types"].get(v.thread.typeid), "stuck": stuck}
        if flavor == "discuz7":
            row.update(posted=_abs(first.at.astimezone(s.tz), "d"), last_posted=d7_dgmdate(last.at, now, s))
        elif flavor == "phpwind9":
            row.update(posted=f"{first.at.astimezone(s.tz):%Y-%m-%d}", last_uid=last.uid,
                       last_short=f"{last.at.astimezone(s.tz):%m-%d %H:%M}")
        else:
            row.update(posted=f"{first.at.astimezone(s.tz):%Y-%m-%d}",
                       last_full=f"{last.at.astimezone(s.tz):%Y-%m-%d %H:%M}",
                       last_friendly=pw_friendly(last.at, now, s))
        out.append(row)
    return out, page, pages


def _rows9(threads: list[VisibleThread], page: int, per_page: int) -> tuple[list, int, int]:
    """phpwind 9.0's board list: the topped threads head page 1, and every thread (the topped ones
    too, unmarked) follows in last-post order, so a topped thread shows twice when it is recent."""
    top = [v for v in threads if v.thread.sticky]
    ordinary = sorted(threads, key=lambda v: (-v.last_post.at.timestamp(), -v.tid))
    pages = max(1, math.ceil((len(top) + len(ordinary)) / per_page))
    page = min(max(page, 1), pages)
    if page == 1:
        return [(v, True) for v in top] + [(v, False) for v in ordinary[: per_page - len(top)]], page, pages
    start = (page - 1) * per_page - len(top)
    return [(v, False) for v in ordinary[start: start + per_page]], page, pages


def board_script(flavor: str, fid: int) -> str:
    """The board list's address (relative): forumdisplay.php?fid=F, thread.php?fid=F, index.php?c=thread&fid=F."""
    script = SCRIPTS[flavor][0]
    return f"{script}{'&' if '?' in script else '?'}fid={fid}"


def category_fid(s: Scenario) -> int:
    """phpwind 9's boards sit in a category, itself a fid: the first fid no board has."""
    return next(n for n in range(1, len(s.boards) + 2) if n not in s.boards)


def render_board(s: Scenario, fid: int, page: int, now: datetime, base_url: str, flavor: str) -> str:
    """A board list page: ``forumdisplay.php`` (discuz7), ``thread.php`` (phpwind) or ``index.php?c=thread`` (phpwind9)."""
    rows, page, pages = _rows(s, fid, page, now, flavor)
    pager = _pager(board_script(flavor, fid), page, pages) | {"items": len(s.board_threads(fid, now)),
                                                                       "links": pw_page_links(page, pages)}
    return _env.get_template(TEMPLATES[flavor][0]).render(s=s, fid=fid, board=s.boards[fid], rows=rows, base_url=base_url,
                                              pager=pager, footer_time=_abs(now.astimezone(s.tz), "dt"),
                                              board_href=board_script(flavor, fid), cate_fid=category_fid(s))


def render_thread(s: Scenario, v: VisibleThread, page: int, now: datetime, base_url: str, flavor: str) -> str:
    """A thread page: ``viewthread.php`` (discuz7) or ``read.php`` (phpwind)."""
    posts, page, pages = page_slice(v.posts, page, s.posts_per_page)
    start = (page - 1) * s.posts_per_page
    views = []
    for i, p in enumerate(posts):
        edited = p.edited_at is not None and p.edited_at <= now
        body = p.edited_body if edited and p.edited_body is not None else p.body
        local = p.at.astimezone(s.tz)
        lou = start + i  # phpwind counts floors from 0 (楼主)
        view = {"p": p, "floor": lou + 1, "lou": lou, "author": s.users[p.uid], "lines": body.split("\n"),
                "pid": "tpc" if lou == 0 else p.pid, "pid9": 0 if lou == 0 else p.pid,
                "posted9": f"{local:%Y-%m-%d %H:%M}",
                "note9": f"{s.users[p.uid]}于{p.edited_at.astimezone(s.tz):%Y-%m-%d %H:%M}编辑了帖子" if edited else None}
        if flavor == "discuz7":
            view.update(posted=d7_dgmdate(p.at, now, s), note=(
                f"本帖最后由 {s.users[p.uid]} 于 {_abs(p.edited_at.astimezone(s.tz), 'dt')} 编辑" if edited else None))
        else:
            view.update(posted_full=f"{local:%Y-%m-%d %H:%M:%S}", posted_friendly=pw_friendly(p.at, now, s), note=(
                f"此帖被{s.users[p.uid]}在{p.edited_at.astimezone(s.tz):%Y-%m-%d %H:%M}重新编辑" if edited else None))
        views.append(view)
    script = f"{SCRIPTS[flavor][1]}?tid={v.tid}" + {"phpwind9": f"&fid={v.thread.fid}",
                                                   "discuz7": "&extra=page%3D1"}.get(flavor, "")
    return _env.get_template(TEMPLATES[flavor][1]).render(
        s=s, v=v, t=v.thread, board=s.boards[v.thread.fid], posts=views, labels=LABELS, base_url=base_url,
        type=s.boards[v.thread.fid]["types"].get(v.thread.typeid), replies=len(v.posts) - 1,
        pager=_pager(script, page, pages) | {"items": len(v.posts), "links": pw_page_links(page, pages)},
        footer_time=_abs(now.astimezone(s.tz), "dt"), board_href=board_script(flavor, v.thread.fid),
        cate_fid=category_fid(s))


def render_message(s: Scenario, message: str, base_url: str, flavor: str, login: bool = False) -> str:
    """The engine's message page: a deleted thread, an unknown board, a login wall (with its form)."""
    return _env.get_template(TEMPLATES[flavor][2]).render(s=s, message=message, base_url=base_url, login=login, back=True)
