"""The daemon: APScheduler jobs for polling, the rules check and the nightly digest.

Loop shape: jobs run in a background scheduler; the main thread waits for a
stop request (SIGTERM/SIGINT), then shuts the scheduler down waiting for the
running job to finish its current write, and logs the shutdown in ``finally``.
"""
from __future__ import annotations

import json
import os
import signal
import threading
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger

from monitor.errors import SpokeswatchError
from monitor.notify import deliver_digest
from monitor.render import write_all
from monitor.service import Service

HEARTBEAT_SECONDS = 15


class Daemon:
    """Schedules one poll job per forum, the check, and the digest."""

    def __init__(self, service: Service):
        self.service = service
        self.config = service.config
        self.stop_requested = threading.Event()
        self.scheduler = BackgroundScheduler(timezone=ZoneInfo(self.config.timezone),
                                             job_defaults={"coalesce": True, "max_instances": 1,
                                                           "misfire_grace_time": 300})

    # ---- jobs: plain functions over the service ---------------------------

    def poll_job(self, forum_id: str) -> None:
        try:
            self.service.poll(forum_id)
            self.service.check()
        except SpokeswatchError as exc:
            logger.error("poll job for {} failed: {}", forum_id, exc)

    def check_job(self) -> None:
        try:
            self.service.check()
        except SpokeswatchError as exc:
            logger.error("rules check failed: {}", exc)

    def digest_job(self) -> None:
        try:
            now = self.service.clock()
            self.service.check(now)
            day = now.astimezone(ZoneInfo(self.config.timezone)).date().isoformat()
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
        now = datetime.now(ZoneInfo(self.config.timezone))
        for forum in self.config.forums:
            seconds = forum.poll_interval_minutes * 60
            self.scheduler.add_job(self.poll_job, IntervalTrigger(seconds=seconds, jitter=min(60, seconds / 10)),
                                   args=[forum.id], id=f"poll:{forum.id}", name=f"poll {forum.id}",
                                   next_run_time=now)
        self.scheduler.add_job(self.check_job, IntervalTrigger(minutes=self.config.check_interval_minutes),
                               id="check", name="rules check")
        t = self.config.digest.time
        self.scheduler.add_job(self.digest_job, CronTrigger(hour=t.hour, minute=t.minute), id="digest",
                               name="nightly digest")

    def request_stop(self, signum=None, _frame=None) -> None:
        logger.info("stop requested (signal {}); finishing the current write", signum)
        self.service.stop.set()  # a running poll ends after the write in progress
        self.stop_requested.set()

    def heartbeat(self, state: str = "running") -> None:
        """Write state_dir/heartbeat.json: that the daemon lives, and when each job runs next."""
        jobs = {job.id: job.next_run_time.isoformat() if job.next_run_time else None
                for job in self.scheduler.get_jobs()} if state == "running" else {}
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
        self.scheduler.start()
        logger.info("spokeswatch running: {} forum(s), check every {} min, digest at {}",
                    len(self.config.forums), self.config.check_interval_minutes, self.config.digest.time)
        try:
            while True:
                self.heartbeat()
                if self.stop_requested.wait(timeout=HEARTBEAT_SECONDS):
                    break
        finally:
            self.scheduler.shutdown(wait=True)
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
