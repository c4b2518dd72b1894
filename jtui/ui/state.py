"""One record per host: everything the screen shows about it, in one place.

A HostRecord is plain, frozen data. It changes only through the functions
below, which the host screen calls from its message handlers, one per kind
of event the core reports; widgets draw records and keep no copies. Being
frozen, a record that changed is a new object, which is what Textual's
reactive attributes compare.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from jtui.core.job_watch import ACTIVE
from jtui.core.model import HostState, HostStatus, HubState, Job, JupyterServer, Kernel, Sample, Service

if TYPE_CHECKING:  # types only: importing them would cost the first frame (tests/bench/bench_launch.py)
    from jtui.core.forwards import Forward
    from jtui.core.resolve import ResolvedHost

HISTORY = 150  # samples kept for the sparklines
STARTED_GRACE = 5  # samples a started server stays listed before the probe must have seen it


def _key(server: JupyterServer) -> tuple[int, int]:
    return (server.pid, server.port)


def job_row_key(job: Job) -> int:
    """A job row's key in the table, where servers and services are keyed by port: minus the job id."""
    return -int(job.job_id.split("_")[0])


@dataclass(frozen=True)
class HostRecord:
    """Everything the screen shows about one host; replaced, never changed, when an event comes in."""

    alias: str
    status: HostStatus
    resolved: ResolvedHost | None = None
    sample: Sample | None = None
    cpu_history: tuple[float, ...] = ()
    mem_history: tuple[float, ...] = ()
    stale: bool = False  # the servers listed are from before a reconnect
    started: tuple[tuple[JupyterServer, int], ...] = ()  # started by jtui, not yet sampled: (server, samples since)
    stopped: frozenset[tuple[int, int]] = frozenset()  # stopped or being stopped by jtui, still in the last sample (as a
    # server or, its runtime file gone but its process still shutting down, as a listening service: listed as neither)
    forwards: tuple[Forward, ...] = ()
    activity: str = ""  # what jtui is doing there right now, e.g. "starting Jupyter: ..."
    selected_port: int | None = None  # the server the user has (or jtui put) the cursor on
    kernels: tuple[tuple[int, tuple[Kernel, ...], str], ...] = ()  # (server port, its kernels, why the API is missing)
    selected_kernel: str | None = None  # the kernel id under the cursor in the kernel table
    hub: HubState | None = None  # the user's servers on the host's JupyterHub, when there is one
    submitted: tuple[Job, ...] = ()  # jobs jtui just submitted, until the scheduler lists them
    ended: frozenset[str] = frozenset()  # jobs jtui saw end (cancelled), until the scheduler stops listing them

    @property
    def servers(self) -> tuple[JupyterServer, ...]:
        """What the server table lists: the last sample's, plus those jtui just started, minus those it stopped
        (or whose job it saw end)."""
        listed = [s for s in (self.sample.servers if self.sample else ()) if _key(s) not in self.stopped]
        keys = {_key(s) for s in listed}
        servers = listed + [s for s, _ in self.started if _key(s) not in keys and _key(s) not in self.stopped]
        return tuple(s for s in servers if not (s.job_id and s.job_id in self.ended))

    @property
    def forward_ports(self) -> dict[int, int]:
        """Remote port -> local port of the live forwards."""
        return {f.remote_port: f.local_port for f in self.forwards}

    @property
    def gone_forwards(self) -> tuple[Forward, ...]:
        """Forwards to a port where nothing listens any more (stopped outside jtui, e.g. from
        JupyterLab's File menu). They stay bound, so a restart on that port answers at the same
        URL, and each is a row of its own, so the user sees the port held and f closes it."""
        if self.sample is None or self.stale:
            return ()
        # Every server the sample lists counts, one being stopped too: its forward goes with it.
        listed = {s.port for s in self.servers} | {s.port for s in self.sample.servers} | {s.port for s in self.sample.services}
        return tuple(f for f in self.forwards if f.remote_port not in listed)

    @property
    def selected_gone(self) -> Forward | None:
        """The forward row under the cursor whose server is gone, if the cursor is on one."""
        gone = self.gone_forwards
        chosen = next((f for f in gone if f.remote_port == self.selected_port), None)
        if chosen is None and gone and not (self.servers or self.services or self.jobs):
            return gone[0]  # the only rows there are: the cursor is on the first
        return chosen

    @property
    def services(self) -> tuple[Service, ...]:
        """The other things listening there, by port (a port the server table lists is not repeated)."""
        ports = {s.port for s in self.servers}
        return tuple(s for s in (self.sample.services if self.sample else ())
                     if s.port not in ports and (s.pid, s.port) not in self.stopped)

    @property
    def jobs(self) -> tuple[Job, ...]:
        """jtui's jobs with no server to list yet (pending, or Jupyter still starting): a row each."""
        sched = self.sample.scheduler if self.sample else None
        listed = [j for j in (sched.jobs if sched else ()) if j.jtui and j.server is None and j.state in ACTIVE]
        started = {s.job_id for s in self.servers if s.job_id}
        ids = {j.job_id for j in listed}
        rows = listed + [j for j in self.submitted if j.job_id not in ids]
        return tuple(j for j in rows if j.job_id not in started and j.job_id not in self.ended)

    @property
    def job_counts(self) -> tuple[int, int]:
        """(the user's jobs, jtui's Jupyter jobs among them), agreeing with the rows: the scheduler's last
        answer (up to one poll old), with the jobs jtui submitted or saw start since, without those it saw end."""
        sched = self.sample.scheduler if self.sample else None
        jtui = {j.job_id: j.jtui for j in (sched.jobs if sched else ())}
        for job_id in [j.job_id for j in self.submitted] + [s.job_id for s in self.servers if s.job_id]:
            jtui.setdefault(job_id, True)
        live = [job_id for job_id in jtui if job_id not in self.ended]
        return len(live), sum(jtui[job_id] for job_id in live)

    @property
    def selected_job(self) -> Job | None:
        """The job row under the cursor, if the cursor is on one."""
        return next((j for j in self.jobs if job_row_key(j) == self.selected_port), None)

    def place_of(self, server: JupyterServer | Service) -> str:
        """Where a server runs, as the user names it: the host, or a job's node (cn042, not its address)."""
        if isinstance(server, JupyterServer) and server.job_id:
            job = self.job_of(server)
            return job.node if job is not None and job.node else server.hostname or self.alias
        return self.alias

    def job_of(self, server: JupyterServer) -> Job | None:
        """The scheduler's line for the job a server runs in (until squeue lists it: as jtui's wait last saw it)."""
        if not server.job_id:
            return None
        sched = self.sample.scheduler if self.sample else None
        listed = sched.job(server.job_id) if sched else None
        return listed or next((j for j in self.submitted if j.job_id == server.job_id), None)

    @property
    def selected_service(self) -> Service | None:
        """The service under the cursor (the first service when there is no server to fall back on)."""
        if self.selected_job is not None or self.selected_gone is not None:
            return None
        servers, services = self.servers, self.services
        if any(s.port == self.selected_port for s in servers):
            return None
        chosen = next((s for s in services if s.port == self.selected_port), None)
        return chosen or (services[0] if services and not servers else None)

    @property
    def selected_server(self) -> JupyterServer | None:
        """The server under the cursor; the first one when the cursor is on neither a server nor a service."""
        servers = self.servers
        chosen = next((s for s in servers if s.port == self.selected_port), None)
        if chosen is None and (self.selected_service is not None or self.selected_job is not None
                               or self.selected_gone is not None):
            return None
        return chosen or (servers[0] if servers else None)

    @property
    def selected_item(self) -> JupyterServer | Service | None:
        """What c, o and f act on: the server or service under the cursor."""
        return self.selected_server or self.selected_service

    def kernels_of(self, port: int | None) -> tuple[tuple[Kernel, ...], str]:
        """The kernels of the server at `port`, and why the server's own account of them is missing ("")."""
        return next(((k, note) for p, k, note in self.kernels if p == port), ((), ""))

    @property
    def selected_kernel_of_server(self) -> Kernel | None:
        server = self.selected_server
        kernels, _ = self.kernels_of(server.port if server else None)
        chosen = next((k for k in kernels if k.id == self.selected_kernel), None)
        return chosen or (kernels[0] if kernels else None)

    @property
    def cpu_percent(self) -> float | None:
        """The last CPU figure: a sample without one (the first, a stalled clock) keeps the one before."""
        return self.cpu_history[-1] if self.cpu_history else None

    @property
    def connected(self) -> bool:
        return self.status.state == HostState.CONNECTED


def new_record(alias: str) -> HostRecord:
    return HostRecord(alias, HostStatus(alias))


def with_status(record: HostRecord, status: HostStatus) -> HostRecord:
    stale = record.stale or status.state == HostState.RECONNECTING
    return replace(record, status=status, stale=stale)


def _still_stopping(stopped: frozenset[tuple[int, int]], seen: set, sample: Sample) -> frozenset[tuple[int, int]]:
    """The servers jtui stopped (or is stopping) that are still there: in the sample as a server or,
    their runtime file gone before their process, as a listening service; or just started, not
    sampled yet (in `seen` too). Nothing to look for on most samples of most hosts."""
    if not stopped:
        return stopped
    return stopped & (seen | {(v.pid, v.port) for v in sample.services})


def with_sample(record: HostRecord, sample: Sample) -> HostRecord:
    seen = {_key(s) for s in sample.servers}
    started = tuple((s, n + 1) for s, n in record.started if _key(s) not in seen and n + 1 <= STARTED_GRACE)
    cpu, mem = record.cpu_history, record.mem_history
    if sample.cpu_percent is not None:  # a point on both sparklines, so they stay aligned in time
        cpu = (*cpu[-(HISTORY - 1):], sample.cpu_percent)
        mem = (*mem[-(HISTORY - 1):], sample.mem_percent or 0.0)
    listed = {j.job_id for j in (sample.scheduler.jobs if sample.scheduler else ())}
    submitted = tuple(j for j in record.submitted if j.job_id not in listed)
    return replace(
        record, sample=sample, cpu_history=cpu, mem_history=mem, stale=False,
        started=started, stopped=_still_stopping(record.stopped, seen | {_key(s) for s, _ in started}, sample),
        submitted=submitted,
        ended=record.ended & listed,
    )


def with_started(record: HostRecord, server: JupyterServer) -> HostRecord:
    """A server jtui started is listed, and under the cursor, the moment the start returns.

    A job's server: the job stays in `submitted` until squeue lists it, so its row gives way to
    the server's while job_of still names its node.
    """
    started = tuple(item for item in record.started if _key(item[0]) != _key(server)) + ((server, 0),)
    return replace(record, started=started, selected_port=server.port, activity="")


def with_submitted(record: HostRecord, job: Job) -> HostRecord:
    """A job jtui submitted is a row, under the cursor, the moment sbatch answers."""
    submitted = tuple(j for j in record.submitted if j.job_id != job.job_id) + (job,)
    return replace(record, submitted=submitted, selected_port=job_row_key(job))


def with_job_seen(record: HostRecord, job: Job) -> HostRecord:
    """A submitted job as its wait last polled it (running on cn1): its row says so before squeue's next answer."""
    if not any(j.job_id == job.job_id for j in record.submitted):
        return record  # its server answered already, or it is gone
    submitted = tuple(replace(job, jtui=True) if j.job_id == job.job_id else j for j in record.submitted)
    return replace(record, submitted=submitted)


def with_job_gone(record: HostRecord, job_id: str, ended: bool = True) -> HostRecord:
    """A job cancelled, or ended before its server answered: its rows go at once (the notice says
    why), though the scheduler's last answer, up to one poll old, still lists it as running."""
    submitted = tuple(j for j in record.submitted if j.job_id != job_id)
    return replace(record, submitted=submitted, activity="", ended=(record.ended | {job_id}) if ended else record.ended)


def with_stopping(record: HostRecord, server: JupyterServer) -> HostRecord:
    """A server the user asked to stop leaves the table at once: while it shuts down, its runtime
    file goes before its socket, and it would come back for a moment as a listening service."""
    return replace(record, stopped=record.stopped | {_key(server)}, activity=f"stopping the server on port {server.port}…")


def without_stopping(record: HostRecord, server: JupyterServer) -> HostRecord:
    """The stop failed: the server is listed again, under the cursor as when x was pressed."""
    return replace(record, stopped=record.stopped - {_key(server)}, selected_port=server.port)


def with_stopped(record: HostRecord, server: JupyterServer) -> HostRecord:
    started = tuple(item for item in record.started if _key(item[0]) != _key(server))
    return replace(record, started=started, stopped=record.stopped | {_key(server)}, activity="")


def with_forwards(record: HostRecord, forwards: tuple[Forward, ...]) -> HostRecord:
    return replace(record, forwards=forwards)


def with_activity(record: HostRecord, text: str) -> HostRecord:
    return replace(record, activity=text)


def with_resolved(record: HostRecord, resolved: ResolvedHost) -> HostRecord:
    return replace(record, resolved=resolved)


def with_selected_port(record: HostRecord, port: int | None) -> HostRecord:
    return replace(record, selected_port=port)


def with_kernels(record: HostRecord, port: int, kernels: tuple[Kernel, ...], note: str) -> HostRecord:
    """A server's kernels as listed now; a kernel whose CPU figure is missing this time keeps its last one."""
    before = {k.id: k for k in record.kernels_of(port)[0]}
    kernels = tuple(
        replace(k, cpu_percent=before[k.id].cpu_percent)
        if k.cpu_percent is None and k.id in before and before[k.id].pid == k.pid else k
        for k in kernels
    )
    live = {s.port for s in record.servers}
    kept = tuple(item for item in record.kernels if item[0] != port and item[0] in live)
    return replace(record, kernels=kept + ((port, kernels, note),))


def with_hub(record: HostRecord, hub: HubState) -> HostRecord:
    return replace(record, hub=hub)


def with_selected_kernel(record: HostRecord, kernel_id: str | None) -> HostRecord:
    return replace(record, selected_kernel=kernel_id)
