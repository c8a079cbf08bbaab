"""config.yaml: the sample is valid, and every kind of mistake is named with its key path and line."""
from __future__ import annotations

from datetime import date

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
    (MINIMAL.replace("forum: city", "forum: town"), "units[0].accounts[0].forum", 11, "unknown forum 'town'"),
    (MINIMAL + "rules:\n  respond_within: {working_days: 2, hours: 24}\n", "rules.respond_within", 13, "exactly one"),
    (MINIMAL.replace("name: 城市论坛", "name: 城市论坛\n    timezone: Mars/Base"), "forums[0].timezone", 4, "unknown time zone"),
    (MINIMAL + "quality:\n  redirect_phrases: ['请拨打(']\n", "quality.redirect_phrases", 13, "not a regular expression"),
    (MINIMAL + "quality:\n  boilerplate_similarity: 1.5\n", "quality.boilerplate_similarity", 13, "less than or equal to 1"),
    (MINIMAL + "reports:\n  font: /nowhere/simhei.ttf\n", "reports.font", 13, "does not exist"),
    (MINIMAL + "reports:\n  formats: [pdf]\n", "reports.formats[0]", 13, "'md', 'html', 'json', 'docx' or 'xlsx'"),
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
    """Each config key (as written in config.yaml: a field's alias if it has one) appears in the README's
    configuration reference."""
    from monitor.config import Config
    readme = (ROOT / "README.md").read_text("utf-8")
    missing = []

    def walk(model, prefix):
        for field_name, field in model.model_fields.items():
            name = field.alias or field_name
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


# ---- every mistake points at its item: file, line, key path ----------------

def refused(text: str, path: str = "config.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as err:
        parse_config(text, path)
    return err.value


def assert_at(e: ConfigError, key_path: str | None, line: int, words: str) -> None:
    assert (e.key_path, e.line) == (key_path, line), str(e)
    assert words in e.message, str(e)
    assert str(e).startswith(f"{e.path}:{line}: {key_path + ': ' if key_path else ''}"), str(e)


TWO_FORUMS = """\
forums:
  - id: city
    name: 城市论坛
    base_url: http://bbs.example.cn
    boards:
      - fid: 2
      - fid: 3
        unit: water
        categories: {投诉: water, 咨询: water}
  - id: town
    name: 县论坛
    base_url: http://bbs.town.cn
    boards:
      - fid: 7
units:
  - id: water
    name: 市供水公司
    accounts:
      - {forum: city, uid: 9}
  - id: taxi
    name: 市出租办
    accounts:
      - {forum: town, uid: 3}
      - {forum: city, username: 出租办}
"""


@pytest.mark.parametrize("change,key_path,line,words", [
    (("  - id: town", "  - id: city"), "forums[1].id", 10, "duplicate forum id 'city' (also forums[0])"),
    (("  - id: taxi", "  - id: water"), "units[1].id", 20, "duplicate unit id 'water' (also units[0])"),
    (("{forum: city, username", "{forum: village, username"), "units[1].accounts[1].forum", 24,
     "unknown forum 'village' (forums: city, town)"),
    (("        unit: water\n", "        unit: sewer\n"), "forums[0].boards[1].unit", 8,
     "unknown unit 'sewer' (units: water, taxi)"),
    (("咨询: water", "咨询: gas"), "forums[0].boards[1].categories.咨询", 9, "unknown unit 'gas'"),
    (("      - fid: 7\n", "      - fid: 7\n      - fid: 7\n"), "forums[1].boards[1].fid", 15,
     "board 7 is listed twice on forum 'town' (also boards[0])"),
])
def test_a_wrong_reference_points_at_the_item_that_makes_it(change, key_path, line, words):
    assert parse_config(TWO_FORUMS).units[1].accounts[1].username == "出租办"
    assert_at(refused(TWO_FORUMS.replace(*change)), key_path, line, words)


def test_a_missing_environment_variable_gives_its_line_and_key(monkeypatch):
    monkeypatch.delenv("HOOK_TOKEN", raising=False)
    e = refused(MINIMAL + "digest:\n  notify:\n    - json://hooks.example.cn/\n    - json://hooks.example.cn/${HOOK_TOKEN}\n")
    assert_at(e, "digest.notify[1]", 15, "environment variable HOOK_TOKEN is not set")


SECRETS = MINIMAL.replace("    boards:", """\
    cookies: ${CITY_COOKIE}
    login:
      username: ${CITY_USER}
      password: ${CITY_PASSWORD}
    boards:""") + """\
    notify: ['wecombot://${WECOM_KEY}', '${UNIT_URL}']
digest:
  notify:
    - ${DIGEST_URL}
    - json://hooks.example.cn/${HOOK_TOKEN}
alerts:
  notify: ['dingtalk://${ALERT_TOKEN}']
"""


def test_optional_secrets_leave_delivery_and_login_settings_empty(tmp_path, monkeypatch):
    """status needs no delivery or login secrets: load_config(optional_secrets=True) reads them as ''."""
    from monitor.config import load_config
    for name in ("CITY_COOKIE", "CITY_USER", "CITY_PASSWORD", "WECOM_KEY", "UNIT_URL", "DIGEST_URL", "HOOK_TOKEN",
                 "DB_URL", "CITY_NAME", "ALERT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config.yaml"
    path.write_text(SECRETS, "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert_at(err.value, "forums[0].cookies", 5, "environment variable CITY_COOKIE is not set")
    cfg = load_config(path, optional_secrets=True)
    forum = cfg.forums[0]
    assert forum.cookies == "" and forum.login.username == "" and forum.login.password.get_secret_value() == ""
    assert cfg.units[0].notify == ["wecombot://"]                 # the empty target is left out
    assert cfg.digest.notify == ["json://hooks.example.cn/"]
    assert cfg.alerts.notify == ["dingtalk://"]
    # anywhere else a missing variable still fails, with its line
    path.write_text(SECRETS + "database: ${DB_URL}\n", "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, optional_secrets=True)
    assert_at(err.value, "database", 23, "environment variable DB_URL is not set")
    path.write_text(SECRETS.replace("name: 城市论坛", "name: ${CITY_NAME}"), "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, optional_secrets=True)
    assert_at(err.value, "forums[0].name", 3, "environment variable CITY_NAME is not set")


# ---- the digest time and the calendar's dates ----------------------------

@pytest.mark.parametrize("value,expected", [("22:00", "22:00"), ('"22:00"', "22:00"), ("9:30", "09:30"),
                                            ("'07:05:30'", "07:05:30")])
def test_the_digest_time_is_read_as_written(value, expected):
    """YAML 1.2: an unquoted 22:00 is 22:00 (YAML 1.1 read it as the number 1320, i.e. 00:22)."""
    assert parse_config(MINIMAL + f"digest:\n  time: {value}\n").digest.time.isoformat() == \
        (expected if expected.count(":") == 2 else expected + ":00")


@pytest.mark.parametrize("value,words", [
    ("1320", "must be a time of day written HH:MM, e.g. 22:00, not the number 1320"),
    ("2200", "not the number 2200"),
    ("22.5", "not the number 22.5"),
    ("'1320'", "not '1320'"),
    ("10pm", "not '10pm'"),
    ("24:00", "'24:00' is not a time of day (00:00 to 23:59)"),
    ("22:00+08:00", "must be a time of day written HH:MM"),
])
def test_a_digest_time_that_is_not_hh_mm_is_refused_not_converted(value, words):
    assert_at(refused(MINIMAL + f"digest:\n  time: {value}\n"), "digest.time", 13, words)


def test_calendar_dates_are_dates_and_nothing_else():
    cfg = parse_config(MINIMAL + "calendar:\n  extra_holidays: [2011-04-05, '2011-10-01']\n"
                                 "  extra_workdays:\n    - 2011-04-02\n")
    assert cfg.calendar.extra_holidays == [date(2011, 4, 5), date(2011, 10, 1)]
    assert cfg.calendar.extra_workdays == [date(2011, 4, 2)]
    block = MINIMAL + "calendar:\n  extra_holidays:\n    - 2011-04-05\n    - DAY\n"
    assert_at(refused(block.replace("DAY", "20111001")), "calendar.extra_holidays[1]", 15,
              "must be a date written YYYY-MM-DD, e.g. 2011-10-01, not the number 20111001")
    assert_at(refused(block.replace("DAY", "2011-4-5")), "calendar.extra_holidays[1]", 15, "not '2011-4-5'")
    assert_at(refused(block.replace("DAY", "2011-10-01 10:00:00")), "calendar.extra_holidays[1]", 15, "not a date and time")
    assert_at(refused(block.replace("DAY", "2011-02-30")), "calendar.extra_holidays[1]", 15,
              "'2011-02-30' is not a real date or time: day is out of range for month")


# ---- what would fail at run time fails the check -----------------------

def test_an_unknown_office_time_zone_is_refused():
    assert_at(refused(MINIMAL + "timezone: Mars/Base\n"), "timezone", 12, "unknown time zone 'Mars/Base'")
    assert_at(refused(MINIMAL + "timezone: Asia\n"), "timezone", 12, "unknown time zone 'Asia'")


@pytest.mark.parametrize("url,words", [
    ("mongodb://x", "unknown database 'mongodb': spokeswatch runs on sqlite or postgresql"),
    ("mysql://u:hunter2@db.example.cn/x", "unknown database 'mysql'"),
    ("postgresql+pg8000://u:hunter2@db.example.cn/x",
     "the driver of postgresql+pg8000 is not installed (pg8000); the installed choices are sqlite and postgresql"),
    ("not a url", "not a database URL (use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DATABASE)"),
    ("sqlite:///no/such/folder/x.sqlite3", "the folder of the SQLite database, no/such/folder, does not exist"),
])
def test_a_database_that_cannot_work_is_refused(url, words):
    if "pg8000" in url:
        import importlib.util
        if importlib.util.find_spec("pg8000"):
            pytest.skip("pg8000 is installed here")
    e = refused(MINIMAL + f"database: {url}\n")
    assert_at(e, "database", 12, words)
    assert "hunter2" not in str(e)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///spokeswatch.sqlite3",
                                 "postgresql://spokeswatch:pw@127.0.0.1/spokeswatch",
                                 "postgresql+psycopg://spokeswatch@127.0.0.1:5432/spokeswatch"])
def test_working_database_urls_pass(url):
    assert parse_config(MINIMAL + f"database: '{url}'\n").database == url


def test_folders_and_the_log_file_must_be_creatable(tmp_path):
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    assert_at(refused(MINIMAL + f"digest:\n  out_dir: {a_file}\n"), "digest.out_dir", 13,
              f"{a_file} is a file, not a folder")
    assert_at(refused(MINIMAL + f"state_dir: {a_file}/state\n"), "state_dir", 12,
              f"{a_file} is a file, not a folder (on the way to {a_file}/state)")
    assert_at(refused(MINIMAL + f"log:\n  file: {a_file}/spokeswatch.log\n"), "log.file", 13,
              f"{a_file} is a file, not a folder")
    assert_at(refused(MINIMAL + f"log:\n  file: {tmp_path}\n"), "log.file", 13, "is a folder: give a file")
    ok = parse_config(MINIMAL + f"state_dir: {tmp_path}/new/state\nlog:\n  file: {tmp_path}/logs/s.log\n")
    assert ok.state_dir == f"{tmp_path}/new/state"


def test_response_times_are_bounded():
    assert parse_config(MINIMAL + "rules:\n  respond_within: {working_days: 60}\n").rules.respond_within.working_days == 60
    assert_at(refused(MINIMAL + "rules:\n  respond_within: {working_days: 3000}\n"),
              "rules.respond_within.working_days", 13, "must be at most 60 working days (about three months)")
    assert_at(refused(MINIMAL + "rules:\n  hot:\n    min_views: 10\n    respond_within: {hours: 5000}\n"),
              "rules.hot.respond_within.hours", 15, "must be at most 2160 hours (90 days)")


@pytest.mark.parametrize("value", ["127.0.0.1:9108", "'0.0.0.0:9108'", "'[::1]:9108'", "':9108'", "''",
                                   "localhost:0"])
def test_health_listen_accepts_host_port_or_empty(value):
    parse_config(MINIMAL + f"health:\n  listen: {value}\n")


@pytest.mark.parametrize("value,words", [
    ("localhost", "'localhost' is not HOST:PORT, e.g. 127.0.0.1:9108"),
    ("127.0.0.1:70000", "port 70000 is out of range"),
    ("'::1:9108'", "is not HOST:PORT"),
    ("127.0.0.1:http", "is not HOST:PORT"),
])
def test_a_bad_health_listen_is_refused_without_binding(value, words):
    assert_at(refused(MINIMAL + f"health:\n  listen: {value}\n"), "health.listen", 13, words)


ROTATIONS_OK = ["50 MB", "1 GB", "500 KiB", "1 day", "12 hours", "1 week", "1 week, 3 days", "daily", "weekly",
                "00:00", "12:30", "monday at 12:00", "w0"]
ROTATIONS_BAD = ["50 M", "big", "1 fortnight", "25:00", "every day"]
RETENTIONS_OK = ["30 days", "4 weeks", "1 year", "10 d", "1 month"]
RETENTIONS_BAD = ["forever", "10", "50 MB", "30 dayz"]


def test_log_rotation_and_retention_are_what_loguru_accepts(tmp_path):
    """The config's own check agrees with loguru on every example (without importing it at load time)."""
    from loguru import logger

    def loguru_takes(**kw) -> bool:
        try:
            handler = logger.add(tmp_path / "probe.log", **kw)
        except ValueError:
            return False
        logger.remove(handler)
        return True

    for value in ROTATIONS_OK:
        assert parse_config(MINIMAL + f"log:\n  rotation: '{value}'\n").log.rotation == value
        assert loguru_takes(rotation=value), value
    for value in RETENTIONS_OK:
        assert parse_config(MINIMAL + f"log:\n  retention: '{value}'\n").log.retention == value
        assert loguru_takes(retention=value), value
    for value in ROTATIONS_BAD:
        assert_at(refused(MINIMAL + f"log:\n  rotation: '{value}'\n"), "log.rotation", 13, "is not a size ('50 MB')")
        assert not loguru_takes(rotation=value), value
    for value in RETENTIONS_BAD:
        assert_at(refused(MINIMAL + f"log:\n  retention: '{value}'\n"), "log.retention", 13, "is not an age")
        assert not loguru_takes(retention=value), value


def test_notify_targets_need_a_scheme():
    assert_at(refused(MINIMAL + "digest:\n  notify:\n    - json://hooks.example.cn/x\n    - someone@example.cn\n"),
              "digest.notify[1]", 15, "not an Apprise URL: it needs a scheme, e.g. mailtos://")
    assert_at(refused(MINIMAL.replace("    accounts:", "    notify: [dingtalk]\n    accounts:")),
              "units[0].notify[0]", 10, "not an Apprise URL")


def test_endless_or_huge_durations_are_refused():
    assert_at(refused(MINIMAL + "check_interval_minutes: .inf\n"), "check_interval_minutes", 12, "finite number")
    assert_at(refused(MINIMAL.replace("    boards:", "    poll_interval_minutes: 1e300\n    boards:")),
              "forums[0].poll_interval_minutes", 5, "must be at most 525600 minutes (a year)")
