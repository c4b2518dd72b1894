"""The host list: one row per alias with a state mark and live CPU / memory, and its `/` filter.

The filter is typed into the list itself, not into an Input: Textual hands
each key to whichever widget has focus when the key is read, so the keys
of "/gpu⏎" typed fast (or arriving in one burst over a slow link) would
reach the list before focus had moved to an Input, and be lost, or act
(⏎ connects). The screen passes `HostList.take_key` every key the focused
widget leaves, before any binding runs; one queue keeps them in order.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.events import Key
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

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


def filter_line(text: str, typing: bool) -> Text:
    """The filter box's line: what was typed, and a cursor while typing."""
    if not typing:
        return Text(text)
    if not text:
        return Text.assemble((" ", "reverse"), ("filter hosts", "dim"))
    return Text.assemble(text, (" ", "reverse"))


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
        self.typing = False  # keys edit the filter (between `/` and enter or esc)
        self._dirty: set[str] = set()  # hosts whose figures changed since the last flush
        self._ready = False  # columns made: rows can be drawn
        self._wanted: str | None = None  # a host to select once ready
        self._filter: Static | None = None  # mounted at the first `/`: a hidden box cost the first frame
        self._last: str | None = None  # the host last under the cursor: a filter matching nothing keeps it

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
        current = self.selected or self._last
        keep = current if current in visible else (visible[0] if visible else None)  # a new filter: its first match
        table.show_rows([self._row(alias, palette) for alias in visible], cursor_key=keep)
        no_match = self.query_one("#no-match", Static)
        no_match.update(f"no host matches {self.filter_text!r} (esc clears)")
        no_match.display = bool(self.aliases) and not visible
        table.set_class(not visible, "-none")
        self._last = self.selected or self._last
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
        if alias not in self.visible_aliases():  # hidden by the filter
            self.close_filter(clear=True)
        self.table.move_cursor(self.visible_aliases().index(alias))
        self.screen.set_focus(self.table)  # now, for the keys already typed (widget.focus() waits)
        return True

    # -- filter ------------------------------------------------------------

    def open_filter(self) -> None:
        if self._filter is None:
            self._filter = Static(id="filter", markup=False)
            self.mount(self._filter, before=self.table)  # drawn once mounted; keys meanwhile edit filter_text
        self.typing = True
        self._show_filter()
        self.screen.set_focus(self.table)  # up/down move in the list while typing, from the next key on

    def close_filter(self, clear: bool) -> None:
        self.typing = False
        if clear and self.filter_text:
            self._set_filter("")
        self._show_filter()

    def take_key(self, event: Key) -> bool:
        """Whether `event` was the filter's: typed into it, or esc clearing a kept one."""
        key = event.key
        if not self.typing:
            if key == "escape" and self.filter_text and self.table.has_focus:
                self.close_filter(clear=True)
                return True
            return False
        if key in ("tab", "shift+tab"):  # leaving the list: the filter is kept, the key moves focus
            self.close_filter(clear=False)
            return False
        if key == "enter":
            self.close_filter(clear=False)
        elif key == "escape":
            self.close_filter(clear=True)
        elif key in ("backspace", "ctrl+h"):
            self._set_filter(self.filter_text[:-1])
        elif key == "ctrl+u":
            self._set_filter("")
        elif event.is_printable and event.character:
            self._set_filter(self.filter_text + event.character)
        else:  # up and down move in the matches, as without a filter
            return False
        return True

    def _set_filter(self, text: str) -> None:
        self.filter_text = text
        self._fill()
        self._show_filter()

    def paste(self, text: str) -> None:
        """Pasted while typing: its first line joins the filter."""
        lines = text.strip().splitlines()
        self._set_filter(self.filter_text + (lines[0].strip() if lines else ""))

    def _show_filter(self) -> None:
        box = self._filter
        if box is None:
            return
        box.display = self.typing or bool(self.filter_text)
        box.set_class(self.typing, "-typing")
        box.update(filter_line(self.filter_text, self.typing))
        self.screen.filter_changed()

    @on(HostTable.Highlighted, "#hosts")
    def _highlighted(self, event: HostTable.Highlighted) -> None:
        event.stop()
        self._last = event.alias or self._last
        self.post_message(self.Selected(event.alias))
