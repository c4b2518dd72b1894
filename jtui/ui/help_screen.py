"""The `?` screen: every key as bound right now, and where jtui's files are on this machine."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from jtui.ui import colors


def two_columns(rows: list[tuple[str, str]], style: Style) -> Table:
    """Left column in `style`, as wide as its widest entry; the right one wraps under itself, not under the keys."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style=style, no_wrap=True)
    grid.add_column(ratio=1)
    for left, right in rows:
        grid.add_row(left, Text(right))
    return grid


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 96; max-width: 95%; height: auto; max-height: 95%;
        border: round $text-accent; background: $background; padding: 1 2;
    }
    HelpScreen Static { width: 100%; height: auto; }
    HelpScreen .heading { text-style: bold; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, keys: list[tuple[str, str]], places: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys
        self.places = places

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "jtui keys"
            box.border_subtitle = "esc closes"
            palette = colors.palette(self.app.theme_variables)
            yield Static(two_columns(self.keys, palette[colors.ACCENT] + Style(bold=True)), id="help-keys")
            yield Static("Where jtui reads and writes, on this machine", classes="heading")
            yield Static(two_columns(self.places, palette[colors.MUTED]), id="help-places")

    def action_dismiss(self) -> None:
        self.dismiss(None)
