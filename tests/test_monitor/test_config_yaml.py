"""config.yaml is YAML 1.2 (ruamel.yaml): what it reads, what it refuses (anchors, aliases, tags, duplicate
keys), and that a syntax error is one sentence with the line and column."""
from __future__ import annotations

import io
import subprocess
import sys
from datetime import time

import pytest

from monitor.config import parse_config, read_yaml
from monitor.errors import ConfigError
from tests.helpers import ROOT
from tests.test_monitor.test_config import MINIMAL, assert_at, refused


def test_yaml_12_reads_values_as_written():
    """YAML 1.1 (PyYAML) read 22:00 as 1320, 1:30 as 90, 010 as 8 and yes as true."""
    cfg = parse_config(MINIMAL.replace("      - fid: 2\n", "      - fid: 010\n        name: yes\n")
                       + "digest:\n  time: 22:00\n")
    assert cfg.digest.time == time(22, 0)
    assert cfg.forums[0].boards[0].fid == 10 and cfg.forums[0].boards[0].name == "yes"
    assert_at(refused(MINIMAL + "rules:\n  respond_within: {hours: 1:30}\n"), "rules.respond_within.hours", 13,
              "Input should be a valid number, unable to parse string as a number (got '1:30')")


def test_a_number_where_text_belongs_says_to_quote_it():
    assert_at(refused(MINIMAL.replace("uid: 9}", "uid: 9, username: 0123}")), "units[0].accounts[0].username", 11,
              "expected text, but YAML reads 123 as a number: put it in quotes")
    assert parse_config(MINIMAL.replace("uid: 9}", "uid: 9, username: '0123'}")).units[0].accounts[0].username == "0123"


BOMB = "lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"l{i}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))


def test_an_alias_bomb_is_refused_before_it_is_expanded():
    """Nine levels of nine aliases: 387 million strings if composed. Refused from the parse events."""
    e = refused(MINIMAL + BOMB)
    assert_at(e, "lol", 12, "YAML anchors and aliases (&a, *a) are not allowed in config.yaml: write each value out")
    assert "(column 6)" in str(e)


@pytest.mark.parametrize("extra,key_path,line", [
    ("defaults: &d {rate_limit: 1}\n", "defaults", 12),
    ("x:\n  - y\n  - &keep z\n", "x[1]", 14),
    ("base: {a: 1}\nother:\n  <<: *base\n", "other.<<", 14),
])
def test_anchors_aliases_and_merge_keys_are_refused_with_line_and_key(extra, key_path, line):
    assert_at(refused(MINIMAL + extra), key_path, line, "YAML anchors and aliases")


@pytest.mark.parametrize("text,line,words", [
    (MINIMAL + "database: sqlite:///a.db\ndatabase: sqlite:///b.db\n", 13, "the key 'database' appears twice"),
    (MINIMAL.replace("    name: 城市论坛\n", "    name: 城市论坛\n    name: 市论坛\n"), 4, "the key 'name' appears twice"),
    (MINIMAL.replace("uid: 9}", "uid: 9, uid: 10}"), 11, "the key 'uid' appears twice"),
])
def test_duplicate_keys_are_refused_with_the_line(text, line, words):
    e = refused(text)
    assert e.line == line and f"not valid YAML at line {line}, column" in str(e) and words in str(e)


@pytest.mark.parametrize("change,line,column,sentence", [
    (("    name: 城市论坛", "\tname: 城市论坛"), 3, 1, "a tab character is not allowed for indentation (indent with spaces)"),
    (("name: 城市论坛", "name: 城市: 论坛"), 3, 13,
     "mapping values are not allowed here (a ':' inside an unquoted value? quote it)"),
    (("    boards:\n", "    boards: [\n"), 6, 7, "found '-' inside a '[...]' or '{...}' (is a '[' or '{' above not closed?)"),
    (("{forum: city, uid: 9}", "{forum: city, uid: 9"), 11, 9,
     "this '{' mapping is not closed (expected ',' or '}') (noticed at line 12)"),
    (("    boards:", "    login: {username: ${U}, password: ${P}}\n    boards:"), 5, 12,
     "this '{' mapping is not closed (expected ',' or '}') (a ${ENV} reference inside [...] or {...} needs quotes"),
    (("name: 城市论坛", "name: '城市论坛"), 3, 11, "this quoted value is never closed"),
    (("    name: 城市论坛", "   name: 城市论坛"), 3, 4, "the indentation of this line does not match the lines above it"),
    (("    name: 城市论坛", "    name 城市论坛"), 3, 5, "this line is not `key: value` (a missing ':', or a wrong indentation?)"),
    (("name: 城市论坛", 'name: "C:\\城市"'), 3, 15, "found unknown escape character '城' in a double-quoted value"),
    (("name: 城市论坛", "name: @城市"), 3, 11, "a value cannot start with '@' (quote it)"),
])
def test_a_syntax_error_is_one_sentence_with_line_and_column(change, line, column, sentence):
    e = refused(MINIMAL.replace(*change))
    assert e.line == line and e.key_path is None
    assert str(e).startswith(f"config.yaml:{line}: not valid YAML at line {line}, column {column}: {sentence}"), str(e)
    assert "\n" not in str(e) and "while scanning" not in str(e) and "<unicode string>" not in str(e)


@pytest.mark.parametrize("text,key_path,line,words", [
    (MINIMAL + "database: !!binary aGVsbG8=\n", "database", 12, "YAML tags (!!binary) are not used in config.yaml"),
    (MINIMAL + "x: !custom 1\n", "x", 12, "YAML tags (!custom)"),
    ("%YAML 1.1\n---\n" + MINIMAL, None, 2, "config.yaml is read as YAML 1.2: remove the %YAML 1.1 line"),
    (MINIMAL + "x: " + "[" * 100 + "]" * 100 + "\n", "x[0][0].…", 12, "nested more than 64 levels deep"),
    (MINIMAL + "x: 2011-04-05T25:00:00\n", "x", 12, "'2011-04-05T25:00:00' is not a real date or time"),
])
def test_what_config_yaml_never_needs_is_refused_with_line_and_key(text, key_path, line, words):
    assert_at(refused(text), key_path, line, words)


def test_other_unreadable_files_give_the_line():
    e = refused(MINIMAL + "---\nmore: 1\n")
    assert e.line == 12 and "a second YAML document ('---'): config.yaml holds one" in str(e)
    e = refused(MINIMAL + "database: \x07\n")
    assert e.line == 12 and "the control character #x07 is not allowed" in str(e)
    for text in ("", "# only a comment\n", "- a list\n", "just text\n"):
        assert_at(refused(text), None, 1, "expected a mapping of settings at the top level")


def test_forum_add_reads_with_the_same_reader_and_keeps_quotes_and_comments():
    """monitor.onboarding edits what read_yaml returns and dumps it with ruamel's round trip."""
    from ruamel.yaml import YAML
    text = (ROOT / "config.yaml").read_text("utf-8")
    data = read_yaml(text)
    assert data["digest"]["time"] == "22:00" and data.lc.key("digest")[0] + 1 == text.splitlines().index("digest:") + 1
    out = io.StringIO()
    dumper = YAML()
    dumper.indent(mapping=2, sequence=4, offset=2)
    dumper.dump(data, out)
    assert 'time: "22:00"' in out.getvalue() and "# the office's zone" in out.getvalue()
    with pytest.raises(ConfigError, match="anchors and aliases"):
        read_yaml(text + "x: &a 1\n", "config.yaml")


def test_config_reads_without_pyyaml():
    """One YAML library reads and writes config.yaml: monitor.config never imports PyYAML."""
    code = ("import sys; from monitor.config import load_config; load_config('config.yaml'); "
            "print('yaml' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
