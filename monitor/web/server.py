"""Serving the web view with uvicorn: in the foreground (``spokeswatch web``) or in a thread of
the daemon (``web.listen``)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import uvicorn
from loguru import logger

from models.repository import Repository
from monitor.config import Config
from monitor.health import parse_listen
from monitor.web.app import create_app


def _server(get_config: Callable[[], Config], repo: Repository, listen: str,
            clock: Callable[[], datetime] | None = None) -> uvicorn.Server:
    host, port = parse_listen(listen)
    app = create_app(get_config, repo, clock) if clock else create_app(get_config, repo)
    # the peer's address stays the proxy's: monitor.web.auth decides what a trusted proxy's headers say
    return uvicorn.Server(uvicorn.Config(app, host=host or "0.0.0.0", port=port, log_config=None, access_log=False,
                                         proxy_headers=False, server_header=False))


def serve(get_config: Callable[[], Config], repo: Repository, listen: str,
          clock: Callable[[], datetime] | None = None) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn's own handling); ``clock``: the pages' "now"."""
    server = _server(get_config, repo, listen, clock)
    server.config.app.state.web.prewarm()
    logger.info("web view on http://{}/", listen if not listen.startswith(":") else "0.0.0.0" + listen)
    server.run()


class WebServer:
    """The web view in a daemon thread of the daemon; ``stop`` ends it."""

    def __init__(self, get_config: Callable[[], Config], repo: Repository, listen: str,
                 clock: Callable[[], datetime] | None = None):
        self.listen = listen
        self._server = _server(get_config, repo, listen, clock)
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        for _ in range(int(timeout * 20)):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.05)
        if not self._server.started:
            raise OSError(f"the web view could not listen on {self.listen} (web.listen): see the log above")
        self._server.config.app.state.web.prewarm()

    @property
    def port(self) -> int:
        return self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
