"""Helpers for Pilot and snapshot tests: apps built by the CLI's own factory, and waiting on them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jtui.app import build_app
from jtui.core.model import HostState

CONFIGS = Path(__file__).parent / "configs"
SCREEN_HOSTS = CONFIGS / "screens" / "hosts.conf"


def write_config_toml(isolated_dirs: Path, text: str) -> Path:
    """jtui's config.toml in the test's own config dir (the isolated_dirs fixture)."""
    folder = isolated_dirs / "config" / "jtui"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text)
    return folder / "config.toml"


def offline_app(config: Path = SCREEN_HOSTS, **kwargs):
    """The real app on a fixed hosts file, with no connections (deterministic screens)."""
    return build_app([str(config)], autoconnect=False, **kwargs)


async def until(predicate, timeout: float = 60, what: str = "") -> None:
    """Return once `predicate()` holds (polled on the app's loop); fail saying what never happened."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.05)


def record(app, alias: str):
    """The host screen's record of `alias` (what the screen shows about it)."""
    return app.host_screen.record(alias)


async def answered(app, pilot, key: str, text: str) -> None:
    """Press `key` and wait for a toast saying `text` that was not on screen before: the same words
    again replace the toast showing them (JtuiApp.notify), so counting them cannot tell."""
    shown = [n for n in app._notifications if text in " ".join(str(n.message).split())]
    await pilot.press(key)
    await until(lambda: any(text in " ".join(str(n.message).split()) and n not in shown for n in app._notifications),
                what=f"the answer to {key}: {text!r}")


def messages(app) -> str:
    """Every notification's text so far, one line each (as read, whatever its wrapping on screen)."""
    return "\n".join(" ".join(str(n.message).split()) for n in app._notifications)


def screen_lines(app) -> list[str]:
    """The screen's rows as drawn, every layer (toasts too), right-trimmed."""
    return ["".join(text for text, _, _ in strip).rstrip() for strip in app.screen._compositor.render_strips()]


def titles(app) -> str:
    return "\n".join(str(n.title) for n in app._notifications)


async def connected(app, alias: str = "testhost", sample: bool = True) -> None:
    """Wait until `alias` is connected (and, with `sample`, has its first sample)."""
    await until(lambda: record(app, alias).status.state == HostState.CONNECTED, what=f"{alias} connected")
    if sample:
        await until(lambda: record(app, alias).sample is not None, what=f"a sample of {alias}")


async def burst(pilot, *keys: str) -> None:
    """Keys as a terminal delivers them when typed fast or over a laggy link: all queued before any is handled.

    Pilot's press() lets the app settle after each key, so it cannot show a
    key going to the widget that had focus a moment before.
    """
    import unicodedata

    from textual import events
    from textual.keys import _get_unicode_name_from_key

    driver = pilot.app._driver
    for key in keys:
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(key))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(pilot.app)
        driver.send_message(event)
    await pilot.pause()
