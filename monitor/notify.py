"""Delivering the nightly digest through Apprise: the office's digest, and each unit's own list.

Targets are Apprise URLs from config.yaml (mail, DingTalk, WeCom, webhooks …).
They carry secrets, so logs and results show them only in Apprise's privacy form.
A failed delivery is reported; the digest files on disk are written regardless.
"""
from __future__ import annotations

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


def _send(urls: list[str], d: Digest, who: str, result: Delivery) -> None:
    body = render("digest", "md", d)
    for url in urls:
        target = apprise.Apprise()
        if not target.add(url):
            result.failed.append(f"{who}: an Apprise URL that is not understood (check its scheme)")
            continue
        private = next(iter(target)).url(privacy=True)
        if target.notify(title=_title(d), body=body, body_format=apprise.NotifyFormat.MARKDOWN):
            logger.info("digest for {} sent to {}", who, private)
        else:
            result.failed.append(f"{who}: {private}")
            logger.error("digest for {} could not be sent to {}", who, private)
    if not any(f.startswith(f"{who}:") for f in result.failed):
        result.sent.append(who)


def deliver_digest(config: Config, digest: Digest, unit_id: str | None = None) -> Delivery:
    """Send the office's digest to ``digest.notify`` and each unit's own list to its ``notify``
    (only that unit's, with ``unit_id``)."""
    result = Delivery()
    if config.digest.notify and unit_id is None:
        _send(config.digest.notify, digest, "office", result)
    for unit in config.units:
        if unit.notify and unit_id in (None, unit.id):
            _send(unit.notify, for_unit(digest, unit.name), unit.name, result)
    return result
