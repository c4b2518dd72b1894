"""Handing a URL to the user: the clipboard (OSC 52, and tmux's buffer), or the browser.

The URL is always shown as well, for terminals that drop OSC 52. When jtui
runs on a machine reached over SSH, `localhost` is that machine: the
notification says so and returns the laptop-side command for `l`.
"""

from __future__ import annotations

import asyncio
import os
import socket

from textual.app import App

from jtui.core.handoff import no_browser_reason, open_in_browser, tmux_load_buffer
from jtui.core.model import JupyterServer, Service
from jtui.core.urls import LaptopHint, laptop_hint, url_note


async def copy_url(
    app: App, url: str, server: JupyterServer | Service, local_port: int, why: str = ""
) -> LaptopHint | None:
    """OSC 52 copy, tmux's buffer too when inside tmux, and the URL always shown."""
    lines = [why, url] if why else [url]
    tmux_error = await to_clipboard(app, url)
    if tmux_error:
        lines.append(tmux_error)
    note = url_note(server)
    if note:
        lines.append(note)
    hint = laptop_hint(os.environ, local_port, socket.gethostname())
    if hint:
        lines += [hint.message, "Press l to copy that command."]
    app.notify("\n".join(lines), title="copied", timeout=20 if hint else 10, markup=False)
    return hint


async def copy_text(app: App, text: str, title: str) -> None:
    """Copy `text` as a URL is copied, and show it."""
    tmux_error = await to_clipboard(app, text)
    app.notify(f"{text}\n{tmux_error}" if tmux_error else text, title=title, markup=False)


async def to_clipboard(app: App, text: str) -> str | None:
    """OSC 52, and tmux's buffer when inside tmux (tmux drops a bare OSC 52 by default); what failed, if anything."""
    app.copy_to_clipboard(text)
    return await tmux_load_buffer(text)


async def open_url(app: App, url: str, server: JupyterServer | Service, local_port: int) -> LaptopHint | None:
    """The local browser when there is one; else copy, saying why."""
    reason = no_browser_reason()
    if reason is None and await asyncio.to_thread(open_in_browser, url):
        app.notify(url, title="opened in the browser", markup=False)
        return None
    return await copy_url(app, url, server, local_port, why=f"{reason or 'no browser found'}: copied instead.")
