"""Whether a whole-looking thread page lacks posts (monitor.poller.missing_posts), pure."""
from __future__ import annotations

from datetime import datetime, timezone

from monitor.poller import missing_posts
from scrapers.records import Post, ThreadPage

T = datetime(2011, 3, 1, tzinfo=timezone.utc)


def page(floors: list[int], number: int = 1, replies: int | None = None, more: bool = False) -> ThreadPage:
    posts = [Post(1000 + f, f, "网友", 1, T, 0, "内容") for f in floors]
    return ThreadPage(tid=7, title="t", category=None, replies=replies, views=1, posts=posts, page=number,
                      total_pages=None, next_page="next" if more else None)


def test_whole_pages_pass():
    assert missing_posts(page(list(range(1, 11)), more=True), 10) is None
    assert missing_posts(page(list(range(11, 15)), 2, replies=13), 10) is None
    assert missing_posts(page([1, 2, 3], replies=2), None) is None
    assert missing_posts(page([], replies=None), 10) is None


def test_a_post_dropped_from_a_page_with_more_pages_after_it():
    assert "9 posts on a page of 10" in missing_posts(page([1, 2, 3, 4, 6, 7, 8, 9, 10], more=True), 10)


def test_a_smaller_page_size_without_a_gap_is_a_new_page_size_not_a_loss():
    assert missing_posts(page(list(range(1, 9)), more=True), 10) is None


def test_a_gap_on_the_last_page_that_the_reply_count_does_not_explain():
    assert "imply 5" in missing_posts(page([1, 2, 4, 5], replies=4), None)
    assert "imply 4" in missing_posts(page([12, 14, 15], 2, replies=13), 10)


def test_a_post_deleted_on_the_forum_leaves_a_gap_and_a_lower_count():
    assert missing_posts(page([1, 2, 4, 5], replies=3), None) is None


def test_a_first_page_without_its_opening_post():
    assert missing_posts(page([2, 3, 4], replies=3), None) is not None
