"""Small lxml helpers shared by the HTML engines: parse once, compiled XPath, clean text."""
from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.etree import ParserError

from scrapers.errors import ParseError

_INT = re.compile(r"\d+")
_BLOCK_TAGS = {"br", "p", "div", "li", "tr", "blockquote"}


def html_doc(page_text: str, url: str) -> lxml.html.HtmlElement:
    """Parse a page's text; raise ParseError naming the URL when it is not HTML."""
    text = re.sub(r"^\s*<\?xml[^>]*>", "", page_text)
    try:
        return lxml.html.document_fromstring(text)
    except (ParserError, ValueError) as exc:
        raise ParseError(url, f"not an HTML page ({exc})") from None


def base_of(doc: lxml.html.HtmlElement, url: str) -> str:
    """The URL relative links resolve against: <base href> when on the same host."""
    base = doc.find(".//head/base")
    href = base.get("href") if base is not None else None
    if href:
        joined = urljoin(url, href)
        if urlsplit(joined).netloc == urlsplit(url).netloc:
            return joined
    return url


def text_of(el) -> str:
    """An element's text, whitespace folded ('' for None)."""
    return " ".join(el.text_content().replace("\xa0", " ").split()) if el is not None else ""


@lru_cache(maxsize=256)
def _xp(expr: str) -> etree.XPath:
    """Compiled XPath, once per expression ($name variables instead of formatted strings)."""
    return etree.XPath(expr)


def xall(el, expr: str, **variables) -> list:
    return _xp(expr)(el, **variables)


def xfirst(el, expr: str, **variables):
    found = _xp(expr)(el, **variables)
    return found[0] if found else None


def first_int(text: str | None) -> int | None:
    m = _INT.search(text or "")
    return int(m.group()) if m else None


def page_complete(text: str, warnings: list[str]) -> bool:
    """A whole page ends with </html>; one cut off in transfer does not."""
    if "</html" in text[-4096:].lower():
        return True
    warnings.append("page looks truncated (no closing </html>): it will be read again")
    return False


def body_text(el, skip=None) -> str:
    """Post text with line breaks kept (<br>, blocks), ``skip`` element's own text left out."""
    parts = [el.text or ""]
    for child in el.iterdescendants():
        if child.tag in _BLOCK_TAGS:
            parts.append("\n")
        if (child is not skip and isinstance(child.tag, str) and child.tag not in ("script", "style")
                and child.getparent() is not skip):  # comments (<!--StartFragment-->) are not text
            parts.append(child.text or "")
        parts.append(child.tail or "")
    lines = (" ".join(line.replace("\xa0", " ").split()) for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line)
