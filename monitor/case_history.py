"""One thread's record and the office's corrections to its case (``spokeswatch case …``).

:func:`case_history` gathers what is stored about a thread into a plain dict (JSON-ready: times
are ISO 8601 strings in the office's zone, with their offset): the thread, every post, its
assignment and case, the case's state changes and the office's overrides. :func:`format_history`
prints it for a person. :func:`correct_case` records an override (assign, exclude, include),
runs the incremental rules check so it takes effect at once, and says what changed.
CLI text is English; forum content is shown as it is.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from models.override_store import ACTIONS, effective_override
from models.repository import Repository
from monitor.config import Config
from monitor.check import calendar_of
from monitor.errors import SpokeswatchError
from monitor.bulletin import answer_flags
from monitor.quality import Answer, ThreadPost, excerpt, follow_up

EXCERPT_CHARS = 80
_REF = re.compile(r"^([A-Za-z0-9_.-]+):(\d+)$")


class NotStored(SpokeswatchError):
    """The thread asked for is not in the database (or its forum is unknown)."""


def parse_ref(text: str) -> tuple[str, int]:
    """``demo:88`` → ("demo", 88); ValueError with a message a user can act on otherwise."""
    m = _REF.match(text.strip())
    if not m:
        raise ValueError(f"cannot read {text!r} as FORUM:TID (a forum id from config.yaml and a thread id, "
                         "e.g. demo:88)")
    return m.group(1), int(m.group(2))


def unit_of(config: Config, text: str) -> str:
    """A unit id from its id or its name; ValueError listing the units otherwise."""
    for u in config.units:
        if text in (u.id, u.name):
            return u.id
    known = ", ".join(f"{u.id} ({u.name})" for u in config.units)
    raise ValueError(f"no unit {text!r} in config (units: {known})")


def find_thread(config: Config, repo: Repository, forum_id: str, tid: int):
    """The stored thread (id, forum_id, tid, fid, title, url); NotStored with one clear line otherwise."""
    row = repo.stored_thread(forum_id, tid)
    if row is not None:
        return row
    if forum_id not in {f.id for f in config.forums}:
        raise NotStored(f"no forum {forum_id!r} in config and no thread of it stored "
                        f"(forums: {', '.join(f.id for f in config.forums) or 'none'})")
    raise NotStored(f"no thread {tid} on forum {forum_id} is stored; poll first")


# ---- the record ---------------------------------------------------------------------

def case_history(config: Config, repo: Repository, forum_id: str, tid: int) -> dict:
    """Everything stored about thread ``forum_id:tid`` as a plain dict (see the module doc).

    Keys: ``ref``, ``timezone``, ``forum``, ``thread``, ``posts``, ``assignment``, ``case``
    (None without one), ``state_changes``, ``overrides``, ``effective_override`` (None without
    overrides). Raises NotStored when the thread was never stored."""
    record = repo.thread_record(forum_id, tid)
    if record is None:
        find_thread(config, repo, forum_id, tid)  # raises with the right message
    tz = ZoneInfo(config.timezone)
    names = {u.id: u.name for u in config.units}
    t, case = record["thread"], record["case"]
    forum = next((f for f in config.forums if f.id == forum_id), None)
    board = next((b for b in forum.boards if b.fid == t.fid), None) if forum else None
    pid_of = {p.id: p.pid for p in record["posts"]}
    posts = [{
        "pid": p.pid, "floor": p.floor, "author": p.author, "uid": p.author_uid,
        "unit_id": p.unit_id, "unit": _unit_name(names, p.unit_id),
        "posted_at": _iso(p.posted_at, tz), "edited": bool(p.revisions or p.edit_note),
        "revisions": p.revisions, "edit_note": p.edit_note,
        "deleted": p.deleted_at is not None, "deleted_at": _iso(p.deleted_at, tz),
        "first_seen_at": _iso(p.first_seen_at, tz),
        "excerpt": excerpt(p.body or "", EXCERPT_CHARS), "body": p.body,
    } for p in record["posts"]]
    effective = effective_override((o.action, o.unit_id) for o in record["overrides"])
    return {
        "ref": f"{forum_id}:{tid}",
        "timezone": config.timezone,
        "forum": {"id": forum_id, "name": forum.name if forum else record["forum_name"]},
        "thread": {
            "forum_id": forum_id, "tid": tid, "title": t.title, "url": t.url,
            "board": {"fid": t.fid, "name": board.name if board else None, "kind": board.kind if board else None},
            "category": t.category, "starter": {"name": t.author, "uid": t.author_uid},
            "posted_at": _iso(t.posted_at, tz), "replies": t.replies, "views": t.views,
            "max_replies": t.max_replies, "max_views": t.max_views, "sticky": t.sticky,
            "first_seen_at": _iso(t.first_seen_at, tz), "last_seen_at": _iso(t.last_seen_at, tz),
            "read_at": _iso(t.read_at, tz), "deleted_at": _iso(t.deleted_at, tz),
        },
        "posts": posts,
        "assignment": {
            "unit_id": t.unit_id, "unit": _unit_name(names, t.unit_id), "assigned_by": t.assigned_by,
            "counted": bool(t.counted), "proactive_unit_id": t.proactive_unit_id,
            "proactive_unit": _unit_name(names, t.proactive_unit_id),
            "checked": t.checked_version == t.version,  # False: the next check evaluates it again
        },
        "case": None if case is None else {
            "unit_id": case.unit_id, "unit": _unit_name(names, case.unit_id), "state": case.state,
            "state_since": _iso(case.state_changed_at, tz), "due_at": _iso(case.due_at, tz),
            "due_estimated": bool(case.due_estimated), "hot": bool(case.hot),
            "answered_at": _iso(case.answered_at, tz), "answer_pid": pid_of.get(case.answer_post_id),
            "opened_at": _iso(case.opened_at, tz), "checked_at": _iso(case.checked_at, tz),
        },
        "state_changes": [{"state": e.state, "at": _iso(e.at, tz), "recorded_at": _iso(e.recorded_at, tz)}
                          for e in record["events"]],
        "overrides": [_override_dict(o, names, tz) for o in record["overrides"]],
        **_answer_quality(config, repo, t.id, case, tz),
        "effective_override": None if effective is None else {
            "assigned": effective.assigned, "unit_id": effective.unit_id,
            "unit": _unit_name(names, effective.unit_id), "counted": effective.counted},
    }


def _answer_quality(config: Config, repo: Repository, thread_id: int, case, tz: ZoneInfo) -> dict:
    """``flags``: the reply-quality flags of the case's answer (compared with the unit's earlier
    answers, as the bulletin does); ``followup``: the starter's follow-up after it, as of now."""
    if case is None or case.answered_at is None:
        return {"flags": [], "followup": None}
    answer = repo.answer_bodies([thread_id]).get(thread_id)
    mine = [Answer(thread_id, case.unit_id, answer.posted_at, answer.body)] if answer is not None else []
    flags = [{"kind": f.kind, "reason": f.reason} for f in answer_flags(config, repo, mine)]
    later = [ThreadPost(p.posted_at, p.body, bool(p.by_starter), p.unit_id)
             for p in repo.posts_after_answers([thread_id])[thread_id]]
    f = follow_up(case.unit_id, case.answered_at, later, config.followups, config.rules.respond_within,
                  calendar_of(config), datetime.now(timezone.utc))
    followup = None if f is None else {"at": _iso(f.at, tz), "excerpt": excerpt(f.body), "due_at": _iso(f.due_at, tz),
                                       "state": f.state, "answered_at": _iso(f.answered_at, tz)}
    return {"flags": flags, "followup": followup}


def format_history(h: dict) -> str:
    """:func:`case_history`'s dict as text for a person."""
    t, a, c = h["thread"], h["assignment"], h["case"]
    board = t["board"]
    where = f"{board['name']} (fid {board['fid']}, {board['kind']})" if board["name"] is not None \
        else f"fid {board['fid']} (not in config)"
    lines = [f"{h['ref']} {t['title']}",
             f"url:      {t['url']}",
             f"forum:    {h['forum']['name'] or h['forum']['id']}; board {where}"
             + (f"; category {t['category']}" if t["category"] else ""),
             f"starter:  {_who(t['starter']['name'], t['starter']['uid'])}",
             f"posted:   {_show(t['posted_at'])}",
             f"counts:   {_n(t['replies'])} replies, {_n(t['views'])} views "
             f"(highest seen: {t['max_replies']} replies, {t['max_views']} views)"]
    if t["deleted_at"]:
        lines.append(f"deleted:  gone from the forum since {_show(t['deleted_at'])}")
    lines += ["", f"posts ({len(h['posts'])}):"]
    for p in h["posts"]:
        marks = "".join([f" [{p['unit']}]" if p["unit_id"] else "",
                         f" [edited{'' if p['revisions'] < 2 else ' ×' + str(p['revisions'])}]" if p["edited"] else "",
                         f" [deleted {_show(p['deleted_at'])}]" if p["deleted"] else ""])
        floor = f"#{p['floor']}" if p["floor"] is not None else "#?"
        lines.append(f"  {floor:<4} {_show(p['posted_at'])}  {_who(p['author'], p['uid'])}{marks}: {p['excerpt']}")
    lines += ["", "assignment: " + _assignment_text(a)]
    if c is None:
        lines.append("case:     none" + ("" if a["counted"] else " (the thread does not count)"))
    else:
        answered = "not answered" if c["answered_at"] is None else \
            f"{_show(c['answered_at'])}" + (f" (pid {c['answer_pid']})" if c["answer_pid"] else "")
        owed = f"owed by {_unit_text(c['unit'], c['unit_id'])}"
        lines += [f"case:     {owed}" if c["state"] != "void" else f"case:     void (was {owed})",
                  f"  due:      {_show(c['due_at'])}" + (" (estimated: calendar unknown)" if c["due_estimated"] else "")
                  + (" (hot)" if c["hot"] else ""),
                  f"  state:    {c['state']} since {_show(c['state_since'])}",
                  f"  answered: {answered}"]
    lines += [f"  flagged:  {f['kind']} ({f['reason']})" for f in h["flags"]]
    if h["followup"]:
        f = h["followup"]
        lines.append(f"  follow-up: {_show(f['at'])} by the starter: {f['excerpt']} — {f['state']}"
                     + (f", answered again {_show(f['answered_at'])}" if f["answered_at"] else f", due {_show(f['due_at'])}"))
    if not a["checked"]:
        lines.append("  (changed since the last check: the next check evaluates it again)")
    lines += ["", "state changes:" + ("" if h["state_changes"] else " none")]
    lines += [f"  {_show(e['at'])}  {e['state']} (recorded {_show(e['recorded_at'])})" for e in h["state_changes"]]
    lines += ["", "overrides:" + ("" if h["overrides"] else " none")]
    lines += [f"  {_show(o['at'])}  {override_text(o)}" for o in h["overrides"]]
    return "\n".join(lines)


def override_text(o: dict) -> str:
    """``assign → 市城管局 (urban) by alice: reason`` for one override dict."""
    what = f"assign → {_unit_text(o['unit'], o['unit_id'])}" if o["action"] == "assign" else o["action"]
    return f"{what} by {o['by']}: {o['reason']}"


# ---- corrections ----------------------------------------------------------------------

def correct_case(config: Config, repo: Repository, forum_id: str, tid: int, action: str, reason: str, by: str,
                 now: datetime, unit_id: str | None = None) -> dict:
    """Record an override of thread ``forum_id:tid`` as of ``now`` (aware UTC), run the incremental
    rules check, and return what changed: ``ref``, ``title``, ``override``, ``before``, ``after``
    (each: unit_id, unit, assigned_by, counted, state, case_unit_id, due_at), ``check`` (its
    summary) and ``waiting`` (True: the thread's reading is unfinished, a later check applies it)."""
    from monitor.check import run_check
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    thread = find_thread(config, repo, forum_id, tid)
    tz = ZoneInfo(config.timezone)
    names = {u.id: u.name for u in config.units}
    before = repo.case_snapshot(thread.id)
    repo.record_override(thread.id, action, reason, by, now, unit_id)
    result = run_check(config, repo, now)
    after = repo.case_snapshot(thread.id)
    return {"ref": f"{forum_id}:{tid}", "title": thread.title,
            "override": {"action": action, "unit_id": unit_id, "unit": _unit_name(names, unit_id),
                         "reason": reason, "by": by, "at": _iso(now, tz)},
            "before": _snapshot(before, names, tz), "after": _snapshot(after, names, tz),
            "check": result.summary(), "waiting": after.version != after.checked_version}


def format_change(change: dict) -> str:
    """:func:`correct_case`'s dict as text: the override, then old → new."""
    b, a = change["before"], change["after"]
    lines = [f"{change['ref']} {change['title']}",
             f"recorded: {override_text(change['override'])} ({_show(change['override']['at'])})"]

    def line(label: str, old: str, new: str) -> str:
        return f"{label}: {old} → {new}" if old != new else f"{label}: {new} (unchanged)"
    lines.append(line("unit", _assignment_text(b), _assignment_text(a)))
    lines.append(line("case", b["state"] or "no case", a["state"] or "no case"))
    if a["state"] not in (None, "void") and a["due_at"]:
        lines.append(line("due", _show(b["due_at"]) if b["due_at"] else "none", _show(a["due_at"])))
    if change["waiting"]:
        lines.append("the thread's reading is unfinished: the check after the next poll applies the override")
    lines.append(change["check"])
    return "\n".join(lines)


# ---- helpers --------------------------------------------------------------------------

def _snapshot(row, names: dict, tz: ZoneInfo) -> dict:
    return {"unit_id": row.unit_id, "unit": _unit_name(names, row.unit_id), "assigned_by": row.assigned_by,
            "counted": bool(row.counted), "proactive_unit_id": row.proactive_unit_id,
            "state": row.case_state, "case_unit_id": row.case_unit_id, "due_at": _iso(row.case_due_at, tz)}


def _assignment_text(a: dict) -> str:
    if a.get("proactive_unit_id") and not a["counted"]:
        return f"proactive item of {_unit_text(a['unit'], a['proactive_unit_id'])}"
    by = f", by {a['assigned_by']}" if a["assigned_by"] else ""
    unit = _unit_text(a["unit"], a["unit_id"]) if a["unit_id"] else "the office (no unit)"
    return f"{unit}{by}" + ("" if a["counted"] else "; not counted")


def _unit_text(name: str | None, unit_id: str | None) -> str:
    if unit_id is None:
        return "the office (no unit)"
    return f"{name} ({unit_id})" if name and name != unit_id else unit_id


def _unit_name(names: dict, unit_id: str | None) -> str | None:
    return None if unit_id is None else names.get(unit_id, unit_id)


def _override_dict(o, names: dict, tz: ZoneInfo) -> dict:
    return {"id": o.id, "action": o.action, "unit_id": o.unit_id, "unit": _unit_name(names, o.unit_id),
            "reason": o.reason, "by": o.by_user, "at": _iso(o.at, tz)}


def _iso(dt: datetime | None, tz: ZoneInfo) -> str | None:
    return None if dt is None else dt.astimezone(tz).isoformat(timespec="seconds")


def _show(iso: str | None) -> str:
    """``2011-02-28T19:38:19+08:00`` → ``2011-02-28 19:38 +08:00``."""
    if iso is None:
        return "?"
    dt = datetime.fromisoformat(iso)
    offset = dt.strftime("%z")
    return f"{dt:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def _who(name: str | None, uid: str | None) -> str:
    return f"{name or '?'}" + (f" (uid {uid})" if uid is not None else "")


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)
