"""The `?` screen: every key, the same table as the README and DESIGN."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("↑/↓  j/k", "move between hosts (or servers, in the server table)"),
    ("tab", "switch focus between host list and server table"),
    ("/", "filter hosts by name (esc clears)"),
    ("enter", "connect the selected host now, asking for a passphrase if needed"),
    ("s", "start a Jupyter server on the selected host"),
    ("f", "forward the selected server to localhost (again: unbind)"),
    ("c", "copy the server's localhost URL with its token (forwards first)"),
    ("o", "open that URL in the local browser (forwards first)"),
    ("x", "stop the selected server (asks first)"),
    ("l", "after a copy over SSH: copy the laptop-side ssh -N -L command"),
    ("r", "refresh now / reconnect a failed host"),
    ("?", "this help"),
    ("ctrl+p", "command palette"),
    ("q", "quit: forwards end, remote servers keep running"),
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 88; max-width: 95%; height: auto; max-height: 95%;
        border: round $accent; background: $surface; padding: 1 2;
    }
    HelpScreen Static { width: 100%; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in KEYS:
            table.add_row(key, what)
        with Vertical() as box:
            box.border_title = "jtui keys"
            yield Static(table)
            yield Static("\nHosts come from ~/.ssh/config and the jtui hosts file, or --config FILE.", classes="dim")

    def action_dismiss(self) -> None:
        self.dismiss(None)
