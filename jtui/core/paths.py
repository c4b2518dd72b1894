"""Where jtui reads and writes its files (platformdirs, so XDG on Linux)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "jtui"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP))


def own_known_hosts() -> Path:
    """jtui's own known_hosts, where keys accepted in jtui are recorded."""
    return state_dir() / "known_hosts"


def log_file() -> Path:
    return log_dir() / "jtui.log"


def jtui_hosts_file() -> Path:
    """jtui's own hosts file, in ssh_config syntax, read after ~/.ssh/config."""
    return config_dir() / "hosts"


def settings_file() -> Path:
    return config_dir() / "config.toml"


def user_ssh_config() -> Path:
    return Path(os.path.expanduser("~")) / ".ssh" / "config"


def default_host_sources() -> list[Path]:
    """The files read when no --config is given: those that exist."""
    return [p for p in (user_ssh_config(), jtui_hosts_file()) if p.is_file()]


def ensure_private_dir(path: Path) -> Path:
    """Create a directory only the user can read (logs and state hold hostnames).

    Every missing parent is made 0700 too (mkdir(parents=True) would make
    them 0755), and the directory itself is tightened if it already exists.
    """
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path
