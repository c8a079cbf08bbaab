"""``spokeswatch forum add URL``: inspect a board URL and add it to config.yaml, comments kept.

The board page is fetched and parsed first (so a URL that is not a board, or an
engine we cannot read, is refused), then the new forum or board is written
with ruamel.yaml's round-trip mode, which keeps the operator's comments and
order; the result must pass the config check or the file is left untouched.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from monitor.config import parse_config, read_yaml
from monitor.errors import ConfigError, SpokeswatchError
from scrapers import detect_engine, get_engine
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
                               "forum-N-1.html, forumdisplay.php?fid=N or thread.php?fid=N)")
    base_url = urljoin(url, ".")
    own = fetcher is None
    fetcher = fetcher or Fetcher(base_url, rate_limit=0, retries=1)
    try:
        page = fetcher.get(url)
        name = engine if engine != "auto" else (detect_engine(page.body) or "discuz")
        parsed = get_engine(name).parse_thread_list(page, Site(base_url))
    except (ScraperError, KeyError) as exc:
        raise SpokeswatchError(f"{url}: cannot read it as a board: {exc}") from None
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
