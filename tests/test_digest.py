"""The nightly digest for the people who must act, on the demo forum around Qingming 2011.

The official calendar of early April 2011: Friday 1 April a working day, Saturday 2 April
worked in lieu (调休), Sunday 3 to Tuesday 5 April off (清明), Wednesday 6 April a working day.
Two threads are added to the demo: one posted Friday 1 April 10:00 (due after 2 working days:
Wednesday 6 April 10:00) and one posted Tuesday 5 April 20:00 that is hot within hours (due in
24 hours). The demo polled as of 5 April also has threads of 2, 3 and 4 April.
"""
from __future__ import annotations

import re
from datetime import date

import chinese_calendar
import pytest

from monitor import notify
from monitor.check import calendar_of
from monitor.demoforum.scenario import DemoPost, DemoThread
from monitor.digest import build_digest, for_unit
from monitor.notify import deliver_digest, message_limit, split_markdown
from monitor.render import render
from monitor.service import Service
from tests.helpers import config_for, local, scenario_copy, start_forum

FRIDAY = local(2011, 4, 1, 0, 0)  # the demo's own "now"
FRIDAY_NIGHT = local(2011, 4, 1, 22, 0)
HOLIDAY_NIGHT = local(2011, 4, 5, 22, 0)  # the last night of 清明
WEDNESDAY_NIGHT = local(2011, 4, 6, 22, 0)
LAMP = "象山大道路灯不亮谁来修"
WATER = "竹皮河小区停水三天了"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The demo polled as of the holiday's last night, checked at each digest time in turn."""
    scenario = scenario_copy()
    pid = max(p.pid for t in scenario.threads for p in t.posts) + 1
    scenario.threads.append(DemoThread(999, 2, LAMP, 6, 30, posts=[
        DemoPost(pid, 3, local(2011, 4, 1, 10, 0), f"{LAMP}\n晚上一片漆黑，走路很危险，请尽快修理。")]))
    scenario.threads.append(DemoThread(998, 4, WATER, 0, 1_000_000, posts=[
        DemoPost(pid + 1, 4, local(2011, 4, 5, 20, 0), "三天没水了，老人孩子怎么办？")]))
    scenario.thread(24).subject = SCRIPT  # an overdue thread of 市城管局 with a hostile title
    forum = start_forum(scenario, at=HOLIDAY_NIGHT)
    svc = Service(config_for(forum, f"sqlite:///{tmp_path_factory.mktemp('digest') / 'db.sqlite3'}"),
                  clock=forum.clock.now)
    svc.poll()
    digests = {}
    for at in (FRIDAY, FRIDAY_NIGHT, HOLIDAY_NIGHT, WEDNESDAY_NIGHT):
        svc.check(at)
        digests[at] = svc.digest(at)
    yield svc, digests
    svc.close()
    forum.stop()


def test_the_calendar_of_qingming_2011():
    assert chinese_calendar.is_workday(date(2011, 4, 1)) and chinese_calendar.is_workday(date(2011, 4, 2))
    assert not any(chinese_calendar.is_workday(date(2011, 4, d)) for d in (3, 4, 5))
    assert chinese_calendar.is_workday(date(2011, 4, 6))


def test_due_soon_comes_first_with_its_deadline_and_working_hours_left(world):
    svc, digests = world
    d = digests[HOLIDAY_NIGHT]
    # the next working day after Tuesday 5 April (a holiday) is Wednesday 6 April: due by its end
    assert (d.next_workday, d.due_soon_until) == ("2011-04-06", "2011-04-07 00:00")
    assert [i["title"] for i in d.due_soon] == [LAMP, WATER]  # soonest first
    lamp, water = d.due_soon
    assert lamp["due_at"] == "2011-04-06 10:00" and lamp["unit"] == "市城管局"
    # 12 hours on the clock, of which the 2 left of Tuesday 5 April are a holiday's
    assert (lamp["time_left_hours"], lamp["time_left_work_hours"]) == (12.0, 10.0)
    assert lamp["excerpt"] == "晚上一片漆黑，走路很危险，请尽快修理。"  # the title's repeat left out
    assert water["hot"] and water["due_at"] == "2011-04-06 20:00" and water["board"] == "供水服务"
    assert water["views"] >= 10000 and water["time_left_work_hours"] == 20.0  # views grow over a week: hot
    md = render("digest", "md", d)
    counts, first = md.index("即将到期 2 条 · 新增逾期 0 条 · 仍逾期"), md.index("## 一、即将到期（2011-04-07 00:00 前到期）")
    assert counts < first < md.index(LAMP) < md.index(WATER) < md.index("## 二、新增逾期")
    assert "期限 2011-04-06 10:00 · 剩余10小时（工作时间）" in md
    assert "期限 2011-04-06 20:00 · 剩余20小时（工作时间）" in md and f"[{WATER}]" in md and "【热点】" in md
    assert md.index("## 二、新增逾期") < md.index("## 三、仍逾期") < md.index("## 四、逾期后答复") \
        < md.index("## 五、追问未解决") < md.index("## 采集状况")


def test_due_soon_hours_reach_past_a_weekend_and_holiday_in_working_hours(world):
    svc, digests = world
    assert digests[FRIDAY_NIGHT].next_workday == "2011-04-02"  # Saturday, worked in lieu
    assert digests[FRIDAY_NIGHT].due_soon == []  # due Wednesday: past the end of Saturday
    longer = svc.config.model_copy(update={"digest": svc.config.digest.model_copy(update={"due_soon_hours": 120})})
    d = build_digest(longer, svc.repo, FRIDAY_NIGHT)
    assert d.due_soon_until == "2011-04-06 22:00"  # 120 hours reach later than the next working day
    [lamp] = d.due_soon
    # 108 hours on the clock; working: Friday 22-24 (2) + Saturday (24) + Wednesday 0-10 (10)
    assert (lamp["time_left_hours"], lamp["time_left_work_hours"]) == (108.0, 36.0)
    assert "剩余36小时（工作时间）" in render("digest", "md", d)


def test_threads_posted_on_a_saturday_worked_in_lieu_and_on_a_holiday(world):
    _, digests = world
    d = digests[WEDNESDAY_NIGHT]
    assert d.next_workday == "2011-04-07" and d.due_soon_until == "2011-04-08 00:00"
    saturday, sunday, monday = d.due_soon
    # posted Saturday 2 April 10:00, a working day: 14 h of it, 24 h of Wednesday, 10 h of Thursday
    assert (saturday["posted_at"], saturday["due_at"]) == ("2011-04-02 10:00", "2011-04-07 10:00")
    assert saturday["time_left_work_hours"] == 12.0
    # posted on holidays: their two working days are Wednesday and Thursday, whole
    assert (sunday["posted_at"], sunday["due_at"]) == ("2011-04-03 10:00", "2011-04-08 00:00")
    assert (monday["posted_at"], monday["due_at"]) == ("2011-04-04 10:00", "2011-04-08 00:00")
    assert sunday["time_left_work_hours"] == monday["time_left_work_hours"] == 26.0
    assert "期限 2011-04-08 00:00 · 剩余26小时（工作时间）" in render("digest", "md", d)


def test_lateness_is_counted_in_working_days_on_the_calendar(world):
    svc, digests = world
    d = digests[WEDNESDAY_NIGHT]
    items = {i["thread_id"]: i for items in d.overdue_by_unit.values() for i in items}
    sign = next(i for i in items.values() if i["title"] == "子陵铺广告牌摇摇欲坠的问题")
    # due Tuesday 29 March 21:09; by Wednesday 6 April 22:00: the rest of 29 March (2 h 51),
    # 30, 31 March, 1 and 2 April (4 whole days), 3-5 April off, 6 April until 22:00 (22 h):
    # 4 days and 24 h 51 of working time, 5 whole working days (8 on the clock)
    assert sign["due_at"] == "2011-03-29 21:09" and sign["late_work_days"] == 5
    md = render("digest", "md", d)
    assert "期限 2011-03-29 21:09 · 超期5个工作日" in md and "超期8天" not in md
    # every overdue case: k whole working days late means k working days after the deadline have
    # passed (for k ≥ 1: a deadline on a day off is 0 days late until a working day has passed)
    # and k + 1 have not
    calendar = calendar_of(svc.config)
    cases = {c.id: c for c in svc.repo.cases_open_at(WEDNESDAY_NIGHT) if c.due_at <= WEDNESDAY_NIGHT}
    assert set(cases) == set(items) and len(items) == d.overdue_total
    for tid, c in cases.items():
        k = items[tid]["late_work_days"]
        passed, not_yet = calendar.add_working_days(c.due_at, k)[0], calendar.add_working_days(c.due_at, k + 1)[0]
        assert (k == 0 or passed <= WEDNESDAY_NIGHT) and WEDNESDAY_NIGHT < not_yet


def test_newly_overdue_are_listed_once_before_the_still_overdue(world):
    _, digests = world
    d = digests[WEDNESDAY_NIGHT]
    assert [i["title"] for i in d.newly_overdue] == [LAMP, WATER]
    assert all(i["late_work_days"] == 0 for i in d.newly_overdue)
    assert d.still_overdue_total == d.overdue_total - 2
    assert LAMP not in [i["title"] for items in d.still_overdue_by_unit.values() for i in items]
    assert d.overdue_by_unit["市城管局"][-1]["title"] == LAMP  # the full list keeps them
    md = render("digest", "md", d)
    assert md.count(f"[{LAMP}]") == 1 and md.index(LAMP) < md.index("## 三、仍逾期")
    assert "超期不足1个工作日" in md
    assert "即将到期 3 条 · 新增逾期 2 条 · 仍逾期 {} 条 · 逾期后答复 0 条 · 追问未解决 1 条（当前逾期未答复共 {} 条）".format(
        d.overdue_total - 2, d.overdue_total) in md


def test_the_unresolved_follow_up_of_the_demo_is_listed(world):
    _, digests = world
    d = digests[FRIDAY]
    [f] = d.followups_unresolved  # 团林铺红绿灯时间太短的问题 got a second answer: resolved
    assert (f["title"], f["unit"], f["followup_excerpt"]) == ("漳河新区绿化带被毁的问题", "市城管局", "还是没解决，到底有没有人管？")
    assert (f["answered_at"], f["followup_at"], f["followup_due_at"]) == (
        "2011-02-20 06:31", "2011-02-22 09:31", "2011-02-24 09:31")
    md = render("digest", "md", d)
    section = md[md.index("## 五、追问未解决"):md.index("## 采集状况")]
    assert "漳河新区绿化带被毁的问题" in section and "追问 2011-02-22 09:31：“还是没解决，到底有没有人管？”" in section
    assert "应于 2011-02-24 09:31 前再答复" in section


def test_a_units_own_digest_does_not_repeat_the_unit(world):
    _, digests = world
    office = render("digest", "md", digests[FRIDAY])
    assert "### 市城管局（" in office  # the office's digest groups by unit …
    under = office[office.index("### 市城管局（"):]
    under = under[:under.index("\n### ", 1)]
    assert "  市城管局 · " not in under  # … without repeating it in each item
    mine = for_unit(digests[FRIDAY], "市城管局")
    md, html = render("digest", "md", mine), render("digest", "html", mine)
    assert md.startswith("# 网络发言人逾期答复日报 2011-04-01 00:00 · 市城管局\n")
    assert "\n### " not in md and "  市城管局 · " not in md and "按单位" not in md
    assert "<h3>" not in html and 'class="unit"' not in html
    assert "漳河新区绿化带被毁的问题" in md and mine.still_overdue_total == 6
    assert "采集状况" not in md  # the office's concern


def test_the_html_reads_on_a_phone_and_escapes_forum_content(world):
    _, digests = world
    html = render("digest", "html", digests[WEDNESDAY_NIGHT])
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<table" not in html
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    links = re.findall(r"<a [^>]*>", html)
    assert links and all('rel="noopener noreferrer nofollow"' in a for a in links)
    md = render("digest", "md", digests[WEDNESDAY_NIGHT])
    assert SCRIPT not in md and "\\<script\\>alert\\(1\\)\\</script\\>" in md


def test_english_wording(world):
    svc, digests = world
    d = build_digest(svc.config, svc.repo, HOLIDAY_NIGHT, lang="en")
    md = render("digest", "md", d)
    assert md.startswith("# Overdue digest 2011-04-05 22:00\n")
    assert "Due soon: 2 · newly overdue: 0 · still overdue:" in md and "## 1. Due soon (by 2011-04-07 00:00)" in md
    assert "due 2011-04-06 10:00 · 10 working hours left" in md and "working days late" in md
    assert "## 5. Unresolved follow-ups" in md and "\\(no unit assigned\\)" in md
    ours = ("# ", "## ", "Due soon:", "  posted", "  to be answered")  # lines of fixed wording, not forum text
    fixed = [line for line in md.splitlines() if line.startswith(ours)]
    assert len(fixed) > 10 and not any(re.search(r"[\u4e00-\u9fff]", line) for line in fixed)  # no Chinese wording
    html = render("digest", "html", d)
    assert "working hours left" in html and 'lang="en"' in html


def _items(md: str) -> list[str]:
    return [b.strip("\n") for b in re.split(r"\n\s*\n", md) if b.startswith("- [")]


def test_the_splitter_keeps_every_item_whole_within_the_limit(world):
    _, digests = world
    md = render("digest", "md", digests[WEDNESDAY_NIGHT])
    assert message_limit("wecombot://key") == 4096 and message_limit("dingtalk://token") == 20000
    assert message_limit("wxteams://token") == 4096 and message_limit("tgram://bot/chat") == 30000
    assert message_limit("mailto://user:pw@example.com") is None and message_limit("json://host/path") is None
    assert split_markdown(md, None) == [md]
    assert split_markdown(md, 30000) == [md]
    for limit in (4096, 2000, 1000):
        parts = split_markdown(md, limit)
        assert len(parts) > 1 and all(len(p.encode()) <= limit for p in parts)
        assert [i for p in parts for i in _items(p)] == _items(md)  # each item once, whole, in order
        for p in parts[1:]:  # a continued section names its heading again
            assert p.startswith("## ")
        assert not any(p.rstrip().split("\n")[-1].startswith("#") for p in parts)  # no heading left alone
    # a block too big for any part is cut at line ends, losing nothing
    big = "# T\n\n## S\n\n- " + "\n".join("第%d行" % n + "字" * 40 for n in range(200))
    parts = split_markdown(big, 1000)
    assert all(len(p.encode()) <= 1000 for p in parts)
    kept = "".join(re.sub(r"^(#[^\n]*\n\n)+", "", p) if i else p for i, p in enumerate(parts))
    assert re.sub(r"\s", "", kept) == re.sub(r"\s", "", big)


def test_a_long_digest_goes_out_in_numbered_parts_after_one_claim(world, inbox, monkeypatch):
    svc, digests = world
    port, received = inbox
    monkeypatch.setitem(notify.MESSAGE_LIMITS, "json", 4000)  # json:// as if it were a small chat robot
    cfg = svc.config.model_copy(update={"digest": svc.config.digest.model_copy(
        update={"notify": [f"json://127.0.0.1:{port}/office"]})})
    d = digests[WEDNESDAY_NIGHT]
    claims = []
    result = deliver_digest(cfg, d, claim=lambda key: claims.append(key) or True)
    assert result.ok and result.sent == ["office"] and len(claims) == 1
    n = len(received)
    assert n > 1
    base = f"网络发言人逾期答复日报 {d.as_of}"
    assert [m["title"] for m in received] == [f"{base} ({i}/{n})" for i in range(1, n + 1)]
    assert all(len(f"# {m['title']}\n{m['message']}".encode()) <= 4000 for m in received)
    sent_items = [i for m in received for i in _items(m["message"])]
    assert sent_items == _items(render("digest", "md", d))
    again = deliver_digest(cfg, d, claim=lambda key: False)  # claimed already: nothing more is sent
    assert again.ok and len(received) == n
