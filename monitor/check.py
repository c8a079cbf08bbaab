"""The rules check: refresh the assignment and response case of every thread that changed.

Incremental by default: it looks only at the threads written since it last looked
(their version moved), the pending cases whose deadline has passed, and the open cases
whose spokesperson answer ``now`` has just reached; it writes its decisions in a few
batched statements inside one transaction that also holds the check lock, so two checks
(threads, the CLI, two daemons on one PostgreSQL database) never run at once. A full
check (``full=True``, ``spokeswatch check --full``) re-evaluates every thread; it runs by
itself when the rules, units, boards or calendar in config changed, or when ``now`` is
earlier than the last check's. Both paths share :func:`decide`, and the tests hold the
incremental one to the full one over randomized histories. The office's overrides
(``spokeswatch case assign|exclude|include``) are read for each batch in one query and
win over the assignment rules; recording one bumps the thread's version.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata

from loguru import logger

from models.case_store import CheckPlan
from models.repository import Repository
from monitor.assignment import Assignment, Directory, apply_override
from monitor.config import Config
from monitor.rules import Outcome, Reply, Timeline, evaluate
from monitor.workdays import WorkCalendar


@dataclass
class CheckResult:
    states: Counter = field(default_factory=Counter)  # states of the cases evaluated in this run
    newly_overdue: list[int] = field(default_factory=list)
    estimated: int = 0
    evaluated: int = 0
    full: bool = False
    reason: str | None = None  # why a full check ran

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items())) or "no cases"
        extra = f"; {self.estimated} with estimated deadlines" if self.estimated else ""
        mode = f"full ({self.reason})" if self.full else "incremental"
        return (f"checked: {parts}; newly overdue {len(self.newly_overdue)}{extra} "
                f"[{self.evaluated} threads evaluated, {mode}]")


def calendar_of(config: Config) -> WorkCalendar:
    return WorkCalendar(config.calendar.extra_holidays, config.calendar.extra_workdays, config.timezone)


def config_fingerprint(config: Config) -> str:
    """A hash of everything in config that decides assignments and deadlines (and the holiday
    data's version): when it changes, the next check re-evaluates every thread."""
    try:
        calendar_version = metadata.version("chinesecalendar")
    except metadata.PackageNotFoundError:
        calendar_version = "?"
    decisive = {
        "units": [u.model_dump(mode="json", exclude={"notify"}) for u in config.units],
        "boards": {f.id: [b.model_dump(mode="json", exclude={"feed_url", "name"}) for b in f.boards]
                   for f in config.forums},
        "rules": config.rules.model_dump(mode="json"),
        "calendar": config.calendar.model_dump(mode="json"),
        "timezone": config.timezone,
        "chinesecalendar": calendar_version,
    }
    return hashlib.sha256(json.dumps(decisive, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def replies_of(posts: list) -> list[Reply]:
    """Posts after the opening one, as rule inputs."""
    return [Reply(p.posted_at, p.unit_id, p.id) for p in posts[1:] if p.posted_at is not None]


def assignment_of(directory: Directory, t, posts: list, override=None) -> Assignment:
    """The thread's assignment: the office's override (an ``EffectiveOverride``) first, then the rules."""
    opener = posts[0] if posts and posts[0].floor in (1, None) else None
    uid = opener.author_uid if opener else t.author_uid
    name = opener.author if opener else t.author
    return apply_override(directory.assign(t.forum_id, t.fid, t.title, t.category, uid, name,
                                           [r.unit_id for r in replies_of(posts)]), override)


def outcome_of(t, posts: list, config: Config, calendar: WorkCalendar, now: datetime,
               unit_id: str | None = None) -> Outcome:
    """The thread's case as of ``now``, owed by ``unit_id`` (default: the thread's stored unit)."""
    unit_id = t.unit_id if unit_id is None else unit_id
    timeline = Timeline(t.posted_at, unit_id, replies_of(posts), t.max_views or 0, t.max_replies or 0)
    return evaluate(timeline, config.rules, calendar, now)


def decide(t, posts: list, config: Config, calendar: WorkCalendar, directory: Directory, now: datetime,
           plan: CheckPlan, result: CheckResult, override=None) -> None:
    """Add one thread's changes (assignment, case, events) to ``plan``; ``t`` is a thread row
    joined with its case (``case_*`` columns, None without a case); ``override`` the office's
    effective override of the thread (it wins over the rules), None without one."""
    evaluated = {"_id": t.id, "_version": t.version, "unit_id": t.unit_id, "assigned_by": t.assigned_by,
                 "counted": t.counted, "proactive_unit_id": t.proactive_unit_id}
    plan.checked.append(evaluated)  # written with the assignment, in one id-ordered statement
    if t.posted_at is None:
        return  # not datable: looked at again when it changes
    a = assignment_of(directory, t, posts, override)
    evaluated.update(unit_id=a.unit_id, assigned_by=a.assigned_by, counted=a.counted,
                     proactive_unit_id=a.proactive_unit_id)
    if t.deleted_at is not None or not a.counted:
        if t.case_id is not None and t.case_state != "void":
            plan.case_updates.append(_case_values(t, "void", now, now, t.case_unit_id, t.case_hot, t.case_due_at,
                                                  t.case_due_estimated, t.case_answered_at, t.case_answer_post_id))
            plan.events.append(dict(case_id=t.case_id, state="void", at=now, recorded_at=now))
        return
    o = outcome_of(t, posts, config, calendar, now, a.unit_id)
    result.states[o.state] += 1
    result.estimated += o.due_estimated
    state_at = o.state_since(t.posted_at)
    if t.case_id is None:
        plan.new_cases.append(dict(thread_id=t.id, unit_id=a.unit_id, state=o.state, hot=o.hot, due_at=o.due_at,
                                   due_estimated=o.due_estimated, answered_at=o.answered_at,
                                   answer_post_id=o.answer_post_id, opened_at=now, state_changed_at=state_at,
                                   checked_at=now))
        return
    changed = t.case_state != o.state
    if changed:
        plan.events.append(dict(case_id=t.case_id, state=o.state, at=state_at, recorded_at=now))
        if o.state == "overdue" and t.case_state == "pending":
            result.newly_overdue.append(t.id)
    if changed or (a.unit_id, o.hot, o.due_at, o.due_estimated, o.answered_at, o.answer_post_id) != (
            t.case_unit_id, t.case_hot, t.case_due_at, t.case_due_estimated, t.case_answered_at,
            t.case_answer_post_id):
        since = state_at if changed else t.case_state_changed_at
        plan.case_updates.append(_case_values(t, o.state, since, now, a.unit_id, o.hot, o.due_at, o.due_estimated,
                                              o.answered_at, o.answer_post_id))


def _case_values(t, state: str, state_at: datetime, now: datetime, unit_id, hot, due_at, due_estimated,
                 answered_at, answer_post_id) -> dict:
    return dict(_id=t.case_id, state=state, state_changed_at=state_at, unit_id=unit_id, hot=hot, due_at=due_at,
                due_estimated=due_estimated, answered_at=answered_at, answer_post_id=answer_post_id,
                checked_at=now)


def run_check(config: Config, repo: Repository, now: datetime, calendar: WorkCalendar | None = None,
              directory: Directory | None = None, full: bool = False) -> CheckResult:
    """Evaluate what changed since the last check (everything when ``full``), as of ``now``."""
    calendar = calendar or calendar_of(config)
    directory = directory or Directory(config)
    fingerprint = config_fingerprint(config)
    result = CheckResult()
    with repo.check_transaction(now) as (c, state):
        if full:
            result.reason = "asked for"
        elif state.config_fingerprint != fingerprint:
            result.reason = "first check" if state.config_fingerprint is None else "config changed"
        elif state.checked_now is not None and now < state.checked_now:
            result.reason = "checking as of an earlier time than the last check"
        result.full = result.reason is not None
        previous_now = None if result.full else state.checked_now
        for batch in repo.threads_to_evaluate(c, now, previous_now, result.full):
            posts = repo.thread_posts_in(c, [t.id for t in batch])
            overrides = repo.thread_overrides_in(c, [t.id for t in batch])  # the office's corrections
            plan = CheckPlan()
            for t in batch:
                decide(t, posts[t.id], config, calendar, directory, now, plan, result, overrides.get(t.id))
            repo.apply_check(c, plan, now)
            result.evaluated += len(batch)
        repo.finish_check(c, fingerprint, now, result.full)
    logger.info(result.summary())
    return result
