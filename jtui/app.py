"""The Textual app: app-wide things only.

Layout (the host screen), signals, preferences (config.toml's [keys] and
theme), the config files watched for changes, and the core's services it
hands to the screen: the Fleet of host sessions and, with --demo, the
embedded SSH server. What happens on hosts and servers is the host
screen's (jtui/ui/host_screen.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from jtui.core.format import wrap_prose
from jtui.core.inventory import (
    Inventory, config_stamp, hosts_stamp, load_inventory, reload_inventory, where_hosts_come_from,
)
from jtui.ui.commands import JtuiCommands
from jtui.ui.host_screen import HostScreen
from jtui.ui.idle_gc import TICK, IdleCollector
from jtui.ui.keys import BoundAction, bound_actions, describe_keys, keymap_problems, known_keymap
from jtui.ui.live import ROW_KEYS

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

log = logging.getLogger(__name__)
SIGNAL_EXIT_GRACE = 5.0  # seconds a SIGTERM'd exit may take before jtui leaves without Textual
TOAST_TEXT = 56  # prose in a notification wraps here (Textual's toasts were 60 wide)
MIN_TOAST_TEXT = 20
TOAST_CHROME = 2  # the toast's left border and padding (jtui.tcss)


class JtuiApp(App[int]):
    TITLE = "jtui"
    CSS_PATH = "ui/jtui.tcss"
    BINDINGS = [
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
        self.bound: dict[str, BoundAction] = {}  # binding id -> its keys after [keys]; set with the preferences
        self.ui_problems: list[str] = []  # what was wrong with [keys] or theme
        self.host_screen: HostScreen | None = None
        self.idle_gc = IdleCollector()

    def get_default_screen(self) -> HostScreen:
        """The host screen is the app's base screen; modals (prompts, help, palette) go on top."""
        self.ui_problems = self.apply_preferences()
        inventory = self.inventory
        self.host_screen = HostScreen(
            inventory.aliases, where_hosts_come_from(inventory), inventory.problems + self.ui_problems
        )
        return self.host_screen

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Textual's notify. jtui's own text comes with markup=False (names and errors from hosts:
        `[draft] fit.ipynb` keeps its brackets; HostScreen.notify's default) and is wrapped here to
        the toast's width, so a URL is one line the user can select (jtui.tcss sizes toasts to
        fit). Textual's own notifications keep their markup."""
        if not markup:
            message = wrap_prose(message, max(MIN_TOAST_TEXT, min(TOAST_TEXT, self.size.width - TOAST_CHROME)))
        # The same words again (c pressed twice, a host failing the same way) replace the toast
        # still showing them, with a fresh timeout, instead of stacking a copy above it.
        for shown in list(self._notifications):
            if (shown.message, shown.title, shown.severity) == (message, title, severity):
                self._unnotify(shown, refresh=False)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_mount(self) -> None:
        inventory = self.inventory
        if not self.is_headless:
            self._exit_on_signals()
        self._config_stamp = config_stamp(inventory)
        self.set_interval(2.0, self._check_config)
        self.call_after_refresh(self.idle_gc.start)
        self.set_interval(TICK, self.idle_gc.tick)
        if self.demo:  # the fleet starts once the demo host exists
            self._start_demo()
        elif self.autoconnect:
            self.call_after_refresh(self._start_fleet)

    # -- the core's services -----------------------------------------------------

    def ensure_fleet(self):
        if self.fleet is None:
            from jtui.core.fleet import Fleet
            from jtui.ui.bridge import Bridge, Prompter

            self.fleet = Fleet(self.inventory, Bridge(self.host_screen), Prompter(self))
            self.fleet.watch(self.host_screen.selected)
        return self.fleet

    def _start_fleet(self) -> None:
        self.ensure_fleet().autostart()

    def is_demo(self, alias: str) -> bool:
        return self.demo_server is not None and alias == self.demo_server.alias

    @work(exit_on_error=False, group="demo")
    async def _start_demo(self) -> None:
        """Serve this machine as host `demo` over an embedded SSH server, then connect to it."""
        from jtui.core.demo import DEMO_ALIAS, start_demo_server

        self.demo_server = await start_demo_server()
        if DEMO_ALIAS in self.inventory.scan.aliases:
            self.notify(f"Your config's host {DEMO_ALIAS!r} is hidden while --demo runs.", severity="warning",
                        markup=False)
        self.inventory = self.inventory.with_own_host(DEMO_ALIAS, self.demo_server.config_file)
        self._show_hosts()
        self.host_screen.host_list.select(DEMO_ALIAS)
        intro = f"{DEMO_ALIAS} is this machine, served over SSH by jtui on 127.0.0.1:{self.demo_server.port}."
        if self.autoconnect:
            self.host_screen.welcome(DEMO_ALIAS, intro, title="jtui --demo")
        else:
            self.notify(f"{intro} Press enter to connect.", title="jtui --demo", timeout=15, markup=False)
        if self.autoconnect:
            self._start_fleet()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The app's own workers (the demo server, reloading config) fail on screen, never in a crash."""
        if event.state == WorkerState.ERROR and event.worker.node is self:
            log.warning("worker %s failed: %s", event.worker.name, event.worker.error)
            self.notify(f"{event.worker.error}", title=f"{event.worker.name} failed", severity="error", timeout=10,
                        markup=False)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.idle_gc.input_seen()
        await super().on_event(event)

    async def on_unmount(self) -> None:
        self.idle_gc.stop()
        if self.fleet is not None:
            await self.fleet.close()
        if self.demo_server is not None:
            await self.demo_server.close()

    # -- signals -------------------------------------------------------------------

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

    # -- config files ----------------------------------------------------------------

    def _check_config(self) -> None:
        if config_stamp(self.inventory) != self._config_stamp:
            self._reload_config()

    @work(exclusive=True, exit_on_error=False, group="reload")
    async def _reload_config(self) -> None:
        """A hosts file or config.toml changed while jtui runs: read it again."""
        before, stamp = self.inventory, self._config_stamp
        inventory = await asyncio.to_thread(reload_inventory, before)
        self._config_stamp = config_stamp(inventory)
        hosts_edited = hosts_stamp(stamp, before) != hosts_stamp(self._config_stamp, inventory)
        self.inventory = inventory
        self.ui_problems = self.apply_preferences()
        self._show_hosts()
        if self.fleet is not None:
            await self.fleet.update(inventory, hosts_edited)
        if hosts_edited or inventory.aliases != before.aliases or inventory.scan != before.scan:
            self.notify(f"Hosts reloaded: {hosts_change(before.aliases, inventory.aliases)}", title="config changed",
                        markup=False)
        else:
            self.notify("Settings reloaded.", title="config changed", markup=False)

    def _show_hosts(self) -> None:
        inventory = self.inventory
        self.host_screen.hosts_changed(
            inventory.aliases, where_hosts_come_from(inventory), inventory.problems + self.ui_problems
        )

    # -- preferences: [keys] and theme ---------------------------------------------

    def apply_preferences(self) -> list[str]:
        """config.toml's [keys] and theme, applied; what was wrong with them, to show."""
        settings = self.inventory.settings
        where = settings.path or "config.toml"
        keymap = self._normalize_keymap(settings.keys)
        actions = bound_actions([*HostScreen.BINDINGS, *self.BINDINGS, *ROW_KEYS],  # every row list shares j/k
                                keymap)
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

    def key_help(self, binding_id: str) -> str:
        """A binding's palette help: what it does, and its keys."""
        return f"{self.bound[binding_id].binding.tooltip}  [key: {self.keys_of(binding_id)}]"

    def words_of(self, binding_id: str) -> str:
        """What the footer calls a binding."""
        return self.bound[binding_id].binding.description

    def get_system_commands(self, screen):
        """Textual's own palette entries, its Quit saying what quitting jtui does."""
        for command in super().get_system_commands(screen):
            if command.callback == self.action_quit:
                command = command._replace(help=self.key_help("quit"))
            yield command

    def key_rows(self) -> list[tuple[str, str]]:
        """The help screen's table, with the keys as the user has bound them."""
        rows = [
            (f"↑/↓ {self.keys_of('down')}/{self.keys_of('up')}", "move between hosts (or servers and kernels, in their tables)"),
            ("tab", "move focus: host list, server table, kernel table"),
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

    def action_help(self) -> None:
        from jtui.ui.help_screen import HelpScreen

        self.push_screen(HelpScreen(self.key_rows(), self.places()))


def hosts_change(before: list[str], after: list[str]) -> str:
    """What a reload did to the host list, in words: the names that came and went, and the count."""
    was, now = set(before), set(after)
    added = [a for a in after if a not in was]
    removed = [a for a in before if a not in now]
    parts = []
    for names, verb in ((added, "added"), (removed, "removed")):
        if names:
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            parts.append(f"{shown} {verb}")
    count = f"{len(after)} host{'' if len(after) == 1 else 's'}"
    return f"{'; '.join(parts)} ({count})." if parts else f"{count}, none added or removed."


def build_app(config_files: list[str] | None = None, demo: bool = False, autoconnect: bool = True) -> JtuiApp:
    """The one factory for the CLI and the tests."""
    return JtuiApp(load_inventory(config_files), autoconnect=autoconnect, demo=demo)
