"""The daemon: polls shared out among replicas, the rules check on its own thread, the nightly
digest once per day, a config reload without a restart, health and metrics.

Work, kept apart so that none waits behind another:

* **Polls.** Every forum has a row in the database's ``job_schedule`` saying when its next
  poll is due. A dispatcher (an APScheduler job every second) claims due forums with a
  conditional UPDATE that only one node wins, up to the free workers of a pool of
  ``max_parallel_polls`` threads, and runs each under a PostgreSQL advisory lock so that a poll
  overrunning its interval is never joined by another node's. The forums are split among the
  live nodes by rendezvous hashing (:mod:`models.coordination`); another node takes a forum
  when its owner is late by half an interval (a minute at most), so a dead node's share moves
  on within an interval. A forum that fails is polled less often (its interval doubling up to
  ``backoff_max_minutes``), back to its interval after one success; one failing for
  ``alert_after_hours`` is reported once to ``digest.notify``, and once more when it recovers.
* **The rules check** runs on one dedicated thread (:class:`CheckRunner`): at start, after
  polls that stored something (requests coalesce), and every ``check_interval_minutes`` —
  the periodic one claimed in ``job_schedule`` too, so replicas run it once per interval.
  After each check the thread alerts (:mod:`monitor.alerts`: hot unanswered threads, watch
  words) are sent, each once across restarts and replicas; a failure there is logged only.
* **The digest** is an APScheduler cron job at ``digest.time`` in the office's zone
  (``timezone``), whatever the host's zone. Each day's digest is marked in ``once_marks``
  first, and each delivery target too: one digest per day and one delivery per target, across
  restarts and replicas. A digest whose time passed while the service was down is produced
  once at start (the latest missed one only).
* **Reload.** SIGHUP, or config.yaml changing on disk, reloads the config between jobs: a file
  that passes the config check is swapped in (forums, intervals, rules, units, accounts, digest
  time, logging); one that fails is logged with file, line and key path and the old config
  stays. ``database``, ``state_dir``, ``max_parallel_polls``, ``health`` and the web server's own
  settings (``web.listen``, ``web.secret_key``, …; not ``web.users``) need a restart.

Stopping (SIGTERM/SIGINT): the service's stop event makes a running poll end after the write
in progress; polls not yet started are dropped; no check or digest starts after the stop; a
check already running finishes its transaction; the node leaves the ``nodes`` table so its
forums move to the other replicas at once.

On SQLite one daemon runs per database file (a lock file beside it); replicas need PostgreSQL.
Under systemd (``Type=notify``) the daemon says READY, RELOADING, STOPPING and pets the watchdog.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor as PollPool
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger

from models.coordination import Coordinator, new_node_id, owner_of, single_daemon_lock
from monitor.alerts import send_alerts
from monitor.errors import ConfigError, SpokeswatchError
from monitor.notify import deliver_digest, send_alert
from monitor.poller import utcnow
from monitor.render import write_all
from monitor.service import Service

HEARTBEAT_SECONDS = 15
DISPATCH_SECONDS = 1.0  # how often due polls are looked for (one indexed query)
BEAT_SECONDS = 5.0  # how often this node says it is alive in the database
TAKEOVER_AFTER = timedelta(minutes=1)  # at most: another node polls a forum its owner left this late
DISPATCH_EXECUTOR = "dispatch"
NIGHTLY_EXECUTOR = "nightly"  # the digest: one worker of its own
RESTART_ONLY = ("database", "state_dir", "max_parallel_polls", "health")  # kept as they are at a reload
WEB_RESTART_ONLY = ("listen", "secret_key", "session_hours", "secure_cookies", "login_attempts", "trusted_proxies")


def sd_notify(state: str) -> None:
    """Tell systemd (``Type=notify``) our state, when it started us with a notify socket."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        logger.debug("cannot notify systemd: {}", exc)


class CheckRunner:
    """Runs the rules check one at a time: on request (coalesced) and every ``interval_seconds``.

    ``request()`` never blocks: it sets an event the check thread waits on. The thread clears
    the event just before a check starts, so requests made while a check runs lead to exactly
    one more check. ``run()`` runs a check right now in the caller's thread (the digest job);
    both paths hold ``lock``, and neither starts a check once ``stop`` is set.
    """

    def __init__(self, check: Callable[[datetime | None], Any], interval_seconds: float,
                 stop: threading.Event, claim: Callable[[], float | None] | None = None):
        self._check = check
        self._claim = claim  # periodic checks: None to go ahead, or seconds until another node's is due
        self.interval = interval_seconds
        self.stop = stop
        self.lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._due = time.monotonic() + interval_seconds  # the next periodic check
        self.runs = 0

    def request(self) -> None:
        """Ask for a check soon; many requests before it starts make one check."""
        self._wake.set()

    def run(self, now: datetime | None = None) -> Any:
        """Check now, in this thread, after any check in progress; None once a stop is requested."""
        with self.lock:
            return self.run_holding_lock(now)

    def run_holding_lock(self, now: datetime | None = None) -> Any:
        """``run`` for a caller that already holds ``lock`` (to do more before the next check)."""
        if self.stop.is_set():
            return None
        self._due = time.monotonic() + self.interval
        self.runs += 1
        logger.debug("rules check started")
        return self._check(now)

    def next_run(self) -> datetime:
        """When the next check is due (now when one is requested or running), for the heartbeat."""
        if self._wake.is_set() or self.lock.locked():
            return datetime.now(timezone.utc)
        return datetime.now(timezone.utc) + timedelta(seconds=max(0.0, self._due - time.monotonic()))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="rules-check", daemon=False)
        self._thread.start()

    def shutdown(self) -> None:
        """Stop the thread (``stop`` must be set): wait for a check in progress, start none."""
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _claim_periodic(self) -> float | None:
        try:
            return self._claim()
        except SpokeswatchError as exc:
            logger.warning("cannot claim the periodic check ({}); checking anyway", exc)
            return None

    def _loop(self) -> None:
        while not self.stop.is_set():
            requested = self._wake.wait(timeout=max(0.0, self._due - time.monotonic()))
            if self.stop.is_set():
                break
            if not requested and time.monotonic() < self._due:
                continue  # another check (the digest's) ran meanwhile: the period counts from it
            if not requested and self._claim is not None:
                wait = self._claim_periodic()
                if wait is not None:  # another node runs this period's check
                    self._due = time.monotonic() + max(wait, 1.0)
                    continue
            self._wake.clear()  # requests from here on are served by the next check
            try:
                self.run()
            except SpokeswatchError as exc:
                logger.error("rules check failed: {}", exc)
            except Exception:  # noqa: BLE001 - the thread must outlive one bad check
                logger.exception("rules check failed")


class Daemon:
    """One node of the service: dispatches polls, runs checks and the digest, reloads its config."""

    def __init__(self, service: Service, config_path: str | Path | None = None, verbose: bool = False):
        self.service = service
        self.config = service.config
        self.config_path = Path(config_path) if config_path else None
        self.verbose = verbose
        self.zone = ZoneInfo(self.config.timezone)
        self.stop_requested = threading.Event()
        self.reload_requested = threading.Event()
        self.started_at = utcnow()
        self.node_id = new_node_id()
        self.coord = Coordinator(service.engine, self.node_id)
        self.poll_pool_size = self.config.poll_pool_size
        self.polls = PollPool(self.poll_pool_size, thread_name_prefix="poll")
        self._polling: set[str] = set()  # forums this node is polling now
        self._polling_lock = threading.Lock()
        self._nodes: list[str] = [self.node_id]
        self._beaten = 0.0
        self._dispatch_warned = -60.0
        self.checks = CheckRunner(self._check_and_alert, self.config.check_interval_minutes * 60,
                                  self.stop_requested, claim=self._claim_periodic_check)
        executors = {DISPATCH_EXECUTOR: ThreadPoolExecutor(1, pool_kwargs={"thread_name_prefix": "dispatch"}),
                     NIGHTLY_EXECUTOR: ThreadPoolExecutor(1, pool_kwargs={"thread_name_prefix": "nightly"})}
        self.scheduler = BackgroundScheduler(timezone=self.zone, executors=executors,
                                             job_defaults={"coalesce": True, "max_instances": 1,
                                                           "misfire_grace_time": 300})
        from monitor.health import Metrics  # prometheus_client: only the daemon needs it
        self.metrics = Metrics(service.engine, lambda: self.config, service.clock)
        self.health_server = None
        self.web_server = None
        self._config_stamp = self._config_file_stamp()
        self._single = None  # the SQLite lock file, held while running

    # ---- polls --------------------------------------------------------------

    def poll_job(self, forum_id: str) -> list:
        """Poll one forum now (no claim: the dispatcher claimed it) and ask for a check if it stored something."""
        if self.stop_requested.is_set():  # queued before the stop: dropped
            return []
        try:
            results = self.service.poll(forum_id)
        except SpokeswatchError as exc:
            logger.warning("poll job for {} failed: {}", forum_id, exc)
            return [_Failed(forum_id, str(exc))]
        if any(getattr(r, "stored_something", True) for r in results) and not self.stop_requested.is_set():
            self.checks.request()
        return results

    def dispatch(self) -> None:
        """Claim the due polls this node should run, up to its free workers, and start them."""
        if self.stop_requested.is_set():
            return
        try:
            self._dispatch(utcnow())
        except SpokeswatchError as exc:  # the database busy or away: try again at the next tick
            if time.monotonic() - self._dispatch_warned >= 60:  # say so once a minute, not every second
                self._dispatch_warned = time.monotonic()
                logger.warning("cannot dispatch polls: {}", exc)

    def _dispatch(self, now: datetime) -> None:
        if time.monotonic() - self._beaten >= BEAT_SECONDS:
            self.coord.beat(now)
            self._nodes = self.coord.live_nodes(now) or [self.node_id]
            self._beaten = time.monotonic()
        forums = {f.id: f for f in self.config.forums}
        with self._polling_lock:
            free = self.poll_pool_size - len(self._polling)
        for name, due_at, _owner in self.coord.due_jobs("poll:", now) if free > 0 else []:
            forum = forums.get(name.removeprefix("poll:"))
            if forum is None or forum.id in self._polling:
                continue  # removed from config, or still running here
            interval = timedelta(minutes=forum.poll_interval_minutes)
            if owner_of(name, self._nodes) != self.node_id and now < due_at + min(interval / 2, TAKEOVER_AFTER):
                continue  # its owner polls it; if the owner is gone or late, this node will
            following = due_at + interval  # each forum keeps its phase; after a long gap, from now
            if not self.coord.claim(name, due_at, now, following if following > now else now + interval):
                continue  # another node was first
            with self._polling_lock:
                self._polling.add(forum.id)
            self.polls.submit(self._run_poll, forum.id)
            free -= 1
            if free == 0:
                break

    def _run_poll(self, forum_id: str) -> None:
        """A claimed poll: under the forum's lock, then its outcome (backoff, alerts, metrics)."""
        try:
            with self.coord.exclusive(f"poll:{forum_id}") as free:
                if not free:
                    logger.info("poll of {} skipped: another node is still polling it", forum_id)
                    return
                started, t0 = utcnow(), time.monotonic()
                results = self.poll_job(forum_id)
                for r in results:
                    self.metrics.poll_finished(r, time.monotonic() - t0)
                if results and results[0].status != "interrupted":
                    self._record_outcome(forum_id, started, results[0].error if results[0].status == "failed"
                                         else None)
        except SpokeswatchError as exc:
            logger.warning("poll of {} could not be recorded: {}", forum_id, exc)
        except Exception:  # noqa: BLE001 - a bug in one poll must not stop the others
            logger.exception("poll of {} failed", forum_id)
        finally:
            with self._polling_lock:
                self._polling.discard(forum_id)

    def _record_outcome(self, forum_id: str, started: datetime, error: str | None) -> None:
        """Back off after a failure, alert once after ``alert_after_hours``, and once at recovery."""
        cfg, job = self.config, f"poll:{forum_id}"
        forum = next((f for f in cfg.forums if f.id == forum_id), None)
        named = f"{forum.name}（{forum_id}）" if forum else forum_id
        state = self.coord.record_outcome(job, utcnow(), error)
        if error is None:
            if self.coord.set_alerted(job, False):
                self._alert(f"论坛恢复采集：{named}", f"论坛 {named} 已恢复正常采集。\n\nForum {forum_id} is polled "
                            "successfully again.")
            return
        interval = forum.poll_interval_minutes if forum else 10
        delay = min(interval * 2 ** state.failures, max(cfg.backoff_max_minutes, interval))
        self.coord.reschedule(job, started + timedelta(minutes=delay))
        logger.warning("forum {} failed {} time(s) in a row: next poll in {:g} min", forum_id, state.failures, delay)
        failing_for = utcnow() - state.failing_since if state.failing_since else timedelta(0)
        if failing_for >= timedelta(hours=cfg.alert_after_hours) and self.coord.set_alerted(job, True):
            since = state.failing_since.astimezone(self.zone).isoformat(sep=" ", timespec="minutes")
            self._alert(f"论坛采集失败：{named}",
                        f"论坛 {named} 自 {since} 起采集失败（连续 {state.failures} 次）：{error}\n\n"
                        f"Forum {forum_id} has failed since {since} ({state.failures} polls in a row): {error}")

    def _alert(self, title: str, body: str) -> None:
        delivery = send_alert(self.config, title, body)
        logger.warning("{} (told: {})", title, ", ".join(delivery.sent) or "nobody: digest.notify is empty")
        for who in delivery.failed:
            self.metrics.delivery_failed(who)

    # ---- checks -----------------------------------------------------------------

    def _timed_check(self, now: datetime | None) -> Any:
        t0, ok = time.monotonic(), False
        try:
            result = self.service.check(now)
            ok = True
            return result
        finally:
            self.metrics.check_finished(time.monotonic() - t0, ok)

    def _check_and_alert(self, now: datetime | None) -> Any:
        """The rules check, then the thread alerts it calls for (none once a stop is requested:
        the next start sends them, as what they are about stays in view until it is judged)."""
        result = self._timed_check(now)
        if not self.stop_requested.is_set():
            self._send_alerts()
        return result

    def _send_alerts(self) -> None:
        """Send the thread alerts due now; a failure is logged, never raised."""
        try:
            run = send_alerts(self.config, self.service.repo, self.coord, self.service.clock())
        except SpokeswatchError as exc:
            logger.error("thread alerts not sent: {}", exc)
            return
        except Exception:  # noqa: BLE001 - the check thread must outlive a bug in the alerts
            logger.exception("thread alerts failed")
            return
        for who in run.failed:
            self.metrics.delivery_failed(who.split(":", 1)[0])

    def _claim_periodic_check(self) -> float | None:
        """None when this node runs this period's check; else seconds until the next is due."""
        now = utcnow()
        interval = timedelta(minutes=self.config.check_interval_minutes)
        if self.coord.claim("check", now, now, now + interval):
            return None
        due = self.coord.next_due("check")
        return (due - now).total_seconds() if due else interval.total_seconds()

    # ---- the digest ------------------------------------------------------------------

    def digest_job(self, day: str | None = None) -> None:
        """The nightly digest (of ``day``, default today in the office's zone): once per day
        across restarts and replicas, each target delivered to at most once."""
        if self.stop_requested.is_set():
            return
        t0, ok = time.monotonic(), False
        now = self.service.clock()
        day = day or now.astimezone(self.zone).date().isoformat()
        try:
            if not self.coord.once("digest", day, now):
                logger.info("the digest of {} was already produced (by this or another node)", day)
                return
            with self.checks.lock:  # no other check between this one and the digest it feeds
                if self.stop_requested.is_set():
                    return
                self.checks.run_holding_lock(now)
                digest = self.service.digest(now)
            paths = write_all("digest", digest, Path(self.config.digest.out_dir) / day)
            logger.info("digest written: {}", ", ".join(str(p) for p in paths))
            delivery = deliver_digest(self.config, digest,
                                      claim=lambda target: self.coord.once("delivery", f"{day} {target}", now))
            for who in delivery.failed:
                self.metrics.delivery_failed(who.split(":", 1)[0])
            if not delivery.ok:
                logger.error("digest not delivered to: {}", "; ".join(delivery.failed))
            self.coord.once_finished("digest", day, "done" if delivery.ok else "failed",
                                     "; ".join(delivery.failed) or None)
            ok = True
        except (SpokeswatchError, OSError) as exc:
            logger.error("digest job failed: {}", exc)
        finally:
            self.metrics.digest_finished(time.monotonic() - t0, ok)

    def _catch_up_digest(self, now: datetime) -> None:
        """Produce the latest digest whose time passed while no daemon ran (once, not per day)."""
        t = self.config.digest.time
        local = now.astimezone(self.zone)
        fire = local.replace(hour=t.hour, minute=t.minute, second=t.second, microsecond=0)
        day = (fire if fire <= local else fire - timedelta(days=1)).date().isoformat()
        latest = self.coord.latest_once("digest")
        if latest is not None and latest < day:
            logger.info("the digest of {} was due while the service was down: producing it now", day)
            self.scheduler.add_job(self.digest_job, kwargs={"day": day}, id="digest-missed",
                                   name="missed digest", executor=NIGHTLY_EXECUTOR)

    # ---- schedule and reload ------------------------------------------------------

    def _sync_jobs(self, now: datetime, changed_intervals: tuple[str, ...] = ()) -> None:
        """Schedule rows for new forums (first polls spread over a minute); a changed interval
        takes effect now rather than after the old one."""
        forums = self.config.forums
        spread = {f"poll:{f.id}": now + timedelta(seconds=i * min(60.0, f.poll_interval_minutes * 60) / len(forums))
                  for i, f in enumerate(forums)}
        self.coord.ensure_jobs({**spread, "check": now})
        for f in forums:
            if f.id in changed_intervals:
                self.coord.clamp(f"poll:{f.id}", now + timedelta(minutes=f.poll_interval_minutes))

    def schedule(self) -> None:
        """The dispatcher and the nightly digest (at ``digest.time`` in the office's zone)."""
        self.scheduler.add_job(self.dispatch, IntervalTrigger(seconds=DISPATCH_SECONDS, timezone=self.zone),
                               id="dispatch", name="poll dispatcher", executor=DISPATCH_EXECUTOR)
        self.scheduler.add_job(self.digest_job, self._digest_trigger(), id="digest", name="nightly digest",
                               executor=NIGHTLY_EXECUTOR)

    def _digest_trigger(self) -> CronTrigger:
        t = self.config.digest.time
        return CronTrigger(hour=t.hour, minute=t.minute, second=t.second, timezone=ZoneInfo(self.config.timezone))

    def _config_file_stamp(self) -> tuple | None:
        if self.config_path is None:
            return None
        try:
            st = self.config_path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _config_file_changed(self) -> bool:
        stamp = self._config_file_stamp()
        if stamp is None or stamp == self._config_stamp:
            return False
        time.sleep(0.2)  # let an editor finish writing
        self._config_stamp = self._config_file_stamp()
        return True

    def reload(self, why: str) -> bool:
        """Load config.yaml again; swap it in between jobs if it passes the config check."""
        from monitor.config import load_config
        if self.config_path is None:
            return False
        self._config_stamp = self._config_file_stamp()
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            logger.error("config not reloaded ({}): {}; still running on the previous config", why, exc)
            return False
        old = self.config
        kept = {k: getattr(old, k) for k in RESTART_ONLY if getattr(new, k) != getattr(old, k)}
        web_kept = {k: getattr(old.web, k) for k in WEB_RESTART_ONLY if getattr(new.web, k) != getattr(old.web, k)}
        if web_kept:  # users and the language apply at once; the server's own settings at a restart
            kept["web"] = new.web.model_copy(update=web_kept)
        new = new.model_copy(update=kept)
        kept = {k: None for k in kept if k != "web"} | {f"web.{k}": None for k in web_kept}
        changes = describe_changes(old, new)
        if not changes:
            logger.info("config reloaded ({}): nothing changed", why)
            return True
        sd_notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
        with self.checks.lock:  # between checks; polls already running keep the config they started with
            self.service.reconfigure(new)
            self.config = new
        self.checks.interval = new.check_interval_minutes * 60
        if (new.digest.time, new.timezone) != (old.digest.time, old.timezone):
            self.zone = ZoneInfo(new.timezone)
            self.scheduler.reschedule_job("digest", trigger=self._digest_trigger())
        if new.log != old.log:
            from monitor.logs import setup_from_config
            setup_from_config(new, self.verbose)
        old_forums = {f.id: f for f in old.forums}
        changed_intervals = tuple(f.id for f in new.forums if f.id in old_forums
                                  and f.poll_interval_minutes != old_forums[f.id].poll_interval_minutes)
        self._sync_jobs(utcnow(), changed_intervals)
        logger.info("config reloaded ({}): {}", why, "; ".join(changes))
        if kept:
            logger.warning("config reload: {} changed in the file; that takes a restart (still using the "
                           "running value)", ", ".join(kept))
        sd_notify("READY=1")
        return True

    # ---- lifecycle ------------------------------------------------------------------

    def request_stop(self, signum=None, _frame=None) -> None:
        logger.info("stop requested (signal {}); finishing the current write", signum)
        self.service.stop.set()  # a running poll ends after the write in progress
        self.stop_requested.set()  # polls not started are dropped; no check starts

    def _request_reload(self, _signum=None, _frame=None) -> None:
        self.reload_requested.set()

    def heartbeat(self, state: str = "running") -> None:
        """Write state_dir/heartbeat.json: that the daemon lives, and when its jobs run next."""
        jobs = {}
        if state == "running":
            jobs = {job.id: job.next_run_time.isoformat() if job.next_run_time else None
                    for job in self.scheduler.get_jobs()}
            jobs["check"] = self.checks.next_run().astimezone(self.zone).isoformat()
        path = heartbeat_path(self.config)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "node": self.node_id, "state": state,
                                       "at": utcnow().isoformat(), "next_runs": jobs}), "utf-8")
            tmp.replace(path)
        except OSError as exc:
            logger.warning("cannot write the heartbeat {}: {}", path, exc)

    def _start_health(self) -> None:
        if not self.config.health.listen:
            return
        from monitor.health import HealthServer, health_report
        self.health_server = HealthServer(
            self.config.health.listen,
            lambda: health_report(self.service.engine, self.config, utcnow(),
                                  self.scheduler.running and not self.stop_requested.is_set(), self.started_at),
            self.metrics)
        self.health_server.start()
        host = self.config.health.listen.rsplit(":", 1)[0] or "0.0.0.0"
        logger.info("health and metrics on http://{}:{}/healthz and /metrics", host, self.health_server.port)

    def _start_web(self) -> None:
        """The web view on ``web.listen`` (a thread of this process), when set."""
        if not self.config.web.listen:
            return
        if not self.config.web.users:
            logger.warning("web.listen is set but web.users is empty: nobody can log in to the web view")
        from monitor.web.server import WebServer
        self.web_server = WebServer(lambda: self.config, self.service.repo, self.config.web.listen,
                                    self.service.clock)
        self.web_server.start()
        host = self.config.web.listen.rsplit(":", 1)[0] or "0.0.0.0"
        logger.info("web view on http://{}:{}/", host, self.web_server.port)

    def run(self) -> None:
        """Run until SIGTERM/SIGINT; SIGHUP or an edited config.yaml reloads the config."""
        self._single = single_daemon_lock(self.config.database)
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self._request_reload)
        try:
            now = utcnow()
            self.coord.beat(now)
            self._sync_jobs(now)
            self.schedule()
            self._start_health()
            self._start_web()
            self.checks.start()
            self.checks.request()  # after downtime, the check runs at once
            self.scheduler.start()
            self._catch_up_digest(now)
            logger.info("spokeswatch running: {} forum(s), up to {} polled at once, rules check every {} min "
                        "and after polls that stored something, digest at {} ({}); node {}",
                        len(self.config.forums), self.poll_pool_size, self.config.check_interval_minutes,
                        self.config.digest.time, self.config.timezone, self.node_id)
            sd_notify("READY=1")
            next_beat = 0.0
            while not self.stop_requested.is_set():
                if time.monotonic() >= next_beat:
                    self.heartbeat()
                    sd_notify("WATCHDOG=1")
                    next_beat = time.monotonic() + HEARTBEAT_SECONDS
                if self.reload_requested.is_set():
                    self.reload_requested.clear()
                    self.reload("SIGHUP")
                elif self._config_file_changed():
                    self.reload(f"{self.config_path} changed")
                self.stop_requested.wait(timeout=1.0)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        sd_notify("STOPPING=1")
        self.service.stop.set()
        self.stop_requested.set()
        if self.scheduler.running:
            self.scheduler.pause()  # submit nothing more
            self.scheduler.shutdown(wait=True)
        self.polls.shutdown(wait=True, cancel_futures=True)  # running polls end after their write
        self.checks.shutdown()  # a check in progress finishes its transaction; none starts
        if self.health_server is not None:
            self.health_server.stop()
        if self.web_server is not None:
            self.web_server.stop()
        try:
            self.coord.leave()
        except SpokeswatchError as exc:
            logger.warning("could not leave the node list: {}", exc)
        self.service.close()
        self.heartbeat("stopped")
        if self._single is not None:
            self._single.close()
        logger.info("spokeswatch stopped cleanly")


class _Failed:
    """A poll that raised before it could record a run: counted as a failure."""

    def __init__(self, forum_id: str, error: str):
        self.forum_id, self.error, self.status = forum_id, error, "failed"
        self.requests = self.bytes = self.threads_changed = 0
        self.warnings: list[str] = []
        self.stored_something = False
        from models.repository import StoreResult
        self.store = StoreResult()


def describe_changes(old, new) -> list[str]:
    """What a reload changes, in a few words per part of the config."""
    out = []
    for kind, before, after in (("forum", old.forums, new.forums), ("unit", old.units, new.units)):
        a, b = {x.id: x for x in before}, {x.id: x for x in after}
        added, removed = sorted(b.keys() - a.keys()), sorted(a.keys() - b.keys())
        changed = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])
        out += [f"{kind}s {what}: {', '.join(ids)}" for what, ids in
                (("added", added), ("removed", removed), ("changed", changed)) if ids]
    skip = {"forums", "units"}
    out += [f"{name} changed" for name in type(new).model_fields
            if name not in skip and getattr(old, name) != getattr(new, name)]
    return out


def heartbeat_path(config) -> Path:
    return Path(config.state_dir) / "heartbeat.json"


def read_heartbeat(config) -> dict | None:
    """The daemon's last heartbeat, or None when it never ran here."""
    try:
        return json.loads(heartbeat_path(config).read_text("utf-8"))
    except (OSError, ValueError):
        return None
