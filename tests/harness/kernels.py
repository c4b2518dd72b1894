"""Real ipykernel kernels in a real jupyter_server, doing known work, for the kernel tests.

Kernels are started the way a browser starts them (POST /api/sessions with
a notebook path, the server's token in a header); code runs in them over
their own connection files with jupyter_client, as a notebook's cell would.
A stand-in `nvidia-smi` answers the two queries jtui asks, in nvidia-smi's
documented CSV (`--format=csv,noheader,nounits`), with real kernel pids.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.harness.jupyter import RunningJupyter

GPU_UUID = "GPU-5c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"


def api(server: RunningJupyter, method: str, path: str, payload: dict | None = None) -> object:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", data=data, method=method,
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


@dataclass
class Notebook:
    path: str
    kernel_id: str
    connection_file: Path

    def client(self):
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=str(self.connection_file))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        return client

    def run(self, code: str, wait: bool = True) -> dict | None:
        """Run `code` as a cell would; with `wait`, its reply (the execute_reply content)."""
        client = self.client()
        try:
            msg_id = client.execute(code)
            if not wait:
                return None
            while True:
                reply = client.get_shell_msg(timeout=120)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return reply["content"]
        finally:
            client.stop_channels()

    @property
    def pid(self) -> int:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if f"kernel-{self.kernel_id}.json".encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                        return int(entry)
                except OSError:
                    continue
        raise LookupError(f"no process for kernel {self.kernel_id}")


def open_notebook(server: RunningJupyter, path: str) -> Notebook:
    """A notebook session with a python3 kernel, as the browser makes one; ready to run cells."""
    session = api(server, "POST", "/api/sessions", {"path": path, "type": "notebook", "kernel": {"name": "python3"}})
    kernel_id = session["kernel"]["id"]
    runtime = server.runtime_file.parent
    connection = runtime / f"kernel-{kernel_id}.json"
    deadline = time.monotonic() + 60
    while not connection.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no connection file for kernel {kernel_id}")
        time.sleep(0.05)
    return Notebook(path, kernel_id, connection)


def stand_in_nvidia_smi(bin_dir: Path, apps: Path) -> None:
    """`nvidia-smi` on the host's PATH: one A100, and the compute apps listed in `apps` ("pid, MiB" lines)."""
    script = bin_dir / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f"  *--query-gpu=*) echo '0, {GPU_UUID}, NVIDIA A100-SXM4-80GB, 35, 21504, 81920, 50' ;;\n"
        f"  *--query-compute-apps=*) sed 's/$/, {GPU_UUID}/' {apps} 2>/dev/null ;;\n"
        "  *) echo 'stand-in nvidia-smi: unexpected arguments' >&2; exit 2 ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    apps.write_text("")


def tree(pid: int) -> list[int]:
    """pid and every process below it."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return out


def pss_of_tree(pid: int) -> int:
    """What the kernel tree holds, as the kernel itself counts it (PSS from smaps_rollup)."""
    total = 0
    for member in tree(pid):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total
