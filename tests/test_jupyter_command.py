"""The start script as the shell sees it: quoting, tilde expansion, flags, the token.

No SSH here: the scripts run under this machine's /bin/sh exactly as the
transport sends them (jtui.core.remote), with a stand-in `jupyter` that
writes down the arguments, directory and environment it was started with.
"""

from __future__ import annotations

import os
import pwd
import shlex
import subprocess
from pathlib import Path

import pytest

from jtui.core.jupyter import redact, split_jupyter_command, start_variables
from jtui.core.remote import BOOTSTRAP, command_line, script_text
from jtui.core.settings import HostSettings
from tests.harness.waiting import wait_until

HOSTILE = [
    "x; touch PWNED",
    "$(touch PWNED)",
    "`touch PWNED`",
    "it's \"quoted\"",
    "back\\slash",
    "$HOME",
    "*",
    "-n",
    "~nosuchuser-here;x/y",
    "",
]


def run_script(name: str, home: Path, **variables) -> subprocess.CompletedProcess:
    """Run a jtui script here, the way the transport runs it on a host."""
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "SHELL": "/bin/sh"}
    return subprocess.run(
        ["/bin/sh", "-c", BOOTSTRAP, f"jtui-{name}"], input=script_text(name, **variables),
        capture_output=True, text=True, env=env, cwd=home, timeout=30,
    )


def expand(value: str, home: str = "/home/test") -> str:
    """lib.sh's jtui_expand_tilde applied to `value`, sent as a script variable."""
    result = subprocess.run(
        ["/bin/sh", "-c", BOOTSTRAP, "jtui-test"],
        input=script_text("lib", value=value).replace(
            "#jtui-end", 'jtui_expand_tilde "$value"; printf "%s" "$jtui_word"\n#jtui-end'
        ),
        capture_output=True, text=True, env={"HOME": home, "PATH": "/usr/bin:/bin"}, check=True,
    )
    return result.stdout


@pytest.mark.parametrize("value", [*HOSTILE, "a\nb"])
def test_a_variable_arrives_intact_and_runs_nothing(value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert expand(value) == value or value.startswith("~")
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("~", "/home/test"),
        ("~/", "/home/test/"),
        ("~/proj", "/home/test/proj"),
        ("~/my proj/it's", "/home/test/my proj/it's"),
        ("~/$(touch PWNED)", "/home/test/$(touch PWNED)"),
        ("~root", pwd.getpwnam("root").pw_dir),
        ("~root/x y", pwd.getpwnam("root").pw_dir.rstrip("/") + "/x y"),
        ("~nosuchuser-here/x", "~nosuchuser-here/x"),
        ("~nosuchuser-here;x/y", "~nosuchuser-here;x/y"),
        ("a~/b", "a~/b"),
    ],
)
def test_a_leading_tilde_is_expanded_and_nothing_else(value, expected):
    assert expand(value) == expected


def test_home_with_spaces_stays_one_word():
    assert expand("~/x", home="/h o m e") == "/h o m e/x"


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("jupyter lab", ["jupyter", "lab"]),
        ("~/miniconda3/envs/ds/bin/jupyter lab", ["~/miniconda3/envs/ds/bin/jupyter", "lab"]),
        ("'/opt/my env/bin/jupyter' server --debug", ["/opt/my env/bin/jupyter", "server", "--debug"]),
    ],
)
def test_split_jupyter_command(command, argv):
    assert split_jupyter_command(command) == argv


@pytest.mark.parametrize("command", ["", "   ", "jupyter 'lab", "--ip=0.0.0.0 jupyter"])
def test_split_jupyter_command_refuses(command):
    with pytest.raises(ValueError):
        split_jupyter_command(command)


# --- the whole start, with a stand-in jupyter -----------------------------------------------


@pytest.fixture
def box(tmp_path):
    """A HOME with a stand-in `jupyter` that records how it was started, then exits."""
    home = tmp_path / "home"
    (home / "bin").mkdir(parents=True)
    record = home / "record"
    standin = home / "bin" / "jupyter"
    standin.write_text(
        "#!/bin/sh\n"
        f"pwd > {shlex.quote(str(record))}.cwd\n"
        f'for a in "$@"; do printf "%s\\0" "$a"; done > {shlex.quote(str(record))}.argv\n'
        f"env > {shlex.quote(str(record))}.env\n"
        f": > {shlex.quote(str(record))}.done\n"
    )
    standin.chmod(0o755)
    return home


def start(box: Path, host: HostSettings, as_root=None, token="t" * 48) -> dict:
    variables = start_variables(host, token=token, as_root=as_root, log_path=str(box / "jupyter.log"))
    result = run_script("start", box, **variables)
    assert result.returncode == 0, result.stderr
    wait_until((box / "record.done").exists, 20, "the stand-in to run")
    return {
        "argv": (box / "record.argv").read_text().split("\0")[:-1],
        "cwd": (box / "record.cwd").read_text().strip(),
        "env": (box / "record.env").read_text(),
        "stdout": result.stdout,
    }


def test_jupyter_gets_the_flags_the_root_dir_and_the_token_in_its_environment(box):
    (box / "my proj").mkdir()
    token = "0123456789abcdef" * 3
    seen = start(box, HostSettings(jupyter="~/bin/jupyter lab --x=~/y", root_dir="~/my proj"), as_root=False, token=token)
    assert seen["argv"] == ["lab", "--x=~/y", "--no-browser", "--ip=127.0.0.1", "--port=8888", "--port-retries=50"]
    assert seen["cwd"] == str(box / "my proj")
    assert f"JUPYTER_TOKEN={token}" in seen["env"]
    assert "JTUI_" not in seen["env"]  # jtui's own variables are gone before Jupyter runs
    assert "jtui-pid=" in seen["stdout"] and token not in seen["stdout"]


@pytest.mark.parametrize(("as_root", "flag"), [(True, True), (False, False), (None, os.geteuid() == 0)])
def test_allow_root(box, as_root, flag):
    seen = start(box, HostSettings(jupyter="~/bin/jupyter lab", root_dir="~"), as_root=as_root)
    assert ("--allow-root" in seen["argv"]) is flag


@pytest.mark.parametrize("value", [v for v in [*HOSTILE, "a\nb"] if v and not v.startswith("-")])
def test_hostile_words_reach_jupyter_as_they_are(box, value):
    seen = start(box, HostSettings(jupyter=f"~/bin/jupyter {shlex.quote(value)} lab", root_dir="~"))
    assert seen["argv"][:2] == [value, "lab"]
    assert not (box / "PWNED").exists()


def test_the_token_is_only_ever_on_stdin():
    token = "0123456789abcdef" * 3
    variables = start_variables(HostSettings(jupyter="jupyter lab", root_dir="~"), token=token)
    assert script_text("start", **variables).count(token) == 1
    assert token not in command_line("start")
    assert "--IdentityProvider.token" not in str(variables) and "--NotebookApp.token" not in str(variables)


def test_redact_hides_token_values():
    assert redact("jupyter lab --IdentityProvider.token=s3cret") == "jupyter lab --IdentityProvider.token=..."
    assert redact("jupyter notebook --NotebookApp.token=s3cret --debug") == (
        "jupyter notebook --NotebookApp.token=... --debug"
    )
    assert redact("jupyter lab") == "jupyter lab"
