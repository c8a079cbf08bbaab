"""Start-up: ``--help``, ``config check`` and ``status`` import only what they need.

Each case runs the CLI in a fresh interpreter and looks at ``sys.modules`` afterwards:
behaviour, not timing. The heavy libraries are the network (httpx), the parsers (lxml,
bs4, soupsieve, feedparser), the database and its migrations (SQLAlchemy, Alembic), the
reports (jinja2), the daemon (APScheduler, apprise) and rich (typer's fancy help).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

HEAVY = ("httpx", "lxml", "bs4", "soupsieve", "feedparser", "sqlalchemy", "alembic", "jinja2",
         "apscheduler", "apprise", "rich")
SERVICE_LAYER = ("monitor.service", "monitor.poller", "monitor.daemon", "monitor.render", "monitor.notify",
                 "scrapers.fetch")

_PROGRAM = r"""
import json, sys
argv, out = json.loads(sys.argv[1]), sys.argv[2]
code = None
if argv is None:
    import monitor.cli
elif argv and argv[0] == "--import":
    for name in argv[1:]:
        __import__(name)
else:
    from monitor.cli import app
    try:
        app(argv, prog_name="spokeswatch")
    except SystemExit as exc:
        code = exc.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def loaded_after(tmp_path, argv: list[str] | None) -> tuple[set[str], object]:
    """Run ``spokeswatch ARGV`` (None: only ``import monitor.cli``; ["--import", m, …]: import those)
    in a fresh interpreter in ``tmp_path``; return the modules it loaded and the exit code."""
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    r = subprocess.run([sys.executable, "-c", _PROGRAM, json.dumps(argv), str(out)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT),
                            "SPOKESWATCH_DATABASE": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    assert r.returncode == 0 and out.exists(), r.stderr
    data = json.loads(out.read_text())
    return set(data["modules"]), data["code"]


def heavy(modules: set[str], names=HEAVY) -> set[str]:
    return {n for n in names if n in modules}


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text("utf-8"), "utf-8")
    return tmp_path


def test_importing_the_cli_loads_nothing_heavy(workdir):
    modules, _ = loaded_after(workdir, None)
    assert heavy(modules, HEAVY + ("pydantic", "yaml", "loguru", "monitor.config")) == set()


@pytest.mark.parametrize("argv", [["--help"], []])
def test_help_loads_nothing_heavy(workdir, argv):
    modules, code = loaded_after(workdir, argv)
    assert code in (0, 2, None)  # no_args_is_help exits 2 with typer's click
    assert heavy(modules, HEAVY + ("pydantic", "yaml", "loguru", "monitor.config")) == set()


@pytest.mark.parametrize("argv", [["check", "--help"], ["config", "--help"], ["status", "--help"]])
def test_a_commands_help_loads_nothing_heavy(workdir, argv):
    """typer itself coerces the group's options through pydantic TypeAdapters before a subcommand's
    --help, so pydantic may be there; nothing of ours is."""
    modules, code = loaded_after(workdir, argv)
    assert code in (0, None)
    assert heavy(modules, HEAVY + ("yaml", "loguru", "monitor.config")) == set()


def _needed_by(tmp_path, *names: str) -> set[str]:
    """What importing the given modules alone loads of HEAVY."""
    modules, _ = loaded_after(tmp_path, ["--import", *names])
    return heavy(modules)


def test_config_check_loads_no_database_network_report_or_daemon_code(workdir):
    modules, code = loaded_after(workdir, ["config", "check"])
    assert code in (0, None)
    assert heavy(modules, HEAVY + ("loguru",)) == set()  # the sample config has no generic forum: no parsers
    assert not any(m in modules for m in SERVICE_LAYER)


def test_status_reads_the_database_without_the_service_layer(workdir):
    upgrade = subprocess.run([sys.executable, "-m", "monitor", "db", "upgrade"], cwd=workdir, capture_output=True,
                             text=True, timeout=120,
                             env={**os.environ, "SPOKESWATCH_DATABASE": f"sqlite:///{workdir / 'x.sqlite3'}"})
    assert upgrade.returncode == 0, upgrade.stderr
    modules, code = loaded_after(workdir, ["status"])
    assert code == 1  # it read everything, and says no daemon runs here
    assert "sqlalchemy" in modules
    assert heavy(modules, HEAVY + ("loguru",)) == {"sqlalchemy"}  # no migrations, parsers, network, reports
    assert not any(m in modules for m in SERVICE_LAYER)


@pytest.mark.parametrize("module, needs", [
    ("monitor.config", set()),           # config check: pydantic and yaml only
    ("models.db", {"sqlalchemy"}),       # status: an engine, no migrations
    ("models.repository", {"sqlalchemy"}),
])
def test_modules_the_light_commands_need_are_light(tmp_path, module, needs):
    """The modules config check and status cannot do without: monitor.config loads the parsers only
    for a generic forum, models.db loads Alembic only to migrate, and scrapers/__init__ imports an
    engine only when asked for it (models.repository imports scrapers.records)."""
    assert _needed_by(tmp_path, module) == needs


def test_status_reads_the_heartbeat_where_the_daemon_writes_it():
    """status reads heartbeat.json itself (monitor.daemon is heavy); both must agree on file and cadence."""
    from monitor import cli, daemon
    from tests.helpers import sample_config
    cfg = sample_config()
    assert cli._HEARTBEAT_SECONDS == daemon.HEARTBEAT_SECONDS
    assert daemon.heartbeat_path(cfg).name == cli._HEARTBEAT_FILE
    assert daemon.heartbeat_path(cfg).parent.as_posix() == cfg.state_dir.rstrip("/")
