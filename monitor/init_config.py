"""``spokeswatch init``: a commented config.yaml to start from, and the packaged sample.

Two YAML files ship inside the package (``[tool.setuptools.package-data]``):

* ``config_template.yaml`` — what ``init`` writes: every section, each setting commented,
  secrets as ``${ENV_VAR}``, a placeholder forum that passes ``config check`` as written;
* ``sample_config.yaml`` — the demo's config, byte for byte the repository's top-level
  ``config.yaml`` (tests/test_packaging.py holds them equal), so ``spokeswatch demo`` runs
  from any folder.

Standard library only: ``init`` needs neither pydantic nor the service layer.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from monitor.errors import ConfigError

TEMPLATE = "config_template.yaml"
SAMPLE = "sample_config.yaml"


def packaged(name: str):
    """A data file shipped in the ``monitor`` package (an importlib.resources Traversable)."""
    return files("monitor").joinpath(name)


def template_text() -> str:
    return packaged(TEMPLATE).read_text(encoding="utf-8")


def write_config(path: str | Path, force: bool = False) -> Path:
    """Write the commented template to ``path`` (its folder is created); refuse to replace an
    existing file unless ``force``. Raises ConfigError naming the path."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(str(path), "is a folder: give the file to write, e.g. config.yaml")
    if path.exists() and not force:
        raise ConfigError(str(path), "already exists: not overwritten (use --force to replace it)")
    text = template_text()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w" if force else "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise ConfigError(str(path), "already exists: not overwritten (use --force to replace it)") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot write: {exc.strerror or exc}") from None
    return path
