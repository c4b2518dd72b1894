"""The `?` screen: every key as bound right now, and where jtui's files are on this machine."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static


def two_columns(rows: list[tuple[str, str]], style: str) -> Content:
    """Left column in `style`, padded to its widest entry; theme variables resolve at render."""
    width = max((len(left) for left, _ in rows), default=0)
    lines = [Content.assemble((left.ljust(width), style), "  ", right) for left, right in rows]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 96; max-width: 95%; height: auto; max-height: 95%;
        border: round $accent; background: $surface; padding: 1 2;
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
            yield Static(two_columns(self.keys, "bold $accent"), id="help-keys")
            yield Static("Where jtui reads and writes, on this machine", classes="heading")
            yield Static(two_columns(self.places, "$text-muted"), id="help-places")

    def action_dismiss(self) -> None:
        self.dismiss(None)
