"""The web view's HTTP side (Starlette): routes, logins, who may see what, caching of bulletins.

``create_app(get_config, repo)`` builds the ASGI app; ``spokeswatch web`` serves it with uvicorn,
and so does the daemon when ``web.listen`` is set (:class:`WebServer`). Handlers are plain
functions (Starlette runs them in its thread pool: the database calls block). Pages are rendered
by Jinja2 with autoescaping; forum content is never trusted: it is escaped, links go only to the
forum's own host, and the Content-Security-Policy allows no script at all.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from functools import wraps
from pathlib import Path
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from loguru import logger
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from models.repository import Repository
from monitor.case_history import NotStored, case_history, correct_case, unit_of
from monitor.config import Config
from monitor.errors import SpokeswatchError, StorageError
from monitor.web import pages
from monitor.web.bulletins import BulletinFiles
from monitor.web.auth import (LoginLimiter, Viewer, authenticate, client_address, csrf_ok, csrf_token,
                              hash_fingerprint, header_viewer, secret_key, session_viewer)
from monitor.web.text import ACTION_NAMES, STATE_NAMES, translate

HERE = Path(__file__).resolve().parent
SEARCH_PAGE = 50
BULLETIN_FORMATS = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
                    "json": "application/json", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
FORM_LIMITS = {"max_files": 0, "max_fields": 10, "max_part_size": 8192}  # the pages' forms are small
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'self'; img-src 'self' data:; "
                               "style-src 'self' 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "SAMEORIGIN"}


class HTTPProblem(Exception):
    """Ends a request with ``status`` and a sentence for the person."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class WebApp:
    """The web view's state: the config (re-read from the getter at every request, so the daemon's
    reloads apply), the repository, the login limiter and the caches."""

    def __init__(self, get_config: Callable[[], Config], repo: Repository,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.get_config = get_config
        self.repo = repo
        self.clock = clock
        config = get_config()
        self.limiter = LoginLimiter(config.web.login_attempts)
        self.figures = pages.FiguresCache()
        self.bulletins = BulletinFiles(Path(config.state_dir) / "web-bulletins", repo)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.filters["local"] = self._local
        env.filters["left"] = self._left
        env.globals.update(STATE_NAMES=STATE_NAMES, ACTION_NAMES=ACTION_NAMES)

    # ---- helpers of the templates --------------------------------------------------------------

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.get_config().timezone)

    def _local(self, dt: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if dt is None:
            return "—"
        if isinstance(dt, str):
            dt = datetime.fromisoformat(dt)
        return dt.astimezone(self._zone()).strftime(fmt)

    def _left(self, due: datetime | str | None, lang: str = "zh") -> str:
        """Time left until ``due`` (or how long it is past), in days and hours."""
        if due is None:
            return ""
        delta = (datetime.fromisoformat(due) if isinstance(due, str) else due) - self.clock()
        past = delta.total_seconds() < 0
        seconds = abs(int(delta.total_seconds()))
        days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
        if lang == "en":
            text = f"{days} d {hours} h" if days else (f"{hours} h {minutes} min" if hours else f"{minutes} min")
            return f"{text} overdue" if past else f"{text} left"
        text = f"{days}天{hours}小时" if days else (f"{hours}小时{minutes}分" if hours else f"{minutes}分钟")
        return f"已超期{text}" if past else f"剩余{text}"

    def lang(self, request: Request) -> str:
        config = self.get_config()
        chosen = request.session.get("lang")
        return chosen if chosen in ("zh", "en") else (config.web.lang or config.digest.lang)

    def render(self, request: Request, template: str, viewer: Viewer | None, status: int = 200, **context) -> Response:
        lang = self.lang(request)
        config = self.get_config()
        context.update(request=request, viewer=viewer, lang=lang, _=lambda s: translate(s, lang),
                       csrf=csrf_token(request.session), office=config.office,
                       units=[u for u in config.units if viewer is None or viewer.may_see_unit(u.id)],
                       unit_names={u.id: u.name for u in config.units}, forum_link=self._forum_link,
                       flash=request.session.pop("flash", None))
        return self.templates.TemplateResponse(request, template, context, status_code=status,
                                               headers=SECURITY_HEADERS)

    def _forum_link(self, forum_id: str, url: str | None) -> str | None:
        return pages.forum_link(self.get_config(), forum_id, url)

    def prewarm(self) -> None:
        """Compute this quarter's overview figures in the background, so that the first visitor
        after a start does not wait for them."""
        def run() -> None:
            try:
                config, now = self.get_config(), self.clock()
                pages.period_figures(config, self.repo, pages.current_quarter(config, now), now,
                                     config.web.lang or config.digest.lang, self.figures)
            except SpokeswatchError as exc:
                logger.warning("web view: could not compute the overview's figures ahead: {}", exc)
        threading.Thread(target=run, name="web-prewarm", daemon=True).start()

    # ---- who is asking ---------------------------------------------------------------------------

    def viewer(self, request: Request) -> Viewer | None:
        config = self.get_config()
        client = request.client.host if request.client else None
        return header_viewer(config, client, request.headers) or session_viewer(config, request.session)


def _login_required(handler):
    """Runs ``handler(app, request, viewer)`` for a logged-in viewer; sends anyone else to the login."""
    @wraps(handler)
    def wrapper(request: Request) -> Response:
        app: WebApp = request.app.state.web
        try:
            viewer = app.viewer(request)
            if viewer is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            return handler(app, request, viewer)
        except HTTPProblem as p:
            return app.render(request, "error.html", app.viewer(request), status=p.status, message=p.message)
        except StorageError as exc:  # the cause goes to the log, not to the browser
            logger.warning("web view: {} {}: {}", request.method, request.url.path, exc)
            return app.render(request, "error.html", None, status=503,
                              message=translate("数据库暂时无法访问，请稍后再试。", app.lang(request)))
    return wrapper


def _office_only(viewer: Viewer, lang: str) -> None:
    if not viewer.is_office:
        raise HTTPProblem(403, translate("此页面仅限办公室用户查看。", lang))


# ---- login ----------------------------------------------------------------------------------------

def login_form(request: Request) -> Response:
    app: WebApp = request.app.state.web
    return app.render(request, "login.html", None, next=_safe_next(request.query_params.get("next")))


async def login_submit(request: Request) -> Response:
    app: WebApp = request.app.state.web
    form = await request.form(**FORM_LIMITS)
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    lang = app.lang(request)
    if not csrf_ok(request.session, str(form.get("csrf", ""))):
        return app.render(request, "login.html", None, status=400, next=target,
                          error=translate("表单已过期，请重新登录。", lang))
    address = client_address(app.get_config(), request.client.host if request.client else None, request.headers)
    wait = app.limiter.attempt(address, name)
    if wait:
        logger.warning("web login refused: too many failures for {!r} from {}", name, address)
        response = app.render(request, "login.html", None, status=429, next=target,
                              error=translate("登录失败次数过多，请稍后再试。", lang) + f" ({wait} s)")
        response.headers["Retry-After"] = str(wait)
        return response
    viewer = await run_in_threadpool(authenticate, app.get_config(), name, password)  # argon2 is slow on purpose
    if viewer is None:
        logger.info("web login failed for {!r} from {}", name, address)
        return app.render(request, "login.html", None, status=401, next=target,
                          error=translate("用户名或密码错误。", lang))
    app.limiter.succeeded(address, name)
    kept_lang = request.session.get("lang")
    request.session.clear()  # a new session: nothing from before the login carries over
    request.session.update(user=viewer.name, fp=hash_fingerprint(app.get_config(), viewer.name), at=int(time.time()))
    if kept_lang:
        request.session["lang"] = kept_lang
    logger.info("web login: {} ({})", viewer.name, viewer.role if viewer.is_office else f"unit {viewer.unit_id}")
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form(**FORM_LIMITS)
    if csrf_ok(request.session, str(form.get("csrf", ""))):
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


def set_lang(request: Request) -> Response:
    lang = request.path_params["lang"]
    if lang in ("zh", "en"):
        request.session["lang"] = lang
    return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


# ---- pages ----------------------------------------------------------------------------------------

@_login_required
def overview_page(app: WebApp, request: Request, viewer: Viewer) -> Response:
    if not viewer.is_office:
        return RedirectResponse(f"/unit/{viewer.unit_id}", status_code=303)
    config, now = app.get_config(), app.clock()
    data = pages.overview(config, app.repo, now, app.lang(request), app.figures, _period_asked(app, request))
    return app.render(request, "overview.html", viewer, **data)


@_login_required
def unit_page(app: WebApp, request: Request, viewer: Viewer) -> Response:
    unit_id = request.path_params["unit_id"]
    config = app.get_config()
    if not any(u.id == unit_id for u in config.units):
        raise HTTPProblem(404, translate("没有这个单位。", app.lang(request)) + f" ({unit_id})")
    if not viewer.may_see_unit(unit_id):
        raise HTTPProblem(403, translate("您只能查看本单位的信息。", app.lang(request)))
    return app.render(request, "unit.html", viewer, **pages.unit_page(config, app.repo, unit_id, app.clock()))


def _thread_for(app: WebApp, request: Request, viewer: Viewer) -> dict:
    forum_id, tid = request.path_params["forum_id"], request.path_params["tid"]
    lang = app.lang(request)
    try:
        history = case_history(app.get_config(), app.repo, forum_id, tid)
    except NotStored:
        raise HTTPProblem(404, translate("没有找到这个帖子。", lang) + f" ({forum_id}:{tid})") from None
    if not viewer.is_office and not pages.may_see_thread(history, viewer.unit_id):
        logger.info("web: {} (unit {}) refused thread {}:{}", viewer.name, viewer.unit_id, forum_id, tid)
        raise HTTPProblem(403, translate("您只能查看本单位的帖子。", lang))
    return history


@_login_required
def thread_page(app: WebApp, request: Request, viewer: Viewer) -> Response:
    h = _thread_for(app, request, viewer)
    return app.render(request, "thread.html", viewer, h=h,
                      link=pages.forum_link(app.get_config(), h["forum"]["id"], h["thread"]["url"]))


async def thread_override(request: Request) -> Response:
    """An office correction from the thread page (assign, exclude, include), CSRF-checked."""
    app: WebApp = request.app.state.web
    if app.viewer(request) is None:  # nobody reads an anonymous body
        return RedirectResponse("/login", status_code=303)
    form = await request.form(**FORM_LIMITS)
    request.state.form = {k: str(v) for k, v in form.items()}
    return await run_in_threadpool(_override, request)


@_login_required
def _override(app: WebApp, request: Request, viewer: Viewer) -> Response:
    form, lang = request.state.form, app.lang(request)
    _office_only(viewer, lang)
    if not csrf_ok(request.session, form.get("csrf")):
        raise HTTPProblem(400, translate("表单已过期，请刷新页面后重试。", lang))
    h = _thread_for(app, request, viewer)
    action, reason = form.get("action", ""), form.get("reason", "").strip()[:500]
    if action not in ("assign", "exclude", "include"):
        raise HTTPProblem(400, translate("未知的操作。", lang))
    if not reason:
        raise HTTPProblem(400, translate("请填写理由。", lang))
    config = app.get_config()
    unit_id = None
    if action == "assign":
        try:
            unit_id = unit_of(config, form.get("unit", ""))
        except ValueError as exc:
            raise HTTPProblem(400, str(exc)) from None
    try:
        change = correct_case(config, app.repo, h["forum"]["id"], h["thread"]["tid"], action, reason, viewer.name,
                              app.clock(), unit_id)
    except SpokeswatchError as exc:
        raise HTTPProblem(409, str(exc)) from None
    logger.info("web: {} recorded {} on {} ({})", viewer.name, action, change["ref"], reason)
    request.session["flash"] = translate("已记录更正：", lang) + f"{ACTION_NAMES[lang][action]} — {reason}"
    return RedirectResponse(f"/thread/{h['forum']['id']}/{h['thread']['tid']}", status_code=303)


@_login_required
def search_page(app: WebApp, request: Request, viewer: Viewer) -> Response:
    from monitor.web.search_view import search_context
    return app.render(request, "search.html", viewer,
                      **search_context(app.get_config(), app.repo, viewer, request.query_params, app.lang(request)))


@_login_required
def bulletin_page(app: WebApp, request: Request, viewer: Viewer) -> Response:
    lang = app.lang(request)
    _office_only(viewer, lang)
    period = _period_asked(app, request)
    written = app.bulletins.latest(app.get_config(), period, lang, app.clock())
    return app.render(request, "bulletin.html", viewer, period=period, b=written.data, fresh=written.fresh,
                      formats=BULLETIN_FORMATS)


@_login_required
def bulletin_file(app: WebApp, request: Request, viewer: Viewer) -> Response:
    lang = app.lang(request)
    _office_only(viewer, lang)
    fmt = request.path_params["fmt"]
    if fmt not in BULLETIN_FORMATS:
        raise HTTPProblem(404, translate("没有这种格式。", lang))
    period = _period_asked(app, request)
    path = app.bulletins.file(app.get_config(), period, lang, app.clock(), fmt)
    inline = request.query_params.get("inline") == "1" and fmt == "html"
    headers = dict(SECURITY_HEADERS)
    if inline:  # shown in the bulletin page's frame: no script, no form, nothing else runs
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    name = f"bulletin-{re.sub(r'[^0-9A-Za-z.-]', '_', period.label)}-{lang}.{fmt}"
    return FileResponse(path, media_type=BULLETIN_FORMATS[fmt], headers=headers,
                        filename=None if inline else name, content_disposition_type="inline" if inline else "attachment")


def _period_asked(app: WebApp, request: Request):
    """The period of ?period=… (400 with the accepted forms when unreadable), else this quarter."""
    try:
        return pages.period_or_current(app.get_config(), request.query_params.get("period"), app.clock())
    except ValueError as exc:
        raise HTTPProblem(400, str(exc)) from None


def not_found(request: Request, exc: Exception) -> Response:
    app: WebApp = request.app.state.web
    return app.render(request, "error.html", app.viewer(request), status=404,
                      message=translate("页面不存在。", app.lang(request)))


def create_app(get_config: Callable[[], Config], repo: Repository,
               clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> Starlette:
    """The web view as an ASGI app, reading ``get_config()`` at every request."""
    config = get_config()
    web = WebApp(get_config, repo, clock)
    routes = [
        Route("/", overview_page),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{lang}", set_lang),
        Route("/unit/{unit_id}", unit_page),
        Route("/thread/{forum_id}/{tid:int}", thread_page),
        Route("/thread/{forum_id}/{tid:int}/override", thread_override, methods=["POST"]),
        Route("/search", search_page),
        Route("/bulletin", bulletin_page),
        Route("/bulletin/file/{fmt}", bulletin_file),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [Middleware(SessionMiddleware, secret_key=secret_key(config), session_cookie="spokeswatch_session",
                             max_age=int(config.web.session_hours * 3600), same_site="lax",
                             https_only=config.web.secure_cookies)]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
    app.state.web = web
    return app

