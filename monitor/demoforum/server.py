"""The demo forum's HTTP server: Discuz! X URLs over a scenario, with a settable clock.

Serves ``forum.php?mod=forumdisplay|viewthread`` and the rewritten
``forum-F-P.html`` / ``thread-T-P-1.html`` forms, GBK-encoded, with the
clock's time in the Date header. Deleted or not-yet-posted threads get the
real "主题不存在" prompt with HTTP 404. ``fail_next`` makes it answer 500s
(or hang) for tests of a dead forum.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from loguru import logger

from monitor.demoforum.render import (render_board, render_index, render_login, render_profile, render_prompt,
                                      render_rss, render_thread)
from monitor.demoforum import render_legacy
from monitor.demoforum.render_api import api_board, api_thread
from monitor.demoforum.scenario import Scenario

_LIST = re.compile(r"^/forum-(\d+)-(\d+)\.html$")
_THREAD = re.compile(r"^/thread-(\d+)-(\d+)-\d+\.html$")
NOT_FOUND = "抱歉，指定的主题不存在或已被删除或正在被审核"
FLAVORS = ("discuz-x", *render_legacy.TEMPLATES)
# phpwind 8.7's lang_msg.php: data_error (a deleted thread: fid 0; an unknown board), illegal_tid, forum_jiami
_PW8_DATA_ERROR = "读取数据错误,原因：您要访问的链接无效,可能链接不完整,或数据已被删除！"
_LEGACY_NOT_FOUND = {"discuz7": "指定的主题不存在或已被删除或正在被审核，请返回。", "phpwind": "帖子ID非法",
                     "phpwind9": "该帖子不存在或已被删除"}
# a thread that existed; others say what a missing one does
_LEGACY_DELETED = {"phpwind": _PW8_DATA_ERROR, "phpwind9": "该帖子已被删除"}
# HTTP status of a deleted or missing thread: 7.2 answers 404, phpwind 8.7 and 9.0 200 (their message pages)
_LEGACY_GONE_STATUS = {"discuz7": 404, "phpwind": 200, "phpwind9": 200}
_PLAIN_404 = ("<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
              "<p>The requested resource was not found on this server.</p></body></html>")
_LEGACY_LOGIN_WALL = {"discuz7": "对不起，您还未登录，无权访问该版块。",
                      "phpwind": "对不起,本版块为认证版块,您没有权限查看此版块的内容！",
                      "phpwind9": "您所在的用户组 (游客) 没有访问该版块的权限"}  # 9.0 shows no login form
# phpwind 8.7's Showmsg() gives a guest every message beside a login form (except on login.php and
# register.php), and answers an unknown board with data_error and HTTP 200
_GUEST_LOGIN_FORM = {"phpwind"}


class DemoClock:
    """The forum's clock: a fixed moment, or real time shifted by an offset."""

    def __init__(self, at: datetime | None = None):
        self._at = at
        self._lock = threading.Lock()

    def set(self, at: datetime | None) -> None:
        with self._lock:
            self._at = at

    def now(self) -> datetime:
        with self._lock:
            return self._at or datetime.now(timezone.utc)


class DemoForum:
    """A running demo forum: ``with DemoForum(scenario) as forum: forum.base_url``."""

    def __init__(self, scenario: Scenario, host: str = "127.0.0.1", port: int = 0,
                 clock: DemoClock | None = None, encoding: str = "gbk",
                 passwords: dict[str, str] | None = None, members_only: bool = False, api: bool = True,
                 flavor: str = "discuz-x"):
        if flavor not in FLAVORS:
            raise ValueError(f"unknown demo forum flavor {flavor!r}; known: {', '.join(FLAVORS)}")
        self.scenario = scenario
        self.flavor = flavor  # whose URLs and markup: discuz-x (also touch, API, RSS), discuz7, phpwind, phpwind9
        self.api = api  # False: a site without the mobile API plugin
        self.passwords = passwords or {}  # username → password, for the login form
        self.members_only = members_only  # boards and threads need a login
        self.sessions: dict[str, str] = {}  # auth cookie → username
        self.clock = clock or DemoClock(scenario.default_now)
        self.encoding = encoding
        self.requests: list[str] = []
        self.fail_next: list[int | str] = []  # HTTP statuses to answer, or "hang"
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._server.server_address[0]}:{self.port}/"

    def start(self) -> DemoForum:
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-forum", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DemoForum:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def login(self, form: dict[str, str]) -> tuple[int, str, str | None]:
        """(status, HTML, auth cookie or None) for a posted login form, as Discuz! answers it."""
        user = form.get("username") or form.get("pwuser", "")
        password = form.get("password") or form.get("pwpwd", "")
        form_ok = form.get("step") == "2" if self.flavor.startswith("phpwind") else form.get("formhash") == "demohash"
        if not form_ok or self.passwords.get(user) != password or not user:
            refused = "密码错误或安全问题错误,您还可以尝试 4 次" if self.flavor == "phpwind" else "登录失败，您还可以尝试 4 次"
            return 200, self._message(refused), None  # phpwind 8.7: login.php's messages come without a form
        token = secrets.token_hex(8)
        self.sessions[token] = user
        welcome = f"您已经顺利登录，{user}" if self.flavor.startswith("phpwind") else f"欢迎您回来，{user}，现在将转入登录前页面"
        return 200, self._message(welcome, css="alert_right"), token

    def _message(self, message: str, css: str = "alert_error", login: bool = False, asked: str = "") -> str:
        """The flavor's own message page (``asked``: the path and query it answers, for phpwind 8's form);
        ``css="alert_right"``: a success (phpwind 8.7's refreshto page)."""
        if self.flavor == "discuz-x":
            return render_prompt(self.scenario, message, self.base_url, css=css)
        return render_legacy.render_message(self.scenario, message, self.base_url, self.flavor, login=login,
                                            jumpurl=self.base_url + asked.lstrip("/") if asked else "",
                                            done=css == "alert_right")

    def respond(self, path_qs: str, cookie: str = "") -> tuple[int, str]:
        """(status, HTML) for a request path with query; the routing, testable alone."""
        now = self.clock.now()
        parts = urlsplit(path_qs)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        s, base = self.scenario, self.base_url
        page = int(q["page"]) if q.get("page", "").isdigit() else 1
        if parts.path == "/member.php" and q.get("mod") == "logging":
            return 200, render_login(s, base)
        signed_in = any(c.split("=", 1)[-1] in self.sessions for c in cookie.split("; ") if c.startswith("demo_auth="))
        if self.flavor != "discuz-x":
            return self._respond_legacy(parts.path, q, page, now, signed_in, path_qs)
        if self.members_only and not signed_in and parts.path != "/":
            return 200, render_prompt(s, "抱歉，您尚未登录，没有权限访问该版块", base, css="alert_info")
        m_list, m_thread = _LIST.match(parts.path), _THREAD.match(parts.path)
        if m_list or (parts.path == "/forum.php" and q.get("mod") == "forumdisplay"):
            fid = int(m_list.group(1)) if m_list else int(q.get("fid", "0") or 0)
            page = int(m_list.group(2)) if m_list else page
            if fid not in s.boards:
                return 404, render_prompt(s, "抱歉，指定的版块不存在", base)
            return 200, render_board(s, fid, page, now, base, touch=q.get("mobile") == "2")
        if parts.path == "/forum.php" and q.get("mod") == "rss" and int(q.get("fid", "0") or 0) in s.boards:
            return 200, render_rss(s, int(q["fid"]), now, base)
        if m_thread or (parts.path == "/forum.php" and q.get("mod") == "viewthread"):
            tid = int(m_thread.group(1)) if m_thread else int(q.get("tid", "0") or 0)
            page = int(m_thread.group(2)) if m_thread else page
            thread = s.thread(tid)
            visible = s.visible(thread, now) if thread else None
            if visible is None:
                return 404, render_prompt(s, NOT_FOUND, base)
            return 200, render_thread(s, visible, page, now, base, touch=q.get("mobile") == "2")
        if parts.path == "/home.php" and q.get("mod") == "space" and q.get("uid", "").isdigit():
            uid = int(q["uid"])
            if uid not in s.users:
                return 404, render_prompt(s, "抱歉，您指定的用户空间不存在", base)
            return 200, render_profile(s, uid, now, base)
        if parts.path == "/api/mobile/index.php" and self.api:
            return self._respond_api(q, page, now)
        if parts.path in ("/", "/forum.php", "/index.php"):
            return 200, render_index(s, now, base)
        return 404, render_prompt(s, "抱歉，您访问的页面不存在", base)

    def _respond_legacy(self, path: str, q: dict, page: int, now, signed_in: bool,
                        asked: str = "") -> tuple[int, str]:
        """Discuz! 7 (forumdisplay.php, viewthread.php), phpwind 8 (thread.php, read.php) or phpwind 9
        (index.php?c=thread, read.php; thread.php answers 404 as on a real 9.0) routes."""
        s, base, flavor = self.scenario, self.base_url, self.flavor
        guest_form = flavor in _GUEST_LOGIN_FORM and not signed_in  # phpwind 8.7: a guest's message has a form
        board_script, thread_script, login_script = ("/" + name for name in render_legacy.SCRIPTS[flavor])
        if "?" in board_script:  # phpwind 9: index.php?c=thread&fid=F; it has no thread.php
            if path == "/thread.php":
                return 404, _PLAIN_404
            script, query = board_script.split("?", 1)
            wanted = {k: v[0] for k, v in parse_qs(query).items()}
            board_script = script if all(q.get(k) == v for k, v in wanted.items()) else None
        if path == login_script:
            return 200, self._message("请先登录", login=True)
        if self.members_only and not signed_in and path in (board_script, thread_script):
            return 200, self._message(_LEGACY_LOGIN_WALL[flavor], login=True, asked=asked)
        if path == board_script:
            fid = int(q.get("fid", "0") or 0)
            if fid not in s.boards and flavor == "phpwind":
                return 200, self._message(_PW8_DATA_ERROR, login=guest_form, asked=asked)
            if fid not in s.boards:
                return 404, self._message("指定的版块不存在，请返回。")
            return 200, render_legacy.render_board(s, fid, page, now, base, flavor)
        if path == thread_script:
            thread = s.thread(int(q.get("tid", "0") or 0))
            visible = s.visible(thread, now) if thread else None
            if visible is None:
                deleted = thread is not None and thread.deleted_at is not None and thread.deleted_at <= now
                return _LEGACY_GONE_STATUS[flavor], self._message(
                    _LEGACY_DELETED.get(flavor, _LEGACY_NOT_FOUND[flavor]) if deleted else _LEGACY_NOT_FOUND[flavor],
                    login=guest_form, asked=asked)
            return 200, render_legacy.render_thread(s, visible, page, now, base, flavor)
        if path in ("/", "/index.php"):
            return 200, render_index(s, now, base)
        return 404, self._message("您访问的页面不存在")

    def _respond_api(self, q: dict, page: int, now) -> tuple[int, str]:
        s = self.scenario
        if q.get("module") == "forumdisplay" and int(q.get("fid", "0") or 0) in s.boards:
            return 200, api_board(s, int(q["fid"]), page, now)
        if q.get("module") == "viewthread":
            thread = s.thread(int(q.get("tid", "0") or 0))
            return 200, api_thread(s, s.visible(thread, now) if thread else None, page, now)
        return 404, '{"Version":"4","Message":{"messageval":"module_not_exists","messagestr":"module_not_exists"}}'

    def _handler_class(self):
        forum = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out without a 40 ms delayed-ACK stall

            def do_GET(self):  # noqa: N802 - http.server's name
                forum.requests.append(self.path)
                if forum.fail_next:
                    what = forum.fail_next.pop(0)
                    if what == "hang":
                        time.sleep(5)
                        return
                    self._send(int(what), b"<html><body>Server Error</body></html>", "text/html")
                    return
                try:
                    status, html = forum.respond(self.path, self.headers.get("Cookie", ""))
                except Exception:  # noqa: BLE001 - a demo bug must not kill the server
                    logger.exception("demo forum failed on {}", self.path)
                    status, html = 500, "<html><body>demo forum error</body></html>"
                ctype = ("application/json" if html.startswith("{") else
                         "application/xml" if html.startswith("<?xml") else "text/html")
                self._send(status, html.encode(forum.encoding, errors="xmlcharrefreplace"),
                           f"{ctype}; charset={forum.encoding}")

            def do_POST(self):  # noqa: N802 - http.server's name
                forum.requests.append("POST " + self.path)
                length = int(self.headers.get("Content-Length", "0") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8", "replace")).items()}
                if "loginsubmit=yes" not in self.path and not self.path.startswith("/login.php"):
                    self._send(404, b"", "text/html")
                    return
                status, html, token = forum.login(form)
                self._send(status, html.encode(forum.encoding, errors="xmlcharrefreplace"),
                           f"text/html; charset={forum.encoding}",
                           cookie=f"demo_auth={token}; path=/; HttpOnly" if token else None)

            def _send(self, status: int, body: bytes, ctype: str, cookie: str | None = None) -> None:
                self.send_response(status)
                if cookie:
                    self.send_header("Set-Cookie", cookie)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def date_time_string(self, timestamp=None):  # the Date header follows the demo clock
                return format_datetime(forum.clock.now().astimezone(timezone.utc), usegmt=True)

            def log_message(self, fmt, *args):
                pass

        return Handler
