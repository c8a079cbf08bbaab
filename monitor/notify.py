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
import re
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
    return f"{d.t('title')} {d.as_of}" + (f" · {d.unit}" if d.unit else "")


Claim = Callable[[str], bool]  # a target's key → whether this caller may send to it


def target_key(who: str, url: str) -> str:
    """A target named without its secrets: who, and a hash of the URL."""
    return f"{who} {hashlib.sha256(url.encode()).hexdigest()[:16]}"


# What one message may carry, in UTF-8 bytes of its Markdown text (the title included: DingTalk
# and WeCom put it into the text as a heading): DingTalk's markdown messages about 20000, a WeCom
# group robot's and Webex Teams' 4096; other chat services allow much more. Mail and the generic
# webhooks (json://, form://, xml://: a program receives them, not a chat window) are not split.
MESSAGE_LIMITS: dict[str, int | None] = {
    "dingtalk": 20000, "wecombot": 4096, "wxteams": 4096, "webex": 4096,
    **dict.fromkeys(("mailto", "mailtos", "json", "jsons", "form", "forms", "xml", "xmls"))}
DEFAULT_MESSAGE_LIMIT = 30000


def message_limit(url: str) -> int | None:
    """The size limit (bytes) of one message to the Apprise URL ``url``; None: no limit."""
    scheme = url.split("://", 1)[0].strip().lower()
    return MESSAGE_LIMITS.get(scheme, DEFAULT_MESSAGE_LIMIT)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, budget: int) -> list[str]:
    """A block too big for one message alone: cut at line ends, a line too long at characters."""
    pieces: list[str] = []
    for line in text.split("\n"):
        while _size(line) > budget:
            n = min(len(line), budget)
            while _size(line[:n]) > budget:  # whole characters, never half of one
                n -= 1 + (_size(line[:n]) - budget) // 4
            pieces.append(line[:n])
            line = line[n:]
        if pieces and _size(pieces[-1] + "\n" + line) <= budget:
            pieces[-1] += "\n" + line
        else:
            pieces.append(line)
    return pieces


def _heading(block: str) -> bool:
    return block.startswith("#")


def split_markdown(body: str, limit: int | None) -> list[str]:
    """``body`` as parts of at most ``limit`` bytes each (None: one part), cut only between its
    blocks (the text between blank lines: in the digest an item, a heading, a "none" line), so no
    item is cut in two. A part that starts inside a section repeats the section's headings
    (## and ###), and a part never ends with a heading; a block larger than a part alone is cut
    at line ends, as a last resort."""
    if limit is None or _size(body) <= limit:
        return [body]
    blocks = [b.strip("\n") for b in re.split(r"\n[ \t]*\n", body) if b.strip()]
    parts: list[list[str]] = []
    part: list[str] = []
    h2 = h3 = None  # the headings the blocks so far are under

    def fits(blocks: list[str]) -> bool:
        return _size("\n\n".join(blocks)) + 1 <= limit  # a part ends with a newline

    def context(block: str) -> list[str]:
        """The headings a new part repeats before ``block``."""
        if block.startswith("### "):
            return [h2] if h2 else []
        return [] if _heading(block) else [h for h in (h2, h3) if h]

    for block in blocks:
        if not fits([*part, block]) and not all(_heading(b) for b in part):
            while _heading(part[-1]):  # it goes with what follows it
                part.pop()
            parts.append(part)
            part = context(block)
        if not fits([*part, block]):  # too big even for a part of its own (``part`` is headings only)
            heads = lambda blocks: _size("\n\n".join([*blocks, ""]))  # noqa: E731
            again = context(block)
            if heads(again) > limit // 2:  # headings are a help, not at any price
                again = []
            if heads(part) > limit // 2:
                part = list(again)
            pieces = _cut(block, max(limit - 1 - max(heads(part), heads(again)), 4))
            for piece in pieces[:-1]:
                parts.append([*part, piece])
                part = list(again)
            block = pieces[-1]
        part.append(block)
        if block.startswith("## "):
            h2, h3 = block, None
        elif block.startswith("### "):
            h3 = block
    parts.append(part)
    return ["\n\n".join(p) + "\n" for p in parts]


def _send(urls: list[str], title: str, body: str, who: str, result: Delivery, what: str,
          claim: Claim | None = None) -> None:
    """Send to each of ``urls``: once its claim goes through, the whole body, in as many
    numbered messages (1/3)… as its service's size limit needs."""
    for url in urls:
        target = apprise.Apprise()
        if not target.add(url):
            result.failed.append(f"{who}: an Apprise URL that is not understood (check its scheme)")
            continue
        private = next(iter(target)).url(privacy=True)
        if claim is not None and not claim(target_key(who, url)):
            logger.info("{} for {} already sent to {} (by this or another node)", what, who, private)
            continue
        limit = message_limit(url)
        reserve = _size(f"# {title} (99/99)\n") + 64  # the title, numbered, as services put it in the text
        parts = split_markdown(body, None if limit is None else max(limit - reserve, 512))
        sent = [target.notify(title=f"{title} ({i}/{len(parts)})" if len(parts) > 1 else title, body=part,
                              body_format=apprise.NotifyFormat.MARKDOWN) for i, part in enumerate(parts, 1)]
        if all(sent):
            logger.info("{} for {} sent to {}{}", what, who, private,
                        f" in {len(parts)} messages" if len(parts) > 1 else "")
        else:
            result.failed.append(f"{who}: {private}")
            logger.error("{} for {} could not be sent to {} ({} of {} messages failed)", what, who, private,
                         sent.count(False), len(parts))
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
