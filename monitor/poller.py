"""Polling one forum: incremental reads of its boards, changed threads, and rechecks.

Board lists come newest last-post first, so a poll reads list pages until a
page holds a row that has not changed since the last poll; it fetches a thread
only when it is new or its reply count, last poster or last-post time moved,
and then only the pages that can hold new posts. Threads with open response
cases are re-read whole on a slower cadence to catch edits and deletions.
A failure is recorded as a failed poll run with its reason; what was stored
before stays.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

from loguru import logger

from models.repository import KnownThread, ReadDone, Repository, StoreResult
from monitor.assignment import Directory
from monitor.config import Config, Forum
from monitor.errors import StorageError
from scrapers import discuz, discuz_api, get_engine, rss
from scrapers.engine import fetch_page
from scrapers.errors import FetchError, LoginError, OffHostError, ParseError, ScraperError, StopRequested
from scrapers.fetch import Fetcher
from scrapers.records import Post, PromptPage, Site, ThreadPage, ThreadRow
from scrapers.session import forget_session, load_session, save_session, session_path

Clock = Callable[[], datetime]


PRESENCE_INTERVAL = timedelta(days=1)


Progress = Callable[[str], None]  # told how far a poll has got, after each page
PROGRESS_LOG_SECONDS = 30


def _log_progress(every: float = PROGRESS_LOG_SECONDS) -> Progress:
    """Progress as an INFO line at most every ``every`` seconds: a cold poll of a big board says
    how far it has got instead of nothing for minutes."""
    last = [time.monotonic()]

    def report(text: str) -> None:
        if time.monotonic() - last[0] >= every:
            last[0] = time.monotonic()
            logger.info("polling {}", text)
    return report


class PollInterrupted(Exception):
    """A stop was requested; the poll ends after the write in progress."""


class IncompletePage(Exception):
    """A page that is not whole (cut off, or missing posts or fields): nothing of it is stored."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class PollResult:
    forum_id: str
    status: str = "ok"  # ok | partial (warnings) | failed | interrupted
    error: str | None = None
    requests: int = 0
    bytes: int = 0  # response bytes read
    list_pages: int = 0
    threads_fetched: int = 0
    thread_pages: int = 0
    store: StoreResult = field(default_factory=StoreResult)
    warnings: list[str] = field(default_factory=list)
    run_id: int | None = None
    threads_changed: int = 0  # list rows stored because they changed

    @property
    def stored_something(self) -> bool:
        """Whether the poll wrote anything the rules check should look at."""
        return bool(self.threads_changed or self.store.new or self.store.changed or self.store.deleted)

    def add(self, r: StoreResult) -> None:
        self.store = StoreResult(self.store.new + r.new, self.store.changed + r.changed,
                                 self.store.deleted + r.deleted)

    def summary(self) -> str:
        text = (f"{self.forum_id}: {self.status}, {self.requests} requests, {self.list_pages} list pages, "
                f"{self.threads_fetched} threads read, {self.store.new} new posts, "
                f"{self.store.changed} edited, {self.store.deleted} deleted")
        return text + (f" — {self.error}" if self.error else "")


_RESOLVED: dict[tuple[str, str], str] = {}


def resolve_engine(forum: Forum, fetcher: Fetcher) -> str:
    """The engine to poll with; ``discuz-auto`` asks the site once per process whether its
    mobile API answers (exact times), else uses the desktop pages."""
    if forum.engine != "discuz-auto":
        return forum.engine
    key = (forum.id, forum.base_url)
    if key not in _RESOLVED:
        site = site_of(forum)
        try:
            page = fetcher.get(discuz_api.board_url(site, forum.boards[0].fid))
            answered = discuz_api.parse_thread_list(page, site).kind == "thread_list"
        except ScraperError:
            answered = False
        _RESOLVED[key] = "discuz-api" if answered else "discuz"
        logger.info("forum {}: using {} (auto)", forum.id, _RESOLVED[key])
    return _RESOLVED[key]


def site_of(forum: Forum) -> Site:
    return Site(base_url=forum.base_url, timezone=forum.timezone, floor_labels=tuple(forum.floor_labels),
                options=forum.generic.model_dump() if forum.generic else None)


def make_fetcher(forum: Forum, stop: threading.Event | None = None, **overrides) -> Fetcher:
    """The forum's fetcher; with ``stop``, its waits (politeness, retries) end when stop is set."""
    return Fetcher(forum.base_url, user_agent=forum.user_agent, rate_limit=forum.rate_limit,
                   timeout=forum.timeout_seconds, retries=forum.retries,
                   cookies=forum.cookie_dict() or None, stop=stop, **overrides)


def _lost_fields(row: ThreadRow, known: KnownThread | None) -> bool:
    """A list row without the author or reply count its thread had before: a damaged page."""
    if known is None:
        return False
    return (row.author is None and known.author is not None) or (row.replies is None and known.replies is not None)


def missing_posts(page: ThreadPage, ppp: int | None) -> str | None:
    """Why a whole-looking thread page lacks posts it should hold, or None.

    A page followed by another holds a full page of posts (a page size that changed still
    has floors without a gap); on the last page, a gap in the floors (or a first page not
    starting at floor 1) counts as missing posts only when the page's own reply count says
    the thread has more posts than shown (a post deleted on the forum leaves a gap but also
    lowers the count). A last page that lost its last post shows neither: a full re-read
    then marks that post deleted, and the next reading that sees it again un-marks it."""
    posts = page.posts
    floors = [p.floor for p in posts if p.floor is not None]
    gap = bool(floors) and len(floors) == len(posts) and (
        any(b - a != 1 for a, b in zip(floors, floors[1:])) or (page.page == 1 and floors[0] != 1))
    if page.next_page:
        if ppp and len(posts) < ppp and (gap or not floors):
            return f"{len(posts)} posts on a page of {ppp}"
        return None
    if not gap or page.replies is None or (page.page > 1 and not ppp):
        return None
    expected = page.replies + 1 - (page.page - 1) * (ppp or 0)
    if len(posts) < expected:
        return f"{len(posts)} posts, floors {floors[0]}–{floors[-1]}, where its {page.replies} replies imply {expected}"
    return None


def _unchanged(row: ThreadRow, known: KnownThread | None) -> bool:
    if known is None or known.needs_read:
        return False
    if known.replies != row.replies or known.last_poster != row.last_poster:
        return False
    if row.last_post_at is None or known.last_post_at is None:
        return True
    slack = timedelta(seconds=row.last_post_precision + known.last_post_precision + 60)
    return abs(row.last_post_at - known.last_post_at) <= slack


class ForumPoller:
    """Polls one forum through one fetcher into one repository."""

    def __init__(self, config: Config, forum: Forum, repo: Repository, fetcher: Fetcher,
                 clock: Clock = utcnow, directory: Directory | None = None,
                 stop: threading.Event | None = None, progress: Progress | None = None):
        self.config, self.forum, self.repo, self.fetcher = config, forum, repo, fetcher
        self.stop = stop
        self.engine = get_engine(resolve_engine(forum, fetcher))
        self.site = site_of(forum)
        self.clock = clock
        self.directory = directory or Directory(config)
        self.ppp = repo.posts_per_page(forum.id) or forum.posts_per_page
        self.session_file = session_path(config.state_dir, forum.id)
        self._logged_in_this_poll = False
        self.progress: Progress = progress or _log_progress()

    def poll(self, recheck: bool = True) -> PollResult:
        """Poll every board, then re-read due threads; the run is recorded as it starts and ends."""
        started, t0 = self.clock(), time.monotonic()
        result = PollResult(self.forum.id)
        self.repo.sync_forum(self.forum.id, self.forum.name, self.forum.engine, self.forum.base_url)
        result.run_id = self.repo.start_poll_run(self.forum.id, started)
        with logger.contextualize(forum=self.forum.id, run_id=result.run_id):
            self._run(result, started, t0, recheck)
        return result

    def _run(self, result: PollResult, started: datetime, t0: float, recheck: bool) -> None:
        try:
            self._start_session()
            for board in self.forum.boards:
                if board.feed_url:
                    self._poll_feed(board, result)
                else:
                    self._poll_board(board.fid, result)
            if recheck:
                self._recheck(result)
            self._check_presence(result)
        except ScraperError as exc:
            result.status, result.error = "failed", str(exc)
            logger.warning("poll of forum {} failed: {}", self.forum.id, exc)
        except StorageError as exc:  # the database refused a write: what was stored stays, the run says why
            result.status, result.error = "failed", str(exc)
            logger.warning("poll of forum {} failed on the database: {}", self.forum.id, exc)
        except (PollInterrupted, StopRequested):
            result.status, result.error = "interrupted", "stopped on request; the next poll goes on from here"
            logger.info("poll of forum {} interrupted by a stop request", self.forum.id)
        except Exception as exc:  # a bug: the run still says what happened, then the error goes on up
            result.status, result.error = "failed", f"internal error: {exc.__class__.__name__}: {exc}"
            raise
        finally:
            self._finish(result, started, t0)

    def _finish(self, result: PollResult, started: datetime, t0: float) -> None:
        """Close the poll run recorded at the start."""
        if result.status == "ok" and result.warnings:
            result.status = "partial"
        result.requests, result.bytes = self.fetcher.stats.requests, self.fetcher.stats.bytes
        finished = started + timedelta(seconds=time.monotonic() - t0)
        self.repo.finish_poll_run(result.run_id, finished, result.status, result.error, result.requests,
                                  result.threads_fetched, result.store, result.warnings)

    def _report(self, result: PollResult, where: str) -> None:
        self.progress(f"{self.forum.id} {where}: {result.list_pages} list pages, "
                      f"{result.threads_fetched} threads read, {result.store.new} new posts")

    def _poll_board(self, fid: int, result: PollResult) -> None:
        """Walk a board's list newest first, reading changed threads.

        The walk may stop at the first page holding an unchanged row only when the
        previous walk finished: after an interrupted or failed one, older pages may
        hold rows never stored, so the walk goes on to the end (list pages only).
        A list page that is not whole stores nothing and leaves the walk unfinished."""
        may_stop_early = self.repo.start_board_walk(self.forum.id, fid, self.clock())
        url: str | None = self.engine.board_url(self.site, fid)
        for _ in range(self.forum.max_pages):
            page, parsed = self._get_parsed(url, self.engine.parse_thread_list)
            result.list_pages += 1
            self._report(result, f"board {fid}")
            if isinstance(parsed, PromptPage):
                raise ParseError(url, f"board {fid} shows a prompt instead of threads "
                                      f"({parsed.reason}: {parsed.message})")
            result.warnings += [f"{url}: {w}" for w in parsed.warnings]
            if not parsed.complete:
                result.warnings.append(f"{url}: the list page is cut off; nothing of it stored, read again next poll")
                return  # the walk stays unfinished and is redone next time
            if not parsed.threads and parsed.page == 1:
                result.warnings.append(f"{url}: board {fid} lists no threads")
            try:
                changed = self._read_changed(fid, parsed.threads, result)
            except IncompletePage as exc:
                result.warnings.append(f"{url}: {exc}; nothing of it stored, read again next poll")
                return
            stale_row = any(not r.sticky and r not in changed for r in parsed.threads)
            url = self._next_on_host(parsed.next_page, url, result)
            if (may_stop_early and stale_row) or not url:
                break  # rows below an unchanged one are older: nothing new further down
        self.repo.set_board_walk(self.forum.id, fid, True, self.clock())

    def _read_changed(self, fid: int, rows: list[ThreadRow], result: PollResult,
                      feed: bool = False) -> list[ThreadRow]:
        """Store the rows that changed since the last poll (one transaction) and read their
        threads; return them. Raises IncompletePage, storing nothing, when rows lack fields
        that the same threads had before (a damaged list page)."""
        known = self.repo.known_threads(self.forum.id, [r.tid for r in rows])
        damaged = [] if feed else [r.tid for r in rows if _lost_fields(r, known.get(r.tid))]  # feeds carry no counts
        if damaged:
            raise IncompletePage(f"rows of threads {damaged[:5]} lack the author or counts they had before")
        changed = [r for r in rows if not _unchanged(r, known.get(r.tid))]
        ids = self.repo.upsert_thread_rows(self.forum.id, fid, changed, self.clock()) if changed else {}
        result.threads_changed += len(changed)
        for row in changed:
            self._check_stop()
            self._read_thread(ids[row.tid], row.tid, known.get(row.tid), result)
            self._report(result, f"board {fid}")
        return changed

    def _poll_feed(self, board, result: PollResult) -> None:
        """A board whose thread list is an RSS/Atom feed: new threads from it, threads read as usual."""
        url = (self.engine.feed_url(self.site, board.fid) if board.feed_url == "auto"
               else urljoin(self.forum.base_url, board.feed_url))
        page = self.fetcher.get(url)
        parsed = rss.parse_feed(page, self.site, lambda link: self.engine.tid_from_url(link, self.site),
                                self.engine.thread_url)
        result.list_pages += 1
        result.warnings += [f"{url}: {w}" for w in parsed.warnings]
        self._read_changed(board.fid, parsed.threads, result, feed=True)

    # ---- login sessions -------------------------------------------------

    def _start_session(self) -> None:
        """Use the saved session of a forum with a login, or log in when there is none."""
        if self.forum.login is None:
            return
        saved = load_session(self.session_file)
        if saved:
            self.fetcher.set_cookies(saved)
        else:
            self._login()

    def _login(self) -> None:
        """Log in with the engine's form; keep the session on disk (owner-only)."""
        login = self.forum.login
        self._logged_in_this_poll = True
        self.fetcher.clear_cookies()
        way = self.engine if hasattr(self.engine, "login_form") else discuz  # touch/API log in on the desktop form
        action, fields = way.login_form(self.fetcher.get(way.login_url(self.site)), self.site,
                                        login.username, login.password.get_secret_value())
        ok, message = way.login_result(self.fetcher.post(action, fields))
        if not ok:
            forget_session(self.session_file)
            raise LoginError(self.forum.id, login.username, message or "no reason given")
        save_session(self.session_file, self.fetcher.cookies)
        logger.info("logged in to {} as {}", self.forum.id, login.username)

    def _get_parsed(self, url: str, parse):
        """Fetch and parse; on a login wall, log in again once per poll and retry."""
        page = self._fetch(url)
        parsed = parse(page, self.site)
        if (isinstance(parsed, PromptPage) and parsed.reason == "login_required"
                and self.forum.login is not None and not self._logged_in_this_poll):
            logger.info("{} asks for a login: logging in again", url)
            self._login()
            page = self._fetch(url)
            parsed = parse(page, self.site)
        return page, parsed

    def _next_on_host(self, next_page: str | None, url: str, result: PollResult, what: str = "") -> str | None:
        """The next page's address, or None when it leaves the forum's host: forum markup is
        untrusted, so such a link ends the walk there (with a warning) and is never fetched."""
        if not next_page:
            return None
        try:
            return self.fetcher.check_url(next_page)
        except OffHostError:
            result.warnings.append(f"{what}{url}: its next page {next_page} is off the forum's host; "
                                   "taken as the last page, not fetched")
            return None

    def _fetch(self, url: str):
        """One page, fetched the way the engine says (a JSON endpoint may want a POST), else a GET."""
        return fetch_page(self.engine, self.fetcher, url, self.site)

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise PollInterrupted

    def _first_page_to_read(self, known: KnownThread | None) -> int:
        """The first page that can hold posts we have not stored yet."""
        if known is None or not known.read_pages:
            return 1
        # a guess too high is harmless: Discuz! serves its last page for a page past the end
        return max(1, math.ceil((known.max_floor + 1) / self.ppp))

    def _read_thread(self, thread_id: int, tid: int, known: KnownThread | None, result: PollResult,
                     full: bool = False) -> None:
        """Read a thread from the first page that can hold new posts (all pages when ``full``).

        Each page is stored in one transaction, and only when it is whole; the last one
        also marks the thread read. A page that is not whole ends the read: the thread
        stays marked for reading and the next poll reads it again."""
        start = 1 if full else self._first_page_to_read(known)
        url: str | None = self.engine.thread_url(self.site, tid, start)
        seen: set[int] = set()
        floors: dict[int, int] = {}  # pid → floor, for pages that give none (see _floors_by_order)
        floors_before = None  # the posts before the first page read: known once it is read
        pages_read = 0
        result.threads_fetched += 1
        while url:
            try:
                page, parsed = self._get_parsed(url, self.engine.parse_thread)
            except (FetchError, ParseError) as exc:
                result.warnings.append(f"thread {tid}: {exc}")
                return
            result.thread_pages += 1
            if isinstance(parsed, PromptPage):
                if parsed.reason == "not_found":
                    self.repo.mark_thread_deleted(thread_id, self.clock())
                    result.threads_changed += 1  # its case is void now: the check should know
                    logger.info("thread {} on {} is gone from the forum: marked deleted", tid, self.forum.id)
                else:
                    result.warnings.append(f"thread {tid}: {parsed.reason}: {parsed.message}")
                return
            result.warnings += [f"{url}: {w}" for w in parsed.warnings]
            parsed.next_page = self._next_on_host(parsed.next_page, url, result, f"thread {tid}: ")
            if floors_before is None and (start == 1 or parsed.page > 1 and self.ppp):
                floors_before = (parsed.page - 1) * self.ppp if parsed.page > 1 else 0
            if floors_before is not None:  # a later page that cannot say which it is gets no numbers
                # before the completeness check: numbered floors have no gaps
                parsed.posts = _floors_by_order(parsed.posts, floors, floors_before)
            problem = "the page is cut off" if not parsed.complete else missing_posts(parsed, self.ppp)
            if problem:
                result.warnings.append(f"thread {tid}: {url}: {problem}; nothing of it stored, read again next poll")
                return
            if parsed.next_page and parsed.posts and self.ppp != len(parsed.posts):
                self.ppp = len(parsed.posts)
                self.repo.set_posts_per_page(self.forum.id, self.ppp)
            if parsed.next_page and (pages_read := pages_read + 1) > 1 and seen.issuperset(p.pid for p in parsed.posts):
                # a page of nothing new (a cursor that repeats, a forum answering its last page
                # again): the thread ends here, however often its "next page" says otherwise
                result.warnings.append(f"thread {tid}: {url}: a next page of posts already read; taken as the last")
                parsed.next_page = None
            seen.update(p.pid for p in parsed.posts)
            now = self.clock()
            done = None if parsed.next_page else ReadDone(parsed.page, now, frozenset(seen) if full else None)
            units = [self.directory.unit_of_post(self.forum.id, p) for p in parsed.posts]
            result.add(self.repo.store_posts(
                self.forum.id, thread_id, parsed.posts, units, now, assume_new=known is None and not full,
                title=parsed.title if parsed.page == 1 else None,
                category=parsed.category if parsed.page == 1 else None, done=done))
            url = parsed.next_page

    def _check_presence(self, result: PollResult) -> None:
        """Read spokesperson profiles (last visit, last activity) at most once a day each."""
        profile_url = getattr(self.engine, "profile_url", None)
        if profile_url is None:
            return  # an engine without profile pages (generic): last posts seen still tell activity
        checked = self.repo.presence_checked(self.forum.id)
        now = self.clock()
        for unit_id, uid in self.directory.accounts_on(self.forum.id):
            last = checked.get(uid)
            if last is not None and now - last < PRESENCE_INTERVAL:
                continue
            self._check_stop()
            url = profile_url(self.site, uid)
            try:
                parsed = discuz.parse_profile(self.fetcher.get(url), self.site)
            except (FetchError, ParseError) as exc:
                result.warnings.append(f"profile of uid {uid}: {exc}")
                continue
            if isinstance(parsed, PromptPage):
                note = f"profile not readable ({parsed.reason}: {parsed.message})"
                self.repo.save_presence(self.forum.id, uid, unit_id, now, note=note)
                if parsed.reason == "login_required":
                    result.warnings.append(f"profiles need a login on {self.forum.id}: set cookies to see last visits")
                    return  # the others would say the same
                continue
            self.repo.save_presence(self.forum.id, uid, unit_id, now, username=parsed.username,
                                    last_visit=parsed.last_visit, last_activity=parsed.last_activity,
                                    last_post=parsed.last_post)

    def _recheck(self, result: PollResult) -> None:
        """Re-read threads with open cases not read within the recheck interval."""
        cutoff = self.clock() - timedelta(minutes=self.forum.recheck_interval_minutes)
        for thread_id, tid in self.repo.threads_to_recheck(self.forum.id, cutoff):
            self._check_stop()
            self._read_thread(thread_id, tid, None, result, full=True)


def poll_forum(config: Config, forum: Forum, repo: Repository, clock: Clock = utcnow,
               fetcher: Fetcher | None = None, recheck: bool = True,
               stop: threading.Event | None = None, progress: Progress | None = None) -> PollResult:
    """Poll one forum with a fresh fetcher (or the one given); never raises for forum trouble."""
    own = fetcher is None
    fetcher = fetcher or make_fetcher(forum, stop)
    try:
        try:
            poller = ForumPoller(config, forum, repo, fetcher, clock, stop=stop, progress=progress)
        except StopRequested:  # stopped while asking a discuz-auto site which way in it answers
            return PollResult(forum.id, status="interrupted", error="stopped on request before the poll began")
        return poller.poll(recheck=recheck)
    finally:
        if own:
            fetcher.close()


def _floors_by_order(posts: list[Post], floors: dict[int, int], before: int = 0) -> list[Post]:
    """Posts numbered in the order read when the page gives no floors at all (a generic forum
    without a floor field): from 1 when the read starts at the first page (floor 1 is the
    opening post, which dates the thread), from ``before`` + 1 when it starts at a later page
    (``before``: the pages before it times the posts per page). ``floors`` (pid → floor)
    carries on across pages; a post repeated from the page before keeps its number."""
    if any(p.floor is not None for p in posts):
        floors.update((p.pid, p.floor) for p in posts if p.floor is not None)
        return posts
    for p in posts:
        floors.setdefault(p.pid, before + len(floors) + 1)
    return [replace(p, floor=floors[p.pid]) for p in posts]
