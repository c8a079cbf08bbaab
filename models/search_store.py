"""Full-text search of the stored threads: the bigram index (``search_grams``) and its queries.

Any substring of two or more characters finds its thread, Chinese included: the index holds,
per thread, every bigram (pair of consecutive characters, see :mod:`monitor.search_text`) of
its title and of its posts' bodies. A search takes the threads holding every bigram of every
term as candidates (a longer term's bigrams may be scattered over the text) and verifies them
against the normalised current text, so the index may hold more than the text holds now (rows
are never removed: an edited post's earlier words stay in it) without a wrong result. SQLite
and PostgreSQL run the same queries.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone

from sqlalchemy import (ARRAY, Connection, Integer, Row, and_, any_, bindparam, exists, func, literal, not_, or_, select,
                        text, update)

from models.repo_base import RepositoryBase
from models.tables import (PostRecord, PostRevision, ResponseCase, SearchGram, SearchState, ThreadCount,
                           ThreadRecord)
from monitor.errors import StorageError
from monitor.search_text import grams, normalise, query_terms

SEARCH_CATCH_UP = 2000  # posts a search indexes before it runs (the poll indexes everything)
INDEX_DRIVEN_BELOW = 5000  # a rarest bigram in fewer threads: candidates come from the index, else newest first
COUNT_CAP = 20000  # bigrams are counted up to this many threads
WALK_WINDOW_MIN = 2000  # the newest threads a walk reads at least before it may change its way
PROBE_GRAMS = 6  # bigrams whose presence SQL checks per candidate (the rarest); verification checks the rest
GAP_GRACE_S = 900  # how long an id skipped by a cursor is looked for (a transaction still writing it)
MAX_GAPS = 2000  # per source: the newest skipped ids are kept
_CHUNK = 500
_INSERT_CHUNK = 50_000
_FLUSH_ROWS = 200_000

_T, _C, _G = ThreadRecord, ResponseCase, SearchGram.__table__
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# the cursors: source name → (its id column, the search_state column holding the last id indexed)
_SOURCES = {"posts": (PostRecord.id, SearchState.post_id), "revisions": (PostRevision.id, SearchState.revision_id),
            "counts": (ThreadCount.id, SearchState.count_id), "threads": (ThreadRecord.id, SearchState.thread_id)}
_CF = ResponseCase.__table__.alias("case_filter")  # the case, read by the filters' subqueries
_CASE_UNIT = select(_CF.c.unit_id).where(_CF.c.thread_id == _T.id).scalar_subquery()
_CASE_STATE = select(_CF.c.state).where(_CF.c.thread_id == _T.id).scalar_subquery()
_RESULT_COLUMNS = (_T.id, _T.forum_id, _T.tid, _T.fid, _T.title, _T.url, _T.author, _T.posted_at, _T.unit_id,
                   _T.proactive_unit_id, _T.deleted_at, _C.state, _C.due_at, _C.answered_at)


class SearchStore(RepositoryBase):
    """The search index and the search of threads by words (title and post bodies)."""

    # ---- the indexer ----------------------------------------------------------

    def index_search(self, limit: int = 20000) -> int:
        """Index what was stored since the last call; return the posts and threads indexed (0: nothing
        was waiting). At most ``limit`` posts per call: call again while it returns more than 0.

        What it reads, each by a cursor on an id (cost proportional to what changed):
        new posts (``posts.id``: the body, and the title of the post's thread); edited posts
        (``post_revisions.id``, a row per edit: the post's current body and its thread's title);
        new threads (``threads.id``: the title); and list rows stored again with new counts
        (``thread_counts.id``: the title), which is how a title changed on the forum's list
        usually arrives. Limit: a title changed by a list row whose replies and views did not
        change, on a thread that gets no new or edited post, is not indexed again until it does
        (the search still checks the current title, so the old title's words do not find it,
        but the new title's words do not either until then).

        Ids a cursor skips (PostgreSQL: a transaction that had drawn them had not committed yet)
        are looked for again for ``GAP_GRACE_S``. The pass runs in one transaction that first
        locks the ``search_state`` row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite its
        first write takes the database's write lock), so a second indexer waits, then finds the
        cursors moved on: two never index the same rows. A call with nothing to do only reads."""
        if limit < 1:
            raise ValueError("limit must be positive")
        if not self._search_work_waiting():
            return 0
        with self.transaction("indexing for search") as c:
            return _index_pass(c, limit)

    def _search_work_waiting(self) -> bool:
        """Whether a source has rows past its cursor or a skipped id has appeared (reads only)."""
        tops = [select(func.max(column)).scalar_subquery() for column, _ in _SOURCES.values()]
        with self.transaction("reading the search index state") as c:
            row = c.execute(select(*(cursor for _, cursor in _SOURCES.values()), SearchState.gaps, *tops)
                            .where(SearchState.id == 1)).one()
            n = len(_SOURCES)
            if any(top is not None and top > cursor for cursor, top in zip(row[:n], row[n + 1:])):
                return True
            gaps = json.loads(row.gaps or "{}")
            return any(c.execute(select(column).where(column.in_(chunk)).limit(1)).first()
                       for name, (column, _) in _SOURCES.items() if gaps.get(name)
                       for chunk in _chunks([i for i, _ in gaps[name]]))

    # ---- the search -----------------------------------------------------------

    def search_threads(self, terms: Sequence[str], *, unit_id: str | None = None,
                       fid: tuple[str, int] | None = None, state: str | None = None,
                       posted_from: datetime | None = None, posted_to: datetime | None = None,
                       limit: int = 50, offset: int = 0) -> tuple[list[Row], bool]:
        """Threads whose title or posts contain every term (a substring, after
        :func:`monitor.search_text.normalise`), newest posted first (threads without a posting
        time last), and whether more exist beyond ``offset + limit``.

        A term may be found in the title or in any post's current body (deleted posts and
        deleted threads included: they keep their history); different terms may be in different
        posts. Filters: ``unit_id`` (the thread's assigned unit, its proactive unit or its
        case's unit: exactly the unit's threads), ``fid`` ((forum id, board fid)), ``state`` (the
        case's state, or ``"none"``: threads without a case), ``posted_from`` <= posted time <
        ``posted_to`` (aware times). Rows: id (the thread's), forum_id, tid, fid, title, url,
        author, posted_at, unit_id, proactive_unit_id, deleted_at, and the case's state,
        due_at, answered_at (None without a case).

        Indexes what was stored since the last pass first (up to ``SEARCH_CATCH_UP`` posts; a
        failure to write is logged and the search runs on what is indexed).
        Raises SearchError for an empty query or a term shorter than two characters."""
        terms = query_terms(terms if isinstance(terms, str) else " ".join(terms))
        if limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        for t in (posted_from, posted_to):
            if t is not None and t.tzinfo is None:
                raise ValueError(f"naive datetime {t!r}: pass aware times")
        try:
            self.index_search(limit=SEARCH_CATCH_UP)
        except StorageError as exc:  # e.g. a read-only connection: search what is indexed
            from loguru import logger  # not at import: `spokeswatch status` reads the database without it
            logger.warning("search: indexing what was stored since the last pass failed: {}", exc)
        wanted = offset + limit + 1
        filters = _filters(unit_id, fid, state, posted_from, posted_to)
        with self.transaction("searching threads") as c:
            counts = {g: _threads_with(c, g) for g in set().union(*(grams(t) for t in terms))}
            if min(counts.values()) == 0:
                return [], False
            rarest = sorted(counts, key=lambda g: (counts[g], g))
            batches = _candidates(c, rarest[:PROBE_GRAMS], counts[rarest[0]], filters, wanted,
                                  dated_only=posted_from is not None or posted_to is not None)
            found: list[int] = []
            for batch in batches:
                found += _verified(c, batch, terms)
                if len(found) >= wanted:
                    break
            page = found[offset:offset + limit]
            rows = {r.id: r for r in _by_ids(c, select(*_RESULT_COLUMNS).outerjoin(_C, _C.thread_id == _T.id)
                                             .where(*filters), _T.id, page)}  # the filters again: exact
        return [rows[i] for i in page if i in rows], len(found) > offset + limit


# ---- indexing ----------------------------------------------------------------------

def _index_pass(c: Connection, limit: int) -> int:
    """One locked pass of :meth:`SearchStore.index_search` on its transaction."""
    state_table = SearchState.__table__
    if c.dialect.name == "sqlite":  # a write first: the database's write lock, before anything is read
        c.execute(update(state_table).where(SearchState.id == 1).values(post_id=SearchState.post_id))
    state = c.execute(select(*(cursor for _, cursor in _SOURCES.values()), SearchState.gaps)
                      .where(SearchState.id == 1).with_for_update()).one()
    cursors = dict(zip(_SOURCES, state))
    gaps = {name: {int(i): at for i, at in pairs} for name, pairs in json.loads(state.gaps or "{}").items()}
    clock = time.time()
    bodies: dict[int, list[str]] = {}  # thread id → bodies to index
    titled: set[int] = set()  # threads whose title is indexed
    budget = limit
    for name in ("posts", "revisions"):
        if budget <= 0:
            break
        if name == "posts":
            query = select(PostRecord.id, PostRecord.thread_id, PostRecord.body)
            column = PostRecord.id
        else:  # an edit: the post's current body
            query = (select(PostRevision.id, PostRecord.thread_id, PostRecord.body)
                     .join(PostRecord, PostRecord.id == PostRevision.post_id))
            column = PostRevision.id
        rows = _read_source(c, name, query, column, cursors, gaps, budget, clock)
        budget -= len(rows)
        for _, thread_id, body in rows:
            bodies.setdefault(thread_id, []).append(body)
            titled.add(thread_id)
    for name, query, column in (
            ("counts", select(ThreadCount.id, ThreadCount.thread_id), ThreadCount.id),
            ("threads", select(ThreadRecord.id, ThreadRecord.id.label("thread_id")), ThreadRecord.id)):
        rows = _read_source(c, name, query, column, cursors, gaps, limit, clock)
        titled.update(thread_id for _, thread_id in rows)
    ids = sorted(titled)
    titles = dict(_by_ids(c, select(ThreadRecord.id, ThreadRecord.title), ThreadRecord.id, ids))
    rows: list[tuple[int, int]] = []
    for n, thread_id in enumerate(ids, start=1):
        gs = grams(titles.get(thread_id) or "")
        for body in bodies.pop(thread_id, ()):
            gs |= grams(body)
        rows += [(g, thread_id) for g in gs]
        if len(rows) >= _FLUSH_ROWS or n == len(ids):  # sorted batches: index locality, bounded memory
            rows.sort()
            _insert_grams(c, rows)
            rows = []
    kept = {n: sorted(g.items()) for n, g in gaps.items() if g}
    c.execute(update(state_table).where(SearchState.id == 1).values(
        gaps=json.dumps(kept) if kept else None,
        **{_SOURCES[n][1].key: cursors[n] for n in _SOURCES}))
    return (limit - budget) + len(titled)


def _read_source(c: Connection, name: str, query, column, cursors: dict[str, int], gaps: dict[str, dict[int, float]],
                 limit: int, clock: float) -> list:
    """The rows of one source past its cursor (``limit`` at most, by id) and the skipped ids that
    have appeared since; moves the cursor and the source's skipped ids on (in ``cursors``/``gaps``)."""
    cursor = cursors[name]
    rows = c.execute(query.where(column > cursor).order_by(column).limit(limit)).all()
    missed = gaps.get(name, {})
    found = []
    if missed:
        found = _by_ids(c, query, column, sorted(missed))
        for r in found:
            del missed[r[0]]
        for i in [i for i, at in missed.items() if clock - at > GAP_GRACE_S]:
            del missed[i]  # long enough: rolled back, or a sequence value no row used
    if rows:
        top = rows[-1][0]
        seen = {r[0] for r in rows}
        skipped = [i for i in range(max(cursor + 1, top - 50 * MAX_GAPS), top) if i not in seen]
        missed.update((i, clock) for i in skipped)
        if len(missed) > MAX_GAPS:
            missed = dict(sorted(missed.items())[-MAX_GAPS:])
        cursors[name] = top
    gaps[name] = missed
    return found + rows


def _insert_grams(c: Connection, rows: list[tuple[int, int]]) -> None:
    """Insert (gram, thread id) rows, sorted, ignoring those already there: straight through the
    driver (SQLAlchemy's per-row processing would cost more than the insert): SQLite's
    executemany, PostgreSQL's unnest of two arrays per chunk."""
    if not rows:
        return
    if c.dialect.name == "postgresql":
        stmt = text("INSERT INTO search_grams (gram, thread_id) SELECT * FROM unnest(CAST(:g AS BIGINT[]), "
                    "CAST(:t AS INTEGER[])) ON CONFLICT (gram, thread_id) DO NOTHING")
        for i in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[i:i + _INSERT_CHUNK]
            c.execute(stmt, {"g": [g for g, _ in chunk], "t": [t for _, t in chunk]})
        return
    c.exec_driver_sql("INSERT INTO search_grams (gram, thread_id) VALUES (?, ?) "
                      "ON CONFLICT (gram, thread_id) DO NOTHING", rows)


# ---- searching ---------------------------------------------------------------------

def _filters(unit_id: str | None, fid: tuple[str, int] | None, state: str | None, posted_from: datetime | None,
             posted_to: datetime | None) -> list:
    """The WHERE clauses of the filters on ``threads``. The case's columns are read by correlated
    subqueries (one index lookup per thread), not a join: for a list of thread ids PostgreSQL
    would hash-join the whole response_cases table."""
    out = []
    if unit_id is not None:
        out.append(or_(_T.unit_id == unit_id, _T.proactive_unit_id == unit_id, _CASE_UNIT == unit_id))
    if fid is not None:
        out += [_T.forum_id == fid[0], _T.fid == fid[1]]
    if state is not None:
        out.append(~exists().where(_CF.c.thread_id == _T.id) if state == "none" else _CASE_STATE == state)
    if posted_from is not None:
        out.append(_T.posted_at >= posted_from)
    if posted_to is not None:
        out.append(_T.posted_at < posted_to)
    return out


def _threads_with(c: Connection, gram: int) -> int:
    """How many threads hold the bigram, counted up to COUNT_CAP (an index range read)."""
    capped = select(literal(1)).where(SearchGram.gram == gram).limit(COUNT_CAP).subquery()
    return c.execute(select(func.count()).select_from(capped)).scalar_one()


def _candidates(c: Connection, probe: list[int], rarest_count: int, filters: list, wanted: int,
                dated_only: bool) -> Iterator[list[int]]:
    """Candidate thread ids, newest first, in batches; the consumer stops when it has enough.

    A rarest bigram in fewer than INDEX_DRIVEN_BELOW threads: its threads (:func:`_from_the_index`).
    Else the threads are walked newest first (:func:`_newest_first`), which finds a page among
    common words at once, over a window of the newest threads about as many as hold the rarest
    bigram; when the window does not fill the page (the filters or the other terms are rare in
    it), the older threads come from whichever is cheaper: the rarest bigram's threads or the
    rest of the walk. Either way the work is bounded by about twice the better of the two."""
    if rarest_count < INDEX_DRIVEN_BELOW:
        yield from _from_the_index(c, probe, filters, wanted)
        return
    window = max(min(rarest_count, COUNT_CAP), WALK_WINDOW_MIN)
    boundary = c.execute(select(_T.posted_at).where(_T.posted_at.is_not(None))
                         .order_by(_T.posted_at.desc()).offset(window - 1).limit(1)).scalar()
    yield from _newest_first(c, probe, filters, wanted, since=boundary, undated=False)
    if boundary is None:  # the window held every dated thread
        yield from _newest_first(c, probe, filters, wanted, dated=False, undated=not dated_only)
        return
    if rarest_count >= COUNT_CAP:
        rarest_count = c.execute(select(func.count()).where(SearchGram.gram == probe[0])).scalar_one()
    rest = (c.execute(select(func.max(_T.id))).scalar() or 0) - window  # about the threads not walked yet
    if _walk_is_cheaper(rarest_count, rest):
        yield from _newest_first(c, probe, filters, wanted, before=boundary, undated=not dated_only)
    else:
        older = or_(_T.posted_at < boundary, _T.posted_at.is_(None))
        yield from _from_the_index(c, probe, [*filters, older], wanted)


def _walk_is_cheaper(rarest_count: int, threads_left: int) -> bool:
    """Whether walking the threads not walked yet costs less than reading the rarest bigram's
    threads (about one index read per thread either way)."""
    return threads_left < rarest_count


def _has_grams(thread_id, gs: Sequence[int]) -> list:
    """One EXISTS per bigram: the thread holds it (a primary key lookup)."""
    probes = []
    for g in gs:
        s = _G.alias()
        probes.append(exists().where(s.c.gram == g, s.c.thread_id == thread_id))
    return probes


def _from_the_index(c: Connection, rarest: list[int], filters: list, wanted: int) -> Iterator[list[int]]:
    """Candidates when the rarest bigram is in few threads: its threads, narrowed down by the other
    bigrams, then by the filters, sorted newest first here and handed out in growing batches.

    Each step reads rows by the ids of the previous one (never a join whose plan would rest on
    the database's guess of how common a bigram is)."""
    ids = list(c.execute(select(SearchGram.thread_id).where(SearchGram.gram == rarest[0])).scalars())
    for gram in rarest[1:]:
        ids = [r.thread_id for r in _by_ids(c, select(SearchGram.thread_id).where(SearchGram.gram == gram),
                                            SearchGram.thread_id, ids)]
    rows = _by_ids(c, select(_T.id, _T.posted_at).where(*filters), _T.id, ids)
    rows.sort(key=lambda r: (r.posted_at is not None, r.posted_at or _EPOCH, r.id), reverse=True)
    size, i = max(100, 2 * wanted), 0
    while i < len(rows):
        yield [r.id for r in rows[i:i + size]]
        i += size
        size = min(4 * size, 5000)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _by_ids(c: Connection, query, column, ids: list[int]) -> list:
    """The rows of ``query`` whose ``column`` is one of ``ids``: PostgreSQL in one statement
    (``= ANY`` of an array: one plan, the index probed in order), SQLite by IN lists of _CHUNK."""
    if not ids:
        return []
    if c.dialect.name == "postgresql":
        return c.execute(query.where(column == any_(bindparam("ids", ids, type_=ARRAY(Integer), unique=True)))).all()
    return [r for chunk in _chunks(ids) for r in c.execute(query.where(column.in_(chunk)))]


def _newest_first(c: Connection, probe: list[int], filters: list, wanted: int, *,
                  since: datetime | None = None, before: datetime | None = None, dated: bool = True,
                  undated: bool = True) -> Iterator[list[int]]:
    """Candidates by a walk of the threads newest first (the posted-time index): those holding the
    bigrams and passing the filters, in growing batches (keyset pages), posted at or after
    ``since`` and before ``before``; then (``undated``) the threads without a posting time."""
    base = select(_T.id, _T.posted_at).where(*_has_grams(_T.id, probe), *filters)
    size, last = max(100, 2 * wanted), None
    while dated:
        query = base.where(_T.posted_at.is_not(None))
        if since is not None:
            query = query.where(_T.posted_at >= since)
        if before is not None:
            query = query.where(_T.posted_at < before)
        if last is not None:
            query = query.where(_T.posted_at <= last.posted_at,
                                not_(and_(_T.posted_at == last.posted_at, _T.id >= last.id)))
        rows = c.execute(query.order_by(_T.posted_at.desc(), _T.id.desc()).limit(size)).all()
        if rows:
            yield [r.id for r in rows]
        if len(rows) < size:
            break
        last, size = rows[-1], min(2 * size, 5000)
    last_id = None
    while undated:
        query = base.where(_T.posted_at.is_(None))
        if last_id is not None:
            query = query.where(_T.id < last_id)
        rows = c.execute(query.order_by(_T.id.desc()).limit(size)).all()
        if rows:
            yield [r.id for r in rows]
        if len(rows) < size:
            return
        last_id = rows[-1].id


def _verified(c: Connection, ids: list[int], terms: list[str]) -> list[int]:
    """The candidates (in their order) whose title or posts' current bodies hold every term."""
    missing: dict[int, list[str]] = {}
    for thread_id, title in _by_ids(c, select(_T.id, _T.title), _T.id, ids):
        title = normalise(title or "")
        missing[thread_id] = [t for t in terms if t not in title]
    unsure = [i for i, rest in missing.items() if rest]
    for thread_id, body in _by_ids(c, select(PostRecord.thread_id, PostRecord.body), PostRecord.thread_id, unsure):
        rest = missing[thread_id]
        if rest:
            body = normalise(body)
            missing[thread_id] = [t for t in rest if t not in body]
    return [i for i in ids if i in missing and not missing[i]]
