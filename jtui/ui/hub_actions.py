"""s, x, c and o on a JupyterHub row: the user's own server on the hub, through the hub's API.

With no API token set, s and x say how to set one, and c still copies the
hub's login URL (the forward needs no token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from jtui.core.model import Service
from jtui.ui import state
from jtui.ui.messages import ActivityChanged, HubActed

if TYPE_CHECKING:
    from jtui.core.session import HostSession


class HubActions:
    """Needs from the screen: record(), run_core(), _change(), notify(), post_message(), app."""

    def hub_start(self, session: "HostSession", hub: Service) -> None:
        alias = session.alias
        user = self.record(alias).hub.user if self.record(alias).hub else ""

        def progress(text: str) -> None:
            self.post_message(ActivityChanged(alias, f"starting {user or 'your'} server on the hub: {text}"))

        async def call() -> Message:
            from jtui.core.hub import HubError

            try:
                server = await session.hub_start(hub, progress)
            except HubError as exc:
                self.post_message(ActivityChanged(alias, ""))
                self.notify(str(exc), title=f"{alias}: JupyterHub", severity="error", timeout=20)
                return None
            await session.hub_refresh(hub)
            return HubActed(alias, "started", server.url)

        progress("asking the hub")
        self.run_core(alias, "hub start", call)

    def hub_stop(self, session: "HostSession", hub: Service) -> None:
        record = self.record(session.alias)
        if record.hub is not None and record.hub.port != hub.port:  # the cursor just moved to another hub
            self.notify(f"Asking the hub on port {hub.port} for your servers: press x again in a moment.")
            return
        running = record.hub.default if record.hub else None
        if running is None:
            self.notify(record.hub.note if record.hub and record.hub.note
                        else "No server of yours runs on this hub: press s to start one.", severity="warning")
            return
        from jtui.ui.confirm_screen import ConfirmScreen

        alias = session.alias

        async def call() -> Message:
            await session.hub_stop(hub)
            await session.hub_refresh(hub)
            return HubActed(alias, "stopped", running.url)

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(alias, state.with_activity, f"stopping {running.url} on the hub…")
                self.run_core(alias, "hub stop", call)

        question = f"Stop your server {running.url} on the JupyterHub of {alias}?\nIts kernels end."
        self.app.push_screen(ConfirmScreen(f"stop on {alias}", question, "Stop"), answered)

    def on_hub_acted(self, message: HubActed) -> None:
        self._change(message.alias, state.with_activity, "")
        then = "press c to copy its URL." if message.action == "started" else "s starts it again."
        self.notify(f"Your hub server {message.url} {message.action}: {then}", title=message.alias)
