"""A real Spirit forum (django-spirit, from PyPI) on 127.0.0.1, for the generic engine's tests.

The project is made by Spirit's own ``spirit startproject``; users, topics and
comments are created through Spirit's models; the forum is served by Django's
runserver. Times are shown in Chinese (zh-hans: "2026年11月30日 13:18") in Asia/Shanghai.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tests.test_generic.local_server import free_port, stop_process, wait_for_port

SETTINGS = '''
from .dev import *  # noqa
TIME_ZONE = "Asia/Shanghai"
LANGUAGE_CODE = "zh-hans"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ST_RATELIMIT_ENABLE = False
ST_PRIVATE_FORUM = False
LOGGING = {"version": 1, "disable_existing_loggers": True}
'''

POPULATE = '''
import json, sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from django.contrib.auth import get_user_model
from spirit.category.models import Category
from spirit.topic.models import Topic
from spirit.comment.models import Comment
tz = ZoneInfo("Asia/Shanghai")
spec = json.loads(sys.stdin.read())
User = get_user_model()
users = {name: User.objects.create_user(username=name, password="pw-" + name) for name in spec["users"]}
for u in users.values():
    u.st.is_verified = True
    u.st.save()
category = Category.objects.create(title=spec["category"])
out = {"category": category.pk, "users": {n: u.pk for n, u in users.items()}, "topics": []}
for t in spec["topics"]:
    when = [datetime.fromisoformat(c["at"]).replace(tzinfo=tz) for c in t["comments"]]
    topic = Topic.objects.create(user=users[t["comments"][0]["user"]], category=category, title=t["title"],
                                 date=when[0], last_active=when[-1], comment_count=len(when))
    made = []
    for c, at in zip(t["comments"], when):
        comment = Comment.objects.create(user=users[c["user"]], topic=topic, comment=c["text"],
                                         comment_html="<p>" + c["text"] + "</p>")
        Comment.objects.filter(pk=comment.pk).update(date=at)
        made.append({"pk": comment.pk, "user": c["user"], "at": c["at"], "text": c["text"]})
    out["topics"].append({"pk": topic.pk, "title": t["title"], "comments": made})
print("RESULT" + json.dumps(out))
'''


@dataclass
class SpiritForum:
    base_url: str
    process: subprocess.Popen
    data: dict

    def stop(self) -> None:
        stop_process(self.process)


SPOKESPERSON = "市水务局发言人"
CITIZENS = ["alice", "荆门老张", "漳河水"]


def sample_spec() -> dict:
    """The forum the tests share: 25 topics (two list pages of 20), one of 26 comments (two
    pages), the spokesperson answering every fourth topic 5 hours after it was posted."""
    start = datetime(2026, 11, 2, 8, 0, 5)
    topics = []
    for n in range(25):
        posted = start + timedelta(hours=7 * n, minutes=n)
        comments = [{"user": CITIZENS[n % 3], "at": posted.isoformat(), "text": f"第{n}个问题：自来水发黄\n第二行"}]
        if n % 4 == 0:
            comments.append({"user": SPOKESPERSON, "at": (posted + timedelta(hours=5)).isoformat(),
                             "text": "已安排检修，谢谢监督。"})
        if n == 7:
            comments += [{"user": CITIZENS[k % 3], "at": (posted + timedelta(minutes=30 + k)).isoformat(),
                          "text": f"顶 {k}"} for k in range(24)]
        topics.append({"title": f"问政{n}：小区自来水发黄", "comments": comments})
    return {"users": CITIZENS + [SPOKESPERSON], "category": "网络问政", "topics": topics}


def start_spirit(workdir: Path, spec: dict) -> SpiritForum:
    """Create, populate and serve a Spirit forum; return its URL and the ids it created."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([str(bin_dir / "spirit"), "startproject", "forum"], cwd=workdir, env=env, check=True,
                   capture_output=True)
    project = workdir / "forum"
    (project / "forum" / "settings" / "spokeswatch.py").write_text(SETTINGS, "utf-8")
    env["DJANGO_SETTINGS_MODULE"] = "forum.settings.spokeswatch"
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=project, env=env, check=True, capture_output=True)
    made = subprocess.run([*manage, "shell", "-c", POPULATE], cwd=project, env=env, check=True,
                          capture_output=True, text=True, input=json.dumps(spec))
    data = json.loads(made.stdout.split("RESULT", 1)[1])
    port = free_port()
    proc = subprocess.Popen([*manage, "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc, "the Spirit forum")
    return SpiritForum(f"http://127.0.0.1:{port}/", proc, data)
