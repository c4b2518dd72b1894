"""Handing a URL to the user: tmux's buffer and the local browser.

Textual's OSC 52 copy reaches the terminal, but tmux drops it unless
`set-clipboard` is on; `tmux load-buffer -w -` puts it in tmux's buffer and,
with -w, forwards it to the outer terminal's clipboard as well.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping


async def tmux_load_buffer(text: str, env: Mapping[str, str] | None = None) -> str | None:
    """Copy into tmux's buffer when running inside tmux; return an error text or None."""
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            "tmux", "load-buffer", "-w", "-",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(text.encode()), 5)
    except (OSError, asyncio.TimeoutError) as exc:
        return f"tmux load-buffer failed: {exc}"
    if proc.returncode != 0:
        return f"tmux load-buffer failed: {err.decode(errors='replace').strip()}"
    return None


def no_browser_reason(env: Mapping[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """Why a browser cannot be opened here (None when it can).

    Without a display, Python's webbrowser would fall back to a text browser
    inside the very terminal jtui is drawing on: never do that.
    """
    env = os.environ if env is None else env
    if env.get("SSH_CONNECTION"):
        return "jtui runs over SSH: there is no browser on this side"
    if platform.startswith("linux") or "bsd" in platform:
        if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
            return "no local display (DISPLAY and WAYLAND_DISPLAY are unset)"
    return None


def open_in_browser(url: str) -> bool:
    """Open `url` in a GUI browser; False if none was found. Blocking: run in a thread."""
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if type(browser).__name__ == "GenericBrowser":  # text-mode browsers (lynx, w3m...)
        return False
    return bool(browser.open(url, new=2))
