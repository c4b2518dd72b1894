"""A Jupyter server's kernels: what each notebook's kernel is doing, and what it costs.

Two sources, joined by kernel id: the server's REST API (`/api/sessions`,
`/api/kernels`: the notebook path, the kernel's state, its last activity,
its connections), asked with the server's token over jtui's SSH connection;
and the probe, which sees the kernels' processes from outside (CPU, memory,
GPU memory). Kernel actions go through the same API.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from jtui.core.http import HttpError, HttpResponse, KeepAlive
from jtui.core.model import JupyterServer, Kernel, KernelProcesses  # noqa: F401 (Kernel: here for callers)
from jtui.core.runtime_files import CONTROL_CHARS
from jtui.core.urls import remote_connect_host

log = logging.getLogger(__name__)

ACTIONS = {"interrupt": ("POST", "/interrupt"), "restart": ("POST", "/restart"), "shutdown": ("DELETE", "")}
_KERNEL_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}\Z")
MIB = 1 << 20


class KernelsUnavailable(Exception):
    """The server will not say what its kernels are; str() is why, for a person."""


def _text(value: Any, limit: int = 4096) -> str:
    if not isinstance(value, str) or len(value) > limit or CONTROL_CHARS.search(value):
        return ""
    return value


def _time(value: Any) -> float | None:
    """An ISO 8601 time from the API (`2026-12-03T15:20:00.123456Z`) as epoch seconds."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 31 else None


def join(api_kernels: Any, api_sessions: Any, processes: tuple[KernelProcesses, ...]) -> tuple[Kernel, ...]:
    """The server's kernels: the API's list (when given) joined with the probe's processes, by id.

    Pure, and careful: the JSON comes from a remote server. A kernel the
    probe sees but the API does not list (API unavailable, or racing a
    start) is still shown, from its processes.
    """
    paths: dict[str, tuple[str, str]] = {}
    for session in api_sessions if isinstance(api_sessions, list) else ():
        if isinstance(session, dict) and isinstance(session.get("kernel"), dict):
            kid = session["kernel"].get("id")
            if isinstance(kid, str):
                paths[kid] = (_text(session.get("path")), _text(session.get("type"), 64))
    by_process = {p.kernel_id: p for p in processes}
    kernels: list[Kernel] = []
    seen: set[str] = set()
    for entry in api_kernels if isinstance(api_kernels, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not _KERNEL_ID.match(entry["id"]):
            continue
        kid = entry["id"]
        seen.add(kid)
        path, kind = paths.get(kid, ("", ""))
        kernels.append(_with_processes(Kernel(
            id=kid, name=_text(entry.get("name"), 256), path=path, kind=kind,
            state=_text(entry.get("execution_state"), 64), last_activity=_time(entry.get("last_activity")),
            connections=_count(entry.get("connections")),
        ), by_process.get(kid)))
    for kid, proc in by_process.items():
        if kid not in seen:
            kernels.append(_with_processes(Kernel(id=kid), proc))
    return tuple(kernels)


def _with_processes(kernel: Kernel, proc: KernelProcesses | None) -> Kernel:
    if proc is None:
        return kernel
    return Kernel(**{
        **kernel.__dict__, "pid": proc.pid, "cpu_percent": proc.cpu_percent, "memory_bytes": proc.memory_bytes,
        "memory_kind": proc.memory_kind, "gpu_memory_bytes": int(proc.gpu_memory_mib * MIB), "gpus": proc.gpus,
        "processes": proc.processes,
    })


class KernelApi:
    """A server's kernel API over one kept-alive channel of the host's SSH connection."""

    def __init__(self, conn, server: JupyterServer) -> None:
        self.server = server
        self.http = KeepAlive(conn, remote_connect_host(server), server.port, token=server.token)

    async def _call(self, method: str, path: str) -> HttpResponse:
        response = await self.http.request(method, f"{self.server.base_url}{path.lstrip('/')}")
        if response.status == 403 and not self.server.token:
            raise KernelsUnavailable("this server uses a password, not a token: jtui cannot act on its kernels "
                                     "without it (the browser can)")
        if response.status in (401, 403):
            raise KernelsUnavailable(f"the server refused jtui's token (HTTP {response.status})")
        return response

    async def listing(self) -> tuple[Any, Any]:
        """(kernels, sessions) as the API gives them."""
        kernels = await self._call("GET", "api/kernels")
        sessions = await self._call("GET", "api/sessions")
        if kernels.status != 200 or sessions.status != 200:
            raise KernelsUnavailable(f"the server answered HTTP {kernels.status} for its kernels")
        return kernels.json(), sessions.json()

    async def act(self, kernel_id: str, action: str) -> None:
        """interrupt, restart or shutdown a kernel; KernelsUnavailable says why it did not happen."""
        if not _KERNEL_ID.match(kernel_id):
            raise ValueError(f"not a kernel id: {kernel_id!r}")
        method, suffix = ACTIONS[action]
        response = await self._call(method, f"api/kernels/{kernel_id}{suffix}")
        if response.status == 404:
            raise KernelsUnavailable("that kernel is gone already")
        if not 200 <= response.status < 300:
            raise KernelsUnavailable(f"the server answered HTTP {response.status} to {action}")

    async def close(self) -> None:
        await self.http.close()


async def kernels_of(conn, server: JupyterServer, processes: tuple[KernelProcesses, ...],
                     api: KernelApi | None = None) -> tuple[tuple[Kernel, ...], str]:
    """(kernels, why the API's part is missing or ""): what `jtui status` and the screen show."""
    from jtui.core.jupyter import REMOTE_ERRORS  # asyncssh's errors: imported once a connection exists

    own = api is None
    api = api or KernelApi(conn, server)
    mine = tuple(p for p in processes if p.server_pid == server.pid)
    try:
        api_kernels, api_sessions = await api.listing()
        return join(api_kernels, api_sessions, mine), ""
    except KernelsUnavailable as exc:
        return join(None, None, mine), str(exc)
    except (HttpError, *REMOTE_ERRORS) as exc:
        log.info("kernels of port %d: %s", server.port, type(exc).__name__)
        return join(None, None, mine), f"the server did not answer ({type(exc).__name__})"
    finally:
        if own:
            await api.close()
