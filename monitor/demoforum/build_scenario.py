"""Build the bundled demo scenario: a city's forum in the first quarter of 2011.

Run ``python -m monitor.demoforum.build_scenario`` to rewrite
``scenario_2011q1.json``. The result is deterministic (fixed seed). The
scenario only holds forum content: netizens' threads, replies and the
spokespersons' answers at chosen moments. The figures of the bulletin are
computed by spokeswatch from scraping it; the comments below say what the
scenario was built to contain, which the end-to-end tests check.

Built to contain, for 2011-01-01..2011-03-31 as of 2011-04-01 00:00 +08:
95 netizen threads received; 39 answered within the rule (2 working days,
hot threads 24 hours), 20 answered late, 36 never answered; 5 proactive
items (市旅游局 2, 市供水公司 2, 市出租办 1); plus threads outside the period,
chatter on a watched board, a deleted thread, an edited post, a 121-post hot
thread, and answers placed around the 2011 Spring Festival and its 调休 days.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.demoforum.scenario import BUNDLED, DemoPost, DemoThread, Scenario, dump_scenario
from monitor.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
START, END = datetime(2011, 1, 1, tzinfo=TZ), datetime(2011, 4, 1, tzinfo=TZ)
CITIZENS = ["荆门老张", "漳河水", "东宝网友", "掇刀居民", "钟祥人", "沙洋老李", "京山小王", "屈家岭人",
            "龙泉学子", "象山游客", "竹皮河", "东宝老陈", "白庙居民", "团林镇人", "子陵铺", "漳河新区",
            "荆门小刘", "石化人", "老城区居民", "月亮湖"]
# unit key → (spokesperson uid, account name, category typeid, name used in titles, topics)
UNITS = {
    "tourism": (30, "荆门市旅游局", 1, "市旅游局", ["漳河风景区门票价格", "龙泉公园节假日停车", "明显陵景区讲解服务",
                                                "爱飞客小镇交通", "景区厕所卫生", "旅游大巴乱停乱放"]),
    "water": (31, "供水公司发言人", 2, "市供水公司", ["自来水发黄有异味", "水压不足高层用不上水", "水费账单查询",
                                                "管网改造停水太久", "水表安装收费", "二次供水水箱清洗"]),
    "taxi": (32, "市出租办发言人", 4, "市出租办", ["火车站出租车拒载", "出租车不打表", "春节期间出租车加价",
                                              "出租车投诉电话打不通", "夜间出租车难打", "出租车司机绕路"]),
    "hrss": (33, "市人社局发言人", 3, "市人社局", ["养老金资格认证", "灵活就业社保补贴", "社保卡补办进度",
                                              "失业金申领材料", "农民工工资拖欠", "医保异地报销"]),
    "traffic": (34, "交警支队发言人", 5, "市交警支队", ["象山大道违停", "学校门口接送拥堵", "红绿灯时间太短",
                                                 "电动车闯红灯", "驾照年审排队", "货车占道"]),
    "urban": (35, "市城管局发言人", 6, "市城管局", ["占道经营", "夜市噪音扰民", "建筑垃圾乱倒",
                                              "路灯不亮", "绿化带被毁", "广告牌摇摇欲坠"]),
}
# a spokesperson who never posts in the quarter and last logged in early January ("rarely online")
SILENT = (36, "市教育局发言人", datetime(2011, 1, 6, 9, 12, 0, tzinfo=TZ))
PLACES = ["东宝区", "掇刀区", "漳河新区", "龙泉北路", "象山大道", "白庙路", "月亮湖", "团林铺", "子陵铺", "竹皮河"]
NEUTRAL = ["小区门口占道经营问题归哪个部门管？", "楼下烧烤店油烟太大谁来管", "建议开通中心城区至漳河新区的公交专线",
           "老旧小区加装电梯怎么申请", "小区物业乱收费向哪里反映", "菜市场搬迁后买菜太远了",
           "公园健身器材坏了好久", "路口井盖缺失很危险"]
CHATTER = ["周末去哪里吃早餐？推荐几家牛肉面馆", "今年冬天荆门会下雪吗？", "晒晒我家的年夜饭", "求推荐靠谱的装修公司",
           "漳河钓鱼好去处", "荆门哪里的热干面最好吃", "有没有一起跑步的", "春节回家的车票买到了吗",
           "东宝山上看日出", "孩子上幼儿园的经验分享", "今天的晚霞好美", "二手自行车转让"]
# answers are composed from these (by a random source of their own), so no two read alike
OPENINGS = ["您好！", "网友您好，", "感谢您对我们工作的关注。", "您好，感谢您的监督。"]
ACTIONS = ["我们已安排工作人员到{place}现场核实，", "经与属地街道联系，{place}的情况已登记在案，",
           "我单位已派专人到{place}走访了周边住户，", "针对{place}反映的情况，分管领导专门召开了协调会，",
           "执法人员已于次日到{place}进行检查，", "我们调取了{place}近期的工作记录，",
           "相关科室已会同社区对{place}逐户排查，", "经初步调查，{place}的问题主要是设施老化造成的，"]
RESULTS = ["目前已整改到位，后续将加强日常巡查。", "已责令责任方限期整改，整改结果将在本帖公布。",
           "维修工作预计本周内完成，请您留意。", "已纳入今年的重点整治计划，资金已落实。",
           "处理过程中如有新情况，欢迎继续反映。", "已建立长效管理机制，防止问题反弹。"]
CHEERS = ["顶，同问", "我家也是这样", "希望有关部门重视", "支持楼主", "已经反映过好几次了", "坐等回复"]


class _Builder:
    def __init__(self, seed: int = 2011):
        self.rnd = random.Random(seed)
        self.text_rnd = random.Random(seed + 1)  # answer wording: drawn apart, so times and outcomes stay put
        self.cal = WorkCalendar(tz="Asia/Shanghai")
        self.threads: list[DemoThread] = []
        self.tid, self.pid = 0, 0
        self.users = {1: "admin", **{2 + i: n for i, n in enumerate(CITIZENS)},
                      **{u[0]: u[1] for u in UNITS.values()}, SILENT[0]: SILENT[1]}

    def answer_text(self, subject: str) -> str:
        """A spokesperson's answer about ``subject``, worded by the builder's text source."""
        r = self.text_rnd
        place = subject[:12]
        return f"{r.choice(OPENINGS)}关于您反映的“{subject}”，{r.choice(ACTIONS).format(place=place)}{r.choice(RESULTS)}"

    def _citizen(self) -> int:
        return self.rnd.randint(2, 1 + len(CITIZENS))

    def _post(self, uid: int, at: datetime, body: str) -> DemoPost:
        self.pid += 1
        return DemoPost(self.pid, uid, at.replace(microsecond=0), body)

    def thread(self, fid: int, subject: str, posted: datetime, typeid: int = 0, starter: int | None = None,
               answer_at: datetime | None = None, answer_uid: int | None = None, cheers: int | None = None,
               views: int | None = None, body: str | None = None) -> DemoThread:
        self.tid += 1
        starter = starter or self._citizen()
        posts = [self._post(starter, posted, body or f"{subject}\n希望有关部门尽快处理，谢谢！")]
        horizon = END + timedelta(days=5) if posted < END else posted + timedelta(days=3)
        n = self.rnd.randint(0, 4) if cheers is None else cheers
        for _ in range(n):
            at = posted + timedelta(minutes=self.rnd.randint(20, 60 * 24 * 6))
            if at < horizon:
                posts.append(self._post(self._citizen(), at, self.rnd.choice(CHEERS)))
        if answer_at is not None:
            self.rnd.choice((0, 1, 2))  # the draw that once picked one of 3 fixed answers: kept, so later times stay put
            posts.append(self._post(answer_uid, answer_at, self.answer_text(subject)))
        posts.sort(key=lambda p: (p.at, p.pid))
        t = DemoThread(self.tid, fid, subject, typeid, views if views is not None else self.rnd.randint(40, 3000),
                       posts=posts)
        self.threads.append(t)
        return t

    def moment(self, lo: datetime, hi: datetime) -> datetime:
        """A random daytime moment in [lo, hi)."""
        day = lo + timedelta(days=self.rnd.randint(0, max(0, (hi - lo).days - 1)))
        return day.replace(hour=self.rnd.randint(8, 21), minute=self.rnd.randint(0, 59), second=self.rnd.randint(0, 59))

    def due(self, posted: datetime) -> datetime:
        return self.cal.add_working_days(posted, 2)[0].astimezone(TZ)

    def answer_time(self, posted: datetime, outcome: str) -> datetime | None:
        if outcome == "unanswered":
            return None
        due = self.due(posted)
        if outcome == "in_time":
            return posted + (due - posted) * self.rnd.uniform(0.05, 0.9)
        late = due + timedelta(hours=self.rnd.randint(3, 24 * 12))
        return min(late, END - timedelta(hours=2))


def build() -> Scenario:
    b = _Builder()
    rnd = b.rnd
    units = list(UNITS)
    # outcome pools for the 83 threads assigned by category, title or board
    pool = ["in_time"] * 34 + ["late"] * 17 + ["unanswered"] * 32
    rnd.shuffle(pool)

    def window(outcome: str) -> tuple[datetime, datetime]:
        last = {"in_time": datetime(2011, 3, 29, tzinfo=TZ), "late": datetime(2011, 3, 18, tzinfo=TZ),
                "unanswered": datetime(2011, 3, 26, tzinfo=TZ)}[outcome]
        return START, last

    def topic(unit: str) -> str:
        return f"{rnd.choice(PLACES)}{rnd.choice(UNITS[unit][4])}的问题"

    # A: 60 on the programme board with the unit's category
    for i in range(60):
        unit, outcome = units[i % 6], pool.pop()
        posted = b.moment(*window(outcome))
        uid, _, typeid, _, _ = UNITS[unit]
        b.thread(2, topic(unit), posted, typeid, answer_at=b.answer_time(posted, outcome), answer_uid=uid)
    # B: 10 on the programme board, unit named in the title
    for i in range(10):
        unit, outcome = units[i % 6], pool.pop()
        posted = b.moment(*window(outcome))
        uid, _, _, name, _ = UNITS[unit]
        b.thread(2, f"请{name}关注：{topic(unit)}", posted, answer_at=b.answer_time(posted, outcome), answer_uid=uid)
    # E: 8 on the watched board, unit named in the title
    for i in range(8):
        unit, outcome = units[(i + 2) % 6], pool.pop()
        posted = b.moment(*window(outcome))
        uid, _, _, name, _ = UNITS[unit]
        b.thread(3, f"{topic(unit)}，{name}管不管？", posted, answer_at=b.answer_time(posted, outcome), answer_uid=uid)
    # G: 5 on the water company's own board
    for _ in range(5):
        outcome = pool.pop()
        posted = b.moment(*window(outcome))
        b.thread(4, topic("water").replace("的问题", ""), posted, answer_at=b.answer_time(posted, outcome),
                 answer_uid=UNITS["water"][0])
    assert not pool
    # C: 5 neutral titles on the programme board, assigned by the first answering unit
    for i, outcome in enumerate(["in_time", "in_time", "in_time", "late", "late"]):
        posted = b.moment(*window(outcome))
        b.thread(2, NEUTRAL[i], posted, answer_at=b.answer_time(posted, outcome), answer_uid=UNITS[units[i]][0])
    # D: 4 neutral titles nobody answers: overdue for the office itself
    for i in range(4):
        b.thread(2, f"{rnd.choice(PLACES)}{NEUTRAL[5 + i % 3]}", b.moment(*window("unanswered")))
    # F: 3 on the watched board, answered by a spokesperson
    for i, outcome in enumerate(["in_time", "in_time", "late"]):
        posted = b.moment(*window(outcome))
        b.thread(3, f"{rnd.choice(PLACES)}{NEUTRAL[i + 1]}", posted, answer_at=b.answer_time(posted, outcome),
                 answer_uid=UNITS[units[5 - i]][0])
    _calendar_cases(b)
    _hot_threads(b)
    _answer_quality(b)
    _noise(b)
    return Scenario(name="荆门社区", timezone="Asia/Shanghai",
                    boards={2: {"name": "网络发言人", "types": {u[2]: u[3] for u in UNITS.values()}},
                            3: {"name": "百姓话题", "types": {}}, 4: {"name": "供水服务", "types": {}}},
                    users=b.users, threads=b.threads, threads_per_page=20, posts_per_page=10,
                    default_now=END, last_visits={SILENT[0]: SILENT[2]})


def _calendar_cases(b: _Builder) -> None:
    """Answers placed around the 2011 Spring Festival (2-8 Feb, 调休 on Sun 30 Jan and Sat 12 Feb).

    They replace three threads of group A in the counts: the figures stay the same."""
    at = lambda *a: datetime(*a, tzinfo=TZ)  # noqa: E731
    water, taxi, tourism = (UNITS[k] for k in ("water", "taxi", "tourism"))
    cases = [  # (unit, posted, answered): in time, late, in time
        (water, at(2011, 2, 1, 10, 0, 0), at(2011, 2, 9, 9, 0, 0)),      # the holiday does not count
        (taxi, at(2011, 1, 28, 10, 0, 0), at(2011, 1, 31, 11, 0, 0)),    # Sun 30 Jan was a working day
        (tourism, at(2011, 1, 28, 16, 0, 0), at(2011, 1, 30, 15, 0, 0)),  # answered on the 调休 Sunday
    ]
    for unit, posted, answered in cases:
        victim = next(t for t in b.threads if t.fid == 2 and t.typeid == unit[2]
                      and _outcome(b, t, unit[0]) == ("late" if answered.day == 31 else "in_time"))
        victim.posts = [b._post(victim.posts[0].uid, posted, victim.posts[0].body),
                        b._post(unit[0], answered, b.answer_text(victim.subject))]


def _outcome(b: _Builder, t: DemoThread, uid: int) -> str:
    answer = next((p for p in t.posts if p.uid == uid), None)
    if answer is None:
        return "unanswered"
    return "in_time" if answer.at <= b.due(t.posts[0].at) else "late"


def _hot_threads(b: _Builder) -> None:
    """Turn one in-time and one late thread of group A into hot ones, figures unchanged.

    The 121-post thread is answered 30 hours after posting: within 2 working
    days but not within the 24 hours a hot thread gets, so it stays late."""
    water = UNITS["water"]
    t = next(t for t in b.threads if t.fid == 2 and t.typeid == water[2] and _outcome(b, t, water[0]) == "late")
    posted = datetime(2011, 3, 1, 9, 0, 0, tzinfo=TZ)  # a Tuesday
    t.subject = "东宝区多个小区自来水发黄发臭已经一个星期了！！！"
    posts = [b._post(t.posts[0].uid, posted, "东宝区多个小区自来水发黄、有异味，已经一个星期了，大家都来说说。")]
    for i in range(119):
        posts.append(b._post(b._citizen(), posted + timedelta(minutes=10 * (i + 1)), b.rnd.choice(CHEERS)))
    posts.append(b._post(water[0], posted + timedelta(hours=30), b.answer_text(t.subject)))
    t.posts, t.views = sorted(posts, key=lambda p: p.at), 23517
    tourism = UNITS["tourism"]
    hot = next(t for t in b.threads if t.fid == 2 and t.typeid == tourism[2]
               and _outcome(b, t, tourism[0]) == "in_time" and t.posts[0].at < datetime(2011, 3, 15, tzinfo=TZ))
    hot.views = 15888
    hot.posts = [hot.posts[0], b._post(tourism[0], hot.posts[0].at + timedelta(hours=20), b.answer_text(hot.subject))]


def _answer_quality(b: _Builder) -> None:
    """Answers that say little, and citizens who come back; outcomes and figures unchanged.

    Among the in-time answers of group A: one that only redirects (请拨打…), one too short,
    two of the taxi office's that are the same text (boilerplate); and two follow-ups by the
    thread's starter after the answer: one the unit answers again, one it leaves unanswered."""
    taxi, hrss, urban, traffic = (UNITS[k] for k in ("taxi", "hrss", "urban", "traffic"))
    answers = lambda unit: [t for t in b.threads if t.fid == 2 and t.typeid == unit[2]  # noqa: E731
                            and _outcome(b, t, unit[0]) == "in_time" and len(t.posts) < 10
                            and t.posts[0].at < datetime(2011, 3, 10, tzinfo=TZ)]
    answer_of = lambda t, unit: next(p for p in t.posts if p.uid == unit[0])  # noqa: E731
    redirect, short = answers(hrss)[:2]
    answer_of(redirect, hrss).body = "您好，请拨打12333人社服务热线咨询。"
    answer_of(short, hrss).body = "已收到。"
    first, second = answers(taxi)[:2]
    same = "您好，您反映的问题我办已转交相关部门核实处理，感谢您对出租车行业管理工作的关注和支持！"
    answer_of(first, taxi).body = answer_of(second, taxi).body = same
    unresolved, resolved = answers(urban)[0], answers(traffic)[0]
    for t, unit, again in ((unresolved, urban, False), (resolved, traffic, True)):
        answer = answer_of(t, unit)
        comeback = answer.at + timedelta(days=2, hours=3)
        t.posts.append(b._post(t.posts[0].uid, comeback, "还是没解决，到底有没有人管？"))
        if again:
            t.posts.append(b._post(unit[0], comeback + timedelta(hours=20), b.answer_text(t.subject)))
        t.posts.sort(key=lambda p: (p.at, p.pid))


def _noise(b: _Builder) -> None:
    """Proactive items, threads outside the period, chatter, a deleted thread and an edit."""
    at = lambda *a: datetime(*a, tzinfo=TZ)  # noqa: E731
    u = UNITS
    b.thread(2, "关于2011年春节期间A级景区门票优惠政策的公告", at(2011, 1, 20, 10, 0, 0), u["tourism"][2], u["tourism"][0], cheers=3)
    b.thread(2, "漳河风景区清明踏青活动安排", at(2011, 3, 22, 9, 30, 0), u["tourism"][2], u["tourism"][0], cheers=2)
    notice = b.thread(4, "停水通知：3月5日象山大道部分区域计划停水", at(2011, 3, 3, 16, 0, 0), 0, u["water"][0], cheers=2)
    notice.sticky = True
    b.thread(2, "关于开展二次供水设施清洗消毒的通知", at(2011, 2, 21, 11, 0, 0), u["water"][2], u["water"][0], cheers=1)
    b.thread(2, "春运期间出租车服务保障措施", at(2011, 1, 18, 15, 0, 0), u["taxi"][2], u["taxi"][0], cheers=2)
    b.thread(2, "2010年冬季景区开放时间调整", at(2010, 12, 10, 9, 0, 0), u["tourism"][2], u["tourism"][0], cheers=1)
    for i in range(6):  # December 2010: received before the period
        posted = at(2010, 12, 5 + 4 * i, 10, 0, 0)
        unit = list(UNITS)[i]
        b.thread(2, f"{PLACES[i]}{UNITS[unit][4][i]}的问题", posted, UNITS[unit][2],
                 answer_at=posted + timedelta(days=1 + i), answer_uid=UNITS[unit][0])
    for i in range(3):  # April 2011: after the demo clock
        b.thread(2, f"{PLACES[i]}{UNITS['urban'][4][i]}的问题", at(2011, 4, 2 + i, 10, 0, 0), UNITS["urban"][2])
    for subject in CHATTER:  # watched board: nothing assigns these, they do not count
        b.thread(3, subject, b.moment(START, END - timedelta(days=1)), cheers=b.rnd.randint(1, 6))
    gone = b.thread(2, "重复发帖：路灯不亮", at(2011, 3, 10, 20, 0, 0), UNITS["urban"][2])
    gone.deleted_at = at(2011, 3, 11, 9, 0, 0)
    edited = next(t for t in b.threads if t.fid == 2 and t.posts[0].at > at(2011, 3, 1))
    first = edited.posts[0]
    first.edited_at, first.edited_body = first.at + timedelta(hours=2), first.body + "\n补充：问题至今没有解决。"


def main() -> None:
    dump_scenario(build(), BUNDLED)
    print(f"wrote {Path(BUNDLED)}")


if __name__ == "__main__":
    main()
