"""Kernels with fixed figures for the screen hosts' gpu-box (pictures only; test_kernels.py uses real ones).

The probe finds them as it finds real kernels: below the server's pid in
the fixture's /proc (`task/PID/children`), by the `kernel-ID.json` on their
command lines, with CPU ticks stepped along with the host's, RSS and PSS in
stat and smaps_rollup. GPU memory comes from the same stand-in nvidia-smi
that real tests use, in nvidia-smi's CSV. What the server's own API says
(notebook paths, states) is recorded answers of jupyter_server's
`/api/kernels` and `/api/sessions`, served on 127.0.0.2 (this machine), so
the forward to the server's port stays free on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

GPU_UUID = "GPU-5c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
API_HOST = "127.0.0.2"
GIB = 1 << 30


@dataclass(frozen=True)
class FixtureKernel:
    pid: int
    id: str
    path: str
    state: str
    idle_s: int  # since its last activity
    cpu: int  # percent of a core, per step
    rss_gib: float
    gpu_mib: int = 0
    children: tuple[tuple[int, float, int], ...] = ()  # (pid, rss GiB, gpu MiB): DataLoader workers


KERNELS = (
    FixtureKernel(2001, "8c1e6c50-3b1f-4c2e-9f6d-1a2b3c4d5e01", "train.ipynb", "busy", 2, 85, 6.2, 30720,
                  children=((2002, 1.1, 512), (2003, 1.1, 512))),
    FixtureKernel(2101, "8c1e6c50-3b1f-4c2e-9f6d-1a2b3c4d5e02", "explore.ipynb", "idle", 47 * 60, 0, 3.4, 9728),
    FixtureKernel(2201, "8c1e6c50-3b1f-4c2e-9f6d-1a2b3c4d5e03", "scratch/plots.ipynb", "idle", 130, 1, 0.6),
)
STRANGER = (3001, 12288, "python train_gan.py --epochs 200")  # GPU memory no kernel holds (user nobody)


def _stat(pid: int, ppid: int, comm: str, ticks: int, rss_gib: float) -> str:
    """A /proc/PID/stat line: utime is field 14, rss (pages) field 24."""
    pages = int(rss_gib * GIB / 4096)
    return f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 0 0 0 0 0 {ticks} 0 0 0 20 0 1 0 100 0 {pages} 0\n"


def write_kernels(proc: Path, server_pid: int, bin_dir: Path, gpu_line: str) -> None:
    """The kernels below `server_pid` in the fixture /proc, and an nvidia-smi answering for them."""
    (proc / str(server_pid) / "task" / str(server_pid)).mkdir(parents=True, exist_ok=True)
    (proc / str(server_pid) / "task" / str(server_pid) / "children").write_text(" ".join(str(k.pid) for k in KERNELS))
    apps = []
    for kernel in KERNELS:
        cmdline = f"/home/alice/.venv/bin/python\0-m\0ipykernel_launcher\0-f\0/run/kernel-{kernel.id}.json\0"
        _process(proc, kernel.pid, server_pid, cmdline, kernel.rss_gib, [c[0] for c in kernel.children])
        if kernel.gpu_mib:
            apps.append(f"{kernel.pid}, {kernel.gpu_mib}, {GPU_UUID}")
        for child, rss, gpu in kernel.children:
            _process(proc, child, kernel.pid, cmdline, rss, [])
            apps.append(f"{child}, {gpu}, {GPU_UUID}")
    pid, mib, command = STRANGER
    _process(proc, pid, 1, command.replace(" ", "\0") + "\0", 2.0, [], uid=65534)
    apps.append(f"{pid}, {mib}, {GPU_UUID}")
    (bin_dir / "gpu-apps.csv").write_text("\n".join(apps) + "\n")
    script = bin_dir / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f"  *--query-gpu=*) echo '{gpu_line}' ;;\n"
        f"  *--query-compute-apps=*) cat {bin_dir / 'gpu-apps.csv'} ;;\n"
        "esac\n"
    )
    script.chmod(0o755)


def _process(proc: Path, pid: int, ppid: int, cmdline: str, rss_gib: float, children: list[int], uid: int = 1000) -> None:
    folder = proc / str(pid)
    (folder / "task" / str(pid)).mkdir(parents=True, exist_ok=True)
    (folder / "cmdline").write_text(cmdline)
    (folder / "stat").write_text(_stat(pid, ppid, "python", 0, rss_gib))
    (folder / "smaps_rollup").write_text(f"Rss: {int(rss_gib * GIB / 1024)} kB\nPss: {int(rss_gib * 0.9 * GIB / 1024)} kB\n")
    (folder / "status").write_text(f"Name:\tpython\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")
    (folder / "task" / str(pid) / "children").write_text(" ".join(str(c) for c in children))


def step_kernels(proc: Path, steps: int) -> None:
    """Advance each kernel's CPU ticks as `steps` host steps of 1000 jiffies per core would."""
    for kernel in KERNELS:
        stat = proc / str(kernel.pid) / "stat"
        if stat.exists():
            staged = stat.with_name("stat.new")
            staged.write_text(_stat(kernel.pid, 1234, "python", 10 * kernel.cpu * steps, kernel.rss_gib))
            staged.replace(stat)


def _iso(seconds_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - seconds_ago, timezone.utc).isoformat().replace("+00:00", "Z")


def api_answers() -> dict[str, bytes]:
    """jupyter_server's answers to /api/kernels and /api/sessions, for KERNELS."""
    kernels = [{"id": k.id, "name": "python3", "last_activity": _iso(k.idle_s), "execution_state": k.state,
                "connections": 1} for k in KERNELS]
    sessions = [{"id": f"s-{k.id[-4:]}", "path": k.path, "name": k.path.rsplit("/", 1)[-1], "type": "notebook",
                 "kernel": kernel} for k, kernel in zip(KERNELS, kernels)]
    return {"/api/kernels": json.dumps(kernels).encode(), "/api/sessions": json.dumps(sessions).encode()}


async def serve_api(port: int) -> asyncio.AbstractServer:
    """The recorded API on API_HOST:port, HTTP/1.1 with keep-alive, as jupyter_server answers it."""
    answers = api_answers()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode()
                body = answers.get(target.split("?")[0], b'{"message": "Not Found"}')
                status = "200 OK" if target.split("?")[0] in answers else "404 Not Found"
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(handle, API_HOST, port)
