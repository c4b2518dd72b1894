"""What else the user runs on a host: the listening sockets, named by the process that holds them.

Recognition is a table of rules matched against the command line (never
the port number alone: 8080 is anyone's). The first rule that matches
names the service, says which of its ports people browse (a Dask scheduler
listens on two, the dashboard is one), the path its URL needs, and how to
make it listen on 127.0.0.1 only. Ports no rule knows are listed too, as
plain HTTP or TCP once jtui has asked them (see session.py).

Pure functions: the probe's sample in, Services out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from typing import TypeGuard

from jtui.core.model import JupyterServer, KernelProcesses, ListeningSocket, Service


@dataclass(frozen=True)
class Rule:
    """How to recognise one kind of service from its command line, and how to reach and secure it."""

    kind: str
    command: str  # a regular expression searched in the command line
    path: str = "/"
    port_option: str = ""  # the option that names the port people browse ("--port")
    default_port: int = 0  # that port when the option is not given
    bind_hint: str = ""  # the option that makes it listen on 127.0.0.1 only
    hidden: bool = False  # a helper of another service, or the system's: never listed


JUPYTER_BIND_HINT = "start it with --ip=127.0.0.1 (or c.ServerApp.ip = '127.0.0.1')"
GENERIC_BIND_HINT = "make it listen on 127.0.0.1 (its host or bind option)"
HIDDEN_PROCESS = "(process not visible)"  # a socket held by no process jtui may look at (another user's, a VM's)

# Order matters: the first match wins, so helpers come before the services they belong to.
RULES: tuple[Rule, ...] = (
    Rule("system", r"^(sshd[: ]|/usr/sbin/|/sbin/|/lib/systemd/|/usr/lib/systemd/|systemd|\(sd-pam\))", hidden=True),
    # jtui's own sockets (its forwards, --demo's SSH server) when a host is this machine: plumbing, not
    # services; a forward shows in its server's "local" column.
    # (the program itself, run or run by Python: not any command with "jtui" among its arguments)
    Rule("jtui", r"^(\S*/)?(python[\d.]*( -\S+)* (-m |\S*/)?)?jtui( |$)", hidden=True),
    Rule("cluster daemons", r"(^|/)(slurmctld|slurmd|slurmstepd|slurmdbd|munged)( |$)", hidden=True),
    Rule("TensorBoard data server", r"tensorboard_data_server|rustboard", hidden=True),
    Rule("TensorBoard", r"(^|[/ ])tensorboard( |$)|tensorboard\.main", port_option="--port", default_port=6006,
         bind_hint="start it with --host 127.0.0.1 (not --bind_all)"),
    Rule("JupyterHub", r"configurable-http-proxy", path="/hub/", port_option="--port", default_port=8000,
         bind_hint="set c.JupyterHub.ip = '127.0.0.1'"),
    Rule("JupyterHub internals", r"(^|[/ ])jupyterhub( |$)|jupyterhub\.app|jupyterhub-singleuser", hidden=True),
    Rule("Dask", r"dask[-_ ]scheduler|distributed\.cli\.dask_scheduler", path="/status",
         port_option="--dashboard-address", default_port=8787,
         bind_hint="start it with --dashboard-address 127.0.0.1:8787"),
    Rule("Dask worker", r"dask[-_ ]worker|distributed\.cli\.dask_worker", hidden=True),
    Rule("Ray", r"ray/dashboard/dashboard\.py", port_option="--port", default_port=8265,
         bind_hint="start it with ray start --dashboard-host 127.0.0.1"),
    Rule("Ray internals", r"(^|/)(raylet|gcs_server)( |$)|ray::|/ray/(_private|autoscaler|dashboard)/", hidden=True),
    Rule("MLflow", r"mlflow(\.exe)? (server|ui)( |$)|mlflow\.server[:.]", port_option="--port", default_port=5000,
         bind_hint="start it with --host 127.0.0.1"),
    Rule("Streamlit", r"streamlit(\.exe)? run|streamlit\.web", port_option="--server.port", default_port=8501,
         bind_hint="start it with --server.address 127.0.0.1"),
    Rule("Gradio", r"(^|[/ ])gradio( |$)|gradio\.cli", default_port=7860,
         bind_hint="launch it with server_name='127.0.0.1'"),
    Rule("code-server", r"code-server|openvscode-server", port_option="--port", default_port=8080,
         bind_hint="start it with --bind-addr 127.0.0.1:8080"),
    Rule("marimo", r"marimo(\.exe)? (edit|run|tutorial)|marimo\._cli", port_option="--port", default_port=2718,
         bind_hint="start it with --host 127.0.0.1"),
    Rule("Jupyter", r"jupyter[- ](lab|notebook|server)( |$)|jupyter_server|jupyterlab\.labapp|notebook\.notebookapp",
         port_option="--port", default_port=8888, bind_hint=JUPYTER_BIND_HINT),
    Rule("HTTP", r"(^|[/ ])http\.server( |$)|SimpleHTTPServer", port_option="", default_port=8000,
         bind_hint="start it with --bind 127.0.0.1"),
)


@cache
def _compiled() -> tuple[tuple[Rule, re.Pattern[str]], ...]:
    """The rules' patterns, compiled once at the first sample: at import they slowed jtui's start."""
    return tuple((rule, re.compile(rule.command)) for rule in RULES)


def rule_for(command: str) -> Rule | None:
    for rule, pattern in _compiled():
        if pattern.search(command):
            return rule
    return None


def option_port(command: str, option: str) -> int | None:
    """The port an option names: `--port 6006`, `--port=6006`, `--dashboard-address 0.0.0.0:8787`."""
    if not option:
        return None
    match = re.search(rf"(?:^| ){re.escape(option)}[= ]\S*?(\d{{1,5}})(?: |$)", command)
    if match is None:
        return None
    port = int(match.group(1))
    return port if 0 < port < 65536 else None


def _one_per_port(sockets: list[ListeningSocket]) -> list[ListeningSocket]:
    """A port held on both 0.0.0.0 and :: (or 127.0.0.1 and ::1) is one row: the most exposed address."""
    chosen: dict[tuple[int | None, int], ListeningSocket] = {}
    for sock in sockets:
        key = (sock.pid, sock.port)
        old = chosen.get(key)
        if old is None or (sock.exposed and not old.exposed):
            chosen[key] = sock
    return list(chosen.values())


def services_of(
    listening: tuple[ListeningSocket, ...],
    servers: tuple[JupyterServer, ...] = (),
    kernels: tuple[KernelProcesses, ...] = (),
) -> tuple[Service, ...]:
    """The user's services, by port: everything listening but Jupyter servers and hidden helpers."""
    server_pids = {s.pid for s in servers}
    server_ports = {s.port for s in servers}
    by_pid: dict[int | None, list[ListeningSocket]] = {}
    for sock in _one_per_port(list(listening)):
        if sock.pid in server_pids or sock.port in server_ports:
            continue
        by_pid.setdefault(sock.pid, []).append(sock)
    found: list[Service] = []
    for pid, sockets in by_pid.items():
        command = sockets[0].command
        rule = rule_for(command) if command else None
        if rule is not None and rule.hidden:
            continue
        if rule is not None:
            sockets = _browsed(rule, command, sockets)
        for sock in sockets:
            found.append(Service(
                port=sock.port, address=sock.address, pid=pid, command=command,
                kind=rule.kind if rule else "", path=rule.path if rule else "/",
                bind_hint=rule.bind_hint if rule else GENERIC_BIND_HINT, kernel=sock.kernel, started=sock.started,
            ))
    seen: set[int] = set()
    unique = []
    for service in sorted(found, key=lambda s: (s.port, s.exposed)):
        if service.port not in seen:
            seen.add(service.port)
            unique.append(service)
    return tuple(unique)


def _browsed(rule: Rule, command: str, sockets: list[ListeningSocket]) -> list[ListeningSocket]:
    """The port people browse, when the process holds several and jtui can tell which."""
    if len(sockets) == 1:
        return sockets
    for port in (option_port(command, rule.port_option), rule.default_port):
        match = [s for s in sockets if s.port == port]
        if match:
            return match
    return sockets


def with_addresses(servers: tuple[JupyterServer, ...], listening: tuple[ListeningSocket, ...]) -> tuple[JupyterServer, ...]:
    """Each server with the address it really listens on (a runtime file says `localhost` for 0.0.0.0 too)."""
    if not listening:
        return servers
    out = []
    for server in servers:
        socks = [s for s in _one_per_port(list(listening)) if s.port == server.port and s.pid in (server.pid, None)]
        out.append(replace(server, address=socks[0].address) if socks else server)
    return tuple(out)


def with_kinds(services: tuple[Service, ...], kinds: dict[tuple[int | None, int], str]) -> tuple[Service, ...]:
    """Unnamed services named by what their port answered ("HTTP", "ZMQ" or "TCP"), as far as jtui has asked.

    A kernel's own ZMQ sockets beyond its connection file (ipykernel's IOPub
    pipe, ...) leave the list, and a kernel's port waits off it until asked:
    what a notebook serves (a Dask dashboard) is listed once it answers HTTP.
    """
    named = (
        replace(s, kind=kinds[(s.pid, s.port)]) if not s.kind and (s.pid, s.port) in kinds else s for s in services
    )
    return tuple(s for s in named if not (s.kernel and s.kind in ("", "ZMQ")))


def describe(service: Service) -> str:
    """"TensorBoard on port 6006", "HTTP on port 8000", "port 9000" (not asked yet)."""
    return f"{service.kind} on port {service.port}" if service.kind else f"port {service.port}"


def exposure_line(item: JupyterServer | Service) -> str:
    """What listening on all interfaces means, and how to stop it: one sentence."""
    address = item.address or getattr(item, "hostname", "")
    shown = "all interfaces" if address in ("0.0.0.0", "::", "*", "") else address
    hint = JUPYTER_BIND_HINT if isinstance(item, JupyterServer) else (item.bind_hint or GENERIC_BIND_HINT)
    return (f"Port {item.port} listens on {shown} ({address or '?'}): other machines on the network can reach it. "
            f"To keep it to this host, {hint}; jtui's forward works either way.")


def open_to_all(server: JupyterServer) -> bool:
    """Listening on the network, and it let a request with no credentials in: anyone who reaches it runs code."""
    return server.exposed and not server.token and server.login == "none"


def with_logins(servers: tuple[JupyterServer, ...], logins: dict[tuple[int, int], str]) -> tuple[JupyterServer, ...]:
    """Servers without a token, with what they answered to a request without credentials (see JupyterServer.login)."""
    return tuple(replace(s, login=logins[(s.pid, s.port)]) if (s.pid, s.port) in logins else s for s in servers)


def unasked(sample) -> tuple[list[Service], list[JupyterServer]]:
    """What jtui must ask over the network before it can name it: unnamed services, servers without a token."""
    return [s for s in sample.services if not s.kind], [s for s in sample.servers if not s.token and not s.login]


def danger_line(server: JupyterServer) -> str:
    return (f"Jupyter on port {server.port} listens on {server.address or server.hostname} with neither token "
            "nor password: anyone who can reach this host can run code as you. Stop it (x) and start it on "
            "127.0.0.1 with a token (jtui's s does).")


def is_hub(item: object) -> TypeGuard[Service]:
    """A JupyterHub's row, where s, c and x act on the user's server on the hub."""
    return isinstance(item, Service) and item.kind == "JupyterHub"


def hub_of(sample, port: int | None = None) -> Service | None:
    """The JupyterHub on the host (its public port), if the user runs one; the one on `port` when
    there are several and it is still listed."""
    hubs = [s for s in sample.services if is_hub(s)]
    return next((s for s in hubs if s.port == port), hubs[0] if hubs else None)


def find_service(services: tuple[Service, ...], wanted: str) -> Service | None:
    """`jtui open --service`: a port number, or a kind (case-insensitive; the first by port)."""
    if wanted.isdigit():
        return next((s for s in services if s.port == int(wanted)), None)
    key = wanted.lower().replace(" ", "")
    return next((s for s in services if s.kind.lower().replace(" ", "") == key), None)
