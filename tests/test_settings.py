"""config.toml: every value checked, every problem named by file and key, never a crash."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jtui.core import paths
from jtui.core.settings import (
    BUILTIN_HOST,
    DEFAULT_JUPYTER,
    DEFAULT_REFRESH,
    DEFAULT_ROOT_DIR,
    HostSettings,
    Settings,
    load_settings,
    parse_settings,
)

FILE = "/cfg/config.toml"


def parse(text: str) -> Settings:
    return parse_settings(textwrap.dedent(text), FILE)


def test_empty_file_is_all_defaults():
    s = parse("")
    assert s.refresh == DEFAULT_REFRESH
    assert s.problems == ()
    assert s.for_host("any") == HostSettings(DEFAULT_JUPYTER, DEFAULT_ROOT_DIR, True)


def test_the_example_from_the_design():
    s = parse("""
        refresh = 2.5                         # seconds between samples
        [defaults]
        jupyter = "jupyter lab"
        root_dir = "~"
        [hosts.gpu-box]
        jupyter = "~/miniconda3/envs/ds/bin/jupyter lab"
        root_dir = "~/projects"
        autoconnect = false
        [hosts."lab.example"]
        root_dir = "/data"
        """)
    assert s.problems == ()
    assert s.refresh == 2.5
    assert s.path == FILE
    assert s.for_host("gpu-box") == HostSettings("~/miniconda3/envs/ds/bin/jupyter lab", "~/projects", False)
    assert s.for_host("lab.example") == HostSettings("jupyter lab", "/data", True)
    assert s.for_host("other") == HostSettings("jupyter lab", "~", True)


def test_for_host_merges_host_over_defaults_over_builtin():
    s = parse("""
        [defaults]
        jupyter = "jupyter notebook"
        autoconnect = false
        [hosts.a]
        root_dir = "/a"
        [hosts.b]
        jupyter = "/opt/jupyter lab"
        autoconnect = true
        """)
    assert s.problems == ()
    assert s.for_host("a") == HostSettings("jupyter notebook", "/a", False)
    assert s.for_host("b") == HostSettings("/opt/jupyter lab", BUILTIN_HOST.root_dir, True)
    assert s.for_host("c") == HostSettings("jupyter notebook", BUILTIN_HOST.root_dir, False)


@pytest.mark.parametrize("value", ["0.2", "1", "3600", "2.0"])
def test_refresh_in_range(value):
    s = parse(f"refresh = {value}")
    assert s.problems == () and s.refresh == float(value)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"2"', "must be a number"),
        ("true", "must be a number"),
        ("[1]", "must be a number"),
        ("0", "outside"),
        ("0.1", "outside"),
        ("-5", "outside"),
        ("3601", "outside"),
        ("nan", "outside"),
        ("inf", "outside"),
    ],
)
def test_bad_refresh_is_reported_and_defaulted(value, words):
    s = parse(f"refresh = {value}")
    assert s.refresh == DEFAULT_REFRESH
    assert len(s.problems) == 1
    assert s.problems[0].startswith(f"{FILE}: ") and "refresh" in s.problems[0] and words in s.problems[0]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("colour = 1", "'colour'"),
        ("[defaults]\njupiter = 'x'", "defaults.jupiter"),
        ("[hosts.gpu]\nroot = '/x'", "hosts.gpu.root"),
    ],
)
def test_unknown_keys_are_reported_with_file_and_key(text, key):
    s = parse(text)
    assert len(s.problems) == 1
    assert s.problems[0].startswith(f"{FILE}: ") and key in s.problems[0] and "unknown key" in s.problems[0]
    assert s.for_host("gpu") == HostSettings(DEFAULT_JUPYTER, DEFAULT_ROOT_DIR, True)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[defaults]\njupyter = 3", "defaults.jupyter"),
        ("[defaults]\nroot_dir = ['a']", "defaults.root_dir"),
        ("[defaults]\nautoconnect = 'yes'", "defaults.autoconnect"),
        ("[hosts.gpu]\nautoconnect = 1", "hosts.gpu.autoconnect"),
        ("[hosts.gpu]\njupyter = ''", "hosts.gpu.jupyter"),
        ("[hosts.gpu]\nroot_dir = '   '", "hosts.gpu.root_dir"),
    ],
)
def test_wrong_types_are_reported_and_replaced_by_defaults(text, key):
    s = parse(text)
    assert len(s.problems) == 1
    assert s.problems[0].startswith(f"{FILE}: ") and key in s.problems[0]
    assert s.for_host("gpu") == HostSettings(DEFAULT_JUPYTER, DEFAULT_ROOT_DIR, True)


def test_good_values_next_to_bad_ones_are_kept():
    s = parse("""
        refresh = "fast"
        [hosts.gpu]
        jupyter = 1
        root_dir = "/keep"
        """)
    assert len(s.problems) == 2
    assert s.for_host("gpu") == HostSettings(DEFAULT_JUPYTER, "/keep", True)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("defaults = 3", "[defaults] must be a table"),
        ("hosts = 'gpu'", "hosts must be tables"),
        ("[hosts]\ngpu = 'x'", "[hosts.gpu] must be a table"),
    ],
)
def test_tables_that_are_not_tables(text, words):
    s = parse(text)
    assert len(s.problems) == 1 and words in s.problems[0] and s.problems[0].startswith(f"{FILE}: ")
    assert s.for_host("gpu") == HostSettings(DEFAULT_JUPYTER, DEFAULT_ROOT_DIR, True)


@pytest.mark.parametrize(
    "text",
    ["refresh = ", "[defaults\njupyter = 'x'", "refresh = 2\nrefresh = 3", "a = 'unterminated", "= 1"],
)
def test_toml_syntax_error_gives_defaults_and_a_message(text):
    s = parse(text)
    assert s.refresh == DEFAULT_REFRESH and s.hosts == {}
    assert len(s.problems) == 1
    assert s.problems[0].startswith(f"{FILE}: TOML syntax error") and "line" in s.problems[0]


def test_deep_nesting_is_a_problem_not_a_crash():
    s = parse("a = " + "[" * 100_000)
    assert len(s.problems) == 1 and "nested too deeply" in s.problems[0]


# --- load_settings: the file itself -------------------------------------------


def test_missing_file_is_simply_the_defaults(tmp_path):
    s = load_settings(tmp_path / "nope.toml")
    assert s.problems == () and s.refresh == DEFAULT_REFRESH and s.path == str(tmp_path / "nope.toml")


def test_load_from_the_user_config_dir(isolated_dirs):
    path = paths.settings_file()
    assert str(path).startswith(str(isolated_dirs / "config"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("refresh = 5\n[hosts.gpu]\nroot_dir = '/g'\n")
    s = load_settings(path)
    assert s.problems == () and s.refresh == 5.0 and s.for_host("gpu").root_dir == "/g"


def test_non_utf8_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes("# Müller\nrefresh = 5\n".encode("latin-1"))
    s = load_settings(path)
    assert s.refresh == DEFAULT_REFRESH
    assert s.problems == (f"{path}: not UTF-8 text; using defaults",)


def test_directory_instead_of_file(tmp_path):
    s = load_settings(tmp_path)
    assert s.refresh == DEFAULT_REFRESH
    assert len(s.problems) == 1 and s.problems[0].startswith(f"{tmp_path}: cannot read")


# --- properties ---------------------------------------------------------------

toml_pieces = st.sampled_from(
    [
        "refresh", "=", " ", "\n", "[", "]", "[[", "]]", "{", "}", ",", ".", '"', "'", '"""', "#",
        "defaults", "hosts", "hosts.gpu", "jupyter", "root_dir", "autoconnect", "true", "false",
        "1", "2.5", "-0", "nan", "inf", "1979-05-27", '"x"', "'~'", "\\", "\\u00e9", "\0", "é",
    ]
)
toml_ish = st.lists(st.one_of(toml_pieces, st.text(max_size=5)), max_size=60).map("".join)


@settings(max_examples=200, deadline=None)
@given(toml_ish)
def test_random_toml_ish_text_never_raises(text):
    s = parse_settings(text, FILE)
    assert isinstance(s, Settings)
    assert all(p.startswith(f"{FILE}: ") for p in s.problems)
    merged = s.for_host("gpu")
    assert isinstance(merged.jupyter, str) and isinstance(merged.root_dir, str)
    assert isinstance(merged.autoconnect, bool)
    assert 0.2 <= s.refresh <= 3600


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500))
def test_random_bytes_in_the_file_never_raise(tmp_path_factory, data):
    path = Path(tmp_path_factory.mktemp("toml")) / "config.toml"
    path.write_bytes(data)
    assert isinstance(load_settings(path), Settings)


def test_keys_and_theme_are_read():
    s = parse_settings('theme = "nord"\n[keys]\nstart = "S"\ncopy = " y , ctrl+c "\n')
    assert s.theme == "nord"
    assert s.keys == {"start": "S", "copy": "y,ctrl+c"}
    assert s.problems == ()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('keys = "S"\n', "keys must be a table"),
        ("[keys]\nstart = 1\n", "keys.start must be key names"),
        ('[keys]\nstart = ""\n', "keys.start must be key names"),
        ('[keys]\nstart = "S,,x"\n', "keys.start must be key names"),
        ("theme = 3\n", "theme must be a theme name"),
        ('theme = ""\n', "theme must be a theme name"),
    ],
)
def test_bad_keys_and_theme_are_reported(text, says):
    s = parse_settings(text, "/c/config.toml")
    assert any(p.startswith("/c/config.toml: ") and says in p for p in s.problems), s.problems
    assert s.keys == {} and s.theme is None


def test_setup_is_per_host_over_defaults():
    s = parse_settings('[defaults]\nsetup = "module load python"\n[hosts.hpc]\nsetup = "module load cuda; conda activate ds"\n')
    assert s.for_host("hpc").setup == "module load cuda; conda activate ds"
    assert s.for_host("other").setup == "module load python"
    assert parse_settings("").for_host("x").setup is None


def test_messages_name_a_hosts_table_as_it_is_written_in_config_toml():
    from jtui.core.settings import host_table

    assert host_table("gpu-box") == "[hosts.gpu-box]"
    assert host_table("hub.example.org", "jupyterhub") == '[hosts."hub.example.org".jupyterhub]'
