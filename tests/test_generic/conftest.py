"""The real forums the generic engine's tests read, each started once per test run.

A forum that cannot start here skips its tests with the reason; with CI=true it fails them.
"""
from __future__ import annotations

import importlib.util
import os

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spirit(tmp_path_factory):
    """A Spirit forum (django-spirit, HTML pages) holding spirit_site.sample_spec()."""
    if importlib.util.find_spec("spirit") is None:
        _unavailable("django-spirit not installed (pip install -e '.[test]')")
    from tests.test_generic.spirit_site import sample_spec, start_spirit
    forum = start_spirit(tmp_path_factory.mktemp("spirit"), sample_spec())
    yield forum
    forum.stop()


@pytest.fixture(scope="session")
def misago(tmp_path_factory):
    """A Misago forum (pages rendered from its JSON API) holding misago_site.sample_spec()."""
    from tests.test_generic.misago_site import misago_available, sample_spec, start_misago
    reason = misago_available()
    if reason:
        _unavailable(f"the Misago forum: {reason} (make misago)")
    forum = start_misago(tmp_path_factory.mktemp("misago"), sample_spec())
    yield forum
    forum.stop()
