"""``spokeswatch probe``: what an engine extracts from one page, for onboarding a forum."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from monitor.errors import SpokeswatchError
from scrapers import detect_engine, get_engine
from scrapers.engine import fetch_page
from scrapers.errors import ScraperError
from scrapers.fetch import Fetcher
from scrapers.records import Page, PromptPage, Site, ThreadListPage, user_id


def _iso(dt: datetime | None, tz: ZoneInfo) -> str | None:
    return dt.astimezone(tz).isoformat() if dt else None


def _load(target: str, now: datetime | None, base_url: str | None, engine: str = "auto",
          site: Site | None = None) -> tuple[Page, str, list[str]]:
    warnings = []
    if target.startswith(("http://", "https://")):
        base = base_url or urljoin(target, ".")
        with Fetcher(base, rate_limit=0, retries=1) as fetcher:
            page = (fetch_page(get_engine(engine), fetcher, target, site) if engine != "auto" and site is not None
                    else fetcher.get(target))
        return page, base, warnings
    path = Path(target)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise SpokeswatchError(f"cannot read {target}: {exc.strerror or exc}") from None
    if now is None:
        warnings.append("no --now given: relative times were resolved against this machine's clock")
    base = base_url or "http://localhost/"
    return Page(urljoin(base, path.name), body, now or datetime.now(timezone.utc)), base, warnings


def probe_target(target: str, engine: str, now: datetime | None, base_url: str | None,
                 tz_name: str = "Asia/Shanghai", options=None) -> dict:
    """Fetch or read one page and parse it; return the JSON-ready result.

    ``engine`` "auto" picks the engine the page names (Discuz!'s generator meta, the
    mobile API's JSON envelope, touch markup), else the desktop Discuz! engine."""
    try:
        site = Site(base_url, tz_name, options=options) if base_url and options else None
        page, base, warnings = _load(target, now, base_url, engine, site)
    except (ScraperError, KeyError) as exc:
        raise SpokeswatchError(str(exc)) from None
    if engine == "auto":
        engine = detect_engine(page.body) or "discuz"
        warnings.insert(0, f"engine detected: {engine}")
    try:
        module = get_engine(engine)
    except KeyError as exc:
        raise SpokeswatchError(exc.args[0]) from None
    try:
        parsed = module.parse_page(page, Site(base, tz_name, options=options))
    except ScraperError as exc:
        raise SpokeswatchError(str(exc)) from None
    tz = ZoneInfo(tz_name)
    out = {"engine": engine, "url": page.url, "status": page.status, "server_now": _iso(page.server_now, tz),
           "kind": parsed.kind, "threads": [], "posts": [], "next_page": None,
           "warnings": warnings + list(parsed.warnings)}
    if isinstance(parsed, PromptPage):
        out["prompt"] = {"reason": parsed.reason, "message": parsed.message}
        return out
    out["next_page"] = parsed.next_page
    out["page"], out["total_pages"] = parsed.page, parsed.total_pages
    if isinstance(parsed, ThreadListPage):
        out["fid"] = parsed.fid
        out["threads"] = [{"tid": r.tid, "title": r.title, "url": r.url, "author": r.author,
                           "uid": user_id(r.author_uid), "posted_at": _iso(r.posted_at, tz),
                           "posted_precision": r.posted_precision if r.posted_at else None,
                           "replies": r.replies, "views": r.views,
                           "last_post_at": _iso(r.last_post_at, tz), "last_poster": r.last_poster,
                           "category": r.category, "sticky": r.sticky} for r in parsed.threads]
    else:
        out.update(tid=parsed.tid, title=parsed.title, category=parsed.category,
                   replies=parsed.replies, views=parsed.views)
        out["posts"] = [{"pid": p.pid, "floor": p.floor, "author": p.author, "uid": user_id(p.author_uid),
                         "posted_at": _iso(p.posted_at, tz),
                         "posted_precision": p.posted_precision if p.posted_at else None,
                         "body": p.body, "edit_note": p.edit_note,
                         "on_behalf_of": p.on_behalf_of}
                        for p in parsed.posts]
    if not out["threads"] and not out["posts"]:
        out["warnings"].append("the page parsed but yielded no threads or posts: check the engine and URL")
    return out


def _shown(row: dict) -> str:
    """A time as precisely as the page showed it: to the second, the minute, the day, or ≈ with ±."""
    at, precision = row.get("posted_at"), row.get("posted_precision")
    if not at:
        return "?"
    if not precision:
        return at
    if precision <= 30:
        return at[:16] + at[19:]  # 2026-12-02T20:30+08:00: the minute shown
    if precision == 43200 and at[11:19] == "12:00:00":
        return at[:10] + " (day)"
    span = f"{round(precision / 3600)}h" if precision >= 3600 else f"{round(precision / 60)}min"
    return f"≈{at[:16]}{at[19:]} ±{span}"


def _bracketed(category: str | None) -> str:
    return f"[{category}] " if category else ""


def _count(n: int | None) -> str:
    return "?" if n is None else str(n)


def format_probe(r: dict) -> str:
    """Human-readable probe output."""
    lines = [f"{r['url']} — HTTP {r['status']}, engine {r['engine']}, kind {r['kind']}, server time {r['server_now']}"]
    if r["kind"] == "prompt":
        lines.append(f"prompt page ({r['prompt']['reason']}): {r['prompt']['message']}")
    for t in r["threads"]:
        lines.append(f"  tid {t['tid']:>8}  {t['replies'] if t['replies'] is not None else '-':>5} replies "
                     f"{t['views'] if t['views'] is not None else '-':>7} views  {_shown(t):25}  "
                     f"{t['author'] or '?'} (uid {t['uid']})  {_bracketed(t['category'])}{t['title']}")
    if r.get("title"):
        lines.append(f"thread {r['tid']}: {_bracketed(r.get('category'))}{r['title']}; "
                     f"{_count(r.get('replies'))} replies, {_count(r.get('views'))} views")
    for p in r["posts"]:
        head = p["body"].replace("\n", " ")[:60]
        lines.append(f"  #{p['floor'] or '?':<4} pid {p['pid']:>8}  {_shown(p):25}  "
                     f"{p['author'] or '?'} (uid {p['uid']})  {head}")
        if p["edit_note"]:
            lines.append(f"        edit: {p['edit_note']}")
    if r["kind"] != "prompt":
        of = f" of {r['total_pages']}" if r.get("total_pages") else ""
        lines.append(f"page {r.get('page') or '?'}{of}; next page: {r['next_page'] or 'none'}")
    lines += [f"warning: {w}" for w in r["warnings"]]
    return "\n".join(lines)


__all__ = ["probe_target", "format_probe"]
