"""The detail pane: the selected host's connection, load, GPUs and Jupyter servers."""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from jtui.core.model import HostState, HostStatus
from jtui.core.resolve import ResolvedHost
from jtui.ui import colors
from jtui.ui.format import duration, gib, percent, short_path, size, sparkline
from jtui.ui.host_list import mark
from jtui.ui.kernel_view import KernelView
from jtui.ui.state import HostRecord

SPARK_WIDTH = 20  # samples a sparkline shows; fewer in a narrow pane
NARROW_PANE = 60
COLUMNS = ("port", "pid", "root", "up", "version", "local")


class ServerTable(DataTable):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="down"),
        Binding("k", "cursor_up", "Up", show=False, id="up"),
    ]


def header_text(resolved: ResolvedHost | None, status: HostStatus, palette: dict[str, Style]) -> Text:
    symbol, style = mark(status.state, palette)
    text = Text()
    text.append(status.alias, style="bold")
    if resolved is not None:
        text.append(f"  {resolved.target}")
        if resolved.proxyjump:
            text.append(f"  via {resolved.proxyjump}", style=palette[colors.ACCENT])
    text.append(f"  {symbol} {status.state.value}", style=style)
    if status.reason:  # a sentence of its own, below: it may be long, and it wraps
        text.append(f"\n{status.reason[0].upper()}{status.reason[1:]}.", style=style)
    if status.next_retry is not None and status.state in (HostState.FAILED, HostState.RECONNECTING):
        wait = max(0, status.next_retry - time.monotonic())
        text.append(f" Retrying in {wait:.0f} s (r: now).", style=palette[colors.MUTED])
    return text


WAITING = {
    HostState.NOT_CONNECTED: "not connected: press enter (or r) to connect",
    HostState.CONNECTING: "connecting…",
    HostState.RECONNECTING: "reconnecting…",
    HostState.NEEDS_INPUT: "press enter to log in",
    HostState.FAILED: "press r to try again now",
    HostState.CONNECTED: "waiting for the first sample…",
}


def stats_text(record: HostRecord, palette: dict[str, Style], width: int = 80) -> Text:
    muted = palette[colors.MUTED]
    text = Text()
    sample = record.sample
    if record.resolved is not None and record.resolved.error:
        text.append("This host's config is broken, so jtui does not connect to it:\n", style=palette[colors.ERROR])
        text.append(record.resolved.error, style=palette[colors.ERROR])
        text.append("\nFix the file: jtui reads it again by itself.", style=muted)
        return text
    if sample is None:
        text.append(WAITING[record.status.state], style=muted)
        return text
    if not sample.supported:
        text.append(f"unsupported: {sample.os} (load figures need Linux; Jupyter servers still listed)", style=palette[colors.WARN])
        return text
    cpu_hist = list(record.cpu_history)
    mem_hist = list(record.mem_history)
    text.append("CPU ", style="bold")
    spark = SPARK_WIDTH if width >= NARROW_PANE else 8
    text.append(sparkline(cpu_hist, spark).rjust(spark), style=palette[colors.CPU])
    text.append(f" {percent(record.cpu_percent):>4}")
    if sample.cores:
        text.append(f"  {sample.cores} cores")
    if sample.load:
        text.append("  load " + " ".join(f"{x:.1f}" for x in sample.load))
    text.append("\n")
    text.append("MEM ", style="bold")
    text.append(sparkline(mem_hist, spark).rjust(spark), style=palette[colors.MEM])
    text.append(f" {sample.mem_percent or 0:3.0f}%  {gib(sample.mem_used)} / {gib(sample.mem_total)} GiB")
    if sample.swap_total:
        text.append(f"  swap {gib(sample.swap_used)}/{gib(sample.swap_total)}", style=muted)
    for gpu in sample.gpus:
        text.append("\n")
        text.append(f"GPU {gpu.index} ", style="bold")
        text.append(f"{gpu.name[:24]:<24}")
        util = "  ?%" if gpu.util_percent is None else f" {gpu.util_percent:3.0f}%"
        text.append(util)
        if gpu.mem_total_mib:
            text.append(f"  {(gpu.mem_used_mib or 0) / 1024:.1f} / {gpu.mem_total_mib / 1024:.1f} GiB")
        if gpu.temperature_c is not None:
            text.append(f"  {gpu.temperature_c:.0f}°C", style=muted)
    for proc in sample.gpu_processes:  # GPU memory no kernel of a server here holds
        text.append("\n")
        gpu = f"GPU {proc.gpu}" if proc.gpu is not None else "GPU ?"
        used = size(proc.used_mib * 1024**2) if proc.used_mib is not None else "?"
        who = f"{proc.user} " if proc.user else ""
        text.append(f"  {gpu}: pid {proc.pid} {who}{used}  {proc.command or '(command hidden)'}"[: max(20, width - 2)],
                    style=muted)
    return text


class HostDetail(Vertical):
    """Draws the selected host's record: every host is polled, one is drawn."""

    record: reactive[HostRecord | None] = reactive(None, always_update=True)

    class ServerHighlighted(Message):
        """The user moved the cursor in the server table."""

        def __init__(self, alias: str, port: int | None) -> None:
            super().__init__()
            self.alias = alias
            self.port = port

    def compose(self) -> ComposeResult:
        yield Static(id="detail-header")
        yield Static(id="detail-stats")
        yield Static("Jupyter servers", id="servers-title")
        yield ServerTable(id="servers", cursor_type="row")
        yield Static(id="servers-empty")
        yield KernelView(id="kernel-view")

    def on_mount(self) -> None:
        self.border_title = "Host"
        table = self.query_one(ServerTable)
        for key in COLUMNS:
            table.add_column(key, key=key)
        self._server_keys: list[str] = []
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.watch_record(self.record))

    @property
    def servers(self) -> ServerTable:
        return self.query_one(ServerTable)

    def on_resize(self) -> None:
        self.watch_record(self.record)  # the sparklines' width follows the pane's

    def watch_record(self, record: HostRecord | None) -> None:
        if not self.is_mounted:
            return
        palette = colors.palette(self.app.theme_variables)
        header = self.query_one("#detail-header", Static)
        stats = self.query_one("#detail-stats", Static)
        if record is None:
            header.update("")
            stats.update("")
            self._fill_servers(palette, None)
            self.query_one(KernelView).show((), "", None, "", 0, visible=False)
            return
        header.update(header_text(record.resolved, record.status, palette))
        stats.update(stats_text(record, palette, self.size.width))
        self._fill_servers(palette, record)
        self._show_kernels(record)

    def refresh_countdown(self) -> None:
        """Redraw the header while a retry is counted down."""
        record = self.record
        if record is not None and record.status.next_retry is not None:
            palette = colors.palette(self.app.theme_variables)
            self.query_one("#detail-header", Static).update(header_text(record.resolved, record.status, palette))

    def _fill_servers(self, palette, record: HostRecord | None) -> None:
        table = self.servers
        servers = record.servers if record else ()
        sample = record.sample if record else None
        home = sample.remote_home if sample else ""
        forwards = record.forward_ports if record else {}
        now = sample.time if sample else time.time()
        keys = [str(s.port) for s in servers]
        rows = [
            (
                str(s.port),
                str(s.pid),
                short_path(s.root_dir, home),
                duration(now - s.started) if s.started else "?",
                s.version or "?",
                Text(f":{forwards[s.port]} ↔", style=palette[colors.OK]) if s.port in forwards
                else Text("—", style=palette[colors.MUTED]),
            )
            for s in servers
        ]
        with table.prevent(DataTable.RowHighlighted):
            if keys != self._server_keys:
                table.clear()
                for key, row in zip(keys, rows):
                    table.add_row(*row, key=key)
                self._server_keys = keys
            else:
                for key, row in zip(keys, rows):
                    for column, value in zip(COLUMNS, row):
                        table.update_cell(key, column, value, update_width=True)
            wanted = record.selected_port if record else None
            if keys:
                row = keys.index(str(wanted)) if str(wanted) in keys else min(table.cursor_row, len(keys) - 1)
                if row != table.cursor_row:
                    table.move_cursor(row=row)
        table.display = bool(servers)
        empty = self.query_one("#servers-empty", Static)
        if record is not None and record.activity:
            empty.update(Text(record.activity, style=palette[colors.WARN]))
            empty.display = True
        elif not servers:
            empty.update(Text("none running — press s to start one", style=palette[colors.MUTED]) if sample else "")
            empty.display = True
        else:
            empty.display = False
        title = self.query_one("#servers-title", Static)
        stale = record is not None and record.stale and sample is not None
        title.update(Text("Jupyter servers" + ("  (stale: reconnecting)" if stale else ""), style="bold"))
        title.display = sample is not None or bool(record and (record.activity or servers))

    def _show_kernels(self, record: HostRecord) -> None:
        server = record.selected_server
        kernels, note = record.kernels_of(server.port if server else None)
        listed = any(port == (server.port if server else None) for port, _, _ in record.kernels)
        home = record.sample.remote_home if record.sample else ""
        idle = self.idle_minutes(record.alias)
        chosen = record.selected_kernel_of_server
        self.query_one(KernelView).show(kernels, note, chosen.id if chosen else None, home, idle,
                                        visible=server is not None and listed)

    def idle_minutes(self, alias: str) -> float:
        from jtui.core.settings import DEFAULT_GPU_IDLE_MINUTES

        value = self.app.inventory.settings.for_host(alias).gpu_idle_minutes
        return DEFAULT_GPU_IDLE_MINUTES if value is None else value

    @on(DataTable.RowHighlighted, "#servers")
    def _server_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        record = self.record
        if record is not None and event.row_key is not None and event.row_key.value is not None:
            self.post_message(self.ServerHighlighted(record.alias, int(event.row_key.value)))
