"""config.yaml: the sample is valid, and every kind of mistake is named with its key path and line."""
from __future__ import annotations

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError
from tests.helpers import ROOT, sample_config

MINIMAL = """\
forums:
  - id: city
    name: 城市论坛
    base_url: http://bbs.example.cn
    boards:
      - fid: 2
units:
  - id: water
    name: 市供水公司
    accounts:
      - {forum: city, uid: 9}
"""


def test_sample_config_is_valid_and_describes_the_demo():
    cfg = sample_config()
    assert [f.id for f in cfg.forums] == ["demo"]
    assert cfg.rules.respond_within.working_days == 2 and cfg.rules.hot.respond_within.hours == 24
    assert {u.name for u in cfg.units} >= {"市旅游局", "市供水公司", "市出租办"}


def test_defaults_fill_in():
    cfg = parse_config(MINIMAL)
    forum = cfg.forums[0]
    assert forum.base_url == "http://bbs.example.cn/" and forum.timezone == "Asia/Shanghai"
    assert forum.boards[0].kind == "programme" and cfg.database.startswith("sqlite:///")


@pytest.mark.parametrize("broken,key_path,line,words", [
    (MINIMAL.replace("fid: 2", "fid: two"), "forums[0].boards[0].fid", 6, "integer"),
    (MINIMAL.replace("http://bbs.example.cn", "bbs.example.cn"), "forums[0].base_url", 4, "pattern"),
    (MINIMAL.replace("uid: 9}", "uid: 9, forum_name: x}"), "units[0].accounts[0].forum_name", 11, "unknown setting"),
    (MINIMAL.replace("forum: city", "forum: town"), None, None, "unknown forum 'town'"),
    (MINIMAL + "rules:\n  respond_within: {working_days: 2, hours: 24}\n", "rules.respond_within", 13, "exactly one"),
    (MINIMAL.replace("name: 城市论坛", "name: 城市论坛\n    timezone: Mars/Base"), "forums[0].timezone", 4, "unknown time zone"),
])
def test_invalid_values_name_key_path_and_line(broken, key_path, line, words):
    with pytest.raises(ConfigError) as err:
        parse_config(broken, "conf/config.yaml")
    e = err.value
    assert e.path == "conf/config.yaml" and e.key_path == key_path and words in str(e)
    if line:
        assert e.line == line and str(e).startswith(f"conf/config.yaml:{line}: ")


def test_broken_yaml_gives_the_line():
    with pytest.raises(ConfigError) as err:
        parse_config(MINIMAL.replace("    boards:\n", "    boards: [\n"), "config.yaml")
    assert "not valid YAML" in str(err.value) and err.value.line is not None


def test_environment_references(monkeypatch):
    text = MINIMAL.replace("    boards:", "    cookies: ${CITY_COOKIE}\n    boards:") + "database: ${DB_URL:-sqlite:///x.db}\n"
    with pytest.raises(ConfigError, match="environment variable CITY_COOKIE is not set") as err:
        parse_config(text)
    assert err.value.key_path == "forums[0].cookies"
    monkeypatch.setenv("CITY_COOKIE", "auth=abc; saltkey=xyz")
    cfg = parse_config(text)
    assert cfg.forums[0].cookie_dict() == {"auth": "abc", "saltkey": "xyz"} and cfg.database == "sqlite:///x.db"


def test_every_setting_is_documented_in_the_readme():
    """Each config key appears in the README's configuration reference."""
    from monitor.config import Config
    readme = (ROOT / "README.md").read_text("utf-8")
    missing = []

    def walk(model, prefix):
        for name, field in model.model_fields.items():
            if f"`{name}`" not in readme:
                missing.append(prefix + name)
            ann = field.annotation
            inner = getattr(ann, "__args__", (ann,))
            for t in inner:
                if isinstance(t, type) and hasattr(t, "model_fields"):
                    walk(t, prefix + name + ".")
    walk(Config, "")
    assert missing == []


def test_login_comes_from_the_environment_and_is_never_shown(monkeypatch):
    text = MINIMAL.replace("    boards:", "    login:\n      username: ${CITY_USER}\n      password: ${CITY_PASSWORD}\n    boards:")
    monkeypatch.setenv("CITY_USER", "监督员")
    monkeypatch.setenv("CITY_PASSWORD", "pa55-word")
    cfg = parse_config(text)
    login = cfg.forums[0].login
    assert login.username == "监督员" and login.password.get_secret_value() == "pa55-word"
    assert "pa55-word" not in repr(cfg) and "pa55-word" not in str(cfg.model_dump())


GENERIC = MINIMAL.replace("    boards:\n", """\
    engine: generic
    generic:
      board_url: "forum/{fid}?page={page}"
      thread_url: "t/{tid}?page={page}"
      tid_pattern: "/t/(\\\\d+)"
      threads: {row: "tr.topic", link: "a.title@href"}
      posts: {post: "div.post", pid: "@data-id", body: "div.text"}
    boards:
""")


@pytest.mark.parametrize("change,words", [
    (('row: "tr.topic"', 'row: "tr.topic[[["'), "generic.threads: row: 'tr.topic[[[' is not valid CSS"),
    (('post: "div.post"', 'post: "//div[@class=\'post\'"'), "is not valid XPath"),
    (('body: "div.text"', 'body: ".//div[@class=\'text\']"'), "body: \".//div[@class='text']\" is XPath but post is CSS"),
])
def test_generic_selectors_are_checked_when_the_config_is_read(change, words):
    assert parse_config(GENERIC).forums[0].generic.threads.row == "tr.topic"
    with pytest.raises(ConfigError) as err:
        parse_config(GENERIC.replace(*change), "config.yaml")
    assert words in str(err.value) and "forums[0].generic" in str(err.value)


def test_max_parallel_polls_defaults_to_the_forums_capped_and_takes_a_whole_number(monkeypatch):
    one = parse_config(MINIMAL)
    assert one.max_parallel_polls is None and one.poll_pool_size == 1
    many = MINIMAL.replace("forums:\n", "forums:\n" + "".join(
        f"  - {{id: f{i}, name: F{i}, base_url: 'http://f{i}.example.cn/', boards: [{{fid: 2}}]}}\n"
        for i in range(11)))
    assert parse_config(many).poll_pool_size == 8  # 12 forums: the default pool is capped
    assert parse_config(many + "max_parallel_polls: 12\n").poll_pool_size == 12
    assert parse_config(MINIMAL + "max_parallel_polls: 4\n").poll_pool_size == 4
    monkeypatch.setenv("POLLS", "3")
    assert parse_config(MINIMAL + "max_parallel_polls: ${POLLS:-4}\n").poll_pool_size == 3


@pytest.mark.parametrize("value", ["0", "-2", "2.5", "true", "many", "[4]"])
def test_a_bad_max_parallel_polls_is_named_with_its_line(value):
    with pytest.raises(ConfigError) as err:
        parse_config(MINIMAL + f"max_parallel_polls: {value}\n", "config.yaml")
    e = err.value
    assert e.key_path == "max_parallel_polls" and e.line == 12
    assert "must be a whole number of at least 1" in str(e)
