"""The bulletin as Word, Excel and charts: written from the demo quarter, then read back."""
from __future__ import annotations

import copy
import dataclasses
import shutil
import warnings
from datetime import datetime
from pathlib import Path

import pytest

from monitor.bulletin_text import (APPENDIX_COLUMNS, CHART_TITLES, FLAG_COLUMNS, FOLLOWUP_COLUMNS, SECTIONS,
                                   THREAD_COLUMNS, UNIT_COLUMNS, comparison_text, headings, headline)
from monitor.periods import parse_period
from monitor.service import Service
from tests.helpers import config_for, local, scenario_copy, start_forum

Q1 = parse_period("2011Q1")
FORMULA_TITLE = '=HYPERLINK("http://evil.example/","点我")'
CHARTS = ("in_time_rate", "outcomes", "answer_times", "weekly")


@pytest.fixture(scope="module")
def bulletins(tmp_path_factory):
    """The demo quarter polled once, one unanswered thread retitled as a formula; its bulletin in
    Chinese and in English."""
    tmp = tmp_path_factory.mktemp("office")
    scenario = scenario_copy()
    victim = next(t for t in scenario.threads if t.fid == 2 and all(p.uid < 30 for p in t.posts)
                  and t.posts[0].at < local(2011, 3, 1))
    victim.subject = FORMULA_TITLE
    forum = start_forum(scenario)
    svc = Service(config_for(forum, f"sqlite:///{tmp / 'db.sqlite3'}"), clock=forum.clock.now)
    try:
        svc.poll()
        svc.check()
        yield {"zh": svc.bulletin(Q1, lang="zh"), "en": svc.bulletin(Q1, lang="en")}
    finally:
        svc.close()
        forum.stop()


@pytest.fixture(scope="module")
def pngs(bulletins):
    from monitor.charts import render_charts
    return render_charts(bulletins["zh"], "png")


# ---------------------------------------------------------------------------------------------
# Excel

def _rows(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_workbook_figures_equal_the_bulletins(bulletins, tmp_path):
    from openpyxl import load_workbook
    from monitor.office_docs import write_xlsx
    b = bulletins["zh"]
    assert (b.received, b.answered_in_time, b.not_in_time) == (95, 39, 56)  # the demo quarter
    path = write_xlsx(b, tmp_path / "bulletin.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["单位统计", "附表1 未按时答复", "答复质量", "追问", "全部帖子", "说明"]

    ws = wb["单位统计"]
    rows = _rows(ws)
    keys = [k for k, _, _ in UNIT_COLUMNS]
    assert rows[0] == headings(UNIT_COLUMNS, "zh")
    assert len(rows) == 1 + len(b.units) + 1
    for row, unit in zip(rows[1:], b.units):
        got = dict(zip(keys, row))
        assert got["unit"] == unit["unit"] and got["rank"] == unit["rank"]
        for key in ("received", "answered_in_time", "answered_late", "unanswered", "pending", "proactive",
                    "flagged", "followups_unresolved", "median_response_days"):
            assert got[key] == unit[key], key
        assert got["in_time_rate"] == (None if unit["in_time_rate"] is None
                                       else pytest.approx(unit["in_time_rate"] / 100))
        if unit["last_seen"]:
            assert got["last_seen"] == datetime.strptime(unit["last_seen"], "%Y-%m-%d %H:%M")
    total = dict(zip(keys, rows[-1]))
    assert total["unit"] == "合计"
    assert (total["received"], total["answered_in_time"], total["answered_late"], total["unanswered"],
            total["pending"]) == (b.received, b.answered_in_time, b.answered_late, b.unanswered, b.pending)
    assert total["in_time_rate"] == pytest.approx(b.in_time_rate / 100) == pytest.approx(0.411)
    rate_cell = ws.cell(len(rows), keys.index("in_time_rate") + 1)
    assert rate_cell.data_type == "n" and rate_cell.number_format == "0.0%"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:M{1 + len(b.units)}"  # not the 合计 row
    assert ws.cell(1, 1).font.bold

    ws = wb["附表1 未按时答复"]
    rows = _rows(ws)
    assert rows[0][:len(APPENDIX_COLUMNS)] == headings(APPENDIX_COLUMNS, "zh")
    assert len(rows) - 1 == len(b.appendix) == 56
    assert [r[0] for r in rows[1:]] == list(range(1, len(b.appendix) + 1))
    for row, a in zip(rows[1:], b.appendix):
        assert row[1] == a["title"] and row[2] == a["unit"]
        assert isinstance(row[3], datetime) and row[3] == datetime.strptime(a["posted_at"], "%Y-%m-%d %H:%M")
        assert isinstance(row[4], datetime)
        assert (row[5] is None) == (a["answered_at"] is None)
    assert ws.cell(2, 4).number_format == "yyyy-mm-dd hh:mm"
    assert ws.cell(2, 2).hyperlink.target == b.appendix[0]["url"]

    # the formula-looking title stays the forum's text, stored as a string
    hits = [c for sheet in wb.worksheets for row in sheet.iter_rows() for c in row if c.value == FORMULA_TITLE]
    assert len(hits) >= 2  # the appendix and the sheet of every thread
    assert all(c.data_type == "s" for c in hits)
    import zipfile
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml  # no formula anywhere

    assert len(_rows(wb["答复质量"])) - 1 == len(b.flags) > 0
    assert _rows(wb["答复质量"])[0] == headings(FLAG_COLUMNS, "zh")
    assert len(_rows(wb["追问"])) - 1 == len(b.followups) > 0
    assert _rows(wb["追问"])[0] == headings(FOLLOWUP_COLUMNS, "zh")

    ws = wb["全部帖子"]
    rows = _rows(ws)
    assert rows[0] == headings(THREAD_COLUMNS, "zh") and len(rows) - 1 == len(b.threads) == b.received
    keys = [k for k, _, _ in THREAD_COLUMNS]
    first = dict(zip(keys, rows[1]))
    assert first["tid"] == b.threads[0]["tid"] and isinstance(first["views"], int)
    assert ws.cell(2, keys.index("url") + 1).hyperlink.target == b.threads[0]["url"]
    answered = [dict(zip(keys, r)) for r in rows[1:] if r[keys.index("answered_at")] is not None]
    assert answered and all(isinstance(r["answered_at"], datetime) and isinstance(r["days_to_answer"], (int, float))
                            for r in answered)

    notes = [r[0] for r in _rows(wb["说明"])]
    assert notes[0] == b.title and b.as_of_text in notes and b.period["name"] in notes
    assert SECTIONS["zh"]["problems"] in notes and all(any(p in n for n in notes if n) for p in b.problems)
    assert all(any(n in line for line in notes if line) for n in b.notes)


def test_workbook_in_english(bulletins, tmp_path):
    from openpyxl import load_workbook
    from monitor.office_docs import write_xlsx
    b = bulletins["en"]
    wb = load_workbook(write_xlsx(b, tmp_path / "bulletin.xlsx"))
    assert wb.sheetnames == ["Units", "Not in time", "Reply quality", "Follow-ups", "All threads", "Notes"]
    assert _rows(wb["Units"])[0] == headings(UNIT_COLUMNS, "en")
    assert _rows(wb["Units"])[-1][1] == "Total"
    assert _rows(wb["Notes"])[0][0] == b.title
    states = {r[7] for r in _rows(wb["All threads"])[1:]}
    assert states <= {"in time", "late", "unanswered", "within deadline"}


def test_workbook_text_never_becomes_a_formula_or_an_error(bulletins, tmp_path):
    from openpyxl import load_workbook
    from monitor.office_docs import write_xlsx
    b = copy.deepcopy(bulletins["zh"])
    odd = ["#N/A", "=1+1", "+1", "@SUM(A1)", "-2", "title\x07with a bell"]
    for thread, title in zip(b.threads, odd):
        thread["title"] = title
    wb = load_workbook(write_xlsx(b, tmp_path / "odd.xlsx"))
    titles = [r[2] for r in _rows(wb["全部帖子"])[1:len(odd) + 1]]
    assert titles == odd[:-1] + ["titlewith a bell"]  # a control character XML cannot hold is dropped
    assert all(c.data_type == "s" for c in wb["全部帖子"]["C"][1:len(odd) + 1])


# ---------------------------------------------------------------------------------------------
# Word

def _texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def test_word_document_reads_back(bulletins, pngs, tmp_path):
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from monitor.office_docs import write_docx
    b = bulletins["zh"]
    path = write_docx(b, tmp_path / "bulletin.docx", pngs)
    doc = Document(str(path))
    texts = _texts(doc)
    title = next(p for p in doc.paragraphs if p.text == b.title)
    assert title.style.name == "SW Title" and title.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert texts.index(b.office["name"]) < texts.index(b.title) < texts.index(b.issued_on)
    assert headline(b) in texts and comparison_text(b) in texts
    for key in ("basic", "problems", "next", "appendix", "flags", "followups", "notes"):
        assert SECTIONS["zh"][key] in texts, key
    assert [t for t in texts if t.startswith("1. ")][0] == f"1. {b.problems[0]}"
    assert all(f"{i}. {p}" in texts for i, p in enumerate(b.problems, 1))
    assert all(step in texts for step in b.next_steps)
    assert texts[-3:] == [b.as_of_text, b.office["short_name"], b.issued_on]

    units, appendix, flags, followups = doc.tables
    assert [c.text for c in units.rows[0].cells] == headings(UNIT_COLUMNS, "zh")
    assert len(units.rows) == 1 + len(b.units) + 1
    total = [c.text for c in units.rows[-1].cells]
    assert total[1:4] == ["合计", "95", "39"] and "41.1%" in total
    assert [c.text for c in units.rows[1].cells][1] == b.units[0]["unit"]
    assert [c.text for c in appendix.rows[0].cells] == headings(APPENDIX_COLUMNS, "zh")
    assert len(appendix.rows) - 1 == len(b.appendix)
    assert [r.cells[0].text for r in appendix.rows[1:]] == [str(i) for i in range(1, len(b.appendix) + 1)]
    assert any(r.cells[1].text == FORMULA_TITLE for r in appendix.rows[1:])  # forum text, as text
    assert any(r.cells[1].text.endswith(" " + SECTIONS["zh"]["hot"]) for r in appendix.rows[1:])
    assert len(flags.rows) - 1 == len(b.flags) and len(followups.rows) - 1 == len(b.followups)
    for table in doc.tables:  # fixed widths within the text width (15.6 cm), no column squeezed
        widths = [c.width.cm for c in table.columns]
        assert sum(widths) == pytest.approx(15.6, abs=0.05) and min(widths) > 0.7
        assert table.style.name == "Table Grid"

    assert len(doc.inline_shapes) == len(pngs) == 4
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    fonts = doc.styles["Normal"].element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == "仿宋"
    assert path.read_bytes()[:2] == b"PK"


def test_word_document_in_english_without_next_steps_or_charts(bulletins, tmp_path):
    from docx import Document
    from monitor.office_docs import write_docx
    b = dataclasses.replace(bulletins["en"], next_steps=[])
    doc = Document(str(write_docx(b, tmp_path / "en.docx", None)))
    texts = _texts(doc)
    assert b.title in texts and headline(b) in texts
    assert SECTIONS["en"]["basic"] in texts and SECTIONS["en"]["appendix"] in texts
    assert SECTIONS["en"]["next"] not in texts  # no next steps: no section
    assert not any(SECTIONS["zh"][k] in texts for k in ("basic", "problems", "appendix", "notes"))
    assert [c.text for c in doc.tables[0].rows[0].cells] == headings(UNIT_COLUMNS, "en")
    assert doc.tables[0].rows[-1].cells[1].text == "Total"
    assert len(doc.inline_shapes) == 0


def test_an_empty_quarter_writes_every_format(bulletins, tmp_path):
    """A period with nothing received: charts say so, tables are empty, nothing fails."""
    from docx import Document
    from openpyxl import load_workbook
    from monitor.charts import write_charts
    from monitor.office_docs import write_docx, write_xlsx
    b = dataclasses.replace(
        bulletins["zh"], received=0, answered_in_time=0, answered_late=0, unanswered=0, pending=0, not_in_time=0,
        units=[dict(u, in_time_rate=None, received=0) for u in bulletins["zh"].units], appendix=[], flags=[],
        followups=[], threads=[], weekly=[], answer_time_buckets=[], problems=[], in_time_rate=None)
    charts = write_charts(b, tmp_path)
    assert sorted(charts) == sorted(CHARTS)
    doc = Document(str(write_docx(b, tmp_path / "empty.docx", {n: (tmp_path / p).read_bytes()
                                                               for n, p in charts.items()})))
    assert SECTIONS["zh"]["none"] in _texts(doc) and len(doc.tables) == 1
    wb = load_workbook(write_xlsx(b, tmp_path / "empty.xlsx"))
    assert wb["附表1 未按时答复"].max_row == 1


# ---------------------------------------------------------------------------------------------
# charts

def _not_blank(png: Path) -> None:
    import numpy as np
    from matplotlib import image
    pixels = image.imread(str(png))[..., :3]
    assert pixels.shape[1] >= 1000  # about 16 cm at 200 dpi
    coloured = (pixels < 0.95).any(axis=-1).mean()
    assert coloured > 0.03, png
    assert len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 20, png


def test_charts_are_drawn_with_their_chinese_labels(bulletins, tmp_path):
    import matplotlib
    from monitor.charts import render_charts, write_charts
    b = bulletins["zh"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = write_charts(b, tmp_path)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing[:3]
    assert written == {name: f"charts/{name}.png" for name in CHARTS}
    for name in CHARTS:
        png, svg = tmp_path / "charts" / f"{name}.png", tmp_path / "charts" / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        _not_blank(png)
        text = svg.read_text("utf-8")
        assert text.startswith("<svg") and "<dc:date>" not in text
    # the check above would see boxes: a Latin-only font does warn, and draws other pixels
    latin = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        boxes = render_charts(b, "png", font=latin)
    assert any("missing from font" in str(w.message) for w in caught)
    assert boxes["in_time_rate"] != (tmp_path / "charts" / "in_time_rate.png").read_bytes()
    # deterministic: the same bulletin draws the same bytes
    assert render_charts(b, "svg") == render_charts(b, "svg")
    assert render_charts(b, "png")["weekly"] == (tmp_path / "charts" / "weekly.png").read_bytes()
    out = tmp_path / "chart-pngs"  # a copy to look at
    shutil.copytree(tmp_path / "charts", out)
    assert len(list(out.glob("*.png"))) == 4


def test_chart_titles_follow_the_language(bulletins):
    from monitor.charts import render_charts
    for lang, i in (("zh", 0), ("en", 1)):
        svgs = render_charts(bulletins[lang], "svg")
        assert sorted(svgs) == sorted(CHARTS)
        for name, svg in svgs.items():
            # glyphs are drawn as paths; the title is there as text too
            assert f"<title>{CHART_TITLES[name][i]}</title>" in svg.decode("utf-8"), (lang, name)


def test_a_missing_cjk_font_is_warned_about_once(bulletins, monkeypatch, caplog_loguru):
    from monitor import charts
    monkeypatch.setattr(charts, "FONT_CANDIDATES", ("No Such Font SC",))
    monkeypatch.setattr(charts, "_warned_no_font", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the glyph warnings this test expects
        assert charts.font_families() == [charts.FALLBACK_FONT]
        assert charts.font_families() == [charts.FALLBACK_FONT]
    warned = [m for m in caplog_loguru if "no CJK font" in m]
    assert len(warned) == 1 and "fonts-noto-cjk" in warned[0] and "fonts-wqy-microhei" in warned[0]


def test_a_configured_font_file_is_used(bulletins):
    from matplotlib import font_manager
    from monitor import charts
    path = font_manager.findfont(font_manager.FontProperties(family="WenQuanYi Micro Hei"))
    if "wqy" not in path.lower():
        pytest.skip("WenQuanYi Micro Hei is not installed")
    assert charts.font_families(path)[0] == "WenQuanYi Micro Hei"
    assert charts.font_families("/nonexistent/font.ttf")[0] in charts.FONT_CANDIDATES
