"""Packaging and deployment: the demo from any folder, ``init``, and the Docker, compose and systemd files.

The Docker engine is not assumed: the Dockerfile, compose.yaml and the systemd unit are checked by
parsing them, and the parts that can run without Docker do run (the package the Dockerfile's COPY
lines build, the entrypoint script with a stand-in ``spokeswatch``, the HEALTHCHECK command).
"""
from __future__ import annotations

import configparser
import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml

from monitor import config as cfgmod
from monitor.config import Config, Health, parse_config
from monitor.init_config import SAMPLE, TEMPLATE, packaged, template_text
from tests.helpers import ROOT

HEADLINE = ("共受理网民意见建议95条", "得到发言人答复的39条", "未在规定时间内答复的56条",
            "各发言人单位主动发布信息5条", "市旅游局2条、市供水公司2条、市出租办1条")
REPORTS = ("digest.md", "digest.html", "digest.json", "bulletin.md", "bulletin.html", "bulletin.json")
# what the Dockerfile and compose.yaml set; a run of the CLI here must not see them
_OURS = ("SPOKESWATCH_DATABASE", "SPOKESWATCH_HEALTH_LISTEN", "SPOKESWATCH_CONFIG", "SPOKESWATCH_HEALTHCHECK_URL")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OURS}
    return {**env, **extra}


def spokeswatch() -> list[str]:
    """The installed console script, as an operator runs it (else the module)."""
    script = Path(sys.executable).with_name("spokeswatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*spokeswatch(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env or clean_env())


def outside_repo(path: Path) -> Path:
    assert ROOT not in path.resolve().parents and path.resolve() != ROOT
    return path


# ---- the sample config shipped in the package --------------------------------------------

def test_the_packaged_sample_is_the_repositorys_config_yaml():
    """Two copies, kept identical: edit config.yaml and copy it to monitor/sample_config.yaml."""
    assert packaged(SAMPLE).read_bytes() == (ROOT / "config.yaml").read_bytes(), \
        "monitor/sample_config.yaml differs from config.yaml: cp config.yaml monitor/sample_config.yaml"


def test_package_data_lists_the_shipped_yaml_files():
    table = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-data"]
    for name in (SAMPLE, TEMPLATE):
        assert (ROOT / "monitor" / name).is_file()
        assert any(fnmatch.fnmatch(name, pattern) for pattern in table["monitor"]), name


# ---- the Dockerfile, read as instructions ------------------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text("utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending
    return out


def copies() -> list[tuple[int, list[str], str]]:
    """(index, sources, destination) of each COPY from the build context."""
    found = []
    for i, (word, args) in enumerate(dockerfile()):
        if word == "COPY":
            parts = [p for p in shlex.split(args) if not p.startswith("--")]
            assert "--from" not in args
            found.append((i, parts[:-1], parts[-1]))
    return found


def healthcheck_url_port() -> int:
    env = " ".join(args for word, args in dockerfile() if word == "ENV")
    m = re.search(r"SPOKESWATCH_HEALTHCHECK_URL=http://127\.0\.0\.1:(\d+)/healthz", env)
    assert m, "the Dockerfile sets SPOKESWATCH_HEALTHCHECK_URL=http://127.0.0.1:PORT/healthz"
    return int(m.group(1))


def default_health_port() -> int:
    return int(Health().listen.rsplit(":", 1)[1])


def test_dockerfile_copies_only_what_exists_and_not_the_sample_config():
    for _, sources, _ in copies():
        for src in sources:
            assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
            assert Path(src).name != "config.yaml", "the repository's sample config.yaml is not the service's config"
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
               if line.strip() and not line.startswith("#")]
    for _, sources, _ in copies():
        for src in sources:
            assert not any(fnmatch.fnmatch(src, pattern.rstrip("/")) for pattern in ignored), src
    assert ".env" in ignored and ".git" in ignored and ".venv" in ignored


def test_dockerfile_installs_the_dependencies_before_copying_the_code():
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    code = min(i for i, sources, _ in copies() if any(s in ("monitor", "scrapers", "models", ".") for s in sources))
    deps = [i for i, (word, args) in enumerate(steps) if word == "RUN" and "pip install -r" in args]
    assert deps and deps[0] < code, "the dependency layer must come before the code"
    assert [s for i, sources, _ in copies() if i < deps[0] for s in sources] == ["pyproject.toml"]
    install = [i for i, (word, args) in enumerate(steps) if word == "RUN" and "pip install --no-deps ." in args]
    assert install and install[0] > code


def test_dockerfile_dependency_step_reads_pyprojects_dependency_list(tmp_path):
    """Run the RUN line's own python one-liner on pyproject.toml: it must print the dependency list."""
    run = next(args for word, args in dockerfile() if word == "RUN" and "pip install -r" in args)
    words = shlex.split(run)
    program = words[words.index("-c") + 1]
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    r = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    assert r.returncode == 0 and r.stdout.split("\n")[:-1] == wanted, r.stderr


def test_dockerfile_runs_as_a_user_with_a_data_volume_and_a_settable_tz():
    steps = dockerfile()
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    volumes = [args for word, args in steps if word == "VOLUME"]
    assert any("/data" in (json.loads(v) if v.startswith("[") else v.split()) for v in volumes)
    workdir = [args for word, args in steps if word == "WORKDIR"][-1]
    assert workdir == "/data"  # relative paths in the config (SQLite, reports, state_dir) land in the volume
    env = " ".join(args for word, args in steps if word == "ENV")
    assert re.search(r"\bTZ=Asia/Shanghai\b", env)
    assert "SPOKESWATCH_DATABASE=sqlite:////data/" in env
    assert "SPOKESWATCH_CONFIG=/config/config.yaml" in env


def test_dockerfile_healthcheck_asks_the_configs_default_health_port():
    steps = dockerfile()
    check = [args for word, args in steps if word == "HEALTHCHECK"]
    assert len(check) == 1 and "CMD" in check[0] and "curl" not in check[0] and "urllib" in check[0]
    assert healthcheck_url_port() == default_health_port() == 9108
    env = " ".join(args for word, args in steps if word == "ENV")
    listen = re.search(r"SPOKESWATCH_HEALTH_LISTEN=(\S+)", env).group(1)
    assert listen == f"0.0.0.0:{default_health_port()}"
    exposed = " ".join(args for word, args in steps if word == "EXPOSE").split()
    assert str(default_health_port()) in exposed


class _Answer(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status, healthy", [(200, True), (503, False)])
def test_dockerfile_healthcheck_command_passes_on_200_and_fails_otherwise(tmp_path, status, healthy):
    """The HEALTHCHECK's exec form, run here against a stand-in /healthz (its URL from the environment
    as the image sets it), with a config present."""
    args = next(args for word, args in dockerfile() if word == "HEALTHCHECK")
    command = json.loads(args[args.index("CMD") + 3:].strip())
    assert command[0] == "python"
    handler = type("Answer", (_Answer,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "config.yaml").write_text("x", "utf-8")
        env = clean_env(SPOKESWATCH_CONFIG=str(tmp_path / "config.yaml"),
                        SPOKESWATCH_HEALTHCHECK_URL=f"http://127.0.0.1:{server.server_address[1]}/healthz")
        r = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, env=env, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert (r.returncode == 0) == healthy, r.stderr


def test_dockerfile_entrypoint_is_the_script_it_copies():
    steps = dockerfile()
    entry = json.loads([args for word, args in steps if word == "ENTRYPOINT"][-1])
    destinations = {Path(dest).name: sources for _, sources, dest in copies()}
    assert destinations[entry[0]] == ["deploy/docker-entrypoint.sh"]
    assert os.access(ROOT / "deploy/docker-entrypoint.sh", os.X_OK)


@pytest.fixture(scope="module")
def image_package(tmp_path_factory) -> Path:
    """What `pip install --no-deps .` installs from the Dockerfile's COPY lines: the code stage's files
    copied to a folder outside the repository, built with setuptools' build_py (the package and its
    package data, as a wheel holds them)."""
    base = tmp_path_factory.mktemp("image")
    src, lib = base / "app", base / "site-packages"
    src.mkdir()
    install = next(i for i, (word, args) in enumerate(dockerfile()) if word == "RUN" and "pip install --no-deps ." in args)
    for i, sources, dest in copies():
        if i > install or not dest.startswith("./"):
            continue
        for s in sources:
            target = src / (dest if dest.endswith("/") or len(sources) > 1 else dest)
            if (ROOT / s).is_dir():
                shutil.copytree(ROOT / s, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(ROOT / s, target if not dest.endswith("/") else target / Path(s).name)
    r = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                        "--build-lib", str(lib)], cwd=src, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return lib


def test_the_image_package_holds_its_data_files(image_package):
    for name in (SAMPLE, TEMPLATE, "demoforum/scenario_2011q1.json"):
        assert (image_package / "monitor" / name).is_file(), name
    assert (image_package / "monitor" / SAMPLE).read_bytes() == (ROOT / "config.yaml").read_bytes()
    assert list((image_package / "monitor" / "templates").iterdir())
    assert list((image_package / "models" / "migrations" / "versions").glob("*.py"))


def test_the_demo_runs_from_the_image_package_in_an_empty_folder(image_package, tmp_path):
    """No repository, no config.yaml, not the editable install: the package as the image installs it."""
    work = outside_repo(tmp_path / "anywhere")
    work.mkdir()
    r = subprocess.run([sys.executable, "-c", "import monitor, sys; print(monitor.__file__, file=sys.stderr); "
                        "from monitor.cli import main; sys.argv[0] = 'spokeswatch'; main()", "demo"],
                       cwd=work, capture_output=True, text=True, timeout=180,
                       env=clean_env(PYTHONPATH=str(image_package)))
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[0].startswith(str(image_package))  # that package, not the repository's
    assert all(words in r.stdout for words in HEADLINE), r.stdout
    assert all((work / "demo-out" / name).stat().st_size > 0 for name in REPORTS)


# ---- demo anywhere, with the installed command -----------------------------------------

def test_demo_runs_in_a_folder_outside_the_repository(tmp_path):
    work = outside_repo(tmp_path)
    r = cli("demo", cwd=work)
    assert r.returncode == 0, r.stderr
    assert all(words in r.stdout for words in HEADLINE), r.stdout
    for name in REPORTS:
        assert (work / "demo-out" / name).stat().st_size > 0
    data = json.loads((work / "demo-out" / "bulletin.json").read_text("utf-8"))
    assert (data["received"], data["answered_in_time"], data["not_in_time"]) == (95, 39, 56)
    assert data["proactive"]["by_unit"] == {"市旅游局": 2, "市供水公司": 2, "市出租办": 1}
    assert not (work / "config.yaml").exists()


def test_demo_with_c_reads_that_config(tmp_path):
    work = outside_repo(tmp_path)
    own = work / "own.yaml"
    own.write_text((ROOT / "config.yaml").read_text("utf-8").replace("name: 市旅游局", "name: 市文化和旅游局"), "utf-8")
    r = cli("demo", "-c", str(own), "--out", "reports", cwd=work)
    assert r.returncode == 0, r.stderr
    assert "市文化和旅游局2条、市供水公司2条、市出租办1条" in r.stdout
    assert (work / "reports" / "bulletin.md").exists()
    missing = cli("demo", "-c", "nope.yaml", cwd=work)
    assert missing.returncode == 2 and "nope.yaml: file not found" in missing.stderr
    unfit = work / "unfit.yaml"
    unfit.write_text(template_text(), "utf-8")
    wrong = cli("demo", "--config", str(unfit), cwd=work)
    assert wrong.returncode == 1 and "the demo needs a forum with id 'demo'" in wrong.stderr


def test_demo_serve_runs_outside_the_repository_and_stops_on_sigterm(tmp_path):
    work = outside_repo(tmp_path)
    p = subprocess.Popen([*spokeswatch(), "demo", "--serve", "--port", "0"], cwd=work, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=clean_env())
    try:
        line = p.stderr.readline()
        m = re.search(r"demo forum at (http://127\.0\.0\.1:\d+/)", line)
        assert m, line + (p.stderr.read() if p.poll() is not None else "")
        with urllib.request.urlopen(m.group(1) + "forum.php?mod=forumdisplay&fid=2", timeout=10) as page:
            assert page.status == 200 and "网络发言人".encode("gbk") in page.read()
        started = time.monotonic()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
        assert time.monotonic() - started < 10
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()


# ---- init ------------------------------------------------------------------------------

def test_init_writes_a_config_that_passes_config_check_as_written(tmp_path):
    work = outside_repo(tmp_path)
    r = cli("init", cwd=work)
    assert r.returncode == 0, r.stderr
    assert (work / "config.yaml").read_text("utf-8") == template_text()
    check = cli("config", "check", cwd=work)
    assert check.returncode == 0, check.stderr
    assert "config.yaml: OK — 1 forum(s), 1 board(s), 1 unit(s), 1 spokesperson account(s)" in check.stdout


def test_init_never_overwrites_without_force(tmp_path):
    work = outside_repo(tmp_path)
    mine = work / "config.yaml"
    mine.write_text("# my config\n", "utf-8")
    r = cli("init", cwd=work)
    assert r.returncode == 2 and "already exists" in r.stderr and "--force" in r.stderr
    assert "Traceback" not in r.stderr and mine.read_text("utf-8") == "# my config\n"
    forced = cli("init", "--force", cwd=work)
    assert forced.returncode == 0 and mine.read_text("utf-8") == template_text()
    other = cli("init", "etc/spokeswatch/site.yaml", cwd=work)
    assert other.returncode == 0 and (work / "etc/spokeswatch/site.yaml").read_text("utf-8") == template_text()
    assert cli("config", "check", "-c", "etc/spokeswatch/site.yaml", cwd=work).returncode == 0
    folder = cli("init", "etc", cwd=work)
    assert folder.returncode == 2 and "is a folder" in folder.stderr


def test_init_dash_prints_the_template(tmp_path):
    r = cli("init", "-", cwd=outside_repo(tmp_path))
    assert r.returncode == 0 and r.stdout == template_text() and not list(tmp_path.iterdir())


def _template() -> Config:
    return parse_config(template_text(), "config.yaml")


def _keys(model: type) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def test_init_template_has_every_section_and_states_the_defaults(monkeypatch):
    """Every setting of config.py appears (optional ones as comments), and what is written
    uncommented is the default: the template documents the defaults, it does not change them."""
    for name in _OURS:
        monkeypatch.delenv(name, raising=False)
    raw = yaml.safe_load(template_text())
    assert set(raw) == set(_keys(Config)), set(_keys(Config)) ^ set(raw)
    for section, model in (("digest", cfgmod.Digest), ("health", cfgmod.Health), ("log", cfgmod.Log),
                           ("calendar", cfgmod.CalendarOverrides)):
        assert set(raw[section]) == set(_keys(model)), section
    assert raw["log"]["json"] is False  # the JSON flag is `json:` in YAML
    text = template_text()
    for model in (cfgmod.Forum, cfgmod.Board, cfgmod.Unit, cfgmod.Account, cfgmod.Login, cfgmod.HotRule,
                  cfgmod.Rules):
        for key in _keys(model):
            assert re.search(rf"^[ #-]*{key}:", text, re.M), f"{model.__name__}.{key} is not in the template"
    cfg = _template()
    assert cfg.health == Health() and cfg.log == cfgmod.Log() and cfg.digest == cfgmod.Digest()
    assert cfg.rules == cfgmod.Rules() and cfg.calendar == cfgmod.CalendarOverrides()
    for key in ("database", "timezone", "check_interval_minutes", "max_parallel_polls", "state_dir",
                "inactive_after_days", "alert_after_hours", "backoff_max_minutes"):
        assert getattr(cfg, key) == Config.model_fields[key].default, key
    forum = cfg.forums[0]
    for key in ("timezone", "poll_interval_minutes", "recheck_interval_minutes", "rate_limit", "timeout_seconds",
                "retries", "max_pages", "posts_per_page", "cookies", "login", "user_agent", "floor_labels"):
        assert getattr(forum, key) == cfgmod.Forum.model_fields[key].get_default(call_default_factory=True), key


def test_init_template_comments_every_setting_and_keeps_secrets_in_the_environment():
    lines = template_text().splitlines()
    previous = ""
    for line in lines:
        body = line.split("#", 1)[0].rstrip()
        if body.strip() and re.match(r"^\s*-?\s*[a-z_]+:\s*\S", body):  # a key with a value (not a section)
            assert "#" in line or previous.lstrip().startswith("#") or re.match(r"^\s*(name|username):", body), \
                f"no comment says what this does: {line!r}"
        if line.strip():
            previous = line
    text = template_text()
    assert "database: ${SPOKESWATCH_DATABASE:-" in text
    assert "listen: ${SPOKESWATCH_HEALTH_LISTEN:-127.0.0.1:9108}" in text
    for secret in ("cookies", "password", "notify"):
        for line in (x for x in lines if re.match(rf"^\s*#?\s*{secret}:", x) and "[]" not in x):
            assert "${" in line, line
    for line in lines:  # an example delivery URL carries its token from the environment
        if re.search(r"(mailtos|dingtalk|wecombot)://", line):
            assert "${" in line, line


def test_init_template_health_listen_in_the_container_is_the_healthcheck_port(monkeypatch):
    monkeypatch.setenv("SPOKESWATCH_HEALTH_LISTEN", "0.0.0.0:9108")  # as the image sets it
    assert _template().health.listen == f"0.0.0.0:{healthcheck_url_port()}"
    monkeypatch.delenv("SPOKESWATCH_HEALTH_LISTEN")
    assert _template().health.listen == Health().listen


# ---- the entrypoint ----------------------------------------------------------------------

ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"


@pytest.mark.parametrize("shell", ["bash", "sh", "dash"])
def test_entrypoint_is_valid_shell(shell):
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} here")
    r = subprocess.run([shell, "-n", str(ENTRYPOINT)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert ENTRYPOINT.read_text("utf-8").startswith("#!/bin/sh\n")


@pytest.fixture
def stand_in(tmp_path):
    """A `spokeswatch` on PATH that records its arguments, one call per line."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    stub = bin_dir / "spokeswatch"
    stub.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n', "utf-8")
    stub.chmod(0o755)

    def run(*args: str, config: Path, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        r = subprocess.run([shutil.which("bash") or "sh", str(ENTRYPOINT), *args], capture_output=True, text=True,
                           timeout=30, env=clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                                                     SPOKESWATCH_CONFIG=str(config),
                                                     SPOKESWATCH_DEMO_OUT=str(tmp_path / "demo-out"), **env))
        calls = log.read_text("utf-8").splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return r, calls
    return run


def test_entrypoint_without_a_config_explains_and_runs_the_demo(stand_in, tmp_path):
    r, calls = stand_in(config=tmp_path / "config" / "config.yaml")
    assert r.returncode == 0, r.stderr
    assert f"no configuration at {tmp_path / 'config' / 'config.yaml'}" in r.stderr
    assert '-v "$PWD/config:/config:ro"' in r.stderr and "spokeswatch init -" in r.stderr
    assert calls == [f"demo --out {tmp_path / 'demo-out'}", "demo --serve --host 0.0.0.0 --port 8089"]


def test_entrypoint_with_a_config_runs_the_service(stand_in, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("database: x\n", "utf-8")
    r, calls = stand_in(config=config)
    assert r.returncode == 0 and r.stderr == "" and calls == [f"run -c {config}"]


def test_entrypoint_refuses_a_config_that_is_a_folder(stand_in, tmp_path):
    """`-v ./config.yaml:/config/config.yaml` with no such file on the host: Docker makes a folder."""
    (tmp_path / "config.yaml").mkdir()
    r, calls = stand_in(config=tmp_path / "config.yaml")
    assert r.returncode == 2 and "is a folder, not a file" in r.stderr and calls == []


def test_entrypoint_passes_commands_through(stand_in, tmp_path):
    missing = tmp_path / "none.yaml"
    assert stand_in("status", "-c", "/config/config.yaml", config=missing)[1] == ["status -c /config/config.yaml"]
    assert stand_in("init", "-", config=missing)[1] == ["init -"]
    assert stand_in("--help", config=missing)[1] == ["--help"]
    r, calls = stand_in("sh", "-c", "echo plain shell", config=missing)
    assert r.stdout == "plain shell\n" and calls == []


# ---- compose.yaml -------------------------------------------------------------------------

def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    return dict(e.split("=", 1) for e in env) if isinstance(env, list) else {k: str(v) for k, v in env.items()}


def volume(spec: str) -> tuple[str, str, str]:
    """(source, target, mode) of a short-syntax volume; the source may hold ${VAR:-default}."""
    mode = ""
    if re.search(r":(ro|rw)$", spec):
        spec, mode = spec[:-3], spec[-2:]
    source, target = spec.rsplit(":", 1)
    return source, target, mode


def test_compose_runs_spokeswatch_on_postgres_16_once_it_is_healthy():
    services = compose()["services"]
    pg, app = services["postgres"], services["spokeswatch"]
    assert pg["image"] == "postgres:16"
    test = pg["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert app["build"] in (".", {"context": "."}) or app["build"].get("context") == "."
    data = [volume(v) for v in pg["volumes"] if volume(v)[1] == "/var/lib/postgresql/data"]
    assert data and data[0][0] in compose()["volumes"]  # a named volume


def test_compose_mounts_the_config_read_only_and_data_as_a_volume():
    app = compose()["services"]["spokeswatch"]
    mounts = [volume(v) for v in app["volumes"]]
    config = [m for m in mounts if m[1] in ("/config", "/config/config.yaml")]
    assert config and config[0][2] == "ro"
    data = [m for m in mounts if m[1] == "/data"]
    assert data and data[0][0] in compose()["volumes"]


def test_compose_keeps_passwords_out_of_the_file():
    doc = compose()
    app_env, pg_env = _environment(doc["services"]["spokeswatch"]), _environment(doc["services"]["postgres"])
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD(:?[?-][^}]*)?\}", pg_env["POSTGRES_PASSWORD"])
    assert re.fullmatch(r"postgresql://spokeswatch:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/spokeswatch",
                        app_env["SPOKESWATCH_DATABASE"])

    def strings(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from ((f"{k}={s}" for s in strings(v)) if not isinstance(v, (dict, list)) else strings(v))
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        else:
            yield str(node)
    for s in strings(doc):
        if re.search(r"password|secret|token", s, re.I) and "=" in s:
            value = s.split("=", 1)[1]
            assert "${" in value, f"a literal secret in compose.yaml: {s}"
        for userinfo in re.findall(r"://[^/@\s]*:([^/@\s]*)@", s):
            assert userinfo.startswith("${"), s


def test_compose_publishes_the_health_port_on_localhost_only_and_listens_where_it_is_checked():
    app = compose()["services"]["spokeswatch"]
    for port in app["ports"]:
        host, published, target = str(port).split(":")
        assert host == "127.0.0.1"
    assert f"127.0.0.1:{default_health_port()}:{healthcheck_url_port()}" in app["ports"]
    listen = _environment(app)["SPOKESWATCH_HEALTH_LISTEN"]
    assert listen == f"0.0.0.0:{healthcheck_url_port()}"


# ---- the systemd unit -------------------------------------------------------------------

UNIT = ROOT / "deploy" / "spokeswatch.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, empty_lines_in_values=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text("utf-8"))
    return parser


def test_systemd_unit_is_a_notify_service_with_watchdog_and_reload():
    u = unit()
    s = u["Service"]
    assert s["Type"] == "notify" and s["WatchdogSec"] == "60"
    assert s["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert s["Restart"] == "on-failure"
    assert s["RestartPreventExitStatus"] == "2"  # a config mistake: restarting will not fix it
    assert re.fullmatch(r"\S+/spokeswatch run -c /etc/spokeswatch/config\.yaml", s["ExecStart"])
    assert u["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in u["Unit"]["After"] and "network-online.target" in u["Unit"]["Wants"]


def test_systemd_unit_runs_as_its_own_user_with_hardening():
    s = unit()["Service"]
    assert s["User"] == "spokeswatch" and s["User"] != "root"
    assert s["NoNewPrivileges"] == "yes" and s["ProtectSystem"] == "strict" and s["PrivateTmp"] == "yes"
    assert s["WorkingDirectory"] in s["ReadWritePaths"].split()
    assert s["WorkingDirectory"] == f"/var/lib/{s['StateDirectory']}"


def test_systemd_unit_verifies():
    """systemd's own reading of the unit, where systemd-analyze exists; the program is not installed
    here, which is the only complaint allowed."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze here")
    r = subprocess.run(["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (r.stdout + r.stderr).splitlines()
                if line.strip() and "is not executable" not in line and "No such file" not in line]
    assert not problems, problems
