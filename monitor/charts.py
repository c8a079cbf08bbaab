"""The bulletin's charts, drawn offline with matplotlib (Agg): PNG for Word, SVG for HTML.

Four charts: the in-time rate per unit, the outcome of the received threads, the time to
answer, and the threads received and answered per week. Their titles and labels come from
``monitor.bulletin_text`` in the bulletin's language. Unit names are Chinese whatever the
language, so a CJK font is always looked for: ``reports.font`` (a file), else the first
installed of the usual CJK fonts; without one the charts are still drawn (with boxes for
the Chinese characters) and a warning names the packages to install.

matplotlib is imported inside the functions, so importing this module (and starting the
CLI) stays fast. Output is deterministic: no dates in the metadata, fixed SVG ids.
"""
from __future__ import annotations

import io
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from loguru import logger

from monitor.bulletin_text import CHART_TITLES, SECTIONS, UNIT_COLUMNS, pct

if TYPE_CHECKING:
    from monitor.bulletin import Bulletin

CHART_NAMES = ("in_time_rate", "outcomes", "answer_times", "weekly")
# the first of these that is installed draws the Chinese labels; matplotlib names a .ttc by its
# first face, so the Noto/Source Han collections usually show up as their JP face (same glyphs)
FONT_CANDIDATES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "Source Han Sans CN",
                   "Noto Sans CJK JP", "Source Han Sans", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei",
                   "Microsoft YaHei", "PingFang SC")
FALLBACK_FONT = "DejaVu Sans"  # matplotlib's own: digits and symbols the CJK font may lack
# the one chart word bulletin_text has no entry for (the weekly chart's legend)
ANSWERED = {"zh": "答复", "en": "Answered"}

WIDTH_IN = 6.3  # A4 text width (16 cm)
DPI = 200
_COLOURS = {"answered_in_time": "#4e9a55", "answered_late": "#e08a3c", "unanswered": "#c8463d",
            "pending": "#9a9a9a", "bar": "#3b6ea8", "received": "#3b6ea8", "answered": "#4e9a55",
            "line": "#c8463d"}
_lock = threading.Lock()  # rcParams are global: one chart drawn at a time
_warned_no_font = False
_added_fonts: set[str] = set()
_searched_system_fonts = False


def render_charts(b: Bulletin, fmt: str = "png", font: str | None = None) -> dict[str, bytes]:
    """The four charts of ``b`` as ``fmt`` ("png" or "svg"): chart name → file bytes."""
    return _render(b, (fmt,), font)[fmt]


def write_charts(b: Bulletin, out_dir: str | Path, font: str | None = None) -> dict[str, str]:
    """Write ``charts/<name>.png`` and ``charts/<name>.svg`` under ``out_dir``; return chart name →
    the PNG's path relative to ``out_dir`` (its SVG is beside it)."""
    out = Path(out_dir)
    (out / "charts").mkdir(parents=True, exist_ok=True)
    for fmt, charts in _render(b, ("png", "svg"), font).items():
        for name, data in charts.items():
            path = out / "charts" / f"{name}.{fmt}"
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # readers never see a half-written chart
    return {name: f"charts/{name}.png" for name in CHART_NAMES}


def _render(b: Bulletin, fmts: tuple[str, ...], font: str | None) -> dict[str, dict[str, bytes]]:
    """Each chart drawn once and saved in each of ``fmts``: format → chart name → bytes."""
    for fmt in fmts:
        if fmt not in ("png", "svg"):
            raise ValueError(f"chart format must be png or svg, not {fmt!r}")
    import matplotlib
    families = font_families(font)
    weight = "bold" if _has_bold(families[0]) else "normal"
    out: dict[str, dict[str, bytes]] = {fmt: {} for fmt in fmts}
    with _lock:
        for name in CHART_NAMES:
            rc = {"font.family": families, "font.size": 9, "axes.unicode_minus": False,
                  "svg.hashsalt": f"spokeswatch-{name}", "svg.fonttype": "path", "axes.titlesize": 11,
                  "axes.titleweight": weight, "axes.spines.top": False, "axes.spines.right": False}
            with matplotlib.rc_context(rc):
                fig = _DRAW[name](b, weight)
                for fmt in fmts:
                    out[fmt][name] = _save(fig, fmt, _title(name, b.lang))
    return out


def font_families(font: str | None = None) -> list[str]:
    """The font family list for the charts: the CJK font first, matplotlib's own after it."""
    global _warned_no_font
    from matplotlib import font_manager
    if font:
        path = Path(font)
        if path.is_file():
            try:
                if str(path) not in _added_fonts:  # once: addfont appends to the font list each time
                    font_manager.fontManager.addfont(str(path))
                    _added_fonts.add(str(path))
                return [font_manager.FontProperties(fname=str(path)).get_name(), FALLBACK_FONT]
            except (OSError, RuntimeError, ValueError) as exc:
                logger.warning("chart font {} cannot be read ({}); looking for an installed CJK font", font, exc)
        else:
            logger.warning("chart font {} does not exist; looking for an installed CJK font", font)
    for attempt in range(2):
        installed = {f.name for f in font_manager.fontManager.ttflist}
        for name in FONT_CANDIDATES:
            if name in installed:
                return [name, FALLBACK_FONT]
        if attempt == 0 and not _add_system_cjk_fonts():
            break
    if not _warned_no_font:
        _warned_no_font = True
        logger.warning("no CJK font found for the charts: Chinese labels will not render. Install one "
                       "(Debian/Ubuntu: apt-get install fonts-noto-cjk, or fonts-wqy-microhei) or set "
                       "reports.font to a font file")
    return [FALLBACK_FONT]


_CJK_FILE = re.compile(r"(wqy|NotoSansCJK|NotoSerifCJK|SourceHanSans|simhei|msyh)", re.IGNORECASE)


def _add_system_cjk_fonts() -> bool:
    """Add the CJK font files installed after matplotlib cached its font list (its cache never
    notices new fonts); True if any was added. Looked for once per process."""
    global _searched_system_fonts
    if _searched_system_fonts:
        return False
    _searched_system_fonts = True
    from matplotlib import font_manager
    added = False
    for path in font_manager.findSystemFonts():
        if _CJK_FILE.search(Path(path).name) and path not in _added_fonts:
            try:
                font_manager.fontManager.addfont(path)
                _added_fonts.add(path)
                added = True
            except (OSError, RuntimeError, ValueError):
                continue
    return added


def _has_bold(family: str) -> bool:
    """Whether ``family`` has a bold face (WenQuanYi has not: matplotlib would complain)."""
    from matplotlib import font_manager
    return any(f.name == family and _weight(f.weight) >= 600 for f in font_manager.fontManager.ttflist)


def _weight(w) -> int:
    from matplotlib.font_manager import weight_dict
    return w if isinstance(w, int) else weight_dict.get(w, 400)


def _save(fig, fmt: str, title: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "svg":
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        text = buf.getvalue().decode("utf-8")
        # no XML prolog or DOCTYPE: the SVG stays valid on its own and can be inlined into HTML;
        # the glyphs are paths, so the title is also given as text (<title>: accessible, searchable)
        text = text[text.find("<svg"):]
        head = text.find(">") + 1
        return (text[:head] + f"\n <title>{escape(title)}</title>" + text[head:]).encode("utf-8")
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _figure(height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _title(name: str, lang: str) -> str:
    zh, en = CHART_TITLES[name]
    return zh if lang == "zh" else en


def _heading(key: str, lang: str) -> str:
    return next(zh if lang == "zh" else en for k, zh, en in UNIT_COLUMNS if k == key)


def _nothing(ax, lang: str) -> None:
    """An empty chart says so (无。) rather than drawing empty axes."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, SECTIONS[lang]["none"], ha="center", va="center", transform=ax.transAxes, fontsize=11,
            color="#555555")


def _in_time_rate(b: Bulletin, weight: str):
    from matplotlib.ticker import PercentFormatter
    rows = [u for u in b.units if u["unit_id"] is not None and u["in_time_rate"] is not None]
    fig = _figure(max(2.4, 0.9 + 0.32 * len(rows)))
    ax = fig.add_subplot()
    ax.set_title(_title("in_time_rate", b.lang))
    if not rows:
        _nothing(ax, b.lang)
        return fig
    names = [u["unit"] for u in rows]
    values = [u["in_time_rate"] for u in rows]
    bars = ax.barh(range(len(rows)), values, color=_COLOURS["bar"], height=0.62, zorder=2)
    ax.set_yticks(range(len(rows)), names)
    ax.invert_yaxis()  # the first ranked on top
    for label in ax.bar_label(bars, labels=[pct(v) for v in values], padding=3, fontsize=8):
        label.set_bbox({"facecolor": "white", "edgecolor": "none", "pad": 0.6})  # legible over the line
        label.set_zorder(4)
    if b.in_time_rate is not None:
        ax.axvline(b.in_time_rate, color=_COLOURS["line"], linestyle="--", linewidth=1, zorder=3,
                   label=f"{b.total.get('unit') or _heading('unit', b.lang)} {pct(b.in_time_rate)}")
        ax.legend(loc="lower right", fontsize=8, frameon=True)
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20))
    ax.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.grid(axis="x", color="#dddddd", linewidth=0.6, zorder=0)
    ax.tick_params(axis="y", length=0)
    return fig


def _outcomes(b: Bulletin, weight: str):
    from monitor.bulletin import rate
    keys = ("answered_in_time", "answered_late", "unanswered", "pending")
    counts = {k: getattr(b, k) for k in keys}
    fig = _figure(3.2)
    ax = fig.add_subplot()
    ax.set_title(_title("outcomes", b.lang))
    shown = [k for k in keys if counts[k]]
    if not shown:
        _nothing(ax, b.lang)
        return fig
    total = sum(counts.values())
    labels = [f"{_heading(k, b.lang)}  {counts[k]}（{pct(rate(counts[k], total))}）" if b.lang == "zh"
              else f"{_heading(k, b.lang)}  {counts[k]} ({pct(rate(counts[k], total))})" for k in shown]
    wedges, _ = ax.pie([counts[k] for k in shown], colors=[_COLOURS[k] for k in shown], startangle=90,
                       counterclock=False, wedgeprops={"width": 0.42, "edgecolor": "white", "linewidth": 1.5})
    ax.text(0, 0.08, str(total), ha="center", va="center", fontsize=16, fontweight=weight)
    ax.text(0, -0.2, _heading("received", b.lang), ha="center", va="center", fontsize=9, color="#555555")
    ax.legend(wedges, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9)
    ax.set_aspect("equal")
    return fig


def _answer_times(b: Bulletin, weight: str):
    from matplotlib.ticker import MaxNLocator
    buckets = b.answer_time_buckets
    fig = _figure(2.8)
    ax = fig.add_subplot()
    ax.set_title(_title("answer_times", b.lang))
    if not buckets or not any(x["count"] for x in buckets):
        _nothing(ax, b.lang)
        return fig
    bars = ax.bar(range(len(buckets)), [x["count"] for x in buckets], color=_COLOURS["bar"], width=0.62, zorder=2)
    ax.set_xticks(range(len(buckets)), [x["label"] for x in buckets])
    ax.bar_label(bars, padding=2, fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.15)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6, zorder=0)
    ax.tick_params(axis="x", length=0)
    return fig


def _weekly(b: Bulletin, weight: str):
    from matplotlib.ticker import MaxNLocator
    weeks = b.weekly
    fig = _figure(2.9)
    ax = fig.add_subplot()
    ax.set_title(_title("weekly", b.lang))
    if not weeks:
        _nothing(ax, b.lang)
        return fig
    xs = range(len(weeks))
    width = 0.38
    ax.bar([x - width / 2 for x in xs], [w["received"] for w in weeks], width, color=_COLOURS["received"],
           label=_heading("received", b.lang), zorder=2)
    ax.bar([x + width / 2 for x in xs], [w["answered"] for w in weeks], width, color=_COLOURS["answered"],
           label=ANSWERED[b.lang], zorder=2)
    step = max(1, -(-len(weeks) // 14))  # at most about 14 date labels
    ticks = list(xs)[::step]
    ax.set_xticks(ticks, [weeks[i]["week"][5:] for i in ticks], fontsize=8)  # the Monday, MM-DD
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", color="#dddddd", linewidth=0.6, zorder=0)
    ax.legend(loc="upper right", fontsize=8, frameon=False, ncols=2)
    ax.margins(x=0.01, y=0.18)
    ax.tick_params(axis="x", length=0)
    return fig


_DRAW = {"in_time_rate": _in_time_rate, "outcomes": _outcomes, "answer_times": _answer_times, "weekly": _weekly}
