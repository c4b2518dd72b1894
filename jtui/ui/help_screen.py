"""The `?` screen: every key as bound right now, and where jtui's files are on this machine."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from jtui.ui import colors


def two_columns(rows: list[tuple[str, str]], style: Style) -> Text:
    """Left column in `style`, padded to its widest entry."""
    width = max((len(left) for left, _ in rows), default=0)
    return Text("\n").join(Text.assemble((left.ljust(width), style), "  ", right) for left, right in rows)


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
