"""The detail pane: the selected host's connection, load, GPUs, Jupyter servers and other services."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import MountError
from textual.widgets import DataTable

from jtui.core.format import clip, duration, gib, percent, sentence, short_command, short_path, size, sparkline
from jtui.core.model import GpuStat, HostState, HostStatus, HubState, Job, JupyterServer, Scheduler
from jtui.core.services import HIDDEN_PROCESS, danger_line, exposure_line, is_hub, open_to_all
from jtui.ui import colors
from jtui.ui.host_list import mark
from jtui.ui.kernel_view import KernelTable, KernelView
from jtui.ui.live import LiveTable, LiveText, fit_table
from jtui.ui.state import HostRecord, job_row_key

if TYPE_CHECKING:
    from jtui.core.resolve import ResolvedHost

SPARK_WIDTH = 20  # samples a sparkline shows; fewer in a narrow pane
NARROW_PANE = 60
COLUMNS = ("port", "what", "pid", "up", "local", "where")  # where last, as ps puts COMMAND: a narrow pane cuts it
WHERE_WIDTH = 64  # characters of a root dir or a command line, at most (a wide pane gives them its room)
LEAST_WHERE = 8
GPU_NAME_WIDTH = 24  # a GPU's model name, at most: the figures after it line up
GPU_NAME_LEAST = 8
DROPPED_FIRST = ("pid", "up")  # when a narrow pane leaves `where` too little room


def port_cell(item, palette: dict[str, Style]) -> Text:
    """The port, marked ⚠ when it listens where other machines can reach it."""
    if item.exposed:
        return Text(f"{item.port} ⚠", style=palette[colors.WARN])
    return Text(str(item.port))


def gone_kind(forward) -> str:
    """What a forward whose server is gone led to: "Jupyter", "TensorBoard", "port"."""
    target = forward.server
    if isinstance(target, JupyterServer):
        return "Jupyter"
    return getattr(target, "kind", "") or "port"


GONE_NOTES = ("gone: f closes the forward", "gone: f closes it", "gone (f)")


def gone_note(width: int) -> str:
    """What a gone row says, in the widest wording that fits: cut, it would read "gone: f clos"."""
    return next((note for note in GONE_NOTES if len(note) <= width), GONE_NOTES[-1])


def server_what(server: JupyterServer, wide: bool) -> str:
    """"job 42 Jupyter", or "Jupyter 2.14.2" (its version only where the pane has room)."""
    if server.job_id:
        return f"job {server.job_id} Jupyter"
    return f"Jupyter {server.version}" if server.version and wide else "Jupyter"


def cut(text: str, width: int, style: Style | None = None) -> Text:
    """`text` in `width` cells at most, an ellipsis saying where it was cut."""
    fitted = Text(text, style=style or "")
    fitted.truncate(width, overflow="ellipsis")
    return fitted


def hub_text(hub: HubState | None, palette: dict[str, Style]) -> Text:
    muted = palette[colors.MUTED]
    text = Text()
    if hub is None:
        text.append("JupyterHub: asking it for your servers…", style=muted)
    elif hub.note:
        text.append("JupyterHub: c copies its login URL. ", style="bold")
        text.append(sentence(hub.note), style=muted)
    else:
        text.append(f"JupyterHub, user {hub.user}:", style="bold")
        for server in hub.servers:
            name = f"“{server.name}”" if server.name else "default server"
            status = "ready" if server.ready else (f"{server.pending} pending" if server.pending else "stopped")
            text.append(f"\n  {name}  {server.url}  ")
            text.append(status, style=palette[colors.OK] if server.ready else palette[colors.WARN])
        if hub.default is not None and hub.default.ready:
            text.append("\nc copies its URL (log in there) · x stops it", style=muted)  # short lines: no wrap at 80
        elif hub.default is None:
            text.append("\n  no server of yours runs there", style=muted)
            text.append("\ns starts one · c copies the hub's login URL", style=muted)
    return text


def no_server_text(services, start: str = "s", forward: str = "f", on_hub: bool = False, submits: bool = False) -> str:
    """What the empty server list says, with the start and forward keys as bound. A Jupyter listed
    among the services is one whose runtime file (its token) is not where jtui looks: saying only
    "no Jupyter server" would contradict its row. On a hub's row, s starts the user's server on the
    hub (the lines below say so), not one of jtui's; on a cluster (`submits`), it submits a job."""
    strays = [s.port for s in services if s.kind == "Jupyter"]
    if not strays:
        if on_hub:
            return "no Jupyter server outside the hub"
        return f"no Jupyter server — press {start} to {'submit a job for one' if submits else 'start one'}"
    text = (f"The Jupyter on port {strays[0]} left no runtime file where jtui looks (another JUPYTER_RUNTIME_DIR?): "
            f"{forward} on its row forwards it, its log has its token.")
    return text if on_hub else f"{text} {start} starts one jtui can open."


class ServerTable(LiveTable):
    """A host's servers, jobs and services, keyed by port or -job id."""


def job_state_text(job: Job, palette: dict[str, Style], width: int = WHERE_WIDTH) -> Text:
    """A job row's state: PENDING with Slurm's reason and expected start, or what it is doing."""
    if job.state == "PENDING":
        text = Text(job.reason or "queued", style=palette[colors.WARN])
        if job.expected_start:
            text.append(f", ~{job.expected_start.replace('T', ' ')[11:16]}", style=palette[colors.MUTED])
    elif job.state == "RUNNING":
        text = Text(f"{job.node}: Jupyter starting" if job.node else "Jupyter starting", style=palette[colors.WARN])
    else:
        text = Text(job.state.lower(), style=palette[colors.WARN])
    text.truncate(width, overflow="ellipsis")
    return text


def job_where(job: Job | None, server: JupyterServer, palette: dict[str, Style], width: int = WHERE_WIDTH) -> Text:
    """A job's server: its node and the time left before the wall-clock limit (red when little is left)."""
    from jtui.core.job_watch import short_of_time

    text = Text(job.node if job and job.node else server.hostname)
    if job is not None and job.time_left is not None:
        hours, minutes = divmod(job.time_left // 60, 60)
        left = f"{hours}h{minutes:02d}m" if hours else f"{minutes}m" if minutes else "<1m"  # not "0m" for a minute
        text.append(f" {left} left", style=palette[colors.ERROR] if short_of_time(job) else palette[colors.MUTED])
    text.truncate(width, overflow="ellipsis")
    return text


def cluster_text(sched: Scheduler, palette: dict[str, Style], jobs: tuple[int, int]) -> Text:
    """The cluster at a glance: each partition's idle/total nodes and free/total GPUs, the user's jobs
    (`jobs`: how many, and how many are jtui's Jupyter; see HostRecord.job_counts)."""
    text = Text("Slurm  ", style="bold")
    if sched.error:
        text.append(sched.error, style=palette[colors.ERROR])
        return text
    for i, part in enumerate(sched.partitions):
        if i:
            text.append(" · ", style=palette[colors.MUTED])
        text.append(part.name + ("*" if part.default else ""), style=palette[colors.ACCENT] if part.available else palette[colors.ERROR])
        text.append(f" {part.nodes_idle}/{part.nodes_total} idle")
        if part.gpus_total:
            text.append(f", {part.gpus_total - part.gpus_used}/{part.gpus_total} GPUs free")
        if not part.available:
            text.append(" (down)", style=palette[colors.ERROR])
    total, mine = jobs
    text.append(f"\nyour jobs: {total}" + (f" ({mine} Jupyter by jtui)" if mine else ""),
                style=palette[colors.MUTED])
    return text


def header_text(resolved: ResolvedHost | None, status: HostStatus, palette: dict[str, Style],
                width: int | None = None) -> Text:
    """The host, where it is and its state; in a pane too narrow for one line, the state comes
    right after the name and the address goes below, so "● connected" is never left alone."""
    symbol, style = mark(status.state, palette)
    text = Text()
    text.append(status.alias, style="bold")
    where = Text()
    if resolved is not None:
        where.append(f"  {resolved.target}")
        if resolved.proxyjump:
            where.append(f"  via {resolved.proxyjump}", style=palette[colors.ACCENT])
    state = f"  {symbol} {status.state.value}"
    if width is None or len(text) + len(where) + len(state) <= width:
        text.append_text(where)
        text.append(state, style=style)
    else:
        text.append(state, style=style)
        if where:
            text.append("\n")
            text.append_text(where[2:])
    explained_below = resolved is not None and resolved.error and resolved.error in status.reason  # stats_text
    if status.reason and not explained_below:  # a sentence of its own, below: it may be long, and it wraps
        text.append(f"\n{sentence(status.reason)}", style=style)
    if retry_counting_down(status):
        wait = max(0, status.next_retry - time.monotonic())
        text.append(f" Retrying in {wait:.0f}s (r: now).", style=palette[colors.MUTED])  # "5s": wraps as one word
    return text


def retry_counting_down(status: HostStatus) -> bool:
    """A retry is counted down in the header, which says r tries now."""
    return status.next_retry is not None and status.state in (HostState.FAILED, HostState.RECONNECTING)


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
        if "press " not in record.status.reason and not retry_counting_down(record.status):  # else the header says the key
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
    prefix = 4 + spark  # "CPU " or "MEM " and the sparkline
    text.append(cpu_figures(sample.cores, sample.load, width - prefix - 5))
    text.append("\n")
    text.append("MEM ", style="bold")
    text.append(sparkline(mem_hist, spark).rjust(spark), style=palette[colors.MEM])
    memory = f" {sample.mem_percent or 0:3.0f}%"
    amounts = f"  {gib(sample.mem_used)} / {gib(sample.mem_total)} GiB"
    if prefix + len(memory) + len(amounts) <= width:  # else the percentage alone, rather than wrap
        memory += amounts
    text.append(memory)
    swap = f"  swap {gib(sample.swap_used)}/{gib(sample.swap_total)}" if sample.swap_total else ""
    if prefix + len(memory) + len(swap) <= width:
        text.append(swap, style=muted)
    for gpu in sample.gpus:
        text.append("\n")
        label, name, figures, temperature = gpu_line(gpu, width)
        text.append(label, style="bold")
        text.append(name)
        text.append(figures)
        text.append(temperature, style=muted)
    for proc in sample.gpu_processes:  # GPU memory no kernel of a server here holds
        text.append("\n")
        gpu = f"GPU {proc.gpu}" if proc.gpu is not None else "GPU ?"
        used = size(proc.used_mib * 1024**2) if proc.used_mib is not None else "?"
        who = f"{proc.user} " if proc.user else ""
        text.append(f"  {gpu}: pid {proc.pid} {who}{used}  {proc.command or '(command hidden)'}"[: max(20, width - 2)],
                    style=muted)
    return text


def cpu_figures(cores: int | None, load: tuple[float, ...] | None, room: int) -> str:
    """The cores and load averages after the CPU's percentage, in `room` columns: a narrow pane
    keeps the 1-minute load, then only that, rather than wrap the line."""
    count = f"  {cores} cores" if cores else ""
    averages = [f"{x:.1f}" for x in load or ()]
    every = f"  load {' '.join(averages)}" if averages else ""
    first = f"  load {averages[0]}" if averages else ""
    for figures in (count + every, count + first, first):
        if len(figures) <= room:
            return figures
    return ""


def gpu_line(gpu: GpuStat, width: int) -> tuple[str, str, str, str]:
    """A GPU's label, name, figures and temperature on one line of `width`: the figures stay
    whole; the name is cut (first its "NVIDIA ", which every GPU nvidia-smi lists has), then
    the temperature goes. A pane too narrow for even that gets it all, to wrap between words."""
    label = f"GPU {gpu.index} "
    figures = "  ?%" if gpu.util_percent is None else f" {gpu.util_percent:3.0f}%"
    if gpu.mem_total_mib:
        figures += f"  {(gpu.mem_used_mib or 0) / 1024:.1f} / {gpu.mem_total_mib / 1024:.1f} GiB"
    temperature = "" if gpu.temperature_c is None else f"  {gpu.temperature_c:.0f}°C"
    name = gpu.name
    room = width - len(label) - len(figures) - len(temperature)
    if len(name) > room:
        name = name.removeprefix("NVIDIA ")
    if width - len(label) - len(figures) < GPU_NAME_LEAST:
        return label, name, figures, temperature
    if len(name) > room and room < GPU_NAME_LEAST:
        temperature = ""
        room = width - len(label) - len(figures)
    room = max(GPU_NAME_LEAST, min(GPU_NAME_WIDTH, room))
    return label, clip(name, room).ljust(room), figures, temperature


class HostDetail(Vertical):
    """Draws the selected host's record: every host is polled, one is drawn."""

    # Its children redraw what changed: a repaint of the pane itself (its whole
    # background) per sample and per keystroke cost more than they did.
    record: reactive[HostRecord | None] = reactive(None, always_update=True, repaint=False)

    class ServerHighlighted(Message):
        """The user moved the cursor in the server table."""

        def __init__(self, alias: str, port: int | None) -> None:
            super().__init__()
            self.alias = alias
            self.port = port

    _complete = False  # the servers, services and kernels are mounted

    def compose(self) -> ComposeResult:
        yield LiveText(id="detail-header")
        yield LiveText(id="detail-stats")

    def on_mount(self) -> None:
        self.border_title = "Host"
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.watch_record(self.record))
        self.call_after_refresh(self._mount_the_rest)

    async def _mount_the_rest(self) -> None:
        """The parts below the header come after the first frame: the host list shows sooner.

        Composing them up front (two tables, seven texts) was a tenth of the
        time to the first frame, for panes that are empty until a host connects.
        """
        table = ServerTable(id="servers", cursor_type="row")
        try:
            await self.mount(LiveText("Jupyter servers", id="servers-title"), table, LiveText(id="servers-empty"),
                             LiveText(id="exposure"), LiveText(id="hub"), LiveText(id="cluster"),
                             KernelView(id="kernel-view"))
        except MountError:  # the app quit first
            return
        table.show_columns(COLUMNS)
        self._complete = True
        self.watch_record(self.record)

    @property
    def servers(self) -> ServerTable:
        return self.query_one(ServerTable)

    def on_resize(self) -> None:
        self.watch_record(self.record)  # the sparklines' width follows the pane's

    def server_under_cursor(self) -> int | None:
        """The server table's row under its cursor now (a port, or a job's key); None when hidden or
        not mounted yet (the tables come just after the first frame)."""
        if not self._complete:
            return None
        table = self.servers
        key = table.key_under_cursor if table.display else None
        return int(key) if key is not None else None

    def kernel_under_cursor(self) -> str | None:
        """The kernel table's row under its cursor now (a kernel id); None when hidden or not mounted yet."""
        if not self._complete:
            return None
        view = self.query_one(KernelView)
        table = view.query_one(KernelTable)
        return table.key_under_cursor if view.display and table.display else None

    def watch_record(self, record: HostRecord | None) -> None:
        if not self.is_mounted:
            return
        palette = colors.palette(self.app.theme_variables)
        header = self.query_one("#detail-header", LiveText)
        stats = self.query_one("#detail-stats", LiveText)
        if record is None:
            header.show("")
            stats.show("")
            if not self._complete:
                return
            self._fill_servers(palette, None)
            self.query_one(KernelView).show((), "", None, "", 0, visible=False)
            return
        header.show(header_text(record.resolved, record.status, palette, self.size.width))
        stats.show(stats_text(record, palette, self.size.width))
        if not self._complete:
            return
        self._fill_servers(palette, record)
        self._show_kernels(record)

    def refresh_countdown(self) -> None:
        """Redraw the header while a retry is counted down."""
        record = self.record
        if record is not None and record.status.next_retry is not None:
            palette = colors.palette(self.app.theme_variables)
            header = header_text(record.resolved, record.status, palette, self.size.width)
            self.query_one("#detail-header", LiveText).show(header)

    def _fill_servers(self, palette, record: HostRecord | None) -> None:
        table = self.servers
        servers = record.servers if record else ()
        services = record.services if record else ()
        sample = record.sample if record else None
        home = sample.remote_home if sample else ""
        forwards = record.forward_ports if record else {}
        now = sample.time if sample else time.time()

        def local(port: int) -> Text:
            if port in forwards:
                return Text(f":{forwards[port]} ↔", style=palette[colors.OK])
            return Text("—", style=palette[colors.MUTED])

        jobs = record.jobs if record else ()
        gone = record.gone_forwards if record else ()
        keys = ([str(s.port) for s in servers] + [str(job_row_key(j)) for j in jobs] + [str(s.port) for s in services]
                + [str(f.remote_port) for f in gone])
        wide = self.size.width >= NARROW_PANE  # else the version makes way for the columns after it

        def rows_with(where: int) -> list[tuple]:
            return [
                (
                    port_cell(s, palette),
                    server_what(s, wide),
                    str(s.pid),
                    duration(now - s.started) if s.started else "?",
                    local(s.port),
                    job_where(record.job_of(s), s, palette, where) if s.job_id else cut(short_path(s.root_dir, home), where),
                )
                for s in servers
            ] + [
                (
                    Text("—", style=palette[colors.MUTED]),
                    Text(f"job {j.job_id} {j.state.lower()}", style=palette[colors.ACCENT]),
                    "",
                    duration(j.elapsed) if j.state == "RUNNING" else "",
                    Text("—", style=palette[colors.MUTED]),
                    job_state_text(j, palette, where),
                )
                for j in jobs
            ] + [
                (
                    port_cell(s, palette),
                    Text(s.kind or "…", style=palette[colors.ACCENT] if s.kind else palette[colors.MUTED]),
                    str(s.pid) if s.pid else "?",
                    duration(max(0.0, now - s.started)) if s.started else "",
                    local(s.port),
                    short_command(s.command, home, where) if s.command else cut(HIDDEN_PROCESS, where, palette[colors.MUTED]),
                )
                for s in services
            ] + [
                (
                    Text(str(f.remote_port), style=palette[colors.MUTED]),
                    Text(gone_kind(f), style=palette[colors.MUTED]),
                    "",
                    "",
                    Text(f":{f.local_port} ↔", style=palette[colors.WARN]),
                    Text(gone_note(where), style=palette[colors.WARN]),
                )
                for f in gone
            ]

        shown, rows = fit_table(self.size.width, COLUMNS, rows_with, COLUMNS.index("where"), LEAST_WHERE, WHERE_WIDTH,
                                DROPPED_FIRST)
        wanted = record.selected_port if record else None
        table.show_columns(shown)
        under = table.show_rows(list(zip(keys, rows)), str(wanted), scope=record.alias if record else None)
        if record is not None and wanted is not None and under is not None and under != str(wanted):
            self.post_message(self.ServerHighlighted(record.alias, int(under)))  # its row went: the next one's
        table.display = bool(keys)
        empty = self.query_one("#servers-empty", LiveText)
        if record is not None and record.activity:
            empty.show(Text(record.activity, style=palette[colors.WARN]))
            empty.display = True
        elif not servers and not jobs:
            keys = self.app.keys_of
            on_hub = record is not None and is_hub(record.selected_item)
            submits = self.app.inventory.settings.for_host(record.alias).launcher == "slurm" if record else False
            empty.show(Text(no_server_text(services, keys("start"), keys("forward"), on_hub, submits), style=palette[colors.MUTED])
                       if sample else "")
            empty.display = True
        else:
            empty.display = False
        self._show_exposure(palette, record)
        self._show_hub(palette, record)
        self._show_cluster(palette, record)
        title = self.query_one("#servers-title", LiveText)
        stale = record is not None and record.stale and sample is not None
        name = "Jupyter servers" + (" and jobs" if jobs else "") + (" and services" if services else "")
        name = name.replace(" and jobs and", ", jobs and")
        title.show(Text(name + ("  (stale: reconnecting)" if stale else ""), style="bold"))
        title.display = sample is not None or bool(record and (record.activity or servers))

    def _show_exposure(self, palette, record: HostRecord | None) -> None:
        """A loud line for a Jupyter server anyone can use; a plain one for the exposed row under the cursor."""
        lines = Text()
        if record is not None:
            for server in record.servers:
                if open_to_all(server):
                    lines.append("⚠ " + danger_line(server) + "\n", style=palette[colors.ERROR] + Style(bold=True))
            item = record.selected_item
            if item is not None and item.exposed and not (isinstance(item, JupyterServer) and open_to_all(item)):
                lines.append("⚠ " + exposure_line(item), style=palette[colors.WARN])
        lines.rstrip()
        line = self.query_one("#exposure", LiveText)
        line.show(lines)
        line.display = bool(lines.plain)

    def _show_hub(self, palette, record: HostRecord | None) -> None:
        """Under a JupyterHub row: the user's servers on it, and what s, x and c do there."""
        box = self.query_one("#hub", LiveText)
        item = record.selected_item if record else None
        if not is_hub(item):
            box.display = False
            return
        box.show(hub_text(record.hub if record.hub and record.hub.port == item.port else None, palette))
        box.display = True

    def _show_cluster(self, palette, record: HostRecord | None) -> None:
        box = self.query_one("#cluster", LiveText)
        sched = record.sample.scheduler if record and record.sample else None
        box.display = sched is not None
        if sched is not None:
            box.show(cluster_text(sched, palette, record.job_counts))

    def _show_kernels(self, record: HostRecord) -> None:
        server = record.selected_server
        kernels, note = record.kernels_of(server.port if server else None)
        listed = any(port == (server.port if server else None) for port, _, _ in record.kernels)
        home = record.sample.remote_home if record.sample else ""
        idle = self.idle_minutes(record.alias)
        self.query_one(KernelView).show(kernels, note, record.selected_kernel, home, idle,
                                        visible=server is not None and listed,
                                        scope=(record.alias, server.port if server else None))

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
