"""Immediate alerts, not waiting for the night: a thread that becomes hot while nobody answers
it, and a new thread that says one of the office's watch words.

* **Hot, unanswered.** A thread's views or replies reach ``rules.hot`` (``min_views`` /
  ``min_replies``) while its case is ``pending`` or ``overdue`` (``alerts.hot``).
* **Watch word.** A new counted thread whose title or opening post contains one of
  ``alerts.keywords`` (曝光, 投诉无门, 上访 …); the first word of the list that matches names it.

Each alert goes once to the thread's unit's ``notify`` targets and to the office's
(``alerts.notify``, else ``digest.notify``); a thread no unit owes goes to the office only.
The daemon sends them right after each rules check, so an alert arrives within one poll of
the change that caused it.

**What is looked at.** Only what came in since the last look, by primary key (see
:mod:`models.alert_store`): threads first seen past the ``threads`` cursor (watch words) and
changes of views or replies past the ``counts`` cursor (hot). A thread the check has not
evaluated since its latest write is not judged yet; it stays in view until it is. A cursor
moves past a row only once the row is ``SLACK`` old, so a poll's write that commits after a
later one is never skipped; rows seen again are skipped by their marks. A thread counts as
having *turned* hot when its first hot counts sample is past the cursor.

**Once.** Each alert is a once-mark (job ``alert``, key ``hot:<forum>:<tid>`` or
``keyword:<forum>:<tid>``) inserted before anything is sent: only the node whose insert went
in sends it, across restarts and replicas sharing one PostgreSQL database. Each target is
claimed as well (job ``alert-delivery``, key ``<alert> <who> <hash of the URL>``), as the
digest's deliveries are. A failed target is recorded on the alert's mark and not retried.

**Backfill guard.** With no cursor yet (the first run against an existing database, or alerts
of that kind just turned on) the look starts one day back (``FIRST_LOOK``): only threads
first seen, or turned hot, within the last 24 hours can alert, not every historic one. And a
thread first seen more than a day after it was posted (``NEWS``: a new installation's first
poll, a board just added) is history, not news: it raises no watch-word alert, nor a hot one
if it was already hot when first seen. Turning a kind of alert off forgets its cursor, so
turning it on again starts with the same one-day look back.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loguru import logger

from models.alert_store import AlertStore
from models.case_store import READ_GRACE
from models.coordination import Coordinator
from models.repository import Repository
from monitor.bulletin import OFFICE, OFFICE_EN
from monitor.config import Config
from monitor.notify import Delivery, deliver_alert, office_alert_targets
from monitor.poller import utcnow
from monitor.rules import OPEN_STATES, OVERDUE

SLACK = timedelta(minutes=10)  # a cursor stays this far behind the newest rows
FIRST_LOOK = timedelta(hours=24)  # no cursor yet: look this far back
NEWS = timedelta(hours=24)  # first seen later than this after its posting: history, not news
GIVE_UP = READ_GRACE + timedelta(hours=1)  # a thread the check never evaluates stops holding a cursor back
EXCERPT_CHARS = 80
ALERT_JOB, DELIVERY_JOB = "alert", "alert-delivery"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+|!])")  # as the digest's Markdown escapes forum text
_SPACE = re.compile(r"\s+")


@dataclass
class Candidate:
    """A thread that came in since the last look, with its case and what the look found."""

    thread_id: int
    forum_id: str
    tid: int
    fid: int
    title: str
    url: str
    posted_at: datetime | None
    first_seen_at: datetime
    views: int | None
    replies: int | None
    counted: bool
    deleted: bool
    settled: bool  # the check evaluated its latest write
    unit_id: str | None = None  # the case's unit (None: the office owes it)
    state: str | None = None  # the case's state (None: no case)
    hot: bool = False
    due_at: datetime | None = None
    due_estimated: bool = False
    opening: str | None = None  # the opening post's text, when stored
    new: bool = False  # first seen past the threads cursor
    turned_hot: bool = False  # its first hot counts sample is past the counts cursor
    hot_at_first_sight: bool = False  # that sample was its first one

    @property
    def news(self) -> bool:
        """First seen within ``NEWS`` of its posting: not history read in a backfill."""
        return self.posted_at is not None and self.posted_at >= self.first_seen_at - NEWS


@dataclass(frozen=True)
class Alert:
    kind: str  # hot | keyword
    key: str  # its once-mark: hot:<forum>:<tid> | keyword:<forum>:<tid>
    thread: Candidate
    keyword: str | None = None


@dataclass
class AlertRun:
    """What one look found and did."""

    alerts: list[Alert] = field(default_factory=list)  # selected (for a dry run: would be sent)
    sent: list[str] = field(default_factory=list)  # keys of the alerts this node sent
    failed: list[str] = field(default_factory=list)  # "who: target (private form)"


def matched_keyword(keywords: Iterable[str], *texts: str | None) -> str | None:
    """The first keyword (in the config's order) found in any of the texts, ignoring case."""
    folded = [t.casefold() for t in texts if t]
    return next((k for k in keywords if k and any(k.casefold() in t for t in folded)), None)


def select_alerts(candidates: Iterable[Candidate], config: Config, already: set[str] | frozenset = frozenset()
                  ) -> list[Alert]:
    """The alerts the candidates call for, those in ``already`` (marked before) left out. Pure.

    Only counted, live threads with a case the check has settled are judged. A watch-word alert
    needs a new thread that is news; a hot alert needs a case that is hot and open and turned
    hot since the last look (already hot when first seen: only if it is news)."""
    out = []
    for c in candidates:
        if not c.settled or not c.counted or c.deleted or c.state is None:
            continue
        if c.new and c.news and config.alerts.keywords:
            word = matched_keyword(config.alerts.keywords, c.title, c.opening)
            key = f"keyword:{c.forum_id}:{c.tid}"
            if word and key not in already:
                out.append(Alert("keyword", key, c, word))
        if (config.alerts.hot and c.hot and c.state in OPEN_STATES and c.turned_hot
                and (c.news or not c.hot_at_first_sight)):
            key = f"hot:{c.forum_id}:{c.tid}"
            if key not in already:
                out.append(Alert("hot", key, c))
    return out


def advance(cursor: int, rows: list[tuple[int, datetime, bool]], now: datetime) -> int:
    """Move a cursor over ``rows`` (id, stamp, undecided), in id order, up to the first one that is
    younger than ``SLACK`` or still undecided (waiting for the check), and no further."""
    for row_id, stamp, undecided in sorted(rows):
        if stamp > now - SLACK or (undecided and stamp > now - GIVE_UP):
            break
        cursor = max(cursor, row_id)
    return cursor


# ---- the message ---------------------------------------------------------------------------

def md(text: object) -> str:
    """Forum text made inert in Markdown (no links, tags or emphasis), on one line."""
    return _MD_SPECIAL.sub(r"\\\1", _SPACE.sub(" ", str(text)).strip())


def _md_url(url: str) -> str:
    return url.replace(")", "%29").replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str | None:
    """The text on one line, cut at ``limit`` characters."""
    if not text:
        return None
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= limit else line[:limit].rstrip() + "…"


def compose(alert: Alert, config: Config) -> tuple[str, str]:
    """(title, Markdown body) of an alert: Chinese, or English when ``digest.lang`` is en."""
    c, zh = alert.thread, config.digest.lang != "en"
    tz = ZoneInfo(config.timezone)
    local = lambda dt: dt.astimezone(tz).isoformat(sep=" ", timespec="minutes") if dt else "?"  # noqa: E731
    units = {u.id: u.name for u in config.units}
    unit = units.get(c.unit_id, c.unit_id) if c.unit_id else (OFFICE if zh else OFFICE_EN)
    forum = next((f for f in config.forums if f.id == c.forum_id), None)
    board = next((b.name for b in forum.boards if b.fid == c.fid and b.name), None) if forum else None
    where = " · ".join([forum.name if forum else c.forum_id, board or f"fid {c.fid}"])
    title = _SPACE.sub(" ", c.title or "").strip() or f"tid {c.tid}"
    if alert.kind == "hot":
        head = "【热点帖未答复】" if zh else "[Hot, unanswered] "
    else:
        head = f"【关键词预警：{alert.keyword}】" if zh else f"[Watch word: {alert.keyword}] "
    due = local(c.due_at)
    if c.due_estimated:
        due += "（估算）" if zh else " (estimated)"
    if c.state == OVERDUE:
        due += "（已逾期）" if zh else " (overdue)"
    views, replies = c.views if c.views is not None else "?", c.replies if c.replies is not None else "?"
    opening = excerpt(c.opening)
    lines = [f"[{md(title)}]({_md_url(c.url)})", ""]
    if zh:
        lines += [f"- 责任单位：{md(unit)}", f"- 版块：{md(where)}", f"- 发帖时间：{local(c.posted_at)}",
                  f"- 浏览 {views}，回复 {replies}"]
        lines += [f"- 首帖：{md(opening)}"] if opening else []
        lines += [f"- 关键词：{md(alert.keyword)}"] if alert.keyword else []
        lines += [f"- 答复期限：{due}", f"- 链接：{_md_url(c.url)}"]
    else:
        lines += [f"- Unit: {md(unit)}", f"- Board: {md(where)}", f"- Posted: {local(c.posted_at)}",
                  f"- Views {views}, replies {replies}"]
        lines += [f"- Opening post: {md(opening)}"] if opening else []
        lines += [f"- Watch word: {md(alert.keyword)}"] if alert.keyword else []
        lines += [f"- Answer due: {due}", f"- Link: {_md_url(c.url)}"]
    return head + title, "\n".join(lines) + "\n"


# ---- one look ------------------------------------------------------------------------------

def _candidate(row, new: bool) -> Candidate:
    return Candidate(
        thread_id=row.id, forum_id=row.forum_id, tid=row.tid, fid=row.fid, title=row.title or "", url=row.url,
        posted_at=row.posted_at, first_seen_at=row.first_seen_at,
        views=row.views if row.views is not None else row.max_views,
        replies=row.replies if row.replies is not None else row.max_replies,
        counted=bool(row.counted), deleted=row.deleted_at is not None,
        settled=(row.checked_version or 0) >= (row.version or 0),
        unit_id=row.case_unit_id, state=row.case_state, hot=bool(row.case_hot), due_at=row.case_due_at,
        due_estimated=bool(row.case_due_estimated), new=new)


def send_alerts(config: Config, repo: Repository, coordinator: Coordinator, now: datetime | None = None,
                dry_run: bool = False) -> AlertRun:
    """Look at what came in since the last look and send the alerts it calls for, each once
    (see the module's docstring). ``dry_run``: select only; nothing is marked, sent or moved."""
    now = now or utcnow()
    run = AlertRun()
    store = AlertStore(repo.engine)
    rule = config.rules.hot
    min_views, min_replies = (rule.min_views, rule.min_replies) if rule is not None else (None, None)
    anybody = bool(office_alert_targets(config) or any(u.notify for u in config.units))
    wanted = {"threads": anybody and bool(config.alerts.keywords),
              "counts": anybody and config.alerts.hot and bool(min_views or min_replies)}
    saved = store.cursors()
    if not dry_run:
        store.drop_cursors(n for n, on in wanted.items() if not on and n in saved)
    if not any(wanted.values()):
        return run
    cursors = {n: saved[n] if n in saved else store.last_id_before(n, now - FIRST_LOOK)
               for n, on in wanted.items() if on}

    new = store.new_threads(cursors["threads"]) if wanted["threads"] else []
    changes = store.count_changes(cursors["counts"], min_views, min_replies) if wanted["counts"] else []
    hot_ids = {r.thread_id for r in changes if r.hot}
    new_ids = {r.id for r in new}
    candidates = {row.id: _candidate(row, row.id in new_ids) for row in store.candidates(new_ids | hot_ids)}

    judged = [c for c in candidates.values() if c.settled and c.counted and not c.deleted and c.state is not None]
    maybe_hot = [c for c in judged if c.thread_id in hot_ids and c.hot and c.state in OPEN_STATES]
    for thread_id, (first, first_hot) in store.first_samples([c.thread_id for c in maybe_hot],
                                                             min_views, min_replies).items():
        c = candidates[thread_id]
        c.turned_hot = first_hot is not None and first_hot > cursors["counts"]
        c.hot_at_first_sight = first_hot == first
    keys = [f"{kind}:{c.forum_id}:{c.tid}" for c in judged for kind in ("hot", "keyword")]
    already = store.marked(ALERT_JOB, keys)
    readable = {c.thread_id for c in judged if (c.new and c.news) or c.turned_hot}
    for thread_id, body in store.opening_posts(readable).items():
        candidates[thread_id].opening = body
    run.alerts = select_alerts(candidates.values(), config, already)
    if dry_run:
        return run

    for alert in run.alerts:
        _send_one(alert, config, coordinator, now, run)

    def undecided(thread_id: int) -> bool:
        c = candidates.get(thread_id)
        return c is not None and not c.settled

    moved = {}
    if wanted["threads"]:
        moved["threads"] = advance(cursors["threads"], [(r.id, r.first_seen_at, undecided(r.id)) for r in new], now)
    if wanted["counts"]:
        moved["counts"] = advance(cursors["counts"],
                                  [(r.id, r.seen_at, bool(r.hot) and undecided(r.thread_id)) for r in changes], now)
    if any(saved.get(n) != v for n, v in moved.items()):
        store.save_cursors(moved, coordinator.node_id, now)
    return run


def delivery_key(alert_key: str, target: str) -> str:
    """The once-mark key of one target's delivery of an alert (at most 200 characters)."""
    key = f"{alert_key} {target}"
    return key if len(key) <= 200 else f"{alert_key} {hashlib.sha256(target.encode()).hexdigest()[:32]}"


def _send_one(alert: Alert, config: Config, coordinator: Coordinator, now: datetime, run: AlertRun) -> None:
    """Send one alert if this node's mark goes in first; record how its delivery went."""
    if not coordinator.once(ALERT_JOB, alert.key, now):
        logger.info("alert {} already sent (by this or another node)", alert.key)
        return
    title, body = compose(alert, config)
    delivery: Delivery = deliver_alert(
        config, title, body, alert.thread.unit_id,
        claim=lambda target: coordinator.once(DELIVERY_JOB, delivery_key(alert.key, target), now))
    coordinator.once_finished(ALERT_JOB, alert.key, "done" if delivery.ok else "failed",
                              "; ".join(delivery.failed) or None)
    run.sent.append(alert.key)
    run.failed += delivery.failed
    logger.info("alert {}: {} (told: {})", alert.key, title, ", ".join(delivery.sent) or "nobody")
