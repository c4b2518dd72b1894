"""The Textual app: reacts to the core's sessions, never runs SSH itself."""

from __future__ import annotations

import asyncio
import logging

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from jtui.core.inventory import Inventory, load_inventory, where_hosts_come_from
from jtui.core.model import History, HostState, HostStatus, Sample
from jtui.core.resolve import ResolvedHost, resolve_host
from jtui.ui.help_screen import HelpScreen
from jtui.ui.host_detail import HostDetail
from jtui.ui.host_list import HostList
from jtui.ui.messages import HostNotice, HostSampled, HostStatusChanged
from jtui.ui.prompt_screen import PromptScreen

log = logging.getLogger(__name__)


class _Listener:
    """Turns session callbacks into Textual messages (the sessions share the app's loop)."""

    def __init__(self, app: "JtuiApp") -> None:
        self.app = app

    def session_status(self, status: HostStatus) -> None:
        self.app.post_message(HostStatusChanged(status))

    def session_sample(self, alias: str, sample: Sample) -> None:
        # History is kept here, before messages coalesce, so sparklines miss no sample.
        self.app.histories.setdefault(alias, History()).add(sample)
        self.app.post_message(HostSampled(alias, sample))

    def session_notice(self, alias: str, text: str, error: bool = False) -> None:
        self.app.post_message(HostNotice(alias, text, error))


class _Prompter:
    """Answers asyncssh's auth callbacks with a modal; awaits a future set on dismiss."""

    def __init__(self, app: "JtuiApp") -> None:
        self.app = app
        self._lock = asyncio.Lock()  # one modal at a time, however many hosts ask

    async def ask(self, alias: str, prompt: str, echo: bool) -> str | None:
        async with self._lock:
            future: asyncio.Future = asyncio.get_running_loop().create_future()

            def done(answer: str | None) -> None:
                if not future.done():
                    future.set_result(answer)

            self.app.push_screen(PromptScreen(f"{alias}: login", prompt, echo), done)
            return await future


class JtuiApp(App[int]):
    TITLE = "jtui"
    CSS_PATH = "ui/jtui.tcss"
    BINDINGS = [
        Binding("slash", "filter", "filter", id="filter"),
        Binding("enter", "connect", "connect", show=False, id="connect"),
        Binding("r", "refresh", "refresh", id="refresh"),
        Binding("question_mark", "help", "help", id="help"),
        Binding("q", "quit", "quit", id="quit"),
    ]

    def __init__(self, inventory: Inventory, *, autoconnect: bool = True) -> None:
        super().__init__()
        self.inventory = inventory
        self.autoconnect = autoconnect
        self.fleet = None  # created after the first frame: it pulls in asyncssh
        self.statuses: dict[str, HostStatus] = {}
        self.samples: dict[str, Sample] = {}
        self.histories: dict[str, History] = {}
        self.resolved: dict[str, ResolvedHost] = {}
        self.stale: set[str] = set()

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        problems = self.inventory.problems
        text = "\n".join(f"! {p}" for p in problems[:5])
        if len(problems) > 5:
            text += f"\n! ... and {len(problems) - 5} more (jtui hosts lists them all)"
        problems_box = Static(text, id="problems", markup=False)
        problems_box.display = bool(problems)
        yield problems_box
        with Horizontal(id="main"):
            yield HostList(self.inventory.scan.aliases, where_hosts_come_from(self.inventory))
            yield HostDetail()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(HostList).table.focus()
        self.set_interval(1.0, self._tick)
        if self.autoconnect:
            self.call_after_refresh(self._start_fleet)

    def _start_fleet(self) -> None:
        self.ensure_fleet().autostart()

    def ensure_fleet(self):
        if self.fleet is None:
            from jtui.core.fleet import Fleet

            self.fleet = Fleet(self.inventory, _Listener(self), _Prompter(self))
        return self.fleet

    async def on_unmount(self) -> None:
        if self.fleet is not None:
            await self.fleet.close()

    # -- core -> screen ----------------------------------------------------

    @property
    def selected(self) -> str | None:
        return self.query_one(HostList).selected

    def on_host_status_changed(self, message: HostStatusChanged) -> None:
        status = message.status
        self.statuses[status.alias] = status
        if status.state == HostState.RECONNECTING:
            self.stale.add(status.alias)
        self.query_one(HostList).set_status(status)
        if status.alias == self.selected:
            self.refresh_detail()

    def on_host_sampled(self, message: HostSampled) -> None:
        alias, sample = message.alias, message.sample
        self.samples[alias] = sample
        self.stale.discard(alias)
        self.query_one(HostList).set_sample(alias, sample)
        if alias == self.selected:
            self.refresh_detail()

    def on_host_notice(self, message: HostNotice) -> None:
        self.notify(message.text, title=message.alias, severity="error" if message.error else "information")

    @on(HostList.Selected)
    def _host_selected(self, message: HostList.Selected) -> None:
        alias = message.alias
        if alias is not None and alias not in self.resolved:
            self._resolve(alias)
        self.refresh_detail()

    @work(thread=True, exit_on_error=False, group="resolve")
    def _resolve(self, alias: str) -> None:
        resolved = resolve_host(alias, list(self.inventory.sources))
        self.call_from_thread(self._resolved_ready, alias, resolved)

    def _resolved_ready(self, alias: str, resolved: ResolvedHost) -> None:
        self.resolved[alias] = resolved
        if alias == self.selected:
            self.refresh_detail()

    def refresh_detail(self) -> None:
        alias = self.selected
        detail = self.query_one(HostDetail)
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
        )

    def forward_ports(self, alias: str) -> dict[int, int]:
        """Remote port -> local port of the host's live forwards."""
        if self.fleet is None or alias not in self.fleet.sessions:
            return {}
        manager = self.fleet.sessions[alias].forwards
        return manager.ports() if manager is not None else {}

    def _tick(self) -> None:
        alias = self.selected
        status = self.statuses.get(alias) if alias else None
        if status and status.next_retry is not None:
            self.refresh_detail()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors land: said on screen, never a crash."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            log.warning("worker %s failed: %s", event.worker.name, error)
            self.notify(f"{error}", title="error", severity="error", timeout=10)

    # -- actions -----------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one(HostList).open_filter()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

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


def build_app(config_files: list[str] | None = None, demo: bool = False, autoconnect: bool = True) -> JtuiApp:
    """The one factory for the CLI and the tests."""
    inventory = load_inventory(config_files)
    return JtuiApp(inventory, autoconnect=autoconnect)
