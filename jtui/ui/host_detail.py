"""The detail pane: the selected host's connection, load, GPUs and Jupyter servers."""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from jtui.core.model import History, HostState, HostStatus, Sample
from jtui.core.resolve import ResolvedHost
from jtui.ui import colors
from jtui.ui.format import duration, gib, short_path, sparkline
from jtui.ui.host_list import mark

SPARK_WIDTH = 20


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
    if status.reason:
        text.append(f": {status.reason}", style=style)
    if status.next_retry is not None and status.state in (HostState.FAILED, HostState.RECONNECTING):
        wait = max(0, status.next_retry - time.monotonic())
        text.append(f" (retry in {wait:.0f} s, r: now)", style=palette[colors.MUTED])
    return text


WAITING = {
    HostState.NOT_CONNECTED: "not connected: press enter (or r) to connect",
    HostState.CONNECTING: "connecting…",
    HostState.RECONNECTING: "reconnecting…",
    HostState.NEEDS_INPUT: "press enter to log in",
    HostState.FAILED: "press r to try again now",
    HostState.CONNECTED: "waiting for the first sample…",
}


def stats_text(sample: Sample | None, history: History | None, state: HostState, palette: dict[str, Style]) -> Text:
    muted = palette[colors.MUTED]
    text = Text()
    if sample is None:
        text.append(WAITING[state], style=muted)
        return text
    if not sample.supported:
        text.append(f"unsupported: {sample.os} (load figures need Linux; Jupyter servers still listed)", style=palette[colors.WARN])
        return text
    cpu_hist = history.cpu if history else []
    mem_hist = history.mem if history else []
    text.append("CPU ", style="bold")
    text.append(sparkline(cpu_hist, SPARK_WIDTH).rjust(SPARK_WIDTH), style=palette[colors.CPU])
    text.append(f" {sample.cpu_percent or 0:3.0f}%")
    if sample.cores:
        text.append(f"  {sample.cores} cores")
    if sample.load:
        text.append("  load " + " ".join(f"{x:.1f}" for x in sample.load))
    text.append("\n")
    text.append("MEM ", style="bold")
    text.append(sparkline(mem_hist, SPARK_WIDTH).rjust(SPARK_WIDTH), style=palette[colors.MEM])
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
    return text


class HostDetail(Vertical):
    """Renders only the selected host: every host is polled, one is drawn."""

    def compose(self) -> ComposeResult:
        yield Static(id="detail-header")
        yield Static(id="detail-stats")
        yield Static("Jupyter servers", id="servers-title")
        yield ServerTable(id="servers", cursor_type="row")
        yield Static(id="servers-empty")

    def on_mount(self) -> None:
        self.border_title = "Host"
        table = self.query_one(ServerTable)
        for label, key in (("port", "port"), ("pid", "pid"), ("root", "root"), ("up", "up"), ("version", "version"), ("local", "local")):
            table.add_column(label, key=key)
        self.alias: str | None = None
        self._server_keys: list[str] = []
        self._shown: tuple = (None, None, None, None, None)  # show()'s arguments, to redraw in a new theme
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.show(*self._shown))

    @property
    def servers(self) -> ServerTable:
        return self.query_one(ServerTable)

    def show(
        self,
        alias: str | None,
        resolved: ResolvedHost | None,
        status: HostStatus | None,
        sample: Sample | None,
        history: History | None,
        forwards: dict[int, int] | None = None,
        stale: bool = False,
        note: str = "",
    ) -> None:
        self.alias = alias
        self._shown = (alias, resolved, status, sample, history, forwards, stale, note)
        palette = colors.palette(self.app.theme_variables)
        header = self.query_one("#detail-header", Static)
        if alias is None:
            header.update("")
            self.query_one("#detail-stats", Static).update("")
            self._fill_servers(palette, [], {}, "", stale)
            return
        header.update(header_text(resolved, status or HostStatus(alias), palette))
        state = (status or HostStatus(alias)).state
        self.query_one("#detail-stats", Static).update(stats_text(sample, history, state, palette))
        servers = list(sample.servers) if sample else []
        self._fill_servers(palette, servers, forwards or {}, sample.remote_home if sample else "", stale, note, sample)

    def _fill_servers(self, palette, servers, forwards, home, stale, note="", sample=None) -> None:
        table = self.servers
        keys = [str(s.port) for s in servers]
        now = sample.time if sample else time.time()
        rows = [
            (
                str(s.port),
                str(s.pid),
                short_path(s.root_dir, home),
                duration(now - s.started) if s.started else "?",
                s.version or "?",
                Text(f":{forwards[s.port]} ↔", style=palette[colors.OK]) if s.port in forwards else Text("—", style=palette[colors.MUTED]),
            )
            for s in servers
        ]
        if keys != self._server_keys:
            cursor = table.cursor_row
            table.clear()
            for key, row in zip(keys, rows):
                table.add_row(*row, key=key)
            if keys:
                table.move_cursor(row=min(cursor, len(keys) - 1))
            self._server_keys = keys
        else:
            for key, row in zip(keys, rows):
                for column, value in zip(("port", "pid", "root", "up", "version", "local"), row):
                    table.update_cell(key, column, value, update_width=True)
        table.display = bool(servers)
        empty = self.query_one("#servers-empty", Static)
        if note:
            empty.update(Text(note, style=palette[colors.WARN]))
            empty.display = True
        elif not servers:
            empty.update(Text("none running — press s to start one", style=palette[colors.MUTED]) if sample else "")
            empty.display = True
        else:
            empty.display = False
        title = self.query_one("#servers-title", Static)
        title.update(Text("Jupyter servers" + ("  (stale: reconnecting)" if stale else ""), style="bold"))
        title.display = sample is not None or bool(note)

    def select_port(self, port: int) -> bool:
        """Put the cursor on the server at `port`; False while it is not listed yet."""
        if str(port) not in self._server_keys:
            return False
        self.servers.move_cursor(row=self._server_keys.index(str(port)))
        return True

    def selected_server_port(self) -> int | None:
        table = self.servers
        if not self._server_keys or table.row_count == 0:
            return None
        return int(self._server_keys[min(table.cursor_row, len(self._server_keys) - 1)])
