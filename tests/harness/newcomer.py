"""A newcomer's machine for tests: a fresh copy of the checkout, an empty HOME, no project venv.

Shared by the tests that run the README's commands verbatim.
"""

from __future__ import annotations

import ast
import configparser
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Taken before any fixture rewrites HOME or XDG_*: pip's configuration is
# read from the developer's real environment.
DEVELOPER_ENV = dict(os.environ)

def fresh_checkout(dest: Path) -> None:
    """Copy every tracked file's working-tree content, as a clone would have it."""
    names = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode().split("\0")
    for name in filter(None, names):
        source = REPO / name
        if not os.path.lexists(source):  # deleted in the working tree
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)


def pip_config_file(dest: Path) -> Path | None:
    """pip's own view of the developer's configuration files, as one file outside HOME.

    On a machine whose pip reads a local index from a user-level pip.conf,
    the fresh HOME would lose it; this keeps exactly pip's settings, nothing else.
    """
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True, text=True, env=DEVELOPER_ENV, check=True,
    ).stdout
    config = configparser.ConfigParser(interpolation=None)
    for line in listed.splitlines():
        key, sep, value = line.partition("=")
        if not sep or key.startswith(":env:"):  # environment variables are passed on as they are
            continue
        section, _, option = key.partition(".")
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, option, ast.literal_eval(value))
    if not config.sections():
        return None
    with open(dest, "w") as f:
        config.write(f)
    return dest


def newcomer_env(home: Path, tmpdir: Path, pip_conf: Path | None) -> dict[str, str]:
    """What a fresh login on this machine has: no project venv, no XDG_*, no TMUX."""
    venvs = {str(REPO / ".venv"), DEVELOPER_ENV.get("VIRTUAL_ENV", "") or str(REPO / ".venv")}
    path = [
        d for d in DEVELOPER_ENV.get("PATH", os.defpath).split(os.pathsep)
        if d and not any(d == v or d.startswith(v + os.sep) for v in venvs)
    ]
    user = pwd.getpwuid(os.getuid())
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join(path),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "SHELL": user.pw_shell or "/bin/sh",
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "TMPDIR": str(tmpdir),
    }
    env.update({k: v for k, v in DEVELOPER_ENV.items() if k.startswith("PIP_")})
    if pip_conf is not None and "PIP_CONFIG_FILE" not in env:
        env["PIP_CONFIG_FILE"] = str(pip_conf)
    return env
