"""Response rules, pure: a thread's timeline + the rules + the calendar + now → its outcome.

States: ``pending`` (not answered, not yet due), ``answered_in_time``,
``answered_late``, ``overdue`` (not answered, past due). The answer is the
first post by a spokesperson of the assigned unit (any unit's, for a thread
the office itself owes).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config import Deadline, Rules
from monitor.workdays import WorkCalendar

PENDING, IN_TIME, LATE, OVERDUE = "pending", "answered_in_time", "answered_late", "overdue"
OPEN_STATES = (PENDING, OVERDUE)


@dataclass(frozen=True)
class Reply:
    """A post after the opening one: when, by which unit (None: not a spokesperson)."""

    posted_at: datetime
    unit_id: str | None
    post_id: int | None = None


@dataclass(frozen=True)
class Timeline:
    posted_at: datetime
    unit_id: str | None
    replies: Sequence[Reply]
    views: int = 0
    reply_count: int = 0


@dataclass(frozen=True)
class Outcome:
    state: str
    due_at: datetime
    due_estimated: bool
    hot: bool
    answered_at: datetime | None
    answer_post_id: int | None

    def state_since(self, posted_at: datetime) -> datetime:
        """When the current state began: the answer, the deadline, or the posting."""
        if self.answered_at is not None:
            return self.answered_at
        return self.due_at if self.state == OVERDUE else posted_at

    def waited(self, now: datetime, posted_at: datetime) -> timedelta:
        """How long the thread waited: until its answer, or until ``now``."""
        return (self.answered_at or now) - posted_at


def due_time(posted_at: datetime, deadline: Deadline, calendar: WorkCalendar) -> tuple[datetime, bool]:
    """(due time, estimated?) for one deadline."""
    if deadline.hours is not None:
        return posted_at + timedelta(hours=deadline.hours), False
    return calendar.add_working_days(posted_at, deadline.working_days)


def is_hot(timeline: Timeline, rules: Rules) -> bool:
    hot = rules.hot
    if hot is None:
        return False
    return bool((hot.min_views and timeline.views >= hot.min_views)
                or (hot.min_replies and timeline.reply_count >= hot.min_replies))


def outcome_at(at: datetime, due_at: datetime, due_estimated: bool, hot: bool, answered_at: datetime | None,
               answer_post_id: int | None) -> Outcome:
    """A recorded case's outcome as it stood at ``at``: an answer that came later did not exist yet."""
    if answered_at is not None and answered_at <= at:
        return Outcome(IN_TIME if answered_at <= due_at else LATE, due_at, due_estimated, hot, answered_at,
                       answer_post_id)
    return Outcome(OVERDUE if at >= due_at else PENDING, due_at, due_estimated, hot, None, None)


def evaluate(timeline: Timeline, rules: Rules, calendar: WorkCalendar, now: datetime) -> Outcome:
    """The outcome of a thread's case as of ``now``."""
    due, estimated = due_time(timeline.posted_at, rules.respond_within, calendar)
    hot = is_hot(timeline, rules)
    if hot:
        hot_due, hot_est = due_time(timeline.posted_at, rules.hot.respond_within, calendar)
        if hot_due < due:
            due, estimated = hot_due, hot_est
    answer = next((r for r in timeline.replies
                   if r.unit_id is not None and r.posted_at <= now
                   and (timeline.unit_id is None or r.unit_id == timeline.unit_id)), None)
    return outcome_at(now, due, estimated, hot, answer.posted_at if answer else None,
                      answer.post_id if answer else None)
