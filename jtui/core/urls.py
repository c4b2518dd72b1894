"""The URLs and hints a person gets for a forwarded Jupyter server.

Pure functions: the UI, `jtui open` and the tests all build the same text
from the same plain data, with no network and no environment lookups of
their own (the environment is passed in).
"""

from __future__ import annotations

import shlex
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from jtui.core.model import JupyterServer, Service

# Addresses in a runtime file that mean "this machine, any/loopback interface":
# the remote end of a forward reaches them through 127.0.0.1.
_LOOPBACK_ALIASES = frozenset({"", "localhost", "127.0.0.1", "0.0.0.0", "::", "[::]", "*"})

PASSWORD_NOTE = "This server uses a password instead of a token: the page will ask for it."


def localhost_url(server: JupyterServer, local_port: int) -> str:
    """`http://localhost:LOCAL/<base_url>?token=TOKEN`, the URL that works through a forward.

    `localhost` rather than 127.0.0.1 because that is what people expect to
    paste and what Jupyter itself prints; the token is URL-quoted so that a
    token set by hand with odd characters still logs in. A password-protected
    server has no token: the URL then carries none (the page asks instead).
    """
    scheme = "https" if server.secure else "http"
    base = server.base_url or "/"
    if not base.startswith("/"):
        base = "/" + base
    url = f"{scheme}://localhost:{int(local_port)}{base}"
    if server.token:
        url += "?token=" + urllib.parse.quote(server.token, safe="")
    return url


def needs_password(server: JupyterServer) -> bool:
    """True when the URL alone will not log in: no token, so the server asks for its password."""
    return not server.token


def password_note(server: JupyterServer) -> str | None:
    """The sentence to show beside a URL without a token, or None when the URL logs in by itself."""
    return PASSWORD_NOTE if needs_password(server) else None


def service_url(service: Service, local_port: int) -> str:
    """A forwarded service's URL, with the path it needs (a bare `localhost:PORT` for one that is not HTTP)."""
    if not service.web:
        return f"localhost:{int(local_port)}"
    path = service.path if service.path.startswith("/") else "/" + service.path
    return f"http://localhost:{int(local_port)}{path}"


def url_for(item: JupyterServer | Service, local_port: int) -> str:
    """What c copies and o opens, for a server or a service."""
    return localhost_url(item, local_port) if isinstance(item, JupyterServer) else service_url(item, local_port)


def url_note(item: JupyterServer | Service) -> str | None:
    """The sentence to show beside a URL that will not get the user in by itself, or None."""
    if isinstance(item, JupyterServer):
        return password_note(item)
    if item.kind == "JupyterHub":
        return "Log in to the hub on that page (jtui never sees your hub password)."
    if item.kind == "Jupyter":
        return ("jtui found no runtime file for this Jupyter server, so the URL carries no token: "
                "the page asks for its token or password.")
    if not item.web:
        return f"Port {item.port} did not answer HTTP: connect to it with the program that speaks its protocol."
    return None


def remote_connect_host(server: JupyterServer | Service) -> str:
    """Where the remote end of a forward should connect to reach `server`.

    Servers jtui starts listen on 127.0.0.1. A server started by hand with
    `--ip=0.0.0.0` (or no --ip) is reachable there too; one bound to a
    specific address (`--ip=10.1.2.3`) is only reachable at that address.
    """
    host = (server.hostname or "").strip()
    if host.lower() in _LOOPBACK_ALIASES:
        return "127.0.0.1"
    return host.strip("[]")


@dataclass(frozen=True)
class LaptopHint:
    """What to tell someone whose jtui runs on a machine they reached over SSH."""

    machine: str  # the address the user's laptop used to reach this machine
    message: str
    command: str  # the laptop-side command that completes the path


def laptop_hint(
    env: Mapping[str, str], local_port: int, hostname: str | None = None
) -> LaptopHint | None:
    """When jtui runs inside an SSH session, `localhost` is that machine, not the laptop.

    SSH_CONNECTION is "client_ip client_port server_ip server_port": the
    server address is the one the laptop already used to get here, so it is
    the best guess for the laptop-side `ssh -N -L` (a hostname may not
    resolve from the laptop). `hostname` (this machine's name) is only shown.
    Returns None outside SSH sessions.
    """
    parts = (env.get("SSH_CONNECTION") or "").split()
    if len(parts) < 3:
        return None
    address = parts[2]
    user = env.get("USER") or env.get("LOGNAME") or ""
    target = f"{user}@{address}" if user else address
    port = int(local_port)
    command = f"ssh -N -L {port}:localhost:{port} {shlex.quote(target)}"
    name = f"{hostname} ({address})" if hostname and hostname != address else address
    message = (
        f"jtui runs over SSH on {name}: `localhost` in this URL is that machine, "
        f"not your laptop. On your laptop, run:\n  {command}"
    )
    return LaptopHint(machine=address, message=message, command=command)
