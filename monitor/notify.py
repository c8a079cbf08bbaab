"""Delivering through Apprise: the nightly digest (the office's, and each unit's own list),
alerts about forums that keep failing, and alerts about threads (:mod:`monitor.alerts`).

Targets are Apprise URLs from config.yaml (mail, DingTalk, WeCom, webhooks …).
They carry secrets, so logs and results show them only in Apprise's privacy form.
A failed delivery is reported; the digest files on disk are written regardless.
The daemon passes ``claim``: a target is sent to only when its claim (recorded in the
database) goes through, so each target gets a day's digest, or a thread's alert, at most once
across replicas.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import apprise
from loguru import logger

from monitor.config import Config
from monitor.digest import Digest, for_unit
from monitor.render import render


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)    # who received it (office, unit names)
    failed: list[str] = field(default_factory=list)  # "who: target (private form)"

    @property
    def ok(self) -> bool:
        return not self.failed


def _title(d: Digest) -> str:
    base = "网络发言人逾期答复日报" if d.lang == "zh" else "Overdue digest"
    return f"{base} {d.as_of}" + (f" · {d.unit}" if d.unit else "")


Claim = Callable[[str], bool]  # a target's key → whether this caller may send to it


def target_key(who: str, url: str) -> str:
    """A target named without its secrets: who, and a hash of the URL."""
    return f"{who} {hashlib.sha256(url.encode()).hexdigest()[:16]}"


def _send(urls: list[str], title: str, body: str, who: str, result: Delivery, what: str,
          claim: Claim | None = None) -> None:
    for url in urls:
        target = apprise.Apprise()
        if not target.add(url):
            result.failed.append(f"{who}: an Apprise URL that is not understood (check its scheme)")
            continue
        private = next(iter(target)).url(privacy=True)
        if claim is not None and not claim(target_key(who, url)):
            logger.info("{} for {} already sent to {} (by this or another node)", what, who, private)
            continue
        if target.notify(title=title, body=body, body_format=apprise.NotifyFormat.MARKDOWN):
            logger.info("{} for {} sent to {}", what, who, private)
        else:
            result.failed.append(f"{who}: {private}")
            logger.error("{} for {} could not be sent to {}", what, who, private)
    if not any(f.startswith(f"{who}:") for f in result.failed):
        result.sent.append(who)


def deliver_digest(config: Config, digest: Digest, unit_id: str | None = None,
                   claim: Claim | None = None) -> Delivery:
    """Send the office's digest to ``digest.notify`` and each unit's own list to its ``notify``
    (only that unit's, with ``unit_id``); with ``claim``, only to targets it lets through."""
    result = Delivery()
    if config.digest.notify and unit_id is None:
        _send(config.digest.notify, _title(digest), render("digest", "md", digest), "office", result,
              "digest", claim)
    for unit in config.units:
        if unit.notify and unit_id in (None, unit.id):
            mine = for_unit(digest, unit.name)
            _send(unit.notify, _title(mine), render("digest", "md", mine), unit.name, result, "digest", claim)
    return result


def send_alert(config: Config, title: str, body: str) -> Delivery:
    """An operational alert (a forum failing, or back) to the office's ``digest.notify`` targets."""
    result = Delivery()
    if config.digest.notify:
        _send(config.digest.notify, title, body, "office", result, "alert")
    return result


def office_alert_targets(config: Config) -> list[str]:
    """The office's targets for thread alerts: ``alerts.notify``, else ``digest.notify``."""
    return config.alerts.notify or config.digest.notify


def deliver_alert(config: Config, title: str, body: str, unit_id: str | None,
                  claim: Claim | None = None) -> Delivery:
    """A thread alert to the office's alert targets and to the ``notify`` targets of the unit that
    owes the thread (none when ``unit_id`` is None: the office owes it); with ``claim``, only to
    targets it lets through."""
    result = Delivery()
    office = office_alert_targets(config)
    if office:
        _send(office, title, body, "office", result, "alert", claim)
    unit = next((u for u in config.units if u.id == unit_id), None) if unit_id else None
    if unit is not None and unit.notify:
        _send(unit.notify, title, body, unit.name, result, "alert", claim)
    return result
