"""Probe lines to Samples: a pure function, refusing anything it cannot trust.

The probe (jtui/core/sh/probe.sh) prints one JSON line per sample. Those
lines come from a remote host and are shown in a terminal, so parse_line()
refuses anything truncated, garbled, oversized or out of range with
ProbeLineError, and drops single GPU or server entries it cannot use (their
reasons in Sample.dropped) rather than the whole line.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

from jtui.core.logs import scrub
from jtui.core.model import GpuProcess, GpuStat, JupyterServer, KernelProcesses, ListeningSocket, Sample, Scheduler
from jtui.core.schedulers.slurm_text import parse_probe_text
from jtui.core.services import services_of, with_addresses
from jtui.core.runtime_files import CONTROL_CHARS, RuntimeFileError, checked_text, parse_runtime_text, strict_json

FORMAT_VERSION = 1

MAX_LINE = 1 << 20  # characters; a sample is a few KiB even with many servers
MAX_SERVERS = 256
MAX_KERNELS = 1024
MAX_GPU_PROCESSES = 1024
MAX_LISTENING = 4096
MAX_GPUS = 64
MAX_CORES = 65536
MAX_DIRS = 16
MAX_RUNTIME_TEXT = 1 << 17
MAX_BYTES = 1 << 62
MAX_TIME = 1e11  # epoch seconds, year 5138: anything later is garbage


class ProbeLineError(ValueError):
    """A probe line that does not describe a sample; `reason` says why, without its content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(data: dict, key: str, lo: float, hi: float, *, required: bool = False) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProbeLineError(f"{key} missing")
        return None
    return _in_range(value, key, lo, hi)


def _in_range(value: Any, key: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProbeLineError(f"{key} is not a number")
    if isinstance(value, int) and not -(2**63) < value < 2**63:
        raise ProbeLineError(f"{key} out of range")
    number = float(value)
    if not math.isfinite(number) or not lo <= number <= hi:
        raise ProbeLineError(f"{key} out of range")
    return number


def _integer(data: dict, key: str, lo: int, hi: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProbeLineError(f"{key} is not an integer")
    if not lo <= value <= hi:
        raise ProbeLineError(f"{key} out of range")
    return value


def _command(entry: dict) -> str:
    """A process's command line, its tokens blanked: `jupyter lab --IdentityProvider.token=...` is
    shown and printed by `jtui status` as any other, and a token goes nowhere but into a URL."""
    command = _text(entry.get("command", ""), "command", 1024)
    return scrub(command) if "token" in command.lower() else command


def _text(value: Any, key: str, limit: int = 4096) -> str:
    return checked_text(value, key, limit, ProbeLineError)


def _list(data: dict, key: str, limit: int) -> list:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProbeLineError(f"{key} is not a list")
    if len(value) > limit:
        raise ProbeLineError(f"{key} has too many entries")
    return value


def _cpu(data: dict) -> tuple[float | None, tuple[float, ...], int | None]:
    cores = _integer(data, "cores", 1, MAX_CORES)
    total = _number(data, "cpu", 0.0, 100.0)
    per_core = tuple(_in_range(v, "cpus", 0.0, 100.0) for v in _list(data, "cpus", MAX_CORES))
    if (total is None) != (not per_core):
        raise ProbeLineError("cpu and cpus must come together")
    if per_core and len(per_core) != cores:
        raise ProbeLineError("cpus does not have one figure per core")
    return total, per_core, cores


def _load(data: dict) -> tuple[float, float, float] | None:
    value = data.get("load")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 3:
        raise ProbeLineError("load is not three numbers")
    one, five, fifteen = (_in_range(v, "load", 0.0, 1e6) for v in value)
    return (one, five, fifteen)


def _memory(data: dict) -> dict[str, int | None]:
    keys = ("mem_total", "mem_used", "mem_available", "swap_total", "swap_used")
    mem = {key: _integer(data, key, 0, MAX_BYTES) for key in keys}
    total = mem["mem_total"]
    if total is not None and any(mem[k] is not None and mem[k] > total for k in ("mem_used", "mem_available")):
        raise ProbeLineError("memory figures exceed the total")
    if mem["swap_total"] is not None and mem["swap_used"] is not None and mem["swap_used"] > mem["swap_total"]:
        raise ProbeLineError("swap used exceeds the total")
    return mem


def _gpu(entry: Any) -> GpuStat:
    if not isinstance(entry, dict):
        raise ProbeLineError("not an object")
    index = _integer(entry, "index", 0, 4095)
    if index is None:
        raise ProbeLineError("index missing")
    return GpuStat(
        index=index,
        name=_text(entry.get("name", ""), "name", 256),
        util_percent=_number(entry, "util", 0.0, 100.0),
        mem_used_mib=_number(entry, "mem_used", 0.0, 1e9),
        mem_total_mib=_number(entry, "mem_total", 0.0, 1e9),
        temperature_c=_number(entry, "temp", -273.0, 1000.0),
    )


_KERNEL_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}\Z")


def _kernel(entry: Any) -> KernelProcesses:
    if not isinstance(entry, dict):
        raise ProbeLineError("not an object")
    kernel_id = _text(entry.get("id"), "id", 128)
    if not _KERNEL_ID.match(kernel_id):
        raise ProbeLineError("kernel id is not a kernel id")
    gpus = tuple(int(_in_range(g, "gpus", 0, 4095)) for g in _list(entry, "gpus", MAX_GPUS))
    kind = entry.get("mem_kind")
    if kind not in ("pss", "rss"):
        raise ProbeLineError("mem_kind is neither pss nor rss")
    return KernelProcesses(
        kernel_id=kernel_id,
        pid=_required_int(entry, "pid", 1, 2**31),
        server_pid=_required_int(entry, "server", 1, 2**31),
        processes=_required_int(entry, "procs", 1, 1 << 20),
        cpu_percent=_number(entry, "cpu", 0.0, 100.0 * MAX_CORES),
        memory_bytes=_required_int(entry, "mem", 0, MAX_BYTES),
        memory_kind=kind,
        gpu_memory_mib=_number(entry, "gpu_mib", 0.0, 1e9) or 0.0,
        gpus=gpus,
    )


def _gpu_process(entry: Any) -> GpuProcess:
    if not isinstance(entry, dict):
        raise ProbeLineError("not an object")
    return GpuProcess(
        pid=_required_int(entry, "pid", 1, 2**31),
        gpu=_integer(entry, "gpu", 0, 4095),
        used_mib=_number(entry, "mib", 0.0, 1e9),
        user=_text(entry.get("user", ""), "user", 256),
        command=_command(entry),
    )


_ADDRESS = re.compile(r"[0-9A-Fa-f.:]{2,45}\Z")


def _listening(entry: Any) -> ListeningSocket:
    if not isinstance(entry, dict):
        raise ProbeLineError("not an object")
    address = _text(entry.get("address"), "address", 64)
    if not _ADDRESS.match(address):
        raise ProbeLineError("address is not an IP address")
    return ListeningSocket(
        port=_required_int(entry, "port", 1, 65535),
        address=address,
        pid=_integer(entry, "pid", 1, 2**31),
        command=_command(entry),
        kernel=_text(entry.get("kernel", ""), "kernel", 128),
        started=_number(entry, "started", 0, 1e11),
    )


def _required_int(data: dict, key: str, lo: int, hi: int) -> int:
    value = _integer(data, key, lo, hi)
    if value is None:
        raise ProbeLineError(f"{key} missing")
    return value


_JOB_FILE = re.compile(r"/\.local/state/jtui/jobs/(\d+(?:_\d+)?)/[^/]+\.json\Z")
MAX_SCHEDULER_TEXT = 256 * 1024


def _lines(value: Any, key: str) -> str:
    """Multi-line remote text: each line checked as `_text` checks a value (no control characters)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > MAX_SCHEDULER_TEXT:
        raise ProbeLineError(f"{key} is not a string of at most {MAX_SCHEDULER_TEXT} characters")
    return "\n".join(line for line in value.split("\n") if not CONTROL_CHARS.search(line))


def with_servers(scheduler: Scheduler | None, servers: tuple[JupyterServer, ...]) -> Scheduler | None:
    """Each running job with the server its runtime file describes (jobs the scheduler no longer lists have none)."""
    if scheduler is None:
        return None
    by_job = {s.job_id: s for s in servers if s.job_id}
    return replace(scheduler, jobs=tuple(replace(j, server=by_job.get(j.job_id)) for j in scheduler.jobs))


def _server(entry: Any) -> JupyterServer:
    """One runtime file entry: {"file", "mtime", "text"} (or "big" when it was too long)."""
    if not isinstance(entry, dict):
        raise RuntimeFileError("not an object")
    try:
        name = _text(entry.get("file"), "file name")
        mtime = _number(entry, "mtime", 0.0, MAX_TIME)
        text = entry.get("text", "")
        if entry.get("big") is True:
            raise RuntimeFileError("runtime file too large")
        text = _text(text, "text", MAX_RUNTIME_TEXT)
    except ProbeLineError as exc:
        raise RuntimeFileError(exc.reason) from None
    server = parse_runtime_text(text, name, mtime)
    job = _JOB_FILE.search(name)
    return replace(server, job_id=job.group(1)) if job else server


def _entry_label(entry: Any, position: int) -> str:
    name = entry.get("file") if isinstance(entry, dict) else None
    if isinstance(name, str) and len(name) < 4096 and not CONTROL_CHARS.search(name):
        return name.rsplit("/", 1)[-1]
    return f"entry {position}"


def parse_line(line: str) -> Sample:
    """One probe line to a Sample; raise ProbeLineError (reason, never the content) if unusable.

    Whole-line faults (bad JSON, wrong types, figures out of range) reject the
    line. A GPU or server entry that does not parse is left out on its own,
    its reason in Sample.dropped: one broken runtime file must not hide the
    host's other servers.
    """
    if not isinstance(line, str):
        raise ProbeLineError("not text")
    if len(line) > MAX_LINE:
        raise ProbeLineError(f"line too long ({len(line)} characters)")
    line = line.strip()
    if not line:
        raise ProbeLineError("empty line")
    data = strict_json(line, ProbeLineError)
    if not isinstance(data, dict):
        raise ProbeLineError("not a JSON object")
    version = data.get("v")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ProbeLineError("unknown probe line format")

    when = _number(data, "time", 0.0, MAX_TIME, required=True)
    os_name = _text(data.get("os"), "os", 64)
    if not os_name:
        raise ProbeLineError("os is empty")
    user = _text(data.get("user", ""), "user", 256)
    home = _text(data.get("home", ""), "home")
    dirs = tuple(_text(d, "runtime_dirs") for d in _list(data, "runtime_dirs", MAX_DIRS))
    cpu, per_core, cores = _cpu(data)
    load = _load(data)
    mem = _memory(data)
    gpu_error = _text(data.get("gpu_error", ""), "gpu_error", 1024)

    dropped: list[str] = []
    gpus: list[GpuStat] = []
    for position, entry in enumerate(_list(data, "gpus", MAX_GPUS)):
        try:
            gpus.append(_gpu(entry))
        except ProbeLineError as exc:
            dropped.append(f"gpu {position}: {exc.reason}")
    kernels = _entries(data, "kernels", MAX_KERNELS, _kernel, dropped)
    gpu_processes = _entries(data, "gpu_processes", MAX_GPU_PROCESSES, _gpu_process, dropped)
    listening = _entries(data, "listening", MAX_LISTENING, _listening, dropped)
    servers: list[JupyterServer] = []
    seen: set[tuple[int, int]] = set()
    for position, entry in enumerate(_list(data, "servers", MAX_SERVERS)):
        label = _entry_label(entry, position)
        try:
            server = _server(entry)
        except RuntimeFileError as exc:
            dropped.append(f"{label}: {exc}")
            continue
        if (server.pid, server.port) in seen:
            dropped.append(f"{label}: same server as an earlier runtime file")
            continue
        seen.add((server.pid, server.port))
        servers.append(server)
    located = with_addresses(tuple(servers), listening)
    scheduler = with_servers(parse_probe_text(_lines(data.get("scheduler", ""), "scheduler")), located)

    return Sample(
        time=when,
        os=os_name,
        cpu_percent=cpu,
        cpu_per_core=per_core,
        cores=cores,
        load=load,
        mem_total=mem["mem_total"],
        mem_used=mem["mem_used"],
        mem_available=mem["mem_available"],
        swap_total=mem["swap_total"],
        swap_used=mem["swap_used"],
        gpus=tuple(gpus),
        servers=located,
        remote_user=user,
        remote_home=home,
        runtime_dir=dirs[0] if dirs else "",
        runtime_dirs=dirs,
        gpu_error=gpu_error,
        kernel_processes=kernels,
        gpu_processes=gpu_processes,
        listening=listening,
        services=services_of(listening, located, kernels),
        scheduler=scheduler,
        dropped=tuple(dropped),
    )


def _entries(data: dict, key: str, limit: int, parse, dropped: list[str]) -> tuple:
    """Each entry of a list parsed on its own: a bad one is left out (said in `dropped`), not the line."""
    out = []
    for position, entry in enumerate(_list(data, key, limit)):
        try:
            out.append(parse(entry))
        except ProbeLineError as exc:
            dropped.append(f"{key} {position}: {exc.reason}")
    return tuple(out)
