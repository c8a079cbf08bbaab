"""The web view over real HTTP (no browser): logins and their limits, who sees what, CSRF,
escaping, corrections, the figures against the bulletin, the CLI and the daemon serving it."""
from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from html import unescape

import httpx
import openpyxl
import pytest
import yaml

from monitor.bulletin import build_bulletin
from monitor.periods import parse_period
from monitor.web.auth import LoginLimiter, hash_password, verify_password
from monitor.web.pages import forum_link
from monitor.web.text import EN
from tests.helpers import ROOT, sample_config
from tests.running import RunningDaemon, sample_config as raw_sample_config, write_config
from tests.webview import EVIL_BODY, EVIL_TITLE, PASSWORDS, csrf_of, login, make_world

Q1 = parse_period("2011Q1")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """The demo's web view on SQLite, then on a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield from make_world(tmp_path_factory.mktemp("web"))
        return
    from tests.conftest import new_postgres_database
    with new_postgres_database() as url:
        yield from make_world(tmp_path_factory.mktemp("web-pg"), url)


def client(world) -> httpx.Client:
    return httpx.Client(base_url=world.base, timeout=30)


def test_anonymous_requests_go_to_the_login_and_no_script_may_run(world):
    with client(world) as c:
        r = c.get("/unit/urban")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/unit/urban"
        page = c.get("/login")
        assert page.status_code == 200 and 'name="password"' in page.text
        assert "script-src 'none'" in page.headers["content-security-policy"]
        assert c.get("/static/style.css").status_code == 200
        assert c.get("/bulletin/file/xlsx?period=2011Q1").status_code == 303


def test_wrong_passwords_are_refused_then_rate_limited(world):
    with client(world) as c:
        wrong = login(c, "water", "not-the-password")
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
        assert login(c, "nobody", "whatever-123").status_code == 401  # an unknown name reads the same
        for _ in range(world.config.web.login_attempts - 1):
            login(c, "water", "not-the-password")
        limited = login(c, "water")  # even the right password, once the limit is reached
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert c.get("/unit/water").status_code == 303  # not logged in
        assert login(c, "urban").status_code == 200  # another name from the same address still may


def test_login_limiter_counts_each_attempt_per_address_and_forgets_after_the_window():
    now = [1000.0]
    limiter = LoginLimiter(2, clock=lambda: now[0])
    assert limiter.attempt("10.0.0.1", "office") == 0
    limiter.succeeded("10.0.0.1", "office")  # a success takes its attempt back
    assert limiter.attempt("10.0.0.1", "office") == 0 and limiter.attempt("10.0.0.1", "office") == 0
    assert limiter.attempt("10.0.0.1", "office") > 0  # counted before the password is checked
    assert limiter.attempt("10.0.0.2", "office") == 0  # another address is not held back
    now[0] += 15 * 60 + 1
    assert limiter.attempt("10.0.0.1", "office") == 0


def test_parallel_wrong_passwords_cannot_pass_the_limit(world):
    from concurrent.futures import ThreadPoolExecutor

    def attempt(_):
        with client(world) as c:
            return login(c, "nobody-parallel", "wrong-password-1").status_code
    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(attempt, range(12)))
    assert codes.count(401) == world.config.web.login_attempts and codes.count(429) == 12 - codes.count(401)


def test_a_login_form_without_its_csrf_token_is_refused(world):
    with client(world) as c:
        c.get("/login")
        r = c.post("/login", data={"name": "office", "password": PASSWORDS["office"], "csrf": "forged"})
        assert r.status_code == 400 and "spokeswatch_session" in c.cookies
        assert c.get("/").status_code == 303  # still not logged in


def test_after_login_only_paths_of_this_site_are_followed(world):
    with client(world) as c:
        form = c.get("/login")
        r = c.post("/login", data={"name": "office", "password": PASSWORDS["office"], "csrf": csrf_of(form.text),
                                   "next": "//evil.example/steal"})
        assert r.status_code == 303 and r.headers["location"] == "/"


def test_overview_figures_are_the_bulletins(world):
    """The overview's table for 2011Q1 shows the bulletin's figures, unit by unit."""
    b = build_bulletin(world.config, world.service.repo, Q1, None, "zh")
    with client(world) as c:
        page = login(c, "office", next_path="/?period=2011Q1").text
    rows = dict(re.findall(r'<tr(?: class="total")? data-unit="([^"]*)">(.*?)</tr>', page.split('id="period-figures"')[1],
                           re.S))
    def cells(html: str) -> dict:
        return {k: v.strip() for k, v in re.findall(r'data-key="(\w+)">([^<]*)<', html)}
    for u in b.units:
        got = cells(rows[u["unit_id"] or ""])
        assert [int(got[k]) for k in ("received", "answered_in_time", "answered_late", "unanswered", "pending")] == \
            [u["received"], u["answered_in_time"], u["answered_late"], u["unanswered"], u["pending"]], u["unit"]
    total = cells(rows["total"])
    assert (int(total["received"]), int(total["answered_in_time"])) == (b.received, b.answered_in_time)
    assert total["in_time_rate"] == f"{b.in_time_rate:.1f}%"


def test_a_unit_user_sees_its_own_unit_only(world):
    mine, theirs = world.cases("urban")[0], world.cases("water")[0]
    with client(world) as c:
        landing = login(c, "urban")
        assert landing.url.path == "/unit/urban" and "市城管局" in landing.text
        assert c.get(f"/thread/{mine[0]}/{mine[1]}").status_code == 200
        refused = c.get(f"/thread/{theirs[0]}/{theirs[1]}")
        assert refused.status_code == 403 and "本单位" in refused.text
        assert c.get("/unit/water").status_code == 403
        assert c.get("/bulletin?period=2011Q1").status_code == 403
        assert c.get("/bulletin/file/xlsx?period=2011Q1").status_code == 403
        # the search is confined to the unit, whatever the form asks for
        found = c.get("/search", params={"q": "问题", "unit": "water"}).text
        refs = re.findall(r'data-ref="([^"]+)"', found)
        assert refs and all(tuple(r.split(":")[0:1]) + (int(r.split(":")[1]),) in world.cases("urban") or
                            _unit_of(world, r) == "urban" for r in refs)
        assert world.evil_ref not in refs


def _unit_of(world, ref: str) -> str | None:
    forum_id, tid = ref.split(":")
    from monitor.case_history import case_history
    h = case_history(world.config, world.service.repo, forum_id, int(tid))
    return h["assignment"]["unit_id"] or h["assignment"]["proactive_unit_id"]


def test_forum_content_is_shown_as_text(world):
    forum_id, tid = world.evil_ref.split(":")
    with client(world) as c:
        login(c, "office")
        page = c.get(f"/thread/{forum_id}/{tid}").text
        assert EVIL_TITLE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img src=x" not in page and unescape("&lt;img src=x onerror=alert(2)&gt;") in unescape(page)
        listing = c.get("/unit/water").text
        assert EVIL_TITLE not in listing and "&lt;script&gt;" in listing
        found = c.get("/search", params={"q": "水压问题"}).text
        assert world.evil_ref in found and EVIL_TITLE not in found


def test_links_to_the_forum_stay_on_its_host():
    cfg = sample_config()
    base = cfg.forums[0].base_url
    assert forum_link(cfg, "demo", "forum.php?mod=viewthread&tid=7") == base + "forum.php?mod=viewthread&tid=7"
    assert forum_link(cfg, "demo", "http://evil.example/x") is None
    assert forum_link(cfg, "demo", "javascript:alert(1)") is None
    host = base.split("//")[1].rstrip("/")
    assert forum_link(cfg, "demo", f"http://evil.example\\@{host}/") is None
    assert forum_link(cfg, "demo", f"http://user@{host}/x") is None
    assert forum_link(cfg, "nosuch", "forum.php") is None


def test_the_office_corrects_a_case_with_csrf_and_it_is_recorded(world):
    forum_id, tid = world.cases("water")[-1]
    with client(world) as c:
        login(c, "office")
        page = c.get(f"/thread/{forum_id}/{tid}").text
        forged = c.post(f"/thread/{forum_id}/{tid}/override",
                        data={"action": "assign", "unit": "urban", "reason": "x", "csrf": "forged"})
        assert forged.status_code == 400
        done = c.post(f"/thread/{forum_id}/{tid}/override", follow_redirects=True,
                      data={"action": "assign", "unit": "urban", "reason": "属城管职责", "csrf": csrf_of(page)})
        assert done.status_code == 200 and "已记录更正" in done.text
        assert re.search(r"指派 → 市城管局 · 属城管职责 · 记录人 office", done.text)
        assert 'id="case-unit"><a href="/unit/urban">市城管局' in done.text
    with client(world) as c:  # a unit user may not correct, even its own case
        page = login(c, "urban", next_path=f"/thread/{forum_id}/{tid}").text
        r = c.post(f"/thread/{forum_id}/{tid}/override",
                   data={"action": "exclude", "reason": "不是我们的", "csrf": csrf_of(page)})
        assert r.status_code == 403


def test_search_finds_chinese_by_any_two_characters_and_explains_bad_queries(world):
    with client(world) as c:
        login(c, "office")
        assert world.evil_ref in c.get("/search", params={"q": "水压"}).text
        short = c.get("/search", params={"q": "水"})
        assert short.status_code == 200 and 'id="search-error"' in short.text
        bad = c.get("/search", params={"q": "水压", "period": "2011Q9"})
        assert 'id="search-error"' in bad.text and "2011Q1" in bad.text
        none = c.get("/search", params={"q": "水压", "state": "answered_in_time", "period": "2010"})
        assert 'id="no-results"' in none.text


def test_bulletin_downloads_every_format(world):
    with client(world) as c:
        login(c, "office")
        page = c.get("/bulletin", params={"period": "2011Q1"})
        assert page.status_code == 200 and "关于2011年第一季度网络发言人工作情况的通报" in page.text
        for fmt in ("md", "html", "json", "docx", "xlsx"):
            assert f'data-format="{fmt}"' in page.text
        xlsx = c.get("/bulletin/file/xlsx", params={"period": "2011Q1"})
        assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
        book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
        assert book.sheetnames
        framed = c.get("/bulletin/file/html", params={"period": "2011Q1", "inline": "1"})
        assert framed.headers["content-security-policy"].startswith("sandbox")
        assert c.get("/bulletin", params={"period": "2011Q9"}).status_code == 400


def test_a_changed_password_hash_ends_the_session(world):
    with client(world) as c:
        login(c, "office")
        assert c.get("/").status_code == 200
        users = list(world.config.web.users)
        users[0] = users[0].model_copy(update={"password_hash": type(users[0].password_hash)(hash_password("new-pass-123"))})
        old = world.config.web
        object.__setattr__(world.config, "web", old.model_copy(update={"users": users}))
        try:
            assert c.get("/").status_code == 303
        finally:
            object.__setattr__(world.config, "web", old)


def test_a_trusted_proxy_header_names_the_user_only_from_the_proxy(world):
    old = world.config.web
    object.__setattr__(world.config, "web", old.model_copy(update={"trusted_header": "X-Remote-User",
                                                                   "trusted_proxies": ["127.0.0.0/8"]}))
    try:
        with client(world) as c:  # the test talks from 127.0.0.1, the proxy
            r = c.get("/unit/urban", headers={"X-Remote-User": "urban"})
            assert r.status_code == 200 and 'id="viewer-name">urban<' in r.text
            assert c.get("/unit/water", headers={"X-Remote-User": "urban"}).status_code == 403
            repeated = c.get("/unit/urban", headers=[("X-Remote-User", "office"), ("X-Remote-User", "urban")])
            assert repeated.status_code == 303  # a client's own copy beside the proxy's: nobody
        object.__setattr__(world.config, "web", world.config.web.model_copy(update={"trusted_proxies": ["10.9.9.9"]}))
        with client(world) as c:
            assert c.get("/unit/urban", headers={"X-Remote-User": "urban"}).status_code == 303
    finally:
        object.__setattr__(world.config, "web", old)


def test_every_phrase_of_the_pages_has_its_english(world):
    phrases = set()
    for template in (ROOT / "monitor" / "web" / "templates").glob("*.html"):
        phrases |= set(re.findall(r'_\("([^"]+)"\)', template.read_text("utf-8")))
    for source in (ROOT / "monitor" / "web").glob("*.py"):
        phrases |= set(re.findall(r'translate\("([^"]+)"', source.read_text("utf-8")))
    assert phrases and sorted(p for p in phrases if p not in EN) == []
    with client(world) as c:
        login(c, "office")
        c.get("/lang/en")
        english = c.get("/?period=2011Q1").text
        assert "In-time rate this period" in english and "本期按时答复率" not in english


# ---- the CLI and the daemon -------------------------------------------------------------------

def _cli(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, **kw)


def test_hash_password_prints_a_hash_that_verifies():
    r = _cli("web", "hash-password", "--stdin", input="correct horse battery\n")
    assert r.returncode == 0, r.stderr
    hashed = r.stdout.strip()
    assert hashed.startswith("$argon2id$") and verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse")
    short = _cli("web", "hash-password", "--stdin", input="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr


def _config_file(tmp_path, web: dict | None) -> str:
    raw = raw_sample_config()
    raw["database"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    raw["state_dir"] = str(tmp_path / "state")
    if web is not None:
        raw["web"] = web
    return str(write_config(tmp_path / "config.yaml", raw))


def test_web_without_users_says_so(tmp_path):
    r = _cli("web", "-c", _config_file(tmp_path, None), "--listen", "127.0.0.1:0")
    assert r.returncode == 2 and "web.users is empty" in r.stderr


def test_a_password_instead_of_a_hash_is_a_config_error(tmp_path):
    r = _cli("config", "check", "-c", _config_file(tmp_path, {"users": [{"name": "a", "password_hash": "secret123"}]}))
    assert r.returncode == 2 and "web.users[0].password_hash" in r.stderr and "secret123" not in r.stderr
    r = _cli("config", "check", "-c", _config_file(tmp_path, {"users": [{"name": "a", "role": "unit"}]}))
    assert r.returncode == 2 and "needs `unit: ID`" in r.stderr


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_spokeswatch_web_serves_and_stops_on_sigint(tmp_path):
    port = _free_port()
    cfg = _config_file(tmp_path, {"users": [{"name": "office", "password_hash": hash_password("office-pass-1")}]})
    assert _cli("db", "upgrade", "-c", cfg).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "web", "-c", cfg, "--listen", f"127.0.0.1:{port}"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/login", proc).status_code == 200
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            assert login(c, "office", "office-pass-1").status_code == 200
            assert c.get("/").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130, -signal.SIGINT), err  # uvicorn ends as the signal asked: 130
    assert "Traceback" not in err and "web view on http://127.0.0.1:" in err


def test_the_daemon_serves_the_web_view_on_web_listen(tmp_path):
    port = _free_port()
    raw = raw_sample_config()
    raw.update(database=f"sqlite:///{tmp_path / 'db.sqlite3'}", state_dir=str(tmp_path / "state"))
    raw["health"] = {"listen": ""}
    raw["web"] = {"listen": f"127.0.0.1:{port}",
                  "users": [{"name": "office", "password_hash": hash_password("office-pass-1")}]}
    raw["forums"][0]["base_url"] = "http://127.0.0.1:9/"  # nothing there: the polls fail, the view stays up
    cfg = write_config(tmp_path / "config.yaml", raw)
    daemon = RunningDaemon(tmp_path, cfg)
    try:
        daemon.wait_for_text("web view on http://127.0.0.1:", timeout=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            assert login(c, "office", "office-pass-1").status_code == 200
            overview = c.get("/")
            assert overview.status_code == 200 and 'data-forum="demo"' in overview.text
    finally:
        assert daemon.terminate() < 30
        daemon.close()


def test_demo_web_serves_the_demo_with_the_users_it_prints(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "demo", "--out", str(tmp_path / "out"),
                             "--web", f"127.0.0.1:{port}"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/login", proc, seconds=120)
        log = ""
        while "log in as" not in log:
            log += proc.stderr.readline()
        users = dict(re.findall(r"(\w+) / (\S+?)(?:,|$)", log.split("log in as", 1)[1].splitlines()[0]))
        assert set(users) == {"office"} | {u.id for u in sample_config().units}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            overview = login(c, "office", users["office"], "/?period=2011Q1")
            assert overview.status_code == 200 and 'data-key="received">95<' in overview.text
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            assert login(c, "urban", users["urban"]).url.path == "/unit/urban"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "共受理网民意见建议95条" in out  # the demo's headline came first


def test_a_database_that_does_not_answer_gets_a_clear_page_and_the_view_stays_up(world, tmp_path):
    from models.db import make_engine
    from models.repository import Repository
    from monitor.web.server import WebServer
    gone = tmp_path / "gone.sqlite3"
    gone.write_bytes(b"this is not a database file" * 100)
    server = WebServer(lambda: world.config, Repository(make_engine(f"sqlite:///{gone}")), "127.0.0.1:0")
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as c:
            r = login(c, "office")
            assert r.status_code == 503 and "数据库暂时无法访问" in r.text and "not a database" not in r.text
            assert c.get("/login").status_code == 200
    finally:
        server.stop()


def test_overview_figures_are_served_while_new_ones_are_computed():
    from monitor.web.pages import FiguresCache
    cache, calls = FiguresCache(), []

    def make(value):
        def run():
            calls.append(value)
            return value
        return run
    assert cache.get(("2011Q1", "zh"), (1,), make("first")) == "first"
    assert cache.get(("2011Q1", "zh"), (1,), make("unused")) == "first" and calls == ["first"]
    assert cache.get(("2011Q1", "zh"), (2,), make("second")) == "first"  # the data changed: the last, once more
    for _ in range(100):
        if cache.get(("2011Q1", "zh"), (2,), make("unused")) == "second":
            break
        time.sleep(0.05)
    assert cache.get(("2011Q1", "zh"), (2,), make("unused")) == "second" and calls == ["first", "second"]


def test_bulletins_are_rewritten_in_the_background_and_office_files_on_download(world, tmp_path):
    from monitor.web.bulletins import BulletinFiles
    files = BulletinFiles(tmp_path / "bulletins", world.service.repo)
    now = world.service.clock()
    first = files.latest(world.config, Q1, "zh", now)
    assert first.fresh and first.data["received"] == 95
    assert sorted(p.name for p in first.folder.glob("bulletin.*")) == ["bulletin.html", "bulletin.json", "bulletin.md"]
    xlsx = files.file(world.config, Q1, "zh", now, "xlsx")  # written at its first download
    assert xlsx.parent == first.folder and openpyxl.load_workbook(xlsx).sheetnames
    # the data changes (an exclusion): the older bulletin is shown while the new one is written
    forum_id, tid = world.cases("urban")[1]
    from monitor.case_history import correct_case
    correct_case(world.config, world.service.repo, forum_id, tid, "exclude", "重复发帖", "office", now)
    try:
        stale = files.latest(world.config, Q1, "zh", now)
        assert not stale.fresh and stale.folder == first.folder
        for _ in range(200):
            current = files.latest(world.config, Q1, "zh", now)
            if current.fresh:
                break
            time.sleep(0.1)
        assert current.fresh and current.folder != first.folder and current.data["received"] == 94
    finally:
        correct_case(world.config, world.service.repo, forum_id, tid, "include", "撤销排除", "office", now)


def test_the_unit_page_counts_every_open_case_beyond_those_listed(world):
    from monitor.web.pages import unit_page
    everything = unit_page(world.config, world.service.repo, "water", world.service.clock())
    rows, total = world.service.repo.unit_cases("water", ("pending", "overdue"), limit=2)
    assert len(rows) == 2 and total == everything["open_total"] > 2
    assert rows[0].overdue_total == everything["overdue"] == sum(1 for c in everything["open"] if c.state == "overdue")


def test_the_session_key_file_is_never_empty_or_short(tmp_path):
    from monitor.web.auth import MIN_KEY_CHARS, secret_key
    cfg = sample_config().model_copy(update={"state_dir": str(tmp_path / "state")})
    first = secret_key(cfg)
    assert len(first) >= MIN_KEY_CHARS and secret_key(cfg) == first  # made once, then kept
    (tmp_path / "state" / "web_secret_key").write_text("")  # e.g. a crash between create and write
    replaced = secret_key(cfg)
    assert len(replaced) >= MIN_KEY_CHARS and replaced != first
    assert (tmp_path / "state" / "web_secret_key").read_text().strip() == replaced
    assert oct((tmp_path / "state" / "web_secret_key").stat().st_mode & 0o777) == "0o600"


def test_a_login_ends_after_session_hours_however_often_it_is_used(world):
    from monitor.web.auth import hash_fingerprint, session_viewer
    fp = hash_fingerprint(world.config, "office")
    assert session_viewer(world.config, {"user": "office", "fp": fp, "at": time.time() - 60}).name == "office"
    stale = time.time() - world.config.web.session_hours * 3600 - 1
    assert session_viewer(world.config, {"user": "office", "fp": fp, "at": stale}) is None
    assert session_viewer(world.config, {"user": "office", "fp": fp}) is None  # a cookie from before: log in again


def test_oversized_or_out_of_range_input_gets_a_clear_answer(world):
    with client(world) as c:
        assert c.post("/thread/demo/1/override", content=b"x" * 1_000_000,
                      headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 303
        login(c, "office")
        many = c.get("/search", params={"q": " ".join(f"词{i}{i}" for i in range(30))})
        assert 'id="search-error"' in many.text and "at most 10" in many.text
        assert c.get("/search", params={"q": "水压", "board": "demo:99999999999999999999999"}).status_code == 200
        for bad in ("9999", "0001", "1000-01-01..9998-12-31"):
            r = c.get("/", params={"period": bad})
            assert r.status_code == 400 and "1900" in r.text
            assert c.get("/bulletin", params={"period": bad}).status_code == 400
