"""Turn page bytes into text: header charset, then the meta tag, then detection.

GBK and GB2312 pages are decoded as GB18030, their superset, so that the odd
character outside GBK does not break a page.
"""
from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)
_XML_DECL = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-]+)""", re.I)
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "x-gbk": "gb18030", "ascii": "utf-8",
              "us-ascii": "utf-8", "iso-8859-1": "cp1252", "latin-1": "cp1252", "big5": "big5hkscs"}


def _normalise(name: str | None) -> str | None:
    if not name:
        return None
    try:
        canonical = codecs.lookup(name.strip()).name
    except LookupError:
        return None
    return _SUPERSETS.get(canonical, _SUPERSETS.get(name.strip().lower(), canonical))


def detect_encoding(body: bytes, content_type: str | None = None) -> str:
    """Name the encoding of ``body``: declared (header, meta, XML) or detected."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    declared = None
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        declared = _normalise(m.group(1)) if m else None
    if declared is None:
        head = body[:4096]
        m = _META_CHARSET.search(head) or _XML_DECL.search(head)
        declared = _normalise(m.group(1).decode("ascii")) if m else None
    if declared is not None:
        try:
            body.decode(declared)
            return declared
        except UnicodeDecodeError:
            pass  # a wrong declaration: fall through to detection
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        body.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        return declared or "utf-8"


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Decode page bytes to text, replacing bytes that do not decode."""
    return body.decode(detect_encoding(body, content_type), errors="replace")
