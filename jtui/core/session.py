"""HostSession: one host's connection (kept up), probe, forwards and Jupyter servers.

It puts the parts together: the Dialer gets in, the Link stays connected,
the probe streams samples while connected, the ForwardManager keeps
forwards on their local ports across reconnects, and jupyter.py starts and
stops servers through the transport. It reports through a listener with
plain method calls and plain data, so the UI stays a reactor and
`jtui open` uses the very same class without Textual.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from jtui.core.dial import Dialer, Prompter
from jtui.core.forwards import Forward, ForwardManager
from jtui.core.kernels import Kernel, KernelApi, kernels_of
from jtui.core.link import BACKOFF_FIRST, BACKOFF_MAX, Link
from jtui.core.logs import register_secret, scrub
from jtui.core.hub import HubApi, HubError, HubServer, HubState, hub_token
from jtui.core.job_watch import JobWatch
from jtui.core.model import HostStatus, JupyterServer, Sample, Service
from jtui.core.remote import MAX_CHANNELS, Remote
from jtui.core.resolve import ResolvedHost
from jtui.core.naming import Namer
from jtui.core.services import hub_of
from jtui.core.settings import HostSettings

log = logging.getLogger(__name__)

ENDED_TAIL_LINES, ENDED_TAIL_WIDTH = 6, 100  # of an ended job's output, in its notice


class SessionListener(Protocol):
    def session_status(self, status: HostStatus) -> None: ...
    def session_sample(self, alias: str, sample: Sample) -> None: ...
    def session_notice(self, alias: str, text: str, error: bool = False) -> None: ...
    def session_forwards(self, alias: str, forwards: tuple[Forward, ...]) -> None: ...
    def session_kernels(self, alias: str, port: int, kernels: tuple[Kernel, ...], note: str) -> None: ...
    def session_hub(self, alias: str, hub: HubState) -> None: ...


class HostSession:
    """The connection, probe and forwards of one host."""

    def __init__(
        self,
        alias: str,
        config_files: list[str],
        host_settings: HostSettings,
        refresh: float,
        listener: SessionListener,
        prompter: Prompter | None = None,
        *,
        probe: bool = True,
        blocked: str | None = None,
    ) -> None:
        self.alias = alias
        self.host_settings = host_settings
        self.refresh = refresh
        self.listener = listener
        self.dialer = Dialer(alias, config_files, prompter, blocked)
        self.link = Link(self.dialer, listener.session_status, self._notice, self._up, self._serve)
        self.forwards = ForwardManager()
        self.remote: Remote | None = None
        self.last_sample: Sample | None = None
        self.runtime_dirs: list[str] = []  # where servers jtui started write their runtime files
        self._channels = asyncio.Semaphore(MAX_CHANNELS)
        self._probing = probe
        self._probe = None  # the running Probe
        self._restart_probe = False
        self.watching_kernels = False  # the screen shows this host: ask its servers for their kernels
        self.hub_port: int | None = None  # the JupyterHub to ask, of several (None: the first)
        self._apis: dict[int, KernelApi] = {}  # server pid -> its kernel API (one kept-alive channel each)
        self._kernels_task: asyncio.Task | None = None
        self._namer = Namer()  # what the probe cannot see: HTTP or not, a password or not
        self._hub_owner: str | None = None  # the hub user the token belongs to, once asked
        self._jobs = JobWatch()  # jtui's scheduler jobs: which ended, which run out of time

    # -- what the link knows ------------------------------------------------

    @property
    def status(self) -> HostStatus:
        return self.link.status

    @property
    def conn(self):
        return self.link.conn

    @property
    def has_resolved(self) -> bool:
        return self.dialer.has_resolved

    @property
    def resolved(self) -> ResolvedHost:
        return self.dialer.resolved

    # -- control ---------------------------------------------------------------

    def start(self, interactive: bool = False) -> None:
        self.link.start(interactive)

    def reconnect_now(self, interactive: bool = True) -> None:
        self.link.reconnect_now(interactive)

    async def connect_once(self) -> None:
        await self.link.connect_once()
        self.remote = Remote(self.conn, self._channels)
        self.forwards.attach(self.conn)

    def keep_up(self) -> None:
        """After connect_once(): reconnect whenever the link drops, healing the forwards."""
        self.link.keep_up()

    async def wait_connected(self, timeout: float | None = None) -> bool:
        return await self.link.wait_connected(timeout)

    def reconfigure(
        self, config_files: list[str], host_settings: HostSettings, refresh: float, blocked: str | None = None,
        hosts_edited: bool = True,
    ) -> None:
        """New config files or settings, used from the next connection; after an SSH config edit
        (`hosts_edited`, not config.toml alone) a failed host tries again now."""
        self.dialer.reconfigure(config_files, blocked)
        self.host_settings = host_settings
        self.refresh = refresh
        if hosts_edited:
            self.link.config_changed()

    async def close(self) -> None:
        """End the session: forwards closed, connection closed; remote servers keep running."""
        if self._kernels_task is not None:
            self._kernels_task.cancel()
        for api in self._apis.values():
            await api.close()
        self._apis.clear()
        try:
            await self.forwards.close_all()
        except Exception:
            pass
        self._forwards_changed()
        await self.link.close()

    # -- the link's hooks ------------------------------------------------------

    def _notice(self, text: str, error: bool = False) -> None:
        """Tell the user; scrubbed, since a notice may quote a server's output, and Jupyter prints its token."""
        self.listener.session_notice(self.alias, scrub(text), error)

    async def _up(self, conn) -> None:
        """A new connection: forwards first, so URLs already handed out answer again."""
        self.remote = Remote(conn, self._channels)
        if not self.forwards.forwards and not self.forwards.pending:
            self.forwards.attach(conn)
            return
        try:
            rebound = await self.forwards.rebind_all(conn)
        except Exception as exc:  # a forward must never take the session down
            self._notice(f"could not rebind forwards: {exc}", True)
            rebound = []
        for forward in rebound:
            if forward.moved:
                self._notice(f"forward moved: {forward.reason}", True)
        self._forwards_changed()

    async def _serve(self, conn) -> None:
        if self._probing:
            await self._probe_loop(conn)
        else:
            await asyncio.Event().wait()  # nothing to do but stay connected

    async def _probe_loop(self, conn) -> None:
        from jtui.core.probe import Probe, ProbeDied

        failures = 0
        while True:
            probe = self._probe = Probe(self.remote, self.refresh, runtime_dirs=self.runtime_dirs,
                                        setup=self.host_settings.setup or "")
            try:
                async for sample in probe.samples():
                    for server in sample.servers:
                        register_secret(server.token)
                    failures = 0
                    sample = self._namer.apply(sample, conn)
                    self.last_sample = sample
                    self.listener.session_sample(self.alias, sample)
                    self._refresh_kernels(sample)
                    self._watch_jobs(sample)
            except ProbeDied as exc:
                failures += 1
                log.info("%s: probe ended: %s", self.alias, exc)
                await asyncio.sleep(0.2)  # a dropped connection ends the probe first: let the link see it
                if conn.is_closed():
                    return
                self._notice(f"probe restarted: {exc}", failures > 2)
            except asyncio.CancelledError:
                await probe.close()
                raise
            except Exception as exc:
                failures += 1
                log.info("%s: probe failed: %s", self.alias, exc)
            if self._restart_probe:  # closed on purpose, to look in a new runtime dir
                self._restart_probe = False
                continue
            await asyncio.sleep(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(failures, 5)))

    # -- forwards --------------------------------------------------------------

    def _forwards_changed(self) -> None:
        self.listener.session_forwards(self.alias, self.forwards.forwards)

    def _require_remote(self) -> Remote:
        if self.conn is None or self.remote is None:
            raise ConnectionError(f"{self.alias} is not connected ({self.status.state.value})")
        return self.remote

    def forward_for(self, server: JupyterServer | Service) -> Forward | None:
        return self.forwards.find(server)

    async def forward(self, server: JupyterServer | Service, first_choice: int | None = None) -> Forward:
        """Bind (or reuse) the local forward for a server or a service."""
        self._require_remote()
        try:
            return await self.forwards.bind(server, first_choice=first_choice)
        finally:
            self._forwards_changed()

    async def unforward(self, server: JupyterServer | Service) -> bool:
        forward = self.forward_for(server)
        if forward is None:
            return False
        await self.forwards.unbind(forward.local_port)
        self._forwards_changed()
        return True

    # -- kernels ---------------------------------------------------------------

    def follow_hub(self, port: int) -> None:
        """The JupyterHub whose servers the screen shows, when the host runs more than one: the one
        under the cursor. Asked at once, not at the next sample."""
        if port != self.hub_port:
            self.hub_port = port
            if self.watching_kernels and self.last_sample is not None:
                self._refresh_kernels(self.last_sample)

    def watch_kernels(self, on: bool) -> None:
        """Shown on screen: ask the servers for their kernels with every sample (off: leave them be)."""
        self.watching_kernels = on
        if on and self.last_sample is not None:
            self._refresh_kernels(self.last_sample)

    def _refresh_kernels(self, sample: Sample) -> None:
        if not self.watching_kernels or self.conn is None:
            return
        if self._kernels_task is not None and not self._kernels_task.done():
            return  # the last round is still out: skip this one, never pile up
        self._kernels_task = asyncio.get_running_loop().create_task(self._ask_kernels(sample, self.conn))

    async def _ask_kernels(self, sample: Sample, conn) -> None:
        hub = hub_of(sample, self.hub_port)
        if hub is not None:
            self.listener.session_hub(self.alias, await self._hub_state(hub, conn))
        live = {s.pid for s in sample.servers}
        for pid in [p for p in self._apis if p not in live]:
            await self._apis.pop(pid).close()
        for server in sample.servers:
            api = self._apis.get(server.pid)
            if api is None or api.http.conn is not conn:
                api = self._apis[server.pid] = KernelApi(conn, server)
            kernels, note = await kernels_of(conn, server, sample.kernel_processes, api)
            self.listener.session_kernels(self.alias, server.port, kernels, note)

    async def kernel_action(self, server: JupyterServer, kernel_id: str, action: str) -> None:
        """interrupt, restart or shutdown one kernel (KernelsUnavailable says why not)."""
        self._require_remote()
        api = KernelApi(self.conn, server)
        try:
            await api.act(kernel_id, action)
        finally:
            await api.close()

    # -- a JupyterHub on the host ---------------------------------------------

    async def _hub_state(self, hub: Service, conn) -> HubState:
        try:
            api = self._hub_api(hub, conn)
            user = await self._hub_user(api)
            return HubState(hub.port, user, await api.servers(user))
        except HubError as exc:
            return HubState(hub.port, note=str(exc))

    def _hub_api(self, hub: Service, conn=None) -> HubApi:
        return HubApi(conn or self.conn, hub, hub_token(self.host_settings.jupyterhub, self.alias), self.alias)

    async def _hub_user(self, api: HubApi) -> str:
        """Whose servers: the setting, else the token's own user, else the SSH user."""
        settings = self.host_settings.jupyterhub
        if settings is not None and settings.user:
            return settings.user
        if self._hub_owner is None:
            self._hub_owner = await api.whoami()
        return self._hub_owner or (self.last_sample.remote_user if self.last_sample else "")

    async def hub_start(self, hub: Service, progress=None) -> HubServer:
        """Start the user's default server on the hub, saying the hub's progress as it comes."""
        self._require_remote()
        api = self._hub_api(hub)
        return await api.start(await self._hub_user(api), progress)

    async def hub_stop(self, hub: Service) -> None:
        self._require_remote()
        api = self._hub_api(hub)
        await api.stop(await self._hub_user(api))

    async def hub_refresh(self, hub: Service) -> None:
        self.listener.session_hub(self.alias, await self._hub_state(hub, self.conn))

    # -- scheduler jobs --------------------------------------------------------

    @property
    def scheduler(self):
        """The cluster as the last sample saw it (None: no scheduler on this host, or no sample yet)."""
        return self.last_sample.scheduler if self.last_sample else None

    def _launcher(self):
        from jtui.core.schedulers.slurm import SlurmLauncher

        scheduler = self.scheduler
        return SlurmLauncher(self._require_remote(), scheduler.path if scheduler else "")

    async def submit_job(self, request) -> str:
        """sbatch a Jupyter job with this host's settings; its id (SubmitError: Slurm's message)."""
        job_id = await self._launcher().submit(self.host_settings, request)
        self._jobs.quiet.add(job_id)  # the start that follows it reports how it goes
        return job_id

    async def wait_job(self, job_id: str, progress=None, seen=None):
        """Until the job's Jupyter answers (StartError once the job ended); see SlurmLauncher.wait_serving."""
        try:
            started = await self._launcher().wait_serving(job_id, self.host_settings, progress, seen)
        except BaseException:
            self._jobs.quiet.add(job_id)
            raise
        register_secret(started.server.token)
        self._jobs.quiet.discard(job_id)  # from now on, its end is news
        return started

    async def cancel_job(self, job_id: str) -> None:
        """scancel; the forwards to its server go with it (CancelError: Slurm's message)."""
        for server in list(self.last_sample.servers if self.last_sample else ()):
            if server.job_id == job_id:
                await self.unforward(server)
        self._jobs.quiet.add(job_id)
        await self._launcher().cancel(job_id)

    def _watch_jobs(self, sample: Sample) -> None:
        ended, warn = self._jobs.update(sample.scheduler)
        for job in warn:
            self._notice(self._jobs.warning(job), True)
        if ended and self.conn is not None:
            asyncio.get_running_loop().create_task(self._say_ended(ended))

    async def _say_ended(self, job_ids: list[str]) -> None:
        from jtui.core.format import clip
        from jtui.core.schedulers.slurm_text import JOBS_DIR, ended_reason
        from jtui.core.settings import host_table

        for job_id in job_ids:
            try:
                ended = await self._launcher().ended(job_id)
            except Exception as exc:  # the notice is a courtesy: never let it take the session down
                log.info("%s: cannot ask how job %s ended: %s", self.alias, job_id, exc)
                continue
            if ended is not None:
                # A few lines, each cut: JupyterLab's last words can be a screenful of one line.
                tail = "\n".join(clip(line, ENDED_TAIL_WIDTH) for line in ended.tail.rstrip().splitlines()[-ENDED_TAIL_LINES:])
                where = f"Its output: {JOBS_DIR}/{job_id}.out on {self.alias}."
                self._notice(f"{ended_reason(ended, host_table(self.alias, 'slurm'))} {where}"
                             + (f"\n\nLast lines of its output:\n{tail}" if tail else ""), True)

    # -- Jupyter ---------------------------------------------------------------

    async def start_jupyter(self, progress=None):
        """Start a server with this host's settings; see jupyter.start_server."""
        from jtui.core.jupyter import start_server

        started = await start_server(self._require_remote(), self.host_settings, progress=progress, alias=self.alias)
        register_secret(started.server.token)
        await self._look_in(started.runtime_dir)
        return started

    async def _look_in(self, runtime_dir: str) -> None:
        """Make the probe list servers of `runtime_dir` too (a setup may point Jupyter there)."""
        known = self.last_sample.runtime_dirs if self.last_sample else ()
        if not runtime_dir or runtime_dir in known or runtime_dir in self.runtime_dirs:
            return
        self.runtime_dirs.append(runtime_dir)
        if self._probe is not None:
            self._restart_probe = True
            await self._probe.close()

    async def stop_jupyter(self, server: JupyterServer) -> None:
        from jtui.core.jupyter import stop_server

        remote = self._require_remote()
        await self.unforward(server)
        await stop_server(remote, server)
