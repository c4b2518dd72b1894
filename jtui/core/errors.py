"""Turn connection exceptions into reasons a person understands."""

from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    reason: str
    retry: bool  # worth retrying by itself (network trouble), or waits for the user
    needs_input: bool = False


REFUSED = "connection refused: nothing listens on that port (check Port, and that sshd runs)"
NAME_NOT_KNOWN = "name not known: the host name does not resolve (check HostName, DNS or VPN)"
DENIED = "permission denied: no key or password was accepted (check User and IdentityFile)"


def _timed_out(timeout: float) -> str:
    return f"timed out after {timeout:g} s: no answer (host down, a firewall, or not SSH on that port)"


def describe(exc: BaseException, timeout: float) -> Failure:
    """Map an exception from connecting to a host onto a short reason."""
    import asyncssh

    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return Failure(_timed_out(timeout), retry=True)
    if isinstance(exc, socket.gaierror):
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            return Failure(NAME_NOT_KNOWN, retry=True)
        return Failure(f"name lookup failed: {exc.strerror or exc} (DNS or VPN down?)", retry=True)
    if isinstance(exc, ConnectionRefusedError):
        return Failure(REFUSED, retry=True)
    if isinstance(exc, ConnectionResetError):
        return Failure("connection reset by the host", retry=True)
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return Failure("host key not trusted", retry=False)
    if isinstance(exc, asyncssh.PermissionDenied):
        return Failure(DENIED, retry=False)
    if isinstance(exc, asyncssh.ProtocolNotSupported):
        return Failure(f"not an SSH server? {exc.reason}", retry=True)
    if isinstance(exc, asyncssh.ConnectionLost):
        return Failure(f"connection lost: {exc.reason or 'closed by the host'}", retry=True)
    if isinstance(exc, asyncssh.DisconnectError):
        if exc.code == asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE or "authentication" in exc.reason.lower():
            return Failure(f"{DENIED} ({exc.reason.rstrip('.')})", retry=False)
        return Failure(f"disconnected: {exc.reason}", retry=True)
    if isinstance(exc, OSError):
        by_errno = {
            errno.EHOSTUNREACH: "no route to host: the network cannot reach it (VPN down?)",
            errno.ENETUNREACH: "network unreachable: this machine has no route there (offline?)",
            errno.ECONNREFUSED: REFUSED,
            errno.ETIMEDOUT: _timed_out(timeout),
            errno.ECONNRESET: "connection reset by the host",
        }
        if exc.errno in by_errno:
            return Failure(by_errno[exc.errno], retry=True)
        return Failure(exc.strerror or str(exc) or type(exc).__name__, retry=True)
    if isinstance(exc, ValueError):  # asyncssh's config and key errors
        return Failure(f"config: {exc}", retry=False)
    return Failure(f"{type(exc).__name__}: {exc}", retry=True)
