"""The bundled scenario file is exactly what its builder writes (they cannot drift apart)."""
from __future__ import annotations

from monitor.demoforum.build_scenario import build
from monitor.demoforum.scenario import BUNDLED, dump_scenario


def test_bundled_scenario_matches_its_builder(tmp_path):
    dump_scenario(build(), tmp_path / "s.json")
    assert (tmp_path / "s.json").read_text("utf-8") == BUNDLED.read_text("utf-8")
