"""A fault-injecting HTTP proxy for tests: put it in front of the demo forum and tell it, per URL
pattern, to spoil the answer in one way.

    proxy = FaultProxy(forum.base_url).start()
    proxy.inject(r"mod=viewthread", lie_about_charset("koi8-r"))
    ...                               # poll proxy.base_url
    proxy.clear()

Without a fault it is transparent: GETs and POSTs are forwarded to the forum and the status, the
headers (Date, Content-Type and Set-Cookie included) and the body come back as the forum sent
them. Like a reverse proxy, it rewrites the forum's own base URL in bodies and Location headers
to its own, so that links (``<base href>``, next pages) lead back through it.

A fault is a callable ``(Answer) -> Answer | None``: it changes the status, headers or body, or
returns ``None`` to leave that answer alone (a thread page with no post to drop). ``RESET`` and
:func:`status` are faults applied before the forum is asked. Each injected fault may be limited
to its first ``times`` uses (``500`` then ok); :attr:`FaultProxy.fired` lists every use.
"""
from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
               "content-length"}


@dataclass(frozen=True)
class Answer:
    """An HTTP answer passing through the proxy; headers keep their order and repeats."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    path: str = ""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def with_header(self, name: str, value: str) -> Answer:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=(*kept, (name, value)))


Fault = Callable[[Answer], "Answer | None"]


class _Reset(Exception):
    """Raised by the RESET fault: the connection is reset instead of answered."""


def RESET(answer: Answer) -> Answer:  # noqa: N802 - a constant-like fault
    """Reset the connection (TCP RST) without answering; the forum is not asked."""
    raise _Reset


RESET.before_upstream = True  # type: ignore[attr-defined]


def status(code: int, body: bytes = b"<html><body>Server Error</body></html>") -> Fault:
    """Answer ``code`` (a 500) without asking the forum."""

    def fault(answer: Answer) -> Answer:
        return Answer(code, (("Content-Type", "text/html"),), body, answer.path)

    fault.before_upstream = True  # type: ignore[attr-defined]
    fault.__name__ = f"status_{code}"
    return fault


def lie_about_charset(charset: str) -> Fault:
    """Keep the bytes, declare another charset in the Content-Type header (``koi8-r`` over GBK)."""

    def fault(answer: Answer) -> Answer:
        ctype = (answer.header("Content-Type") or "text/html").split(";")[0]
        return answer.with_header("Content-Type", f"{ctype}; charset={charset}")

    fault.__name__ = f"charset_{charset}"
    return fault


def cut_at(fraction: float) -> Fault:
    """Send only the first ``fraction`` of the body (a well-formed answer, shorter)."""

    def fault(answer: Answer) -> Answer:
        return replace(answer, body=answer.body[:int(len(answer.body) * fraction)])

    fault.__name__ = f"cut_at_{fraction:.0%}"
    return fault


_POST_START = re.compile(rb'<div id="post_(\d+)"')


def drop_middle_post(answer: Answer) -> Answer | None:
    """Remove one post from the middle of a Discuz! X thread page; the page stays whole (its
    pager, footer and closing tags are kept). Pages with fewer than three posts are left alone."""
    starts = [m.start() for m in _POST_START.finditer(answer.body)]
    if len(starts) < 3:
        return None
    middle = len(starts) // 2
    return replace(answer, body=answer.body[:starts[middle]] + answer.body[starts[middle + 1]:])


_CITE = re.compile(rb"<cite>.*?</cite>", re.S)
_NUM_CELL = re.compile(rb'<td class="num">.*?</td>', re.S)


def strip_list_fields(answer: Answer) -> Answer | None:
    """Remove the author/last-poster (``<cite>``) and the replies/views (``<td class="num">``)
    cells from every row of a Discuz! X board list, as a broken template would."""
    body = _NUM_CELL.sub(b"", _CITE.sub(b"", answer.body))
    return None if body == answer.body else replace(answer, body=body)


@dataclass
class _Injected:
    pattern: re.Pattern[str]
    fault: Fault
    times: int | None  # uses left; None: every time

    def name(self) -> str:
        return getattr(self.fault, "__name__", repr(self.fault))


@dataclass
class FaultProxy:
    """The proxy in front of ``upstream`` (the forum's base URL), on 127.0.0.1 and a free port."""

    upstream: str
    timeout: float = 10.0
    fired: list[tuple[str, str]] = field(default_factory=list)  # (fault name, path) of every fault used
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._faults: list[_Injected] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def inject(self, pattern: str, fault: Fault, times: int | None = None) -> None:
        """Spoil the answers to requests whose path and query match ``pattern`` (a regex, searched);
        ``times``: only the first so many. The first matching fault applies."""
        with self._lock:
            self._faults.append(_Injected(re.compile(pattern), fault, times))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def fired_names(self) -> list[str]:
        return [name for name, _ in self.fired]

    def _take(self, path: str) -> Fault | None:
        with self._lock:
            for injected in self._faults:
                if injected.times == 0 or not injected.pattern.search(path):
                    continue
                if injected.times is not None:
                    injected.times -= 1
                return injected.fault
        return None

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes | None) -> Answer:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=dict(headers))
            response = conn.getresponse()
            data = response.read()
            kept = tuple((k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP)
            answer = Answer(response.status, kept, data, path)
        finally:
            conn.close()
        return self._rewrite(answer)

    def _rewrite(self, answer: Answer) -> Answer:
        """The forum's base URL → the proxy's, in the body and in a Location header."""
        theirs, ours = self.upstream.rstrip("/").encode(), self.base_url.rstrip("/").encode()
        headers = tuple((k, v.replace(theirs.decode(), ours.decode()) if k.lower() == "location" else v)
                        for k, v in answer.headers)
        return replace(answer, headers=headers, body=answer.body.replace(theirs, ours))

    def _answer(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes | None) -> Answer:
        self.requests.append(f"{method} {path}" if method != "GET" else path)
        fault = self._take(path)
        if fault is not None and getattr(fault, "before_upstream", False):
            self.fired.append((getattr(fault, "__name__", repr(fault)), path))
            return fault(Answer(0, (), b"", path))
        answer = self._forward(method, path, headers, body)
        if fault is not None:
            spoiled = fault(answer)
            if spoiled is not None:
                self.fired.append((getattr(fault, "__name__", repr(fault)), path))
                answer = spoiled
        return answer

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self):  # noqa: N802 - http.server's name
                self._relay(None)

            def do_POST(self):  # noqa: N802 - http.server's name
                self._relay(self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)))

            def _relay(self, body: bytes | None) -> None:
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}]
                try:
                    answer = proxy._answer(self.command, self.path, headers, body)
                except _Reset:
                    # SO_LINGER 0: close() sends a RST instead of a FIN
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                except OSError as exc:
                    answer = Answer(502, (("Content-Type", "text/plain"),), f"proxy: {exc}".encode(), self.path)
                self.send_response_only(answer.status)  # no Server/Date of our own: the forum's are copied
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def finish(self) -> None:
                try:
                    super().finish()
                except (OSError, ValueError):
                    pass  # the connection was reset on purpose

            def log_message(self, fmt, *args):
                pass

        return Handler
