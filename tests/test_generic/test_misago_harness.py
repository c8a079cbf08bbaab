"""The Misago harness itself: a real Misago forum starts, and its JSON API serves what was put in.

Guests read the category's thread list (two pages: a ``start`` cursor) and a long thread's
posts (two numbered pages, the last post of page 1 repeated first on page 2) with the
titles, counts, authors, profile links and exact times (ISO 8601, +08:00) of the spec.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from tests.test_generic.misago_site import LONG, POSTS_PER_PAGE, THREADS_PER_PAGE
from tests.test_generic.misago_site import sample_spec as _spec

TZ = ZoneInfo("Asia/Shanghai")
def _local(at: str) -> str:
    """A spec time (local, naive) as Misago's API writes it: ISO 8601 with the +08:00 offset."""
    return datetime.fromisoformat(at).replace(tzinfo=TZ).isoformat()


def test_thread_list_pages_through_the_category(misago):
    spec, data = _spec(), misago.data
    with httpx.Client(base_url=misago.base_url, timeout=30) as client:
        first = client.get("api/threads/", params={"category": data["category"]})
        assert first.status_code == 200 and first.headers["content-type"] == "application/json"
        page1 = first.json()
        assert len(page1["results"]) == THREADS_PER_PAGE and page1["next"]
        page2 = client.get("api/threads/", params={"category": data["category"], "start": page1["next"]}).json()
    assert page2["next"] is None
    rows = page1["results"] + page2["results"]

    # newest last post first; every thread once
    made = {t["id"]: (t, s) for t, s in zip(data["threads"], spec["threads"])}
    assert [r["id"] for r in rows] == sorted(made, key=lambda tid: made[tid][1]["posts"][-1]["at"], reverse=True)
    for row in rows:
        thread, source = made[row["id"]]
        first_post, last_post = source["posts"][0], source["posts"][-1]
        assert row["title"] == source["title"] and row["category"] == data["category"]
        assert row["replies"] == len(source["posts"]) - 1 == thread["replies"]
        assert row["started_on"] == _local(first_post["at"])
        assert row["last_post_on"] == _local(last_post["at"])
        assert row["last_post"] == thread["posts"][-1]["id"]
        starter, last_poster = data["users"][first_post["user"]], data["users"][last_post["user"]]
        assert (row["starter_name"], row["starter"]["id"]) == (first_post["user"], starter["id"])
        assert (row["last_poster_name"], row["last_poster"]["id"]) == (last_post["user"], last_poster["id"])
        assert row["url"]["starter"] == f"/u/{starter['slug']}/{starter['id']}/"


def test_posts_of_a_long_thread_span_two_pages(misago):
    source, thread = _spec()["threads"][LONG], misago.data["threads"][LONG]
    with httpx.Client(base_url=misago.base_url, timeout=30) as client:
        pages = [client.get(f"api/threads/{thread['id']}/posts/", params={"page": n}).json() for n in (1, 2)]
    assert pages[0]["title"] == source["title"] and pages[0]["replies"] == len(source["posts"]) - 1 == 29
    meta = [{k: p["post_set"][k] for k in ("page", "pages", "count", "next")} for p in pages]
    assert meta == [{"page": 1, "pages": 2, "count": 30, "next": 2}, {"page": 2, "pages": 2, "count": 30, "next": None}]
    first, second = (p["post_set"]["results"] for p in pages)
    assert len(first) == POSTS_PER_PAGE and second[0]["id"] == first[-1]["id"]  # Misago repeats the last post on the next page
    posts = first + second[1:]
    assert [p["id"] for p in posts] == [p["id"] for p in thread["posts"]]
    users = misago.data["users"]
    for got, made in zip(posts, source["posts"]):
        assert got["poster_name"] == made["user"] and got["poster"]["id"] == users[made["user"]]["id"]
        assert got["poster"]["url"] == f"/u/{users[made['user']]['slug']}/{users[made['user']]['id']}/"
        assert got["posted_on"] == _local(made["at"])
    assert posts[0]["content"] == "<p>第5个问题：自来水发黄<br />\n第二行</p>"
    assert all(p["content"] for p in posts)  # Misago withholds a post whose checksum fails: none may
    assert {u: users[u]["slug"] for u in ("荆门老张", "Old Wang")} == {"荆门老张": "jing-men-lao-zhang",
                                                                      "Old Wang": "old-wang"}
