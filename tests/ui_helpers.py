"""Helpers for Pilot and snapshot tests: apps built by the CLI's own factory."""

from __future__ import annotations

from pathlib import Path

from jtui.app import build_app

CONFIGS = Path(__file__).parent / "configs"
SCREEN_HOSTS = CONFIGS / "screens" / "hosts.conf"


def offline_app(config: Path = SCREEN_HOSTS, **kwargs):
    """The real app on a fixed hosts file, with no connections (deterministic screens)."""
    return build_app([str(config)], autoconnect=False, **kwargs)
