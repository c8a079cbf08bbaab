"""The JSON engine's pure parts: request bodies, next-page forms, field lookups, bad answers."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import jmespath
import pytest

from monitor.config import parse_config
from scrapers import generic
from scrapers.errors import ParseError
from scrapers.generic_json import _compiled, request
from scrapers.records import Page, Site

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=timezone.utc)


def site(**extra) -> Site:
    threads = {"row": "data.list", "tid": "id", "title": "title", "time": "t", **extra.pop("threads", {})}
    posts = {"post": "posts", "pid": "id", "author": "who", "body": "text", **extra.pop("posts", {})}
    block = {"format": "json", "board_url": "api/list?col={fid}&p={page}", "thread_url": "api/t/{tid}?p={page}",
             "threads": threads, "posts": posts, **extra}
    cfg = parse_config(json.dumps({"forums": [{"id": "j", "name": "j", "base_url": "http://bbs.example.cn/",
                                               "engine": "generic", "generic": block, "boards": [{"fid": 3}]}]}))
    return Site("http://bbs.example.cn/", options=cfg.forums[0].generic.model_dump())


def answer(url: str, data) -> Page:
    return Page(url, json.dumps(data, ensure_ascii=False).encode(), NOW, content_type="application/json")


def test_post_bodies_fill_only_the_placeholders_and_escape_them():
    s = site(board_body='{"columnId": {fid}, "pageNum": {page}, "keep": "{braces}"}')
    method, body, headers = request(generic.board_url(s, 3, 2), s)
    assert (method, json.loads(body), headers["Content-Type"]) == (
        "POST", {"columnId": 3, "pageNum": 2, "keep": "{braces}"}, "application/json")
    form = site(board_body="col={fid}&page={page}", body_type="form", headers={"X-Token": "abc"})
    method, body, headers = request(generic.board_url(form, 3, 1), form)
    assert (body, headers["X-Token"], headers["Accept"]) == (b"col=3&page=1", "abc", "application/json")
    assert request(generic.thread_url(s, 9), s)[:2] == ("GET", None)  # no thread_body: a GET


@pytest.mark.parametrize("extra,data,expected", [
    ({"next_page": "next"}, {"next": "/api/list?cursor=abc"}, "http://bbs.example.cn/api/list?cursor=abc#fid=3&page=2"),
    ({"next_page": "hasMore"}, {"hasMore": True}, "http://bbs.example.cn/api/list?col=3&p=2#fid=3&page=2"),
    ({"next_page": "hasMore"}, {"hasMore": False}, None),
    ({"next_page": "nextPage"}, {"nextPage": 2}, "http://bbs.example.cn/api/list?col=3&p=2#fid=3&page=2"),
    ({"pages": "data.pages"}, {"data": {"list": [], "pages": 1}}, None),
    ({"pages": "data.pages"}, {"data": {"list": [], "pages": 3}}, "http://bbs.example.cn/api/list?col=3&p=2#fid=3&page=2"),
    ({"next_page": "cursor", "board_next_url": "api/list?col={fid}&after={next}"}, {"cursor": 77},
     "http://bbs.example.cn/api/list?col=3&after=77#fid=3&page=2"),
    ({"next_page": "cursor", "board_next_url": "api/list?col={fid}&after={next}"}, {"cursor": None}, None),
    ({"next_page": "cursor", "board_next_url": "api/list?col={fid}&after={next}"}, {"cursor": 0}, None),
    ({"next_page": "cursor", "board_next_url": "api/list?col={fid}&after={next}"}, {"cursor": "ab+c/d==&x#y"},
     "http://bbs.example.cn/api/list?col=3&after=ab%2Bc%2Fd%3D%3D%26x%23y#fid=3&page=2"),
])
def test_every_form_of_next_page(extra, data, expected):
    next_url = extra.pop("board_next_url", None)
    s = site(threads=extra, **({"board_next_url": next_url} if next_url else {}))
    parsed = generic.parse_thread_list(answer(generic.board_url(s, 3, 1), {"data": {"list": []}, **data}), s)
    assert parsed.next_page == expected


@pytest.mark.parametrize("expr", ["id", "data.list", "a.b.c", "poster.id", "missing.deeper"])
def test_plain_paths_give_what_jmespath_gives(expr):
    for data in ({"id": 5, "data": {"list": [1]}, "a": {"b": {"c": "x"}}, "poster": None}, [1, 2], None, "s"):
        assert _compiled(expr).search(data) == jmespath.search(expr, data)


def test_rows_count_posts_names_and_html():
    s = site(threads={"replies": "n", "replies_from": "posts", "uid": "user.name", "views": "hits"})
    rows = generic.parse_thread_list(answer(generic.board_url(s, 3), {"data": {"list": [
        {"id": 1, "title": "A &amp; B", "t": 1796019342, "n": "3", "user": {"name": "张三"}, "hits": "1.2万"}]}}), s)
    [row] = rows.threads
    assert (row.replies, row.author_uid, row.views, row.title) == (2, "张三", 12000, "A &amp; B")  # JSON text as sent
    thread = generic.parse_thread(answer(generic.thread_url(s, 1), {"posts": [
        {"id": 11, "who": "alice", "text": "<p>一<br>二</p>"}, {"id": 12, "who": "bob", "text": "plain\n text"}]}), s)
    assert [(p.pid, p.floor, p.body) for p in thread.posts] == [(11, None, "一\n二"), (12, None, "plain\ntext")]


def test_an_error_answer_or_not_json_is_a_parse_error_naming_the_address():
    s = site()
    with pytest.raises(ParseError, match="found nothing in the answer.*it says: 请先登录"):
        generic.parse_thread_list(answer(generic.board_url(s, 3), {"code": 401, "msg": "请先登录"}), s)
    with pytest.raises(ParseError, match="not a JSON answer"):
        generic.parse_thread_list(Page(generic.board_url(s, 3), b"<html>login</html>", NOW), s)
    with pytest.raises(ParseError, match="not a list of rows"):
        generic.parse_thread_list(answer(generic.board_url(s, 3), {"data": {"list": {"id": 1}}}), s)


def test_a_bad_expression_is_a_config_error_with_its_line():
    from monitor.errors import ConfigError
    with pytest.raises(ConfigError, match=r"generic\.threads: tid: 'id\[' is not valid JMESPath"):
        site(threads={"tid": "id["})


def test_redirects_keep_the_fragment_and_307_repeats_the_post():
    """The page number travels in the fragment, which is never sent: a redirect must not lose
    it; a 307/308 repeats the POST with its body, a 302 turns into a GET."""
    import httpx

    from scrapers.fetch import Fetcher
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.content))
        if request.url.path == "/api/list":
            return httpx.Response(307, headers={"Location": "/api/list/"})
        if request.url.path == "/api/t":
            return httpx.Response(302, headers={"Location": "/api/t/"})
        return httpx.Response(200, json={"ok": True})

    with Fetcher("http://bbs.example.cn/", rate_limit=0, transport=httpx.MockTransport(handler)) as f:
        page = f.request("POST", "http://bbs.example.cn/api/list#fid=3&page=2", content=b'{"p": 2}')
        assert page.url == "http://bbs.example.cn/api/list/#fid=3&page=2"
        f.request("POST", "http://bbs.example.cn/api/t#tid=5&page=1", content=b"x")
    assert seen == [("POST", "/api/list", b'{"p": 2}'), ("POST", "/api/list/", b'{"p": 2}'),
                    ("POST", "/api/t", b"x"), ("GET", "/api/t/", b"")]


def test_a_section_in_another_format_than_its_block_is_refused():
    from monitor.errors import ConfigError
    with pytest.raises(ConfigError, match="format 'html' differs from the block's 'json'"):
        site(posts={"format": "html"})


def test_html_comments_in_a_body_are_not_text():
    s = site()
    thread = generic.parse_thread(answer(generic.thread_url(s, 1), {"posts": [
        {"id": 1, "who": "a", "text": "<!--StartFragment--><p>水压不足</p><!--EndFragment-->"}]}), s)
    assert thread.posts[0].body == "水压不足"
