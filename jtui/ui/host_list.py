"""The host list: one row per alias with a state mark and live CPU / memory."""

from __future__ import annotations

from rich.style import Style
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static

from collections.abc import Mapping

from jtui.core.format import clip, percent
from jtui.core.model import HostState, HostStatus
from jtui.ui import colors
from jtui.ui.host_table import HostRow, HostTable
from jtui.ui.state import HostRecord

FLUSH_INTERVAL = 1.0  # seconds: figures in the list update at most this often (samples come at 1 Hz)

MARKS = {
    HostState.NOT_CONNECTED: ("○", colors.MUTED),
    HostState.CONNECTING: ("…", colors.WARN),
    HostState.CONNECTED: ("●", colors.OK),
    HostState.NEEDS_INPUT: ("?", colors.WARN),
    HostState.FAILED: ("✗", colors.ERROR),
    HostState.RECONNECTING: ("↻", colors.WARN),
}


def mark(state: HostState, palette: dict[str, Style]) -> tuple[str, Style]:
    """The state's symbol and its style in the current theme (bold when jtui waits for you)."""
    symbol, role = MARKS[state]
    style = palette[role]
    return symbol, style + Style(bold=True) if state == HostState.NEEDS_INPUT else style


# A failed host's reason in the list's 9-character column (the detail pane says it whole).
SHORT_REASONS = (
    ("connection refused", "refused"),
    ("name not known", "not found"),
    ("name lookup failed", "no DNS"),
    ("unknown host key", "new key ↵"),
    ("HOST KEY CHANGED", "KEY ALERT"),
    ("host key", "host key!"),
    ("no route to host", "no route"),
    ("network unreachable", "offline"),
    ("needs a passphrase", "log in ↵"),
    ("login cancelled", "log in ↵"),
    ("wrong passphrase", "log in ↵"),
    ("timed out", "timeout"),
    ("permission denied", "denied"),
    ("config", "config!"),
    ("connection lost", "lost"),
    ("connection reset", "reset"),
    ("disconnected", "dropped"),
    ("not an SSH server", "not SSH"),
)


def short_reason(reason: str) -> str:
    for long, short in SHORT_REASONS:
        if reason.startswith(long):
            return short
    word = reason.split(":")[0].split(" ")[0]
    return clip(word, 9)


WIDEST = 34  # columns: a longer name is cut (with …) rather than squeeze the host's pane
NARROWEST = 24  # the title, the filter box and a failed host's reason
COMPACT_WIDEST = 22  # names only, in a narrow terminal: at most this, and at most COMPACT_SHARE of it
COMPACT_SHARE = 0.4
COMPACT_NARROWEST = 12


class HostList(Vertical):
    """Host table with a `/` filter, drawn from the screen's records; posts Selected on a new host."""

    class Selected(Message):
        def __init__(self, alias: str | None) -> None:
            super().__init__()
            self.alias = alias

    compact = reactive(False)  # names only: the figures' column is left out (narrow terminals)

    def __init__(self, records: Mapping[str, HostRecord], aliases: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.records = records  # the host screen's, read-only here
        self.aliases = aliases
        self.filter_text = ""
        self._dirty: set[str] = set()  # hosts whose figures changed since the last flush
        self._ready = False  # columns made: rows can be drawn
        self._wanted: str | None = None  # a host to select once ready
        self._filter: Input | None = None  # mounted at the first `/`: a hidden Input cost the first frame

    def compose(self) -> ComposeResult:
        yield HostTable(id="hosts", show_load=not self.compact)
        yield Static(id="no-match", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Hosts"
        self._ready = True
        self._fill()
        if self._wanted is not None:
            self.select(self._wanted)
        self.set_interval(FLUSH_INTERVAL, self._flush)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def watch_compact(self, compact: bool) -> None:
        if self._ready:
            self.table.set_show_load(not compact)

    def set_aliases(self, aliases: list[str]) -> None:
        """The hosts files changed: show the new list, keeping states and the cursor's host."""
        self.aliases = aliases
        if self._ready:  # else on_mount draws them
            self._fill()

    def fit_width(self, terminal_width: int) -> None:
        """As wide as the names need, and no wider: the rest goes to the host's pane. In a wide
        terminal that is WIDEST at most; in a narrow one, where the list shows names only, less.

        Sized for every alias, not just the filtered ones, so the panes keep still while a filter is typed.
        """
        wanted = self.table.width_for(self.aliases) + self.styles.gutter.width
        if self.compact:
            widest = min(COMPACT_WIDEST, int(terminal_width * COMPACT_SHARE))
            self.styles.width = max(COMPACT_NARROWEST, min(widest, wanted))
        else:
            self.styles.width = max(NARROWEST, min(WIDEST, wanted))

    @property
    def table(self) -> HostTable:
        return self.query_one(HostTable)

    def visible_aliases(self) -> list[str]:
        needle = self.filter_text.lower()
        return [a for a in self.aliases if needle in a.lower()]

    def _row(self, alias: str, palette: dict[str, Style]) -> HostRow:
        record = self.records.get(alias)
        status = record.status if record else HostStatus(alias)
        symbol, style = mark(status.state, palette)
        sample = record.sample if record else None
        if status.state in (HostState.FAILED, HostState.NEEDS_INPUT) and status.reason:
            return HostRow(alias, symbol, style, short_reason(status.reason), style)
        if sample is None or not sample.supported:
            return HostRow(alias, symbol, style)
        return HostRow(alias, symbol, style, f"{percent(record.cpu_percent):>4} {percent(sample.mem_percent):>4}")

    def _palette(self) -> dict[str, Style]:
        return colors.palette(self.app.theme_variables)

    def _fill(self) -> None:
        table = self.table
        palette = self._palette()
        visible = self.visible_aliases()
        current = self.selected
        keep = current if current in visible else (visible[0] if visible else None)  # a new filter: its first match
        table.show_rows([self._row(alias, palette) for alias in visible], cursor_key=keep)
        no_match = self.query_one("#no-match", Static)
        no_match.update(f"no host matches {self.filter_text!r} (esc clears)")
        no_match.display = bool(self.aliases) and not visible
        table.display = bool(visible)
        self.post_message(self.Selected(self.selected))

    @property
    def selected(self) -> str | None:
        try:
            return self.table.selected
        except NoMatches:  # not composed yet, or being torn down
            return None

    def update_host(self, alias: str, palette: dict[str, Style] | None = None) -> None:
        """Redraw this host's line if it looks different (one line, not the list)."""
        self.table.update_row(self._row(alias, palette or self._palette()))

    def _theme_changed(self, _theme) -> None:
        """Redraw every row's marks in the new theme's colours."""
        palette = self._palette()
        for alias in self.visible_aliases():
            self.update_host(alias, palette)

    def _flush(self) -> None:
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        palette = self._palette()
        for alias in dirty:
            self.update_host(alias, palette)

    def changed(self, alias: str, at_once: bool = False) -> None:
        """A host's record changed: redraw its row now (a new state) or with the next flush (figures)."""
        if at_once:
            self.update_host(alias)
        else:
            self._dirty.add(alias)

    def select(self, alias: str) -> bool:
        """Put the cursor on `alias`, clearing a filter that hides it."""
        if alias not in self.aliases:
            return False
        if not self._ready:
            self._wanted = alias
            return True
        if alias not in self.visible_aliases():  # hidden by the filter, which is then mounted
            with self._filter.prevent(Input.Changed):  # refilled here, now: the cursor needs the row
                self.close_filter(clear=True)
            self.filter_text = ""
            self._fill()
        self.table.move_cursor(self.visible_aliases().index(alias))
        self.table.focus()
        return True

    # -- filter ------------------------------------------------------------

    async def open_filter(self) -> None:
        box = self._filter
        if box is None:
            box = self._filter = Input(placeholder="filter hosts", id="filter")
            await self.mount(box, before=self.table)
        box.display = True
        box.focus()

    def close_filter(self, clear: bool) -> None:
        box = self._filter
        if box is None:
            return
        if clear:
            box.value = ""
        box.display = bool(box.value)
        self.table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.close_filter(clear=False)

    def on_key(self, event) -> None:
        """esc clears the filter, from its box or from the list it narrows (a kept filter)."""
        box = self._filter
        if event.key == "escape" and box is not None and (box.has_focus or (box.value and self.table.has_focus)):
            event.stop()
            self.close_filter(clear=True)

    @on(HostTable.Highlighted, "#hosts")
    def _highlighted(self, event: HostTable.Highlighted) -> None:
        event.stop()
        self.post_message(self.Selected(event.alias))
