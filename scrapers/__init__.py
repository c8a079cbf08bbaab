"""Forum scrapers: one module per forum engine, plus the shared fetch layer.

Engines are registered in one explicit table, :data:`ENGINES`; each engine
module exposes pure parsers (page in, records out) and URL builders.
"""
from __future__ import annotations

from types import ModuleType

from scrapers import discuz

ENGINES: dict[str, ModuleType] = {
    "discuz": discuz,
}


def get_engine(name: str) -> ModuleType:
    """Return the engine module registered under ``name``."""
    try:
        return ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise KeyError(f"unknown engine {name!r}; known engines: {known}") from None
