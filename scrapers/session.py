"""Login sessions kept on disk: one JSON file of cookies per forum, readable by the owner only."""
from __future__ import annotations

import json
import os
from pathlib import Path


def session_path(state_dir: str | Path, forum_id: str) -> Path:
    return Path(state_dir) / f"session-{forum_id}.json"


def load_session(path: Path) -> dict[str, str]:
    """The saved cookies, or {} when there is no (readable) session."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_session(path: Path, cookies: dict[str, str]) -> None:
    """Write the cookies with mode 0600 in a 0700 folder (they are as good as a password)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(cookies, f)
    os.replace(tmp, path)


def forget_session(path: Path) -> None:
    path.unlink(missing_ok=True)
