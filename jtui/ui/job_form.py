"""The form `s` opens on a Slurm host: the job's fields, filled from config.toml and the last choice."""

from __future__ import annotations

from dataclasses import fields, replace

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from jtui.core.schedulers.slurm import JobRequest, sbatch_options

LABELS = {
    "partition": ("partition", "the site's default"),
    "time": ("time", "e.g. 2:00:00"),
    "cpus": ("cpus", "cores, e.g. 4"),
    "mem": ("mem", "e.g. 16G"),
    "gres": ("gres", "e.g. gpu:1"),
    "account": ("account", "the site's default"),
    "sbatch_args": ("more", "other sbatch options"),
}


EDITING_KEYS = BindingsMap(Input.BINDINGS).key_to_bindings  # Input's bindings by key, each key split out


class Field(Input):
    """An Input that edits and submits as it reads each key. Textual's Input runs its editing keys
    (backspace, ctrl+a, ctrl+k, enter...) as bindings, when the key comes back up from the field,
    and by then a tab typed after it (in one burst: fast typing, a slow link) has moved focus: the
    backspace ran in the next field, and ctrl+a ctrl+k after the letters typed behind them.
    Letters are already handled as read; these join them, in the field's own order."""

    async def _on_key(self, event: events.Key) -> None:
        bindings = EDITING_KEYS.get(event.key)
        if bindings:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)
        else:
            await super()._on_key(event)


class JobForm(ModalScreen[JobRequest | None]):
    """Enter submits (each field one sbatch option), Escape cancels."""

    DEFAULT_CSS = """
    JobForm { align: center middle; }
    JobForm > Vertical { width: 64; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    JobForm Grid { grid-size: 2; grid-columns: 12 1fr; grid-rows: 1; grid-gutter: 0 1; height: auto; }
    JobForm Input { border: none; height: 1; padding: 0 1; }
    /* Textual's Input:focus brings back its tall border, which a one-line row has no room for. */
    JobForm Input:focus { border: none; background: $boost; }
    JobForm Label { height: 1; }
    JobForm #form-error { color: $error; height: auto; }
    JobForm #form-help { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        # Priority: run as the key is read, so focus has moved before the next key is handed to a
        # field. Textual's own tab runs after the field has had it, by when the keys typed after
        # it (fast, or in one burst over a slow link) are queued in the field it left.
        Binding("tab", "app.focus_next", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", show=False, priority=True),
    ]

    def __init__(self, alias: str, request: JobRequest, error: str = "") -> None:
        """`error`: why sbatch refused `request`, when the form opens again on it."""
        super().__init__()
        self.alias = alias
        self.request = request
        self.error = error
        self._ahead: list[events.Key] | None = []  # keys typed before the first field had focus; None after

    def _type_ahead(self, event: events.Key) -> None:
        """A key read before the form's first field had focus: `s` and what was typed after it, in
        one read (fast typing, a slow link), were lost. Kept until the first field has focus, then
        each goes where it would have gone: tab moves focus at once (as the priority binding does),
        the rest go to the field in focus, which takes them in order (Field)."""
        if self._ahead is not None:
            self._ahead.append(event)
        elif event.key == "tab":
            self.focus_next()
        elif event.key == "shift+tab":
            self.focus_previous()
        elif event.key == "escape":
            self.action_cancel()
        elif self.focused is not None:
            self.focused.post_message(events.Key(event.key, event.character))

    def on_key(self, event: events.Key) -> None:
        if self.focused is None:  # read while the form was mounting: no field had focus yet
            event.stop()
            event.prevent_default()
            self._type_ahead(event)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Jupyter as a Slurm job on {self.alias}"
            with Grid():
                for field in fields(JobRequest):
                    label, hint = LABELS[field.name]
                    yield Label(label)
                    yield Field(getattr(self.request, field.name), placeholder=hint, id=f"job-{field.name}")
            yield Static("", id="form-error", markup=False)  # says what the user typed, brackets and all
            yield Static("Enter submits (sbatch) · Escape cancels · Tab moves", id="form-help")

    def on_mount(self) -> None:
        self._show_error(self.error)
        self.set_focus(self.query_one(Input))  # at once, not after a refresh: the keys typed ahead follow
        ahead, self._ahead = self._ahead or [], None
        for event in ahead:
            self._type_ahead(event)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        request = replace(JobRequest(), **{f.name: self.query_one(f"#job-{f.name}", Input).value.strip()
                                           for f in fields(JobRequest)})
        try:
            sbatch_options(request)
        except ValueError as exc:
            self._show_error(str(exc))
            return
        self.dismiss(request)

    def _show_error(self, text: str) -> None:
        error = self.query_one("#form-error", Static)
        error.update(text)
        error.display = bool(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LauncherChoice(ModalScreen[str | None]):
    """Asked once per host with Slurm and no `launcher` setting: the login node, or a job."""

    DEFAULT_CSS = """
    LauncherChoice { align: center middle; }
    LauncherChoice > Vertical { width: 64; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    """
    BINDINGS = [
        Binding("j", "choose('slurm')", "a Slurm job"),
        Binding("l", "choose('login')", "the login node"),
        Binding("escape", "choose('')", "cancel"),
    ]

    def __init__(self, alias: str) -> None:
        super().__init__()
        self.alias = alias

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"start Jupyter on {self.alias}"
            yield Static(
                f"{self.alias} has Slurm. Run Jupyter as a batch job on a compute node (j), or on the login "
                "node itself (l)? Many sites forbid heavy work on login nodes.\n\n"
                "jtui remembers the answer for this host; set launcher = \"slurm\" or \"login\" in "
                f"[hosts.{self.alias}] in config.toml to decide for good.", markup=False)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)
