"""The host screen: the host list, the selected host's detail, and every action on them.

It owns the HostRecords (one per host) and is the only place they change:
each handler below takes one message, the core's event or a worker's
result, and replaces that host's record. A keystroke always walks the same
path: action -> `run_core` (a worker calling the core) -> a message -> the
record -> the widgets. Worker errors land in one handler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Key, Paste
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from jtui.core.model import HostState
from jtui.ui import state
from jtui.ui.host_detail import HostDetail
from jtui.ui.host_list import HostList
from jtui.ui.host_table import HostTable
from jtui.ui.key_line import KeyLine, footer_width
from jtui.ui.messages import (
    ActivityChanged,
    ForwardsChanged,
    HostNotice,
    HostResolved,
    HostsSampled,
    HostStatusChanged,
    HubListed,
    KernelsListed,
)
from jtui.ui.hub_actions import HubActions
from jtui.ui.job_actions import JobActions
from jtui.ui.kernel_actions import KernelActions
from jtui.ui.kernel_view import KernelView
from jtui.ui.server_actions import ServerActions
from jtui.ui.state import HostRecord

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from jtui.app import JtuiApp

log = logging.getLogger(__name__)


NARROW = 80  # columns: below, the host list shows names only (and the key line replaces the footer, as where it would not fit)
SHORT = 20  # rows: below, config problems take one line


def problems_text(problems: list[str], one_line: bool = False) -> str:
    if one_line and len(problems) > 1:
        return f"! {len(problems)} config problems (jtui hosts lists them); first: {problems[0]}"
    if one_line and problems:
        return f"! {problems[0]}"
    text = "\n".join(f"! {p}" for p in problems[:5])
    if len(problems) > 5:
        text += f"\n! ... and {len(problems) - 5} more (jtui hosts lists them all)"
    return text


class HostScreen(ServerActions, KernelActions, HubActions, JobActions, Screen):
    # Tooltips double as the help screen's and the palette's words; ids are config.toml's [keys] names.
    BINDINGS = [
        # s, / and enter have priority: they run as the key is read, so that the keys typed after them
        # (fast, or in one read over a slow link) go to the job form s opened, the filter / did, or
        # the server table enter went into.
        Binding("s", "start", "start", id="start", priority=True, tooltip="start a Jupyter server on the selected host (on a cluster: a Slurm job)"),
        Binding("f", "forward", "forward", id="forward", tooltip="forward the selected server to localhost (again: unbind)"),
        Binding("c", "copy", "copy URL", id="copy", tooltip="copy the server's localhost URL with its token (forwards first)"),
        Binding("o", "open", "open", id="open", tooltip="open that URL in the local browser (forwards first)"),
        Binding("x", "stop", "stop", id="stop", tooltip="stop the selected server (asks first; a job's: scancel)"),
        Binding("r", "refresh", "refresh", id="refresh", tooltip="refresh now / reconnect a failed host"),
        Binding("slash", "filter", "filter", id="filter", priority=True, tooltip="filter hosts by name (enter keeps it, esc clears)"),
        Binding("enter", "connect", "connect", show=False, priority=True, id="connect", tooltip="log in now (passphrase, password or code); connected: go to its servers"),
        Binding("l", "laptop_command", "laptop cmd", show=False, id="laptop", tooltip="after a copy over SSH: copy the laptop-side ssh -N -L command"),
        Binding("i", "interrupt_kernel", "interrupt", show=False, id="interrupt", tooltip="interrupt the selected kernel (stops the running cell)"),
        Binding("R", "restart_kernel", "restart kernel", show=False, id="restart", tooltip="restart the selected kernel (asks first)"),
        Binding("D", "shutdown_kernel", "shut down kernel", show=False, id="shutdown", tooltip="shut the selected kernel down (asks first)"),
    ]

    app: "JtuiApp"

    def __init__(self, aliases: list[str], empty_text: str, problems: list[str]) -> None:
        super().__init__()
        self.records: dict[str, HostRecord] = {}
        self.last_hint = None  # the laptop-side command after a copy over SSH
        self._aliases = aliases
        self._empty_text = empty_text
        self._problems = problems
        self._jobs: dict[Worker, tuple[str, str, Callable[[], None] | None]] = {}  # worker -> (host, what it does, undo)
        self._welcomes: dict[str, tuple[str, str]] = {}  # host -> (intro, title), said with its first sample
        self._warned: set[tuple[str, int, int]] = set()  # (host, pid, port) of open servers already shouted about

    def compose(self) -> ComposeResult:
        self.problems_box = Static(id="problems", markup=False)
        yield self.problems_box
        self.host_list = HostList(self.records, self._aliases)
        self.detail = HostDetail()
        with Horizontal(id="main"):
            yield self.host_list
            yield self.detail
        self.empty = Static(self._empty_text, id="no-hosts", markup=False)
        yield self.empty
        self.key_line = KeyLine(id="keyline")
        yield self.key_line
        yield Footer()

    def on_mount(self) -> None:
        self.host_list.table.focus()
        self.set_interval(1.0, self.detail.refresh_countdown)
        self._lay_out()

    def on_resize(self) -> None:
        self._lay_out()

    def on_key(self, event: Key) -> None:
        """Keys the focused widget leaves go to the filter before any binding (host_list.py says why)."""
        if not self.host_list.take_key(event):
            return
        event.stop()
        event.prevent_default()

    def on_paste(self, event: Paste) -> None:
        """A paste (one event, with bracketed paste) while the filter is typed into goes into it."""
        if self.host_list.typing:
            event.stop()
            self.host_list.paste(event.text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the filter is typed into, s and / are letters of it and enter keeps it: as priority
        bindings they would otherwise run before the filter saw the key. enter is the host list's:
        in the server and kernel tables it is theirs."""
        if action == "connect":  # the screen's focus, not the app's: the palette runs it from on top
            return self.focused in (None, self.host_list.table) and not self.host_list.typing
        return not (action in ("start", "filter") and self.host_list.typing)

    def filter_changed(self) -> None:
        """While the filter is typed into, letters are its own: the key line, saying enter and esc, takes the footer's place."""
        typing = self.host_list.typing
        self.set_class(typing, "-typing")
        self.key_line.typing = typing
        self.key_line.redraw()
        self.refresh_bindings()  # check_action's answer for s and / changed with it

    def _lay_out(self) -> None:
        """Fit the screen to the terminal: narrow and short terminals keep the host's state and the keys."""
        width, height = self.size
        narrow, short = width < NARROW, height < SHORT
        keyline = narrow or width < footer_width(self.app.keys_of, self.app.words_of)  # the footer would cut ? and q
        self.set_class(narrow, "-narrow")
        self.set_class(keyline, "-keyline")
        self.set_class(short, "-short")
        self.set_class(not self._aliases, "-empty")
        self.host_list.compact = narrow
        self.host_list.fit_width(width)  # after compact: names only need less
        text = problems_text(self._problems, one_line=short or narrow)
        self.problems_box.update(text)
        self.problems_box.display = bool(text)
        if keyline:
            self.key_line.redraw()

    # -- the records -----------------------------------------------------------

    @property
    def selected(self) -> str | None:
        return self.host_list.selected

    def record(self, alias: str) -> HostRecord:
        return self.records.get(alias) or state.new_record(alias)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """What jtui says about hosts names their notebooks, paths and errors, never markup:
        `[draft] fit.ipynb` is not a style tag (Textual's Widget.notify reads markup)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def catch_up_cursors(self, alias: str) -> None:
        """Take the rows under the server and kernel cursors into the record, before a key acts on
        them. Keys that come in one burst (j then D) run before the tables' highlight messages
        arrive: D shut down the kernel the cursor had just left."""
        if self.detail.record is None or self.detail.record.alias != alias:
            return  # the pane still shows the host the list just left
        # Both read before either change: each redraws the tables, which may put a cursor back.
        port, kernel = self.detail.server_under_cursor(), self.detail.kernel_under_cursor()
        if port is not None and port != self.record(alias).selected_port:
            self._select_port(alias, port)
        if kernel is not None and kernel != self.record(alias).selected_kernel:
            self._change(alias, state.with_selected_kernel, kernel)  # another server's: its first is meant

    def _change(self, alias: str, change: Callable[..., HostRecord], *args, at_once: bool = False) -> HostRecord:
        """The one way a record changes: replace it, then let the widgets that show it know."""
        before = self.record(alias)
        after = self.records[alias] = change(before, *args)
        self.host_list.changed(alias, at_once=at_once or before.status.state != after.status.state)
        if alias == self.selected:
            self._show(after)
        return after

    def on_host_status_changed(self, message: HostStatusChanged) -> None:
        self._change(message.status.alias, state.with_status, message.status)

    def on_hosts_sampled(self, message: HostsSampled) -> None:
        for alias, sample in message.batch.take():
            record = self._change(alias, state.with_sample, sample)
            if alias in self._welcomes:
                self._say_welcome(record)
            self._warn_open_servers(record)

    def _warn_open_servers(self, record: HostRecord) -> None:
        """A Jupyter server anyone on the network can use is said out loud, once, whichever host is shown."""
        from jtui.core.services import danger_line, open_to_all

        for server in record.servers:
            key = (record.alias, server.pid, server.port)
            if open_to_all(server) and key not in self._warned:
                self._warned.add(key)
                self.notify(danger_line(server), title=f"{record.alias}: Jupyter open to anyone",
                            severity="error", timeout=30)

    def welcome(self, alias: str, intro: str, title: str) -> None:
        """Greet `alias` with what to do next, once its first sample says what runs there."""
        self._welcomes[alias] = (intro, title)

    def _say_welcome(self, record: HostRecord) -> None:
        intro, title = self._welcomes.pop(record.alias)
        if record.servers:
            count = len(record.servers)
            running = "A Jupyter server runs" if count == 1 else f"{count} Jupyter servers run"
            self.notify(f"{intro} {running} there already: press c to copy its URL (s starts another).",
                        title=title, timeout=15)
        else:
            self.notify(f"{intro} Press s to start Jupyter there, then c to copy its URL.", title=title, timeout=15)

    def on_forwards_changed(self, message: ForwardsChanged) -> None:
        self._change(message.alias, state.with_forwards, message.forwards)

    def on_host_resolved(self, message: HostResolved) -> None:
        self._change(message.alias, state.with_resolved, message.resolved)

    def on_activity_changed(self, message: ActivityChanged) -> None:
        self._change(message.alias, state.with_activity, message.text)

    def on_hub_listed(self, message: HubListed) -> None:
        self._change(message.alias, state.with_hub, message.hub)

    def on_kernels_listed(self, message: KernelsListed) -> None:
        self._change(message.alias, state.with_kernels, message.port, message.kernels, message.note)

    def on_host_notice(self, message: HostNotice) -> None:
        self.notify(message.text, title=message.alias, severity="error" if message.error else "information")

    @on(HostList.Selected)
    def _host_selected(self, message: HostList.Selected) -> None:
        alias = message.alias
        self._watch_kernels_of(alias)
        if alias is None:
            self._show(None)
            return
        if self.record(alias).resolved is None:
            self.resolve(alias)
        self._show(self.record(alias))

    def _show(self, record: HostRecord | None) -> None:
        """The detail pane shows `record`. A table it hides (no rows now) while focused leaves the
        keys nowhere: tab typed along with j went into the server table of the host being left.
        They go back to the host list."""
        self.detail.record = record
        focused = self.focused
        if focused is self.host_list.table:  # as nearly always: nothing to look at, sample after sample
            return
        if focused is None or any(not node.display for node in focused.ancestors_with_self):
            self.set_focus(self.host_list.table)

    def _watch_kernels_of(self, alias: str | None) -> None:
        """Only the host on screen has its servers asked for their kernels."""
        if self.app.fleet is not None:
            self.app.fleet.watch(alias)

    @on(KernelView.Highlighted)
    def _kernel_highlighted(self, message: KernelView.Highlighted) -> None:
        if self.selected is not None:
            self._change(self.selected, state.with_selected_kernel, message.kernel_id)

    @on(HostDetail.ServerHighlighted)
    def _server_highlighted(self, message: HostDetail.ServerHighlighted) -> None:
        self._select_port(message.alias, message.port)

    def _select_port(self, alias: str, port: int) -> None:
        """The server table's row the keys act on; on a hub's row, that hub is the one jtui asks."""
        self._change(alias, state.with_selected_port, port)
        hub = self._hub_selected(alias)
        if self.app.fleet is not None and hub is not None:
            self.app.fleet.session(alias).follow_hub(hub.port)  # of two hubs, the one on screen

    @on(HostTable.Chosen, "#hosts")
    def _enter_on_host(self, event: HostTable.Chosen) -> None:
        """A click on the host under the cursor (enter is the screen's priority binding, above)."""
        event.stop()
        self.action_connect()

    def hosts_changed(self, aliases: list[str], empty_text: str, problems: list[str]) -> None:
        """The hosts files changed: show the new list and problems (records of known hosts stay)."""
        for alias in list(self.records):
            if alias in aliases:
                self.records[alias] = state.with_resolved(self.records[alias], None)  # read again when shown
            else:
                del self.records[alias]
        self._aliases, self._empty_text, self._problems = aliases, empty_text, problems
        self.empty.update(empty_text)
        self.host_list.set_aliases(aliases)
        self._lay_out()

    # -- core calls ------------------------------------------------------------

    def run_core(self, alias: str, job: str, call: Callable[[], Awaitable[Message | None]],
                 undo: Callable[[], None] | None = None) -> None:
        """action -> worker -> core call -> message: every key that reaches the core goes this way.

        `call` returns the message that carries its result (or None); errors
        go to `_job_failed`, never to the terminal, which runs `undo` (to put
        back what the action showed at once, as if it had worked).
        """

        async def work() -> None:
            message = await call()
            if message is not None:
                self.post_message(message)

        worker = self.run_worker(work(), name=f"{job} {alias}", group=job, exit_on_error=False)
        self._jobs[worker] = (alias, job, undo)

    @on(Worker.StateChanged)
    def _job_failed(self, event: Worker.StateChanged) -> None:
        """The one place errors of core calls land: said on screen, never a crash."""
        job = self._jobs.get(event.worker)
        if event.state in (WorkerState.SUCCESS, WorkerState.CANCELLED, WorkerState.ERROR):
            self._jobs.pop(event.worker, None)
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        log.warning("worker %s failed: %s", event.worker.name, error)
        if job is not None:
            alias, what, undo = job
            self._change(alias, state.with_activity, "")
            if undo is not None:
                undo()
            self.notify(f"{error}", title=f"{alias}: {what} failed", severity="error", timeout=10)
        else:
            self.notify(f"{error}", title="error", severity="error", timeout=10)

    def resolve(self, alias: str) -> None:
        """Read the host's connection details for the header, after the next frame.

        Reading them imports asyncssh (a quarter second of CPU) in a thread,
        which held the GIL against the first frame when the first host was
        selected at start.
        """
        self.call_after_refresh(self._resolve_now, alias)

    def _resolve_now(self, alias: str) -> None:
        fleet = self.app.fleet

        async def call() -> Message | None:
            import asyncio

            from jtui.core.resolve import resolve_host

            session = fleet.sessions.get(alias) if fleet is not None else None
            if session is not None and session.has_resolved:
                return HostResolved(alias, session.resolved)  # already read: no second parse
            inventory = self.app.inventory
            resolved = await asyncio.to_thread(
                resolve_host, alias, inventory.config_files_for(alias), inventory.blocker(alias)
            )
            if self.app.inventory is not inventory:
                return None  # a reload came meanwhile, and read it again: this is the old config
            return HostResolved(alias, resolved)

        self.run_core(alias, "resolve", call)

    # -- actions ---------------------------------------------------------------

    def action_filter(self) -> None:
        self.host_list.open_filter()

    def action_connect(self) -> None:
        """enter: log in to the selected host; on a connected one, go into its server table."""
        alias = self.selected
        if alias is None:
            return
        if self.record(alias).connected:
            if self.detail.server_under_cursor() is not None:  # the table is there, with rows
                self.set_focus(self.detail.servers)  # now: widget.focus() waits, and j typed after ⏎ moved the host list
            else:
                self.notify(f"{alias} is connected, with no server or service to go to: press "
                            f"{self.app.keys_of('start')} to start Jupyter.")
            return
        self.app.ensure_fleet().session(alias).reconnect_now(interactive=True)

    def action_refresh(self) -> None:
        alias = self.selected
        if alias is not None and self.record(alias).status.state != HostState.CONNECTED:
            self.app.ensure_fleet().session(alias).reconnect_now(interactive=True)
