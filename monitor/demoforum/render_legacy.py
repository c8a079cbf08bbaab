"""Render scenario pages as the older engines do: Discuz! 7.x, phpwind 8.x and phpwind 9.x.

The markup follows those engines' own default templates (Discuz! 7.0
``templates/default``; phpwind 8.7 ``template/wind``; phpwind 9 ``www/template/bbs``),
trimmed to what a page always carries. Times are written the way each engine
formats them: Discuz! 7 ``Y-n-j`` / ``Y-n-j H:i``; phpwind 8 ``Y-m-d`` in lists,
the full time in a ``title`` beside the friendly text of its ``getLastDate()``;
phpwind 9 ``Y-m-d`` and ``m-d H:i`` (no year) in lists, ``Y-m-d H:i`` on posts. The Discuz! 7.2,
phpwind 8.7 and phpwind 9.0 pages follow what those engines served (tests/fixtures/discuz72-real,
phpwind87-real, phpwind9-real). phpwind 8 as 8.7 served it: rows with the ``td.icon`` cell (置顶帖
there), ``<em>replies</em>/views`` and no ``[分类]`` (its title-prefix option is off by default); on
every thread page the ``readNum`` counts and the ``h1#subject_tpc`` with its ``[分类]`` link; floors
0楼, 沙发, 板凳, 地板, 地下室, then 5楼…; every message a ``div.regIgnore`` page with HTTP 200, shown
to a guest as "1、MESSAGE" beside the login form.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from markupsafe import Markup

from monitor.demoforum.render import _abs, _env, _pager, dgmdate, page_slice
from monitor.demoforum.scenario import Scenario, VisibleThread

LABELS = ["楼主", "沙发", "板凳", "地板"]
# phpwind 8.7's floor names by lou (0 = the opening post): none for lou 0 ("0楼"), then as 8.7 showed them
PW8_FLOOR_NAMES = ["", "沙发", "板凳", "地板", "地下室"]
PW8_NEW_SECONDS = 3600  # db_newtime: a row whose last post is this recent gets new.gif
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
    """numofpage()'s links: 1 (or '1...'), up to two before, this page, the rest (four less those
    before, one more on page 1), N (or '...N')."""
    links = [(1, "1..." if pages > 7 and page - 3 > 1 else "1")] if page != 1 else []
    left_start = page - 2 if pages - page >= 3 else page - (5 - (pages - page))
    before = [i for i in range(left_start, page) if i > 1]
    links += [(i, str(i)) for i in before]
    links.append((page, str(page)))
    after = 4 - len(before) + (1 if page == 1 else 0)
    links += [(i, str(i)) for i in range(page + 1, pages) if i <= page + after]
    if page != pages:
        links.append((pages, f"...{pages}" if pages > 7 and page + 3 < pages else str(pages)))
    return links


def pw_thread_pages(posts: int, per_page: int) -> list[tuple[str, int]]:
    """phpwind 8's page links in a board row (``span.tpage``) of a thread over several pages, as
    (what comes before the link, page): 2 … 5, then " .. N" past six."""
    pages = math.ceil(posts / per_page)
    links = []
    for j in range(2, pages + 1):
        if j == 6 and j + 1 < pages:
            links.append((" .. ", pages))
            break
        links.append((" ", j))
    return links


def pw_substrs(text: str, length: int) -> str:
    """phpwind 8's substrs() on a GBK site: cut to ``length`` bytes (a Chinese character is two), then ' ..'."""
    width = [1 if ord(c) < 128 else 2 for c in text]
    if sum(width) <= length:
        return text
    out, used = "", 0
    for c, w in zip(text, width):
        if used >= length - 1:
            if used < length and w == 1:
                out += c
            break
        out, used = out + c, used + w
    return out + " .."


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
        else:  # phpwind 8.7's thread_maincommon.htm
            row.update(posted=f"{first.at.astimezone(s.tz):%Y-%m-%d}",
                       posted_today=first.at.astimezone(s.tz).date() == now.astimezone(s.tz).date(),
                       last_full=f"{last.at.astimezone(s.tz):%Y-%m-%d %H:%M}",
                       last_friendly=pw_friendly(last.at, now, s),
                       status="topichot" if row["replies"] >= 10 else "topicnew",
                       tooltip="热门主题" if row["replies"] >= 10 else "开放主题",
                       new=0 <= (now - last.at).total_seconds() <= PW8_NEW_SECONDS,
                       tpages=pw_thread_pages(len(v.posts), s.posts_per_page))
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
                                              board_href=board_script(flavor, fid), cate_fid=category_fid(s),
                                              now_short=f"{now.astimezone(s.tz):%m-%d %H:%M}")


def render_thread(s: Scenario, v: VisibleThread, page: int, now: datetime, base_url: str, flavor: str) -> str:
    """A thread page: ``viewthread.php`` (discuz7) or ``read.php`` (phpwind)."""
    posts, page, pages = page_slice(v.posts, page, s.posts_per_page)
    start = (page - 1) * s.posts_per_page
    views = []
    names = PW8_FLOOR_NAMES if flavor == "phpwind" else []
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
            named = lou < len(names) and names[lou]  # phpwind 8.7: a name and two spaces, else "N楼" and one
            view.update(label=names[lou] if named else f"{lou}楼", label_gap=2 if named else 1)
        views.append(view)
    script = f"{SCRIPTS[flavor][1]}?tid={v.tid}" + {"phpwind9": f"&fid={v.thread.fid}",
                                                   "discuz7": "&extra=page%3D1"}.get(flavor, "")
    return _env.get_template(TEMPLATES[flavor][1]).render(
        s=s, v=v, t=v.thread, board=s.boards[v.thread.fid], posts=views, labels=LABELS, base_url=base_url,
        type=s.boards[v.thread.fid]["types"].get(v.thread.typeid), replies=len(v.posts) - 1,
        pager=_pager(script, page, pages) | {"items": len(v.posts), "links": pw_page_links(page, pages)},
        footer_time=_abs(now.astimezone(s.tz), "dt"), board_href=board_script(flavor, v.thread.fid),
        cate_fid=category_fid(s), crumb_subject=pw_substrs(v.thread.subject, 30),
        now_short=f"{now.astimezone(s.tz):%m-%d %H:%M}")


def render_message(s: Scenario, message: str, base_url: str, flavor: str, login: bool = False,
                   jumpurl: str = "", done: bool = False) -> str:
    """The engine's message page: a deleted thread, an unknown board, a login wall (with its form).

    ``login``: the page offers a login form (phpwind 8.7 shows every message to a guest so, as
    "1、MESSAGE"); ``jumpurl``: where that form returns to (phpwind 8: the page asked for);
    ``done``: a success (phpwind 8.7's refreshto page, ``div.regCorrect``, after a login)."""
    return _env.get_template(TEMPLATES[flavor][2]).render(s=s, message=message, base_url=base_url, login=login,
                                                          back=True, jumpurl=jumpurl or base_url, done=done)
