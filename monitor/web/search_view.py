"""The search page: the form's fields read and checked, the search run, confined to a unit user's unit."""
from __future__ import annotations

from collections.abc import Mapping

from models.repository import Repository
from monitor.config import Config
from monitor.periods import parse_period
from monitor.search_text import SearchError, query_terms
from monitor.web.auth import Viewer
from monitor.web.text import STATE_NAMES

PAGE_SIZE = 50
MAX_QUERY_CHARS, MAX_TERMS, MAX_PAGE = 200, 10, 100
STATES = ("pending", "overdue", "answered_in_time", "answered_late", "none")


def search_context(config: Config, repo: Repository, viewer: Viewer, params: Mapping[str, str], lang: str) -> dict:
    """What the search page shows for the query string ``params``: the form as filled, an error
    sentence for a bad field, and the results (newest thread first), PAGE_SIZE a page."""
    q = (params.get("q") or "").strip()
    form = {"q": q, "unit": params.get("unit") or "", "board": params.get("board") or "",
            "state": params.get("state") or "", "period": (params.get("period") or "").strip()}
    boards = [(f"{f.id}:{b.fid}", f"{f.name} · {b.name or b.fid}") for f in config.forums for b in f.boards]
    context = {"form": form, "boards": boards, "states": [(s, STATE_NAMES[lang][s]) for s in STATES],
               "results": None, "more": False, "page": 1, "error": None}
    try:
        page = min(MAX_PAGE, max(1, int(params.get("page") or 1)))
    except ValueError:
        page = 1
    context["page"] = page
    if not q:
        return context
    try:
        if len(q) > MAX_QUERY_CHARS:
            raise SearchError(f"the search words are too long (at most {MAX_QUERY_CHARS} characters)")
        terms = query_terms(q)
        if len(terms) > MAX_TERMS:
            raise SearchError(f"too many search words (at most {MAX_TERMS})")
        unit_id = viewer.unit_id if not viewer.is_office else (form["unit"] or None)
        if unit_id is not None and not any(u.id == unit_id for u in config.units):
            raise SearchError(f"no unit {unit_id!r}")
        board = None
        if form["board"]:
            forum_id, _, fid = form["board"].rpartition(":")
            if not forum_id or not fid.isdigit() or int(fid) >= 2**63:
                raise SearchError(f"cannot read board {form['board']!r}")
            board = (forum_id, int(fid))
        state = form["state"] or None
        if state is not None and state not in STATES:
            raise SearchError(f"unknown state {state!r}")
        posted_from = posted_to = None
        if form["period"]:
            try:
                posted_from, posted_to = parse_period(form["period"]).bounds(config.timezone)
            except ValueError as exc:
                raise SearchError(str(exc)) from None
    except SearchError as exc:
        context["error"] = str(exc)
        return context
    rows, more = repo.search_threads(terms, unit_id=unit_id, fid=board, state=state, posted_from=posted_from,
                                     posted_to=posted_to, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    context.update(results=rows, more=more, terms=terms)
    return context
