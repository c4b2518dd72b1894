"""parse_line and the runtime-file parser: pure functions, no network.

Lines come from three places: captured from probe.sh (verbatim below), made
live by running probe.sh locally with dash, and hostile hand-made or
hypothesis-made text. Whatever the input, parse_line returns a Sample or
raises ProbeLineError: nothing else, ever.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jtui.core.model import GpuStat, JupyterServer, Sample
from jtui.core.probe import format_interval, probe_variables
from jtui.core.probe_parse import MAX_LINE, ProbeLineError, parse_line
from jtui.core.remote import BOOTSTRAP, command_line, script_text
from jtui.core.runtime_files import (
    RuntimeFileError,
    normalize_base_url,
    parse_runtime_text,
    server_from_runtime,
)

TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef"

# Captured from `dash probe.sh 0.2 2 0` with a live jpserver file, a dead one
# (left out by the script) and a stand-in nvidia-smi on PATH; the second
# line's time and cpu figure edited, the Darwin paths made Darwin-like.
LINUX_FIRST = r"""{"v":1,"time":1795372772,"os":"Linux","user":"alice","home":"/home/alice","runtime_dirs":["/tmp/cap/rt"],"cores":2,"load":[0.16,0.13,0.07],"mem_total":25276502016,"mem_used":354201600,"mem_available":24922300416,"swap_total":0,"swap_used":0,"gpus":[{"index":0,"name":"NVIDIA A100-SXM4-80GB","util":72,"mem_used":30920,"mem_total":81920,"temp":54},{"index":1,"name":"Tesla K80","util":null,"mem_used":0,"mem_total":11441,"temp":null}],"servers":[{"file":"/tmp/cap/rt/jpserver-9890.json","mtime":1795372772,"text":"{   \"base_url\": \"/\",   \"hostname\": \"127.0.0.1\",   \"password\": false,   \"pid\": 9890,   \"port\": 8888,   \"root_dir\": \"/home/alice/proj\",   \"secure\": false,   \"sock\": \"\",   \"token\": \"0123456789abcdef0123456789abcdef0123456789abcdef\",   \"url\": \"http://127.0.0.1:8888/\",   \"version\": \"2.14.0\" } "}]}"""
LINUX_CPU = r"""{"v":1,"time":1795372773,"os":"Linux","user":"alice","home":"/home/alice","runtime_dirs":["/tmp/cap/rt"],"cores":2,"cpu":4.8,"cpus":[0.0,9.5],"load":[0.16,0.13,0.07],"mem_total":25276502016,"mem_used":354201600,"mem_available":24922300416,"swap_total":0,"swap_used":0,"gpus":[{"index":0,"name":"NVIDIA A100-SXM4-80GB","util":72,"mem_used":30920,"mem_total":81920,"temp":54},{"index":1,"name":"Tesla K80","util":null,"mem_used":0,"mem_total":11441,"temp":null}],"servers":[{"file":"/tmp/cap/rt/jpserver-9890.json","mtime":1795372772,"text":"{   \"base_url\": \"/\",   \"hostname\": \"127.0.0.1\",   \"password\": false,   \"pid\": 9890,   \"port\": 8888,   \"root_dir\": \"/home/alice/proj\",   \"secure\": false,   \"sock\": \"\",   \"token\": \"0123456789abcdef0123456789abcdef0123456789abcdef\",   \"url\": \"http://127.0.0.1:8888/\",   \"version\": \"2.14.0\" } "}]}"""
# Same script with `uname` saying Darwin and no /proc: servers only.
DARWIN = r"""{"v":1,"time":1795372772,"os":"Darwin","user":"alice","home":"/Users/alice","runtime_dirs":["/Users/alice/Library/Jupyter/runtime"],"servers":[{"file":"/Users/alice/Library/Jupyter/runtime/jpserver-9890.json","mtime":1795372772,"text":"{   \"base_url\": \"/\",   \"hostname\": \"127.0.0.1\",   \"password\": false,   \"pid\": 9890,   \"port\": 8888,   \"root_dir\": \"/Users/alice/proj\",   \"secure\": false,   \"sock\": \"\",   \"token\": \"0123456789abcdef0123456789abcdef0123456789abcdef\",   \"url\": \"http://127.0.0.1:8888/\",   \"version\": \"2.14.0\" } "}]}"""
# A host with nvidia-smi whose driver is gone.
GPU_FAILED = r"""{"v":1,"time":1795372772,"os":"Linux","user":"bob","home":"/home/bob","runtime_dirs":["/home/bob/.local/share/jupyter/runtime"],"cores":1,"load":[0.00,0.01,0.05],"mem_total":1024,"mem_used":24,"mem_available":1000,"swap_total":0,"swap_used":0,"gpus":[],"gpu_error":"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.","servers":[]}"""

GOOD = json.loads(LINUX_CPU)


def line_with(**changes) -> str:
    """LINUX_CPU with keys replaced (None as a value deletes the key)."""
    data = dict(GOOD)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return json.dumps(data)


def server_entry(text: object, file: str = "/rt/jpserver-42.json", mtime: object = 1700000000) -> dict:
    return {"file": file, "mtime": mtime, "text": text if isinstance(text, str) else json.dumps(text)}


JP = {
    "base_url": "/",
    "hostname": "127.0.0.1",
    "password": False,
    "pid": 42,
    "port": 8888,
    "root_dir": "/home/alice/proj",
    "secure": False,
    "sock": "",
    "token": TOKEN,
    "url": "http://127.0.0.1:8888/",
    "version": "2.14.0",
}


# -- captured lines --------------------------------------------------------------


def test_first_line_has_no_cpu_but_everything_else():
    sample = parse_line(LINUX_FIRST)
    assert sample.cpu_percent is None and sample.cpu_per_core == ()
    assert sample.os == "Linux" and sample.supported
    assert sample.cores == 2
    assert sample.load == (0.16, 0.13, 0.07)
    assert sample.mem_total == 25276502016
    assert sample.mem_used == sample.mem_total - sample.mem_available
    assert sample.remote_user == "alice" and sample.remote_home == "/home/alice"
    assert sample.runtime_dir == "/tmp/cap/rt"
    assert [s.port for s in sample.servers] == [8888]
    assert sample.dropped == ()


def test_cpu_line_with_gpus_and_a_server():
    sample = parse_line(LINUX_CPU)
    assert sample.cpu_percent == 4.8 and sample.cpu_per_core == (0.0, 9.5)
    assert sample.gpus == (
        GpuStat(0, "NVIDIA A100-SXM4-80GB", 72.0, 30920.0, 81920.0, 54.0),
        GpuStat(1, "Tesla K80", None, 0.0, 11441.0, None),
    )
    (server,) = sample.servers
    assert (server.port, server.pid, server.root_dir, server.kind) == (8888, 9890, "/home/alice/proj", "jpserver")
    assert server.token == TOKEN and server.started == 1795372772.0
    assert TOKEN not in repr(sample)


def test_non_linux_line_has_servers_and_no_figures():
    sample = parse_line(DARWIN)
    assert sample.os == "Darwin" and not sample.supported
    assert sample.cpu_percent is None and sample.mem_total is None and sample.load is None and sample.cores is None
    assert [s.root_dir for s in sample.servers] == ["/Users/alice/proj"]


def test_gpu_error_is_carried():
    sample = parse_line(GPU_FAILED)
    assert sample.gpus == () and "NVIDIA driver" in sample.gpu_error


# -- table: lines that parse, with what they give ------------------------------------

ACCEPTED = [
    ("trailing newline", LINUX_CPU + "\n", lambda s: s.cores == 2),
    ("crlf", LINUX_CPU + "\r\n", lambda s: s.cores == 2),
    ("unknown keys are ignored", line_with(future={"x": [1, 2]}), lambda s: s.cores == 2),
    ("no gpus key", line_with(gpus=None), lambda s: s.gpus == ()),
    ("null servers", line_with(servers=[]), lambda s: s.servers == ()),
    ("100 % cpu", line_with(cpu=100, cpus=[100, 100.0]), lambda s: s.cpu_percent == 100.0),
    ("int time", line_with(time=0), lambda s: s.time == 0.0),
    ("no swap", line_with(swap_total=None, swap_used=None), lambda s: s.swap_total is None),
    ("zero memory", line_with(mem_total=0, mem_used=0, mem_available=0), lambda s: s.mem_percent is None),
    (
        "a GPU out of range is dropped alone",
        line_with(gpus=[{"index": 0, "name": "A", "util": 150}, {"index": 1, "name": "B", "util": 5}]),
        lambda s: [g.index for g in s.gpus] == [1] and s.dropped == ("gpu 0: util out of range",),
    ),
    (
        "a GPU entry that is not an object is dropped",
        line_with(gpus=["0, A100, 1, 2, 3, 4", {"index": 1}]),
        lambda s: [g.index for g in s.gpus] == [1] and len(s.dropped) == 1,
    ),
    (
        "a GPU name with an escape sequence is dropped",
        line_with(gpus=[{"index": 0, "name": "\x1b]52;c;AAAA\x07"}]),
        lambda s: s.gpus == () and "control" in s.dropped[0],
    ),
    (
        "stale-looking file that is not JSON is dropped alone",
        line_with(servers=[server_entry('{"port": 88'), server_entry(JP, "/rt/jpserver-42.json")]),
        lambda s: [x.pid for x in s.servers] == [42] and s.dropped[0].startswith("jpserver-42.json: not JSON"),
    ),
    (
        "a file too large is dropped",
        line_with(servers=[{"file": "/rt/jpserver-7.json", "mtime": None, "big": True, "text": ""}]),
        lambda s: s.servers == () and s.dropped == ("jpserver-7.json: runtime file too large",),
    ),
    (
        "a server with a control character in root_dir is dropped",
        line_with(servers=[server_entry(dict(JP, root_dir="/tmp/\x1b[2J"))]),
        lambda s: s.servers == () and "root_dir holds control characters" in s.dropped[0],
    ),
    (
        "a unix-socket server is dropped with its reason",
        line_with(servers=[server_entry(dict(JP, port=0, sock="/run/j.sock"))]),
        lambda s: s.servers == () and "unix socket" in s.dropped[0],
    ),
    (
        "the same server in two runtime dirs is listed once",
        line_with(servers=[server_entry(JP, "/a/jpserver-42.json"), server_entry(JP, "/b/jpserver-42.json")]),
        lambda s: [x.runtime_file for x in s.servers] == ["/a/jpserver-42.json"] and len(s.dropped) == 1,
    ),
    (
        "a server entry that is junk is dropped",
        line_with(servers=[[1, 2], "x", None, {"file": 5}, server_entry(JP)]),
        lambda s: len(s.servers) == 1 and len(s.dropped) == 4,
    ),
    (
        "negative mtime drops the entry",
        line_with(servers=[server_entry(JP, mtime=-1)]),
        lambda s: s.servers == () and "mtime" in s.dropped[0],
    ),
    (
        "classic nbserver file",
        line_with(servers=[server_entry(dict(JP, root_dir=None, notebook_dir="/nb"), "/rt/nbserver-42.json")]),
        lambda s: (s.servers[0].kind, s.servers[0].root_dir) == ("nbserver", "/nb"),
    ),
]


@pytest.mark.parametrize("line, check", [pytest.param(line, check, id=name) for name, line, check in ACCEPTED])
def test_accepted(line, check):
    sample = parse_line(line)
    assert isinstance(sample, Sample)
    assert check(sample)


# -- table: lines that are refused, and the reason -------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
REFUSED = [
    ("empty", "", "empty"),
    ("blank", "   \n", "empty"),
    ("truncated", LINUX_CPU[: len(LINUX_CPU) // 2], "not JSON"),
    ("garbled", LINUX_CPU.replace(":", ";", 3), "not JSON"),
    ("shell noise", "bash: warning: setlocale: LC_ALL: cannot change locale", "not JSON"),
    ("a list", "[1, 2, 3]", "not a JSON object"),
    ("a string", '"hello"', "not a JSON object"),
    ("no version", line_with(v=None), "format"),
    ("version 2", line_with(v=2), "format"),
    ("version true", line_with(v=True), "format"),
    ("no time", line_with(time=None), "time missing"),
    ("time as text", line_with(time="now"), "time is not a number"),
    ("time negative", line_with(time=-5), "time out of range"),
    ("huge time", line_with(time=10**30), "time out of range"),
    ("huge integer", line_with(mem_total=10**400), "mem_total out of range"),
    ("float overflow", LINUX_CPU.replace('"time":1795372773', '"time":1e999'), "time out of range"),
    ("NaN", LINUX_CPU.replace('"cpu":4.8', '"cpu":NaN'), "finite"),
    ("Infinity", LINUX_CPU.replace('"cpu":4.8', '"cpu":Infinity'), "finite"),
    ("-Infinity", LINUX_CPU.replace('"cpu":4.8', '"cpu":-Infinity'), "finite"),
    ("too many digits", LINUX_CPU.replace('"cores":2', '"cores":' + "9" * 5000), "not JSON"),
    ("negative cpu", line_with(cpu=-1), "cpu out of range"),
    ("cpu over 100", line_with(cpu=100.5), "cpu out of range"),
    ("cpu as bool", line_with(cpu=True), "cpu is not a number"),
    ("cpu as text", line_with(cpu="4.8"), "cpu is not a number"),
    ("per-core over 100", line_with(cpus=[1, 101]), "cpus out of range"),
    ("per-core count wrong", line_with(cpus=[1.0]), "one figure per core"),
    ("cpu without per-core", line_with(cpus=None), "together"),
    ("per-core without cpu", line_with(cpu=None), "together"),
    ("cpus not a list", line_with(cpus={"0": 1}), "cpus is not a list"),
    ("cores zero", line_with(cores=0, cpu=None, cpus=None), "cores out of range"),
    ("cores as float", line_with(cores=2.0), "cores is not an integer"),
    ("cores as text", line_with(cores="2"), "cores is not an integer"),
    ("load of two", line_with(load=[1, 2]), "load is not three numbers"),
    ("load with junk", line_with(load=[1, 2, "x"]), "load is not a number"),
    ("negative load", line_with(load=[1, 2, -3]), "load out of range"),
    ("negative memory", line_with(mem_used=-1), "mem_used out of range"),
    ("memory as float", line_with(mem_total=1.5), "mem_total is not an integer"),
    ("used over total", line_with(mem_used=GOOD["mem_total"] + 1), "exceed"),
    ("swap used over total", line_with(swap_total=1, swap_used=2), "swap used"),
    ("os missing", line_with(os=None), "os is not a string"),
    ("os empty", line_with(os=""), "os is empty"),
    ("os with escape", line_with(os="Linux\x1b[31m"), "os holds control characters"),
    ("user with newline", line_with(user="root\nevil"), "user holds control characters"),
    ("user with C1 control", line_with(user="root\x9b31m"), "user holds control characters"),
    ("os too long", line_with(os="L" * 65), "os too long"),
    ("runtime dir not text", line_with(runtime_dirs=[1]), "runtime_dirs is not a string"),
    ("too many runtime dirs", line_with(runtime_dirs=["/x"] * 17), "too many"),
    ("servers not a list", line_with(servers={"a": 1}), "servers is not a list"),
    ("too many servers", line_with(servers=[{}] * 257), "too many"),
    ("too many gpus", line_with(gpus=[{}] * 65), "too many"),
    ("nested junk everywhere", line_with(gpus=[[[[[]]]]], servers=[[[{}]]], load=[[1], [2], [3]]), "load"),
    ("deep nesting", DEEP, "not JSON"),
    ("2 MB line", '{"v":1,"pad":"' + "x" * (2 << 20) + '"}', "too long"),
    ("not a str", b'{"v":1}', "not text"),
]


@pytest.mark.parametrize("line, reason", [pytest.param(line, reason, id=name) for name, line, reason in REFUSED])
def test_refused(line, reason):
    with pytest.raises(ProbeLineError) as caught:
        parse_line(line)
    assert reason in caught.value.reason


def test_reasons_never_carry_the_token():
    hostile = [
        line_with(servers=[server_entry(dict(JP, port=TOKEN))]),
        line_with(servers=[server_entry(dict(JP, pid=[TOKEN]))]),
        line_with(servers=[server_entry(dict(JP, token=[TOKEN]))]),
        line_with(servers=[server_entry('{"token": "' + TOKEN + '", oops')]),
    ]
    for line in hostile:
        sample = parse_line(line)
        assert sample.servers == () and sample.dropped
        assert all(TOKEN not in reason for reason in sample.dropped)
    with pytest.raises(ProbeLineError) as caught:
        parse_line(LINUX_CPU.replace('"cores":2', '"cores":"' + TOKEN + '"'))
    assert TOKEN not in str(caught.value)


def test_command_lines_shown_carry_no_token():
    """A Jupyter outside the runtime files (another JUPYTER_RUNTIME_DIR, a container) is listed as a
    service with its command line: the screen and `jtui status` show it, the token blanked."""
    command = f"/opt/conda/bin/python -m jupyter lab --no-browser --IdentityProvider.token={TOKEN} --port=9999"
    sample = parse_line(line_with(
        listening=[{"port": 9999, "address": "127.0.0.1", "pid": 4242, "command": command}],
        gpu_processes=[{"pid": 4242, "gpu": 0, "mib": 512, "user": "alice", "command": command}],
    ))
    [service] = sample.services
    [gpu_process] = sample.gpu_processes
    for shown in (service.command, gpu_process.command):
        assert TOKEN not in shown and "--IdentityProvider.token=***" in shown and shown.endswith("--port=9999")
    assert service.kind == "Jupyter"


def test_line_cap_is_one_mebibyte():
    assert MAX_LINE == 1 << 20
    fits = line_with(pad="x" * (MAX_LINE - len(line_with(pad=""))))
    assert len(fits) == MAX_LINE and isinstance(parse_line(fits), Sample)
    with pytest.raises(ProbeLineError):
        parse_line(fits + " ")


# -- hypothesis: only ever a Sample or ProbeLineError ---------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_refuses(line) -> None:
    try:
        result = parse_line(line)
    except ProbeLineError as exc:
        assert isinstance(exc.reason, str) and exc.reason
    else:
        assert isinstance(result, Sample)
        assert all(isinstance(s, JupyterServer) for s in result.servers)


@FUZZ
@given(st.text(max_size=2000))
def test_fuzz_random_text(text):
    parses_or_refuses(text)


@FUZZ
@given(st.integers(0, len(LINUX_CPU)))
def test_fuzz_truncations(cut):
    parses_or_refuses(LINUX_CPU[:cut])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(LINUX_CPU)), st.sampled_from(["replace", "insert", "delete"]), st.characters()), min_size=1, max_size=8))
def test_fuzz_mutations(edits):
    line = LINUX_CPU
    for position, kind, char in edits:
        position = min(position, len(line))
        if kind == "replace":
            line = line[:position] + char + line[position + 1 :]
        elif kind == "insert":
            line = line[:position] + char + line[position:]
        else:
            line = line[:position] + line[position + 1 :]
    parses_or_refuses(line)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = sorted(set(GOOD) | {"gpus", "gpu_error"})


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), JSON_VALUES, min_size=1, max_size=4))
def test_fuzz_wrong_types_in_a_good_line(changes):
    parses_or_refuses(json.dumps(dict(GOOD, **changes)))


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["file", "mtime", "text", "big"]), JSON_VALUES | st.just(json.dumps(JP)), max_size=4), max_size=5))
def test_fuzz_server_entries(entries):
    parses_or_refuses(json.dumps(dict(GOOD, servers=entries)))


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(JP) + ["notebook_dir", "start_time"]), JSON_VALUES, max_size=5))
def test_fuzz_runtime_files(changes):
    try:
        server = server_from_runtime(dict(JP, **changes), "/rt/jpserver-42.json", 1.0)
    except RuntimeFileError:
        return
    assert isinstance(server, JupyterServer) and 0 < server.port < 65536


# -- the script, run here with dash: real lines, parsed ----------------------------------


def run_script(*dirs: str, env: dict | None = None) -> list[str]:
    sh = shutil.which("dash") or "/bin/sh"
    out = subprocess.run(
        [sh, "-c", BOOTSTRAP, "jtui-probe"],
        input=script_text("probe", **probe_variables(0.2, 2, login_shell=False, runtime_dirs=dirs)),
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    lines = out.stdout.splitlines()
    assert len(lines) == 2
    return lines


def write_runtime(path: Path, pid: int, **extra) -> None:
    path.write_text(json.dumps(dict(JP, pid=pid, **extra), indent=1))


def test_script_lines_parse_here(tmp_path):
    rt = tmp_path / "runtime"
    rt.mkdir()
    write_runtime(rt / f"jpserver-{os.getpid()}.json", os.getpid(), root_dir="/a b/\\ \"q\"")
    write_runtime(rt / "jpserver-999999999.json", 999999999)  # stale: no such pid
    (rt / "kernel-1234.json").write_text("{}")  # not a server
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(rt), HOME=str(tmp_path))
    first, second = (parse_line(line) for line in run_script(env=env))
    assert first.cpu_percent is None and second.cpu_percent is not None
    online = sum(1 for row in Path("/proc/stat").read_text().splitlines() if row[:3] == "cpu" and row[3:4].isdigit())
    assert len(second.cpu_per_core) == second.cores == online
    assert all(0 <= figure <= 100 for figure in second.cpu_per_core)
    assert second.runtime_dirs[0] == str(rt)
    assert [(s.pid, s.root_dir) for s in second.servers] == [(os.getpid(), "/a b/\\ \"q\"")]
    assert second.servers[0].started is not None


def test_script_extra_runtime_dirs_come_first(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    write_runtime(extra / f"nbserver-{os.getpid()}.json", os.getpid())
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "none"), HOME=str(tmp_path))
    sample = parse_line(run_script(str(extra), env=env)[-1])
    assert sample.runtime_dirs[:2] == (str(extra), str(tmp_path / "none"))
    assert [s.kind for s in sample.servers] == ["nbserver"]


def test_script_gpu_and_non_linux_lines(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text('#!/bin/sh\ncase "$*" in *--query-gpu=*)\n'
                   'echo "0, GPU-0000, NVIDIA A100-SXM4-80GB, 72, 30920, 81920, 54"\n'
                   'echo "1, GPU-0001, Tesla K80, [N/A], 0, 11441, [Not Supported]" ;;\nesac\n')
    smi.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", HOME=str(tmp_path))
    sample = parse_line(run_script(env=env)[-1])
    assert sample.gpus == (
        GpuStat(0, "NVIDIA A100-SXM4-80GB", 72.0, 30920.0, 81920.0, 54.0),
        GpuStat(1, "Tesla K80", None, 0.0, 11441.0, None),
    )
    smi.write_text("#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"\nexit 9\n")
    sample = parse_line(run_script(env=env)[-1])
    assert sample.gpus == () and "NVIDIA driver" in sample.gpu_error
    smi.unlink()
    uname = bin_dir / "uname"
    uname.write_text("#!/bin/sh\necho Darwin\n")
    uname.chmod(0o755)
    rt = tmp_path / "Library/Jupyter/runtime"
    rt.mkdir(parents=True)
    write_runtime(rt / f"jpserver-{os.getpid()}.json", os.getpid())
    env.update(JT_PROC=str(tmp_path / "no-proc"))  # what a host without /proc looks like
    for line in run_script(env=env):
        sample = parse_line(line)
        assert sample.os == "Darwin" and not sample.supported
        assert sample.cpu_percent is None and sample.mem_total is None and sample.cores is None
        assert [s.pid for s in sample.servers] == [os.getpid()]


def test_script_refuses_bad_arguments():
    for interval, count in (("1e3", "0"), ("2", "-1"), ("$(id)", "0")):
        out = subprocess.run(
            ["/bin/sh", "-c", BOOTSTRAP, "jtui-probe"], capture_output=True, text=True, timeout=30,
            input=script_text("probe", interval=interval, count=count, login="0", dirs="", setup=""),
        )
        assert out.returncode == 2 and "jtui-probe: bad" in out.stderr


# -- the command line -----------------------------------------------------------------


def test_command_line_is_fixed_quoted_and_short():
    command = command_line("probe")
    assert command == "exec /bin/sh -c 'eval \"$(sed \"/^#jtui-end$/q\")\"' jtui-probe"
    assert "\n" not in command and "\\" not in command
    weird = script_text("probe", **probe_variables(0.5, 3, False, ["/it's a dir"]))
    assert "dirs='/it'\"'\"'s a dir'" in weird  # values travel on stdin, quoted for sh


@pytest.mark.parametrize("value, text", [(2, "2"), (2.0, "2"), (0.5, "0.5"), (0, "0"), (1e-5, "0"), (0.25, "0.25"), (3600, "3600")])
def test_format_interval(value, text):
    assert format_interval(value) == text


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), 1e9, True, "2"])
def test_format_interval_refuses(value):
    with pytest.raises(ValueError):
        format_interval(value)


def test_probe_variables_refuse_relative_or_multiline_dirs():
    for bad in (["rel/dir"], ["/a\nb"]):
        with pytest.raises(ValueError):
            probe_variables(2, 0, True, bad)
    with pytest.raises(ValueError):
        probe_variables(2, -1)


# -- runtime files ----------------------------------------------------------------------

NBSERVER = {  # classic Notebook 6 writes notebook_dir, not root_dir
    "base_url": "/",
    "hostname": "localhost",
    "notebook_dir": "/home/bob/nb",
    "password": False,
    "pid": 4321,
    "port": 8890,
    "secure": False,
    "sock": "",
    "token": "feedface",
    "url": "http://localhost:8890/",
}


def test_jpserver_file():
    server = parse_runtime_text(json.dumps(JP, indent=2), "/rt/jpserver-42.json", 1700000000.5)
    assert server == JupyterServer(
        port=8888, pid=42, url="http://127.0.0.1:8888/", base_url="/", token=TOKEN, root_dir="/home/alice/proj",
        version="2.14.0", started=1700000000.5, hostname="127.0.0.1", secure=False, password=False,
        kind="jpserver", runtime_file="/rt/jpserver-42.json",
    )
    assert TOKEN not in repr(server)


def test_nbserver_file():
    server = parse_runtime_text(json.dumps(NBSERVER), "/rt/nbserver-4321.json")
    assert (server.kind, server.root_dir, server.port, server.pid, server.hostname) == ("nbserver", "/home/bob/nb", 8890, 4321, "localhost")
    assert server.started is None


def test_password_protected_server_has_no_token():
    server = server_from_runtime(dict(JP, token="", password=True))
    assert server.token == "" and server.password is True


def test_start_time_wins_over_mtime_when_sane():
    assert server_from_runtime(dict(JP, start_time=1600000000), mtime=1700000000).started == 1600000000
    assert server_from_runtime(dict(JP, start_time=-5), mtime=1700000000).started == 1700000000
    assert server_from_runtime(dict(JP, start_time=True), mtime=None).started is None


@pytest.mark.parametrize(
    "base_url, expected",
    [("/", "/"), ("", "/"), (None, "/"), ("lab", "/lab/"), ("/lab", "/lab/"), ("lab/", "/lab/"), ("//a//b//", "/a/b/"), ("/user/alice/", "/user/alice/")],
)
def test_base_url_normalisation(base_url, expected):
    assert server_from_runtime(dict(JP, base_url=base_url)).base_url == expected
    assert normalize_base_url(base_url or "") == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        ("garbage\x00", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"port": NaN, "pid": 1}', "NaN"),
        (json.dumps(dict(JP, port=None)), "port"),
        (json.dumps(dict(JP, port="8888")), "port"),
        (json.dumps(dict(JP, port=70000)), "port out of range"),
        (json.dumps(dict(JP, port=0)), "port out of range"),
        (json.dumps(dict(JP, port=True)), "port"),
        (json.dumps(dict(JP, pid=-1)), "pid"),
        (json.dumps(dict(JP, pid=0)), "pid is 0"),
        (json.dumps(dict(JP, pid=2**40)), "pid"),
        (json.dumps(dict(JP, token=5)), "token is not a string"),
        (json.dumps(dict(JP, url="http://x/\x1b[2J")), "control"),
        (json.dumps(dict(JP, root_dir="x" * 5000)), "too long"),
        (json.dumps(dict(JP, port=0, sock="/tmp/jupyter.sock")), "unix socket"),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_runtime_garbage(text, reason):
    with pytest.raises(RuntimeFileError) as caught:
        parse_runtime_text(text, "/rt/jpserver-42.json")
    assert reason in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_non_bool_flags_are_false():
    server = server_from_runtime(dict(JP, password="yes", secure=1))
    assert server.password is False and server.secure is False


# -- the stream splitter: any chunking gives the same lines -----------------------------


class ChunkReader:
    """Stands in for an asyncssh stdout: hands out the given chunks, then EOF."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    async def read(self, size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


def split_lines(chunks: list[bytes]) -> list[bytes]:
    import asyncio

    from jtui.core.probe import read_lines

    async def collect() -> list[bytes]:
        return [line async for line in read_lines(ChunkReader(chunks), lambda reason: None)]

    return asyncio.run(collect())


@FUZZ
@given(st.lists(st.binary(max_size=50).map(lambda b: b.replace(b"\n", b"")), max_size=8), st.lists(st.integers(1, 40), max_size=20))
def test_lines_survive_any_chunking(lines, cuts):
    stream = b"".join(line + b"\n" for line in lines)
    chunks, start = [], 0
    for cut in cuts:
        chunks.append(stream[start : start + cut])
        start += cut
    chunks.append(stream[start:])
    assert split_lines([c for c in chunks if c]) == lines


def test_oversized_and_unterminated_lines_are_dropped():
    big = b"x" * (MAX_LINE + 1)
    chunks = [b"one\n", big[: MAX_LINE // 2], big[MAX_LINE // 2 :], b"\ntwo\nthr", b"ee\npartial"]
    assert split_lines(chunks) == [b"one", b"two", b"three"]
