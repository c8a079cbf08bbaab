"""Charset: GBK pages decode whether the header, the meta tag, or neither says so."""
from __future__ import annotations

from scrapers.charset import decode_body, detect_encoding

TEXT = "网络发言人：市供水公司答复网友"


def test_gbk_by_header():
    assert decode_body(f"<p>{TEXT}</p>".encode("gbk"), "text/html; charset=GBK") == f"<p>{TEXT}</p>"


def test_gbk_by_meta_tag():
    page = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312" /></head><p>{TEXT}</p>'
    assert TEXT in decode_body(page.encode("gbk"))
    assert detect_encoding(page.encode("gbk")) == "gb18030"


def test_wrong_declaration_falls_back_to_detection():
    # the header says UTF-8 but the bytes are GBK, as misconfigured servers do
    assert TEXT in decode_body(f"<p>{TEXT}</p>".encode("gbk"), "text/html; charset=utf-8")


def test_undeclared_utf8_and_gbk():
    assert decode_body(TEXT.encode("utf-8")) == TEXT
    assert decode_body(TEXT.encode("gb18030")) == TEXT


def test_gb18030_only_character_survives_a_gbk_declaration():
    text = "𠀀 生僻字"  # outside GBK, inside GB18030
    assert decode_body(text.encode("gb18030"), "text/html; charset=gbk") == text
