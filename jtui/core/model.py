"""Plain data passed between the core and the UI: samples, servers, host states."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuStat:
    """One GPU as nvidia-smi reports it; a figure it does not give is None."""

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
    address: str = ""  # where it listens, from the host's socket table ("" when not seen there)
    # Without a token: what the server said to a request with no credentials, "none" (it let
    # the request in) or "password" (it did not); "" until asked. Runtime files say
    # `"password": false` for a password set through PasswordIdentityProvider, so they cannot tell.
    login: str = ""
    job_id: str = ""  # the scheduler job it runs in (its pid is then on the job's node, not this host)

    @property
    def exposed(self) -> bool:
        """Listening on an address other machines can reach (0.0.0.0, ::, a public one)."""
        if self.job_id:  # on a compute node's own address: reachable inside the cluster, by design
            return False
        return exposed(self.address or self.hostname)

    @property
    def auth(self) -> str:
        """"token", "password" or "none": what a visitor needs to get in."""
        if self.token:
            return "token"
        return "password" if self.password or self.login == "password" else "none"

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


_LOOPBACK = ("127.", "::1", "::ffff:127.", "localhost")


def exposed(address: str) -> bool:
    """True unless `address` is a loopback one: anything else is reachable from other machines."""
    return not address.strip("[]").lower().startswith(_LOOPBACK)


@dataclass(frozen=True)
class ListeningSocket:
    """A TCP socket this user's process listens on, as /proc/net/tcp{,6} says."""

    port: int
    address: str  # "127.0.0.1", "0.0.0.0", "::", "10.1.2.3" ...
    pid: int | None  # None: jtui could not see which process holds it
    command: str  # its command line ("" when unreadable)
    kernel: str = ""  # the kernel id when a kernel's process listens (a dashboard started in a notebook)
    started: float | None = None  # when its process started, epoch seconds (None: not known)

    @property
    def exposed(self) -> bool:
        return exposed(self.address)


@dataclass(frozen=True)
class Service:
    """Something the user runs that listens on a port: TensorBoard, a dashboard, a hub, plain HTTP."""

    port: int
    address: str
    pid: int | None
    command: str
    kind: str  # "TensorBoard", "JupyterHub", ..., "HTTP", "TCP"; "" until jtui has asked the port
    path: str = "/"  # what its URL needs after the port ("/hub/" for JupyterHub, "/status" for Dask)
    bind_hint: str = ""  # how to make it listen on 127.0.0.1 only, for the exposure line
    kernel: str = ""
    started: float | None = None  # when its process started, epoch seconds (None: not known)

    @property
    def exposed(self) -> bool:
        return exposed(self.address)

    @property
    def hostname(self) -> str:
        """Where a forward connects on the host (see urls.remote_connect_host)."""
        return self.address

    @property
    def web(self) -> bool:
        """Opened in a browser (everything but a port that does not speak HTTP)."""
        return self.kind != "TCP"


@dataclass(frozen=True)
class Partition:
    """One line of `sinfo`: a partition's nodes and GPUs at a glance."""

    name: str
    available: bool  # "up"
    default: bool
    nodes_idle: int
    nodes_total: int
    gpus_total: int = 0
    gpus_used: int = 0


@dataclass(frozen=True)
class Job:
    """One of the user's jobs as the scheduler lists it (`squeue --me`)."""

    job_id: str
    name: str
    state: str  # PENDING, RUNNING, COMPLETING, ... as the scheduler says it
    reason: str = ""  # why it waits (Priority, Resources, QOSMaxJobsPerUserLimit, ...); "" when none
    node: str = ""
    partition: str = ""
    elapsed: int = 0  # seconds
    time_left: int | None = None  # seconds before the wall-clock limit; None: no limit
    expected_start: str = ""  # the scheduler's estimate for a pending job ("" when it has none)
    jtui: bool = False  # a Jupyter job jtui submitted (its name says so)
    server: JupyterServer | None = None  # the Jupyter server it runs, once it has written its runtime file


@dataclass(frozen=True)
class Scheduler:
    """The cluster as the login node sees it; `error` when its controller does not answer."""

    kind: str  # "slurm"
    partitions: tuple[Partition, ...] = ()
    jobs: tuple[Job, ...] = ()
    error: str = ""
    path: str = ""  # the login shell's PATH, where the scheduler's commands were found
    pending: bool = False  # there, but its first answer has not come yet

    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.job_id == job_id), None)


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
    listening: tuple[ListeningSocket, ...] = ()
    services: tuple[Service, ...] = ()  # the listening sockets that are neither Jupyter servers nor system daemons
    scheduler: "Scheduler | None" = None  # the batch scheduler seen from this host (None: none there)
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


@dataclass(frozen=True)
class HubServer:
    """One of the user's servers on the hub ("" is the default server)."""

    name: str
    ready: bool
    pending: str  # "spawn", "stop" or ""
    url: str  # the path the proxy serves it under: /user/NAME/
    started: str = ""
    last_activity: str = ""


@dataclass(frozen=True)
class HubState:
    """What the screen shows under a hub: whose servers, which, or why it cannot say."""

    port: int
    user: str = ""
    servers: tuple[HubServer, ...] = ()
    note: str = ""  # why the servers are not listed (no token, refused, ...)

    @property
    def default(self) -> HubServer | None:
        return next((s for s in self.servers if s.name == ""), None)


@dataclass(frozen=True)
class Kernel:
    """One kernel of one server: the API's view and the probe's, joined."""

    id: str
    name: str = ""  # the kernel spec: python3, ir, ...
    path: str = ""  # the notebook (or console) it serves; "" when no session names it
    kind: str = ""  # "notebook", "console", ... from the session
    state: str = ""  # idle, busy, starting, dead ... ("" when the API was not asked)
    last_activity: float | None = None  # epoch seconds
    connections: int | None = None
    pid: int | None = None  # the kernel's process on the host (None: the probe did not find it)
    cpu_percent: float | None = None
    memory_bytes: int | None = None
    memory_kind: str = ""
    gpu_memory_bytes: int = 0
    gpus: tuple[int, ...] = ()
    processes: int = 0

    def idle_for(self, now: float) -> float | None:
        if self.state != "idle" or self.last_activity is None:
            return None
        return max(0.0, now - self.last_activity)
