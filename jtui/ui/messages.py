"""What the host screen hears: the core's events (via the bridge) and its workers' results.

Each is a small dataclass message (Textual's Message initialises itself in
__post_init__) carrying plain data; the screen's handler for it is the
only place the matching change to a HostRecord is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from jtui.core.model import HostStatus, HubState, Job, JupyterServer, Kernel, Sample, Service

if TYPE_CHECKING:  # types only: importing them would cost the first frame (tests/bench/bench_launch.py)
    from jtui.core.forwards import Forward
    from jtui.core.resolve import ResolvedHost


@dataclass
class HostStatusChanged(Message):
    """A host's connection changed state: connecting, connected, failed (with its reason), needing input."""

    status: HostStatus


class SampleBatch:
    """Samples waiting for the screen. While a message for them is on its way, new samples join
    the same batch instead of queueing messages of their own; a host more than MAX_BEHIND samples
    ahead of the screen (a starved terminal, a suspended process) keeps only its newest ones, so
    memory stays bounded however far behind the screen falls."""

    MAX_BEHIND = 10

    def __init__(self) -> None:
        self.items: list[tuple[str, Sample]] = []  # (host, sample), oldest first
        self.posted = False  # a HostsSampled carrying this batch is in the queue
        self.dropped = 0

    def add(self, alias: str, sample: Sample) -> None:
        self.items.append((alias, sample))
        mine = [i for i, (name, _) in enumerate(self.items) if name == alias]
        if len(mine) > self.MAX_BEHIND:
            del self.items[mine[0]]
            self.dropped += 1

    def take(self) -> list[tuple[str, Sample]]:
        items, self.items, self.posted = self.items, [], False
        return items


@dataclass
class HostsSampled(Message):
    """Samples of one or more hosts, gathered for a moment so 100 hosts are not 100 messages."""

    batch: SampleBatch


@dataclass
class HostNotice(Message):
    """Something the user should read about a host (a toast), from the core."""

    alias: str
    text: str
    error: bool = False


@dataclass
class ForwardsChanged(Message):
    """A host's local forwards now, after one was bound, closed or lost."""

    alias: str
    forwards: tuple[Forward, ...]


@dataclass
class HostResolved(Message):
    """Where a host's alias leads (user, address, port, jumps), read from the SSH config for the header."""

    alias: str
    resolved: ResolvedHost


@dataclass
class ActivityChanged(Message):
    """What jtui is doing on a host now ("" when done): start and stop progress."""

    alias: str
    text: str


@dataclass
class ServerStarted(Message):
    """A Jupyter server jtui started answers: listed at once, before the probe sees it."""

    alias: str
    server: JupyterServer
    as_root: bool


@dataclass
class ServerStopped(Message):
    """A server the user stopped has gone: its row goes at once, before the probe's next sample."""

    alias: str
    server: JupyterServer


@dataclass
class UrlReady(Message):
    """A server's or service's localhost URL, forwarded and ready to hand over (copy, or open with `browser`)."""

    alias: str
    server: JupyterServer | Service
    url: str
    forward: Forward
    browser: bool = False
    bound_now: bool = False  # the forward was bound for this URL (not one bound before)


@dataclass
class ForwardToggled(Message):
    """`f` bound a forward to a server or service, or unbound it."""

    alias: str
    server: JupyterServer | Service
    forward: Forward | None  # None: unbound


@dataclass
class HubListed(Message):
    """The user's servers on a host's JupyterHub (or why they cannot be listed)."""

    alias: str
    hub: HubState


@dataclass
class JobSubmitted(Message):
    """sbatch took a Jupyter job: its row appears at once, pending."""

    alias: str
    job: Job


@dataclass
class JobSeen(Message):
    """The wait for a submitted job's Jupyter polled it: its row shows what Slurm said (running on cn1)."""

    alias: str
    job: Job


@dataclass
class JobGone(Message):
    """A job cancelled by the user, or ended before its server answered (or a scancel that failed)."""

    alias: str
    job_id: str
    text: str
    error: bool = False
    ended: bool = True  # False: scancel failed, the job may well still run


@dataclass
class HubActed(Message):
    """The hub started or stopped the user's own server (its answer, after the wait)."""

    alias: str
    action: str  # "started" or "stopped"
    url: str  # the server's path on the hub


@dataclass
class KernelsListed(Message):
    """A server's kernels (and, in `note`, why the API's part of them is missing)."""

    alias: str
    port: int
    kernels: tuple[Kernel, ...]
    note: str = ""


@dataclass
class KernelActed(Message):
    """A kernel action the user asked for is done (interrupt, restart, shut down)."""

    alias: str
    port: int
    kernel: Kernel
    action: str
