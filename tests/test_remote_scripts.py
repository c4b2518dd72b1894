"""jtui's remote scripts as files: shellcheck, the transport's quoting, and lib.sh's shared rules.

The rules run under this machine's /bin/sh exactly as the transport sends
them; where a rule is Jupyter's (the runtime dir), Jupyter itself is the
oracle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jtui.core.remote import BOOTSTRAP, END_MARKER, command_line, key_values, script_source, script_text
from tests.harness.require import need_program
from tests.harness.waiting import wait_until

SCRIPTS = sorted(p.stem for p in (Path(__file__).parents[1] / "jtui" / "core" / "sh").glob("*.sh"))


def sh(code: str, env: dict[str, str] | None = None, **variables) -> str:
    """Run lib.sh, `variables`, then `code` under /bin/sh; its stdout."""
    text = script_text("lib", **variables).replace(END_MARKER, code + "\n" + END_MARKER)
    done = subprocess.run(["/bin/sh", "-c", BOOTSTRAP, "jtui-test"], input=text, capture_output=True, text=True,
                          env=env if env is not None else {"PATH": os.environ["PATH"], "HOME": "/h"}, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_script_passes_shellcheck():
    need_program("shellcheck")
    folder = Path(__file__).parents[1] / "jtui" / "core" / "sh"
    done = subprocess.run(["shellcheck", "--shell=sh", *sorted(str(p) for p in folder.glob("*.sh"))],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_scripts_are_the_ones_the_package_ships():
    assert {"lib", "probe", "start", "launch", "poll", "stop"} <= set(SCRIPTS)
    for name in SCRIPTS:
        assert script_source(name).startswith("# shellcheck shell=sh")


@pytest.mark.parametrize("name", ["probe", "start", "poll", "stop"])
def test_a_command_line_is_fixed_and_names_the_script(name):
    line = command_line(name)
    assert line.startswith("exec /bin/sh -c ") and line.endswith(f" jtui-{name}")
    assert "\n" not in line


@pytest.mark.parametrize("bad", ["Name", "1x", "a-b", "a b", ""])
def test_variable_names_must_be_plain(bad):
    with pytest.raises(ValueError):
        script_text("stop", **{bad: "x"})


def test_nul_bytes_never_reach_a_shell():
    with pytest.raises(ValueError):
        script_text("stop", op="state\0")


def test_values_of_every_type_arrive_as_sent():
    out = sh('printf "%s|%s|%s|%s|%s" "$a" "$b" "$c" "$d" "$e"', a="it's $(id)", b=7, c=True, d=None, e=0.5)
    assert out == "it's $(id)|7|1||0.5"


def test_key_values_first_wins():
    assert key_values("noise\njtui-a=1\njtui-b=x=y\njtui-a=2\n") == {"a": "1", "b": "x=y"}


def jupyter_runtime_dir(env: dict[str, str]) -> str:
    """What jupyter_core itself says, in a Python with that environment."""
    code = "from jupyter_core.paths import jupyter_runtime_dir; print(jupyter_runtime_dir())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"XDG_DATA_HOME": "/x/data"},
        {"JUPYTER_DATA_DIR": "/j/data"},
        {"JUPYTER_RUNTIME_DIR": "/j/rt", "JUPYTER_DATA_DIR": "/j/data"},
        {"JUPYTER_DATA_DIR": "/j/data", "XDG_DATA_HOME": "/x/data"},
    ],
)
def test_runtime_dir_rule_agrees_with_jupyter_core(extra, tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **extra}
    ours = sh('jtui_runtime_dir "${JUPYTER_RUNTIME_DIR:-}" "${JUPYTER_DATA_DIR:-}" "${XDG_DATA_HOME:-}" "$HOME" Linux; '
              'printf %s "$jtui_rt"', env=env)
    assert ours == jupyter_runtime_dir(env)


def test_alive_tells_running_gone_and_zombie_apart():
    running = subprocess.Popen(["sleep", "60"])
    zombie = subprocess.Popen(["true"])  # never waited for until the end: a zombie meanwhile
    gone = subprocess.Popen(["true"])
    gone.wait()
    try:
        wait_until(lambda: Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", 10,
                   "the child to become a zombie")
        out = sh('for p in "$@"; do if jtui_alive "$p"; then echo 1; else echo 0; fi; done'.replace(
            '"$@"', f"{running.pid} {zombie.pid} {gone.pid} 0 x"))
        assert out.split() == ["1", "0", "0", "0", "0"]
    finally:
        running.kill()
        running.wait()
        zombie.wait()


@pytest.mark.parametrize(
    ("shell", "dialect", "runs"),
    [("/bin/bash", "sh", "/bin/bash"), ("/usr/bin/fish", "fish", "/usr/bin/fish"), ("/bin/tcsh", "csh", "/bin/tcsh"),
     ("/usr/bin/xonsh", "sh", "/bin/sh"), ("", "sh", "/bin/sh")],
)
def test_login_shell_and_its_language(shell, dialect, runs, tmp_path):
    fake = tmp_path / "bin" / Path(shell or "none").name
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    where = str(fake) if shell else ""
    out = sh('jtui_login_shell; printf "%s %s" "$jtui_sh" "$jtui_dialect"',
             env={"PATH": os.environ["PATH"], "HOME": "/h", "SHELL": where})
    assert out.split() == [str(fake) if runs != "/bin/sh" else "/bin/sh", dialect]
