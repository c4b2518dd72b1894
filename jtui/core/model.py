"""Plain data passed between the core and the UI: samples, servers, host states."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuStat:
    index: int
    name: str
    util_percent: float | None
    mem_used_mib: float | None
    mem_total_mib: float | None
    temperature_c: float | None


@dataclass(frozen=True)
class JupyterServer:
    """A running Jupyter server, as its runtime file describes it."""

    port: int
    pid: int
    url: str
    base_url: str = "/"
    token: str = ""
    root_dir: str = ""
    version: str = ""
    started: float | None = None  # epoch seconds, from the runtime file or its mtime
    hostname: str = "localhost"
    secure: bool = False
    password: bool = False
    kind: str = "jpserver"  # "jpserver" (Jupyter Server) or "nbserver" (classic Notebook)
    runtime_file: str = ""

    def __repr__(self) -> str:  # never print a token by accident
        return f"JupyterServer(port={self.port}, pid={self.pid}, root_dir={self.root_dir!r}, kind={self.kind})"


@dataclass(frozen=True)
class KernelProcesses:
    """A kernel as the probe sees it from outside: its process tree below a server, and what it costs."""

    kernel_id: str  # from the kernel-ID.json on its command line
    pid: int  # the topmost process naming that file
    server_pid: int
    processes: int  # the kernel and its children (DataLoader workers, ...)
    cpu_percent: float | None  # of one core, summed over the processes; None on the first sample
    memory_bytes: int  # PSS where it could be read, else RSS, summed
    memory_kind: str  # "pss" or "rss"
    gpu_memory_mib: float = 0.0
    gpus: tuple[int, ...] = ()


@dataclass(frozen=True)
class GpuProcess:
    """A process holding GPU memory that belongs to no kernel jtui knows."""

    pid: int
    gpu: int | None
    used_mib: float | None
    user: str
    command: str


@dataclass(frozen=True)
class Sample:
    """One probe line: the state of a host at one moment."""

    time: float  # remote epoch seconds
    os: str = "Linux"  # uname -s; anything else has no cpu/mem figures
    cpu_percent: float | None = None
    cpu_per_core: tuple[float, ...] = ()
    cores: int | None = None
    load: tuple[float, float, float] | None = None
    mem_total: int | None = None  # bytes
    mem_used: int | None = None
    mem_available: int | None = None
    swap_total: int | None = None
    swap_used: int | None = None
    gpus: tuple[GpuStat, ...] = ()
    servers: tuple[JupyterServer, ...] = ()
    remote_user: str = ""
    remote_home: str = ""
    runtime_dir: str = ""  # the first of runtime_dirs: where servers jtui starts write
    runtime_dirs: tuple[str, ...] = ()  # every dir the probe looked in, by preference
    gpu_error: str = ""  # nvidia-smi exists but failed (driver gone, ...): its message
    kernel_processes: tuple[KernelProcesses, ...] = ()
    gpu_processes: tuple[GpuProcess, ...] = ()
    dropped: tuple[str, ...] = ()  # entries left out of this sample, and why (for the log)

    @property
    def supported(self) -> bool:
        return self.os == "Linux"

    @property
    def mem_percent(self) -> float | None:
        if self.mem_total and self.mem_used is not None:
            return 100.0 * self.mem_used / self.mem_total
        return None


class HostState(enum.Enum):
    NOT_CONNECTED = "not connected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    NEEDS_INPUT = "needs input"
    FAILED = "failed"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True)
class HostStatus:
    """What the UI shows about a host's connection."""

    alias: str
    state: HostState = HostState.NOT_CONNECTED
    reason: str = ""  # for FAILED / NEEDS_INPUT: said so a person understands
    attempt: int = 0
    next_retry: float | None = None  # monotonic time of the next reconnect
