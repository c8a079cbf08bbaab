"""The daemon: poll jobs in a pool of their own, the rules check on its own thread, the nightly digest.

Three kinds of work, kept apart so that none waits behind another:

* **Polls** run as APScheduler interval jobs (one per forum, at its interval, the forums' first
  polls spread over the first minute so that each keeps a phase of its own) in a
  thread pool of ``max_parallel_polls`` workers (default: the number of forums, at most 8).
  Each forum's job has at most one instance; a forum whose turn comes while the pool is busy
  queues for the next free worker and runs however late (missed turns coalesce into one).
* **The rules check** runs on one dedicated thread (:class:`CheckRunner`), never in the poll
  pool, so it never waits behind polls. It runs every ``check_interval_minutes`` and whenever
  a poll stored something: the poll only *asks* for a check (sets an event). Requests are
  coalesced: however many polls ask while a check runs, exactly one more check follows it,
  and it reads everything they stored. The periodic timer counts from the start of the last
  check, so a busy daemon does not add periodic checks on top of requested ones.
* **The digest** is an APScheduler cron job at ``digest.time`` in the office's zone
  (``timezone``), in a one-worker executor of its own. It checks first through the same
  runner, under the same lock: two checks never run at once in this process. (Several
  processes on one database are kept apart by a lock inside the check itself.)

Stopping (SIGTERM/SIGINT): the service's stop event makes a running poll end after the write
in progress; a poll job still queued in the pool returns as soon as it starts, without
polling; no check or digest starts after the stop; a check already running finishes its
transaction. The main thread then shuts the scheduler down (which waits only for the running
jobs, the queued ones being no-ops), stops the check thread, closes the database and logs the
shutdown in ``finally``.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger

from monitor.errors import SpokeswatchError
from monitor.notify import deliver_digest
from monitor.render import write_all
from monitor.service import Service

HEARTBEAT_SECONDS = 15
POLL_EXECUTOR = "default"  # poll jobs: max_parallel_polls workers
NIGHTLY_EXECUTOR = "nightly"  # the digest: one worker of its own


class CheckRunner:
    """Runs the rules check one at a time: on request (coalesced) and every ``interval_seconds``.

    ``request()`` never blocks: it sets an event the check thread waits on. The thread clears
    the event just before a check starts, so requests made while a check runs lead to exactly
    one more check. ``run()`` runs a check right now in the caller's thread (the digest job);
    both paths hold ``lock``, and neither starts a check once ``stop`` is set.
    """

    def __init__(self, check: Callable[[datetime | None], Any], interval_seconds: float,
                 stop: threading.Event):
        self._check = check
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

    def _loop(self) -> None:
        while not self.stop.is_set():
            requested = self._wake.wait(timeout=max(0.0, self._due - time.monotonic()))
            if self.stop.is_set():
                break
            if not requested and time.monotonic() < self._due:
                continue  # another check (the digest's) ran meanwhile: the period counts from it
            self._wake.clear()  # requests from here on are served by the next check
            try:
                self.run()
            except SpokeswatchError as exc:
                logger.error("rules check failed: {}", exc)
            except Exception:  # noqa: BLE001 - the thread must outlive one bad check
                logger.exception("rules check failed")


class Daemon:
    """Schedules one poll job per forum and the digest; runs the rules check on its own thread."""

    def __init__(self, service: Service):
        self.service = service
        self.config = service.config
        self.zone = ZoneInfo(self.config.timezone)
        self.stop_requested = threading.Event()
        self.poll_pool_size = self.config.poll_pool_size
        self.checks = CheckRunner(self.service.check, self.config.check_interval_minutes * 60,
                                  self.stop_requested)
        executors = {
            POLL_EXECUTOR: ThreadPoolExecutor(self.poll_pool_size, pool_kwargs={"thread_name_prefix": "poll"}),
            NIGHTLY_EXECUTOR: ThreadPoolExecutor(1, pool_kwargs={"thread_name_prefix": "nightly"}),
        }
        self.scheduler = BackgroundScheduler(timezone=self.zone, executors=executors,
                                             job_defaults={"coalesce": True, "max_instances": 1,
                                                           "misfire_grace_time": 300})

    # ---- jobs: plain functions over the service ---------------------------

    def poll_job(self, forum_id: str) -> None:
        if self.stop_requested.is_set():  # queued before the stop: dropped
            return
        try:
            results = self.service.poll(forum_id)
        except SpokeswatchError as exc:
            logger.error("poll job for {} failed: {}", forum_id, exc)
            return
        if any(getattr(r, "stored_something", True) for r in results) and not self.stop_requested.is_set():
            self.checks.request()

    def digest_job(self) -> None:
        if self.stop_requested.is_set():
            return
        try:
            now = self.service.clock()
            with self.checks.lock:  # no other check between this one and the digest it feeds
                if self.stop_requested.is_set():
                    return
                self.checks.run_holding_lock(now)
                day = now.astimezone(self.zone).date().isoformat()
                digest = self.service.digest(now)
            paths = write_all("digest", digest, Path(self.config.digest.out_dir) / day)
            logger.info("digest written: {}", ", ".join(str(p) for p in paths))
            delivery = deliver_digest(self.config, digest)
            if not delivery.ok:
                logger.error("digest not delivered to: {}", "; ".join(delivery.failed))
        except (SpokeswatchError, OSError) as exc:
            logger.error("digest job failed: {}", exc)

    # ---- lifecycle ----------------------------------------------------------

    def schedule(self) -> None:
        """Each forum's poll at its own phase: the first polls spread over the first minute (or
        the interval, if shorter), then every interval from there. No jitter: APScheduler 3 adds
        it on top of the previous jittered time, so it stretched every interval by 5% on average,
        and the staggered phases already keep the forums from all being due at once."""
        now = datetime.now(self.zone)
        forums = self.config.forums
        for i, forum in enumerate(forums):
            seconds = forum.poll_interval_minutes * 60
            first = now + timedelta(seconds=i * min(60.0, seconds) / len(forums))
            self.scheduler.add_job(self.poll_job, IntervalTrigger(seconds=seconds, timezone=self.zone),
                                   args=[forum.id], id=f"poll:{forum.id}", name=f"poll {forum.id}",
                                   executor=POLL_EXECUTOR, next_run_time=first,
                                   misfire_grace_time=None)  # a poll kept waiting by a full pool runs late, not never
        t = self.config.digest.time
        self.scheduler.add_job(self.digest_job, CronTrigger(hour=t.hour, minute=t.minute, timezone=self.zone),
                               id="digest", name="nightly digest", executor=NIGHTLY_EXECUTOR)

    def request_stop(self, signum=None, _frame=None) -> None:
        logger.info("stop requested (signal {}); finishing the current write", signum)
        self.service.stop.set()  # a running poll ends after the write in progress
        self.stop_requested.set()  # queued polls return at once; no check starts

    def heartbeat(self, state: str = "running") -> None:
        """Write state_dir/heartbeat.json: that the daemon lives, and when each job runs next."""
        jobs = {}
        if state == "running":
            jobs = {job.id: job.next_run_time.isoformat() if job.next_run_time else None
                    for job in self.scheduler.get_jobs()}
            jobs["check"] = self.checks.next_run().astimezone(self.zone).isoformat()
        path = heartbeat_path(self.config)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "state": state,
                                       "at": datetime.now(timezone.utc).isoformat(), "next_runs": jobs}), "utf-8")
            tmp.replace(path)
        except OSError as exc:
            logger.warning("cannot write the heartbeat {}: {}", path, exc)

    def run(self) -> None:
        """Run until SIGTERM/SIGINT: jobs in the background, a heartbeat every few seconds here."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.schedule()
        try:
            self.checks.start()
            self.scheduler.start()
            logger.info("spokeswatch running: {} forum(s), up to {} polled at once, rules check every {} min "
                        "and after polls that stored something, digest at {} ({})",
                        len(self.config.forums), self.poll_pool_size, self.config.check_interval_minutes,
                        self.config.digest.time, self.config.timezone)
            while True:
                self.heartbeat()
                if self.stop_requested.wait(timeout=HEARTBEAT_SECONDS):
                    break
        finally:
            self.service.stop.set()
            self.stop_requested.set()
            if self.scheduler.running:
                self.scheduler.pause()  # submit nothing more
                self.scheduler.shutdown(wait=True)  # queued polls return at once; running ones end after their write
            self.checks.shutdown()  # a check in progress finishes its transaction; none starts
            self.service.close()
            self.heartbeat("stopped")
            logger.info("spokeswatch stopped cleanly")


def heartbeat_path(config) -> Path:
    return Path(config.state_dir) / "heartbeat.json"


def read_heartbeat(config) -> dict | None:
    """The daemon's last heartbeat, or None when it never ran here."""
    try:
        return json.loads(heartbeat_path(config).read_text("utf-8"))
    except (OSError, ValueError):
        return None
