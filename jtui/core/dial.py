"""Dialling: one SSH connection for an alias, with jtui's keys, prompts, jump hosts and host keys.

Everything about *getting in* lives here: resolving the alias, loading keys
(asking for passphrases), answering password and keyboard-interactive
prompts, dialling ProxyJump hops from the same config files, and checking
host keys as OpenSSH does (an unknown key is offered to the user, a changed
one refused). Staying connected is link.py's job.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, replace
from typing import Protocol

import asyncssh

from jtui.core import paths
from jtui.core.errors import Failure, describe
from jtui.core.hostkeys import UNKNOWN, HostKeyProblem, KnownHostsMatcher, classify, record
from jtui.core.keys import identity_paths, load_keys
from jtui.core.logs import register_secret
from jtui.core.resolve import ResolvedHost, connection_options, resolve_host

log = logging.getLogger(__name__)

PASSPHRASE_TRIES = 3


class Prompter(Protocol):
    async def ask(self, alias: str, prompt: str, echo: bool) -> str | None:
        """Ask the user; None means they cancelled."""

    async def confirm_host_key(self, alias: str, problem: HostKeyProblem) -> bool:
        """Show an unknown host key; True only if the user accepts it."""


class HostKeyRejected(Exception):
    """The server's host key is not trusted: unknown, changed or revoked."""

    def __init__(self, problem: HostKeyProblem) -> None:
        super().__init__(problem.one_line())
        self.problem = problem


class HopFailed(Exception):
    """A ProxyJump hop could not be reached: its reason is said with its name, not as the alias's own."""

    def __init__(self, hop: str, cause: Exception) -> None:
        super().__init__(f"jump host {hop}: {cause}")
        self.hop = hop
        self.cause = cause


class NeedsInput(Exception):
    """Logging in needs an answer from the user, who is not there yet."""


class Cancelled(Exception):
    """The user cancelled a prompt."""


class BrokenConfig(Exception):
    """The config cannot say where this alias goes; connecting is refused until it is fixed."""


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


def _tilde(path: str) -> str:
    """A local path as the user writes it: the home dir folded to ~."""
    home = os.path.expanduser("~").rstrip("/")
    return "~" + path[len(home):] if home and path.startswith(home + "/") else path


class _Client(asyncssh.SSHClient):
    """asyncssh's callbacks for one attempt: prompts when interactive, notes wishes when not."""

    def __init__(self, dialer: "Dialer", interactive: bool, matcher: KnownHostsMatcher) -> None:
        self.dialer = dialer
        self.interactive = interactive and dialer.prompter is not None
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

    async def _ask(self, prompt: str, echo: bool) -> str:
        answer = await self.dialer.prompter.ask(self.dialer.alias, prompt, echo)
        if answer is None:
            raise Cancelled()
        if not echo:
            register_secret(answer)
        return answer

    async def password_auth_requested(self):
        if not self.interactive:
            self.wanted_input = True
            return None
        return await self._ask(f"Password for {self.dialer.resolved.target}", False)

    def kbdint_auth_requested(self):
        if not self.interactive:
            self.wanted_input = True
            return None
        return ""

    async def kbdint_challenge_received(self, name, instructions, lang, prompts):
        header = "\n".join(p for p in (name, instructions) if p)
        return [await self._ask(f"{header}\n{text}".strip(), echo) for text, echo in prompts]


class Dialer:
    """Opens connections for one alias; remembers passphrases given, holds the jump hops it dialled."""

    def __init__(
        self, alias: str, config_files: list[str], prompter: Prompter | None = None, blocked: str | None = None
    ) -> None:
        self.alias = alias
        self.config_files = list(config_files)
        self.prompter = prompter
        self.blocked = blocked  # the config problem that forbids dialling this alias
        self._resolved: ResolvedHost | None = None
        self.generation = 0  # config reloads so far: what was read before one is stale
        self._passphrases: dict[str, str] = {}
        self._encrypted_keys: list[str] = []
        self._wanted_input = False
        self._jumps: list = []  # ProxyJump hop connections of the live connection, outermost first

    @property
    def has_resolved(self) -> bool:
        return self._resolved is not None

    @property
    def resolved(self) -> ResolvedHost:
        """Resolved on first use: with 1000 hosts, resolving all up front would delay the first frame."""
        if self._resolved is None:
            self._resolved = resolve_host(self.alias, self.config_files, self.blocked)
        return self._resolved

    def reconfigure(self, config_files: list[str], blocked: str | None) -> None:
        """A config file changed: the alias is read again at its next dial (or when shown).

        Which aliases an edit touches is not known (Include, Match, Host *),
        so it is read again whatever changed: a kept ResolvedHost would dial
        the new HostName and Port (asyncssh reads those itself) with the old
        IdentityFile, ProxyJump and ConnectTimeout.
        """
        self.config_files = list(config_files)
        self.blocked = blocked
        self._resolved = None
        self.generation += 1

    async def resolve(self) -> ResolvedHost:
        """The alias resolved, read in a thread; a read that a reload overtook is read again."""
        while self._resolved is None:
            generation = self.generation
            resolved = await asyncio.to_thread(resolve_host, self.alias, self.config_files, self.blocked)
            if generation == self.generation:
                self._resolved = resolved
        return self._resolved

    async def dial(self, interactive: bool):
        """(connection, client) for the alias, through its ProxyJump hops.

        Raises BrokenConfig, NeedsInput, Cancelled, HostKeyRejected, HopFailed,
        or what asyncssh and the network raise (see `failure`).
        """
        target = await self.resolve()
        if target.error:
            raise BrokenConfig(target.error)
        await self.close_jumps()
        tunnel = None
        try:
            for hop in parse_jumps(target.proxyjump):
                try:
                    tunnel, _ = await self._dial_one(hop.host, hop.user, hop.port, tunnel, interactive)
                except (HostKeyRejected, NeedsInput, Cancelled, BrokenConfig):
                    raise  # these say whose they are
                except Exception as exc:
                    raise HopFailed(hop.host, exc) from exc
                self._jumps.append(tunnel)
            return await self._dial_one(self.alias, None, None, tunnel, interactive, target)
        except BaseException:
            await self.close_jumps()
            raise

    async def _dial_one(self, alias: str, user: str | None, port: int | None, tunnel, interactive: bool,
                        resolved: ResolvedHost | None = None):
        # Hops are dialled here, each resolved from the same config files:
        # asyncssh's own ProxyJump would read ~/.ssh/config for them and skip
        # jtui's keys and known_hosts.
        if resolved is None:
            resolved = await asyncio.to_thread(resolve_host, alias, self.config_files)
            if resolved.error:
                raise BrokenConfig(f"jump host {alias}: {resolved.error}")
        keys = load_keys(identity_paths(resolved.identity_files), self._passphrases)
        self._encrypted_keys = list(keys.encrypted)
        if keys.encrypted and interactive and self.prompter is not None:
            await self._ask_passphrases(keys.encrypted)
            keys = load_keys(identity_paths(resolved.identity_files), self._passphrases)
        matcher = KnownHostsMatcher([*resolved.known_hosts, str(paths.own_known_hosts())])
        overrides = dict(
            client_keys=keys.keys,
            known_hosts=matcher,
            keepalive_interval=resolved.keepalive_interval,
            keepalive_count_max=resolved.keepalive_count,
            connect_timeout=resolved.connect_timeout,
            agent_path=os.environ.get("SSH_AUTH_SOCK") or None,
            tunnel=tunnel,  # None: no asyncssh-side ProxyJump, the hops are ours
        )
        if user:
            overrides["username"] = user
        if port:
            overrides["port"] = port
        options = await asyncio.to_thread(connection_options, alias, self.config_files, **overrides)
        client = _Client(self, interactive, matcher)
        self._wanted_input = False
        try:
            # tunnel must be given here too: create_connection's own tunnel=()
            # default would replace the one in `options` with the config's ProxyJump.
            conn, _ = await asyncssh.create_connection(lambda: client, tunnel=tunnel, options=options)
        except asyncssh.HostKeyNotVerifiable:
            if client.host_key_problem is not None:
                raise HostKeyRejected(client.host_key_problem) from None
            raise
        except Exception:
            self._wanted_input = client.wanted_input
            raise
        return conn, client

    async def close_jumps(self) -> None:
        jumps, self._jumps = self._jumps, []
        for conn in reversed(jumps):
            conn.close()

    async def _ask_passphrases(self, key_paths: list[str]) -> None:
        for path in key_paths:
            for attempt in range(PASSPHRASE_TRIES):
                hint = "" if attempt == 0 else " (wrong, try again)"
                answer = await self.prompter.ask(self.alias, f"Passphrase for {_tilde(path)}{hint}", False)
                if answer is None:
                    raise Cancelled()
                register_secret(answer)
                try:
                    asyncssh.read_private_key(path, answer)
                except (asyncssh.KeyEncryptionError, asyncssh.KeyImportError):
                    continue
                self._passphrases[path] = answer
                break
            else:
                raise NeedsInput(f"wrong passphrase for {_tilde(path)} ({PASSPHRASE_TRIES} tries)")

    def failure(self, exc: BaseException, interactive: bool) -> Failure:
        """Why an attempt failed, said for a person; whether to retry or wait for the user."""
        if isinstance(exc, BrokenConfig):
            return Failure(f"config: {exc}", retry=False)
        if isinstance(exc, HopFailed):
            hop = self.failure(exc.cause, interactive)
            return replace(hop, reason=f"jump host {exc.hop}: {hop.reason}")
        failure = describe(exc, self.resolved.connect_timeout)
        if isinstance(exc, asyncssh.PermissionDenied) and not interactive:
            if self._wanted_input or self._encrypted_keys:
                return Failure(
                    "needs a passphrase or password: press enter to log in",
                    retry=False,
                    needs_input=True,
                )
        return failure

    async def accept_host_key(self, problem: HostKeyProblem) -> bool:
        """Show an unknown key to the user; record it in jtui's own known_hosts if accepted."""
        if problem.kind != UNKNOWN or self.prompter is None:
            return False
        if not await self.prompter.confirm_host_key(self.alias, problem):
            return False
        record(str(paths.own_known_hosts()), problem)
        log.info("%s: accepted %s key %s", self.alias, problem.key_type, problem.fingerprint)
        return True
