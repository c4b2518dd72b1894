"""The keys that act on a host's Jupyter servers and services: s, f, c, o, x, l, and what their results do.

A mixin of the host screen (jtui/ui/host_screen.py): each action checks the
host is connected and a server is selected, then hands the core call to
`run_core`; the message that comes back is handled here too, changing the
host's record through the screen's `_change`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from jtui.core.format import sentence, short_path
from jtui.core.model import HostState, JupyterServer, Service
from jtui.core.services import describe, is_hub
from jtui.ui import state
from jtui.ui.messages import ActivityChanged, ForwardToggled, ServerStarted, ServerStopped, UrlReady

if TYPE_CHECKING:
    from jtui.core.session import HostSession


def not_connected(alias: str, status) -> str:
    """Why a key cannot act on `alias` now, and what to do: the reason (which may have a
    parenthesis of its own) as a sentence of its own."""
    reason = f" {sentence(status.reason)}" if status.reason else ""
    return {
        HostState.NOT_CONNECTED: f"{alias} is not connected yet: press enter to connect.",
        HostState.CONNECTING: f"{alias} is still connecting; try again in a moment.",
        HostState.RECONNECTING: f"{alias} is reconnecting.{reason} Try again in a moment.",
        HostState.NEEDS_INPUT: f"{alias} waits for you: {status.reason or 'press enter to log in'}.",
        HostState.FAILED: f"{alias} cannot be reached.{reason} Press r to try again.",
        HostState.CONNECTED: f"{alias} is connected.",
    }[status.state]


def what_ends(record: state.HostRecord, server: JupyterServer) -> str:
    """What ends with `server`: its kernels by notebook, and its forward if it has one."""
    kernels, note = record.kernels_of(server.port)
    known = not note and any(port == server.port for port, _, _ in record.kernels)
    names = [k.path.rsplit("/", 1)[-1] if k.path else (k.name or "?") for k in kernels]
    if not names:
        ending = "No kernel runs there." if known else "Its kernels end."
    else:
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        ending = f"Its kernel ends: {shown}." if len(names) == 1 else f"Its {len(names)} kernels end: {shown}."
    local = record.forward_ports.get(server.port)
    if local is not None:
        ending += f"\nIts forward from localhost:{local} closes."
    return ending


def stop_question(record: state.HostRecord, server: JupyterServer) -> str:
    """What x asks: which server, and what ends with it."""
    home = record.sample.remote_home if record.sample else ""
    where = f" in {short_path(server.root_dir, home)}" if server.root_dir else ""
    return f"Stop the Jupyter server on port {server.port} (pid {server.pid}){where}?\n{what_ends(record, server)}"


def cancel_question(record: state.HostRecord, job_id: str, what: str, server: JupyterServer | None) -> str:
    """What x asks of a job: which one, and what ends with it (its server's kernels and forward)."""
    ending = f"{what_ends(record, server)}\n" if server is not None else ""
    return f"Cancel job {job_id} ({what}) with scancel?\n{ending}The job's output stays."


class ServerActions:
    """Needs from the screen: app, selected, record(), _change(), catch_up_cursors(), run_core(), notify(),
    last_hint."""

    def _session(self) -> "HostSession | None":
        """The selected host's session if it is connected; else say why, and what to do, and return None.
        Every key on a server, job, hub or kernel starts here, so the record is caught up with the cursors."""
        alias = self.selected
        if alias is None:
            self.notify("No host selected.", severity="warning")
            return None
        self.catch_up_cursors(alias)
        status = self.record(alias).status
        if status.state != HostState.CONNECTED or self.app.fleet is None:
            self.notify(not_connected(alias, status), severity="warning")
            return None
        return self.app.fleet.session(alias)

    def _session_and_server(self, for_kernels: bool = False) -> tuple["HostSession | None", JupyterServer | None]:
        """The connected session and the Jupyter server under the cursor; on a service, say why not."""
        session, item = self._session_and_item()
        if isinstance(item, Service):
            if item.kind == "Jupyter":  # no runtime file jtui can read: no token, no API
                what = f"{describe(item)} left no runtime file where jtui looks, so jtui cannot use its API"
            else:
                what = f"{describe(item)} is not a Jupyter server"
            if for_kernels:
                keys = ", ".join(self.app.keys_of(i) for i in ("interrupt", "restart", "shutdown"))
                text = f"{what}: jtui sees no kernels there. {keys} act on the kernels of a Jupyter server's row."
            else:
                pid = f" (pid {item.pid})" if item.pid else ""
                text = f"{what}: jtui cannot stop it. End it on {session.alias}{pid}, where it runs."
            self.notify(text, severity="warning")
            return session, None
        return session, item

    def _session_and_item(self, gone_too: bool = False) -> tuple["HostSession | None", JupyterServer | Service | None]:
        """The connected session and what the cursor is on; with `gone_too`, also a forward's gone server."""
        session = self._session()
        if session is None:
            return None, None
        record = self.record(session.alias)
        item = record.selected_item
        job = record.selected_job
        gone = record.selected_gone
        if gone is not None:
            if gone_too:
                return session, gone.server
            self.notify(f"Nothing listens on {session.alias}:{gone.remote_port} any more. Its forward on "
                        f"localhost:{gone.local_port} stays, so a server started again on that port answers "
                        "at the same URL; f closes it.", severity="warning")
        elif job is not None:
            why = f" ({job.reason})" if job.reason else ""
            self.notify(f"Job {job.job_id} is {job.state.lower()}{why}: its Jupyter is not up yet. "
                        "c works once it is; x cancels the job.", severity="warning")
        elif item is None:
            self.notify(f"No Jupyter server on {session.alias}: press s to start one.", severity="warning")
        return session, item

    # -- keys -------------------------------------------------------------------

    def action_start(self) -> None:
        session = self._session()
        if session is None:
            return
        alias = session.alias
        hub = self._hub_selected(alias)
        if hub is not None:
            self.hub_start(session, hub)
            return
        if self.record(alias).activity.startswith("starting"):
            self.notify(f"Already starting a server on {alias}.")
            return
        launcher = self.launcher_for(session)
        if launcher == "slurm":
            self.open_job_form(session)
            return
        if launcher == "":
            self.ask_launcher(session, lambda choice: self.action_start())
            return

        def progress(text: str) -> None:
            self.post_message(ActivityChanged(alias, f"starting Jupyter: {text}"))

        async def call() -> Message:
            from jtui.core.jupyter import StartError

            try:
                started = await session.start_jupyter(progress=progress)
            except StartError as exc:
                self.post_message(ActivityChanged(alias, ""))
                self.start_failed(alias, exc)
                return None
            return ServerStarted(alias, started.server, started.as_root)

        # At once, not by message: an s right behind this one (a key repeat) must find it starting.
        self._change(alias, state.with_activity, f"starting Jupyter: {session.host_settings.jupyter or 'jupyter'}")
        self.run_core(alias, "start", call)

    def start_failed(self, alias: str, error) -> None:
        text = str(error)
        if error.not_installed and self.app.is_demo(alias):
            from jtui.core.demo import install_jupyter_hint

            text += (f"\n\nThe demo host is this machine: install JupyterLab next to jtui with "
                     f"{install_jupyter_hint()}, then press s again.")
        self.notify(text, title=f"{alias}: Jupyter did not start", severity="error", timeout=30)

    def action_forward(self) -> None:
        session, server = self._session_and_item(gone_too=True)
        if server is None:
            return

        async def call() -> Message:
            if await session.unforward(server):
                return ForwardToggled(session.alias, server, None)
            return ForwardToggled(session.alias, server, await session.forward(server))

        self.run_core(session.alias, "forward", call)

    def _hand_over(self, browser: bool) -> None:
        session, server = self._session_and_item()
        if server is None:
            return

        hub = self.record(session.alias).hub

        async def call() -> Message:
            from jtui.core.hub import hub_url
            from jtui.core.urls import url_for

            forward = session.forward_for(server)
            bound_now = forward is None
            if forward is None:
                forward = await session.forward(server)
            if is_hub(server):  # the user's server when it runs
                url = hub_url(hub.default if hub and hub.port == server.port else None, forward.local_port)
            else:
                url = url_for(server, forward.local_port)
            return UrlReady(session.alias, server, url, forward, browser, bound_now)

        self.run_core(session.alias, "open" if browser else "copy", call)

    def action_copy(self) -> None:
        self._hand_over(browser=False)

    def action_open(self) -> None:
        self._hand_over(browser=True)

    async def action_laptop_command(self) -> None:
        if self.last_hint is None:
            self.notify("jtui is not running over SSH: localhost URLs work as they are.")
            return
        from jtui.ui.handoff import copy_text

        await copy_text(self.app, self.last_hint.command, "copied laptop command")

    def _hub_selected(self, alias: str) -> Service | None:
        item = self.record(alias).selected_item
        return item if is_hub(item) else None

    def action_stop(self) -> None:
        session = self._session()
        if session is None:
            return
        hub = self._hub_selected(session.alias)
        if hub is not None:
            self.hub_stop(session, hub)
            return
        record = self.record(session.alias)
        job = record.selected_job
        if job is not None:
            self.cancel_job(session, job.job_id, cancel_question(record, job.job_id, f"{job.state.lower()}, no Jupyter yet", None))
            return
        session, server = self._session_and_server()
        if server is None:
            return
        if server.job_id:
            node = self.record(session.alias).place_of(server)
            question = cancel_question(self.record(session.alias), server.job_id, f"Jupyter on {node}:{server.port}", server)
            self.cancel_job(session, server.job_id, question)
            return
        from jtui.ui.confirm_screen import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._stop(session, server)

        self.app.push_screen(ConfirmScreen(f"stop on {session.alias}", stop_question(self.record(session.alias), server),
                                           "Stop"), answered)

    def _stop(self, session: "HostSession", server: JupyterServer) -> None:
        alias = session.alias

        async def call() -> Message:
            await session.stop_jupyter(server)
            return ServerStopped(alias, server)

        self._change(alias, state.with_stopping, server)
        self.run_core(alias, "stop", call, undo=lambda: self._change(alias, state.without_stopping, server))

    # -- their results ------------------------------------------------------------

    def on_server_started(self, message: ServerStarted) -> None:
        server = message.server
        others = [s.port for s in self.record(message.alias).servers if s.port != server.port]
        self._change(message.alias, state.with_started, server)
        root = " as root (--allow-root)" if message.as_root else ""
        where = "on this machine's port" if self.app.is_demo(message.alias) else "on remote port"
        text = f"Jupyter {where} {server.port}{root}: press c to copy its URL."
        if others:  # s pressed again by mistake shows here, where the second server is said
            ports = ", ".join(map(str, others))
            text += (f" Another server still runs there, on port {ports}" if len(others) == 1
                     else f" Other servers still run there, on ports {ports}") + " (x stops the one under the cursor)."
        self.notify(text, title=message.alias)

    def on_server_stopped(self, message: ServerStopped) -> None:
        self._change(message.alias, state.with_stopped, message.server)
        self.notify(f"Stopped the server on port {message.server.port}.", title=message.alias)

    def on_forward_toggled(self, message: ForwardToggled) -> None:
        server, forward = message.server, message.forward
        if forward is None:
            self.notify(f"Forward of remote port {server.port} closed.", title=message.alias)
            return
        moved = forward.moved and not self.app.is_demo(message.alias)
        note = f"\n{self.moved_note(message.alias, forward)}" if forward.moved else ""
        where = self.record(message.alias).place_of(server)
        self.notify(f"localhost:{forward.local_port} ↔ {where}:{server.port}{note}", title="forwarding",
                    severity="warning" if moved else "information")

    async def on_url_ready(self, message: UrlReady) -> None:
        from jtui.ui.handoff import copy_url, open_url

        forward = message.forward
        if message.bound_now and forward.moved and not self.app.is_demo(message.alias):
            self.notify(forward.reason, severity="warning")  # once, as it is bound
        hand = open_url if message.browser else copy_url
        self.last_hint = await hand(self.app, message.url, message.server, forward.local_port)

    def moved_note(self, alias: str, forward) -> str:
        """Why a forward's local port differs from the server's."""
        if self.app.is_demo(alias):  # the server listens on this very machine, on that very port
            return f"Port {forward.remote_port} here is the server itself (demo is this machine)."
        return forward.reason
