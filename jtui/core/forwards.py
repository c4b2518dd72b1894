"""Local port forwards to remote Jupyter servers and services, one manager per host connection.

A forward always listens on 127.0.0.1: binding '' or 0.0.0.0 would hand the
server (and its token-bearing URL) to everyone on the network. The local
port equals the remote one when it is free, so the URL people are used to
keeps working; otherwise the port moves and the Forward says where and why.

TCP_NODELAY: asyncssh already sets it on the sockets it accepts for a
forward (and on the SSH connection), so small HTTP requests do not wait on
Nagle vs delayed ACK; nothing to add here.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from dataclasses import dataclass, field

from jtui.core.model import JupyterServer, Service

Target = JupyterServer | Service  # anything with a port and a hostname on the host
from jtui.core.urls import remote_connect_host

log = logging.getLogger(__name__)

LISTEN_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Forward:
    """A bound forward: LISTEN_HOST:local_port here to remote_host:remote_port there."""

    local_port: int
    remote_port: int
    remote_host: str = "127.0.0.1"
    wanted_port: int = 0  # the local port asked for first (the remote port, or the old one on rebind)
    reason: str = ""  # why it moved; empty when it did not
    server: Target | None = field(default=None, compare=False)

    @property
    def moved(self) -> bool:
        return self.local_port != self.wanted_port


@dataclass
class _Bound:
    forward: Forward
    listener: object  # asyncssh.SSHListener


def _ipv6_loopback_taken(port: int) -> bool:
    """True when something listens on [::1]:port.

    URLs say `localhost`, which browsers try as ::1 first: if another program
    holds ::1:port, the URL would reach it instead of our 127.0.0.1 forward.
    """
    if not socket.has_ipv6:
        return False
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    with probe:
        try:
            probe.bind(("::1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


class ForwardManager:
    """The forwards of one host, bound through its current connection.

    After a reconnect, `rebind_all(new_conn)` moves every forward to the new
    connection on the same local port, so URLs already handed out (copied,
    open in a browser tab) keep working. A forward unbound and bound again
    takes its old local port back too, whenever it is still free.
    """

    def __init__(self, conn=None) -> None:
        self._conn = conn
        self._bound: dict[int, _Bound] = {}
        self._pending: list[Forward] = []  # lost with a connection, not yet rebound
        self._released: dict[tuple[str, int], int] = {}  # (remote host, port) -> the local port it had
        self._lock = asyncio.Lock()

    @property
    def forwards(self) -> tuple[Forward, ...]:
        return tuple(b.forward for b in self._bound.values())

    @property
    def pending(self) -> tuple[Forward, ...]:
        """Forwards lost with a connection, waiting for the next one."""
        return tuple(self._pending)

    def attach(self, conn) -> None:
        """The connection new forwards go through (rebind_all moves existing ones)."""
        self._conn = conn

    def find(self, server: Target) -> Forward | None:
        """The forward already bound for `server` (matched by remote address and port)."""
        host = remote_connect_host(server)
        for bound in self._bound.values():
            if bound.forward.remote_port == server.port and bound.forward.remote_host == host:
                return bound.forward
        return None

    async def bind(
        self, server: Target, preferred_local_port: int | None = None, first_choice: int | None = None
    ) -> Forward:
        """Forward a local port to `server`; the existing forward if there is one.

        Tries `first_choice` (`jtui open --port N`), the remote port, then
        `preferred_local_port`, then a port the OS picks. Raises ConnectionError on a closed connection (asyncssh
        would bind a listener that never forwards), OSError if even the OS
        port cannot be bound.
        """
        async with self._lock:
            existing = self.find(server)
            if existing is not None:
                return existing
            host = remote_connect_host(server)
            wanted = [server.port] + ([preferred_local_port] if preferred_local_port else [])
            lost = [f for f in self._pending if f.remote_port == server.port and f.remote_host == host]
            if lost:  # its URL was already handed out: take its old local port back first
                self._pending.remove(lost[0])
                wanted.insert(0, lost[0].local_port)
            elif (host, server.port) in self._released:  # unbound earlier: the same URL again
                wanted.insert(0, self._released[(host, server.port)])
            if first_choice:  # asked for by number: before anything else
                wanted.insert(0, first_choice)
            forward, listener = await self._bind_first(wanted, host, server.port, server)
            self._bound[forward.local_port] = _Bound(forward, listener)
            log.info("forward 127.0.0.1:%d -> %s:%d%s", forward.local_port, host, server.port,
                     f" ({forward.reason})" if forward.moved else "")
            return forward

    async def unbind(self, local_port: int) -> None:
        """Stop forwarding `local_port`; unknown ports are ignored (already gone)."""
        async with self._lock:
            bound = self._bound.pop(local_port, None)
            self._pending = [f for f in self._pending if f.local_port != local_port]
            if bound is not None:
                forward = bound.forward
                self._released[(forward.remote_host, forward.remote_port)] = forward.local_port
        if bound is not None:
            await _close(bound.listener)

    async def close_all(self) -> None:
        """Close every forward (jtui quitting, the host going away)."""
        async with self._lock:
            bound, self._bound, self._pending = list(self._bound.values()), {}, []
        for item in bound:
            await _close(item.listener)

    async def rebind_all(self, new_conn) -> list[Forward]:
        """Move every forward to `new_conn`, each on its current local port when it is still free.

        A forward that cannot be rebound (the new connection failed too) is
        kept and retried by the next rebind_all; the first such error is
        raised once every forward has been tried.
        """
        async with self._lock:
            self._conn = new_conn
            old, self._bound = list(self._bound.values()), {}
            for item in old:
                # The old connection is gone: free the port now, without
                # waiting for a close handshake that will never come.
                _close_now(item.listener)
            todo, self._pending = [item.forward for item in old] + self._pending, []
            rebound: list[Forward] = []
            errors: list[BaseException] = []
            for previous in todo:
                try:
                    forward, listener = await self._bind_first(
                        [previous.local_port], previous.remote_host, previous.remote_port,
                        previous.server, while_="reconnecting",
                    )
                except Exception as exc:  # asyncssh errors and OSError: keep it for the next try
                    self._pending.append(previous)
                    errors.append(exc)
                    continue
                self._bound[forward.local_port] = _Bound(forward, listener)
                rebound.append(forward)
            if errors:
                raise errors[0]
            return rebound

    async def _bind_first(
        self,
        wanted: list[int],
        remote_host: str,
        remote_port: int,
        server: Target | None,
        while_: str = "",
    ) -> tuple[Forward, object]:
        """Bind the first free port of `wanted`, else one the OS chooses; say why it moved."""
        if self._conn is None or self._conn.is_closed():  # asyncssh would bind a listener that never forwards
            raise ConnectionError("the SSH connection is closed")
        reasons: list[str] = []
        for port in dict.fromkeys(wanted):
            problem = self._unusable(port)
            if problem is None:
                try:
                    listener = await self._conn.forward_local_port(LISTEN_HOST, port, remote_host, remote_port)
                except OSError as exc:
                    problem = _bind_problem(exc)
                else:
                    reason = f"{'; '.join(reasons)}, so jtui uses {port}" if reasons else ""
                    return Forward(port, remote_port, remote_host, wanted[0], reason, server), listener
            reasons.append(f"local port {port} {problem}")
        listener = await self._conn.forward_local_port(LISTEN_HOST, 0, remote_host, remote_port)
        port = listener.get_port()
        when = f" while {while_}" if while_ else ""
        reason = "; ".join(reasons) + f"{when}, so jtui uses {port}"
        return Forward(port, remote_port, remote_host, wanted[0], reason, server), listener

    def _unusable(self, port: int) -> str | None:
        """Why `port` cannot be used before even trying it, or None."""
        if not 0 < port < 65536:
            return "is out of range"
        if port in self._bound:
            return "already forwards another server"
        if _ipv6_loopback_taken(port):
            return "is in use on [::1] (where `localhost` URLs go first)"
        return None


def _bind_problem(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "is in use on this machine"
    if exc.errno == errno.EACCES:
        return "needs privileges"
    return f"cannot be bound ({exc.strerror or exc})"


def _close_now(listener) -> None:
    """Stop listening at once (the listening socket is released by close())."""
    try:
        listener.close()
    except Exception as exc:
        log.debug("closing a forward: %s", type(exc).__name__)


async def _close(listener) -> None:
    """Close a listener; one whose connection already died closes quietly."""
    try:
        listener.close()
        await asyncio.wait_for(listener.wait_closed(), 5)
    except Exception as exc:  # a dead connection must not stop the others from closing
        log.debug("closing a forward: %s", type(exc).__name__)
