"""A real Misago forum (misago 0.39.6, from PyPI) on 127.0.0.1, for the generic engine's JSON-API tests.

Misago pins Django 4.2, so it lives in a virtualenv of its own, ``.venv-misago``
(``tests/test_generic/setup_misago.sh`` makes it; ``MISAGO_VENV`` puts it elsewhere). Each start creates a PostgreSQL
database of its own (``spokeswatch_misago_<random>``) on the test server, runs
Misago's migrations with the settings of Misago's own ``devproject`` (shipped in the
wheel) plus ours (Asia/Shanghai, zh-hans, no Celery broker: tasks run eagerly, locmem
cache), creates users, a category, threads and posts through Misago's models, and
serves it with Django's runserver. ``stop()`` stops the server and drops the database.

Guests read the forum's JSON API anonymously, e.g. ``api/threads/?category=<id>`` and
``api/threads/<id>/posts/?page=2``; times come as ISO 8601 with the +08:00 offset.
Misago's page sizes (its defaults): 26 threads a page (then a ``start`` cursor), 18
posts a page, of which the last repeats as the first of the next page.
"""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tests.test_generic.local_server import free_port, stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("MISAGO_VENV") or ROOT / ".venv-misago")  # as in setup_misago.sh
SETUP = "tests/test_generic/setup_misago.sh"
THREADS_PER_PAGE = 26  # Misago's default "threads_per_page"
POSTS_PER_PAGE = 18  # "posts_per_page": 17 new ones a page, the 18th repeats on the next page
POSTS_ORPHANS = 6  # "posts_per_page_orphans": a last page this short joins the one before

SETTINGS = '''
from devproject.settings import *  # noqa: F401,F403 - Misago's own dev project, from the wheel

DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", **{database!r}}}}}
SECRET_KEY = "spokeswatch-tests-only"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
TIME_ZONE = "Asia/Shanghai"
LANGUAGE_CODE = "zh-hans"
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}}}
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = True
MEDIA_ROOT = {media!r}
STATIC_ROOT = {static!r}
MISAGO_USER_DATA_DOWNLOADS_WORKING_DIR = {userdata!r}
LOGGING = {{"version": 1, "disable_existing_loggers": True}}
'''

# Run by `python -m django shell -c` in Misago's venv; the spec comes on stdin:
#   {"users": [name, ...], "category": title,
#    "threads": [{"title": ..., "posts": [{"user": name, "at": "2026-11-02T08:00:05", "text": ...}, ...]}]}
# "at" is local time (Asia/Shanghai). Posts are created in time order across all threads (Misago
# orders its thread list by the last post's id), threads in the order of their first post.
POPULATE = '''
import json, sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from django.test import RequestFactory
from misago.acl.cache import clear_acl_cache
from misago.categories.models import Category, RoleCategoryACL
from misago.core.utils import slugify
from misago.markup import common_flavour
from misago.threads.checksums import update_post_checksum
from misago.threads.models import Post, Thread
from misago.users.avatars import dynamic
from misago.users.models import User

tz = ZoneInfo("Asia/Shanghai")
spec = json.loads(sys.stdin.read())
request = RequestFactory().get("/", HTTP_HOST="127.0.0.1")
posts = [(datetime.fromisoformat(p["at"]).replace(tzinfo=tz), t, n)
         for t, thread in enumerate(spec["threads"]) for n, p in enumerate(thread["posts"])]
posts.sort(key=lambda x: x[0])
joined = (posts[0][0] if posts else datetime.now(tz)) - timedelta(days=30)

users = {}
for k, name in enumerate(spec["users"]):
    user = User.objects.create_user(name, f"user{k}@example.com", "pw-" + name + "-1234", joined_on=joined)
    dynamic.set_avatar(user)
    user.save()
    users[name] = user

# a new category under the root, with the permissions of the default one (as the admin's "copy permissions")
template = Category.objects.get(slug="first-category")
category = Category()
category.set_name(spec["category"])
category.insert_at(Category.objects.root_category(), position="last-child", save=True)
RoleCategoryACL.objects.bulk_create(
    RoleCategoryACL(role_id=acl.role_id, category=category, category_role_id=acl.category_role_id)
    for acl in template.category_role_set.all())
Category.objects.clear_cache()
clear_acl_cache()

order = sorted(range(len(spec["threads"])), key=lambda t: min((a for a, tt, _ in posts if tt == t)))
threads = {}
for t in order:
    first = spec["threads"][t]["posts"][0]
    at = datetime.fromisoformat(first["at"]).replace(tzinfo=tz)
    starter = users[first["user"]]
    threads[t] = Thread.objects.create(
        category=category, title=spec["threads"][t]["title"], slug=slugify(spec["threads"][t]["title"]),
        started_on=at, last_post_on=at, starter=starter, starter_name=starter.username,
        starter_slug=starter.slug, last_poster=starter, last_poster_name=starter.username,
        last_poster_slug=starter.slug)

made = {}
for at, t, n in posts:
    p = spec["threads"][t]["posts"][n]
    poster = users[p["user"]]
    parsed = common_flavour(request, poster, p["text"], allow_mentions=False)
    post = Post(category=category, thread=threads[t], poster=poster, poster_name=poster.username,
                original=p["text"], parsed=parsed["parsed_text"], posted_on=at, updated_on=at, hidden_on=at)
    post.set_search_document(threads[t].title if n == 0 else None)
    post.save()
    post.update_search_vector()
    # the checksum seeds on posted_on's date as read back (UTC), as for a post made through the UI;
    # computed on the local time, posts made between 00:00 and 08:00 would read as invalid (content null)
    post.refresh_from_db()
    update_post_checksum(post)
    post.save()
    made[t, n] = post

for thread in threads.values():
    thread.synchronize()
    thread.save()
category.synchronize()
category.save()
for name, user in users.items():  # the counters Misago's posting keeps: threads started, posts (first ones too)
    user.threads = Thread.objects.filter(starter=user).count()
    user.posts = Post.objects.filter(poster=user).count()
    user.last_posted_on = max((a for a, t, n in posts if spec["threads"][t]["posts"][n]["user"] == name),
                              default=None)
    user.save(update_fields=["threads", "posts", "last_posted_on"])

out = {"category": category.pk, "category_slug": category.slug,
       "users": {n: {"id": u.pk, "slug": u.slug} for n, u in users.items()}, "threads": []}
for t, spec_thread in enumerate(spec["threads"]):
    thread = threads[t]
    out["threads"].append({
        "id": thread.pk, "slug": thread.slug, "title": thread.title, "replies": thread.replies,
        "posts": [{"id": made[t, n].pk, "user": p["user"], "at": p["at"], "text": p["text"]}
                  for n, p in enumerate(spec_thread["posts"])]})
print("RESULT" + json.dumps(out))
'''


@dataclass
class MisagoForum:
    """A running Misago forum: its URL, the ids ``POPULATE`` printed, its server and database."""
    base_url: str
    data: dict
    process: subprocess.Popen
    database: str

    def stop(self) -> None:
        """Stop the server and drop the forum's database."""
        stop_process(self.process)
        _drop_database(self.database)


def _admin_conninfo() -> dict:
    """The test PostgreSQL server (as in tests/conftest.py: SPOKESWATCH_TEST_PG, else postgres@127.0.0.1/test)."""
    from sqlalchemy.engine import make_url
    url = make_url(os.environ.get("SPOKESWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    return {"host": url.host or "127.0.0.1", "port": url.port or 5432, "user": url.username or "postgres",
            "password": url.password or "", "dbname": url.database or "postgres"}


def _admin_execute(sql: str) -> None:
    import psycopg
    with psycopg.connect(**_admin_conninfo(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _drop_database(name: str) -> None:
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SPOKESPERSON = "市水务局发言人"
CITIZENS = ["alice", "荆门老张", "Old Wang"]  # slugs: alice, jing-men-lao-zhang, old-wang
LONG = 5  # the thread with two pages of posts; the spokesperson answers it on page 2


def sample_spec() -> dict:
    """The forum the tests share: one more thread than a list page (27), one thread of 30 posts
    (two pages of posts), the spokesperson answering every fourth thread and the long one;
    titles with "&" and "<…>" to prove they come out as written."""
    start = datetime(2026, 11, 2, 8, 0, 5)
    threads = []
    for n in range(THREADS_PER_PAGE + 1):
        posted = start + timedelta(hours=7 * n, minutes=n)
        posts = [{"user": CITIZENS[n % 3], "at": posted.isoformat(), "text": f"第{n}个问题：自来水发黄\n第二行"}]
        if n == LONG:
            posts += [{"user": CITIZENS[k % 3], "at": (posted + timedelta(minutes=30 + k, seconds=k)).isoformat(),
                       "text": f"顶 {k}"} for k in range(28)]
        if n % 4 == 0 or n == LONG:
            posts.append({"user": SPOKESPERSON, "at": (posted + timedelta(hours=5)).isoformat(),
                          "text": "已安排检修，谢谢监督。"})
        threads.append({"title": f"问政{n}：小区自来水发黄 & <水压>", "posts": posts})
    return {"users": CITIZENS + [SPOKESPERSON], "category": "网络问政", "threads": threads}


def misago_available() -> str | None:
    """Why a Misago forum cannot be started here (to skip with), or None when it can."""
    if not (VENV / "bin" / "python").exists():
        return f"Misago's virtualenv {VENV} is missing (bash {SETUP})"
    if not (VENV / ".spokeswatch-requirements.sha256").exists():
        return f"Misago's virtualenv {VENV} is incomplete (bash {SETUP})"
    try:
        _admin_execute("select 1")
    except Exception as exc:  # noqa: BLE001 - any connection failure means "absent"
        return f"PostgreSQL not reachable ({exc.__class__.__name__}: {exc}); Misago needs it"
    return None


def _run(cmd: list[str], cwd: Path, env: dict, stdin: str | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({done.returncode}):\n{done.stdout[-3000:]}"
                           f"\n{done.stderr[-3000:]}")
    return done.stdout


def start_misago(workdir: Path, spec: dict) -> MisagoForum:
    """Create, populate and serve a Misago forum in ``workdir``; return its URL and the ids it created."""
    reason = misago_available()
    if reason:
        raise RuntimeError(reason)
    database = f"spokeswatch_misago_{uuid.uuid4().hex[:12]}"
    admin = _admin_conninfo()
    project = workdir / "misago"
    (project / "spokeswatch_misago").mkdir(parents=True, exist_ok=True)
    (project / "spokeswatch_misago" / "__init__.py").write_text("", "utf-8")
    db = {"NAME": database, "USER": admin["user"], "PASSWORD": admin["password"], "HOST": admin["host"],
          "PORT": admin["port"]}
    (project / "spokeswatch_misago" / "settings.py").write_text(SETTINGS.format(
        database=db, media=str(project / "media"), static=str(project / "static"),
        userdata=str(project / "userdata")), "utf-8")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "spokeswatch_misago.settings", "PYTHONPATH": str(project)}
    env.pop("VIRTUAL_ENV", None)
    django = [str(VENV / "bin" / "python"), "-m", "django"]

    _admin_execute(f'CREATE DATABASE "{database}"')
    proc = None
    try:
        _run([*django, "migrate", "--noinput"], project, env)
        data = json.loads(_run([*django, "shell", "-c", POPULATE], project, env, json.dumps(spec))
                          .split("RESULT", 1)[1])
        port = free_port()
        log = open(project / "runserver.log", "wb")  # noqa: SIM115 - kept open by the server
        proc = subprocess.Popen([*django, "runserver", "--noreload", f"127.0.0.1:{port}"],
                                cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        try:
            wait_for_port(port, proc, "the Misago forum")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n" + (project / "runserver.log").read_text("utf-8", "replace")[-3000:]) from None
        return MisagoForum(f"http://127.0.0.1:{port}/", data, proc, database)
    except BaseException:
        if proc is not None:
            proc.kill()
            proc.wait()
        _drop_database(database)
        raise
