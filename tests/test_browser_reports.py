"""The reports as people see them: `spokeswatch demo --out DIR` in a real headless Chromium.

The rendered bulletin shows the JSON's figures, its charts are drawn with Chinese text,
the PDF Chromium prints on A4 keeps the appendix's columns whole (no column wrapping one
character per line), and the digest fits a phone's width. Screenshots and the PDF are
left in the test's tmp_path.
"""
from __future__ import annotations

import json
import logging
import re

import pytest

from tests.browser import chromium  # noqa: F401  (fixture)
from tests.test_cli import run


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    r = run("demo", "--out", str(out), timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def test_demo_writes_every_format(demo_out):
    for name in ("bulletin.md", "bulletin.html", "bulletin.json", "bulletin.docx", "bulletin.xlsx",
                 "digest.md", "digest.html", "digest.json"):
        assert (demo_out / name).stat().st_size > 0, name
    data = json.loads((demo_out / "bulletin.json").read_text("utf-8"))
    assert set(data["charts"]) == {"in_time_rate", "outcomes", "answer_times", "weekly"}
    for png in data["charts"].values():
        assert (demo_out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_rendered_bulletin_shows_the_figures_of_its_json(demo_out, chromium):
    data = json.loads((demo_out / "bulletin.json").read_text("utf-8"))
    page = chromium.new_page(viewport={"width": 1200, "height": 1000})
    page.goto((demo_out / "bulletin.html").as_uri())
    assert page.inner_text("h1") == "关于2011年第一季度网络发言人工作情况的通报"
    rows = page.eval_on_selector_all("table.units tbody tr",
                                     "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    heads = page.eval_on_selector_all("table.units thead th", "ths => ths.map(t => t.innerText.trim())")
    col = {h: i for i, h in enumerate(heads)}
    total = rows[-1]
    assert total[col["单位"]] == "合计"
    assert int(total[col["受理"]]) == data["received"] == 95
    assert int(total[col["按时答复"]]) == data["answered_in_time"] == 39
    assert total[col["按时答复率"]] == f"{data['in_time_rate']:g}%"
    by_unit = {r[col["单位"]]: r for r in rows[:-1]}
    for u in data["units"]:
        assert int(by_unit[u["unit"]][col["未答复"]]) == u["unanswered"]
    rates = [float(r[col["按时答复率"]].rstrip("%")) for r in rows[:-1] if r[col["排名"]] != "—"
             and r[col["按时答复率"]] != "—"]
    assert rates == sorted(rates, reverse=True)  # ranked by in-time rate
    problems = page.inner_text("ol.problems")
    assert "市供水公司未答复11条，占该单位受理量的58%" in problems
    assert "追问" in problems and "附表2" in problems
    # the charts are drawn inline (no network), with their Chinese titles as text
    svgs = page.eval_on_selector_all("figure svg", "s => s.map(e => [e.getBoundingClientRect().width, "
                                                   "e.textContent])")
    assert len(svgs) == 4 and all(width > 200 for width, _ in svgs)
    assert any("按时答复率" in text for _, text in svgs)
    page.screenshot(path=str(demo_out / "bulletin.png"), full_page=True)
    page.close()


def test_the_printed_bulletin_keeps_the_appendix_columns_whole(demo_out, chromium, tmp_path):
    import pdfplumber
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    data = json.loads((demo_out / "bulletin.json").read_text("utf-8"))
    page = chromium.new_page()
    page.goto((demo_out / "bulletin.html").as_uri())
    pdf_path = tmp_path / "bulletin.pdf"
    page.pdf(path=str(pdf_path), format="A4", print_background=True)
    page.close()
    with pdfplumber.open(pdf_path) as pdf:
        sizes = [(float(p.width), float(p.height)) for p in pdf.pages]
        lines = [line for p in pdf.pages for line in (p.extract_text() or "").splitlines()]
    assert all(abs(w - 595.3) < 1.5 and abs(h - 841.9) < 1.5 for w, h in sizes), sizes  # A4 in points
    assert "序号 标题 责任单位 发帖时间 答复期限 答复时间 等待时长" in lines
    text = "\n".join(lines)
    for a in data["appendix"]:
        # each row's times and wait are whole on one line: the columns did not squeeze them
        assert re.search(rf"{re.escape(a['posted_at'])} {re.escape(a['due_at'])} ", text), a
        assert a["waited_text"] in text
    # a column one character wide prints its words down the page, one character per line
    # (a long title's last character alone on a line is ordinary wrapping)
    one_char = [bool(re.fullmatch(r"[\u4e00-\u9fff]", line)) for line in lines]
    runs = [lines[i:i + 2] for i in range(len(lines) - 1) if one_char[i] and one_char[i + 1]]
    assert runs == [], runs[:5]


def test_the_digest_reads_on_a_phone(demo_out, chromium):
    html = (demo_out / "digest.html").read_text("utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    page = chromium.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto((demo_out / "digest.html").as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    data = json.loads((demo_out / "digest.json").read_text("utf-8"))
    assert str(data["overdue_total"]) in page.inner_text("body")
    page.screenshot(path=str(demo_out / "digest-phone.png"), full_page=True)
    page.close()
