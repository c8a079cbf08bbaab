"""Turn page bytes into text: header charset, then the meta tag, then detection; never mojibake.

GBK and GB2312 pages are decoded as GB18030, their superset, so that the odd
character outside GBK does not break a page.

A declared charset is used only when the text it gives is plausible:

* UTF-8 and GB18030 (the GBK family) are used when the bytes decode strictly:
  their byte structure is checked by the decoding itself (the fast path, no
  detection). A declaration the bytes cannot be in (GBK bytes under a UTF-8
  header) is skipped: the page's other declaration, UTF-8, then GB18030 are
  tried, as before.
* A single-byte charset (koi8-r, cp1251, cp1252, latin-1, …) decodes *any*
  bytes, so its text is checked: the page is refused when its bytes are valid
  UTF-8 or read as GB18030 Chinese, or when charset-normalizer's mess detector
  finds the text garbled (mojibake). A Russian page in cp1251 stays readable.
* Another multi-byte charset (Big5, Shift_JIS, EUC-KR) must decode strictly and
  cleanly; when the bytes are GB18030 too, charset-normalizer arbitrates.

A page whose declared charset turns it into mojibake is mis-declared and is
refused with :class:`CharsetError` (a ``ParseError``): it is not evidence, and
the poller fails that page with the reason instead of storing garbled text.
Undeclared pages that are neither UTF-8 nor GB18030 go to detection; a page
with a few broken sequences (one cut in the middle of a character) keeps the
encoding that decodes all but those.
"""
from __future__ import annotations

import codecs
import re

from scrapers.errors import ParseError

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)
_XML_DECL = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-]+)""", re.I)
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "x-gbk": "gb18030", "ascii": "utf-8", "us-ascii": "utf-8",
              "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin-1": "cp1252", "big5": "big5hkscs"}

#: decoded strictly, these are plausible without a look at the text (their byte structure is the check)
_SELF_CHECKING = ("utf-8", "gb18030")
#: codecs.lookup() names of the multi-byte charsets a page may declare; any other charset is single-byte
_MULTIBYTE = frozenset({
    "utf-8", "gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950", "shift_jis", "cp932",
    "shift_jis_2004", "shift_jisx0213", "euc_jp", "euc_jis_2004", "euc_jisx0213", "euc_kr", "cp949",
    "johab", "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3",
    "iso2022_jp_ext", "iso2022_kr", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
    "utf-32-be", "utf-7", "utf-8-sig"})
_GB_FAMILY = frozenset({"gb18030", "gbk", "gb2312", "hz"})

#: charset-normalizer's mess ratio from which a text counts as garbled. Real text in the right
#: charset measures 0-0.03; GBK read as koi8-r 1.2-1.3, as cp1252 1.4-2.4, as cp1251 0.4-0.5,
#: as iso-8859-5 0.2-0.4; Russian cp1251 read as mac-cyrillic 0.18.
MESS_LIMIT = 0.1
#: share of CJK characters among the non-ASCII ones from which a GB18030 reading is Chinese text
_CJK_SHARE = 0.8
#: the characters looked at by the mess detector: the text around non-ASCII runs, this many at most
_SAMPLE_CHARS = 6000
_CONTEXT = 24

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]")
_C1 = "spokeswatch.c1"


def _undefined_byte_as_c1(exc: UnicodeDecodeError) -> tuple[str, int]:
    """A byte a single-byte charset leaves undefined (0x81 in cp1252) becomes the C1 control of the
    same number, as browsers decode windows-1252: such a charset decodes any bytes."""
    return chr(exc.object[exc.start]), exc.start + 1


codecs.register_error(_C1, _undefined_byte_as_c1)


class CharsetError(ParseError):
    """A page whose bytes give no plausible text: mis-declared (mojibake) or in no charset we can tell.

    ``url`` is ``None`` when the caller did not pass it; the message is then the reason alone."""

    def __init__(self, url: str | None, reason: str, declared: str | None = None):
        super().__init__(url or "", reason)
        self.args = (f"{url}: {reason}" if url else reason,)
        self.url, self.declared = url, declared


def _normalise(name: str | None) -> str | None:
    if not name:
        return None
    try:
        canonical = codecs.lookup(name.strip()).name
    except LookupError:
        return None
    return _SUPERSETS.get(canonical, _SUPERSETS.get(name.strip().lower(), canonical))


def _header_declaration(content_type: str | None) -> tuple[str, str] | None:
    """The charset the Content-Type header declares, as (codec name, "label (where)")."""
    m = _HEADER_CHARSET.search(content_type) if content_type else None
    name = _normalise(m.group(1)) if m else None
    return (name, f"{m.group(1)} (Content-Type header)") if name else None


def _page_declaration(body: bytes) -> tuple[str, str] | None:
    """The charset the page itself declares in its first 4 KB: meta tag or XML declaration."""
    head = body[:4096]
    m = _META_CHARSET.search(head) or _XML_DECL.search(head)
    if not m:
        return None
    label = m.group(1).decode("ascii")
    name = _normalise(label)
    if name and name.startswith(("utf-16", "utf-32")):
        name = "utf-8"  # a page that can declare itself in ASCII is not UTF-16 (browsers read it as UTF-8)
    return (name, f"{label} ({'meta tag' if m.re is _META_CHARSET else 'XML declaration'})") if name else None


def _declarations(body: bytes, content_type: str | None):
    """The charsets the page declares, as (codec name, "label (where)"): the header's, then the
    page's own when it differs (looked for only when the header's does not decode the page)."""
    header = _header_declaration(content_type)
    if header:
        yield header
    page = _page_declaration(body)
    if page and (header is None or page[0] != header[0]):
        yield page


def _sample(text: str) -> str:
    """The text around the non-ASCII runs (markup and ASCII-only stretches left out), capped."""
    parts: list[str] = []
    size, end = 0, 0
    for m in _NON_ASCII.finditer(text):
        start = max(m.start() - _CONTEXT, end)
        end = m.end() + _CONTEXT
        parts.append(text[start:end])
        size += end - start
        if size >= _SAMPLE_CHARS:
            break
    return "".join(parts)


def mess(text: str, sampled: bool = False) -> float:
    """charset-normalizer's mess ratio of the non-ASCII parts of ``text`` (0 = clean text)."""
    from charset_normalizer.md import mess_ratio  # imported on first need: most pages never get here

    sample = text if sampled else _sample(text)
    return mess_ratio(sample, maximum_threshold=1.0) if sample else 0.0


def _cjk_share(text: str) -> float:
    non_ascii = sum(len(run) for run in _NON_ASCII.findall(text))
    return len(_CJK.findall(text)) / non_ascii if non_ascii else 0.0


def _reads_as_gb18030(body: bytes) -> bool:
    """The bytes decode strictly as GB18030 into Chinese text (the tell of a GBK page)."""
    try:
        sample = _sample(body.decode("gb18030"))
    except UnicodeDecodeError:
        return False
    return _cjk_share(sample) >= _CJK_SHARE and mess(sample, sampled=True) < MESS_LIMIT


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _single_byte_problem(body: bytes, text: str) -> str | None:
    """Why the single-byte reading ``text`` of ``body`` is not plausible, or None when it is."""
    if body.isascii():
        return None
    if _is_utf8(body):
        return "its bytes are valid UTF-8"
    if _reads_as_gb18030(body):
        return "its bytes read as GB18030 (GBK) Chinese"
    ratio = mess(text)
    if ratio >= MESS_LIMIT:
        return f"the text it gives is garbled (mess ratio {ratio:.2f})"
    return None


def _multibyte_problem(body: bytes, text: str, name: str) -> str | None:
    """Why a strict reading under a multi-byte charset other than UTF-8/GB18030 is not plausible."""
    ratio = mess(text)
    if ratio >= MESS_LIMIT:
        return f"the text it gives is garbled (mess ratio {ratio:.2f})"
    if name not in _GB_FAMILY and _reads_as_gb18030(body):
        # CJK bytes of one double-byte charset are often valid in another: let detection arbitrate,
        # and refuse when it cannot tell them apart (short pages) rather than guess
        from charset_normalizer import from_bytes

        matches = from_bytes(body, cp_isolation=[name, "gb18030"])
        ranked = {_normalise(m.encoding): (m.chaos, -m.coherence) for m in matches}
        mine, gb = ranked.get(name), ranked.get("gb18030")
        if mine is None or (gb is not None and gb <= mine):
            return "its bytes read as GB18030 (GBK) Chinese at least as well (charset-normalizer)"
    return None


def _detect(body: bytes):
    from charset_normalizer import from_bytes

    return from_bytes(body).best()


def _lenient(body: bytes, name: str) -> str | None:
    """``body`` decoded with the broken sequences replaced, when they are few (≤ 1% of the non-ASCII
    characters; a page cut in the middle of a character has one)."""
    try:
        text = body.decode(name, errors="replace")
    except LookupError:
        return None
    bad = text.count("\ufffd")
    non_ascii = sum(len(run) for run in _NON_ASCII.findall(text))
    return text if bad <= max(1, non_ascii // 100) else None


def _refuse(url: str | None, name: str, where: str, problem: str) -> CharsetError:
    return CharsetError(url, f"the page declares charset {where} but {problem}: "
                             f"refused as mis-declared rather than stored as mojibake", declared=name)


def _decode(body: bytes, content_type: str | None, url: str | None = None) -> tuple[str, str]:
    """(text, encoding): the declared encoding if its text is plausible, else UTF-8, GB18030, detection."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if body.startswith(bom):
            return body[2:].decode(name, errors="replace"), name
    declared: list[tuple[str, str]] = []
    for name, where in _declarations(body, content_type):
        declared.append((name, where))
        if name in _SELF_CHECKING:
            try:
                return body.decode(name), name
            except UnicodeDecodeError:
                continue  # the bytes are not in it: a wrong declaration, try the others
        if name not in _MULTIBYTE:
            text = body.decode(name, errors=_C1)
            if (problem := _single_byte_problem(body, text)) is None:
                return text, name
            raise _refuse(url, name, where, problem)
        try:
            text = body.decode(name)
        except UnicodeDecodeError:
            continue
        if (problem := _multibyte_problem(body, text, name)) is None:
            return text, name
        raise _refuse(url, name, where, problem)
    tried = {name for name, _ in declared}
    for name in _SELF_CHECKING:
        if name not in tried:
            try:
                return body.decode(name), name
            except UnicodeDecodeError:
                pass
    # a few broken sequences in an otherwise good UTF-8 or GB18030 page (declared first): as before, kept
    for name in dict.fromkeys([*(name for name, _ in declared if name in _SELF_CHECKING), *_SELF_CHECKING]):
        if (text := _lenient(body, name)) is not None:
            return text, name
    best = _detect(body)
    if best is not None and (name := _normalise(best.encoding)) and name not in _SELF_CHECKING:
        if name not in _MULTIBYTE:
            text = body.decode(name, errors=_C1)
            if _single_byte_problem(body, text) is None:
                return text, name
        else:
            try:
                text = body.decode(name)
            except UnicodeDecodeError:
                text = None
            if text is not None and _multibyte_problem(body, text, name) is None:
                return text, name
    said = ", ".join(where for _, where in declared) or "no charset"
    raise CharsetError(url, f"the page declares {said} and its bytes decode as none of that, UTF-8, GB18030 "
                            f"or a charset charset-normalizer can tell without mojibake: refused")


def detect_encoding(body: bytes, content_type: str | None = None, url: str | None = None) -> str:
    """Name the encoding of ``body``: declared (header, meta, XML) when plausible, or detected.

    Raises :class:`CharsetError` for a page no charset decodes plausibly."""
    return _decode(body, content_type, url)[1]


def decode_body(body: bytes, content_type: str | None = None, url: str | None = None) -> str:
    """Decode page bytes to text (each page is decoded once, strictly when possible).

    Raises :class:`CharsetError` (a ``ParseError``; naming ``url`` when given) for a page whose
    declared charset gives mojibake, or that no charset decodes plausibly."""
    return _decode(body, content_type, url)[0]
