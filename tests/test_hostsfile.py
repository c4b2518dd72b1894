"""The host scanner: which Host aliases a config lists, and what it says about bad input."""

from __future__ import annotations

import os
import random
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jtui.core.hostsfile import (
    MAX_INCLUDE_DEPTH,
    ConfigProblem,
    HostScan,
    host_words_match,
    is_pattern,
    refused_by_ssh,
    resolve_include,
    scan_hosts,
    split_line,
)
from jtui.core.ssh_syntax import split_line_as_ssh


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def scan_text(home: Path, text: str | bytes, name: str = "config") -> tuple[HostScan, str]:
    path = write(home.parent / name, text)
    return scan_hosts([path]), str(path)


def problems_at(scan: HostScan) -> list[tuple[str, int]]:
    return [(p.file, p.line) for p in scan.problems]


# --- splitting a line as OpenSSH does -----------------------------------------

SPLIT = [
    ("Host a", ("host", ["a"])),
    ("Host a b  c", ("host", ["a", "b", "c"])),
    ("HOST a", ("host", ["a"])),
    ("hOsTnAmE X.Example", ("hostname", ["X.Example"])),
    ("Host=alias", ("host", ["alias"])),
    ("Host = a b", ("host", ["a", "b"])),
    ("Host= a", ("host", ["a"])),
    ("Host =a", ("host", ["a"])),
    ("HostName=a=b", ("hostname", ["a=b"])),
    ("  \tHost\ta\tb", ("host", ["a", "b"])),
    ('Host "a b" c', ("host", ["a b", "c"])),
    ("Host 'a b' c", ("host", ["a b", "c"])),
    ('Host "k"l', ("host", ["kl"])),
    ('Host ""', ("host", [""])),
    ("Host a\\ b", ("host", ["a b"])),
    ('Host a\\"b', ("host", ['a"b'])),
    ("Host a\\\\b", ("host", ["a\\b"])),
    ("Host a\\b", ("host", ["a\\b"])),  # OpenSSH keeps an unknown escape
    ('Host "a\\ b"', ("host", ["a\\ b"])),  # no space escape inside quotes
    ("Host a # comment", ("host", ["a"])),
    ("Host a #comment b", ("host", ["a"])),
    ("Host a#b", ("host", ["a#b"])),
    ('User "#x"', ("user", ["#x"])),
    ("Port 22\r", ("port", ["22"])),
    ("Port 22 \f", ("port", ["22"])),
    ("User", ("user", [])),
    ("User   # nothing", ("user", [])),
    ('Match exec "test %h = x"', ("match", ["exec", "test %h = x"])),
    ("", None),
    ("   ", None),
    ("# Host commented", None),
    ("   #Host commented", None),
    ("\t# comment", None),
]


@pytest.mark.parametrize(("line", "expected"), SPLIT, ids=[repr(line) for line, _ in SPLIT])
def test_split_line(line, expected):
    assert split_line(line) == expected


@pytest.mark.parametrize("line", ['Host "a', "Host 'a", 'User "x y', "Host a 'b"])
def test_split_line_rejects_unbalanced_quotes(line):
    with pytest.raises(ValueError, match="unbalanced"):
        split_line(line)


@pytest.mark.parametrize(
    ("word", "pattern"),
    [("a", False), ("a.b-c_d", False), ("*", True), ("*.lab", True), ("gpu-?", True), ("!x", True), ("a!b", True)],
)
def test_is_pattern(word, pattern):
    assert is_pattern(word) is pattern


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("gpu-box", False), ("10.0.0.1", False), ("a#b", False), ("a:b", False), ("a%b", False),
        ("a b", True), ("-x", True), ("a,b", True), ("user@host", True), ("a;b", True),
        ("a$b", True), ("a'b", True), ("a\tb", True), ("a\x01b", True), ("a|b", True),
    ],
)
def test_refused_by_ssh(name, refused):
    assert (refused_by_ssh(name) is not None) is refused


@pytest.mark.parametrize(
    ("name", "words", "matches"),
    [
        ("a", ["a"], True), ("a", ["b", "a"], True), ("a", ["b"], False),
        ("x.lab", ["*.lab"], True), ("gpu-1", ["gpu-?"], True), ("gpu-12", ["gpu-?"], False),
        ("gw.lab", ["*.lab", "!gw.lab"], False), ("gw.lab", ["!gw.lab", "*"], False),
        ("a", ["!b"], False), ("A", ["a"], False), ("[x]", ["[x]"], True),
    ],
)
def test_host_words_match(name, words, matches):
    assert host_words_match(name, words) is matches


# --- resolving Include patterns -----------------------------------------------


def test_resolve_include_relative_tilde_absolute_and_sorted(home, tmp_path):
    for name in ("b.conf", "a.conf", "c.txt"):
        write(home / ".ssh/conf.d" / name, "")
    (home / ".ssh/conf.d/dir.conf").mkdir()
    write(tmp_path / "abs/one", "")
    ssh = str(home / ".ssh")
    expected = [f"{ssh}/conf.d/a.conf", f"{ssh}/conf.d/b.conf"]
    assert resolve_include("conf.d/*.conf", str(home)) == expected  # relative: ~/.ssh
    assert resolve_include("~/.ssh/conf.d/*.conf", str(home)) == expected
    assert resolve_include(f"{ssh}/conf.d/?.conf", str(home)) == expected
    assert resolve_include(str(tmp_path / "abs/one"), str(home)) == [str(tmp_path / "abs/one")]
    assert resolve_include("missing/*", str(home)) == []
    assert resolve_include("bad\0name", str(home)) == []


# --- listing hosts ------------------------------------------------------------


def test_aliases_in_file_order_first_definition_wins(home):
    scan, path = scan_text(home, """
        Host gpu-box gpu
            HostName gpu.example
        host LAB
        HOST=eq
        Host = sp1 sp2
        Host "quoted" 'single' # trailing comment
        Host gpu other
        """)
    assert scan.aliases == ["gpu-box", "gpu", "LAB", "eq", "sp1", "sp2", "quoted", "single", "other"]
    assert [(h.alias, h.line) for h in scan.hosts if h.alias in ("gpu", "other")] == [("gpu", 1), ("other", 7)]
    assert all(h.file == path for h in scan.hosts)
    assert scan.problems == []


def test_patterns_and_negations_are_not_listed(home):
    scan, _ = scan_text(home, """
        Host * *.lab gpu-? !secret real
        Host a!b ?x
        """)
    assert scan.aliases == ["real"]
    assert scan.problems == []


def test_match_blocks_list_nothing(home):
    scan, _ = scan_text(home, """
        Match host foo.example
            User x
        Match all
            Port 22
        Match originalhost bar exec "true"
        Host after-match
        """)
    assert scan.aliases == ["after-match"]
    assert scan.problems == []


def test_names_ssh_refuses_are_reported_not_listed(home):
    scan, path = scan_text(home, 'Host ok "two words" -dash a,b me@box ok2\n')
    assert scan.aliases == ["ok", "ok2"]
    assert problems_at(scan) == [(path, 1)] * 4
    assert "two words" in str(scan.problems[0]) and "ssh refuses" in str(scan.problems[0])


def test_include_glob_relative_tilde_nested(home, tmp_path):
    write(home / ".ssh/conf.d/20-b.conf", "Host inc-b\n")
    write(home / ".ssh/conf.d/10-a.conf", "Host inc-a\nHost *\nInclude nested/*\n")
    write(home / ".ssh/nested/x", "Include ~/.ssh/deeper\nHost nested-x\n")
    write(home / ".ssh/deeper", f"Host deeper\nMatch all\nInclude {tmp_path}/abs.conf\n")
    write(tmp_path / "abs.conf", "Host absolute\n")
    scan, path = scan_text(home, """
        Host first
        Host *
        Include conf.d/*.conf
        Host last
        """)
    assert scan.aliases == ["first", "inc-a", "deeper", "absolute", "nested-x", "inc-b", "last"]
    assert [(h.file, h.line) for h in scan.hosts][1:3] == [
        (str(home / ".ssh/conf.d/10-a.conf"), 1), (str(home / ".ssh/deeper"), 1)
    ]
    assert scan.problems == []
    assert scan.files[0] == path and len(scan.files) == 6


def test_missing_included_file_is_ignored_as_openssh_does(home):
    scan, _ = scan_text(home, """
        Include nothing-here
        Include /nonexistent/jtui/*.conf
        Host still-here
        """)
    assert scan.aliases == ["still-here"]
    assert scan.problems == []


def test_missing_top_level_file_is_reported(tmp_path):
    missing = tmp_path / "nope"
    scan = scan_hosts([missing])
    assert scan.hosts == []
    assert scan.problems == [ConfigProblem(str(missing), 0, "file not found")]
    assert str(scan.problems[0]) == f"{missing}: file not found"


def test_include_loop_is_bounded_and_reported_with_file_and_line(home):
    loop = write(home / ".ssh/loop.conf", "Host in-loop\nMatch all\nInclude loop.conf\n")
    scan, _ = scan_text(home, "Host before\nHost *\nInclude loop.conf\nHost after\n")
    assert scan.aliases == ["before", "in-loop", "after"]
    assert problems_at(scan) == [(str(loop), 3)]
    assert f"deeper than {MAX_INCLUDE_DEPTH}" in str(scan.problems[0])


def test_include_depth_16_is_fine_17_is_not(home):
    for i in range(1, 18):
        write(home / f".ssh/d{i}", f"Host depth{i}\nHost *\nInclude d{i + 1}\n")
    write(home / ".ssh/d18", "Host depth18\n")
    scan, _ = scan_text(home, "Include d1\n")
    assert scan.aliases == [f"depth{i}" for i in range(1, 17)]
    assert problems_at(scan) == [(str(home / ".ssh/d16"), 3)]


def test_hosts_included_under_a_host_block_apply_only_to_names_it_matches(home):
    write(home / ".ssh/inner", "Host inner-a\nHost a-two\nHost *\n")
    scan, _ = scan_text(home, """
        Host a*
            Include inner
        Host b
            Include inner
        Host inner-b
        """)
    # Under `Host a*`, `inner-a` can never apply (OpenSSH reads it, never matches it).
    assert scan.aliases == ["a-two", "b", "inner-b"]


def test_unknown_keyword_is_reported_with_file_and_line(home):
    scan, path = scan_text(home, "Host a\n  User x\n  Bogus 1\nHost b\n")
    assert scan.aliases == ["a", "b"]
    assert problems_at(scan) == [(path, 3)]
    assert "'bogus'" in str(scan.problems[0]) and "IgnoreUnknown" in str(scan.problems[0])


def test_ignore_unknown_first_value_wins(home):
    scan, path = scan_text(home, """
        IgnoreUnknown UseKeychain,Foo*
        IgnoreUnknown Other
        Host a
            UseKeychain yes
            FooBar 1
            Other 1
        """)
    assert scan.aliases == ["a"]
    assert problems_at(scan) == [(path, 6)]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('Host a\n  User "x\n', 2, "unbalanced quotes"),
        ("Host a\n  User\n", 2, "without a value"),
        ("Host a\n  Port #22\n", 2, "without a value"),
        ('Host a ""\n', 1, "empty Host name"),
        ("Host a\nMatch hots a\n", 2, "not a criterion"),
        ("Host a\nMatch host\n", 2, "needs a pattern"),
    ],
)
def test_lines_openssh_rejects_are_reported(home, text, line, words):
    scan, path = scan_text(home, text)
    assert scan.aliases == ["a"]
    assert problems_at(scan) == [(path, line)]
    assert words in str(scan.problems[0])


def test_crlf_and_form_feed_keep_openssh_line_numbers(home):
    # A form feed is a line break for str.splitlines(), not for OpenSSH; at the
    # start of a line it is a (bad) keyword to OpenSSH, at the end it is blank.
    scan, path = scan_text(home, b"Host a\r\n\x0c  Port 22\r\nHost b\r\n  Port 22 \x0c\r\n  Bogus\r\n")
    assert scan.aliases == ["a", "b"]
    assert problems_at(scan) == [(path, 2), (path, 5)]


def test_directory_given_as_config(tmp_path):
    scan = scan_hosts([tmp_path])
    assert problems_at(scan) == [(str(tmp_path), 0)]
    assert "directory" in scan.problems[0].message


def test_unreadable_file(home):
    """Mode 000 for a normal user; as root (CI), a file whose read fails with EIO."""
    if os.geteuid() == 0:
        path = "/proc/self/mem"  # readable by nobody from offset 0, root included
    else:
        path = write(home.parent / "secret", "Host hidden\n")
        path.chmod(0)
    try:
        scan = scan_hosts([path, write(home.parent / "good", "Host good\n")])
    finally:
        if os.geteuid() != 0:
            path.chmod(0o600)
    assert scan.aliases == ["good"]
    assert problems_at(scan) == [(str(path), 0)]
    assert "cannot read" in scan.problems[0].message


def test_binary_file_is_reported_and_other_files_still_listed(home):
    binary = write(home.parent / "binary", b"Host a\n\x7fELF\x02\x01\x01\x00\x00junk\n")
    good = write(home.parent / "good", "Host good\n")
    scan = scan_hosts([binary, good])
    assert scan.aliases == ["good"]
    assert problems_at(scan) == [(str(binary), 2)]
    assert "binary" in scan.problems[0].message


@pytest.mark.parametrize("kind", ["private key", "public key", "png"])
def test_junk_given_as_a_config_is_skipped_whole_with_a_clear_message(home, kind, tmp_path):
    """A key file or an image named with --config: skipped whole, said, the other files still read."""
    import subprocess

    if kind == "png":
        junk = write(home.parent / "picture.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
        expected = "binary data"
    else:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id")], check=True)
        junk = tmp_path / ("id" if kind == "private key" else "id.pub")
        expected = "PEM key" if kind == "private key" else "OpenSSH public key"
    good = write(home.parent / "good", "Host good\n")
    scan = scan_hosts([junk, good])
    assert scan.aliases == ["good"]
    assert [p.file for p in scan.problems] == [str(junk)]
    assert expected in scan.problems[0].message and "file skipped" in scan.problems[0].message
    assert scan.blocker("good") is None  # a skipped file blocks no host


def test_non_utf8_file_is_reported_with_line(home):
    latin1 = write(home.parent / "latin1", "Host a\n# Müller's box\nHost b\n".encode("latin-1"))
    good = write(home.parent / "good", "Host good\n")
    scan = scan_hosts([latin1, good])
    assert scan.aliases == ["good"]
    assert problems_at(scan) == [(str(latin1), 2)]
    assert "UTF-8" in scan.problems[0].message and "0xfc" in scan.problems[0].message


def test_binary_included_file_is_reported(home):
    blob = write(home / ".ssh/blob", bytes(range(256)))
    scan, _ = scan_text(home, "Host a\nInclude blob\nHost b\n")
    assert scan.aliases == ["a", "b"]
    assert problems_at(scan) == [(str(blob), 1)]


def test_ten_thousand_hosts_all_listed_in_order(home):
    text = "".join(f"Host h{i} alias{i}\n    HostName h{i}.example\n    User u{i % 7}\n" for i in range(10_000))
    started = time.monotonic()
    scan, path = scan_text(home, text)
    elapsed = time.monotonic() - started
    assert len(scan.hosts) == 20_000
    assert scan.aliases[:4] == ["h0", "alias0", "h1", "alias1"]
    assert scan.aliases[-1] == "alias9999"
    assert scan.hosts[-1].line == 3 * 9_999 + 1
    assert scan.problems == []
    assert elapsed < 10, f"scanning 30 000 lines took {elapsed:.1f}s"


def test_same_problem_reported_once(home):
    write(home / ".ssh/bad", "Bogus 1\n")
    scan, _ = scan_text(home, "Include bad\nInclude bad\nHost a\n")
    assert len(scan.problems) == 1


# --- properties: nothing in a file makes the scanner raise --------------------

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SAMPLE = """\
Host gpu-box gpu
    HostName gpu-box.lab.example
    User alice
Host "quoted one" 'two' x=y
Host = eq1 eq2 # comment
Include conf.d/*
Include ~/.ssh/other
Match host *.lab !originalhost foo
    ProxyJump gw
Host *.lab !gw.lab
    Port 2222
IgnoreUnknown Foo*
FooBar yes
"""

config_chars = st.sampled_from(list(" \t\n\r\"'\\#=*?!,@-~/.%") + list("HostIncludeMatchUser") + ["\0", "é", "\x0c"])
config_text = st.text(alphabet=st.one_of(config_chars, st.characters()), max_size=400)


def _scan_in_sandbox(files: dict[str, bytes], top: list[str]) -> HostScan:
    """Write `files` under a fresh HOME/.ssh and scan `top` from there."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / ".ssh").mkdir()
        for name, data in files.items():
            (home / ".ssh" / name).write_bytes(data)
        old = os.environ.get("HOME")
        os.environ["HOME"] = tmp
        try:
            scan = scan_hosts([home / ".ssh" / name for name in top])
        finally:
            if old is None:
                del os.environ["HOME"]
            else:
                os.environ["HOME"] = old
    return scan


def _check(scan: HostScan) -> None:
    assert isinstance(scan, HostScan)
    assert len(set(scan.aliases)) == len(scan.aliases)
    for host in scan.hosts:
        assert host.alias and not is_pattern(host.alias) and refused_by_ssh(host.alias) is None
        assert host.line >= 1
    for problem in scan.problems:
        assert isinstance(problem, ConfigProblem) and problem.file and str(problem)


@PROPERTY
@given(config_text)
def test_any_text_gives_a_scan(text):
    _check(_scan_in_sandbox({"config": text.encode("utf-8", "surrogatepass")}, ["config"]))


@PROPERTY
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_scan(data):
    _check(_scan_in_sandbox({"config": data}, ["config"]))


@st.composite
def mutated_configs(draw):
    lines = SAMPLE.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 12))):
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "replace", "splice", "include"]))
        at = draw(st.integers(0, len(lines)))
        if op == "insert":
            lines.insert(at, draw(config_text))
        elif op == "delete" and lines:
            del lines[min(at, len(lines) - 1)]
        elif op == "duplicate" and lines:
            lines.insert(at, lines[min(at, len(lines) - 1)])
        elif op == "replace" and lines:
            line = lines[min(at, len(lines) - 1)]
            cut = draw(st.integers(0, len(line)))
            lines[min(at, len(lines) - 1)] = line[:cut] + draw(config_text) + line[cut:]
        elif op == "splice":
            lines.insert(at, draw(st.sampled_from(['"', "'", "\\", "=", "#", "\0", "\n", "Host", "Include"])))
        elif op == "include":
            lines.insert(at, f"Include {draw(st.sampled_from(['config', 'other', 'conf.d/*', '*', '~/.ssh/*', '/']))}\n")
    return "".join(lines)


@PROPERTY
@given(mutated_configs(), mutated_configs())
def test_mutated_configs_including_each_other_give_a_scan(main, other):
    # `config` and `other` may include themselves, each other and `*`: loops on purpose.
    scan = _scan_in_sandbox(
        {"config": main.encode("utf-8", "surrogatepass"), "other": other.encode("utf-8", "surrogatepass")},
        ["config"],
    )
    _check(scan)


@PROPERTY
@given(st.integers(1, 40), st.booleans())
def test_deep_include_chains_give_a_scan(depth, loop_back):
    files = {f"f{i}": f"Host chain{i}\nHost *\nInclude f{i + 1}\n".encode() for i in range(depth)}
    if loop_back:
        files[f"f{depth}"] = b"Include f0\n"
    scan = _scan_in_sandbox(files, ["f0"])
    _check(scan)
    assert scan.aliases == [f"chain{i}" for i in range(min(depth, MAX_INCLUDE_DEPTH + 1))]
    assert bool(scan.problems) == (depth > MAX_INCLUDE_DEPTH or loop_back)


@settings(max_examples=20, deadline=None)
@given(st.integers(10_000, 200_000), st.sampled_from(["Host ", "User ", "# ", 'Host "', "Host a\\ "]))
def test_huge_lines_give_a_scan(length, start):
    rng = random.Random(length)
    body = "".join(rng.choice("ab *?!\"'\\#=") for _ in range(length))
    _check(_scan_in_sandbox({"config": (start + body + "\nHost ok\n").encode()}, ["config"]))


@PROPERTY
@given(st.text(max_size=200))
def test_split_line_raises_only_value_error(line):
    try:
        result = split_line(line)
    except ValueError:
        return
    if result is not None:
        keyword, args = result
        assert keyword and keyword == keyword.lower() and all(isinstance(a, str) for a in args)


def test_includes_that_fan_out_are_cut_off(home, monkeypatch):
    import jtui.core.hostsfile as hostsfile

    monkeypatch.setattr(hostsfile, "MAX_FILE_READS", 50)
    # Each level includes the next one twice: 2**12 reads without a budget.
    for i in range(12):
        write(home / f".ssh/fan{i}", f"Host fan{i}\nHost *\nInclude fan{i + 1} fan{i + 1}\n")
    scan, _ = scan_text(home, "Include fan0\nHost after\n")
    assert scan.aliases[:3] == ["fan0", "fan1", "fan2"] and scan.aliases[-1] == "after"
    assert len(scan.problems) == 1 and "more than 50 files" in scan.problems[0].message


def test_plain_lines_split_as_openssh_splits_them():
    """split_line's quick path for plain words gives what the long, OpenSSH way gives, line for line."""
    rng = random.Random(16)
    pieces = ["Host", "HostName", "user", "gpu-box", "*.lab", "!old", "10.0.0.1", "a,b", " ", "  ", "\t", "=", '"',
              "'", "\\", "#", "x#y", "\r", "\f", "\xa0", "ü", "", "Include", "~/.ssh/conf.d/*"]
    lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(5000)]
    for line in lines:
        try:
            expected = split_line_as_ssh(line)
        except ValueError:
            with pytest.raises(ValueError):
                split_line(line)
            continue
        assert split_line(line) == expected, repr(line)
