"""HostSession: one SSH connection per host, kept alive, probed, healed.

The session runs in its own asyncio task. It reports through a listener
(plain method calls with plain data), so the UI stays a reactor and a
script can use the same class without Textual.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from dataclasses import dataclass
from typing import Protocol

import asyncssh

from jtui.core import paths
from jtui.core.errors import Failure, describe
from jtui.core.hostkeys import UNKNOWN, HostKeyProblem, KnownHostsMatcher, classify, record
from jtui.core.keys import identity_paths, load_keys
from jtui.core.logs import register_secret
from jtui.core.model import HostState, HostStatus, JupyterServer, Sample
from jtui.core.resolve import ResolvedHost, connection_options, resolve_host
from jtui.core.settings import HostSettings

log = logging.getLogger(__name__)

MAX_CHANNELS = 8  # below OpenSSH's default MaxSessions of 10
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
PASSPHRASE_TRIES = 3
CHANNEL_OPEN_RETRIES = 5


class SessionListener(Protocol):
    def session_status(self, status: HostStatus) -> None: ...
    def session_sample(self, alias: str, sample: Sample) -> None: ...
    def session_notice(self, alias: str, text: str, error: bool = False) -> None: ...


class Prompter(Protocol):
    async def ask(self, alias: str, prompt: str, echo: bool) -> str | None:
        """Ask the user; None means they cancelled."""

    async def confirm_host_key(self, alias: str, problem: HostKeyProblem) -> bool:
        """Show an unknown host key; True only if the user accepts it."""


class ConnectFailed(Exception):
    """A connection attempt failed; str() is the reason a person understands."""


class HostKeyRejected(Exception):
    """The server's host key is not trusted: unknown, changed or revoked."""

    def __init__(self, problem: HostKeyProblem) -> None:
        super().__init__(problem.one_line())
        self.problem = problem


class _NeedsInput(Exception):
    """Logging in needs an answer from the user, who is not there yet."""


class _Cancelled(Exception):
    """The user cancelled a prompt."""


@dataclass(frozen=True)
class Hop:
    host: str
    user: str | None = None
    port: int | None = None


def parse_jumps(spec: str | None) -> list[Hop]:
    """ProxyJump `[user@]host[:port],...` into hops, outermost first."""
    hops = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part or part.lower() == "none":
            continue
        if part.startswith("ssh://"):
            part = part[len("ssh://"):]
        user, _, host = part.rpartition("@")
        port = None
        if host.startswith("[") and "]" in host:
            inner, _, rest = host[1:].partition("]")
            host, port = inner, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
        elif host.count(":") == 1:
            host, _, port_text = host.partition(":")
            port = int(port_text) if port_text.isdigit() else None
        hops.append(Hop(host, user or None, port))
    return hops


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: about 1 s, 2 s, 4 s ... up to 30 s."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempt - 1))
    return base * (0.75 + 0.5 * (rng or random).random())


class _Client(asyncssh.SSHClient):
    """asyncssh client callbacks: prompts when interactive, notes wishes when not."""

    def __init__(self, session: "HostSession", interactive: bool, matcher: KnownHostsMatcher) -> None:
        self.session = session
        self.interactive = interactive
        self.matcher = matcher
        self.wanted_input = False
        self.host_key_problem: HostKeyProblem | None = None
        self.lost: Exception | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc  # why the connection ended, for the reconnecting reason

    def validate_host_public_key(self, host, addr, port, key) -> bool:
        # Called by asyncssh only for a key the strict matcher did not trust.
        self.host_key_problem = classify(self.matcher, host, port if port != 22 else None, key)
        return False

    async def password_auth_requested(self):
        if not self.interactive or self.session.prompter is None:
            self.wanted_input = True
            return None
        answer = await self.session.prompter.ask(self.session.alias, f"Password for {self.session.resolved.target}", False)
        if answer is None:
            raise _Cancelled()
        register_secret(answer)
        return answer

    def kbdint_auth_requested(self):
        if not self.interactive or self.session.prompter is None:
            self.wanted_input = True
            return None
        return ""

    async def kbdint_challenge_received(self, name, instructions, lang, prompts):
        answers = []
        for text, echo in prompts:
            header = "\n".join(p for p in (name, instructions) if p)
            answer = await self.session.prompter.ask(self.session.alias, f"{header}\n{text}".strip(), echo)
            if answer is None:
                raise _Cancelled()
            if not echo:
                register_secret(answer)
            answers.append(answer)
        return answers


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
    ) -> None:
        self.alias = alias
        self.config_files = list(config_files)
        self.host_settings = host_settings
        self.refresh = refresh
        self.listener = listener
        self.prompter = prompter
        self._resolved: ResolvedHost | None = None
        self.status = HostStatus(alias)
        self.conn = None
        self.last_sample: Sample | None = None
        self.channels = asyncio.Semaphore(MAX_CHANNELS)
        self.forwards = None  # a ForwardManager once connected
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._interactive = False
        self._passphrases: dict[str, str] = {}
        self._connected_once = asyncio.Event()
        self._encrypted_keys: list[str] = []
        self._client_wanted_input = False
        self._jumps: list = []  # ProxyJump hop connections, outermost first
        self._client = None  # the asyncssh client object of the live connection

    @property
    def has_resolved(self) -> bool:
        return self._resolved is not None

    @property
    def resolved(self) -> ResolvedHost:
        """Resolved on first use: with 1000 hosts, resolving all up front would delay the first frame."""
        if self._resolved is None:
            self._resolved = resolve_host(self.alias, self.config_files)
        return self._resolved

    # -- control ---------------------------------------------------------

    def start(self, interactive: bool = False) -> None:
        """Connect in the background (no-op if already running)."""
        self._interactive = self._interactive or interactive
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"session {self.alias}")
        else:
            self._wake.set()

    def reconnect_now(self, interactive: bool = True) -> None:
        """`r` / enter: try again at once, asking for input if needed."""
        self._interactive = interactive
        self.start(interactive)
        self._wake.set()

    def reconfigure(self, config_files: list[str], host_settings: HostSettings, refresh: float) -> None:
        """New config files or settings: used from the next connection (r applies them now)."""
        if config_files != self.config_files:
            self.config_files = list(config_files)
            self._resolved = None
        self.host_settings = host_settings
        self.refresh = refresh

    async def connect_once(self) -> None:
        """One attempt, no prompts (scripts): raise ConnectFailed with the reason."""
        self._set(HostState.CONNECTING)
        try:
            await self._connect()
        except _NeedsInput as exc:
            raise ConnectFailed(str(exc)) from None
        except HostKeyRejected as exc:
            problem = exc.problem
            self._set(HostState.FAILED, problem.one_line())
            if problem.kind == UNKNOWN:
                raise ConnectFailed(
                    f"{problem.explain()}\njtui status/open never accept a key: check the fingerprint, "
                    f"then connect once with `ssh {self.alias}` or accept it in the jtui screen."
                ) from None
            raise ConnectFailed(problem.explain()) from None
        except Exception as exc:
            failure = self._failure(exc)
            reason = failure.reason
            if failure.needs_input:
                reason = "needs a passphrase or password: use the TUI, or load the key into ssh-agent"
            self._set(HostState.FAILED, reason)
            raise ConnectFailed(reason) from None
        self._set(HostState.CONNECTED)

    async def wait_connected(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._connected_once.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def close(self) -> None:
        """End the session: forwards closed, connection closed; remote servers keep running."""
        task, self._task = self._task, None
        if task:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        await self._drop_connection()
        self._set(HostState.NOT_CONNECTED)

    # -- the loop --------------------------------------------------------

    def _set(self, state: HostState, reason: str = "", attempt: int = 0, next_retry: float | None = None) -> None:
        self.status = HostStatus(self.alias, state, reason, attempt, next_retry)
        self.listener.session_status(self.status)

    async def _run(self) -> None:
        attempt = 0
        while True:
            attempt += 1
            reconnecting = self._connected_once.is_set()
            self._set(HostState.RECONNECTING if reconnecting else HostState.CONNECTING, attempt=attempt)
            try:
                await self._connect()
            except asyncio.CancelledError:
                raise
            except _NeedsInput as exc:
                self._set(HostState.NEEDS_INPUT, str(exc))
                await self._sleep(None)
                attempt = 0
                continue
            except HostKeyRejected as exc:
                if await self._host_key(exc.problem):
                    attempt = 0
                    continue
                self._interactive = False
                await self._sleep(None)
                attempt = 0
                continue
            except _Cancelled:
                self._interactive = False
                self._set(HostState.NEEDS_INPUT, "login cancelled: press enter to try again")
                await self._sleep(None)
                attempt = 0
                continue
            except Exception as exc:
                failure = self._failure(exc)
                if failure.needs_input:
                    self._set(HostState.NEEDS_INPUT, failure.reason)
                    await self._sleep(None)
                    attempt = 0
                    continue
                delay = backoff_delay(attempt) if failure.retry else None
                next_retry = time.monotonic() + delay if delay else None
                self._set(HostState.FAILED, failure.reason, attempt, next_retry)
                log.info("%s: %s", self.alias, failure.reason)
                await self._sleep(delay)
                if delay is None:
                    attempt = 0
                continue
            attempt = 0
            self._interactive = False
            if self.forwards is not None:  # the URLs already handed out work again first
                await self._rebind_forwards(self.conn)
            self._connected_once.set()
            self._set(HostState.CONNECTED)
            reason = await self._serve()
            self._set(HostState.RECONNECTING, reason, 1, time.monotonic() + BACKOFF_FIRST)
            await self._sleep(backoff_delay(1))

    async def _sleep(self, delay: float | None) -> None:
        """Wait for the delay, or until the user asks to reconnect now."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), delay)
        except asyncio.TimeoutError:
            pass

    def _failure(self, exc: BaseException) -> Failure:
        failure = describe(exc, self.resolved.connect_timeout)
        if isinstance(exc, asyncssh.PermissionDenied) and not self._interactive:
            wanted = self._client_wanted_input or self._encrypted_keys
            if wanted:
                return Failure(
                    "needs a passphrase or password: select the host and press enter",
                    retry=False,
                    needs_input=True,
                )
        return failure

    async def _connect(self) -> None:
        if self._resolved is None:
            self._resolved = await asyncio.to_thread(resolve_host, self.alias, self.config_files)
        if self.resolved.error:
            raise ValueError(self.resolved.error)
        await self._close_jumps()
        tunnel = None
        for hop in parse_jumps(self.resolved.proxyjump):
            tunnel, _ = await self._dial(hop.host, hop.user, hop.port, tunnel)
            self._jumps.append(tunnel)
        try:
            self.conn, self._client = await self._dial(self.alias, None, None, tunnel)
        except BaseException:
            await self._close_jumps()
            raise

    async def _dial(self, alias: str, user: str | None, port: int | None, tunnel):
        """One SSH connection with jtui's keys, prompts and strict host keys.

        ProxyJump hops are dialled here too, each resolved from the same
        config files: asyncssh's own ProxyJump would read ~/.ssh/config for
        them and skip jtui's keys and known_hosts.
        """
        resolved = self.resolved if alias == self.alias and user is None and port is None else None
        if resolved is None:
            resolved = await asyncio.to_thread(resolve_host, alias, self.config_files)
        keys = load_keys(identity_paths(resolved.identity_files), self._passphrases)
        self._encrypted_keys = list(keys.encrypted)
        if keys.encrypted and self._interactive and self.prompter is not None:
            await self._ask_passphrases(keys.encrypted)
            keys = load_keys(identity_paths(resolved.identity_files), self._passphrases)
        agent = os.environ.get("SSH_AUTH_SOCK") or None
        matcher = KnownHostsMatcher(self._known_hosts(resolved))
        overrides = dict(
            client_keys=keys.keys,
            known_hosts=matcher,
            keepalive_interval=resolved.keepalive_interval,
            keepalive_count_max=resolved.keepalive_count,
            connect_timeout=resolved.connect_timeout,
            agent_path=agent if agent else None,
            tunnel=tunnel,  # None: no asyncssh-side ProxyJump, the hops are ours
        )
        if user:
            overrides["username"] = user
        if port:
            overrides["port"] = port
        options = await asyncio.to_thread(connection_options, alias, self.config_files, **overrides)
        client = _Client(self, self._interactive, matcher)
        self._client_wanted_input = False
        try:
            # tunnel must be given here too: create_connection's own tunnel=()
            # default would replace the one in `options` with the config's ProxyJump.
            conn, _ = await asyncssh.create_connection(lambda: client, tunnel=tunnel, options=options)
        except asyncssh.HostKeyNotVerifiable:
            if client.host_key_problem is not None:
                raise HostKeyRejected(client.host_key_problem) from None
            raise
        except Exception:
            self._client_wanted_input = client.wanted_input
            raise
        return conn, client

    async def _close_jumps(self) -> None:
        jumps, self._jumps = self._jumps, []
        for conn in reversed(jumps):
            conn.close()

    async def _ask_passphrases(self, paths_: list[str]) -> None:
        for path in paths_:
            for attempt in range(PASSPHRASE_TRIES):
                hint = "" if attempt == 0 else " (wrong, try again)"
                answer = await self.prompter.ask(self.alias, f"Passphrase for {path}{hint}", False)
                if answer is None:
                    raise _Cancelled()
                register_secret(answer)
                try:
                    asyncssh.read_private_key(path, answer)
                except (asyncssh.KeyEncryptionError, asyncssh.KeyImportError):
                    continue
                self._passphrases[path] = answer
                break
            else:
                raise _NeedsInput(f"wrong passphrase for {path} ({PASSPHRASE_TRIES} tries)")

    def _known_hosts(self, resolved: ResolvedHost) -> list[str]:
        """The host's known_hosts files plus jtui's own (missing files simply match nothing)."""
        return [*resolved.known_hosts, str(paths.own_known_hosts())]

    async def _host_key(self, problem: HostKeyProblem) -> bool:
        """Decide on an untrusted key: True to connect again at once."""
        if problem.kind == UNKNOWN and self._interactive and self.prompter is not None:
            if await self.prompter.confirm_host_key(self.alias, problem):
                record(str(paths.own_known_hosts()), problem)
                log.info("%s: accepted %s key %s", self.alias, problem.key_type, problem.fingerprint)
                return True
            self._set(HostState.FAILED, "host key not trusted (refused by you): press enter to review it again")
        elif problem.kind == UNKNOWN:
            self._set(HostState.NEEDS_INPUT, f"{problem.one_line()}: press enter to review it")
        else:
            self.listener.session_notice(self.alias, problem.explain(), True)
            self._set(HostState.FAILED, problem.one_line())
        return False

    async def _serve(self) -> str:
        """Run the probe until the connection drops; return why it dropped."""
        conn = self.conn
        probe_task = asyncio.get_running_loop().create_task(self._probe_loop(conn))
        try:
            await conn.wait_closed()
        finally:
            probe_task.cancel()
            try:
                await probe_task
            except (asyncio.CancelledError, Exception):
                pass
        lost = getattr(self._client, "lost", None)
        if lost is None:
            reason = "connection closed by the host"
        else:
            reason = describe(lost, self.resolved.connect_timeout).reason
            if "keepalive" in str(lost).lower():
                reason = "no answer to keepalives: the link is down or the host hangs"
        self.conn = None
        await self._close_jumps()
        return reason

    async def _rebind_forwards(self, conn) -> None:
        try:
            rebound = await self.forwards.rebind_all(conn)
        except Exception as exc:  # a forward must never take the session down
            self.listener.session_notice(self.alias, f"could not rebind forwards: {exc}", True)
            return
        for forward in rebound:
            if forward.moved:
                self.listener.session_notice(self.alias, f"forward moved: {forward.reason}", True)

    async def _probe_loop(self, conn) -> None:
        from jtui.core.probe import Probe, ProbeDied

        failures = 0
        while True:
            probe = Probe(conn, self.refresh)
            try:
                async with self.channels:
                    async for sample in probe.samples():
                        for server in sample.servers:
                            register_secret(server.token)
                        failures = 0
                        self.last_sample = sample
                        self.listener.session_sample(self.alias, sample)
            except ProbeDied as exc:
                failures += 1
                log.info("%s: probe ended: %s", self.alias, exc)
                await asyncio.sleep(0.2)  # a dropped connection ends the probe first: let _serve see it
                if conn.is_closed():
                    return
                self.listener.session_notice(self.alias, f"probe restarted: {exc}", failures > 2)
            except asyncio.CancelledError:
                await probe.close()
                raise
            except Exception as exc:
                failures += 1
                log.info("%s: probe failed: %s", self.alias, exc)
            await asyncio.sleep(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(failures, 5)))

    async def _drop_connection(self) -> None:
        if self.forwards is not None:
            try:
                await self.forwards.close_all()
            except Exception:
                pass
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
            try:
                await asyncio.wait_for(conn.wait_closed(), 2)
            except (asyncio.TimeoutError, Exception):
                pass
        await self._close_jumps()

    # -- Jupyter and forwards -------------------------------------------

    def _require_conn(self):
        if self.conn is None:
            raise ConnectionError(f"{self.alias} is not connected ({self.status.state.value})")
        return self.conn

    def forward_ports(self) -> dict[int, int]:
        """Remote port -> local port of this host's forwards."""
        if self.forwards is None:
            return {}
        return {f.remote_port: f.local_port for f in self.forwards.forwards}

    def forward_for(self, server: JupyterServer):
        return self.forwards.find(server) if self.forwards is not None else None

    async def forward(self, server: JupyterServer):
        """Bind (or reuse) the local forward for `server`."""
        from jtui.core.forwards import ForwardManager

        conn = self._require_conn()
        if self.forwards is None:
            self.forwards = ForwardManager(conn)
        return await self.forwards.bind(server)

    async def unforward(self, server: JupyterServer) -> bool:
        forward = self.forward_for(server)
        if forward is None:
            return False
        await self.forwards.unbind(forward.local_port)
        return True

    async def start_jupyter(self, progress=None):
        """Start a server with this host's settings; see jupyter.start_server."""
        from jtui.core.jupyter import start_server

        conn = self._require_conn()
        async with self.channels:
            return await start_server(conn, self.host_settings, progress=progress, alias=self.alias)

    async def stop_jupyter(self, server: JupyterServer) -> None:
        from jtui.core.jupyter import stop_server

        conn = self._require_conn()
        await self.unforward(server)
        async with self.channels:
            await stop_server(conn, server)

    # -- remote commands -------------------------------------------------

    async def run(self, command: str, timeout: float = 30, **kwargs):
        """Run one command on the open connection, within the channel budget.

        sshd frees a session slot only after it has seen our close, a moment
        after `run` returns here; a refused channel open is retried briefly.
        """
        if self.conn is None:
            raise ConnectionError(f"{self.alias} is not connected")
        async with self.channels:
            for attempt in range(CHANNEL_OPEN_RETRIES):
                try:
                    return await asyncio.wait_for(self.conn.run(command, **kwargs), timeout)
                except asyncssh.ChannelOpenError:
                    if attempt == CHANNEL_OPEN_RETRIES - 1:
                        raise
                    await asyncio.sleep(0.05 * (attempt + 1))
