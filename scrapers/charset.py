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


def _declared(body: bytes, content_type: str | None) -> str | None:
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        if m and (name := _normalise(m.group(1))):
            return name
    head = body[:4096]
    m = _META_CHARSET.search(head) or _XML_DECL.search(head)
    return _normalise(m.group(1).decode("ascii")) if m else None


def _decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(text, encoding): the declared encoding if the bytes agree, else UTF-8, else GB18030."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    declared = _declared(body, content_type)
    for candidate in dict.fromkeys(c for c in (declared, "utf-8", "gb18030") if c):
        try:
            return body.decode(candidate), candidate
        except UnicodeDecodeError:
            continue  # a wrong declaration: fall through to detection
    encoding = declared or "utf-8"
    return body.decode(encoding, errors="replace"), encoding


def detect_encoding(body: bytes, content_type: str | None = None) -> str:
    """Name the encoding of ``body``: declared (header, meta, XML) or detected."""
    return _decode(body, content_type)[1]


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Decode page bytes to text (each page is decoded once, strictly when possible)."""
    return _decode(body, content_type)[0]
