"""The rules check: refresh each thread's assignment and response case as of ``now``."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from loguru import logger

from models.repository import Repository
from models.tables import ThreadRecord
from monitor.assignment import Assignment, Directory
from monitor.config import Config
from monitor.rules import Outcome, Reply, Timeline, evaluate
from monitor.workdays import WorkCalendar


@dataclass
class CheckResult:
    states: Counter = field(default_factory=Counter)
    newly_overdue: list[int] = field(default_factory=list)
    estimated: int = 0

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items())) or "no cases"
        extra = f"; {self.estimated} with estimated deadlines" if self.estimated else ""
        return f"checked: {parts}; newly overdue {len(self.newly_overdue)}{extra}"


def calendar_of(config: Config) -> WorkCalendar:
    return WorkCalendar(config.calendar.extra_holidays, config.calendar.extra_workdays, config.timezone)


def replies_of(posts: list) -> list[Reply]:
    """Posts after the opening one, as rule inputs."""
    return [Reply(p.posted_at, p.unit_id, p.id) for p in posts[1:] if p.posted_at is not None]


def assignment_of(directory: Directory, t: ThreadRecord, posts: list) -> Assignment:
    opener = posts[0] if posts and posts[0].floor in (1, None) else None
    uid = opener.author_uid if opener else t.author_uid
    name = opener.author if opener else t.author
    return directory.assign(t.forum_id, t.fid, t.title, t.category, uid, name,
                            [r.unit_id for r in replies_of(posts)])


def outcome_of(t: ThreadRecord, posts: list, config: Config, calendar: WorkCalendar,
               now: datetime) -> Outcome:
    timeline = Timeline(t.posted_at, t.unit_id, replies_of(posts), t.max_views or 0, t.max_replies or 0)
    return evaluate(timeline, config.rules, calendar, now)


def run_check(config: Config, repo: Repository, now: datetime, calendar: WorkCalendar | None = None,
              directory: Directory | None = None) -> CheckResult:
    """Re-evaluate every thread whose case is open, missing, or whose data changed."""
    calendar = calendar or calendar_of(config)
    directory = directory or Directory(config)
    result = CheckResult()
    threads = repo.threads_for_check()
    posts = repo.thread_posts([t.id for t in threads])
    for t in threads:
        if t.posted_at is None:
            continue
        a = assignment_of(directory, t, posts[t.id])
        if (a.unit_id, a.assigned_by, a.counted, a.proactive_unit_id) != (
                t.unit_id, t.assigned_by, t.counted, t.proactive_unit_id):
            repo.save_assignment(t.id, a.unit_id, a.assigned_by, a.counted, a.proactive_unit_id)
            t.unit_id, t.counted = a.unit_id, a.counted
        if t.deleted_at is not None or not a.counted:
            repo.drop_case(t.id, now)
            continue
        outcome = outcome_of(t, posts[t.id], config, calendar, now)
        previous = repo.save_case(t.id, t.unit_id, outcome.state, outcome.hot, outcome.due_at,
                                  outcome.due_estimated, outcome.answered_at, outcome.answer_post_id,
                                  outcome.state_since(t.posted_at), now)
        result.states[outcome.state] += 1
        result.estimated += outcome.due_estimated
        if outcome.state == "overdue" and previous == "pending":
            result.newly_overdue.append(t.id)
    logger.info(result.summary())
    return result
