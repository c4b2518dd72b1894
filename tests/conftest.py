"""Shared fixtures: a real sshd on 127.0.0.1 and an isolated jtui config home."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.harness.require import unavailable
from tests.harness.screen_hosts import ScreenHosts
from tests.harness.sshd import SSHD, SshServer


def _require_sshd() -> None:
    if not os.path.exists(SSHD) or not shutil.which("ssh-keygen"):
        unavailable(f"{SSHD} or ssh-keygen missing: run .ci/run (it installs openssh-server)")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Point jtui's config, state and log dirs at a fresh place for every test."""
    base = tmp_path_factory.mktemp("xdg")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        (base / sub).mkdir()
        monkeypatch.setenv(var, str(base / sub))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    return base


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A sandbox HOME with an empty ~/.ssh: relative Includes resolve below it."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """One real OpenSSH server shared by the tests that only read from it."""
    _require_sshd()
    server = SshServer(tmp_path_factory.mktemp("sshd")).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_sshd(tmp_path):
    """A private sshd for tests that kill, stop or reconfigure it."""
    _require_sshd()
    server = SshServer(tmp_path / "sshd").start()
    yield server
    server.stop()


@pytest.fixture
def laptop_terminal(monkeypatch):
    """Copies as on a laptop outside tmux: no SSH hint, no tmux buffer, whatever runs the tests."""
    for name in ("TMUX", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hosts(tmp_path, home, isolated_dirs, laptop_terminal):
    """The screen tests' hosts: real SSH servers with fixed figures (tests/harness/screen_hosts.py)."""
    with ScreenHosts(tmp_path / "hosts", home, isolated_dirs / "config") as screen_hosts:
        yield screen_hosts
