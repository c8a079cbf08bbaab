"""Charset: GBK pages decode whether the header, the meta tag, or neither says so; a page whose
declared charset would turn it into mojibake is refused, never decoded as garbage."""
from __future__ import annotations

import codecs
import random
from datetime import datetime, timezone

import pytest

from monitor.demoforum import render
from monitor.demoforum.scenario import load_scenario
from scrapers import discuz
from scrapers.charset import CharsetError, decode_body, detect_encoding, mess
from scrapers.errors import ParseError
from scrapers.records import Page, Site
from tests.conftest import real_dir

TEXT = "网络发言人：市供水公司答复网友"
POST = ("网络发言人：市供水公司答复网友，关于东宝区自来水发黄的问题，我们已经安排维修人员前往检查，"
        "预计明天中午之前恢复正常供水。给您带来的不便，敬请谅解！")
RUSSIAN = ("Уважаемые жители! В связи с плановыми работами на водопроводной сети 12 марта "
           "с 9:00 до 18:00 будет отключено холодное водоснабжение в домах по улице Ленина. "
           "Приносим извинения за временные неудобства. Администрация города.")
FRENCH = "Le café était très agréable, mais la crème brûlée coûtait cher. Où êtes-vous allés l'été dernier ?"
SINGLE_BYTE_LIES = ["koi8-r", "KOI8-R", "cp1252", "windows-1252", "iso-8859-1", "latin1", "windows-1251",
                    "iso-8859-5", "iso-8859-2", "cp866"]


def html(body: str, meta: str | None = None) -> str:
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}" />' if meta else ""
    return f"<html><head>{head}<title>t</title></head><body><div class='post'><p>{body}</p></div></body></html>"


@pytest.fixture(scope="module")
def demo_pages() -> dict[str, bytes]:
    """The demo forum's GBK pages, as it serves them: a long thread's first page and a board list."""
    s = load_scenario()
    hot = max(s.threads, key=lambda t: len(t.posts))
    base = "http://127.0.0.1:8089/"
    return {"thread": render.render_thread(s, s.visible(hot, s.default_now), 1, s.default_now, base)
            .encode("gbk", "xmlcharrefreplace"),
            "board": render.render_board(s, 2, 1, s.default_now, base).encode("gbk", "xmlcharrefreplace")}


# ---- GBK pages, declared right ------------------------------------------------


def test_gbk_by_header():
    assert decode_body(f"<p>{TEXT}</p>".encode("gbk"), "text/html; charset=GBK") == f"<p>{TEXT}</p>"


def test_gbk_by_meta_tag():
    page = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312" /></head><p>{TEXT}</p>'
    assert TEXT in decode_body(page.encode("gbk"))
    assert detect_encoding(page.encode("gbk")) == "gb18030"


def test_wrong_declaration_falls_back_to_detection():
    # the header says UTF-8 but the bytes are GBK, as misconfigured servers do: the bytes cannot be
    # UTF-8 (a strict decoding fails), so GB18030 decodes them
    assert TEXT in decode_body(f"<p>{TEXT}</p>".encode("gbk"), "text/html; charset=utf-8")


def test_undeclared_utf8_and_gbk():
    assert decode_body(TEXT.encode("utf-8")) == TEXT
    assert decode_body(TEXT.encode("gb18030")) == TEXT


def test_gb18030_only_character_survives_a_gbk_declaration():
    text = "𠀀 生僻字"  # outside GBK, inside GB18030
    assert decode_body(text.encode("gb18030"), "text/html; charset=gbk") == text


def test_a_gbk_page_cut_in_the_middle_of_a_character_still_decodes(demo_pages):
    body = demo_pages["thread"]
    cut = next(i for i in range(len(body) * 6 // 10, len(body)) if body[i] >= 0x81)  + 1  # after a lead byte
    text = decode_body(body[:cut], "text/html; charset=gbk")
    assert text.endswith("\ufffd") and text.count("\ufffd") == 1
    assert text[:-1] == body[:cut - 1].decode("gb18030")


# ---- GBK pages under a lying charset: decoded right or refused, never mojibake ----


@pytest.mark.parametrize("label", SINGLE_BYTE_LIES)
@pytest.mark.parametrize("where", ["header", "meta"])
def test_gbk_bytes_under_a_single_byte_charset_are_refused(demo_pages, label, where):
    for kind, body in demo_pages.items():
        if where == "meta":
            body = body.replace(b"charset=gbk", f"charset={label}".encode())
        header = f"text/html; charset={label}" if where == "header" else "text/html"
        with pytest.raises(CharsetError) as caught:
            decode_body(body, header, url=f"http://forum.example/{kind}")
        assert isinstance(caught.value, ParseError)
        assert caught.value.url == f"http://forum.example/{kind}" and caught.value.declared
        message = str(caught.value)
        assert message.startswith(f"http://forum.example/{kind}: the page declares charset {label}")
        assert "GB18030" in message and "mis-declared" in message


def test_a_lying_header_is_refused_even_when_the_meta_tag_is_right(demo_pages):
    # the demo pages say charset=gbk in their meta tag; the header that lies decodes the bytes (any byte
    # is a koi8-r letter) into mojibake. Such a page is mis-declared: it is refused with the reason
    # rather than guessed at, so the poll reports it and stores nothing
    with pytest.raises(CharsetError, match=r"koi8-r \(Content-Type header\)"):
        decode_body(demo_pages["thread"], "text/html; charset=koi8-r")


@pytest.mark.parametrize("label", ["koi8-r", "cp1252", "iso-8859-1", "utf-8", "big5", "shift_jis", "euc-kr",
                                   "gb2312", "gbk", "gb18030", "no-such-charset"])
@pytest.mark.parametrize("text", [TEXT, POST, f"{POST} 第2楼 <b>楼主</b> 2011-3-1 10:22", "网络"])
def test_gbk_bytes_are_never_decoded_as_mojibake(label, text):
    body = html(text).encode("gbk")
    try:
        decoded = decode_body(body, f"text/html; charset={label}")
    except CharsetError:
        return  # refused: fine
    assert decoded == html(text)


def test_gbk_bytes_with_a_broken_sequence_under_koi8_r_are_refused_as_garbled(demo_pages):
    body = demo_pages["thread"]
    i = body.index("东宝区".encode("gbk"))
    broken = body[:i] + b"\xff" + body[i:]  # not GB18030 any more: the garbling itself is what shows
    with pytest.raises(CharsetError, match="garbled"):
        decode_body(broken, "text/html; charset=koi8-r")
    assert decode_body(broken, "text/html; charset=gbk").count("\ufffd") == 1  # as before: one bad spot


def test_mess_ratio_tells_mojibake_from_text(demo_pages):
    gbk = demo_pages["thread"]
    assert mess(gbk.decode("gb18030")) < 0.05
    assert mess(html(RUSSIAN).encode("cp1251").decode("cp1251")) < 0.05
    for label in ("koi8-r", "cp1252", "latin-1", "cp1251", "iso-8859-5"):
        assert mess(gbk.decode(label, errors="replace")) > 0.1, label


# ---- UTF-8 pages under a wrong header ------------------------------------------------


def real_pages() -> list[tuple[str, bytes]]:
    root = real_dir()
    return [(p.name, p.read_bytes()) for p in sorted(root.rglob("*.html"))]


def test_real_utf8_pages_decode_strictly_under_any_gbk_or_utf8_declaration():
    for name, body in real_pages():
        expected = body.decode("utf-8").removeprefix("\ufeff")
        for header in (None, "text/html", "text/html; charset=utf-8", "text/html; charset=UTF-8",
                       "text/html; charset=gbk", "text/html; charset=gb2312"):
            assert decode_body(body, header) == expected, (name, header)
            assert detect_encoding(body, header) == "utf-8", (name, header)


def test_real_utf8_pages_under_a_single_byte_header_are_refused():
    for name, body in real_pages():
        if body.isascii():
            continue
        for header in ("text/html; charset=iso-8859-1", "text/html; charset=koi8-r", "text/html; charset=cp1251"):
            with pytest.raises(CharsetError, match="valid UTF-8"):
                decode_body(body, header)


def test_a_utf8_page_declared_gbk_decodes_as_utf8():
    page = html(POST, meta="gbk").encode("utf-8")
    assert decode_body(page, "text/html; charset=gbk") == html(POST, meta="gbk")


# ---- pages truly in a single-byte charset stay readable ----------------------------


@pytest.mark.parametrize("header", ["text/html; charset=windows-1251", "text/html; charset=cp1251", None])
def test_a_russian_cp1251_page_stays_readable(header):
    meta = None if header else "windows-1251"
    assert decode_body(html(RUSSIAN, meta).encode("cp1251"), header) == html(RUSSIAN, meta)


def test_an_undeclared_russian_cp1251_page_is_detected():
    assert decode_body(html(RUSSIAN).encode("cp1251")) == html(RUSSIAN)
    assert detect_encoding(html(RUSSIAN).encode("cp1251")) == "cp1251"


def test_a_russian_koi8_r_page_stays_readable_and_a_wrong_cyrillic_declaration_is_refused():
    assert decode_body(html(RUSSIAN).encode("koi8-r"), "text/html; charset=koi8-r") == html(RUSSIAN)
    with pytest.raises(CharsetError, match="garbled"):
        decode_body(html(RUSSIAN).encode("cp1251"), "text/html; charset=koi8-r")


@pytest.mark.parametrize("label", ["iso-8859-1", "windows-1252", "latin1"])
def test_a_french_latin1_page_stays_readable(label):
    assert decode_body(html(FRENCH).encode("cp1252"), f"text/html; charset={label}") == html(FRENCH)


def test_an_ascii_page_decodes_under_any_declaration():
    for label in ["koi8-r", "cp1252", "gbk", "utf-8", "big5", "nonsense"]:
        assert decode_body(b"<html><body><p>ok 123</p></body></html>", f"text/html; charset={label}") \
            == "<html><body><p>ok 123</p></body></html>"


def test_a_big5_page_declared_big5_stays_traditional_chinese():
    text = "網絡發言人：市供水公司答復網友，關於東寶區自來水發黃的問題，我們已經安排維修人員前往檢查。"
    assert decode_body(html(text).encode("big5"), "text/html; charset=big5") == html(text)


# ---- byte-order marks ------------------------------------------------------------


def test_a_utf8_bom_wins_over_any_declaration():
    body = codecs.BOM_UTF8 + html(POST).encode("utf-8")
    for header in (None, "text/html; charset=gbk", "text/html; charset=koi8-r"):
        assert decode_body(body, header) == html(POST)
        assert detect_encoding(body, header) == "utf-8-sig"


def test_a_utf16_bom():
    assert decode_body(codecs.BOM_UTF16_LE + html(POST).encode("utf-16-le"), "text/html; charset=gbk") == html(POST)
    assert decode_body(codecs.BOM_UTF16_BE + html(POST).encode("utf-16-be")) == html(POST)


def test_a_meta_tag_saying_utf16_on_a_page_without_bom_reads_as_utf8():
    page = html(POST, meta="utf-16")
    assert decode_body(page.encode("utf-8")) == page


# ---- what nothing decodes is refused --------------------------------------------


def test_bytes_in_no_charset_are_refused_with_the_reason():
    noise = random.Random(7).randbytes(6000)
    with pytest.raises(CharsetError, match="refused") as caught:
        decode_body(b"<html><body>" + noise + b"</body></html>", "text/html; charset=gbk", url="http://f/x")
    assert str(caught.value).startswith("http://f/x: the page declares gbk (Content-Type header)")


# ---- the parsers see the refusal as a ParseError naming the page ------------------


def test_a_mis_declared_page_is_a_parse_error_for_the_engine(demo_pages):
    site = Site("http://127.0.0.1:8089/")
    now = datetime(2011, 4, 1, tzinfo=timezone.utc)
    for kind, parse in (("thread", discuz.parse_thread), ("board", discuz.parse_thread_list)):
        lying = Page(f"http://127.0.0.1:8089/{kind}", demo_pages[kind], now,
                     content_type="text/html; charset=koi8-r")
        with pytest.raises(ParseError, match="koi8-r"):
            parse(lying, site)
        honest = Page(lying.url, demo_pages[kind], now, content_type="text/html; charset=gbk")
        assert parse(honest, site).complete
