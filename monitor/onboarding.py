"""``spokeswatch forum add URL``: inspect a board URL and add it to config.yaml, comments kept.

The board page is fetched and parsed first (so a URL that is not a board, or an
engine we cannot read, is refused), then the new forum or board is written
with ruamel.yaml's round-trip mode, which keeps the operator's comments and
order; the result must pass the config check or the file is left untouched.
"""
from __future__ import annotations

import io
import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from monitor.config import parse_config, read_yaml
from monitor.errors import ConfigError, SpokeswatchError
from scrapers import detect_engine, get_engine
from scrapers.engine import fetch_page
from scrapers.errors import ScraperError
from scrapers.fetch import Fetcher
from scrapers.records import Site

_REWRITTEN_BOARD = re.compile(r"forum-(\d+)-\d+\.html$|thread-htm-fid-(\d+)")  # Discuz! / phpwind rewrites


@dataclass
class BoardFound:
    base_url: str
    fid: int
    engine: str
    board_name: str | None
    threads_seen: int


def inspect_board(url: str, engine: str = "auto", fetcher: Fetcher | None = None) -> BoardFound:
    """Fetch a board URL, detect the engine and the board id, and check the page parses."""
    parts = urlsplit(url)
    m = _REWRITTEN_BOARD.search(parts.path)
    fid_text = (m.group(1) or m.group(2)) if m else (parse_qs(parts.query).get("fid") or [""])[0]
    if not fid_text.isdigit():
        raise SpokeswatchError(f"{url}: no board id in the URL (expected forum.php?mod=forumdisplay&fid=N, "
                               "forum-N-1.html, forumdisplay.php?fid=N or thread.php?fid=N); for other forum "
                               "software, try --engine generic")
    base_url = urljoin(url, ".")
    own = fetcher is None
    fetcher = fetcher or Fetcher(base_url, rate_limit=0, retries=1)
    detected = None
    try:
        page = fetcher.get(url)
        detected = detect_engine(page.body)
        name = engine if engine != "auto" else (detected or "discuz")
        parsed = get_engine(name).parse_thread_list(page, Site(base_url))
    except (ScraperError, KeyError) as exc:
        hint = ("" if detected or engine != "auto"
                else " (the page names no engine spokeswatch knows: try --engine generic)")
        raise SpokeswatchError(f"{url}: cannot read it as a board: {exc}{hint}") from None
    finally:
        if own:
            fetcher.close()
    if parsed.kind == "prompt":
        raise SpokeswatchError(f"{url}: the forum shows a prompt instead of the board "
                               f"({parsed.reason}: {parsed.message}); set cookies or a login first")
    title = re.search(r"<title>\s*([^<-]+?)\s*-", page.text)
    return BoardFound(base_url, int(fid_text), name, title.group(1).strip() if title else None, len(parsed.threads))


def _forum_id(base_url: str, taken: set[str]) -> str:
    host = urlsplit(base_url).hostname or "forum"
    candidate = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "forum"
    n, out = 1, candidate
    while out in taken:
        n += 1
        out = f"{candidate}-{n}"
    return out


def add_board(config_path: str | Path, found: BoardFound, kind: str = "programme",
              forum_id: str | None = None, forum_name: str | None = None) -> str:
    """Append the board (and its forum, if new) to config.yaml; return what was done."""
    path = Path(config_path)
    yaml = YAML()  # round-trip: comments and order survive
    yaml.indent(mapping=2, sequence=4, offset=2)
    original = path.read_text("utf-8")
    data = read_yaml(original, str(path))  # the config's own reader: YAML 1.2, quotes kept, anchors refused
    if not isinstance(data, dict):
        raise ConfigError(str(path), "expected a mapping of settings at the top level", line=1)
    forums = data.setdefault("forums", CommentedSeq())
    board = CommentedMap(fid=found.fid, name=found.board_name or f"board {found.fid}", kind=kind)
    forum = next((f for f in forums if str(f.get("base_url", "")).rstrip("/") == found.base_url.rstrip("/")), None)
    if forum is not None:
        if any(int(b.get("fid", -1)) == found.fid for b in forum.get("boards", [])):
            return f"board {found.fid} is already configured on forum {forum['id']}: nothing changed"
        forum.setdefault("boards", CommentedSeq()).append(board)
        done = f"added board {found.fid} to forum {forum['id']}"
    else:
        new_id = forum_id or _forum_id(found.base_url, {str(f.get("id")) for f in forums})
        forum = CommentedMap(id=new_id, name=forum_name or found.board_name or new_id, engine=found.engine,
                             base_url=found.base_url, boards=CommentedSeq([board]))
        forums.append(forum)
        forums.yaml_set_comment_before_after_key(len(forums) - 1, before=(
            f"added by `spokeswatch forum add`: engine {found.engine}, board {found.fid} "
            f"({found.threads_seen} threads on its first page); review kind, unit and categories"), indent=2)
        done = f"added forum {new_id} with board {found.fid}"
    out = io.StringIO()
    yaml.dump(data, out)
    text = out.getvalue()
    try:
        parse_config(text, str(path))
    except ConfigError as exc:
        raise SpokeswatchError(f"the new config would not be valid, {path} left unchanged: {exc}") from None
    path.write_text(text, "utf-8")
    return done


# ---- the generic engine: a forum described by selectors --------------------------------

_REQUIRED = {"threads": ("row", "link"), "posts": ("post", "pid")}


@dataclass
class GenericAdded:
    """What ``forum add --engine generic`` did: lines for the terminal, and whether config.yaml now
    polls the forum (False: the block was written commented out, to be finished by hand)."""

    lines: list[str]
    forum_id: str
    active: bool


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _load(path: Path):
    """(text, round-trip data) of config.yaml, read the way the config check reads it."""
    try:
        original = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found (pass -c PATH, or create one with spokeswatch init)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from None
    data = read_yaml(original, str(path))
    if not isinstance(data, dict):
        raise ConfigError(str(path), "expected a mapping of settings at the top level", line=1)
    return original, data


def _dump(data) -> str:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def generic_forum_for(config_path: str | Path, url: str, forum_id: str | None) -> str | None:
    """The id of the configured generic forum this board URL belongs to: the one named by ``--id``,
    else one whose base_url the URL lies under; None if there is none."""
    try:
        _, data = _load(Path(config_path))
    except (OSError, SpokeswatchError):
        return None
    for f in data.get("forums") or []:
        if not isinstance(f, dict) or f.get("engine") != "generic":
            continue
        if forum_id is not None:
            if str(f.get("id")) == forum_id:
                return forum_id
            continue
        base = str(f.get("base_url", ""))
        if base and url.startswith(base):
            return str(f.get("id"))
    return None


def _fid_from_template(url: str, template: str) -> int | None:
    """The board id in ``url`` where the forum's board_url template has ``{fid}``: the number after
    what stands before it there ("category/{fid}/" → category/N, "…&fid={fid}" → fid=N)."""
    if "{fid}" not in template:
        return None
    head = re.split(r"[?&]", template.split("{fid}")[0])[-1].replace("{{", "{").replace("}}", "}")
    if "/" in head:
        head = head.rstrip("/").rsplit("/", 1)[-1] + "/"
    m = re.search(r"(?:^|[/?&])" + re.escape(head) + r"(\d+)(?!\d)", urlsplit(url).path + "?" + urlsplit(url).query)
    return int(m.group(1)) if m else None


def add_generic_board(config_path: str | Path, url: str, forum_id: str, kind: str = "programme",
                      fid: int | None = None, fetcher: Fetcher | None = None) -> GenericAdded:
    """Add a board to a configured generic forum, checking the forum's own block reads it. A JSON
    forum's board is asked for as a poll asks (its endpoint, with the board's body when it takes
    one); the board id is then --fid, or ``#fid=N`` after the URL as probe takes it."""
    from monitor.generic_proposal import page_names
    from scrapers import generic, generic_json

    path = Path(config_path)
    original, data = _load(path)
    forum_cfg = parse_config(original, str(path)).forum(forum_id)
    if forum_cfg.generic is None:
        raise SpokeswatchError(f"forum {forum_id} has no generic: block")
    options = forum_cfg.generic.model_dump()
    site = Site(forum_cfg.base_url, forum_cfg.timezone, options=options)
    is_json = options.get("format") == "json"
    board_fid = fid if fid is not None else _fid_from_template(url, options["board_url"])
    if board_fid is None and is_json:
        said = generic_json.fragment(url).get("fid", "")
        if not said.isdigit():
            raise SpokeswatchError(f"{url}: no board id in the URL (forum {forum_id} reads a JSON API, "
                                   f"{options['board_url']!r}); give it with --fid N")
        board_fid = int(said)
    if board_fid is None:
        raise SpokeswatchError(f"{url}: no board id where forum {forum_id}'s board_url "
                               f"{options['board_url']!r} has {{fid}}; give it with --fid N")
    target = generic.board_url(site, board_fid) if is_json else url
    own = fetcher is None
    fetcher = fetcher or Fetcher(forum_cfg.base_url, user_agent=forum_cfg.user_agent, rate_limit=0, retries=1,
                                 cookies=forum_cfg.cookie_dict() or None)
    try:
        page = _get(fetcher, target, site)
        parsed = generic.parse_thread_list(page, site)
    except ScraperError as exc:
        raise SpokeswatchError(f"{target}: forum {forum_id}'s selectors do not read it as a board: {exc}") from None
    finally:
        if own:
            fetcher.close()
    board_name, _ = (None, None) if is_json else page_names(page.text)
    forum = next(f for f in data["forums"] if str(f.get("id")) == forum_id)
    lines = [f"{url}: generic (forum {forum_id}'s selectors), board {board_fid} ({board_name or 'no name'}), "
             f"{len(parsed.threads)} threads on its first page" + (f", {len(parsed.warnings)} warnings"
                                                                  if parsed.warnings else "")]
    lines += [f"  warning: {w}" for w in parsed.warnings[:5]]
    if any(int(b.get("fid", -1)) == board_fid for b in forum.get("boards") or []):
        lines.append(f"{path}: board {board_fid} is already configured on forum {forum_id}: nothing changed")
        return GenericAdded(lines, forum_id, True)
    board = CommentedMap(fid=board_fid, name=board_name or f"board {board_fid}", kind=kind)
    forum.setdefault("boards", CommentedSeq()).append(board)
    text = _dump(data)
    try:
        parse_config(text, str(path))
    except ConfigError as exc:
        raise SpokeswatchError(f"the new config would not be valid, {path} left unchanged: {exc}") from None
    path.write_text(text, "utf-8")
    lines.append(f"{path}: added board {board_fid} to forum {forum_id}; review its kind, unit and categories")
    return GenericAdded(lines, forum_id, True)


def add_generic_forum(config_path: str | Path, url: str, kind: str = "programme", forum_id: str | None = None,
                      name: str | None = None, fid: int | None = None, thread: str | None = None,
                      timezone: str = "Asia/Shanghai", fetcher: Fetcher | None = None) -> GenericAdded:
    """Read a board page (and a thread page from it), propose a ``generic:`` block and add the forum.

    The block is written with a comment on each key saying what it found, and a ``# TODO`` line
    for each it could not determine. When the pages did not show something a poll needs (rows,
    links, posts, post ids) or the engine cannot read the pages with the block, it is appended
    commented out instead, so that config.yaml stays valid."""
    from monitor.generic_proposal import (ProposalError, check_block, escape_braces, fid_in_url, page_names,
                                          propose_board, propose_thread, render_block, summary)

    path = Path(config_path)
    original, data = _load(path)
    forums = data.get("forums")
    if not isinstance(forums, CommentedSeq):
        forums = data["forums"] = CommentedSeq()
    forums.fa.set_block_style()  # "forums: []" in a new file: the entry goes below, with its comments
    taken = {str(f.get("id")) for f in forums}
    if forum_id is not None and forum_id in taken:
        raise SpokeswatchError(f"forum {forum_id} is already in {path} and not a generic one; "
                               "choose another --id for a new forum")
    own = fetcher is None
    fetcher = fetcher or Fetcher(_root(url), rate_limit=0, retries=1)
    try:
        page = _get(fetcher, url)
        try:
            board = propose_board(page.text, url, page.url, timezone)
        except ProposalError as exc:
            raise SpokeswatchError(str(exc)) from None
        if fid is not None:
            in_url = fid_in_url(url)
            if in_url is not None and in_url[0] != fid:
                raise SpokeswatchError(f"{url} shows board {in_url[0]}, --fid says {fid}")
            if board.fid is None:
                board.fid, board.board_url = fid, escape_braces(_relative_to(url, board.base_url))
        if board.fid is None:
            raise SpokeswatchError(f"{url}: no board id (a number) in the URL; give the board's id with --fid N "
                                   "(the URL is then polled as that board)")
        _check_board_url(fetcher, board, url)
        # the posts' markup from the busiest thread on the page (or --thread); the first row's thread
        # too, to compare what the list shows with its page
        first = board.rows[0]
        counted = [r for r in board.rows if r.count is not None]
        busiest = max(counted, key=lambda r: r.count) if counted else first
        chosen = busiest if busiest.count and busiest.count > (first.count or 0) else first
        structure = _get(fetcher, thread) if thread else _thread_page(fetcher, board, chosen)
        samples = [] if not thread and chosen is first else [_thread_page(fetcher, board, first)]
        try:
            proposal = propose_thread(structure.text, structure.url, board,
                                      [(s.text, s.url) for s in samples], timezone)
        except ProposalError as exc:
            raise SpokeswatchError(str(exc)) from None
    finally:
        if own:
            fetcher.close()
    check = check_block(board, proposal, page.text, structure.text, timezone)
    board_name, site_name = page_names(page.text)
    new_id = forum_id or _forum_id(board.base_url, taken)
    block = render_block(board, proposal, new_id, name or site_name or board_name or new_id, kind)
    missing = [f"{section}.{k.name}" for section, keys in (("threads", board.threads), ("posts", proposal.posts))
               for k in keys if k.name in _REQUIRED[section] and k.value is None]
    missing += [k for k in ("board_url", "thread_url", "tid_pattern") if not getattr(board, k)]
    lines = [f"{url}: generic, board {board.fid} ({board_name or 'no name'}): {len(board.rows)} threads on its "
             f"first page; {proposal.post_count} posts on {structure.url}",
             "proposed (each key commented with what it found):", *summary(board, proposal)]
    known = detect_engine(page.body)
    if known:
        lines.append(f"  note: the page names its software ({known}): `spokeswatch forum add {url}` reads it "
                     f"with the {known} engine, without selectors")
    if check.error:
        lines.append(f"  the engine cannot read the pages with this block: {check.error}")
    else:
        lines.append(f"  read with the block: {check.threads} threads, {check.posts} posts")
    lines += [f"  warning: {w}" for w in check.warnings[:5]]
    comment = (f"added by `spokeswatch forum add --engine generic` from {url}: the selectors read "
               f"{check.threads} threads there and {check.posts} posts on {structure.url}. Finish the lines "
               f"marked TODO, the board's kind, unit or categories, and the units' spokesperson accounts "
               f"(uid from the profile links), then: spokeswatch probe URL -c {path.name} --forum {new_id}")
    text = None
    if not missing and not check.error:
        entry = read_yaml(block, str(path))["forums"][0]
        forums.append(entry)
        forums.yaml_set_comment_before_after_key(len(forums) - 1, before="\n".join(_wrap(comment)), indent=2)
        text = _dump(data)
        try:
            parse_config(text, str(path))
        except ConfigError as exc:
            lines.append(f"  the block does not pass the config check ({exc}): written commented out")
            text = None
    if text is None:
        why = ", ".join(missing) or (check.error or "the config check")
        commented = "\n".join("# " + line if line.strip() else "#" for line in block.splitlines()[1:])
        head = (f"---- NOT ACTIVE: proposed by `spokeswatch forum add --engine generic` from {url}. The pages did "
                f"not show {why}. Finish the TODO lines, then move this entry (without the leading '# ') under "
                "forums: and run spokeswatch config check.")
        text = (original.rstrip("\n") + "\n\n" + "\n".join("# " + line for line in _wrap(head))
                + "\n" + commented + "\n")
        path.write_text(text, "utf-8")
        lines.append(f"{path}: the proposal for forum {new_id} is incomplete ({why}): appended commented out at "
                     "the end; finish it and move it under forums:")
        return GenericAdded(lines, new_id, False)
    path.write_text(text, "utf-8")
    lines.append(f"{path}: added forum {new_id} (engine generic) with board {board.fid}")
    lines.append("next: check what the block reads, finish the TODO lines, then poll once:")
    lines.append(f"  spokeswatch probe {shlex.quote(url)} -c {shlex.quote(str(path))} --forum {new_id}")
    lines.append(f"  spokeswatch probe {shlex.quote(structure.url)} -c {shlex.quote(str(path))} --forum {new_id}")
    lines.append(f"  spokeswatch poll --forum {new_id} -c {shlex.quote(str(path))}")
    return GenericAdded(lines, new_id, True)


def _wrap(text: str) -> list[str]:
    """Comment lines of at most 100 characters; an address is never cut."""
    return textwrap.wrap(text, 100, break_long_words=False, break_on_hyphens=False)


def _get(fetcher: Fetcher, url: str, site: Site | None = None):
    """A page the onboarding needs (fetched as the generic engine fetches for ``site``), or
    SpokeswatchError saying why not."""
    from scrapers import generic
    try:
        page = fetch_page(generic, fetcher, url, site) if site is not None else fetcher.get(url)
    except ScraperError as exc:
        raise SpokeswatchError(f"{url}: cannot fetch it: {exc}") from None
    if page.status >= 400:
        raise SpokeswatchError(f"{url}: the forum answered HTTP {page.status}")
    return page


def _thread_page(fetcher: Fetcher, board, row):
    """A thread page fetched where a poll will ask for it (thread_url with the id); when the forum
    does not answer there, from the row's own link, and thread_url is left to the operator."""
    if board.thread_url:
        templated = urljoin(board.base_url, board.thread_url.format(tid=row.tid, page=1))
        if templated == row.url:
            return _get(fetcher, row.url)
        try:
            return _get(fetcher, templated)
        except SpokeswatchError as exc:
            board.notes.append(f"thread_url {board.thread_url!r} does not work ({exc}); the links are like "
                               f"{row.url}: write the thread page address with {{tid}}")
            board.thread_url = None
    return _get(fetcher, row.url)


def _check_board_url(fetcher: Fetcher, board, url: str) -> None:
    """The board page at board_url with the board's id must be the page given (e.g. a board name after
    the id left out); else board_url is the URL as given with {fid}, or left to the operator."""
    from monitor.generic_proposal import escape_braces, fid_in_url, propose_board
    if not board.board_url or board.fid is None:
        return
    templated = urljoin(board.base_url, board.board_url.format(fid=board.fid, page=1))
    if templated == url:
        return
    try:
        page = _get(fetcher, templated)
        if len(propose_board(page.text, templated, page.url).rows) >= len(board.rows):
            return
        problem = "it shows fewer threads"
    except SpokeswatchError as exc:
        problem = str(exc)
    as_given = fid_in_url(url, keep_names=True)
    board.notes.append(f"board_url {board.board_url!r} gives {templated}, which does not work ({problem})"
                       + (f"; kept the URL as given: {as_given[1]!r}" if as_given else ""))
    board.board_url = _relative_to(urljoin(url, as_given[1]), escape_braces(board.base_url)) if as_given else None


def _relative_to(url: str, base_url: str) -> str:
    return url[len(base_url):] if url.startswith(base_url) else urlsplit(url).path.lstrip("/") + (
        "?" + urlsplit(url).query if urlsplit(url).query else "")
