"""Small servers on 127.0.0.1 for the generic engine's tests: a page map served over HTTP, and
the start and stop of a real forum's server process."""
from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with ``send_body``."""

    def send_body(self, status: int, body: bytes, content_type: str, date: str | None = None) -> None:
        """One whole answer. ``date`` sets the Date header (the server's clock relative times count from)."""
        if date is None:
            self.send_response(status)
        else:
            self.send_response_only(status)  # send_response would add today's Date first
            self.send_header("Date", date)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1 in a thread; yield the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def page_map_handler(pages: dict[str, str], date: Callable[[], str] | None = None) -> type[QuietHandler]:
    """A handler answering each path of ``pages`` with its HTML (UTF-8), anything else 404."""

    class Handler(QuietHandler):
        def do_GET(self):  # noqa: N802
            body = pages.get(self.path)
            self.send_body(200 if body is not None else 404, (body or "not found").encode("utf-8"),
                           "text/html; charset=utf-8", date() if date else None)

    return Handler


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, seconds: float = 60) -> None:
    """Wait until ``process`` listens on ``port``; RuntimeError if it exits or takes too long."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{what} did not start")


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a server process, killing it if it does not stop within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
