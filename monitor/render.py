"""Render bulletins and digests to Markdown, HTML and JSON (Chinese, or English).

Forum content is untrusted: HTML output is autoescaped, Markdown output has
its table and link syntax escaped.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from monitor.bulletin import Bulletin
from monitor.bulletin_text import headline  # noqa: F401  (re-exported: the demo prints it)
from monitor.digest import Digest

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+|!])")
_env = Environment(loader=PackageLoader("monitor", "templates"), autoescape=select_autoescape(["html", "html.j2"]),
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_env.filters["md"] = lambda s: _MD_SPECIAL.sub(r"\\\1", str(s)).replace("\n", " ")
_env.filters["mdurl"] = lambda s: str(s).replace(")", "%29").replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def render(kind: str, fmt: str, data: Bulletin | Digest) -> str:
    """Render ``kind`` (bulletin|digest) as ``fmt`` (md|html|json)."""
    if fmt == "json":
        return json.dumps(data.to_json(), ensure_ascii=False, indent=2) + "\n"
    extra = {"headline": headline(data)} if kind == "bulletin" else {}
    return _env.get_template(f"{kind}.{fmt}.j2").render(d=data, zh=data.lang == "zh", **extra)


def write_all(kind: str, data: Bulletin | Digest, out_dir: str | Path, formats=("md", "html", "json")) -> list[Path]:
    """Write ``kind.md``/``.html``/``.json`` into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out / f"{kind}.{fmt}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(render(kind, fmt, data), encoding="utf-8")
        tmp.replace(path)  # readers never see a half-written report
        paths.append(path)
    return paths
