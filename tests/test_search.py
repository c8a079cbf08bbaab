"""Thread search: the bigram text functions, the index and the search on SQLite and PostgreSQL, and
a search of the demo forum after a poll."""
from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, inspect, select, text, update

import models.search_store as search_store
from models.db import MIGRATIONS, make_engine, upgrade
from models.repository import ReadDone, Repository
from models.tables import Base, PostRecord, ResponseCase, SearchGram, SearchState, ThreadRecord
from monitor.errors import SpokeswatchError
from monitor.search_text import SearchError, grams, normalise, query_terms
from monitor.service import Service
from scrapers.records import Post, ThreadRow
from tests.helpers import config_for, local, run_at_once, scenario_copy, start_forum

T0 = local(2011, 3, 1, 9, 0)


# ---- the text functions -------------------------------------------------------------------

def test_normalise_folds_width_and_case():
    assert normalise("ＷｉＦｉ信号１２３，ABC") == "wifi信号123,abc"
    assert normalise("Straße") == "strasse"
    assert normalise(normalise("ＡＢＣ ｄｅｆ")) == normalise("ＡＢＣ ｄｅｆ") == "abc def"


def test_grams_are_pairs_of_consecutive_non_space_characters():
    assert grams("停水 三天") == {(ord("停") << 21) | ord("水"), (ord("三") << 21) | ord("天")}
    assert grams("水") == set() and grams("") == set() and grams(" 水\n水 ") == set()
    assert grams("ＡＢ") == grams("ab") == {(ord("a") << 21) | ord("b")}
    assert max(grams("\U0010ffff\U0010ffff")) < 2 ** 63  # a BIGINT


def test_query_terms_split_normalise_and_dedupe():
    assert query_terms("  停水  三天\u3000停水 ＡＢ ab ") == ["停水", "三天", "ab"]
    for bad in ("", "   ", "\u3000"):
        with pytest.raises(SearchError, match="empty"):
            query_terms(bad)
    with pytest.raises(SearchError, match="too short: '水'"):
        query_terms("停水 水")
    assert issubclass(SearchError, SpokeswatchError)


# ---- the index and the search on SQLite and PostgreSQL --------------------------------------

def row(tid: int, title: str = "关于小区问题的反映", at=T0, fid: int = 2) -> ThreadRow:
    return ThreadRow(tid=tid, title=title, url=f"http://f/forum.php?mod=viewthread&tid={tid}", author="网友",
                     author_uid="2", posted_at=at, posted_precision=0, replies=0, views=10, last_post_at=at,
                     last_post_precision=0, last_poster="网友")


def post(pid: int, floor: int, body: str, at=T0) -> Post:
    return Post(pid=pid, floor=floor, author="网友", author_uid="2", posted_at=at, posted_precision=0, body=body)


@pytest.fixture(params=["index", "newest", "window-index", "window-walk"])
def strategy(request, monkeypatch):
    """Each search test runs with every way of finding candidates, which must give the same answers:
    from the index; by the newest-first walk (every bigram counted as common); by a walk over a
    window of the newest threads (as many as hold the rarest bigram) and then from the index, or
    then by the rest of the walk."""
    if request.param != "index":
        monkeypatch.setattr(search_store, "INDEX_DRIVEN_BELOW", 1)
    if request.param.startswith("window"):
        monkeypatch.setattr(search_store, "WALK_WINDOW_MIN", 1)
        monkeypatch.setattr(search_store, "_walk_is_cheaper", lambda *_: request.param == "window-walk")
    return request.param


def thread(repo, tid: int, bodies: list[str], title: str = "关于小区问题的反映", at=T0, fid: int = 2,
           forum: str = "demo") -> int:
    """A thread read whole: its list row, then its posts (pids tid*100 + floor)."""
    thread_id = repo.upsert_thread_rows(forum, fid, [row(tid, title, at, fid)], at)[tid]
    repo.store_posts(forum, thread_id, [post(tid * 100 + i, i, b, at + timedelta(minutes=i))
                                        for i, b in enumerate(bodies, start=1)],
                     [None] * len(bodies), at, done=ReadDone(1, at))
    return thread_id


def found(repo, query: str, **filters) -> list[int]:
    rows, _ = repo.search_threads(query_terms(query), **filters)
    return [r.tid for r in rows]


def test_a_two_character_substring_from_the_middle_of_a_body_is_found(repo, strategy):
    thread(repo, 1, ["我们小区的水管漏水很严重，已经一个星期了"])
    thread(repo, 2, ["路灯不亮"])
    assert found(repo, "水管") == [1]
    assert found(repo, "星期") == [1]
    assert found(repo, "问题") == [2, 1]  # the titles; same time: the newer thread id first
    assert found(repo, "水灯") == []


def test_a_term_whose_bigrams_occur_apart_is_not_found(repo, strategy):
    thread(repo, 1, ["停水了，水三天没来", "三天"])  # 停水, 水三, 三天 all there; 停水三天 nowhere
    assert found(repo, "停水三天") == [] and found(repo, "停水三") == []
    assert found(repo, "水三天") == [1]


def test_every_term_must_be_found(repo, strategy):
    thread(repo, 1, ["小区停水三天", "物业不管"])  # the terms in different posts count
    thread(repo, 2, ["小区停水三天"])
    thread(repo, 3, ["物业不管"], title="物业问题")
    assert found(repo, "停水 物业") == [1]
    assert found(repo, "物业") == [3, 1]
    assert found(repo, "物业 停水 小区问题") == [1]  # one term in the title


def test_case_and_width_do_not_matter(repo, strategy):
    thread(repo, 1, ["家里ＷｉＦｉ信号很差，ＡＰＰ也打不开"], title="ＶＩＰ套餐")
    assert found(repo, "wifi") == [1] and found(repo, "WIFI信号") == [1] and found(repo, "ｗｉｆｉ") == [1]
    assert found(repo, "app") == [1] and found(repo, "vip套餐") == [1]


def _set_unit(repo, thread_id: int, **values) -> None:
    with repo.session("t") as s:
        s.execute(update(ThreadRecord).where(ThreadRecord.id == thread_id).values(**values))


def _add_case(repo, thread_id: int, state: str, unit: str | None, due=T0 + timedelta(days=2)) -> None:
    with repo.session("t") as s:
        s.execute(insert(ResponseCase).values(thread_id=thread_id, unit_id=unit, state=state, hot=False, due_at=due,
                                              due_estimated=False, opened_at=T0, state_changed_at=T0,
                                              checked_at=T0))


def test_filters_unit_board_state_and_period(repo, strategy):
    a = thread(repo, 1, ["自来水发黄"], at=T0)
    b = thread(repo, 2, ["自来水发黄"], at=T0 + timedelta(days=1), fid=3)
    c = thread(repo, 3, ["自来水发黄"], at=T0 + timedelta(days=2), forum="other")
    thread(repo, 4, ["自来水发黄"], at=T0 + timedelta(days=3))
    _set_unit(repo, a, unit_id="water")
    _add_case(repo, a, "overdue", "water")
    _add_case(repo, b, "pending", "taxi")
    _set_unit(repo, c, proactive_unit_id="water")
    assert found(repo, "自来水") == [4, 3, 2, 1]
    assert found(repo, "自来水", unit_id="water") == [3, 1]
    assert found(repo, "自来水", unit_id="taxi") == [2]
    assert found(repo, "自来水", unit_id="nobody") == []
    assert found(repo, "自来水", fid=("demo", 2)) == [4, 1] and found(repo, "自来水", fid=("other", 2)) == [3]
    assert found(repo, "自来水", state="overdue") == [1] and found(repo, "自来水", state="none") == [4, 3]
    assert found(repo, "自来水", posted_from=T0 + timedelta(days=1), posted_to=T0 + timedelta(days=3)) == [3, 2]
    assert found(repo, "自来水", unit_id="water", state="overdue", fid=("demo", 2),
                 posted_to=T0 + timedelta(hours=1)) == [1]
    rows, more = repo.search_threads(["自来水"], unit_id="water")
    first = rows[1]
    assert (first.id, first.forum_id, first.tid, first.fid, first.title, first.author) == (a, "demo", 1, 2,
                                                                                           "关于小区问题的反映", "网友")
    assert first.url.endswith("tid=1") and first.posted_at == T0 and first.deleted_at is None
    assert (first.unit_id, first.proactive_unit_id, first.state, first.due_at, first.answered_at) == (
        "water", None, "overdue", T0 + timedelta(days=2), None)
    assert rows[0].state is None and rows[0].due_at is None and rows[0].proactive_unit_id == "water"
    assert more is False


def test_a_unit_filter_never_returns_another_units_thread(repo, strategy):
    units = ["water", "taxi", "tourism", None]
    expected = set()
    for tid in range(1, 41):
        thread_id = thread(repo, tid, ["出租车拒载"], at=T0 + timedelta(hours=tid))
        unit = units[tid % 4]
        how = tid % 3  # the unit as the thread's own, as its proactive unit, or only on its case
        if how == 0:
            _set_unit(repo, thread_id, unit_id=unit)
        elif how == 1:
            _set_unit(repo, thread_id, proactive_unit_id=unit, unit_id="tourism" if unit != "tourism" else None)
        else:
            _add_case(repo, thread_id, "pending", unit)
        if unit == "taxi":
            expected.add(tid)
    got = []
    offset = 0
    while True:
        rows, more = repo.search_threads(["拒载"], unit_id="taxi", limit=3, offset=offset)
        got += [r.tid for r in rows]
        assert all("taxi" in (r.unit_id, r.proactive_unit_id) or r.state == "pending" for r in rows)
        if not more:
            break
        offset += 3
    assert set(got) == expected and len(got) == len(expected) == 10


def test_limit_offset_and_more(repo, strategy):
    for tid in range(1, 8):
        thread(repo, tid, ["菜市场周边乱停车"], at=T0 + timedelta(days=tid))
    thread(repo, 8, ["别的事"], at=T0 + timedelta(days=9))
    pages = [repo.search_threads(["停车"], limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert [[r.tid for r in rows] for rows, _ in pages] == [[7, 6, 5], [4, 3, 2], [1], []]
    assert [more for _, more in pages] == [True, True, False, False]
    rows, more = repo.search_threads(["停车"], limit=7)
    assert len(rows) == 7 and more is False
    with pytest.raises(ValueError):
        repo.search_threads(["停车"], limit=0)


def test_threads_without_a_time_come_last_and_deleted_threads_are_found(repo, strategy):
    thread(repo, 1, ["河道有异味"], at=T0)
    undated = repo.upsert_thread_rows("demo", 2, [ThreadRow(2, "河道有异味", "u2", None, None, None, 0, None, None,
                                                           None, 0, None)], T0)[2]
    gone = thread(repo, 3, ["河道有异味"], at=T0 + timedelta(days=1))
    repo.mark_thread_deleted(gone, T0 + timedelta(days=2))
    rows, _ = repo.search_threads(["异味"])
    assert [r.tid for r in rows] == [3, 1, 2] and rows[2].id == undated
    assert rows[0].deleted_at == T0 + timedelta(days=2) and rows[1].deleted_at is None
    assert found(repo, "异味", posted_from=T0 - timedelta(days=1)) == [3, 1]


def test_an_edited_post_is_found_by_its_new_words(repo, strategy):
    thread_id = thread(repo, 1, ["路灯不亮好几天"])
    assert found(repo, "路灯") == [1] and found(repo, "井盖") == []
    repo.store_posts("demo", thread_id, [post(101, 1, "补充：窨井盖也缺失了")], [None], T0 + timedelta(days=1))
    assert found(repo, "井盖") == [1]
    assert found(repo, "窨井盖缺失") == []  # not contiguous
    assert found(repo, "路灯") == []  # the current text decides (the old bigrams only make a candidate)


def test_a_new_post_in_an_old_thread_is_found_after_the_next_pass(repo, strategy):
    thread_id = thread(repo, 1, ["小区垃圾无人清运"])
    assert repo.index_search() > 0
    repo.store_posts("demo", thread_id, [post(102, 2, "供暖温度不达标")], [None], T0 + timedelta(days=1))
    assert repo.index_search() == 2  # the post and its thread's title
    assert repo.index_search() == 0
    assert found(repo, "供暖") == [1]


def test_a_title_changed_on_the_list_is_indexed_with_its_new_counts(repo):
    thread(repo, 1, ["正文"], title="旧的标题")
    repo.index_search()
    changed = dataclasses.replace(row(1, "景区门票价格疑问"), views=99)
    repo.upsert_thread_rows("demo", 2, [changed], T0 + timedelta(hours=1))
    assert repo.index_search() == 1
    assert found(repo, "门票") == [1] and found(repo, "标题") == []


def test_a_second_pass_does_nothing_and_passes_are_bounded(repo):
    texts = {tid: ["第%d楼的内容" % tid, "顶一下，同样遇到这个情况。"] for tid in range(1, 6)}
    ids = {tid: thread(repo, tid, bodies) for tid, bodies in texts.items()}
    assert repo.index_search(limit=3) > 0
    with repo.transaction("t") as c:
        cursor = c.execute(select(SearchState.post_id)).scalar()
        assert cursor == sorted(c.execute(select(PostRecord.id)).scalars())[2]  # 3 posts, no more
    while repo.index_search(limit=3) > 0:
        pass
    assert repo.index_search() == 0 and repo.index_search() == 0
    assert found(repo, "内容") == [5, 4, 3, 2, 1]
    expected = {(g, ids[tid]) for tid, bodies in texts.items()
                for g in grams("关于小区问题的反映").union(*map(grams, bodies))}
    with repo.transaction("t") as c:
        assert set(c.execute(select(SearchGram.gram, SearchGram.thread_id)).all()) == expected


def test_an_id_skipped_by_the_cursor_is_indexed_when_its_row_appears(repo, monkeypatch):
    """PostgreSQL: a post whose transaction committed after a later one's (its id is lower): the
    cursor had moved past it, the skipped id is looked for again."""
    thread_id = thread(repo, 1, ["第一条"])
    repo.index_search()
    with repo.transaction("t") as c:
        top = c.execute(select(func.max(PostRecord.id))).scalar()
        values = dict(thread_id=thread_id, forum_id="demo", floor=2, author="网友", posted_at=T0,
                      posted_precision=0, body_hash="h", first_seen_at=T0, last_seen_at=T0)
        c.execute(insert(PostRecord).values(id=top + 3, pid=900, body="后提交的帖子", **values))
    assert repo.index_search() == 2
    with repo.transaction("t") as c:
        c.execute(insert(PostRecord).values(id=top + 1, pid=901, body="先取号晚提交", **values))
    assert found(repo, "晚提交") == [1]
    assert repo.index_search() == 0
    with repo.transaction("t") as c:
        assert '"posts": [[%d, ' % (top + 2) in c.execute(select(SearchState.gaps)).scalar()
    later = time.time() + search_store.GAP_GRACE_S + 1
    monkeypatch.setattr(search_store.time, "time", lambda: later)
    with repo.transaction("t") as c:
        c.execute(insert(PostRecord).values(id=top + 4, pid=902, body="再来一条", **values))
    assert found(repo, "再来") == [1]
    with repo.transaction("t") as c:  # an id never used is looked for no longer
        assert c.execute(select(SearchState.gaps)).scalar() is None


def test_two_indexers_at_once_do_the_work_once(repo, monkeypatch):
    for tid in range(1, 31):
        thread(repo, tid, [f"帖子{tid}", "楼上说得对", "建议相关部门尽快到现场看看"])
    read_posts = []
    real = search_store._read_source

    def recording(c, name, *args):
        rows = real(c, name, *args)
        if name == "posts":
            read_posts.extend(r[0] for r in rows)
        return rows
    monkeypatch.setattr(search_store, "_read_source", recording)

    def index():
        while repo.index_search(limit=20) > 0:
            pass
    assert run_at_once(index, 3) == []
    assert len(read_posts) == len(set(read_posts)) == 90  # every post indexed once, by one of them
    assert sorted(found(repo, "帖子")) == list(range(1, 31))


# ---- the schema ----------------------------------------------------------------------------

def test_the_models_match_the_migration_and_it_downgrades(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "search_" in repr(d)] == []
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'search_grams'")).scalar()
        assert "WITHOUT ROWID" in sql
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    assert not {"search_grams", "search_state"} & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert Repository(engine).index_search() == 0
    engine.dispose()


# ---- through the demo forum ------------------------------------------------------------------

def test_the_demo_poll_indexes_and_a_phrase_from_a_body_finds_its_thread(tmp_path):
    scenario = scenario_copy()
    phrase = "到底有没有人管"
    expected = {t.tid for t in scenario.threads
                if any(phrase in (p.edited_body or p.body) for p in t.posts) and t.deleted_at is None}
    assert expected
    forum = start_forum(scenario)
    try:
        svc = Service(config_for(forum, f"sqlite:///{tmp_path / 'db.sqlite3'}"), clock=forum.clock.now)
        [result] = svc.poll()
        assert result.status == "ok"
        assert svc.repo.index_search() == 0  # the poll indexed everything it stored
        rows, more = svc.repo.search_threads(query_terms(phrase))
        assert {r.tid for r in rows} == expected and not more
        rows, _ = svc.repo.search_threads(["没有人", "到底"], limit=200)
        assert {r.tid for r in rows} >= expected
        svc.close()
    finally:
        forum.stop()
