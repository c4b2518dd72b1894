"""The remote launcher as text: quoting, tilde expansion, flags (no SSH; the local /bin/sh judges)."""

from __future__ import annotations

import pwd
import shlex
import subprocess

import pytest

from jtui.core.jupyter import (
    REMOTE_SH,
    _redact,
    build_start_command,
    remote_word,
    split_jupyter_command,
)
from jtui.core.settings import HostSettings

HOSTILE = [
    "x; touch PWNED",
    "$(touch PWNED)",
    "`touch PWNED`",
    "it's \"quoted\"",
    "a\nb",
    "back\\slash",
    "$HOME",
    "*",
    "-n",
    "~nosuchuser-here;x/y",
    "",
]


def sh_words(words: str, home: str = "/home/test") -> list[str]:
    """What /bin/sh makes of `words`, one argument each."""
    out = subprocess.run(
        ["/bin/sh", "-c", f"printf '%s\\0' {words}"],
        env={"HOME": home, "PATH": "/usr/bin:/bin"},
        capture_output=True, check=True,
    ).stdout.decode()
    return out.split("\0")[:-1]


@pytest.mark.parametrize("value", HOSTILE)
def test_remote_word_is_one_literal_word(value):
    assert sh_words(remote_word(value)) == [value]


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
        ("a~/b", "a~/b"),
    ],
)
def test_remote_word_expands_a_leading_tilde_only(value, expected):
    assert sh_words(remote_word(value)) == [expected]


def test_home_with_spaces_stays_one_word():
    assert sh_words(remote_word("~/x"), home="/h o m e") == ["/h o m e/x"]


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


@pytest.mark.parametrize("value", HOSTILE)
def test_launcher_is_valid_sh_for_hostile_values(value):
    script = build_start_command(
        HostSettings(jupyter=f"jupyter {shlex.quote(value)} lab", root_dir=value or "~"), token="t" * 48
    )
    subprocess.run(["/bin/sh", "-n"], input=script.encode(), check=True)


ASK_REMOTE = '$([ "$(id -u)" = 0 ] && echo --allow-root)'


@pytest.mark.parametrize(
    ("as_root", "always", "asks_remote"), [(True, True, False), (False, False, False), (None, False, True)]
)
def test_allow_root(as_root, always, asks_remote):
    script = build_start_command(HostSettings(jupyter="jupyter lab", root_dir="~"), token="x", as_root=as_root)
    assert (ASK_REMOTE in script) is asks_remote
    assert ("--allow-root" in script.replace(ASK_REMOTE, "")) is always


def test_launcher_flags_and_secret_handling():
    token = "0123456789abcdef" * 3
    script = build_start_command(HostSettings(jupyter="jupyter lab", root_dir="~"), token=token)
    for flag in ("--no-browser", "--ip=127.0.0.1", "--port=8888", "--port-retries=50", "setsid", "nohup"):
        assert flag in script
    # the token is only ever an environment variable assignment, never an argument
    assert script.count(token) == 1
    assert f"JUPYTER_TOKEN={token}; export JUPYTER_TOKEN" in script
    assert "--IdentityProvider.token" not in script and "--NotebookApp.token" not in script
    assert token not in REMOTE_SH


def test_redact_hides_token_values():
    assert _redact("jupyter lab --IdentityProvider.token=s3cret") == "jupyter lab --IdentityProvider.token=..."
    assert _redact("jupyter notebook --NotebookApp.token=s3cret --debug") == (
        "jupyter notebook --NotebookApp.token=... --debug"
    )
    assert _redact("jupyter lab") == "jupyter lab"
