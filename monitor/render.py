"""Render bulletins and digests to Markdown, HTML and JSON (Chinese, or English).

Forum content is untrusted: HTML output is autoescaped, Markdown output has
its table and link syntax escaped.
"""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from monitor.bulletin import Bulletin
from monitor.digest import Digest

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+|!])")
_env = Environment(loader=PackageLoader("monitor", "templates"), autoescape=select_autoescape(["html", "html.j2"]),
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_env.filters["md"] = lambda s: _MD_SPECIAL.sub(r"\\\1", str(s)).replace("\n", " ")
_env.filters["mdurl"] = lambda s: str(s).replace(")", "%29").replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def _as_of_day(b: Bulletin) -> date:
    """The last day the figures cover: the period's last day, or the as-of day if earlier."""
    return min(date.fromisoformat(b.as_of[:10]), date.fromisoformat(b.period["end"]))


def headline(b: Bulletin) -> str:
    """The bulletin's opening paragraph."""
    day = _as_of_day(b)
    units = b.proactive["by_unit"]
    if b.lang == "en":
        listing = ", ".join(f"{u} {n}" for u, n in units.items())
        text = (f"As of {day:%d %B %Y}, {b.received} netizen opinions and suggestions were received; "
                f"{b.answered_in_time} got a spokesperson's answer within the required time and "
                f"{b.not_in_time} did not ({b.answered_late} answered late, {b.unanswered} not answered; "
                f"see the appendix). ")
        if b.pending:
            text += f"{b.pending} are still within their deadline. "
        text += f"Spokesperson units published {b.proactive['total']} items proactively"
        return text + (f": {listing}." if listing else ".")
    listing = "、".join(f"{u}{n}条" for u, n in units.items())
    text = (f"截至{day.month}月{day.day}日，共受理网民意见建议{b.received}条，其中在规定时间内得到发言人答复的"
            f"{b.answered_in_time}条，未在规定时间内答复的{b.not_in_time}条（逾期答复{b.answered_late}条，"
            f"至今未答复{b.unanswered}条，详见附表）。")
    if b.pending:
        text += f"另有{b.pending}条尚在答复期限内。"
    text += f"各发言人单位主动发布信息{b.proactive['total']}条"
    return text + (f"，其中{listing}。" if listing else "。")


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
