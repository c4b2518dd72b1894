"""`jtui hosts [--json]`: what it prints, where hosts come from, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jtui import __version__
from jtui.cli import main

ROOT = Path(__file__).resolve().parents[1]

GPU = """\
Host gpu-box gpu
    HostName gpu-box.lab.example
    User alice
    Port 2222
    IdentityFile ~/.ssh/id_gpu
Host hpc
    HostName login.hpc.example
    User asmith
    ProxyJump gw.example
Host *
    ServerAliveInterval 15
"""


def write(path: Path, text: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["hosts", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code, out, err = run(capsys, "--json", *argv)
    return code, json.loads(out), err


def test_json_rows(home, capsys):
    config = write(home.parent / "hosts", GPU)
    code, rows, err = run_json(capsys, "--config", config)
    assert (code, err) == (0, "")
    assert [r["alias"] for r in rows] == ["gpu-box", "gpu", "hpc"]
    gpu = rows[0]
    for key in ("alias", "hostname", "user", "port", "proxyjump", "identity_files", "file", "line", "error"):
        assert key in gpu
    assert gpu["hostname"] == "gpu-box.lab.example"
    assert (gpu["user"], gpu["port"], gpu["proxyjump"]) == ("alice", 2222, None)
    assert gpu["identity_files"] == ["~/.ssh/id_gpu"]
    assert (gpu["file"], gpu["line"]) == (config, 1)
    assert gpu["keepalive_interval"] == 15.0
    hpc = rows[2]
    assert (hpc["hostname"], hpc["user"], hpc["port"], hpc["proxyjump"]) == (
        "login.hpc.example", "asmith", 22, "gw.example",
    )
    assert (hpc["file"], hpc["line"]) == (config, 6)


def test_table(home, capsys):
    config = write(home.parent / "hosts", GPU)
    code, out, err = run(capsys, "--config", config)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["ALIAS", "USER@HOSTNAME:PORT", "JUMP", "IDENTITY", "DEFINED", "AT"]
    assert lines[1].split() == ["gpu-box", "alice@gpu-box.lab.example:2222", "-", "~/.ssh/id_gpu", f"{config}:1"]
    assert lines[3].split() == ["hpc", "asmith@login.hpc.example:22", "gw.example", "-", f"{config}:6"]
    # columns line up
    assert lines[1].index("alice@") == lines[3].index("asmith@") == lines[0].index("USER@")


def test_problems_on_stderr_every_readable_host_still_printed(home, capsys):
    broken = write(home.parent / "broken", """\
        Host one
            User x
            Bogus 1
        Host "two words" two
        Host three
            User "unbalanced
        """)
    latin1 = write(home.parent / "latin1", "Host never\n# Müller\n".encode("latin-1"))
    good = write(home.parent / "good", "Host four\n    HostName four.example\n")
    code, out, err = run(capsys, "--config", broken, "--config", latin1, "--config", good)
    assert code == 1
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["one", "two", "three", "four"]
    assert f"jtui: {broken}:3: unknown keyword 'bogus'" in err
    assert f"jtui: {broken}:4: Host 'two words'" in err
    assert f"jtui: {broken}:6: OpenSSH rejects this line (unbalanced quotes)" in err
    assert f"jtui: {latin1}:2: not UTF-8" in err
    # a problem that stops every host of the file is said once, above, and named in each row
    assert out.splitlines()[1].split()[1:6] == ["!", "broken:", "the", "config", "problem"]
    # the unreadable file does not spoil the resolution of the others
    code, rows, _ = run_json(capsys, "--config", latin1, "--config", good)
    assert [(r["alias"], r["hostname"], r["error"]) for r in rows] == [("four", "four.example", None)]


def test_missing_config_file_is_reported(home, capsys):
    good = write(home.parent / "good", "Host four\n")
    code, out, err = run(capsys, "--config", str(home.parent / "missing"), "--config", good)
    assert code == 1
    assert f"{home.parent / 'missing'}: file not found" in err
    assert "four" in out


def test_resolution_error_shown_in_the_row(home, capsys):
    config = write(home.parent / "hosts", "Host bad\n    Port notanumber\n")
    code, rows, err = run_json(capsys, "--config", config)
    assert rows[0]["alias"] == "bad" and "Port" in rows[0]["error"]
    code, out, err = run(capsys, "--config", config)
    assert "! " in out and "notanumber" in out


def test_empty_says_where_hosts_come_from(home, capsys, isolated_dirs):
    code, out, err = run(capsys)
    assert (code, out) == (0, "")
    assert str(home / ".ssh" / "config") in err
    assert str(isolated_dirs / "config" / "jtui" / "hosts") in err
    assert "Host " in err and "--config" in err
    code, rows, err = run_json(capsys)
    assert (code, rows, err) == (0, [], "")


def test_empty_explicit_file_names_it(home, capsys):
    config = write(home.parent / "empty", "# nothing yet\nHost *\n    User me\n")
    code, out, err = run(capsys, "--config", config)
    assert (code, out) == (0, "")
    assert f"No Host entries in {config}" in err


def test_defaults_are_ssh_config_then_jtui_hosts_file(home, capsys, isolated_dirs):
    ssh_config = write(home / ".ssh" / "config", "Host from-ssh\n    User s\n")
    jtui_hosts = write(isolated_dirs / "config" / "jtui" / "hosts", "Host from-jtui from-ssh\n    User j\n")
    code, rows, err = run_json(capsys)
    assert (code, err) == (0, "")
    assert [(r["alias"], r["user"], r["file"]) for r in rows] == [
        ("from-ssh", "s", ssh_config),
        ("from-jtui", "j", jtui_hosts),
    ]


def test_defaults_without_jtui_hosts_file(home, capsys):
    write(home / ".ssh" / "config", "Host only-ssh\n")
    code, rows, err = run_json(capsys)
    assert [r["alias"] for r in rows] == ["only-ssh"] and err == ""


def test_config_is_repeatable_and_replaces_the_defaults(home, capsys, isolated_dirs, tmp_path):
    write(home / ".ssh" / "config", "Host default-host\n")
    write(isolated_dirs / "config" / "jtui" / "hosts", "Host jtui-default\n")
    a = write(tmp_path / "a", "Host a1\n    Port 2001\nHost *\n    User fromA\n")
    b = write(tmp_path / "b", "Host b1 a1\n    Port 2002\n    User fromB\n")
    code, rows, err = run_json(capsys, "--config", a, "--config", b)
    assert err == ""
    # a1 defined first in a; b's settings apply after a's (first value wins)
    assert [(r["alias"], r["port"], r["user"], r["file"]) for r in rows] == [
        ("a1", 2001, "fromA", a),
        ("b1", 2002, "fromA", b),
    ]
    # -F, and --config before the subcommand, mean the same
    assert main(["--config", a, "hosts", "--json"]) == 0
    assert [r["alias"] for r in json.loads(capsys.readouterr().out)] == ["a1"]
    assert main(["hosts", "--json", "-F", b]) == 0
    assert [r["alias"] for r in json.loads(capsys.readouterr().out)] == ["b1", "a1"]


def test_relative_config_path_and_tilde(home, capsys, tmp_path, monkeypatch):
    write(home / "mine.conf", "Host tilde-host\n")
    write(tmp_path / "rel.conf", "Host rel-host\n")
    monkeypatch.chdir(tmp_path)
    code, rows, err = run_json(capsys, "--config", "~/mine.conf", "--config", "rel.conf")
    assert [(r["alias"], r["file"]) for r in rows] == [
        ("tilde-host", str(home / "mine.conf")),
        ("rel-host", str(tmp_path / "rel.conf")),
    ]


def _subprocess_env(home: Path) -> dict[str, str]:
    return dict(os.environ, HOME=str(home))


def test_version_both_ways():
    for argv in ([sys.executable, "-m", "jtui", "--version"], [str(Path(sys.executable).parent / "jtui"), "--version"]):
        if not Path(argv[0]).exists():
            pytest.fail(f"{argv[0]} missing: install the package (pip install -e .)")
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"jtui {__version__}"


def test_real_cli_prints_json_for_a_pipe(home, tmp_path):
    config = write(tmp_path / "hosts", GPU)
    out = subprocess.run(
        [sys.executable, "-m", "jtui", "hosts", "--json", "--config", config],
        capture_output=True, text=True, timeout=60, env=_subprocess_env(home), cwd=ROOT,
    )
    assert out.returncode == 0 and out.stderr == ""
    assert [r["alias"] for r in json.loads(out.stdout)] == ["gpu-box", "gpu", "hpc"]


def test_reader_closing_the_pipe_early_is_no_traceback(home, tmp_path):
    # More than a pipe buffer (64 KiB) of JSON, from a small config.
    keys = "".join(f"    IdentityFile /keys/{'k' * 200}{j}\n" for j in range(6))
    config = write(tmp_path / "many", "".join(f"Host h{i}\n" for i in range(60)) + "Host *\n" + keys)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jtui", "hosts", "--json", "--config", config],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_subprocess_env(home), cwd=ROOT,
    )
    assert proc.stdout.readline().strip() == b"["
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    proc.stderr.close()
    assert "Traceback" not in err
