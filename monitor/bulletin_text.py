"""The bulletin's words: title, headline, comparison, problems, column names, in Chinese or English.

Every format (HTML, Markdown, Word, Excel) takes its sentences from here, so they never word
the same figure differently. The sentences are built from the figures only; forum content
(titles) enters as data and is escaped by each format's writer.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from monitor.periods import Period, chinese_date, period_name

if TYPE_CHECKING:
    from monitor.bulletin import Bulletin

# the per-unit table: (key, Chinese heading, English heading)
UNIT_COLUMNS = (
    ("rank", "排名", "Rank"), ("unit", "单位", "Unit"), ("received", "受理", "Received"),
    ("answered_in_time", "按时答复", "In time"), ("answered_late", "逾期答复", "Late"),
    ("unanswered", "未答复", "Unanswered"), ("pending", "期限内待答复", "Within deadline"),
    ("in_time_rate", "按时答复率", "In-time rate"), ("median_response_days", "答复用时中位数（天）", "Median days to answer"),
    ("proactive", "主动发布", "Proactive"), ("flagged", "答复质量问题", "Flagged answers"),
    ("followups_unresolved", "追问未答复", "Follow-ups unanswered"), ("last_seen", "发言人最近上线", "Last seen"))
APPENDIX_COLUMNS = (
    ("index", "序号", "#"), ("title", "标题", "Title"), ("unit", "责任单位", "Unit"), ("posted_at", "发帖时间", "Posted"),
    ("due_at", "答复期限", "Due"), ("answered_at", "答复时间", "Answered"), ("waited_text", "等待时长", "Waited"))
FLAG_COLUMNS = (
    ("index", "序号", "#"), ("title", "标题", "Title"), ("unit", "责任单位", "Unit"),
    ("answered_at", "答复时间", "Answered"), ("kind_name", "问题", "Flag"), ("excerpt", "答复内容", "Answer"))
FOLLOWUP_COLUMNS = (
    ("index", "序号", "#"), ("title", "标题", "Title"), ("unit", "责任单位", "Unit"),
    ("answered_at", "答复时间", "Answered"), ("followup_at", "追问时间", "Follow-up"),
    ("state_name", "处理情况", "State"), ("excerpt", "追问内容", "Follow-up text"))
THREAD_COLUMNS = (
    ("forum", "论坛", "Forum"), ("tid", "帖子编号", "Thread id"), ("title", "标题", "Title"), ("unit", "责任单位", "Unit"),
    ("posted_at", "发帖时间", "Posted"), ("due_at", "答复期限", "Due"), ("answered_at", "答复时间", "Answered"),
    ("state_name", "状态", "State"), ("days_to_answer", "答复用时（天）", "Days to answer"), ("hot", "热点", "Hot"),
    ("views", "浏览", "Views"), ("replies", "回复", "Replies"), ("url", "链接", "Link"))
STATE_NAMES = {"zh": {"answered_in_time": "按时答复", "answered_late": "逾期答复", "unanswered": "未答复",
                      "pending": "期限内待答复"},
               "en": {"answered_in_time": "in time", "answered_late": "late", "unanswered": "unanswered",
                      "pending": "within deadline"}}
SECTIONS = {
    "zh": {"basic": "一、基本情况", "problems": "二、存在的问题", "next": "三、下一步工作要求",
           "appendix": "附表1：未在规定时间内答复的帖子", "flags": "附表2：答复质量问题",
           "followups": "附表3：网民追问情况", "notes": "说明", "charts": "图表", "none": "无。",
           "not_answered": "未答复", "hot": "热点"},
    "en": {"basic": "1. Overview", "problems": "2. Problems", "next": "3. What is required next",
           "appendix": "Appendix 1: threads not answered in time", "flags": "Appendix 2: reply-quality flags",
           "followups": "Appendix 3: follow-ups by netizens", "notes": "Notes", "charts": "Charts",
           "none": "None.", "not_answered": "not answered", "hot": "hot"}}
CHART_TITLES = {
    "in_time_rate": ("各单位按时答复率", "In-time rate by unit"),
    "outcomes": ("受理帖子答复情况", "Outcome of received threads"),
    "answer_times": ("答复用时分布", "Time to answer"),
    "weekly": ("每周受理与答复", "Received and answered per week")}


def headings(columns: tuple, lang: str) -> list[str]:
    return [zh if lang == "zh" else en for _, zh, en in columns]


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


def cell(key: str, value, lang: str) -> str:
    """A table cell as text: rates with %, empty values as —, booleans as 是/yes."""
    if value is None or value == "":
        return "—"
    if key.endswith("_rate"):
        return pct(value)
    if key == "last_seen":
        return str(value)[:10]  # the day is what the table needs
    if isinstance(value, bool):
        return ("是" if value else "") if lang == "zh" else ("yes" if value else "")
    return str(value)


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


def comparison_text(b: Bulletin) -> str:
    """The sentence comparing with the previous period."""
    c = b.comparison
    if not c:
        return ""
    zh = b.lang == "zh"
    if not c["received"]:
        return (f"上期（{c['period']}）无受理记录，不作比较。" if zh
                else f"Nothing was received in the previous period ({c['period']}): no comparison.")
    change = c["received_change"]
    share = f"{abs(c['received_change_share']):g}%" if c["received_change_share"] is not None else ""
    if zh:
        moved = f"增加{change}条（{share}）" if change > 0 else f"减少{-change}条（{share}）" if change < 0 else "持平"
        text = f"与上期（{c['period']}）相比，受理量{moved}"
        if c["in_time_rate_change"] is not None:
            d = c["in_time_rate_change"]
            trend = f"上升{d:g}个百分点" if d > 0 else f"下降{-d:g}个百分点" if d < 0 else "持平"
            text += f"，按时答复率由{pct(c['in_time_rate'])}变为{pct(b.in_time_rate)}，{trend}"
        ups = [u for u in c["units"] if u["change"] is not None and u["change"] < 0]
        if ups:
            worst = min(ups, key=lambda u: u["change"])
            text += f"；按时答复率下降最多的是{worst['unit']}（{-worst['change']:g}个百分点）"
        return text + "。"
    moved = (f"up {change} ({share})" if change > 0 else f"down {-change} ({share})" if change < 0 else "unchanged")
    text = f"Compared with the previous period ({c['period']}), threads received are {moved}"
    if c["in_time_rate_change"] is not None:
        text += (f"; the in-time rate went from {pct(c['in_time_rate'])} to {pct(b.in_time_rate)} "
                 f"({c['in_time_rate_change']:+g} points)")
    downs = [u for u in c["units"] if u["change"] is not None and u["change"] < 0]
    if downs:
        worst = min(downs, key=lambda u: u["change"])
        text += f"; the largest fall was {worst['unit']} ({worst['change']:g} points)"
    return text + "."


def problems(b: Bulletin) -> list[str]:
    """二、存在的问题: one sentence per problem, naming units and shares, from the figures."""
    zh = b.lang == "zh"
    out: list[str] = []
    units = [u for u in b.units if u["unit_id"] is not None]
    slow = sorted((u for u in units if u["median_response_days"] is not None),
                  key=lambda u: -u["median_response_days"])[:2]
    if slow and b.response_time["median_days"] is not None:
        listing = ("、" if zh else ", ").join(
            f"{u['unit']}（{u['median_response_days']:g}天）" if zh else f"{u['unit']} ({u['median_response_days']:g} d)"
            for u in slow)
        # judged slow when the slowest unit's median is beyond the rule's deadline (in days)
        late = b.response_time.get("deadline_days") is not None and \
            slow[0]["median_response_days"] > b.response_time["deadline_days"]
        median = b.response_time["median_days"]
        out.append((("答复用时偏长。" if late else "") + f"已答复帖子答复用时中位数为{median:g}天，用时最长的是{listing}。")
                   if zh else (("Answers are slow: the" if late else "The") + f" median time to answer is {median:g} "
                               f"days; slowest: {listing}."))
    most = sorted((u for u in b.units if u["unanswered"]), key=lambda u: -u["unanswered"])[:3]
    if most:
        parts = [f"{u['unit']}未答复{u['unanswered']}条，占该单位受理量的{pct(_share(u['unanswered'], u['received']))}"
                 if zh else f"{u['unit']} left {u['unanswered']} unanswered "
                            f"({pct(_share(u['unanswered'], u['received']))} of what it received)" for u in most]
        out.append(("部分帖子至今未答复。" + "；".join(parts) + "。") if zh else
                   "Threads never answered: " + "; ".join(parts) + ".")
    w = b.answered_within
    if b.received:
        out.append(("答复时效有待提高。" if (w["3"]["share"] or 0) < 90 else "")
                   + f"受理的{b.received}条帖子中，1天内得到答复的占{pct(w['1']['share'])}，"
                   f"3天内占{pct(w['3']['share'])}，7天内占{pct(w['7']['share'])}。" if zh else
                   f"Of the {b.received} threads received, {pct(w['1']['share'])} were answered within 1 day, "
                   f"{pct(w['3']['share'])} within 3 days and {pct(w['7']['share'])} within 7 days.")
    if b.silent.get("10"):
        out.append(f"有{b.silent['10']}条帖子超过10天无人答复，其中超过30天的{b.silent['30']}条。" if zh else
                   f"{b.silent['10']} threads have waited more than 10 days without an answer, "
                   f"{b.silent['30']} of them more than 30 days.")
    hot = [a for a in b.appendix if a["hot"]]
    if hot:
        listing = ("、" if zh else ", ").join(f"《{a['title']}》（{a['unit']}）" if zh else f"“{a['title']}” ({a['unit']})"
                                              for a in hot[:3])
        out.append(f"热点帖未按时答复{len(hot)}条：{listing}。" if zh else
                   f"Hot threads not answered in time: {len(hot)}: {listing}.")
    silent_units = [u["unit"] for u in units if not u["proactive"]]
    if silent_units:
        out.append(f"主动发布信息不够。本期没有主动发布信息的单位有{len(silent_units)}个：{'、'.join(silent_units)}。" if zh
                   else f"Units that published nothing proactively: {', '.join(silent_units)}.")
    for unit in b.inactive_units:
        accounts = [s for s in b.spokespersons if s["unit"] == unit and s["rarely_online"]]
        if zh:
            seen = "；".join(f"账号“{s['account']}”" + (f"最后访问论坛时间为{s['last_visit']}" if s["last_visit"]
                                                     else "未查到登录记录") for s in accounts)
            out.append(f"{unit}的发言人本期在论坛上没有发言" + (f"，{seen}，很少上线" if seen else "") + "。")
        else:
            seen = "; ".join(f"account {s['account']}: " + (f"last visit {s['last_visit']}" if s["last_visit"]
                                                            else "no visit on record") for s in accounts)
            out.append(f"The {unit} spokesperson posted nothing this period" + (f" ({seen}; rarely online)" if seen
                                                                              else "") + ".")
    if b.flags:
        kinds: dict[str, int] = {}
        for f in b.flags:
            kinds[f["kind_name"]] = kinds.get(f["kind_name"], 0) + 1
        by_unit = sorted(((u["unit"], u["flagged"]) for u in b.units if u["flagged"]), key=lambda x: -x[1])
        answers = sum(n for _, n in by_unit)
        if zh:
            out.append(f"部分答复质量不高，存在简单转交、套话雷同、敷衍塞责等情况。共{answers}条答复被标记（"
                       + "、".join(f"{k}{n}条" for k, n in kinds.items()) + "），涉及"
                       + "、".join(f"{u}{n}条" for u, n in by_unit) + "，详见附表2。")
        else:
            out.append(f"{answers} answers were flagged for quality (" + ", ".join(f"{k}: {n}" for k, n in kinds.items())
                       + "): " + ", ".join(f"{u} {n}" for u, n in by_unit) + "; see appendix 2.")
    unresolved = [f for f in b.followups if f["state"] == "unresolved"]
    if unresolved:
        by_unit = _count_by(unresolved)
        out.append(f"网民追问后仍未答复{len(unresolved)}条（" + "、".join(f"{u}{n}条" for u, n in by_unit) +
                   "），问题没有真正解决，详见附表3。" if zh else
                   f"{len(unresolved)} follow-up{'s' if len(unresolved) > 1 else ''} by netizens after the answer "
                   "went unanswered ("
                   + ", ".join(f"{u} {n}" for u, n in by_unit) + "); see appendix 3.")
    if b.estimated_deadlines:
        out.append(f"注意：{b.estimated_deadlines}条帖子的答复期限落在节假日数据尚未公布的年份，按周一至周五估算。" if zh else
                   f"Note: {b.estimated_deadlines} deadlines fall in a year without official holiday data and were "
                   "estimated as Monday to Friday.")
    return out


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole) if whole else None


def _count_by(items: list[dict]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for i in items:
        counts[i["unit"]] = counts.get(i["unit"], 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


def notes(b: Bulletin) -> list[str]:
    """说明: how the figures were counted, and the office's corrections."""
    zh = b.lang == "zh"
    out = [("按时答复率＝按时答复数÷（受理数－尚在期限内数）。答复质量标记只作提示，不改变按时答复的统计。" if zh else
            "In-time rate = answered in time ÷ (received − still within deadline). Reply-quality flags are shown "
            "for attention only and do not change the in-time figures.")]
    actions = {"assign": ("改派", "reassigned"), "exclude": ("不予统计", "excluded"), "include": ("纳入统计", "included")}
    for o in b.overrides:
        zh_name, en_name = actions.get(o["action"], (o["action"], o["action"]))
        if zh:
            target = f"至{o['unit']}" if o["action"] == "assign" and o["unit"] else ""
            out.append(f"《{o['title']}》经{o['by']}于{o['at']}{zh_name}{target}，理由：{o['reason']}。")
        else:
            target = f" to {o['unit']}" if o["action"] == "assign" and o["unit"] else ""
            out.append(f"“{o['title']}” was {en_name}{target} by {o['by']} on {o['at']}: {o['reason']}.")
    return out


def dress(b: Bulletin, period: Period, as_of: datetime, lang: str) -> None:
    """Give a computed bulletin its document parts: title, date line, closing line, problems."""
    name = period_name(period, lang)
    if lang == "zh":
        b.title = f"关于{name}网络发言人工作情况的通报"
        b.issued_on = chinese_date(as_of.date())
        b.as_of_text = f"统计截至{chinese_date(as_of.date())}{as_of.hour}时" + (f"{as_of.minute}分" if as_of.minute else "")
    else:
        b.title = f"Network spokesperson work in {name}: bulletin"
        b.issued_on = f"{as_of:%d %B %Y}"
        b.as_of_text = f"Figures as of {as_of:%d %B %Y %H:%M} ({as_of:%z})"
    for f in b.followups:
        f["state_name"] = {"zh": {"resolved": "已再次答复", "unresolved": "追问未答复", "waiting": "追问待答复"},
                           "en": {"resolved": "answered again", "unresolved": "unanswered",
                                  "waiting": "within deadline"}}[lang][f["state"]]
    for t in b.threads:
        t["state_name"] = STATE_NAMES[lang][t["state"]]
    b.problems = problems(b)
    b.notes = notes(b)
