"""The web view in a real browser (Debian's chromium driven by Playwright): logging in as the office
and as a unit, the overview's figures against bulletin.json, a thread's posts and deadline, a
Chinese search, the XLSX download, a unit refused another unit's thread, and a ``<script>`` title
that stays text. Every page listens for dialogs: none may open."""
from __future__ import annotations

import json

import openpyxl
import pytest

from monitor.case_history import case_history
from monitor.periods import parse_period
from tests.browser import chromium  # noqa: F401 - the fixture
from tests.webview import EVIL_TITLE, PASSWORDS, make_world

Q1 = parse_period("2011Q1")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    yield from make_world(tmp_path_factory.mktemp("browser-web"))


@pytest.fixture
def dialogs() -> list:
    return []


def _page(chromium, world, dialogs, name: str):  # noqa: F811 - the fixture's name
    """A new browser context logged in as ``name`` through the login form."""
    context = chromium.new_context(base_url=world.base, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto("/")
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_the_office_overview_shows_the_bulletins_figures(chromium, world, dialogs, tmp_path):  # noqa: F811
    world.service.write_bulletin(Q1, tmp_path)
    data = json.loads((tmp_path / "bulletin.json").read_text("utf-8"))
    page = _page(chromium, world, dialogs, "office")
    assert page.locator("#viewer-name").inner_text() == "office"
    page.goto("/?period=2011Q1")
    table = page.locator("#period-figures table.figures")
    for unit in data["units"]:
        row = table.locator(f'tr[data-unit="{unit["unit_id"] or ""}"]')
        shown = {k: row.locator(f'td[data-key="{k}"]').inner_text() for k in
                 ("received", "answered_in_time", "answered_late", "unanswered", "pending", "in_time_rate")}
        assert [int(shown[k]) for k in ("received", "answered_in_time", "answered_late", "unanswered", "pending")] \
            == [unit[k] for k in ("received", "answered_in_time", "answered_late", "unanswered", "pending")], unit["unit"]
        assert shown["in_time_rate"] == (f"{unit['in_time_rate']:.1f}%" if unit["in_time_rate"] is not None else "—")
    total = table.locator('tr[data-unit="total"]')
    assert int(total.locator('td[data-key="received"]').inner_text()) == data["received"] == 95
    assert int(total.locator('td[data-key="answered_in_time"]').inner_text()) == data["answered_in_time"] == 39
    # the bar chart has one bar per unit with a rate; overdue by unit adds up
    assert page.locator("#period-figures svg.bars rect.bar").count() == sum(
        1 for u in data["units"] if u["unit_id"] and u["in_time_rate"] is not None)
    counts = [int(t) for t in page.locator("#overdue-by-unit td.num").all_inner_texts()]
    assert sum(counts) == int(page.locator("#overdue-total").inner_text()) > 0
    assert dialogs == []


def test_a_thread_page_shows_its_posts_and_deadline(chromium, world, dialogs):  # noqa: F811
    page = _page(chromium, world, dialogs, "office")
    link = page.locator("#overdue-by-unit a[href^='/thread/']").first
    href = link.get_attribute("href")
    link.click()
    page.wait_for_load_state()
    _, _, forum_id, tid = href.split("/")
    h = case_history(world.config, world.service.repo, forum_id, int(tid))
    assert page.locator("#thread-title").inner_text() == h["thread"]["title"]
    assert page.locator("#posts article.post").count() == len(h["posts"]) > 0
    first = page.locator("#posts article.post").first
    assert h["posts"][0]["author"] in first.locator(".author").inner_text()
    assert page.locator("#case-due").get_attribute("data-due") == h["case"]["due_at"]
    assert h["case"]["due_at"][:16].replace("T", " ") in page.locator("#case-due").inner_text()
    assert page.locator("#case-state").get_attribute("data-state") == "overdue"
    assert page.locator("#forum-link").get_attribute("href").startswith(world.config.forums[0].base_url)
    assert dialogs == []


def test_a_chinese_phrase_is_found_and_a_script_title_stays_text(chromium, world, dialogs):  # noqa: F811
    page = _page(chromium, world, dialogs, "office")
    page.click("nav >> text=搜索")
    page.fill("#search-form input[name=q]", "水压问题")
    page.click("#search-form button[type=submit]")
    page.wait_for_load_state()
    row = page.locator(f'#results tr[data-ref="{world.evil_ref}"]')
    assert row.count() == 1
    assert row.locator("a").first.inner_text() == EVIL_TITLE  # shown as the characters it is
    row.locator("a").first.click()
    page.wait_for_load_state()
    assert page.locator("#thread-title").inner_text() == EVIL_TITLE
    assert page.locator("script").count() == 0
    assert page.locator("img").count() == 0  # the reply's <img onerror> is text too
    assert dialogs == []


def test_the_bulletin_downloads_as_xlsx(chromium, world, dialogs, tmp_path):  # noqa: F811
    page = _page(chromium, world, dialogs, "office")
    page.goto("/bulletin?period=2011Q1")
    assert "2011年第一季度" in page.locator("h1").inner_text()
    with page.expect_download() as info:
        page.click('#downloads a[data-format="xlsx"]')
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name == "bulletin-2011Q1-zh.xlsx"
    book = openpyxl.load_workbook(path)
    numbers = [c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row]
    assert 95 in numbers and 39 in numbers  # received and answered in time, as in bulletin.json
    frame = page.frame_locator("iframe.bulletin")
    assert "截至3月31日，共受理网民意见建议95条" in frame.locator("body").inner_text()
    assert dialogs == []


def test_a_unit_user_cannot_open_or_find_another_units_thread(chromium, world, dialogs):  # noqa: F811
    page = _page(chromium, world, dialogs, "urban")
    assert page.url.endswith("/unit/urban") and page.locator("#unit-name").inner_text() == "市城管局"
    forum_id, tid = world.evil_ref.split(":")
    response = page.goto(f"/thread/{forum_id}/{tid}")
    assert response.status == 403 and "本单位" in page.locator("#error-message").inner_text()
    page.goto("/search?q=水压问题")
    assert page.locator(f'#results tr[data-ref="{world.evil_ref}"]').count() == 0
    own = world.cases("urban")[0]
    assert page.goto(f"/thread/{own[0]}/{own[1]}").status == 200
    assert page.goto("/bulletin").status == 403
    assert dialogs == []
