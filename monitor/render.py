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
from monitor.bulletin_text import (APPENDIX_COLUMNS, CHART_TITLES, FLAG_COLUMNS, FOLLOWUP_COLUMNS, SECTIONS,
                                   UNIT_COLUMNS, cell, comparison_text, headline)
from monitor.digest import Digest

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+|!])")
_env = Environment(loader=PackageLoader("monitor", "templates"), autoescape=select_autoescape(["html", "html.j2"]),
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_env.filters["md"] = lambda s: _MD_SPECIAL.sub(r"\\\1", str(s)).replace("\n", " ")
_env.filters["mdurl"] = lambda s: str(s).replace(")", "%29").replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


_NUMERIC = {"index", "rank", "received", "answered_in_time", "answered_late", "unanswered", "pending",
            "in_time_rate", "median_response_days", "proactive", "flagged", "followups_unresolved", "views",
            "replies", "tid", "days_to_answer"}


def _numbered(rows: list[dict], not_answered: str) -> list[dict]:
    """Rows with their 序号, and 未答复 where there is no answer time."""
    return [dict(r, _index=i, answered_at=r.get("answered_at") or not_answered) for i, r in enumerate(rows, 1)]


def _bulletin_context(b: Bulletin, charts: dict[str, str] | None) -> dict:
    zh = b.lang == "zh"
    s = SECTIONS[b.lang]
    return dict(headline=headline(b), comparison=comparison_text(b), s=s, cell=cell, numeric=_NUMERIC,
                unit_columns=UNIT_COLUMNS, appendix_columns=APPENDIX_COLUMNS, flag_columns=FLAG_COLUMNS,
                followup_columns=FOLLOWUP_COLUMNS,
                numbered=lambda rows: _numbered(rows, s["not_answered"]), charts=charts or {},
                chart_titles={k: (zh_t if zh else en_t) for k, (zh_t, en_t) in CHART_TITLES.items()})


def render(kind: str, fmt: str, data: Bulletin | Digest, charts: dict[str, str] | None = None) -> str:
    """Render ``kind`` (bulletin|digest) as ``fmt`` (md|html|json); ``charts`` (name → SVG text)
    are drawn into a bulletin's HTML."""
    if fmt == "json":
        return json.dumps(data.to_json(), ensure_ascii=False, indent=2) + "\n"
    extra = _bulletin_context(data, charts) if kind == "bulletin" else {}
    return _env.get_template(f"{kind}.{fmt}.j2").render(d=data, zh=data.lang == "zh", **extra)


TEXT_FORMATS = ("md", "html", "json")
BULLETIN_FORMATS = ("md", "html", "json", "docx", "xlsx")


def write_all(kind: str, data: Bulletin | Digest, out_dir: str | Path, formats=TEXT_FORMATS,
              font: str | None = None) -> list[Path]:
    """Write ``kind.<fmt>`` for each format into ``out_dir`` (a bulletin's HTML and Word
    with its charts, drawn into ``out_dir/charts``); return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    charts_svg: dict[str, str] = {}
    pngs: dict[str, bytes] = {}
    if kind == "bulletin" and {"html", "docx"} & set(formats):
        from monitor.charts import write_charts
        data.charts = write_charts(data, out, font)
        for name, png in data.charts.items():
            pngs[name] = (out / png).read_bytes()
            charts_svg[name] = (out / png).with_suffix(".svg").read_text("utf-8")
            paths.append(out / png)
    for fmt in formats:
        path = out / f"{kind}.{fmt}"
        tmp = path.with_name(path.name + ".tmp")
        if fmt == "docx":
            from monitor.office_docs import write_docx
            write_docx(data, tmp, pngs)
        elif fmt == "xlsx":
            from monitor.office_docs import write_xlsx
            write_xlsx(data, tmp)
        else:
            tmp.write_text(render(kind, fmt, data, charts_svg), encoding="utf-8")
        tmp.replace(path)  # readers never see a half-written report
        paths.append(path)
    return paths
