"""Tagging and assignment, pure: who speaks for which unit, which unit owes an answer.

A post by a configured account is tagged with the account's unit. A thread
started by a spokesperson is a proactive item (主动发布). A citizen's thread is
assigned by its board, its category (主题分类), a unit name or alias in its
title, or else the first unit whose spokesperson answers it. On a programme
board every citizen thread counts (unassigned ones are owed by the office); on
a watched board a thread counts only once something assigns it. The office's
corrections (``spokeswatch case assign|exclude|include``) come before all of
these: :func:`apply_override`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.config import Board, Config
from scrapers.records import user_id


@dataclass(frozen=True)
class Assignment:
    unit_id: str | None
    assigned_by: str | None  # board | category | title | first_answer | proactive | office | None
    counted: bool
    proactive_unit_id: str | None


class Directory:
    """Lookups built once from config: accounts, unit names and aliases, boards."""

    def __init__(self, config: Config):
        self.units = {u.id: u for u in config.units}
        self._by_uid: dict[tuple[str, str], str] = {}  # (forum, uid as text) → unit
        self._by_name: dict[tuple[str, str], str] = {}
        for u in config.units:
            for a in u.accounts:
                if a.uid is not None:
                    self._by_uid[(a.forum, a.uid)] = u.id
                if a.username:
                    self._by_name[(a.forum, a.username)] = u.id
        names = [(n, u.id) for u in config.units for n in [u.name, *u.aliases] if n]
        self._names = sorted(names, key=lambda pair: -len(pair[0]))  # longest name first
        self._boards = {(f.id, b.fid): b for f in config.forums for b in f.boards}

    def accounts_on(self, forum_id: str) -> list[tuple[str, str]]:
        """(unit id, uid) of every spokesperson account on a forum configured with a uid (or a profile link)."""
        return [(unit_id, uid) for (forum, uid), unit_id in self._by_uid.items() if forum == forum_id]

    def unit_of_author(self, forum_id: str, uid: str | None, username: str | None) -> str | None:
        """The unit an author speaks for, by uid first (as text: 7 and "7" are one user), then username."""
        uid = user_id(uid)
        if uid is not None and (forum_id, uid) in self._by_uid:
            return self._by_uid[(forum_id, uid)]
        if username:
            return self._by_name.get((forum_id, username))
        return None

    def unit_of_post(self, forum_id: str, post) -> str | None:
        """The unit a post speaks for: a message board reply by the unit it names, else its author's."""
        if post.on_behalf_of:
            return self.unit_named_in(post.on_behalf_of)
        return self.unit_of_author(forum_id, post.author_uid, post.author)

    def board(self, forum_id: str, fid: int) -> Board | None:
        return self._boards.get((forum_id, fid))

    def unit_named_in(self, text: str | None) -> str | None:
        """The unit whose name or alias appears first in ``text`` (longest name on ties)."""
        if not text:
            return None
        hits = [(text.find(name), unit_id) for name, unit_id in self._names if name in text]
        return min(hits, key=lambda h: h[0])[1] if hits else None

    def unit_for_category(self, board: Board, category: str | None) -> str | None:
        if not category:
            return None
        if category in board.categories:
            return board.categories[category]
        exact = [uid for name, uid in self._names if name == category]
        return exact[0] if exact else None

    def assign(self, forum_id: str, fid: int, title: str, category: str | None,
               starter_uid: str | None, starter_name: str | None,
               answering_units: Sequence[str | None]) -> Assignment:
        """Assign a thread given its starter and the units of its replies, in order."""
        starter_unit = self.unit_of_author(forum_id, starter_uid, starter_name)
        if starter_unit is not None:
            return Assignment(starter_unit, "proactive", False, starter_unit)
        board = self.board(forum_id, fid)
        if board is None:
            return Assignment(None, None, False, None)
        for how, unit in (("board", board.unit), ("category", self.unit_for_category(board, category)),
                          ("title", self.unit_named_in(title)),
                          ("first_answer", next((u for u in answering_units if u), None))):
            if unit is not None:
                return Assignment(unit, how, True, None)
        return Assignment(None, None, board.kind == "programme", None)


def apply_override(a: Assignment, override) -> Assignment:
    """The rules' assignment corrected by the office's effective override of the thread (an
    ``EffectiveOverride`` of models.override_store: ``assigned``/``unit_id``, ``counted``).

    An assign override gives the unit (``assigned_by`` "office"); an exclude makes the thread
    not count, an include makes it count (owed by the assigned unit, the rules' unit, or else the
    office: unit None). On a proactive item (started by a spokesperson) an exclude or include
    ends it being one (excluded: nothing; included: a request), an assign credits it to the unit."""
    if override is None:
        return a
    unit, by = (override.unit_id, "office") if override.assigned else (a.unit_id, a.assigned_by)
    counted = a.counted if override.counted is None else override.counted
    proactive = a.proactive_unit_id
    if proactive is not None:
        proactive = None if override.counted is not None else unit
    return Assignment(unit, by, counted, proactive)
