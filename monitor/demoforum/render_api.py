"""Render scenario data as Discuz! X mobile API v4 JSON (every scalar a string, unix times)."""
from __future__ import annotations

import json
import math
from datetime import datetime

from markupsafe import escape

from monitor.demoforum.render import dgmdate, plain
from monitor.demoforum.scenario import Scenario, VisibleThread

_ENVELOPE = {"cookiepre": "demo_", "auth": None, "saltkey": "demo", "member_uid": "0", "member_username": "",
             "member_avatar": "", "groupid": "7", "formhash": "00000000", "ismoderator": None, "readaccess": "1",
             "notice": {"newpush": "0", "newpm": "0", "newprompt": "0", "newmypost": "0"}}


def _answer(variables: dict, message: dict | None = None) -> str:
    out = {"Version": "4", "Charset": "GBK", "Variables": {**_ENVELOPE, **variables}}
    if message:
        out["Message"] = message
    return json.dumps(out, ensure_ascii=True)


def _stored(text: str) -> str:
    """A subject as Discuz! stores and the API returns it: & " < > escaped (dhtmlspecialchars)."""
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def api_board(s: Scenario, fid: int, page: int, now: datetime) -> str:
    threads = s.board_threads(fid, now)
    page = min(max(page, 1), max(1, math.ceil(len(threads) / s.threads_per_page)))
    rows = threads[(page - 1) * s.threads_per_page: page * s.threads_per_page]
    board = s.boards[fid]
    return _answer({
        "forum": {"fid": str(fid), "name": board["name"], "threads": str(len(threads)),
                  "threadcount": str(len(threads))},
        "forum_threadlist": [{
            "tid": str(v.tid), "typeid": str(v.thread.typeid), "author": s.users[v.posts[0].uid],
            "authorid": str(v.posts[0].uid), "subject": _stored(v.thread.subject),
            "dbdateline": str(int(v.posts[0].at.timestamp())), "dateline": str(plain(dgmdate(v.posts[0].at, now, s, "d"))),
            "dblastpost": str(int(v.last_post.at.timestamp())), "lastpost": str(plain(dgmdate(v.last_post.at, now, s, "dt"))),
            "lastposter": s.users[v.last_post.uid], "views": str(v.views), "replies": str(len(v.posts) - 1),
            "displayorder": "1" if v.thread.sticky else "0"} for v in rows],
        "threadtypes": {"types": {str(k): name for k, name in board["types"].items()}},
        "tpp": str(s.threads_per_page), "page": str(page)})


def api_thread(s: Scenario, v: VisibleThread | None, page: int, now: datetime) -> str:
    if v is None:
        return _answer({"postlist": []}, {"messageval": "thread_nonexistence",
                                          "messagestr": "mobile:thread_nonexistence"})
    pages = max(1, math.ceil(len(v.posts) / s.posts_per_page))
    page = min(max(page, 1), pages)
    start = (page - 1) * s.posts_per_page
    posts = []
    for i, p in enumerate(v.posts[start:start + s.posts_per_page]):
        edited = p.edited_at is not None and p.edited_at <= now
        body = p.edited_body if edited and p.edited_body is not None else p.body
        posts.append({"pid": str(p.pid), "tid": str(v.tid), "first": "1" if start + i == 0 else "0",
                      "author": s.users[p.uid], "authorid": str(p.uid), "dbdateline": str(int(p.at.timestamp())),
                      "dateline": str(plain(dgmdate(p.at, now, s, "dts"))), "number": str(start + i + 1),
                      "position": str(start + i + 1),
                      "message": "<br />\n".join(str(escape(line)) for line in body.split("\n"))})
    return _answer({
        "thread": {"tid": str(v.tid), "fid": str(v.thread.fid), "typeid": str(v.thread.typeid),
                   "subject": _stored(v.thread.subject), "views": str(v.views), "replies": str(len(v.posts) - 1),
                   "author": s.users[v.posts[0].uid], "authorid": str(v.posts[0].uid)},
        "fid": str(v.thread.fid), "postlist": posts, "ppp": str(s.posts_per_page)})
