"""Modal prompts for passphrases, passwords and one-time codes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PromptScreen(ModalScreen[str | None]):
    """Ask one question; dismiss with the answer, or None on escape."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 70; height: auto; border: round $warning; background: $surface; padding: 1 2;
    }
    PromptScreen Input { margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, echo: bool) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.echo = echo

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.prompt, markup=False)
            yield Input(password=not self.echo, id="answer")
            yield Static("enter: send   esc: cancel", classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
