"""The parser on pages the demo forum generates (GBK), and on broken input."""
from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.demoforum.render import render_board, render_thread
from scrapers import discuz
from scrapers.errors import ParseError
from scrapers.records import Page, Site
from tests.helpers import local, scenario_copy

NOW = local(2011, 4, 1, 0, 0, 0)
SITE = Site("http://127.0.0.1:8089/")


def gbk_page(url: str, html: str) -> Page:
    # no charset in a header: the parser must find GBK from the meta tag
    return Page(url, html.encode("gbk", errors="xmlcharrefreplace"), NOW)


def test_generated_board_page_round_trips():
    s = scenario_copy()
    parsed = discuz.parse_thread_list(gbk_page(SITE.base_url + "forum.php?mod=forumdisplay&fid=2",
                                               render_board(s, 2, 1, NOW, SITE.base_url)), SITE)
    shown = s.board_threads(2, NOW)[: s.threads_per_page]
    assert [r.tid for r in parsed.threads] == [v.tid for v in shown]
    for row, v in zip(parsed.threads, shown):
        assert row.title == v.thread.subject
        assert row.author_uid == str(v.posts[0].uid) and row.replies == len(v.posts) - 1
        assert abs(row.last_post_at - v.last_post.at) <= timedelta(seconds=row.last_post_precision)
    assert parsed.total_pages > 1 and discuz.page_number(parsed.next_page) == 2


def test_generated_thread_pages_round_trip_every_post_exactly():
    s = scenario_copy()
    hot = max(s.threads, key=lambda t: len(t.posts))
    v = s.visible(hot, NOW)
    seen, url = [], SITE.base_url + f"forum.php?mod=viewthread&tid={hot.tid}"
    page_no = 1
    while url:
        parsed = discuz.parse_thread(gbk_page(url, render_thread(s, v, page_no, NOW, SITE.base_url)), SITE)
        seen += parsed.posts
        url, page_no = parsed.next_page, page_no + 1
    assert [p.pid for p in seen] == [p.pid for p in v.posts]
    assert [p.floor for p in seen] == list(range(1, len(v.posts) + 1))
    assert all(p.posted_at == q.at for p, q in zip(seen, v.posts))  # seconds from the title attribute


def test_forum_content_is_escaped_in_generated_markup():
    s = scenario_copy()
    s.board_threads(2, NOW)[0].thread.subject = '<script>alert(1)</script> & "引号"'
    html = render_board(s, 2, 1, NOW, SITE.base_url)
    assert "<script>alert(1)" not in html
    parsed = discuz.parse_thread_list(gbk_page(SITE.base_url + "forum.php?mod=forumdisplay&fid=2", html), SITE)
    assert any(r.title == '<script>alert(1)</script> & "引号"' for r in parsed.threads)


def test_truncated_thread_page_keeps_the_posts_it_has():
    s = scenario_copy()
    t = max(s.threads, key=lambda t: len(t.posts))
    html = render_thread(s, s.visible(t, NOW), 1, NOW, SITE.base_url)
    cut = html[: html.index(f'id="post_{t.posts[5].pid}"')]  # the connection dropped mid-page
    parsed = discuz.parse_thread(gbk_page(SITE.base_url + f"forum.php?mod=viewthread&tid={t.tid}", cut), SITE)
    assert [p.pid for p in parsed.posts] == [p.pid for p in t.posts[:5]]
    assert parsed.complete is False and any("truncated" in w for w in parsed.warnings)


@pytest.mark.parametrize("body", [b"", b"<html><body><p>502 Bad Gateway</p></body></html>", b"\x00\xff\xfe garbage"])
def test_pages_that_are_not_discuz_raise_parse_errors(body):
    with pytest.raises(ParseError):
        discuz.parse_page(Page(SITE.base_url + "forum.php?mod=viewthread&tid=1", body, NOW), SITE)
