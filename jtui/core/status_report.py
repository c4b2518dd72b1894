"""What `jtui status` prints: one host's figures, servers and kernels, as JSON or as text.

The JSON is a contract (DESIGN.md): field names only ever grow. Tokens are
never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from jtui.core.format import GIB, duration, gib, short_command, short_path
from jtui.core.kernels import Kernel
from jtui.core.model import Sample
from jtui.core.services import HIDDEN_PROCESS, danger_line, open_to_all
from jtui.core.urls import service_url

COMMAND_WIDTH = 80  # of a service's command line; the JSON has all of it


@dataclass(frozen=True)
class StatusReport:
    sample: Sample
    kernels: dict[int, tuple[tuple[Kernel, ...], str]] = field(default_factory=dict)  # port -> (kernels, note)


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).isoformat()


def kernel_json(kernel: Kernel) -> dict:
    return {
        "id": kernel.id, "name": kernel.name or None, "path": kernel.path or None, "state": kernel.state or None,
        "last_activity": _iso(kernel.last_activity), "connections": kernel.connections, "pid": kernel.pid,
        "cpu_percent": kernel.cpu_percent, "memory_bytes": kernel.memory_bytes,
        "memory_kind": kernel.memory_kind or None, "gpu_memory_bytes": kernel.gpu_memory_bytes,
        "gpus": list(kernel.gpus), "processes": kernel.processes,
    }


def status_json(alias: str, report: StatusReport) -> dict:
    """The `jtui status --json` object."""
    sample = report.sample
    servers = []
    by_port = {}
    for s in sample.servers:
        kernels, note = report.kernels.get(s.port, ((), ""))
        by_port[(s.pid, s.port)] = len(servers)
        servers.append({
            "port": s.port, "pid": s.pid, "root_dir": s.root_dir, "url": s.url, "base_url": s.base_url,
            "version": s.version, "started": s.started, "kind": s.kind, "password": not s.token,
            "address": s.address or s.hostname, "exposed": s.exposed, "auth": s.auth,
            "kernels": [kernel_json(k) for k in kernels], "kernels_note": note or None,
            "job_id": s.job_id or None,
        })
    sched = sample.scheduler
    scheduler = None if sched is None else {
        "kind": sched.kind, "error": sched.error or None,
        "partitions": [{"name": p.name, "available": p.available, "default": p.default, "nodes_idle": p.nodes_idle,
                        "nodes_total": p.nodes_total, "gpus_total": p.gpus_total, "gpus_used": p.gpus_used}
                       for p in sched.partitions],
    }
    jobs = [
        {"job_id": j.job_id, "name": j.name, "state": j.state, "reason": j.reason or None, "node": j.node or None,
         "partition": j.partition or None, "elapsed": j.elapsed, "time_left": j.time_left,
         "expected_start": j.expected_start or None, "jtui": j.jtui,
         "server": servers[by_port[(j.server.pid, j.server.port)]] if j.server else None}
        for j in (sched.jobs if sched else ())
    ]
    return {
        "host": alias,
        "os": sample.os,
        "cpu_percent": sample.cpu_percent,
        "cpu_per_core": list(sample.cpu_per_core),
        "cores": sample.cores,
        "load": list(sample.load) if sample.load else None,
        "mem_total": sample.mem_total,
        "mem_used": sample.mem_used,
        "mem_available": sample.mem_available,
        "swap_total": sample.swap_total,
        "swap_used": sample.swap_used,
        "gpus": [
            {"index": g.index, "name": g.name, "util_percent": g.util_percent, "mem_used_mib": g.mem_used_mib,
             "mem_total_mib": g.mem_total_mib, "temperature_c": g.temperature_c}
            for g in sample.gpus
        ],
        "gpu_processes": [
            {"pid": p.pid, "gpu": p.gpu, "used_mib": p.used_mib, "user": p.user or None, "command": p.command or None}
            for p in sample.gpu_processes
        ],
        "servers": servers,
        "scheduler": scheduler,
        "jobs": jobs,
        "services": [
            {"port": v.port, "address": v.address, "pid": v.pid, "command": v.command or None,
             "kind": v.kind or None, "url": service_url(v, v.port) if v.web else None, "exposed": v.exposed,
             "started": v.started}
            for v in sample.services
        ],
    }


def _up(sample: Sample, started: float | None) -> str:
    """How long it has run, on the host's own clock ("" when its start is not known)."""
    return "" if started is None else f"  up {duration(max(0.0, sample.time - started))}"


def status_text(alias: str, report: StatusReport) -> str:
    """As the screen says it: paths and commands with the remote home as ~ (the JSON has them whole)."""
    sample = report.sample
    home = sample.remote_home
    lines = [alias]
    if not sample.supported:
        lines.append(f"  unsupported: {sample.os} (no load figures)")
    else:
        load = " ".join(f"{x:.2f}" for x in sample.load) if sample.load else "?"
        cpu = "?" if sample.cpu_percent is None else f"{sample.cpu_percent:.0f}"
        mem = "?" if sample.mem_percent is None else f"{sample.mem_percent:.0f}"
        lines.append(f"  cpu  {cpu}%  {sample.cores or '?'} cores  load {load}")
        lines.append(f"  mem  {mem}%  {gib(sample.mem_used)} / {gib(sample.mem_total)} GiB")
    for g in sample.gpus:
        lines.append(f"  gpu {g.index} {g.name}  {'?' if g.util_percent is None else f'{g.util_percent:.0f}'}%  "
                     f"{(g.mem_used_mib or 0) / 1024:.1f} / {(g.mem_total_mib or 0) / 1024:.1f} GiB")
    for p in sample.gpu_processes:
        lines.append(f"  gpu {p.gpu if p.gpu is not None else '?'} process  pid {p.pid}  {p.user}  "
                     f"{(p.used_mib or 0) / 1024:.1f} GiB  {p.command}")
    if not sample.servers:
        lines.append("  no Jupyter servers running")
    for s in sample.servers:
        where = f"  listens on {s.address or s.hostname} (exposed)" if s.exposed else ""
        lines.append(f"  jupyter  port {s.port}  pid {s.pid}{_up(sample, s.started)}  {short_path(s.root_dir, home)}  {s.version}  "
                     f"auth {s.auth}{where}")
        if open_to_all(s):
            lines.append(f"    WARNING: {danger_line(s)}")
        kernels, note = report.kernels.get(s.port, ((), ""))
        for k in kernels:
            cpu = "?" if k.cpu_percent is None else f"{k.cpu_percent:.0f}%"
            mem = "?" if k.memory_bytes is None else f"{k.memory_bytes / GIB:.2f} GiB"
            gpu = f"  gpu {k.gpu_memory_bytes / GIB:.1f} GiB" if k.gpu_memory_bytes else ""
            lines.append(f"    kernel {k.name or '?'}  {k.path or '(no notebook)'}  {k.state or '?'}  cpu {cpu}  mem {mem}{gpu}")
        if note:
            lines.append(f"    kernels: {note}")
    sched = sample.scheduler
    if sched is not None and sched.error:
        lines.append(f"  slurm  {sched.error}")
    elif sched is not None:
        parts = ", ".join(f"{p.name}{'*' if p.default else ''} {p.nodes_idle}/{p.nodes_total} idle"
                          + (f" {p.gpus_total - p.gpus_used}/{p.gpus_total} GPUs free" if p.gpus_total else "")
                          for p in sched.partitions)
        lines.append(f"  slurm  {parts}")
        for j in sched.jobs:
            left = f"  {j.time_left // 60} min left" if j.time_left is not None and j.state == "RUNNING" else ""
            why = f" ({j.reason})" if j.reason else ""
            on = f"  on {j.node}" if j.node else ""
            port = f"  jupyter port {j.server.port}" if j.server else ""
            start = f"  expected to start {j.expected_start.replace('T', ' ')}" if j.state == "PENDING" and j.expected_start else ""
            lines.append(f"  job {j.job_id}  {j.name}  {j.state}{why}{on}{left}{start}{port}")
    for v in sample.services:
        exposed = f"  exposed ({v.address})" if v.exposed else ""
        lines.append(f"  {v.kind or 'service':<11}  port {v.port}  pid {v.pid or '?'}{_up(sample, v.started)}  "
                     f"{short_command(v.command, home, COMMAND_WIDTH) or HIDDEN_PROCESS}{exposed}")
    return "\n".join(lines)
