"""The daemon's logging (loguru): human lines to stderr, or JSON lines; optionally a rotated file.

A JSON line is one object per event: ``time`` (ISO, with offset), ``level``, ``message``, and
whatever context the code bound (``forum``, ``board``, ``run_id``, ``node``), e.g.::

    {"time": "2026-12-02T06:34:01.120+08:00", "level": "WARNING", "message": "poll demo: failed …",
     "forum": "demo", "run_id": 41}

Times are in the office's zone whatever the host's, like everything the service shows.
"""
from __future__ import annotations

import json
import sys
from zoneinfo import ZoneInfo

from loguru import logger

HUMAN_FORMAT = "{extra[_time]} {level: <7} {message}"
_CONTEXT_KEYS = ("forum", "board", "run_id", "node", "tid")


def _patcher(zone: ZoneInfo):
    def patch(record) -> None:
        local = record["time"].astimezone(zone)
        extra = record["extra"]
        extra["_time"] = local.strftime("%Y-%m-%d %H:%M:%S")
        event = {"time": local.isoformat(timespec="milliseconds"), "level": record["level"].name,
                 "message": record["message"]}
        event.update({k: extra[k] for k in _CONTEXT_KEYS if k in extra})
        if record["exception"] is not None:
            event["exception"] = repr(record["exception"].value)
        extra["_json"] = json.dumps(event, ensure_ascii=False, default=str)
    return patch


def _json_format(_record) -> str:
    return "{extra[_json]}\n{exception}"


def setup_logging(level: str = "INFO", json_lines: bool = False, file: str | None = None,
                  rotation: str = "50 MB", retention: str = "30 days", zone: str = "Asia/Shanghai") -> None:
    """Replace loguru's handlers: stderr (human or JSON lines) and, with ``file``, a rotated file
    in the same form. Safe to call again on a config reload."""
    logger.remove()
    logger.configure(patcher=_patcher(ZoneInfo(zone)))
    fmt = _json_format if json_lines else HUMAN_FORMAT  # loguru adds "\n{exception}" to a format string
    logger.add(sys.stderr, level=level, format=fmt, backtrace=False, diagnose=False)
    if file:
        logger.add(file, level=level, format=fmt, rotation=rotation, retention=retention, encoding="utf-8",
                   enqueue=True, backtrace=False, diagnose=False)


def setup_from_config(config, verbose: bool = False) -> None:
    """Logging as ``config.log`` says (DEBUG with -v)."""
    log = config.log
    setup_logging("DEBUG" if verbose else log.level, log.json_lines, log.file, log.rotation, log.retention,
                  config.timezone)
