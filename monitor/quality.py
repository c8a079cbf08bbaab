"""Reply quality and follow-ups, pure: which answers say little, and which threads came back.

An answer is flagged ``short`` (fewer than ``quality.min_chars`` characters), ``boilerplate``
(nearly word for word one of the same unit's earlier answers) or ``redirect`` (a short answer
that only sends the citizen elsewhere: 请拨打…, 已转交…, 请到…咨询). Flags are counted and
listed; they never change whether an answer was in time.

A follow-up is the thread's starter posting again after the unit's answer with words that say
the answer did not settle it (还是没解决, 没人管, a question mark). It is resolved when the unit
answers again; one left unanswered past the rule's deadline counts as unresolved.
"""
from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.config import Deadline, FollowUps, Quality
from monitor.rules import due_time
from monitor.workdays import WorkCalendar

SHORT, BOILERPLATE, REDIRECT = "short", "boilerplate", "redirect"
RESOLVED, UNRESOLVED, WAITING = "resolved", "unresolved", "waiting"
FLAG_NAMES = {"zh": {SHORT: "过于简单", BOILERPLATE: "套话雷同", REDIRECT: "简单转交"},
              "en": {SHORT: "too short", BOILERPLATE: "boilerplate", REDIRECT: "redirect only"}}
_NOISE = re.compile(r"[\W\d_a-zA-Z]+")  # what does not make two answers different: spaces, punctuation, digits


@dataclass(frozen=True)
class Answer:
    """A unit's answer to one thread."""

    key: object  # the caller's handle (a thread id)
    unit_id: str | None
    at: datetime
    body: str


@dataclass(frozen=True)
class Flag:
    key: object
    kind: str  # short | boilerplate | redirect
    reason: str  # in English, for logs and ``case show``; reports name the kind in their language
    detail: str = ""  # what matched: the phrase, the similar answer's key, the length


def visible_length(text: str) -> int:
    """Characters a reader sees, spaces aside."""
    return len("".join(text.split()))


def flag_answers(answers: Iterable[Answer], rules: Quality) -> list[Flag]:
    """Flags for ``answers`` (any order); each is compared with the same unit's earlier ones."""
    redirects = [re.compile(p) for p in rules.redirect_phrases]
    earlier: dict[str | None, list[tuple[object, frozenset]]] = {}
    flags: list[Flag] = []
    for a in sorted(answers, key=lambda a: a.at):
        length = visible_length(a.body)
        if length < rules.min_chars:
            flags.append(Flag(a.key, SHORT, f"{length} characters (fewer than {rules.min_chars})", str(length)))
        hit = next((m.group(0) for r in redirects if (m := r.search(a.body))), None)
        if hit and length <= rules.redirect_max_chars:
            flags.append(Flag(a.key, REDIRECT, f"only redirects ({hit!r}, {length} characters)", hit))
        grams = shingles(a.body)
        mine = earlier.setdefault(a.unit_id, [])
        twin = _similar(grams, mine[-rules.boilerplate_lookback:], rules.boilerplate_similarity)
        if twin is not None:
            flags.append(Flag(a.key, BOILERPLATE, f"repeats the unit's earlier answer ({twin[1]:.0%} alike)",
                              str(twin[0])))
        mine.append((a.key, grams))
    return flags


def shingles(text: str) -> frozenset:
    """The answer's two-character sequences, spaces, punctuation and numbers (phone numbers,
    dates) aside: what two answers worded alike share."""
    core = _NOISE.sub("", unicodedata.normalize("NFKC", text))
    return frozenset(map(operator.add, core, core[1:])) if len(core) > 1 else frozenset(core)


def similarity(a: frozenset, b: frozenset) -> float:
    """How alike two answers are: the share of their two-character sequences in common (Dice)."""
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _similar(grams: frozenset, previous: Sequence[tuple[object, frozenset]],
             threshold: float) -> tuple[object, float] | None:
    """The most recent earlier answer at least ``threshold`` alike, with its similarity."""
    size = len(grams)
    for key, other in reversed(previous):
        # two sets can be at most 2·min/(sum) alike: skip the intersection when sizes differ too much
        if size and other and 2 * min(size, len(other)) >= threshold * (size + len(other)):
            alike = similarity(grams, other)
            if alike >= threshold:
                return key, alike
    return None


@dataclass(frozen=True)
class ThreadPost:
    """A post after a thread's answer that matters for follow-ups: the starter's, or a unit's."""

    at: datetime
    body: str
    by_starter: bool
    unit_id: str | None


@dataclass(frozen=True)
class FollowUp:
    at: datetime
    body: str
    due_at: datetime
    state: str  # resolved | unresolved | waiting
    answered_at: datetime | None


def is_followup_text(body: str, rules: FollowUps) -> bool:
    return any(p in body for p in rules.phrases)


def follow_up(unit_id: str | None, answered_at: datetime, later: Sequence[ThreadPost], rules: FollowUps,
              deadline: Deadline, calendar: WorkCalendar, now: datetime) -> FollowUp | None:
    """The first follow-up after the answer at ``answered_at``, and what became of it by ``now``."""
    posts = sorted((p for p in later if answered_at < p.at <= now), key=lambda p: p.at)
    first = next((p for p in posts if p.by_starter and is_followup_text(p.body, rules)), None)
    if first is None:
        return None
    due, _ = due_time(first.at, deadline, calendar)
    again = next((p for p in posts if p.at > first.at and p.unit_id is not None
                  and (unit_id is None or p.unit_id == unit_id)), None)
    if again is not None:
        return FollowUp(first.at, first.body, due, RESOLVED, again.at)
    return FollowUp(first.at, first.body, due, UNRESOLVED if now >= due else WAITING, None)


def excerpt(text: str, limit: int = 60) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"
