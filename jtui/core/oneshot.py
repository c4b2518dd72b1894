"""`jtui status` and `jtui open` without the TUI: one host, one job.

`jtui open` keeps its session up like the TUI does: when the connection
drops, the Link reconnects with backoff and the forward comes back on the
same local port, so the URL already printed works again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from jtui.core.forwards import Forward
from jtui.core.inventory import Inventory
from jtui.core.model import HostState, HostStatus, JupyterServer, Sample, Service
from jtui.core.session import HostSession
from jtui.core.status_report import StatusReport

Say = Callable[[str], None]


class OneShotError(Exception):
    """The host cannot be reached or the job cannot be done; the message says why."""


class _Narrator:
    """A listener for the command line: says what changes, on the caller's `say`."""

    def __init__(self, say: Say | None) -> None:
        self.say = say or (lambda text: None)
        self.status: HostStatus | None = None
        self.forwards: tuple[Forward, ...] = ()

    def session_status(self, status: HostStatus) -> None:
        before, self.status = self.status, status
        if before is None or before.state == status.state:
            return
        if status.state == HostState.RECONNECTING and before.state == HostState.CONNECTED:
            self.say(f"connection lost ({status.reason or 'no reason given'}); reconnecting")
        elif status.state == HostState.FAILED and before.state in (HostState.RECONNECTING, HostState.FAILED):
            self.say(f"still down: {status.reason}; retrying")
        elif status.state == HostState.NEEDS_INPUT:
            why = status.reason.split(": press enter")[0]  # the screen's way on; a command has no enter key
            self.say(f"{why}: the forward stays down until the command runs again")
        elif status.state == HostState.CONNECTED and before.state in (HostState.RECONNECTING, HostState.FAILED):
            ports = ", ".join(f"localhost:{f.local_port}" for f in self.forwards) or "no forward"
            self.say(f"reconnected; {ports} answers again")

    def session_sample(self, alias: str, sample: Sample) -> None:
        pass

    def session_notice(self, alias: str, text: str, error: bool = False) -> None:
        self.say(text)

    def session_forwards(self, alias: str, forwards: tuple[Forward, ...]) -> None:
        self.forwards = forwards

    def session_kernels(self, alias: str, port: int, kernels, note: str) -> None:
        pass

    def session_hub(self, alias: str, hub) -> None:
        pass


def unknown_host(inventory: Inventory, alias: str) -> str:
    """What to say about an alias no file defines, and what to do instead."""
    from jtui.core.inventory import sources_text

    known = ", ".join(inventory.aliases[:10]) + (", ..." if len(inventory.aliases) > 10 else "")
    hosts = f"the hosts are {known} (`jtui hosts` lists them)" if known else "there are no hosts yet"
    return (f"unknown host {alias!r}: {hosts}, read from {sources_text(inventory)}. Add a `Host {alias}` entry "
            "there, name another file with --config FILE, or add --demo to try this machine as host `demo`.")


@asynccontextmanager
async def with_demo(inventory: Inventory, wanted: bool) -> AsyncIterator[Inventory]:
    """The inventory, with host `demo` (this machine, over jtui's embedded SSH server) while the block runs."""
    if not wanted:
        yield inventory
        return
    from jtui.core.demo import DEMO_ALIAS, start_demo_server

    server = await start_demo_server()
    try:
        yield inventory.with_own_host(DEMO_ALIAS, server.config_file)
    finally:
        await server.close()


def make_session(inventory: Inventory, alias: str, say: Say | None = None, probe: bool = False) -> HostSession:
    """The host's session; it asks for passphrases, passwords and codes on the terminal when there is one."""
    from jtui.core.tty_prompt import terminal_prompter

    if alias not in inventory.aliases:
        raise OneShotError(unknown_host(inventory, alias))
    settings = inventory.settings
    return HostSession(alias, inventory.config_files_for(alias), settings.for_host(alias), settings.refresh,
                       _Narrator(say), terminal_prompter(), probe=probe, blocked=inventory.blocker(alias))


async def take_sample(session: HostSession, interval: float, timeout: float = 30, cpu: bool = True) -> Sample:
    """The first sample, or with `cpu` the first with a real CPU figure (one interval after start)."""
    from jtui.core.probe import Probe, ProbeDied

    probe = Probe(session.remote, interval, setup=session.host_settings.setup or "")
    try:
        async with asyncio.timeout(timeout):
            async for sample in probe.samples():
                if sample.scheduler is not None and sample.scheduler.pending:
                    continue  # the cluster's first answer is a sample or two away
                if not cpu or sample.cpu_percent is not None or not sample.supported:
                    return sample
    except ProbeDied as exc:
        raise OneShotError(f"{session.alias}: the probe failed: {exc}") from None
    except TimeoutError:
        raise OneShotError(f"{session.alias}: no sample within {timeout:g} s") from None
    finally:
        await probe.close()
    raise OneShotError(f"{session.alias}: the probe ended without a sample")


async def status(inventory: Inventory, alias: str) -> StatusReport:
    """One host's figures, servers and their kernels (the API's view, when the server lets jtui ask)."""
    from jtui.core.kernels import kernels_of

    session = make_session(inventory, alias)
    await session.connect_once()
    try:
        sample = await named(session, await take_sample(session, min(1.0, inventory.settings.refresh)))
        kernels = {}
        for server in sample.servers:
            kernels[server.port] = await kernels_of(session.conn, server, sample.kernel_processes)
        return StatusReport(sample, kernels)
    finally:
        await session.close()


async def named(session: HostSession, sample: Sample) -> Sample:
    """The sample with every service named and every server's login known (asked over the connection)."""
    from jtui.core.naming import ask_all

    return await ask_all(sample, session.conn)


def newest(servers: tuple[JupyterServer, ...]) -> JupyterServer | None:
    return max(servers, key=lambda s: (s.started or 0, s.pid), default=None)


@dataclass
class Opened:
    session: HostSession
    server: JupyterServer | Service
    url: str
    forward: Forward
    started: bool

    @property
    def local_port(self) -> int:
        return self.forward.local_port


def launcher_of(session: HostSession, sample: Sample, wanted: str | None) -> str:
    """"slurm" or "login": the flag, else config.toml, else the answer given in jtui, else the login node."""
    from jtui.core import choices

    chosen = wanted or session.host_settings.launcher or choices.load(session.alias).get("launcher")
    if chosen == "slurm" and sample.scheduler is None:
        raise OneShotError(f"{session.alias} has no Slurm (sbatch and squeue are not on its login shell's PATH)")
    return chosen if chosen in ("slurm", "login") else "login"


async def open_server(
    inventory: Inventory, alias: str, port: int | None = None, say: Say | None = None,
    launcher: str | None = None, request=None, on_job=None,
) -> Opened:
    """Reuse the newest running server or start one, then forward it and keep the link up; the caller closes.

    On a Slurm host (`launcher` "slurm", or the host's settings say so) the
    server is a job's: a running one of jtui's is reused, else one is
    submitted (`request` over [hosts.NAME.slurm]) and followed until it
    answers; `on_job(job_id)` hears its id as soon as sbatch answers.
    """
    from jtui.core.urls import localhost_url

    async def choose(session: HostSession):
        sample = await take_sample(session, 0.2, cpu=False)  # the servers are all it needs
        session.last_sample = sample
        how = launcher_of(session, sample, launcher)
        server = newest(tuple(s for s in sample.servers if bool(s.job_id) == (how == "slurm")))
        if server is not None:
            return server, localhost_url, False
        if how == "slurm":
            return await _submit_and_wait(session, request, say, on_job), localhost_url, True
        if sample.scheduler is not None and say:
            say("this host has Slurm: --slurm runs Jupyter as a batch job on a compute node instead")
        return (await session.start_jupyter(progress=say)).server, localhost_url, True

    return await _forwarded(inventory, alias, port, say, choose)


async def _forwarded(inventory: Inventory, alias: str, port: int | None, say: Say | None, choose) -> Opened:
    """Connect, let `choose(session)` say what to forward (and how its URL reads), forward it, keep the link up.

    The session is closed on any failure, Ctrl-C included; on success the caller closes it.
    """
    session = make_session(inventory, alias, say)
    await session.connect_once()
    try:
        item, url_of, started = await choose(session)
        forward = await session.forward(item, first_choice=port)
        session.keep_up()
        return Opened(session, item, url_of(item, forward.local_port), forward, started)
    except BaseException:
        await session.close()
        raise


async def watch_far_end(session: HostSession, forward: Forward, what: str, say: Say, every: float) -> None:
    """Say when nothing listens at the forward's far end any more, and when something does again (until cancelled).

    A browser through the forward then meets a closed connection with no
    reason given (`ssh -L` prints "connect failed" on every attempt). The
    forward stays bound: a server started again on that port answers at the
    URL already printed. One channel opened and closed per look, no command.
    """
    import asyncssh

    listening = True
    while True:
        await asyncio.sleep(every)
        conn = session.conn
        if conn is None:
            continue  # the link is down: the narrator says so
        try:
            _, writer = await asyncio.wait_for(conn.open_connection(forward.remote_host, forward.remote_port), every)
        except asyncssh.ChannelOpenError as exc:
            if exc.code != asyncssh.OPEN_CONNECT_FAILED:
                continue
            now = False
        except (OSError, asyncio.TimeoutError, asyncssh.Error):
            continue  # the link itself is in trouble: the narrator says so
        else:
            writer.close()
            now = True
        if now == listening:
            continue
        listening = now
        if listening:
            say(f"remote port {forward.remote_port} answers again, and so does localhost:{forward.local_port}")
        else:
            say(f"{what} on remote port {forward.remote_port} stopped; localhost:{forward.local_port} stays bound "
                "until Ctrl-C, and answers again if a server starts on that port")


async def _submit_and_wait(session: HostSession, request, say: Say | None, on_job) -> JupyterServer:
    from jtui.core import choices
    from jtui.core.schedulers.slurm import JobRequest, SubmitError

    if session.scheduler is not None and session.scheduler.error:
        raise OneShotError(session.scheduler.error)
    base = JobRequest.from_dict(choices.load(session.alias).get("slurm")).over(
        JobRequest.from_settings(session.host_settings.slurm))
    try:
        job_id = await session.submit_job((request or JobRequest()).over(base))
    except (SubmitError, ValueError) as exc:
        raise OneShotError(f"sbatch refused the job: {exc}") from None
    if on_job:
        on_job(job_id)
    if say:
        say(f"submitted job {job_id}")
    return (await session.wait_job(job_id, say)).server


async def open_service(
    inventory: Inventory, alias: str, wanted: str, port: int | None = None, say: Say | None = None
) -> Opened:
    """`jtui open HOST --service KIND_OR_PORT`: forward a running service and keep the link up; the caller closes."""
    from jtui.core.services import describe, find_service
    from jtui.core.urls import service_url

    async def choose(session: HostSession):
        sample = await named(session, await take_sample(session, 0.2, cpu=False))
        service = find_service(sample.services, wanted)
        if service is None:
            running = ", ".join(describe(s) for s in sample.services)
            there = f"it runs {running}" if running else "jtui sees nothing else listening there"
            raise OneShotError(f"no service {wanted!r}: {there} (jtui open {alias} without --service opens Jupyter)")
        return service, service_url, False

    return await _forwarded(inventory, alias, port, say, choose)
