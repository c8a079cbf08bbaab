"""The daemon's health and metrics: ``GET /healthz`` and ``GET /metrics`` (Prometheus) over HTTP.

* :class:`Metrics` holds the daemon's counters and histograms in a registry of its own; the
  daemon reports each poll, check, digest and failed delivery to it. The figures that belong
  to the database (cases per unit and state, each forum's last successful poll, whether its
  newest poll failed) are read from the database at scrape time, so they are the same
  whichever replica polled. A database that does not answer leaves /metrics working: it says
  ``spokeswatch_database_up 0`` and still shows this process's counters.
* :func:`health_report` says whether the daemon is healthy: its scheduler runs, the database
  answers, and every configured forum has polled successfully (``ok`` or ``partial``) within
  ``health.stale_after_intervals`` of its poll intervals.
* :class:`HealthServer` serves both on ``health.listen`` from a daemon thread.

A scrape reads the database twice: the newest runs of each forum, from the (forum_id, id)
index of ``poll_runs`` walked backwards once per forum, however many runs it holds; and one
grouped count of ``response_cases`` (a scan of that table: no index holds both unit and state).
"""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from typing import TypeVar
from zoneinfo import ZoneInfo

from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from models.tables import ResponseCase
from monitor.config import Config
from monitor.forum_health import NO_RUNS, ForumRuns, read_forum_runs, stale_forums
from monitor.errors import SpokeswatchError
from monitor.poller import PollResult
from monitor.rules import IN_TIME, LATE, OVERDUE, PENDING

POLL_OUTCOMES = ("ok", "partial", "failed", "interrupted")
UNASSIGNED = "unassigned"  # the unit label of cases no unit is assigned to
CASE_STATES = (PENDING, OVERDUE, IN_TIME, LATE)  # exported (as 0) for every unit even when none is in that state
POLL_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
ERROR_CHARS = 500  # an error shown on /healthz is cut to this length
DATABASE_TIMEOUT = 5.0  # seconds a scrape or health check waits for the database

T = TypeVar("T")


class DatabaseTimeout(SpokeswatchError):
    """The database did not answer within DATABASE_TIMEOUT."""


DATABASE_ERRORS = (SQLAlchemyError, DatabaseTimeout)


def spokeswatch_version() -> str:
    """The installed package's version, or "unknown" when it runs from a bare checkout."""
    try:
        return version("spokeswatch")
    except PackageNotFoundError:
        return "unknown"


def error_text(exc: BaseException) -> str:
    """One line saying what went wrong, without SQLAlchemy's statement and background lines."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{exc.__class__.__name__}: {first}"[:ERROR_CHARS]


# ---- reading the database --------------------------------------------------------------------

def read_database(engine: Engine, read: Callable[[Connection], T]) -> T:
    """``read(conn)`` on a connection of ``engine``, given up after DATABASE_TIMEOUT seconds
    (DatabaseTimeout): a database that hangs (a server gone from the network, no connect
    timeout in its URL) makes a scrape that much slower, never stuck. The abandoned read runs
    on in a daemon thread until the driver gives up."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            with engine.connect() as conn:
                outcome["value"] = read(conn)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="health-database", daemon=True)
    worker.start()
    worker.join(DATABASE_TIMEOUT)
    if worker.is_alive():
        raise DatabaseTimeout(f"no answer within {DATABASE_TIMEOUT:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def read_case_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """(unit id or "unassigned", state) → number of response cases."""
    rows = conn.execute(select(ResponseCase.unit_id, ResponseCase.state, func.count())
                        .group_by(ResponseCase.unit_id, ResponseCase.state))
    return {(unit or UNASSIGNED, state): n for unit, state, n in rows}


# ---- /metrics ---------------------------------------------------------------------------------

class Metrics:
    """The daemon's Prometheus metrics, in a registry of its own (prometheus_client.CollectorRegistry).

    Counters and histograms count what this process did; the figures of the database are
    read when /metrics is scraped (:class:`DatabaseCollector`)."""

    def __init__(self, engine: Engine, config_getter: Callable[[], Config], clock: Callable[[], datetime]):
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.polls = Counter("spokeswatch_polls", "Polls of a forum finished, by outcome", ["forum", "outcome"],
                             registry=r)
        self.requests = Counter("spokeswatch_requests", "HTTP requests made to a forum", ["forum"], registry=r)
        self.response_bytes = Counter("spokeswatch_response_bytes", "Response bytes read from a forum",
                                      ["forum"], registry=r)
        self.parse_warnings = Counter("spokeswatch_parse_warnings", "Warnings of the scraper while polling a forum",
                                      ["forum"], registry=r)
        self.posts_stored = Counter("spokeswatch_posts_stored", "Posts stored by polls: new, edited or deleted",
                                    ["forum", "kind"], registry=r)
        self.threads_stored = Counter("spokeswatch_threads_stored", "Thread list rows stored because they changed",
                                      ["forum"], registry=r)
        self.poll_duration = Histogram("spokeswatch_poll_duration_seconds", "How long a poll of a forum took",
                                       ["forum"], buckets=POLL_BUCKETS, registry=r)
        self.check_runs = Counter("spokeswatch_check_runs", "Rules checks run, by outcome", ["outcome"], registry=r)
        self.check_duration = Histogram("spokeswatch_check_duration_seconds", "How long a rules check took",
                                        buckets=JOB_BUCKETS, registry=r)
        self.digest_runs = Counter("spokeswatch_digest_runs", "Nightly digests made, by outcome", ["outcome"],
                                   registry=r)
        self.digest_duration = Histogram("spokeswatch_digest_duration_seconds", "How long the nightly digest took",
                                         buckets=JOB_BUCKETS, registry=r)
        self.delivery_failures = Counter("spokeswatch_delivery_failures", "Digest deliveries that failed, by target "
                                         "(the office or a unit)", ["target"], registry=r)
        Info("spokeswatch", "The running spokeswatch", registry=r).info({"version": spokeswatch_version()})
        r.register(DatabaseCollector(engine, config_getter, clock))
        for outcome in ("ok", "failed"):  # each series from the start, at 0: rate() sees the first one
            self.check_runs.labels(outcome=outcome)
            self.digest_runs.labels(outcome=outcome)
        for forum in config_getter().forums:
            self._forum_series(forum.id)

    def _forum_series(self, forum: str) -> None:
        for outcome in POLL_OUTCOMES:
            self.polls.labels(forum=forum, outcome=outcome)
        for kind in ("new", "edited", "deleted"):
            self.posts_stored.labels(forum=forum, kind=kind)
        for family in (self.requests, self.response_bytes, self.parse_warnings, self.threads_stored,
                       self.poll_duration):
            family.labels(forum=forum)

    def poll_finished(self, result: PollResult, seconds: float) -> None:
        """Count one finished poll of a forum: its outcome, requests, bytes, warnings and what it stored."""
        forum = result.forum_id
        self.polls.labels(forum=forum, outcome=result.status).inc()
        self.requests.labels(forum=forum).inc(result.requests)
        self.response_bytes.labels(forum=forum).inc(result.bytes)
        self.parse_warnings.labels(forum=forum).inc(len(result.warnings))
        stored = {"new": result.store.new, "edited": result.store.changed, "deleted": result.store.deleted}
        for kind, n in stored.items():
            self.posts_stored.labels(forum=forum, kind=kind).inc(n)
        self.threads_stored.labels(forum=forum).inc(result.threads_changed)
        self.poll_duration.labels(forum=forum).observe(seconds)

    def check_finished(self, seconds: float, ok: bool) -> None:
        """Count one rules check and how long it took."""
        self.check_runs.labels(outcome="ok" if ok else "failed").inc()
        self.check_duration.observe(seconds)

    def digest_finished(self, seconds: float, ok: bool) -> None:
        """Count one nightly digest and how long it took."""
        self.digest_runs.labels(outcome="ok" if ok else "failed").inc()
        self.digest_duration.observe(seconds)

    def delivery_failed(self, who: str) -> None:
        """Count a failed delivery to ``who`` (the office or a unit's name). A
        ``Delivery.failed`` entry ("who: target") may be passed as is: only its "who" becomes
        the label, so no target address ends up in the metrics."""
        self.delivery_failures.labels(target=who.split(": ", 1)[0]).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text of every metric, and its content type, for GET /metrics."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class DatabaseCollector(Collector):
    """The figures read from the database at each scrape; ``spokeswatch_database_up`` says
    whether they could be read (when not, the others are left out)."""

    def __init__(self, engine: Engine, config_getter: Callable[[], Config], clock: Callable[[], datetime]):
        self.engine = engine
        self.config_getter = config_getter
        self.clock = clock
        self._was_up = True  # log a database that stopped answering once, not at every scrape

    def describe(self) -> list[GaugeMetricFamily]:
        """The families, without reading the database (the registry asks when registering)."""
        return list(self._families())

    @staticmethod
    def _families() -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("spokeswatch_database_up", "Whether the database answered this scrape")
        yield GaugeMetricFamily("spokeswatch_cases", "Response cases by unit and state", labels=["unit", "state"])
        yield GaugeMetricFamily("spokeswatch_last_successful_poll_timestamp_seconds",
                                "When the newest ok or partial poll of a forum finished (Unix time)",
                                labels=["forum"])
        yield GaugeMetricFamily("spokeswatch_last_successful_poll_age_seconds",
                                "Seconds since the newest ok or partial poll of a forum finished, by the "
                                "service's clock", labels=["forum"])
        yield GaugeMetricFamily("spokeswatch_forum_failing", "1 when the newest finished poll of a forum failed",
                                labels=["forum"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the database now; on a database error only ``spokeswatch_database_up 0``."""
        up, cases, timestamp, age, failing = self._families()
        try:
            runs, counts = read_database(self.engine, lambda c: (read_forum_runs(c), read_case_counts(c)))
        except DATABASE_ERRORS as exc:
            if self._was_up:
                logger.warning("metrics: the database does not answer: {}", error_text(exc))
            self._was_up = False
            up.add_metric([], 0)
            yield up
            return
        self._was_up = True
        up.add_metric([], 1)
        config = self.config_getter()
        for unit in [UNASSIGNED, *(u.id for u in config.units)]:
            for state in CASE_STATES:
                counts.setdefault((unit, state), 0)
        for (unit, state), n in sorted(counts.items()):
            cases.add_metric([unit, state], n)
        now = self.clock()
        for forum in config.forums:
            forum_runs = runs.get(forum.id, NO_RUNS)
            failing.add_metric([forum.id], int(forum_runs.failing))
            if forum_runs.last_success is not None:
                timestamp.add_metric([forum.id], forum_runs.last_success.timestamp())
                age.add_metric([forum.id], (now - forum_runs.last_success).total_seconds())
        yield from (up, cases, timestamp, age, failing)


# ---- /healthz ---------------------------------------------------------------------------------

def health_report(engine: Engine, config: Config, now: datetime, scheduler_running: bool,
                  started_at: datetime) -> tuple[bool, dict]:
    """Whether the daemon is healthy (True: /healthz answers 200), and why, as a JSON-ready dict.

    Healthy: the scheduler runs, the database answers, and every configured forum has a
    successful (ok or partial) poll run that finished within ``health.stale_after_intervals``
    × its ``poll_interval_minutes`` before ``now``. The daemon's start counts as a success for
    this: a daemon younger than a forum's window is not failing for that forum yet, whatever
    its first polls did, so it has time to poll. Times are in the office's zone."""
    zone = ZoneInfo(config.timezone)

    def iso(t: datetime | None) -> str | None:
        return t.astimezone(zone).isoformat() if t is not None else None

    reasons: list[str] = []
    runs: dict[str, ForumRuns] | None = None
    try:
        runs = read_database(engine, _answer_then_read_runs)
        database = "ok"
    except DATABASE_ERRORS as exc:
        database = error_text(exc)
        reasons.append(f"the database does not answer: {database}")
    if not scheduler_running:
        reasons.append("the scheduler is not running: no poll, check or digest will start")
    forums = {}
    for forum in config.forums:
        r = (runs or {}).get(forum.id, NO_RUNS)
        forums[forum.id] = {"last_success": iso(r.last_success), "last_finished": iso(r.last_finished),
                            "last_status": r.last_status,
                            "last_error": r.last_error[:ERROR_CHARS] if r.last_error else None}
    if runs is not None:
        reasons += stale_forums(config, runs, now, started_at, iso)
    healthy = not reasons
    return healthy, {"status": "ok" if healthy else "failing", "reasons": reasons, "at": iso(now),
                     "started_at": iso(started_at), "scheduler": "running" if scheduler_running else "stopped",
                     "database": database, "forums": forums}


def _answer_then_read_runs(conn: Connection) -> dict[str, ForumRuns]:
    conn.execute(text("SELECT 1"))
    return read_forum_runs(conn)


# ---- the HTTP server --------------------------------------------------------------------------

def parse_listen(listen: str) -> tuple[str, int]:
    """(host, port) of a ``HOST:PORT`` setting (``[::1]:9108`` for IPv6; an empty host: every address)."""
    host, sep, port = listen.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise SpokeswatchError(f"health.listen: {listen!r} is not HOST:PORT (e.g. 127.0.0.1:9108)")
    return host.strip("[]"), int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow client never keeps the daemon from exiting

    def __init__(self, address: tuple[str, int], health: Callable[[], tuple[bool, dict]], metrics: Metrics):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.health, self.metrics = health, metrics
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 30  # a client that sends nothing does not hold its thread forever

    def do_GET(self) -> None:  # http.server's name
        path = self.path.split("?", 1)[0]
        try:
            if path == "/healthz":
                healthy, report = self.server.health()
                body = json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8")
                self._send(200 if healthy else 503, body, "application/json; charset=utf-8")
            elif path == "/metrics":
                self._send(200, *self.server.metrics.render())
            else:
                self._send(404, b"not found: try /healthz or /metrics\n", "text/plain; charset=utf-8")
        except Exception as exc:  # noqa: BLE001 - a bug answers 500, the server lives on
            logger.exception("health endpoint failed on {}", path)
            self._send(500, f"{error_text(exc)}\n".encode(), "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # http.server's signature
        logger.debug("health endpoint {}: {}", self.address_string(), format % args)


class HealthServer:
    """Serves GET /healthz (200 or 503, JSON body from health_report) and GET /metrics on
    config.health.listen (HOST:PORT), from a daemon thread (http.server.ThreadingHTTPServer);
    404 elsewhere; never logs each request at INFO."""

    def __init__(self, listen: str, health: Callable[[], tuple[bool, dict]], metrics: Metrics):
        self.listen = listen
        self.address = parse_listen(listen)
        self.health = health
        self.metrics = metrics
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the one the system chose when ``listen`` says port 0); 0 before start."""
        return self._server.server_address[1] if self._server else 0

    def start(self) -> None:
        """Bind and serve in the background; a taken port raises SpokeswatchError naming the setting."""
        try:
            self._server = _Server(self.address, self.health, self.metrics)
        except OSError as exc:
            raise SpokeswatchError(f"cannot serve /healthz and /metrics on {self.listen} "
                                   f"(setting health.listen): {exc.strerror or exc}") from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="health-http", daemon=True)
        self._thread.start()
        host = self.address[0] or "*"
        logger.info("serving /healthz and /metrics on {}:{}", f"[{host}]" if ":" in host else host, self.port)

    def stop(self) -> None:
        """Stop serving and free the port (requests in progress finish on their own threads)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None
