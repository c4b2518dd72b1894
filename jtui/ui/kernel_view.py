"""The selected server's kernels: which notebook, doing what, costing what.

A kernel idle for longer than the host's `gpu_idle_minutes` that still
holds GPU memory is flagged: on a shared GPU box, that is the culprit.
"""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable

from jtui.core.format import duration, short_path
from jtui.core.model import Kernel
from jtui.ui import colors
from jtui.ui.live import LiveTable, LiveText, fit_table

COLUMNS = ("notebook", "state", "cpu", "mem", "gpu", "idle", "c")  # c: open connections
DROPPED_FIRST = ("c", "idle", "gpu")  # when a narrow pane leaves the notebook too little room (empty ones first)
LEAST_NAME = 12
FLAG = "⚠"
KEYS_HINT = "  i R D: interrupt, restart, shut down"  # the keys alone in a narrow pane (? says what they do)
NAME_WIDTH = 22  # a notebook's path, at most


def short_size(n: int) -> str:
    """Bytes in four or five characters: 614M, 8.4G."""
    return f"{n / 2**30:.1f}G" if n >= 2**30 else f"{n / 2**20:.0f}M"


class KernelTable(LiveTable):
    """A server's kernels, keyed by kernel id."""


def hogging(kernel: Kernel, now: float, idle_minutes: float) -> bool:
    """Idle for a while, and still holding GPU memory."""
    idle = kernel.idle_for(now)
    return kernel.gpu_memory_bytes > 0 and idle is not None and idle >= idle_minutes * 60


def kernel_row(kernel: Kernel, home: str, now: float, idle_minutes: float, palette, width: int = NAME_WIDTH) -> tuple:
    """The kernel's cells; its notebook's path in `width` cells, cut at the front (the name is at the end)."""
    where = short_path(kernel.path, home) if kernel.path else ("(no notebook)" if kernel.state else "?")
    if kernel.name and kernel.name not in ("python3", "python"):
        where += f" ({kernel.name})"
    if len(where) > width:
        where = "…" + where[-(width - 1):]
    state = Text(kernel.state or "?")
    if hogging(kernel, now, idle_minutes):
        state = Text(f"{kernel.state} {FLAG}", style=palette[colors.WARN] + Style(bold=True))
    cpu = "" if kernel.cpu_percent is None else f"{kernel.cpu_percent:.0f}%"
    mem = "" if kernel.memory_bytes is None else short_size(kernel.memory_bytes)
    gpu = ""
    if kernel.gpu_memory_bytes:
        gpu = short_size(kernel.gpu_memory_bytes) + (" g" + ",".join(str(g) for g in kernel.gpus) if kernel.gpus else "")
    idle = kernel.idle_for(now)
    return (where, state, cpu, mem, gpu, duration(idle) if idle is not None else "",
            "" if kernel.connections is None else str(kernel.connections))


class KernelView(Vertical):
    """Title, table and a note; drawn from the host's record by HostDetail."""

    class Highlighted(Message):
        def __init__(self, kernel_id: str | None) -> None:
            super().__init__()
            self.kernel_id = kernel_id

    _shown: tuple | None = None  # what show() was last given: the table is fitted to it again on resize

    def compose(self) -> ComposeResult:
        yield LiveText(id="kernels-title")
        yield KernelTable(id="kernels", cursor_type="row")
        yield LiveText(id="kernels-note")

    def on_mount(self) -> None:
        self.query_one(KernelTable).show_columns(COLUMNS)

    def show(self, kernels: tuple[Kernel, ...], note: str, selected: str | None, home: str,
             idle_minutes: float, visible: bool, scope: object = None) -> None:
        """`scope`: whose kernels these are (a server), so the cursor knows a kernel that went from one that was never here."""
        self.display = visible
        if not visible:
            return
        self._shown = (kernels, selected, home, idle_minutes, scope)
        palette = colors.palette(self.app.theme_variables)
        now = time.time()
        self._fill_table(palette, now)
        hogs = sum(hogging(k, now, idle_minutes) for k in kernels)
        title = Text("Kernels", style="bold")
        keys = KEYS_HINT if len("Kernels" + KEYS_HINT) <= self.size.width or not self.size.width else "  i R D"
        title.append(keys, style=palette[colors.MUTED])
        if hogs:
            title.append(f"\n{FLAG} {hogs} idle for over {idle_minutes:g} min, holding GPU memory",
                         style=palette[colors.WARN] + Style(bold=True))
        self.query_one("#kernels-title", LiveText).show(title)
        text = Text(note, style=palette[colors.WARN]) if note else Text(
            "" if kernels else "no kernels running", style=palette[colors.MUTED])
        note_box = self.query_one("#kernels-note", LiveText)
        note_box.show(text)
        note_box.display = bool(text.plain)

    def on_resize(self) -> None:
        """Columns and names fitted again to the new width (it is 0 until the view is first laid out)."""
        if self.display and self._shown is not None:
            self._fill_table(colors.palette(self.app.theme_variables), time.time())

    def _fill_table(self, palette, now: float) -> None:
        kernels, selected, home, idle_minutes, scope = self._shown
        shown, rows = fit_table(
            self.size.width, COLUMNS, lambda width: [kernel_row(k, home, now, idle_minutes, palette, width) for k in kernels],
            COLUMNS.index("notebook"), LEAST_NAME, NAME_WIDTH, DROPPED_FIRST,
        )
        table = self.query_one(KernelTable)
        table.show_columns(shown)
        under = table.show_rows([(k.id, row) for k, row in zip(kernels, rows)], selected, scope)
        if selected is not None and under is not None and under != selected:
            self.post_message(self.Highlighted(under))  # its row went: the next one's
        table.display = bool(kernels)

    @on(DataTable.RowHighlighted, "#kernels")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key is not None:
            self.post_message(self.Highlighted(event.row_key.value))
