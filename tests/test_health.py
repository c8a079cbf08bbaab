"""/healthz and /metrics over HTTP, on the demo forum polled for real (SQLite and PostgreSQL)."""
from __future__ import annotations

import socket
from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from models.db import make_engine
from monitor import health
from monitor.errors import SpokeswatchError
from monitor.health import HealthServer, Metrics, health_report, spokeswatch_version
from monitor.poller import PollResult
from monitor.service import Service
from tests.helpers import TZ, add_reply, config_for, sample_config, scenario_copy, start_forum

STALE = timedelta(minutes=31)  # past the sample config's window: 3 intervals of 10 minutes


@pytest.fixture
def world(db_url):
    """The demo forum, a service polling it with the forum's (settable) clock, its metrics and
    a health server on a free port that reports on it."""
    scenario = scenario_copy()
    forum = start_forum(scenario)
    cfg = config_for(forum, db_url, retries=0)
    cfg = cfg.model_copy(update={"health": cfg.health.model_copy(update={"listen": "127.0.0.1:0"})})
    svc = Service(cfg, clock=forum.clock.now)
    w = World(scenario, forum, svc)
    yield w
    w.server.stop()
    svc.close()
    forum.stop()


class World:
    def __init__(self, scenario, forum, svc: Service):
        self.scenario, self.forum, self.svc = scenario, forum, svc
        self.started_at = svc.clock()
        self.scheduler_running = True
        self.metrics = Metrics(svc.engine, lambda: svc.config, svc.clock)
        self.server = HealthServer(svc.config.health.listen, self.health, self.metrics)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.port}"

    def health(self) -> tuple[bool, dict]:
        return health_report(self.svc.engine, self.svc.config, self.svc.clock(), self.scheduler_running,
                             self.started_at)

    def poll(self) -> PollResult:
        [result] = self.svc.poll()
        self.metrics.poll_finished(result, 1.25)
        return result

    def later(self, span: timedelta) -> None:
        self.forum.clock.set(self.svc.clock() + span)

    def healthz(self) -> tuple[int, dict]:
        r = httpx.get(self.url + "/healthz")
        assert r.headers["content-type"].startswith("application/json")
        return r.status_code, r.json()

    def scrape(self) -> dict[tuple[str, frozenset], float]:
        return scrape(self.url)


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """GET /metrics, parsed: (sample name, labels) → value."""
    r = httpx.get(url + "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


def case_samples(samples: dict) -> dict[tuple[str, str], float]:
    """(unit, state) → count, of the non-zero spokeswatch_cases samples."""
    out = {}
    for (name, labels), v in samples.items():
        if name == "spokeswatch_cases" and v:
            d = dict(labels)
            out[(d["unit"], d["state"])] = v
    return out


def sql_case_counts(engine: sa.Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT unit_id, state, count(*) FROM response_cases GROUP BY unit_id, state"))
        return {(unit or "unassigned", state): n for unit, state, n in rows}


def finished_at(engine: sa.Engine, run_id: int) -> datetime:
    from models.tables import PollRun
    with engine.connect() as c:
        return c.execute(sa.select(PollRun.finished_at).where(PollRun.id == run_id)).scalar_one()


def test_metrics_match_the_poll_results_and_the_database(world):
    first = world.poll()
    world.svc.check()
    world.later(timedelta(minutes=10))
    second = world.poll()
    assert first.status == second.status == "ok" and first.store.new > 500
    world.metrics.check_finished(0.4, ok=True)
    world.metrics.digest_finished(2.0, ok=False)
    world.metrics.delivery_failed("office: mailtos://_/?to=someone@example.org")

    samples = world.scrape()
    forum = "demo"
    assert value(samples, "spokeswatch_polls_total", forum=forum, outcome="ok") == 2
    assert value(samples, "spokeswatch_polls_total", forum=forum, outcome="failed") == 0
    assert value(samples, "spokeswatch_requests_total", forum=forum) == first.requests + second.requests
    assert value(samples, "spokeswatch_response_bytes_total", forum=forum) == first.bytes + second.bytes > 0
    assert value(samples, "spokeswatch_parse_warnings_total", forum=forum) == len(first.warnings + second.warnings)
    assert value(samples, "spokeswatch_posts_stored_total", forum=forum, kind="new") == first.store.new
    assert value(samples, "spokeswatch_posts_stored_total", forum=forum, kind="edited") == 0
    assert value(samples, "spokeswatch_threads_stored_total", forum=forum) == first.threads_changed
    assert value(samples, "spokeswatch_poll_duration_seconds_count", forum=forum) == 2
    assert value(samples, "spokeswatch_poll_duration_seconds_sum", forum=forum) == 2.5
    assert value(samples, "spokeswatch_check_runs_total", outcome="ok") == 1
    assert value(samples, "spokeswatch_check_duration_seconds_count") == 1
    assert value(samples, "spokeswatch_digest_runs_total", outcome="failed") == 1
    assert value(samples, "spokeswatch_delivery_failures_total", target="office") == 1  # no URL in a label
    assert value(samples, "spokeswatch_info", version=spokeswatch_version()) == 1

    assert value(samples, "spokeswatch_database_up") == 1
    assert value(samples, "spokeswatch_forum_failing", forum=forum) == 0
    newest = finished_at(world.svc.engine, second.run_id)
    assert value(samples, "spokeswatch_last_successful_poll_timestamp_seconds", forum=forum) == newest.timestamp()
    assert value(samples, "spokeswatch_last_successful_poll_age_seconds", forum=forum) == pytest.approx(
        (world.svc.clock() - newest).total_seconds())
    before = sql_case_counts(world.svc.engine)
    assert case_samples(samples) == before and before[("unassigned", "overdue")] > 0
    assert value(samples, "spokeswatch_cases", unit="hrss", state="pending") == before.get(("hrss", "pending"), 0)

    # a spokesperson answers an overdue thread late: the next check moves the case, /metrics follows
    uids = {u.id: int(a.uid) for u in world.svc.config.units for a in u.accounts if a.uid}  # the demo's are numbers
    with world.svc.engine.connect() as c:
        unit, tid = c.execute(sa.text(
            "SELECT c.unit_id, t.tid FROM response_cases c JOIN threads t ON t.id = c.thread_id "
            "WHERE c.state = 'overdue' AND c.unit_id IS NOT NULL ORDER BY t.tid")).first()
    add_reply(world.scenario, tid, uids[unit], world.svc.clock() + timedelta(minutes=5))
    world.later(timedelta(minutes=10))
    third = world.poll()
    assert third.store.new == 1
    world.svc.check()
    after = sql_case_counts(world.svc.engine)
    assert after[(unit, "overdue")] == before[(unit, "overdue")] - 1
    assert after[(unit, "answered_late")] == before.get((unit, "answered_late"), 0) + 1
    samples = world.scrape()
    assert case_samples(samples) == after
    assert value(samples, "spokeswatch_posts_stored_total", forum=forum, kind="new") == first.store.new + 1
    assert value(samples, "spokeswatch_last_successful_poll_timestamp_seconds", forum=forum) == \
        finished_at(world.svc.engine, third.run_id).timestamp()


def test_healthz_follows_the_polls(world, caplog_loguru):
    # just started, nothing polled yet: the forum has its window to poll in
    status, body = world.healthz()
    assert status == 200 and body["status"] == "ok" and body["reasons"] == []
    assert body["forums"]["demo"] == {"last_success": None, "last_finished": None, "last_status": None,
                                      "last_error": None}
    assert (body["database"], body["scheduler"]) == ("ok", "running")
    long_running, report = health_report(world.svc.engine, world.svc.config, world.svc.clock(), True,
                                         world.started_at - timedelta(days=1))
    assert not long_running and "demo" in report["reasons"][0] and "ever" in report["reasons"][0]

    ok = world.poll()
    status, body = world.healthz()
    assert status == 200 and body["forums"]["demo"]["last_status"] == "ok"
    success = finished_at(world.svc.engine, ok.run_id)
    assert body["forums"]["demo"]["last_success"] == success.astimezone(TZ).isoformat()
    assert body["forums"]["demo"]["last_success"].endswith("+08:00")

    world.scheduler_running = False
    status, body = world.healthz()
    assert status == 503 and body["scheduler"] == "stopped" and "scheduler" in body["reasons"][0]
    world.scheduler_running = True

    # one failed poll within the window is tolerated; failing past it is not
    world.forum.fail_next = [500] * 50
    world.later(timedelta(minutes=10))
    assert world.poll().status == "failed"
    assert world.healthz()[0] == 200
    assert value(world.scrape(), "spokeswatch_forum_failing", forum="demo") == 1
    world.later(STALE)
    assert world.poll().status == "failed"
    status, body = world.healthz()
    assert status == 503 and body["status"] == "failing"
    [reason] = body["reasons"]
    assert "demo" in reason and "HTTP 500" in reason and success.astimezone(TZ).isoformat() in reason
    assert body["forums"]["demo"]["last_status"] == "failed" and "HTTP 500" in body["forums"]["demo"]["last_error"]
    samples = world.scrape()
    assert value(samples, "spokeswatch_polls_total", forum="demo", outcome="failed") == 2
    assert value(samples, "spokeswatch_last_successful_poll_timestamp_seconds", forum="demo") == success.timestamp()

    world.forum.fail_next.clear()
    assert world.poll().status == "ok"
    status, body = world.healthz()
    assert status == 200 and body["reasons"] == [] and body["forums"]["demo"]["last_status"] == "ok"
    assert value(world.scrape(), "spokeswatch_forum_failing", forum="demo") == 0

    assert httpx.get(world.url + "/elsewhere").status_code == 404
    assert not [m for m in caplog_loguru if " INFO " in m and "GET /" in m]  # requests are logged at DEBUG only


@pytest.fixture(params=["sqlite-missing", "postgresql-refused", "postgresql-silent"])
def dead_url(request, monkeypatch):
    """A database that cannot be opened, refuses connections, or accepts them and never answers."""
    if request.param == "sqlite-missing":
        yield "sqlite:////nonexistent-dir/spokeswatch.sqlite3"
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        if request.param == "postgresql-silent":
            sock.listen()  # the kernel accepts; nobody ever answers the startup message
            monkeypatch.setattr(health, "DATABASE_TIMEOUT", 0.5)
            yield f"postgresql+psycopg://postgres@127.0.0.1:{sock.getsockname()[1]}/spokeswatch"
            return
        port = sock.getsockname()[1]
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/spokeswatch"  # closed again: refused


def test_an_unreachable_database_fails_healthz_and_keeps_metrics(dead_url):
    cfg = sample_config().model_copy(update={"database": dead_url})
    engine = make_engine(dead_url)
    metrics = Metrics(engine, lambda: cfg, lambda: datetime.now(TZ))
    metrics.poll_finished(PollResult("demo", status="failed", error="HTTP 500", requests=1), 0.5)
    now = datetime.now(TZ)
    server = HealthServer("127.0.0.1:0", lambda: health_report(engine, cfg, now, True, now), metrics)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        r = httpx.get(url + "/healthz")
        body = r.json()
        assert r.status_code == 503 and body["database"] != "ok" and "database" in body["reasons"][0]
        assert body["forums"]["demo"]["last_success"] is None
        samples = scrape(url)
        assert value(samples, "spokeswatch_database_up") == 0
        assert value(samples, "spokeswatch_polls_total", forum="demo", outcome="failed") == 1
        assert value(samples, "spokeswatch_requests_total", forum="demo") == 1
        assert not [k for k in samples if k[0] == "spokeswatch_cases"]
    finally:
        server.stop()
        engine.dispose()


def test_a_taken_port_or_a_bad_listen_setting_is_a_clear_error():
    cfg = sample_config()
    engine = make_engine("sqlite://")
    metrics = Metrics(engine, lambda: cfg, lambda: datetime.now(TZ))
    first = HealthServer("127.0.0.1:0", lambda: (True, {}), metrics)
    first.start()
    try:
        taken = f"127.0.0.1:{first.port}"
        with pytest.raises(SpokeswatchError, match=rf"{taken}.*health\.listen"):
            HealthServer(taken, lambda: (True, {}), metrics).start()
    finally:
        first.stop()
    for bad in ("localhost", "127.0.0.1:http", "127.0.0.1:70000"):
        with pytest.raises(SpokeswatchError, match=r"health\.listen"):
            HealthServer(bad, lambda: (True, {}), metrics)
    engine.dispose()
