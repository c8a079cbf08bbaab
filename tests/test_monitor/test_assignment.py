"""Tagging and assignment, pure."""
from __future__ import annotations

from monitor.assignment import Directory
from tests.helpers import sample_config

D = Directory(sample_config())


def assign(fid, title, category=None, uid="2", name="荆门老张", answers=()):
    return D.assign("demo", fid, title, category, uid, name, list(answers))


def test_authors_are_tagged_by_uid_or_username():
    assert D.unit_of_author("demo", "30", "whatever") == "tourism"
    assert D.unit_of_author("demo", 30, "whatever") == "tourism"  # a number is the same id as its text
    assert D.unit_of_author("demo", None, "交警支队发言人") == "traffic"  # configured by name only
    assert D.unit_of_author("demo", "2", "荆门老张") is None
    assert D.unit_of_author("other-forum", "30", None) is None


def test_a_thread_started_by_a_spokesperson_is_a_proactive_item():
    a = assign(2, "停水通知", uid="31", name="供水公司发言人")
    assert a.proactive_unit_id == "water" and not a.counted


def test_assignment_order_board_category_title_first_answer():
    assert assign(4, "市旅游局的事", category="市人社局").assigned_by == "board"  # fid 4 belongs to water
    a = assign(2, "请市旅游局关注", category="市人社局")
    assert (a.unit_id, a.assigned_by) == ("hrss", "category")
    a = assign(2, "自来水公司又停水了")
    assert (a.unit_id, a.assigned_by) == ("water", "title")  # an alias
    a = assign(2, "小区门口占道经营问题归哪个部门管？", answers=[None, "urban", "traffic"])
    assert (a.unit_id, a.assigned_by) == ("urban", "first_answer")


def test_programme_board_counts_unassigned_threads_watched_board_does_not():
    a = assign(2, "小区门口占道经营问题归哪个部门管？")
    assert a.counted and a.unit_id is None
    assert not assign(3, "周末去哪里吃早餐").counted
    assert assign(3, "市城管局管不管夜市噪音").counted
    assert not assign(99, "市城管局管不管").counted  # a board not in config
