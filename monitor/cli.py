"""The command line: ``spokeswatch run|poll|check|digest|bulletin|probe|demo|config|db|case``.

Commands only wire things up; the work is in the service layer. A user's
mistake (bad config, bad period, unreachable file) prints one clear line and
exits 2; an operational failure exits 1. No tracebacks for either.

Start-up is kept short: this module imports only typer and the standard
library at the top; each command imports what it uses (the config's pydantic
models, SQLAlchemy, the poller's httpx, the reports' jinja2, the daemon's
APScheduler and apprise) when it runs. ``--help`` loads none of them, and
``status`` reads the database without the service layer.
tests/test_startup.py holds that line.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Optional
from zoneinfo import ZoneInfo

import typer

from monitor.errors import ConfigError, SpokeswatchError

if TYPE_CHECKING:
    from monitor.config import Config

# rich_markup_mode=None: plain click help, without importing rich (~0.1 s) for every --help
_PLAIN = {"rich_markup_mode": None}
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, **_PLAIN,
                  help="spokeswatch: monitor network spokesperson (网络发言人) programmes on local forums.")
config_app = typer.Typer(no_args_is_help=True, help="Work with config.yaml.", **_PLAIN)
forum_app = typer.Typer(no_args_is_help=True, help="Add forums and boards to config.yaml.", **_PLAIN)
db_app = typer.Typer(no_args_is_help=True, help="Database maintenance.", **_PLAIN)
case_app = typer.Typer(no_args_is_help=True, help="A thread's case: its record, and the office's corrections.",
                       **_PLAIN)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(forum_app, name="forum")
app.add_typer(case_app, name="case")
web_app = typer.Typer(help="The web view: overview, units, threads, search, bulletins (spokeswatch web --listen "
                      "127.0.0.1:8080); and password hashes for web.users.", **_PLAIN)
app.add_typer(web_app, name="web")

ConfigOpt = typer.Option("config.yaml", "-c", "--config", help="path to config.yaml")


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


_LOG_FORMAT = "{time:YYYY-MM-DD HH:mm:ss} {level: <7} {message}"


def _setup_logging(verbose: bool = False) -> None:
    """Logs to stderr at INFO (DEBUG with -v). Commands that never log (config check, status)
    should not pay for importing loguru: until something imports it, the settings wait in
    loguru's own environment variables, which its default stderr handler reads on import."""
    level = "DEBUG" if verbose else "INFO"
    if "loguru" not in sys.modules:
        os.environ["LOGURU_LEVEL"], os.environ["LOGURU_FORMAT"] = level, _LOG_FORMAT
        return
    from loguru import logger
    logger.remove()
    logger.add(sys.stderr, level=level, format=_LOG_FORMAT)


def _config(path: str, optional_secrets: bool = False) -> Config:
    from monitor.config import load_config
    try:
        return load_config(path, optional_secrets=optional_secrets)
    except ConfigError as exc:
        _fail(str(exc), 2)


def _when(text: str | None, tz: str) -> datetime | None:
    """Parse an ISO time; a naive one is in the office's zone."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"cannot read time {text!r}: use ISO 8601, e.g. 2011-04-01T00:00 or 2011-04-01T00:00+08:00", 2)
    return dt.replace(tzinfo=ZoneInfo(tz)) if dt.tzinfo is None else dt


def _service(config: Config, now: datetime | None = None):
    from monitor.service import Service
    try:
        return Service(config, clock=(lambda: now) if now else _utcnow)
    except SpokeswatchError as exc:
        _fail(str(exc), 1)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


_VERBOSE = [False]  # -v, for commands that set up logging from the config (run)


@app.callback()
def _main(verbose: bool = typer.Option(False, "-v", "--verbose", help="debug logging")) -> None:
    _VERBOSE[0] = verbose
    _setup_logging(verbose)


@app.command()
def run(config: str = ConfigOpt) -> None:
    """Run the service: poll every forum at its interval, check rules, write the nightly digest.
    SIGHUP or an edit of config.yaml reloads the config; SIGTERM stops it."""
    from monitor.daemon import Daemon
    from monitor.logs import setup_from_config
    cfg = _config(config)
    setup_from_config(cfg, _VERBOSE[0])
    try:
        Daemon(_service(cfg), config, verbose=_VERBOSE[0]).run()
    except SpokeswatchError as exc:
        _fail(str(exc), 1)


@app.command()
def poll(config: str = ConfigOpt, forum: Optional[str] = typer.Option(None, "--forum", help="forum id"),
         recheck: bool = typer.Option(True, help="also re-read threads with open cases when due")) -> None:
    """Poll the forums once (or one forum), then check the rules."""
    cfg = _config(config)
    if forum:
        try:
            cfg.forum(forum)
        except KeyError as exc:
            _fail(exc.args[0], 2)
    svc = _service(cfg)
    progress = _TerminalProgress() if sys.stderr.isatty() else None
    try:
        results = svc.poll(forum, recheck=recheck, progress=progress)
    finally:
        if progress:
            progress.done()
    svc.check()
    for r in results:
        typer.echo(r.summary())
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


class _TerminalProgress:
    """A poll's progress on one rewritten terminal line (stderr), for an interactive ``poll``."""

    def __init__(self):
        self.width = 0

    def __call__(self, text: str) -> None:
        line = text[:119]
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = len(line)

    def done(self) -> None:
        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


@app.command()
def check(config: str = ConfigOpt, now: Optional[str] = typer.Option(None, help="evaluate as of this time"),
          full: bool = typer.Option(False, "--full", help="re-evaluate every thread, not only what changed "
                                    "since the last check")) -> None:
    """Re-evaluate response cases and record what became overdue."""
    cfg = _config(config)
    svc = _service(cfg, _when(now, cfg.timezone))
    result = svc.check(full=True) if full else svc.check()
    typer.echo(result.summary())
    svc.close()


@app.command()
def digest(config: str = ConfigOpt, date: Optional[str] = typer.Option(None, "--date", help="YYYY-MM-DD: the digest of that day, at the configured digest time"),
           out: Optional[str] = typer.Option(None, "--out", help="folder for digest.md/.html/.json"),
           lang: Optional[str] = typer.Option(None, help="zh or en"),
           unit: Optional[str] = typer.Option(None, "--unit", help="only this unit's threads (its own list)"),
           send: bool = typer.Option(False, "--send", help="also deliver it to digest.notify and units' notify")) -> None:
    """Write the overdue digest (and print its Markdown); --send delivers it as the daemon does nightly."""
    from monitor.digest import for_unit
    from monitor.notify import deliver_digest
    from monitor.render import write_all
    cfg = _config(config)
    now = None
    if date:
        now = _when(f"{date}T{cfg.digest.time:%H:%M}", cfg.timezone)
    svc = _service(cfg, now)
    full = svc.digest(now, _lang(lang))
    d = full
    if unit:
        names = {u.id: u.name for u in cfg.units}
        if unit not in names:
            _fail(f"no unit {unit!r} in config (known: {', '.join(names)})", 2)
        d = for_unit(full, names[unit])
    paths = write_all("digest", d, out or Path(cfg.digest.out_dir))
    typer.echo(paths[0].read_text("utf-8"))
    typer.echo(f"written: {', '.join(str(p) for p in paths)}", err=True)
    if send:
        delivery = deliver_digest(cfg, full, unit)
        typer.echo(f"sent to: {', '.join(delivery.sent) or 'nobody (no notify targets configured)'}", err=True)
        if not delivery.ok:
            _fail("not delivered to: " + "; ".join(delivery.failed), 1)


def _lang(lang: str | None) -> str | None:
    if lang not in (None, "zh", "en"):
        _fail(f"--lang must be zh or en, not {lang!r}", 2)
    return lang


@app.command()
def bulletin(period: str = typer.Option(..., "--period", help="2011Q1, 2011-03, 2011 or 2011-01-01..2011-03-31"),
             config: str = ConfigOpt, out: Optional[str] = typer.Option(None, "--out", help="output folder"),
             as_of: Optional[str] = typer.Option(None, "--as-of", help="figures as of this time (default: period end or now)"),
             lang: Optional[str] = typer.Option(None, help="zh or en")) -> None:
    """Write the period bulletin (reports.formats: html, docx, xlsx, md, json, with charts) and print its headline."""
    from monitor.periods import parse_period
    cfg = _config(config)
    try:
        p = parse_period(period)
    except ValueError as exc:
        _fail(str(exc), 2)
    svc = _service(cfg)
    from monitor.render import headline
    b, paths = svc.write_bulletin(p, out or Path(cfg.digest.out_dir) / p.label, _when(as_of, cfg.timezone), _lang(lang))
    typer.echo(headline(b))
    typer.echo(f"written: {', '.join(str(p) for p in paths)}", err=True)


@app.command()
def status(config: str = ConfigOpt) -> None:
    """Show each forum's last poll, the daemon's nodes, what is stored and the cases by state.
    Exit 0 when a daemon is alive and no forum is failing; 1 otherwise, saying why (for service
    monitors). Needs no delivery secrets: a ${VAR} used only by notify targets or logins may be unset."""
    cfg = _config(config, optional_secrets=True)
    tz = ZoneInfo(cfg.timezone)
    now = _utcnow()
    repo = _status_repository(cfg)
    problems: list[str] = []
    try:
        runs = {r.forum_id: r for r in repo.last_poll_runs()} if repo else {}
        for f in cfg.forums:
            r = runs.get(f.id)
            typer.echo(f"{f.id}: {_poll_line(r, tz, now) if r else 'never polled'}")
            if r is not None and r.status in ("failed", "abandoned"):
                problems.append(f"forum {f.id}: its last poll {r.status}" + (f": {r.error}" if r.error else ""))
        line, since = _daemon_line(cfg, repo, now, tz)
        typer.echo(line)
        if since is None:
            problems.insert(0, "no daemon is running on this database")
        if repo is None:
            typer.echo(f"stored: nothing (no database at {cfg.database})")
        else:
            if since is not None:
                problems += _stale_forums(cfg, repo, now, since, tz)
            counts, states = repo.counts(), repo.case_states()
            typer.echo(f"stored: {counts['threads']} threads, {counts['posts']} posts; cases: "
                       + (", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "none"))
    except SpokeswatchError as exc:
        _fail(f"{exc} (status does not migrate: if this database is older than this version, "
              "`spokeswatch db upgrade` brings it up to date)", 1)
    finally:
        if repo is not None:
            repo.engine.dispose()
    if problems:
        typer.echo("FAILING: " + "; ".join(dict.fromkeys(problems)))
        raise typer.Exit(1)
    typer.echo("OK")


def _stale_forums(cfg: Config, repo, now: datetime, since: datetime, tz: ZoneInfo) -> list[str]:
    """Forums without a successful poll for too long (the same rule as /healthz)."""
    from monitor.forum_health import read_forum_runs, stale_forums
    with repo.transaction("reading poll runs") as conn:
        runs = read_forum_runs(conn)
    return stale_forums(cfg, runs, now, since, lambda t: _stamp(t, tz) if t else None)


def _status_repository(cfg: Config):
    """The repository for status: reads only, so no migration, and none of the service layer
    (the poller's httpx, the reports' jinja2). None when a SQLite file does not exist yet:
    status never creates the database."""
    from sqlalchemy.engine import make_url

    from models.db import make_engine, normalise_url
    from models.repository import Repository
    url = make_url(normalise_url(cfg.database))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not url.database.startswith("file:") and not Path(url.database).exists():
        return None
    return Repository(make_engine(cfg.database))


def _stamp(when: datetime, tz: ZoneInfo) -> str:
    """A time in the office's zone with its offset: ``2026-12-02 02:34 +08:00``."""
    local = when.astimezone(tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def _poll_line(r, tz: ZoneInfo, now: datetime) -> str:
    """One forum's newest poll run, as ``status`` shows it."""
    error = f" — {r.error}" if r.error else ""
    if r.status == "running":
        minutes = max(0, int((now - r.started_at).total_seconds() // 60))
        return f"poll running since {_stamp(r.started_at, tz)} ({minutes} min){error}"
    if r.status == "abandoned":
        return (f"last poll abandoned (process died): started {_stamp(r.started_at, tz)}, never finished"
                + (f"; found abandoned {_stamp(r.finished_at, tz)}" if r.finished_at else "") + error)
    return (f"last poll {_stamp(r.finished_at or r.started_at, tz)} {r.status}, {r.requests} requests, "
            f"{r.posts_new} new posts{error}")


# The daemon's heartbeat file, read here rather than through monitor.daemon, whose imports
# (APScheduler, apprise, the whole service) status does not need. Kept equal to
# monitor.daemon.HEARTBEAT_SECONDS / heartbeat_path by tests/test_startup.py.
_HEARTBEAT_SECONDS = 15
_HEARTBEAT_FILE = "heartbeat.json"


def _daemon_line(cfg: Config, repo, now: datetime, tz: ZoneInfo) -> tuple[str, datetime | None]:
    """The daemon's nodes as the database knows them (any machine), else this machine's
    heartbeat file; and since when the oldest live node runs (None: no daemon alive)."""
    from models.coordination import NODE_TTL, Coordinator
    nodes = Coordinator(repo.engine, "status:0:0").nodes() if repo is not None else []
    live = [n for n in nodes if now - n.beat_at <= NODE_TTL]
    if live:
        shown = ", ".join(f"{n.id.rsplit(':', 1)[0]} (up since {_stamp(n.started_at, tz)}, beat "
                          f"{(now - n.beat_at).total_seconds():.0f} s ago)" for n in live)
        return f"daemon: running on {len(live)} node(s): {shown}", min(n.started_at for n in live)
    try:
        beat = json.loads((Path(cfg.state_dir) / _HEARTBEAT_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        beat = None
    if nodes:
        last = nodes[0]
        return (f"daemon: not running (last node {last.id.rsplit(':', 1)[0]} beat at "
                f"{_stamp(last.beat_at, tz)})", None)
    if beat is None:
        return "daemon: not running (no heartbeat here: never run with this state_dir)", None
    return (f"daemon: not running (pid {beat['pid']}, {beat['state']}, last heartbeat "
            f"{_stamp(datetime.fromisoformat(beat['at']), tz)})", None)


@config_app.command("check")
def config_check(config: str = ConfigOpt) -> None:
    """Validate config.yaml and say what it configures."""
    cfg = _config(config)
    boards = sum(len(f.boards) for f in cfg.forums)
    accounts = sum(len(u.accounts) for u in cfg.units)
    typer.echo(f"{config}: OK — {len(cfg.forums)} forum(s), {boards} board(s), {len(cfg.units)} unit(s), "
               f"{accounts} spokesperson account(s); database {cfg.database.split('://')[0]}")


@forum_app.command("add")
def forum_add(url: str = typer.Argument(..., help="a board URL, e.g. http://bbs.example.cn/forum.php?mod=forumdisplay&fid=2"),
              config: str = ConfigOpt,
              kind: str = typer.Option("programme", help="programme or watched"),
              engine: str = typer.Option("auto", help="auto, discuz, discuz-touch, discuz-api, discuz7, phpwind, "
                                         "generic (any other forum software: proposes a commented generic: block "
                                         "of selectors from the board page and a thread page)"),
              forum_id: Optional[str] = typer.Option(None, "--id", help="id for a new forum (default: from the "
                                                     "host); the id of a generic forum already configured adds "
                                                     "the board to it, read with its selectors"),
              name: Optional[str] = typer.Option(None, help="name for a new forum"),
              fid: Optional[int] = typer.Option(None, "--fid", help="generic: the board's id, when the URL "
                                                "shows none where board_url has {fid}"),
              thread: Optional[str] = typer.Option(None, "--thread", help="generic: a thread page (with replies) "
                                                   "to read the posts' markup from; default: the busiest thread "
                                                   "on the board's first page")) -> None:
    """Inspect a board URL (engine, board id, a parse of its first page) and add it to config.yaml.

    With --engine generic (other forum software): read the board page and a thread page, propose a
    generic: block of selectors, and write it commented, with TODO lines for what it could not tell."""
    from monitor.onboarding import add_board, add_generic_board, add_generic_forum, generic_forum_for, inspect_board
    if kind not in ("programme", "watched"):
        _fail(f"--kind must be programme or watched, not {kind!r}", 2)
    existing = generic_forum_for(config, url, forum_id) if engine in ("auto", "generic") else None
    if engine == "generic" or existing:
        try:
            added = (add_generic_board(config, url, existing, kind, fid) if existing
                     else add_generic_forum(config, url, kind, forum_id, name, fid, thread))
        except SpokeswatchError as exc:
            _fail(str(exc), 2)
        for line in added.lines:
            typer.echo(line)
        if added.active:
            config_check(config)
        return
    try:
        found = inspect_board(url, engine)
        done = add_board(config, found, kind, forum_id, name)
    except SpokeswatchError as exc:
        _fail(str(exc), 2)
    typer.echo(f"{url}: {found.engine}, board {found.fid} ({found.board_name or 'no name'}), "
               f"{found.threads_seen} threads on its first page")
    typer.echo(f"{config}: {done}")
    config_check(config)


ThreadRef = typer.Argument(..., metavar="FORUM:TID", help="the thread, e.g. demo:88")
ReasonOpt = typer.Option(..., "--reason", help="why (kept with the override, shown in case show and the bulletin)")
ByOpt = typer.Option(None, "--by", help="who decided (default: the OS user)")


def _case_repo(cfg: Config):
    """The repository for the case commands, the database migrated; no poller or reports."""
    from models.db import make_engine, upgrade
    from models.repository import Repository
    try:
        engine = make_engine(cfg.database)
        upgrade(engine)
    except SpokeswatchError as exc:
        _fail(str(exc), 1)
    return Repository(engine)


def _thread_ref(text: str) -> tuple[str, int]:
    from monitor.case_history import parse_ref
    try:
        return parse_ref(text)
    except ValueError as exc:
        _fail(str(exc), 2)


def _correct(config: str, ref: str, action: str, reason: str, by: str | None, unit: str | None = None) -> None:
    """Record one override, run the incremental check, print old → new."""
    import getpass

    from monitor.case_history import correct_case, format_change, unit_of
    cfg = _config(config)
    forum_id, tid = _thread_ref(ref)
    if not reason.strip():
        _fail("--reason must say why", 2)
    unit_id = None
    if unit is not None:
        try:
            unit_id = unit_of(cfg, unit)
        except ValueError as exc:
            _fail(str(exc), 2)
    if not by:
        try:
            by = getpass.getuser()
        except (KeyError, OSError):  # no login name in this environment
            by = "unknown"
    repo = _case_repo(cfg)
    try:
        change = correct_case(cfg, repo, forum_id, tid, action, reason.strip(), by, _utcnow(), unit_id)
    except SpokeswatchError as exc:
        _fail(str(exc), 1)
    finally:
        repo.engine.dispose()
    typer.echo(format_change(change))


@case_app.command("assign")
def case_assign(ref: str = ThreadRef, unit: str = typer.Argument(..., help="unit id (or name) from config.yaml"),
                reason: str = ReasonOpt, by: Optional[str] = ByOpt, config: str = ConfigOpt) -> None:
    """Assign a thread to a unit, whatever the rules say; the check runs at once."""
    _correct(config, ref, "assign", reason, by, unit)


@case_app.command("exclude")
def case_exclude(ref: str = ThreadRef, reason: str = ReasonOpt, by: Optional[str] = ByOpt,
                 config: str = ConfigOpt) -> None:
    """Do not count a thread (spam, duplicate, not a request): its case becomes void."""
    _correct(config, ref, "exclude", reason, by)


@case_app.command("include")
def case_include(ref: str = ThreadRef, reason: str = ReasonOpt, by: Optional[str] = ByOpt,
                 config: str = ConfigOpt) -> None:
    """Count a thread the rules do not count (or cancel an exclusion)."""
    _correct(config, ref, "include", reason, by)


@case_app.command("show")
def case_show(ref: str = ThreadRef, as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
              config: str = ConfigOpt) -> None:
    """A thread's record: its posts, its case and deadline, state changes and the office's overrides."""
    from monitor.case_history import case_history, format_history
    cfg = _config(config)
    forum_id, tid = _thread_ref(ref)
    repo = _case_repo(cfg)
    try:
        history = case_history(cfg, repo, forum_id, tid)
    except SpokeswatchError as exc:
        _fail(str(exc), 1)
    finally:
        repo.engine.dispose()
    typer.echo(json.dumps(history, ensure_ascii=False, indent=2) if as_json else format_history(history))


@web_app.callback(invoke_without_command=True)
def web(ctx: typer.Context, config: str = ConfigOpt,
        listen: Optional[str] = typer.Option(None, "--listen", help="HOST:PORT (default: web.listen, else "
                                             "127.0.0.1:8080)")) -> None:
    """Serve the web view until Ctrl-C. Edits of config.yaml (users, units) apply at the next request."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.config import _listen
    from monitor.logs import setup_from_config
    from monitor.web.live_config import LiveConfig
    cfg = _config(config)
    setup_from_config(cfg, _VERBOSE[0])
    try:
        address = _listen(listen) if listen is not None else (cfg.web.listen or "127.0.0.1:8080")
    except ValueError as exc:
        _fail(f"--listen: {exc}", 2)
    if not address:
        _fail("--listen: give HOST:PORT, e.g. 127.0.0.1:8080", 2)
    if not cfg.web.users:
        _fail(f"{config}: web.users is empty, so nobody could log in: add a user with a password hash from "
              "`spokeswatch web hash-password` (see the README, \"The web view\")", 2)
    from monitor.web.server import serve
    try:
        serve(LiveConfig(Path(config), cfg), _case_repo(cfg), address)
    except (SpokeswatchError, OSError) as exc:
        _fail(str(exc), 1)


@web_app.command("hash-password")
def web_hash_password(stdin: bool = typer.Option(False, "--stdin", help="read the password from standard input "
                                                 "(one line) instead of asking")) -> None:
    """Print an argon2id hash of a password for web.users[].password_hash (the password is never stored)."""
    from monitor.web.auth import hash_password
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        typer.echo(hash_password(password))
    except ValueError as exc:
        _fail(str(exc), 2)


@db_app.command("upgrade")
def db_upgrade(config: str = ConfigOpt) -> None:
    """Create or migrate the database to the current schema."""
    cfg = _config(config)
    _service(cfg).close()
    typer.echo("database is at the current schema")


@app.command()
def probe(target: str = typer.Argument(..., help="a page URL, or a saved page file"),
          engine: str = typer.Option("auto", help="forum engine: auto, discuz, discuz-touch, discuz-api, discuz7, phpwind, generic"),
          as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
          now: Optional[str] = typer.Option(None, help="for a file: the server time relative times count from"),
          base_url: Optional[str] = typer.Option(None, help="for a file: the forum's base URL"),
          timezone_name: str = typer.Option("Asia/Shanghai", "--timezone", help="the forum's time zone"),
          forum: Optional[str] = typer.Option(None, "--forum", help="use this forum of -c config.yaml: its engine, "
                                              "base URL, zone and selectors (for the generic engine)"),
          config: str = ConfigOpt) -> None:
    """Show what the scraper extracts from one page: thread rows or posts, and the next page."""
    from monitor.probe import probe_target
    options = None
    if forum:
        cfg = _config(config)
        try:
            f = cfg.forum(forum)
        except KeyError as exc:
            _fail(exc.args[0], 2)
        engine, base_url, timezone_name = f.engine, base_url or f.base_url, f.timezone
        options = f.generic.model_dump() if f.generic else None
        if engine == "discuz-auto":
            engine = "auto"
    try:
        result = probe_target(target, engine, _when(now, timezone_name), base_url, timezone_name, options)
    except SpokeswatchError as exc:
        _fail(str(exc), 2)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        from monitor.probe import format_probe
        typer.echo(format_probe(result))


@app.command()
def demo(out: str = typer.Option("demo-out", "--out", help="folder for the digest and bulletin"),
         serve: bool = typer.Option(False, "--serve", help="keep the demo forum running instead"),
         port: int = typer.Option(0, "--port", help="port for --serve (0: a free one)"),
         at: Optional[str] = typer.Option(None, "--at", help="the demo forum's clock (default 2011-04-01T00:00+08:00)"),
         host: str = typer.Option("127.0.0.1", "--host", help="address for --serve (0.0.0.0: every interface, "
                                  "e.g. in a container)"),
         config: Optional[str] = typer.Option(None, "-c", "--config", help="a config.yaml with a forum 'demo' "
                                              "(default: the sample shipped in the package)"),
         lang: Optional[str] = typer.Option(None, help="zh or en"),
         web: Optional[str] = typer.Option(None, "--web", metavar="HOST:PORT", help="then serve the web view over "
                                           "the demo's data here (users and passwords are printed)")) -> None:
    """Run the whole product on the bundled demo forum (2011Q1), or serve the forum; works in any folder."""
    from monitor.demo import run_demo, sample_config, serve_demo
    if serve:
        try:
            serve_demo(port, _when(at, "Asia/Shanghai"), host)
        except OSError as exc:  # the port is taken, or the address is not this machine's
            _fail(f"cannot serve the demo forum on {host}:{port}: {exc.strerror or exc}", 1)
        return
    try:
        cfg = _config(config) if config else sample_config()
        headline = run_demo(cfg, Path(out), _when(at, "Asia/Shanghai"), _lang(lang))
    except SpokeswatchError as exc:
        _fail(str(exc), 1)
    except OSError as exc:  # e.g. --out cannot be written
        _fail(str(exc), 1)
    typer.echo(headline)
    if web:
        from monitor.config import _listen
        from monitor.demo import serve_demo_web
        try:
            serve_demo_web(cfg, Path(out), _listen(web), _when(at, "Asia/Shanghai"))
        except ValueError as exc:
            _fail(f"--web: {exc}", 2)
        except (SpokeswatchError, OSError) as exc:
            _fail(str(exc), 1)


@app.command()
def init(path: str = typer.Argument("config.yaml", help="the file to write ('-': print it)"),
         force: bool = typer.Option(False, "--force", help="replace the file if it exists")) -> None:
    """Write a commented config.yaml to start from: every section, secrets as ${ENV_VAR}, a placeholder forum."""
    from monitor.init_config import template_text, write_config
    if path == "-":  # e.g. docker run --rm spokeswatch init - > config/config.yaml
        typer.echo(template_text(), nl=False)
        return
    try:
        written = write_config(path, force)
    except ConfigError as exc:
        _fail(str(exc), 2)
    typer.echo(f"{written}: written. Replace the placeholder forum and unit (`spokeswatch probe URL`, "
               f"`spokeswatch forum add URL -c {written}`), then `spokeswatch config check -c {written}`.")


def main() -> None:
    app()


__all__ = ["app", "main"]


if __name__ == "__main__":
    main()
