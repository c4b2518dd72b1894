"""The Textual app: reacts to the core's sessions, never runs SSH itself."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from jtui.core.inventory import (
    Inventory,
    config_stamp,
    load_inventory,
    reload_inventory,
    where_hosts_come_from,
)
from jtui.core.model import History, HostState, HostStatus, Sample
from jtui.core.resolve import ResolvedHost, resolve_host
from jtui.ui.commands import JtuiCommands
from jtui.ui.help_screen import HelpScreen
from jtui.ui.keys import BoundAction, bound_actions, describe_keys, keymap_problems, known_keymap
from jtui.ui.host_detail import HostDetail
from jtui.ui.host_list import HostList, HostTable
from jtui.ui.messages import HostNotice, HostSampled, HostStatusChanged
from jtui.ui.prompt_screen import PromptScreen

log = logging.getLogger(__name__)
SIGNAL_EXIT_GRACE = 5.0  # seconds a SIGTERM'd exit may take before jtui leaves without Textual


class _Listener:
    """Turns session callbacks into Textual messages (the sessions share the app's loop)."""

    def __init__(self, app: "JtuiApp") -> None:
        self.app = app

    def session_status(self, status: HostStatus) -> None:
        self.app.post_message(HostStatusChanged(status))

    def session_sample(self, alias: str, sample: Sample) -> None:
        """Store the sample at once; only the selected host's needs a message.

        Every host is polled, one is drawn: with 100 hosts at 1 Hz, a message
        per sample would keep the event loop busy for nothing. The host list
        picks the others up on its next flush.
        """
        app = self.app
        app.histories.setdefault(alias, History()).add(sample)
        app.samples[alias] = sample
        app.stale.discard(alias)
        app.host_list.set_sample(alias, sample)
        if alias == app.selected:
            app.post_message(HostSampled(alias, sample))

    def session_notice(self, alias: str, text: str, error: bool = False) -> None:
        self.app.post_message(HostNotice(alias, text, error))


class _Prompter:
    """Answers asyncssh's auth callbacks with a modal; awaits a future set on dismiss.

    (push_screen_wait cannot be used there: the callback does not run in a worker.)
    """

    def __init__(self, app: "JtuiApp") -> None:
        self.app = app
        self._lock = asyncio.Lock()  # one modal at a time, however many hosts ask

    async def _modal(self, screen):
        async with self._lock:
            future: asyncio.Future = asyncio.get_running_loop().create_future()

            def done(result) -> None:
                if not future.done():
                    future.set_result(result)

            self.app.push_screen(screen, done)
            return await future

    async def ask(self, alias: str, prompt: str, echo: bool) -> str | None:
        return await self._modal(PromptScreen(f"{alias}: login", prompt, echo))

    async def confirm_host_key(self, alias: str, problem) -> bool:
        from jtui.ui.confirm_screen import ConfirmScreen

        question = (
            f"{problem.explain()}\n\nTrust this key? It is recorded in jtui's own known_hosts, "
            "never in yours. Compare the fingerprint with one you got from the host's owner."
        )
        return bool(await self._modal(ConfirmScreen(f"{alias}: unknown host key", question, "Trust")))


class JtuiApp(App[int]):
    TITLE = "jtui"
    CSS_PATH = "ui/jtui.tcss"
    # Tooltips double as the help screen's and the palette's words; ids are config.toml's [keys] names.
    BINDINGS = [
        Binding("s", "start", "start", id="start", tooltip="start a Jupyter server on the selected host"),
        Binding("f", "forward", "forward", id="forward", tooltip="forward the selected server to localhost (again: unbind)"),
        Binding("c", "copy", "copy URL", id="copy", tooltip="copy the server's localhost URL with its token (forwards first)"),
        Binding("o", "open", "open", id="open", tooltip="open that URL in the local browser (forwards first)"),
        Binding("x", "stop", "stop", id="stop", tooltip="stop the selected server (asks first)"),
        Binding("r", "refresh", "refresh", id="refresh", tooltip="refresh now / reconnect a failed host"),
        Binding("slash", "filter", "filter", id="filter", tooltip="filter hosts by name (enter keeps it, esc clears)"),
        Binding("enter", "connect", "connect", show=False, id="connect", tooltip="connect the selected host now, asking for a passphrase, password or code"),
        Binding("l", "laptop_command", "laptop cmd", show=False, id="laptop", tooltip="after a copy over SSH: copy the laptop-side ssh -N -L command"),
        Binding("question_mark", "help", "help", id="help", tooltip="this help: every key, and where the configuration lives"),
        Binding("ctrl+p", "command_palette", "palette", show=False, priority=True, id="palette",
                tooltip="command palette: every action, and jump to a host by name"),
        Binding("q", "quit", "quit", id="quit", tooltip="quit: forwards end, remote servers keep running"),
    ]
    COMMANDS = {JtuiCommands}

    def __init__(self, inventory: Inventory, *, autoconnect: bool = True, demo: bool = False) -> None:
        super().__init__()
        self.inventory = inventory
        self.autoconnect = autoconnect
        self.demo = demo
        self.demo_server = None
        self.fleet = None  # created after the first frame: it pulls in asyncssh
        self.statuses: dict[str, HostStatus] = {}
        self.samples: dict[str, Sample] = {}
        self.histories: dict[str, History] = {}
        self.resolved: dict[str, ResolvedHost] = {}
        self.stale: set[str] = set()
        self.notes: dict[str, str] = {}  # per host: progress of a start, last failure
        self.last_hint = None  # the laptop-side command after a copy over SSH
        self.pending_select: tuple[str, int] | None = None  # a started server to put the cursor on
        self.bound: dict[str, BoundAction] = {}  # binding id -> its keys after [keys]; set with the preferences
        self.ui_problems: list[str] = []  # what was wrong with [keys] or theme

    # -- layout ------------------------------------------------------------

    @staticmethod
    def problems_text(problems: list[str]) -> str:
        text = "\n".join(f"! {p}" for p in problems[:5])
        if len(problems) > 5:
            text += f"\n! ... and {len(problems) - 5} more (jtui hosts lists them all)"
        return text

    def compose(self) -> ComposeResult:
        self.ui_problems = self.apply_preferences()
        text = self.problems_text(self.inventory.problems + self.ui_problems)
        # Kept as attributes: App.query_one searches the *active* screen, which
        # is a modal whenever a prompt or confirmation is open.
        self.problems_box = Static(text, id="problems", markup=False)
        self.problems_box.display = bool(text)
        yield self.problems_box
        self.host_list = HostList(self.inventory.aliases, where_hosts_come_from(self.inventory))
        self.detail = HostDetail()
        with Horizontal(id="main"):
            yield self.host_list
            yield self.detail
        yield Footer()

    def on_mount(self) -> None:
        if not self.is_headless:
            self._exit_on_signals()
        self.host_list.table.focus()
        self.set_interval(1.0, self._tick)
        self._config_stamp = config_stamp(self.inventory)
        self.set_interval(2.0, self._check_config)
        if self.demo:  # the fleet starts once the demo host exists
            self._start_demo()
        elif self.autoconnect:
            self.call_after_refresh(self._start_fleet)

    def _start_fleet(self) -> None:
        self.ensure_fleet().autostart()

    def ensure_fleet(self):
        if self.fleet is None:
            from jtui.core.fleet import Fleet

            self.fleet = Fleet(self.inventory, _Listener(self), _Prompter(self))
        return self.fleet

    @work(exit_on_error=False, group="demo")
    async def _start_demo(self) -> None:
        """Serve this machine as host `demo` over an embedded SSH server, then connect to it."""
        from jtui.core.demo import DEMO_ALIAS, start_demo_server

        self.demo_server = await start_demo_server()
        if DEMO_ALIAS in self.inventory.scan.aliases:
            self.notify(f"Your config's host {DEMO_ALIAS!r} is hidden while --demo runs.", severity="warning")
        self.inventory = self.inventory.with_own_host(DEMO_ALIAS, self.demo_server.config_file)
        self.host_list.set_aliases(self.inventory.aliases, where_hosts_come_from(self.inventory))
        self.host_list.select(DEMO_ALIAS)
        self.notify(
            f"{DEMO_ALIAS} is this machine, served over SSH by jtui on 127.0.0.1:{self.demo_server.port}. "
            "Press s to start Jupyter there, then c to copy its URL.",
            title="jtui --demo", timeout=15,
        )
        if self.autoconnect:
            self._start_fleet()

    def _exit_on_signals(self) -> None:
        """`kill` (SIGTERM) quits like q does; a closed terminal (SIGHUP) leaves at once.

        Python's default would end the process on the spot and leave --demo's
        private key in its temp dir. With the terminal gone, Textual's driver
        can block for ever trying to restore it, so SIGHUP does only what must
        be done (the demo's files) and exits; a SIGTERM'd exit that has not
        finished after a few seconds does the same.
        """
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._quit_on_sigterm)
        loop.add_signal_handler(signal.SIGHUP, self._leave_now, 128 + signal.SIGHUP)

    def _quit_on_sigterm(self) -> None:
        self.exit()
        watchdog = threading.Timer(SIGNAL_EXIT_GRACE, self._leave_now, args=(128 + signal.SIGTERM,))
        watchdog.daemon = True
        watchdog.start()

    def _leave_now(self, status: int) -> None:
        log.info("leaving on a signal (exit status %d)", status)
        if self.demo_server is not None:
            self.demo_server.folder.cleanup()
        logging.shutdown()
        os._exit(status)

    async def on_unmount(self) -> None:
        if self.fleet is not None:
            await self.fleet.close()
        if self.demo_server is not None:
            await self.demo_server.close()

    # -- core -> screen ----------------------------------------------------

    @property
    def selected(self) -> str | None:
        return self.host_list.selected

    def on_host_status_changed(self, message: HostStatusChanged) -> None:
        status = message.status
        self.statuses[status.alias] = status
        if status.state == HostState.RECONNECTING:
            self.stale.add(status.alias)
        self.host_list.set_status(status)
        if status.alias == self.selected:
            self.refresh_detail()

    def on_host_sampled(self, message: HostSampled) -> None:
        if message.alias == self.selected:
            self.refresh_detail()

    def on_host_notice(self, message: HostNotice) -> None:
        self.notify(message.text, title=message.alias, severity="error" if message.error else "information")

    @on(HostList.Selected)
    def _host_selected(self, message: HostList.Selected) -> None:
        alias = message.alias
        if alias is not None and alias not in self.resolved:
            session = self.fleet.sessions.get(alias) if self.fleet is not None else None
            if session is not None and session.has_resolved:
                self.resolved[alias] = session.resolved  # already read: no second parse
            else:
                self._resolve(alias)
        self.refresh_detail()

    @on(DataTable.RowSelected, "#hosts")
    def _enter_on_host(self, event: DataTable.RowSelected) -> None:
        """enter on the host table: the table takes the key first, so connect here."""
        event.stop()
        self.action_connect()

    @work(thread=True, exit_on_error=False, group="resolve")
    def _resolve(self, alias: str) -> None:
        resolved = resolve_host(alias, self.inventory.config_files_for(alias))
        self.call_from_thread(self._resolved_ready, alias, resolved)

    def _resolved_ready(self, alias: str, resolved: ResolvedHost) -> None:
        self.resolved[alias] = resolved
        if alias == self.selected:
            self.refresh_detail()

    def refresh_detail(self) -> None:
        try:
            self._show_detail()
        except NoMatches:  # a session's message arrived while jtui was quitting: nothing to draw on
            pass

    def _show_detail(self) -> None:
        alias = self.selected
        detail = self.detail
        if alias is None:
            detail.show(None, None, None, None, None)
            return
        detail.show(
            alias,
            self.resolved.get(alias),
            self.statuses.get(alias, HostStatus(alias)),
            self.samples.get(alias),
            self.histories.get(alias),
            forwards=self.forward_ports(alias),
            stale=alias in self.stale,
            note=self.notes.get(alias, ""),
        )
        if self.pending_select and self.pending_select[0] == alias:
            if detail.select_port(self.pending_select[1]):
                self.pending_select = None

    def forward_ports(self, alias: str) -> dict[int, int]:
        """Remote port -> local port of the host's live forwards."""
        if self.fleet is None or alias not in self.fleet.sessions:
            return {}
        return self.fleet.sessions[alias].forward_ports()

    def _tick(self) -> None:
        alias = self.selected
        status = self.statuses.get(alias) if alias else None
        if status and status.next_retry is not None:
            self.refresh_detail()

    def _check_config(self) -> None:
        if config_stamp(self.inventory) != self._config_stamp:
            self._reload_config()

    @work(exclusive=True, exit_on_error=False, group="reload")
    async def _reload_config(self) -> None:
        """A hosts file or config.toml changed while jtui runs: read it again."""
        inventory = await asyncio.to_thread(reload_inventory, self.inventory)
        self._config_stamp = config_stamp(inventory)
        self.inventory = inventory
        self.resolved.clear()
        self.ui_problems = self.apply_preferences()
        problems = self.problems_box
        text = self.problems_text(inventory.problems + self.ui_problems)
        problems.update(text)
        problems.display = bool(text)
        self.host_list.set_aliases(inventory.aliases, where_hosts_come_from(inventory))
        if self.fleet is not None:
            await self.fleet.update(inventory)
        self.notify(f"Hosts reloaded: {len(inventory.aliases)} hosts.", title="config changed")

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors land: said on screen, never a crash."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            log.warning("worker %s failed: %s", event.worker.name, error)
            self.notify(f"{error}", title="error", severity="error", timeout=10)

    # -- actions -----------------------------------------------------------

    def action_filter(self) -> None:
        self.host_list.open_filter()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_rows(), self.places()))

    def jump_to_host(self, alias: str) -> None:
        if self.host_list.select(alias):
            self.refresh_detail()

    # -- preferences: [keys] and theme ---------------------------------------

    def apply_preferences(self) -> list[str]:
        """config.toml's [keys] and theme, applied; what was wrong with them, to show."""
        settings = self.inventory.settings
        where = settings.path or "config.toml"
        keymap = self._normalize_keymap(settings.keys)
        actions = bound_actions([*self.BINDINGS, *HostTable.BINDINGS], keymap)
        problems = keymap_problems(keymap, actions, where)
        self.set_keymap(known_keymap(keymap, actions))
        self.bound = {action.id: action for action in actions}
        if settings.theme is not None:
            if settings.theme in self.available_themes:
                self.theme = settings.theme
            else:
                names = ", ".join(sorted(self.available_themes))
                problems.append(f"{where}: theme {settings.theme!r} does not exist (themes: {names})")
        return problems

    def keys_of(self, binding_id: str) -> str:
        return describe_keys(self.bound[binding_id], self.get_key_display)

    def key_rows(self) -> list[tuple[str, str]]:
        """The help screen's table, with the keys as the user has bound them."""
        rows = [
            (f"↑/↓ {self.keys_of('down')}/{self.keys_of('up')}", "move between hosts (or servers, in the server table)"),
            ("tab", "switch focus between host list and server table"),
        ]
        skip = {"down", "up"}
        rows += [(self.keys_of(a.id), a.binding.tooltip) for a in self.bound.values() if a.id not in skip]
        return rows

    def places(self) -> list[tuple[str, str]]:
        from jtui.core import paths

        home = os.path.expanduser("~")

        def state(path) -> str:
            text = str(path)
            if text.startswith(home + os.sep):
                text = "~" + text[len(home):]
            return text if os.path.exists(path) else f"{text} (not there yet)"

        inventory = self.inventory
        if inventory.explicit:
            hosts = [("hosts (--config)", state(f)) for f in inventory.sources]
        else:
            hosts = [("hosts", state(paths.user_ssh_config())), ("hosts, jtui's own", state(paths.jtui_hosts_file()))]
        if self.demo_server is not None:
            hosts.append(("demo host, this run", f"{self.demo_server.config_file} (removed on exit)"))
        return [
            *hosts,
            ("settings", state(inventory.settings.path or paths.settings_file())),
            ("accepted host keys", state(paths.own_known_hosts())),
            ("log", state(paths.log_file())),
        ]

    def action_connect(self) -> None:
        alias = self.selected
        if alias is not None:
            self.ensure_fleet().session(alias).reconnect_now(interactive=True)

    def action_refresh(self) -> None:
        alias = self.selected
        if alias is None:
            return
        status = self.statuses.get(alias, HostStatus(alias))
        if status.state != HostState.CONNECTED:
            self.ensure_fleet().session(alias).reconnect_now(interactive=True)
        self.refresh_detail()


    # -- Jupyter actions -----------------------------------------------------

    def _connected_session(self):
        """The selected host's session if connected; else say why and return None."""
        alias = self.selected
        if alias is None:
            self.notify("No host selected.", severity="warning")
            return None
        status = self.statuses.get(alias, HostStatus(alias))
        if status.state != HostState.CONNECTED or self.fleet is None:
            hint = "press enter to log in" if status.state == HostState.NEEDS_INPUT else "press r to reconnect"
            self.notify(f"{alias} is {status.state.value}{': ' + status.reason if status.reason else ''}; {hint}.",
                        severity="warning")
            return None
        return self.fleet.session(alias)

    def selected_server(self):
        """The server under the server table's cursor (the first one when it has no focus)."""
        alias = self.selected
        sample = self.samples.get(alias) if alias else None
        port = self.detail.selected_server_port()
        if sample is None or port is None:
            return None
        return next((s for s in sample.servers if s.port == port), None)

    def _session_and_server(self):
        session = self._connected_session()
        if session is None:
            return None, None
        server = self.selected_server()
        if server is None:
            self.notify(f"No Jupyter server on {session.alias}: press s to start one.", severity="warning")
        return session, server

    def action_start(self) -> None:
        session = self._connected_session()
        if session is not None:
            self._start(session)

    @work(exit_on_error=False, group="start")
    async def _start(self, session) -> None:
        from jtui.core.jupyter import StartError

        alias = session.alias
        if alias in self.notes and self.notes[alias].startswith("starting"):
            self.notify(f"Already starting a server on {alias}.")
            return

        def progress(text: str) -> None:
            self.notes[alias] = f"starting Jupyter: {text}"
            self.refresh_detail()

        progress(session.host_settings.jupyter or "jupyter")
        try:
            started = await session.start_jupyter(progress=progress)
        except StartError as exc:
            self.notes.pop(alias, None)
            self.refresh_detail()
            text = str(exc)
            if exc.not_installed and self.is_demo(alias):
                text += ("\n\nThe demo host is this machine: install Jupyter next to jtui with "
                         "pip install 'jtui[demo]' (pipx: pipx inject jtui jupyterlab), then press s again.")
            self.notify(text, title=f"{alias}: Jupyter did not start", severity="error", timeout=30)
            return
        except Exception:
            self.notes.pop(alias, None)
            self.refresh_detail()
            raise
        self.notes.pop(alias, None)
        self.pending_select = (alias, started.server.port)
        root = " as root (--allow-root)" if started.as_root else ""
        where = "on this machine's port" if self.is_demo(alias) else "on remote port"
        self.notify(f"Jupyter {where} {started.server.port}{root}: press c to copy its URL.", title=alias)
        self.refresh_detail()

    def action_forward(self) -> None:
        session, server = self._session_and_server()
        if server is not None:
            self._toggle_forward(session, server)

    @work(exit_on_error=False, group="forward")
    async def _toggle_forward(self, session, server) -> None:
        if await session.unforward(server):
            self.notify(f"Forward of remote port {server.port} closed.", title=session.alias)
        else:
            forward = await session.forward(server)
            moved = f"\n{self.moved_note(session.alias, forward)}" if forward.moved else ""
            surprising = forward.moved and not self.is_demo(session.alias)
            self.notify(f"localhost:{forward.local_port} ↔ {session.alias}:{server.port}{moved}", title="forwarding",
                        severity="warning" if surprising else "information")
        self.refresh_detail()

    def is_demo(self, alias: str) -> bool:
        return self.demo_server is not None and alias == self.demo_server.alias

    def moved_note(self, alias: str, forward) -> str:
        """Why a forward's local port differs from the server's."""
        if self.is_demo(alias):  # the server listens on this very machine, on that very port
            return f"Port {forward.remote_port} here is the server itself (demo is this machine)."
        return forward.reason

    async def _url_for(self, session, server) -> tuple[str, int]:
        from jtui.core.urls import localhost_url

        forward = session.forward_for(server) or await session.forward(server)
        self.refresh_detail()
        if forward.moved and not self.is_demo(session.alias):  # on demo it always moves: see moved_note
            self.notify(forward.reason, severity="warning")
        return localhost_url(server, forward.local_port), forward.local_port

    def action_copy(self) -> None:
        session, server = self._session_and_server()
        if server is not None:
            self._copy(session, server)

    @work(exit_on_error=False, group="copy")
    async def _copy(self, session, server, why: str = "") -> None:
        url, port = await self._url_for(session, server)
        await self.copy_url(url, server, port, why)

    async def copy_url(self, url: str, server, port: int, why: str = "") -> None:
        """OSC 52 copy, tmux's buffer too when inside tmux, and the URL always shown."""
        import os
        import socket

        from jtui.core.handoff import tmux_load_buffer
        from jtui.core.urls import laptop_hint, password_note

        self.copy_to_clipboard(url)
        lines = [url]
        if why:
            lines.insert(0, why)
        tmux_error = await tmux_load_buffer(url)
        if tmux_error:
            lines.append(tmux_error)
        note = password_note(server)
        if note:
            lines.append(note)
        hint = laptop_hint(os.environ, port, socket.gethostname())
        self.last_hint = hint
        if hint:
            lines.append(hint.message)
            lines.append("Press l to copy that command.")
        self.notify("\n".join(lines), title="copied", timeout=20 if hint else 10)

    def action_laptop_command(self) -> None:
        if self.last_hint is None:
            self.notify("jtui is not running over SSH: localhost URLs work as they are.")
            return
        self.copy_to_clipboard(self.last_hint.command)
        self.notify(self.last_hint.command, title="copied laptop command")

    def action_open(self) -> None:
        session, server = self._session_and_server()
        if server is not None:
            self._open(session, server)

    @work(exit_on_error=False, group="open")
    async def _open(self, session, server) -> None:
        from jtui.core.handoff import no_browser_reason, open_in_browser

        url, port = await self._url_for(session, server)
        reason = no_browser_reason()
        if reason is None and await asyncio.to_thread(open_in_browser, url):
            self.notify(url, title="opened in the browser")
            return
        await self.copy_url(url, server, port, why=f"{reason or 'no browser found'}: copied instead.")

    def action_stop(self) -> None:
        session, server = self._session_and_server()
        if server is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._stop(session, server)

        from jtui.ui.confirm_screen import ConfirmScreen

        where = f"{server.root_dir}" if server.root_dir else ""
        self.push_screen(
            ConfirmScreen(f"stop on {session.alias}", f"Stop the Jupyter server on port {server.port} (pid {server.pid}) {where}?\nIts kernels end and its forward closes.", "Stop"),
            answered,
        )

    @work(exit_on_error=False, group="stop")
    async def _stop(self, session, server) -> None:
        self.notes[session.alias] = f"stopping the server on port {server.port}…"
        self.refresh_detail()
        try:
            await session.stop_jupyter(server)
        finally:
            self.notes.pop(session.alias, None)
            self.refresh_detail()
        self.notify(f"Stopped the server on port {server.port}.", title=session.alias)


def build_app(config_files: list[str] | None = None, demo: bool = False, autoconnect: bool = True) -> JtuiApp:
    """The one factory for the CLI and the tests."""
    return JtuiApp(load_inventory(config_files), autoconnect=autoconnect, demo=demo)
