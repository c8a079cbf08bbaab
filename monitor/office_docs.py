"""The bulletin as a Word document (python-docx) and as an Excel workbook (openpyxl).

Both take every sentence and column heading from ``monitor.bulletin_text``, in the bulletin's
language, so they say what the HTML and Markdown say. Forum content (titles, answers) enters
as plain text: characters XML cannot hold are dropped, and in the workbook every text cell is
stored as a string, never as a formula or an error value, whatever it starts with.

python-docx and openpyxl are imported inside the functions: importing this module is cheap.
"""
from __future__ import annotations

import io
import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.bulletin_text import (APPENDIX_COLUMNS, CHART_TITLES, FLAG_COLUMNS, FOLLOWUP_COLUMNS, SECTIONS,
                                   THREAD_COLUMNS, UNIT_COLUMNS, cell, comparison_text, headings, headline)

if TYPE_CHECKING:
    from monitor.bulletin import Bulletin

CHART_ORDER = ("in_time_rate", "outcomes", "answer_times", "weekly")
DATE_KEYS = {"posted_at", "due_at", "answered_at", "followup_at", "last_seen", "answered_again_at"}
NUMERIC_KEYS = {"index", "rank", "received", "answered_in_time", "answered_late", "unanswered", "pending",
                "in_time_rate", "median_response_days", "proactive", "flagged", "followups_unresolved", "views",
                "replies", "tid", "days_to_answer"}
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HOT_COLUMN = next(c for c in THREAD_COLUMNS if c[0] == "hot")


def _clean(text) -> str:
    """Text as XML (and so Word and Excel) can hold it."""
    return _ILLEGAL.sub("", str(text))


def _is_link(url) -> bool:
    return isinstance(url, str) and url.lower().startswith(("http://", "https://"))


# ---------------------------------------------------------------------------------------------
# Word

# fonts of an official document (GB/T 9704): title in 小标宋 (宋体 where that is missing), headings in
# 黑体, body in 仿宋; Latin text in Times New Roman. Word substitutes what a machine lacks.
_ZH = dict(body_pt=16, title_pt=22, heading_pt=16, office_pt=24, latin="Times New Roman", body="仿宋",
           title="宋体", heading="黑体", line_pt=28, indent_chars=2)
_EN = dict(body_pt=12, title_pt=18, heading_pt=13, office_pt=18, latin="Times New Roman", body="宋体",
           title="宋体", heading="黑体", line_pt=None, indent_chars=0)
_PAGE = dict(width=21.0, height=29.7, top=3.7, bottom=3.5, left=2.8, right=2.6)  # cm, A4
_TEXT_WIDTH_CM = _PAGE["width"] - _PAGE["left"] - _PAGE["right"]
_CHART_WIDTH_CM = 15.0
_TABLE_SIZES = (10.5, 9.0, 8.0, 7.5)  # 五号, 小五, then smaller for wide tables
_CELL_MARGIN_CM = 0.1
_RED = (0xC0, 0x00, 0x00)


def write_docx(b: Bulletin, path: str | Path, chart_pngs: dict[str, bytes] | None = None) -> Path:
    """Write the bulletin as a Word document at ``path`` (exactly that name); ``chart_pngs``
    (chart name → PNG bytes) are inserted after the per-unit table."""
    from docx import Document
    from docx.shared import Cm

    zh = b.lang == "zh"
    look = _ZH if zh else _EN
    s = SECTIONS[b.lang]
    doc = Document()
    _page(doc, look, zh)
    _styles(doc, look, zh)
    props = doc.core_properties
    props.title = _clean(b.title)
    props.author = props.last_modified_by = _clean(b.office.get("name") or "")
    props.language = "zh-CN" if zh else "en"

    if b.office.get("name"):
        _office_header(doc, b.office["name"], look)
    doc.add_paragraph(_clean(b.title), style="SW Title")
    if b.issued_on:
        doc.add_paragraph(_clean(b.issued_on), style="SW Dateline")
    doc.add_paragraph(_clean(headline(b)), style="SW Body")

    doc.add_paragraph(s["basic"], style="Heading 1")
    if comparison := comparison_text(b):
        doc.add_paragraph(_clean(comparison), style="SW Body")
    unit_rows = [[cell(k, u.get(k), b.lang) for k, _, _ in UNIT_COLUMNS] for u in b.units]
    total = [("" if k in ("rank", "last_seen") else cell(k, b.total.get(k), b.lang)) for k, _, _ in UNIT_COLUMNS]
    _table(doc, UNIT_COLUMNS, unit_rows, b.lang, total=total)
    for name in sorted(chart_pngs or {}, key=lambda n: (CHART_ORDER.index(n) if n in CHART_ORDER else 99, n)):
        p = doc.add_paragraph(style="SW Figure")
        shape = p.add_run().add_picture(io.BytesIO(chart_pngs[name]), width=Cm(_CHART_WIDTH_CM))
        title = CHART_TITLES.get(name, (name, name))[0 if zh else 1]
        shape._inline.docPr.set("descr", title)  # alt text
        shape._inline.docPr.set("title", title)

    doc.add_paragraph(s["problems"], style="Heading 1")
    for i, problem in enumerate(b.problems, 1):
        doc.add_paragraph(f"{i}. {_clean(problem)}", style="SW Body")
    if not b.problems:
        doc.add_paragraph(s["none"], style="SW Body")

    if b.next_steps:
        doc.add_paragraph(s["next"], style="Heading 1")
        for step in b.next_steps:
            doc.add_paragraph(_clean(step), style="SW Body")

    heading = doc.add_paragraph(s["appendix"], style="Heading 1")
    heading.paragraph_format.page_break_before = True
    if b.appendix:
        rows = [[str(i), a["title"], a["unit"], a["posted_at"], a["due_at"], a["answered_at"] or s["not_answered"],
                 a["waited_text"]] for i, a in enumerate(b.appendix, 1)]
        _table(doc, APPENDIX_COLUMNS, rows, b.lang, links=[a.get("url") for a in b.appendix],
               hot=[bool(a.get("hot")) and s["hot"] for a in b.appendix])
    else:
        doc.add_paragraph(s["none"], style="SW Body")
    if b.flags:
        doc.add_paragraph(s["flags"], style="Heading 1")
        rows = [[str(i)] + [cell(k, f.get(k), b.lang) for k, _, _ in FLAG_COLUMNS[1:]]
                for i, f in enumerate(b.flags, 1)]
        _table(doc, FLAG_COLUMNS, rows, b.lang, links=[f.get("url") for f in b.flags])
    if b.followups:
        doc.add_paragraph(s["followups"], style="Heading 1")
        rows = [[str(i)] + [cell(k, f.get(k), b.lang) for k, _, _ in FOLLOWUP_COLUMNS[1:]]
                for i, f in enumerate(b.followups, 1)]
        _table(doc, FOLLOWUP_COLUMNS, rows, b.lang, links=[f.get("url") for f in b.followups])

    doc.add_paragraph(s["notes"], style="Heading 1")
    for i, note in enumerate(b.notes, 1):
        doc.add_paragraph(f"{i}. {_clean(note)}", style="SW Body")

    closing = [b.as_of_text, b.office.get("short_name") or b.office.get("name") or "", b.issued_on]
    for i, line in enumerate(x for x in closing if x):
        p = doc.add_paragraph(_clean(line), style="SW Closing")
        if i == 0:
            p.paragraph_format.space_before = _pt(look["body_pt"] * 2)
    path = Path(path)
    doc.save(str(path))
    return path


def _pt(value: float):
    from docx.shared import Pt
    return Pt(value)


def _page(doc, look: dict, zh: bool) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(_PAGE["width"]), Cm(_PAGE["height"])
    section.top_margin, section.bottom_margin = Cm(_PAGE["top"]), Cm(_PAGE["bottom"])
    section.left_margin, section.right_margin = Cm(_PAGE["left"]), Cm(_PAGE["right"])
    section.header_distance, section.footer_distance = Cm(1.5), Cm(2.0)
    # the page number, centred: — 1 — in a Chinese document
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if zh:
        p.add_run("— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    p._p.append(field)
    if zh:
        p.add_run(" —")
    for r in p.runs:
        r.font.size = _pt(14 if zh else 10)


def _fonts(element, latin: str, east_asia: str) -> None:
    """Set the Latin and East Asian fonts of a style or run element (rPr/rFonts), theme fonts removed."""
    from docx.oxml.ns import qn
    rpr = element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _styles(doc, look: dict, zh: bool) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import RGBColor
    styles = doc.styles
    normal = styles["Normal"]
    _fonts(normal.element, look["latin"], look["body"])
    normal.font.size = _pt(look["body_pt"])
    normal.paragraph_format.space_before = normal.paragraph_format.space_after = _pt(0)
    normal.paragraph_format.line_spacing = 1.0
    rpr = normal.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)

    def paragraph_style(name: str):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.quick_style = True
        return style

    body = paragraph_style("SW Body")
    fmt = body.paragraph_format
    if look["line_pt"]:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = _pt(look["line_pt"])
        fmt.first_line_indent = _pt(look["body_pt"] * look["indent_chars"])
        fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    else:
        fmt.line_spacing = 1.15
        fmt.space_after = _pt(6)
    fmt.widow_control = True

    title = paragraph_style("SW Title")
    _fonts(title.element, look["latin"], look["title"])
    title.font.size = _pt(look["title_pt"])
    title.font.bold = True
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_before = _pt(12)
    title.paragraph_format.space_after = _pt(6)
    title.paragraph_format.keep_with_next = True

    office = paragraph_style("SW Office")
    _fonts(office.element, look["latin"], look["title"])
    office.font.size = _pt(look["office_pt"])
    office.font.bold = True
    office.font.color.rgb = RGBColor(*_RED)
    office.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    office.paragraph_format.space_after = _pt(12)

    dateline = paragraph_style("SW Dateline")
    dateline.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    dateline.paragraph_format.space_after = _pt(12)

    closing = paragraph_style("SW Closing")
    closing.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    closing.paragraph_format.right_indent = _pt(look["body_pt"] * 2 if zh else 0)
    closing.paragraph_format.keep_with_next = True

    figure = paragraph_style("SW Figure")
    figure.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    figure.paragraph_format.space_before = figure.paragraph_format.space_after = _pt(6)
    figure.paragraph_format.keep_together = True

    table = paragraph_style("SW Table")
    table.font.size = _pt(10.5)

    heading = styles["Heading 1"]
    _fonts(heading.element, look["latin"], look["heading"])
    heading.font.size = _pt(look["heading_pt"])
    heading.font.bold = not zh  # 黑体 is bold enough
    heading.font.italic = False
    heading.font.color.rgb = RGBColor(0, 0, 0)
    hf = heading.paragraph_format
    hf.space_before, hf.space_after = _pt(look["body_pt"] * 0.5), _pt(look["body_pt"] * 0.25)
    hf.keep_with_next = True
    hf.alignment = WD_ALIGN_PARAGRAPH.LEFT
    if zh:
        hf.first_line_indent = _pt(look["body_pt"] * 2)


def _office_header(doc, name: str, look: dict) -> None:
    """The issuing office in red over a red rule (红头)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    p = doc.add_paragraph(_clean(name), style="SW Office")
    ppr = p._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for attr, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "6"), ("w:color", "%02X%02X%02X" % _RED)):
        bottom.set(qn(attr), value)
    borders.append(bottom)
    ppr.insert_element_before(
        borders, "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
        "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
        "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
        "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
        "w:rPr", "w:sectPr", "w:pPrChange")


# how far the cells of a column may wrap: the fewest em of CJK text on a line
_WRAPPING = {"title": 6.0, "excerpt": 6.0, "unit": 4.0, "kind_name": 4.0, "state_name": 4.0}
_LEFT = {"title", "excerpt", "unit"}


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _em(text: str) -> float:
    """Width of ``text`` in em: CJK characters one em, others about half."""
    return sum(1.0 if _is_wide(ch) else 0.55 for ch in text)


def _min_em(text: str, cjk_min: float | None) -> float:
    """The narrowest a cell can be without breaking a word: Latin words and numbers whole, CJK text
    wrapped at no fewer than ``cjk_min`` em a line (None: not wrapped at all, only at spaces)."""
    widest = 0.0
    for token in text.split():
        if cjk_min is not None and any(_is_wide(ch) for ch in token):
            latin = max((_em(run) for run in re.split(r"[\u2e80-\uffff]+", token) if run), default=0.0)
            widest = max(widest, latin, min(_em(token), cjk_min))
        else:
            widest = max(widest, _em(token))
    return widest


def _column_widths(columns: tuple, texts: list[list[str]], lang: str) -> tuple[float, list[float]]:
    """The table's font size (pt) and column widths (cm): every column wide enough not to break a word
    or a number, long text columns taking what is left; a smaller font when the table is wide."""
    header_want = 4.0 if lang == "zh" else 7.0
    mins, wants = [], []
    for i, (key, zh, en) in enumerate(columns):
        head = zh if lang == "zh" else en
        lo = _min_em(head, 2.0)
        want = max(lo, min(_em(head), header_want))
        for row in texts:
            t = row[i]
            lo = max(lo, _min_em(t, _WRAPPING.get(key)))
            want = max(want, min(_em(t), 24.0) if key in _WRAPPING else _em(t))
        mins.append(lo + 0.3)
        wants.append(max(want, lo) + 0.3)
    padding = 2 * _CELL_MARGIN_CM * len(columns)
    for size in _TABLE_SIZES:
        em_cm = size * 2.54 / 72
        avail = (_TEXT_WIDTH_CM - padding) / em_cm
        if sum(mins) <= avail and (sum(wants) <= avail or (avail - sum(mins)) >= 0.35 * (sum(wants) - sum(mins))):
            break
    if sum(wants) <= avail:
        spare = avail - sum(wants)
        grow = [k in ("title", "excerpt") for k, _, _ in columns]
        if not any(grow):
            grow = [True] * len(columns)
        share = spare / sum(grow)
        widths = [w + (share if g else 0) for w, g in zip(wants, grow)]
    elif sum(mins) <= avail:
        ratio = (avail - sum(mins)) / (sum(wants) - sum(mins))
        widths = [lo + ratio * (w - lo) for lo, w in zip(mins, wants)]
    else:
        widths = [lo * avail / sum(mins) for lo in mins]
    return size, [w * em_cm + 2 * _CELL_MARGIN_CM for w in widths]


def _table(doc, columns: tuple, rows: list[list[str]], lang: str, total: list[str] | None = None,
           links: list | None = None, hot: list | None = None):
    """A gridded table: bold shaded header row repeated on each page, rows kept whole, fixed widths."""
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, RGBColor

    head = headings(columns, lang)
    body = [[_clean(t) for t in row] for row in rows] + ([[_clean(t) for t in total]] if total else [])
    # the hot marker takes room in the title cell too
    sized = [list(r) for r in body]
    for r, marker in zip(sized, hot or []):
        if marker:
            r[1] = f"{r[1]} {marker}"
    size, widths = _column_widths(columns, sized, lang)

    table = doc.add_table(rows=1 + len(body), cols=len(columns))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl_pr = table._tbl.tblPr  # autofit False made its w:tblLayout fixed
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        m = OxmlElement(f"w:{side}")
        m.set(qn("w:w"), str(round(_CELL_MARGIN_CM / 2.54 * 1440)))
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    tbl_pr.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")
    for column, width in zip(table.columns, widths):
        column.width = Cm(width)

    # the style's id, looked up once: python-docx's Paragraph.style setter searches every style of
    # the document on each call, which made a bulletin of a few thousand rows take most of a minute
    cell_style = doc.styles["SW Table"].style_id

    def fill(cell_, text: str, key: str, bold: bool = False, url=None, marker=None) -> None:
        cell_.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        p = cell_.paragraphs[0]
        p._p.style = cell_style
        p.alignment = WD_ALIGN_PARAGRAPH.LEFT if key in _LEFT and not bold else WD_ALIGN_PARAGRAPH.CENTER
        if url and _is_link(url):
            run = _hyperlink(p, url, text, size)
        else:
            run = p.add_run(text)
            run.font.size = _pt(size)
        run.font.bold = bold or None
        if marker:
            flag = p.add_run(f" {marker}")
            flag.font.size = _pt(size)
            flag.font.bold = True
            flag.font.color.rgb = RGBColor(*_RED)

    for i, row in enumerate(table.rows):
        cells = row.cells
        tr_pr = row._tr.get_or_add_trPr()
        cant_split = OxmlElement("w:cantSplit")
        tr_pr.append(cant_split)
        if i == 0:
            header = OxmlElement("w:tblHeader")
            tr_pr.append(header)
        for j, (c, width) in enumerate(zip(cells, widths)):
            c.width = Cm(width)
            key = columns[j][0]
            if i == 0:
                fill(c, head[j], key, bold=True)
                _shade(c, "E7E6E6")
            else:
                r = i - 1
                is_total = total is not None and r == len(body) - 1
                fill(c, body[r][j], key, bold=is_total,
                     url=links[r] if links and key == "title" and r < len(links) else None,
                     marker=hot[r] if hot and key == "title" and r < len(hot) else None)
                if is_total:
                    _shade(c, "F2F2F2")
    doc.add_paragraph(style="Normal").paragraph_format.space_after = _pt(6)  # air below the table
    return table


def _shade(cell_, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell_._tc.get_or_add_tcPr().insert_element_before(
        shd, "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark", "w:headers",
        "w:cellIns", "w:cellDel", "w:cellMerge", "w:tcPrChange")


def _hyperlink(paragraph, url: str, text: str, size: float):
    """A run inside a w:hyperlink to ``url`` (external); returned as a python-docx Run."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import RGBColor
    from docx.text.run import Run
    r_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    link.set(qn("w:history"), "1")
    r = OxmlElement("w:r")
    link.append(r)
    paragraph._p.append(link)
    run = Run(r, paragraph)
    run.text = text
    run.font.size = _pt(size)
    run.font.color.rgb = RGBColor(0x1F, 0x3A, 0x93)
    return run


# ---------------------------------------------------------------------------------------------
# Excel

SHEETS = {"zh": {"units": "单位统计", "appendix": "附表1 未按时答复", "flags": "答复质量", "followups": "追问",
                 "threads": "全部帖子", "notes": "说明"},
          "en": {"units": "Units", "appendix": "Not in time", "flags": "Reply quality", "followups": "Follow-ups",
                 "threads": "All threads", "notes": "Notes"}}
DATE_FORMAT = "yyyy-mm-dd hh:mm"
_FORMATS = {"in_time_rate": "0.0%", "median_response_days": "0.0", "days_to_answer": "0.00"}


def write_xlsx(b: Bulletin, path: str | Path) -> Path:
    """Write the bulletin's tables as an Excel workbook at ``path`` (exactly that name): typed
    cells (numbers, percentages, dates, links), one sheet per table, and a sheet of notes."""
    from openpyxl import Workbook

    names = SHEETS[b.lang]
    s = SECTIONS[b.lang]
    wb = Workbook()
    wb.properties.title = _clean(b.title)
    wb.properties.creator = _clean(b.office.get("name") or "spokeswatch")
    wb.remove(wb.active)

    ws = wb.create_sheet(names["units"])
    _sheet(ws, UNIT_COLUMNS, b.units, b.lang, total=b.total)
    ws = wb.create_sheet(names["appendix"])
    _sheet(ws, APPENDIX_COLUMNS + (_HOT_COLUMN,), b.appendix, b.lang, numbered=True)
    ws = wb.create_sheet(names["flags"])
    _sheet(ws, FLAG_COLUMNS, b.flags, b.lang, numbered=True)
    ws = wb.create_sheet(names["followups"])
    _sheet(ws, FOLLOWUP_COLUMNS, b.followups, b.lang, numbered=True)
    ws = wb.create_sheet(names["threads"])
    _sheet(ws, THREAD_COLUMNS, b.threads, b.lang)
    _notes_sheet(wb.create_sheet(names["notes"]), b, s)
    path = Path(path)
    wb.save(str(path))
    return path


def _text_cell(c, text: str) -> None:
    """A string cell that stays a string: openpyxl would take "=…" for a formula, "#N/A" for an error."""
    c.value = _clean(text)[:32767]
    c.data_type = "s"


def _put(c, key: str, value, lang: str) -> None:
    """One typed cell: numbers as numbers, rates as fractions shown as percent, times as datetimes."""
    if value is None or value == "":
        return
    if isinstance(value, bool):
        if value:
            _text_cell(c, cell(key, value, lang))
        return
    if key.endswith("_rate") and isinstance(value, (int, float)):
        c.value = value / 100
        c.number_format = "0.0%"
        return
    if isinstance(value, (int, float)):
        c.value = value
        if key in _FORMATS:
            c.number_format = _FORMATS[key]
        return
    if key in DATE_KEYS and isinstance(value, str):
        for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                c.value = datetime.strptime(value, fmt)
                c.number_format = DATE_FORMAT
                return
            except ValueError:
                pass
    _text_cell(c, str(value))


def _link(c, url) -> None:
    if _is_link(url):
        c.hyperlink = _clean(url)
        c.style = "Hyperlink"


def _sheet(ws, columns: tuple, rows: list[dict], lang: str, total: dict | None = None,
           numbered: bool = False) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="E7E6E6")
    for j, head in enumerate(headings(columns, lang), 1):
        c = ws.cell(1, j)
        _text_cell(c, head)
        c.font, c.fill = bold, fill
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, row in enumerate(rows, 2):
        for j, (key, _, _) in enumerate(columns, 1):
            c = ws.cell(i, j)
            value = i - 1 if numbered and key == "index" else row.get(key)
            _put(c, key, value, lang)
            if key == "url" or (key == "title" and "url" in row and not any(k == "url" for k, _, _ in columns)):
                _link(c, row.get("url"))
    last = len(rows) + 1
    if total is not None:
        last += 1
        top = Border(top=Side(style="thin"))
        for j, (key, _, _) in enumerate(columns, 1):
            c = ws.cell(last, j)
            if key not in ("rank", "last_seen"):
                _put(c, key, total.get(key), lang)
            c.font, c.border = bold, top
    ws.freeze_panes = "A2"
    # the filter covers the header and the data rows, not the 合计 row
    data_end = len(rows) + 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(data_end, 1)}"
    for j, (key, _, _) in enumerate(columns, 1):
        letter = get_column_letter(j)
        widest = min(_xl_width(ws.cell(1, j).value), 16)
        for i in range(2, last + 1):
            v = ws.cell(i, j).value
            widest = max(widest, 16 if isinstance(v, datetime) else 8 if isinstance(v, float) else _xl_width(v))
        ws.column_dimensions[letter].width = max(6, min(widest + 2, 60))
        if key in ("title", "excerpt"):
            for i in range(2, last + 1):
                ws.cell(i, j).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[1].height = 30


def _xl_width(value) -> float:
    if value is None:
        return 0
    return sum(2 if _is_wide(ch) else 1.1 for ch in str(value))


def _notes_sheet(ws, b: Bulletin, s: dict) -> None:
    from openpyxl.styles import Alignment, Font
    lines: list[tuple[str, str]] = [("title", b.title), ("", b.period.get("name") or b.period.get("label", "")),
                                    ("", b.as_of_text), ("", ""), ("", headline(b))]
    if comparison := comparison_text(b):
        lines.append(("", comparison))
    lines += [("", ""), ("heading", s["problems"])]
    lines += [("", f"{i}. {p}") for i, p in enumerate(b.problems, 1)] or [("", s["none"])]
    if b.next_steps:
        lines += [("", ""), ("heading", s["next"])] + [("", step) for step in b.next_steps]
    lines += [("", ""), ("heading", s["notes"])] + [("", f"{i}. {n}") for i, n in enumerate(b.notes, 1)]
    ws.column_dimensions["A"].width = 110
    for i, (kind, text) in enumerate(lines, 1):
        c = ws.cell(i, 1)
        if text:
            _text_cell(c, text)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        if kind == "title":
            c.font = Font(bold=True, size=14)
        elif kind == "heading":
            c.font = Font(bold=True)
