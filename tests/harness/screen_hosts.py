"""Real hosts with fixed figures, for the pictures: snapshot tests, screenshots, the colour test.

Two SSH servers on 127.0.0.1 serve this machine (jtui.core.local_ssh, the
same server `jtui --demo` runs), each as a different host: `gpu-box` (16
cores, 32 GiB, one A100 through a stand-in nvidia-smi, two Jupyter
servers) and `lab` (4 cores, 16 GiB). jtui connects to them with its real
code, through ProxyCommand, so the hosts file can name them as a user's
would (gpu-box.lab.example) and the screen shows those names. The probe
(jtui's real probe.sh) reads a /proc of fixed files (JT_PROC) and a fixed
runtime dir; CPU figures come from stepping the fixture's /proc/stat
between samples. Nothing else is made up: connections, host keys, forwards
and prompts are the real thing.

    hpc      reached through a jump host that never answers: connecting…
    old-box  offers a key the server refuses: permission denied
    new-vm       presents a host key nobody recorded: the unknown-key prompt
    workstation  has a passphrase-protected key: the passphrase prompt
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.screen_kernels import API_HOST, GPU_UUID, serve_api, step_kernels, write_kernels
from tests.harness.sshd import kill_all, pids_with_marker, wait_gone

SCREENS = Path(__file__).resolve().parents[1] / "configs" / "screens"
BRIDGE = Path(__file__).resolve().parent / "tcp_bridge.py"
GIB_KB = 1024 * 1024
TOKEN = "5f2a9c0e7b1d4c3a8e6f0b2d9a7c5e3f1b4d6a8c0e2f4a6b"  # made up, token-shaped
GPU_BOX_CPU = (10, 12, 25, 60, 85, 70, 50, 37)  # the sparkline the pictures show
LAB_CPU = (3,)


@dataclass
class Persona:
    """What one server's host looks like to the probe."""

    name: str
    cores: int
    mem_total_gib: int
    mem_used_gib: float
    load: str
    gpu: str = ""  # a --query-gpu CSV line for the stand-in nvidia-smi; "" for no GPU
    servers: tuple[tuple[int, int, str, int], ...] = ()  # (pid, port, root_dir below HOME, age in s)
    services: tuple[tuple[int, str, int, str], ...] = ()  # (pid, address, port, command line) listening
    slurm: bool = False  # a cluster's login node: stand-in squeue/sinfo print a queue in Slurm's formats
    root: Path = field(default=Path())
    busy: int = 0  # jiffies per core so far
    idle: int = 0
    steps: int = 0

    @property
    def home(self) -> Path:
        return self.root / "home" / "alice"

    @property
    def proc(self) -> Path:
        return self.root / "proc"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def runtime(self) -> Path:
        return self.root / "runtime"

    def write(self, root: Path) -> None:
        self.root = root
        for folder in (self.proc / "1", self.bin, self.runtime):
            folder.mkdir(parents=True, exist_ok=True)
        (self.proc / "1" / "stat").write_text("1 (init) S 0 1 1 0 -1\n")
        (self.proc / "loadavg").write_text(f"{self.load} 2/345 12345\n")
        total = self.mem_total_gib * GIB_KB
        available = int((self.mem_total_gib - self.mem_used_gib) * GIB_KB)
        (self.proc / "meminfo").write_text(
            f"MemTotal: {total} kB\nMemFree: {available} kB\nMemAvailable: {available} kB\n"
            f"SwapTotal: {8 * GIB_KB} kB\nSwapFree: {8 * GIB_KB} kB\n"
        )
        self.step(0)
        if self.gpu:  # its first server runs the kernels the pictures show
            write_kernels(self.proc, self.servers[0][0], self.bin, self.gpu)
        # `jupyter` here never comes up: the picture of a server still starting. It enters
        # itself in the fixture's /proc, which is where this host's processes are looked up.
        standin = self.bin / "jupyter"
        standin.write_text('#!/bin/sh\nmkdir "$JT_PROC/$$" && echo "$$ (jupyter) S" >"$JT_PROC/$$/stat"\nexec sleep 600\n')
        standin.chmod(0o755)
        self.home.mkdir(parents=True, exist_ok=True)
        self._write_sockets()
        if self.slurm:
            self._write_slurm()
        now = time.time()
        for pid, port, root_dir, age in self.servers:
            (self.proc / str(pid)).mkdir(exist_ok=True)
            (self.proc / str(pid) / "stat").write_text(f"{pid} (jupyter-lab) S 1 {pid} {pid} 0 -1\n")
            runtime_file = self.runtime / f"jpserver-{pid}.json"
            runtime_file.write_text(
                f'{{"base_url": "/", "hostname": "{API_HOST}", "password": false, "pid": {pid}, '
                f'"port": {port}, "root_dir": "{self.home / root_dir}", "secure": false, "sock": "", '
                f'"token": "{TOKEN}", "url": "http://{API_HOST}:{port}/", "version": "2.14.2"}}\n'
            )
            os.utime(runtime_file, (now - age, now - age))

    def _write_sockets(self) -> None:
        """/proc/net/tcp with this user's listening sockets, and the fds that tie each to its process."""
        (self.proc / "net").mkdir(exist_ok=True)
        head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        lines = []
        for n, (pid, address, port, command) in enumerate(self.services):
            hex_address = "".join(f"{int(part):02X}" for part in reversed(address.split(".")))
            inode = 70000 + n
            lines.append(f"   {n}: {hex_address}:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 "
                         f"00000000  {os.getuid()}        0 {inode} 1 0000000000000000 100 0 0 10 0\n")
            folder = self.proc / str(pid)
            (folder / "fd").mkdir(parents=True, exist_ok=True)
            (folder / "cmdline").write_text(command.replace(" ", "\0") + "\0")
            (folder / "stat").write_text(f"{pid} (service) S 1 {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 1 100\n")
            os.symlink(f"socket:[{inode}]", folder / "fd" / "3")
        (self.proc / "net" / "tcp").write_text(head + "".join(lines))
        (self.proc / "net" / "tcp6").write_text(head)

    def _write_slurm(self) -> None:
        """squeue and sinfo answering as Slurm 22.05 does for jtui's formats; one job's server runs."""
        queue = ("4242|RUNNING|None|cn042|gpu|47:10|1:12:50|2026-12-03T16:00:00|jtui-jupyter\n"
                 "4243|PENDING|Priority||gpu|0:00|4:00:00|2026-12-03T19:30:00|jtui-jupyter\n"
                 "4200|RUNNING|None|cn017|cpu|3:02:11|20:57:49|2026-12-03T13:00:00|train-resnet\n")
        info = ("cpu|up|12/40/4/56|(null)|(null)\n"
                "gpu|up|1/8/0/9|gpu:a100:4(S:0-1)|gpu:a100:3(IDX:0-2)\n")
        for name, text in (("squeue", queue), ("sinfo", info), ("sbatch", "")):
            standin = self.bin / name
            standin.write_text(f"#!/bin/sh\ncat <<'EOF'\n{text}EOF\n")
            standin.chmod(0o755)
        (self.root / "slurm.conf").write_text("# the stand-in cluster's\n")
        jobs = self.home / ".local/state/jtui/jobs/4242"
        jobs.mkdir(parents=True, exist_ok=True)
        runtime_file = jobs / "jpserver-31337.json"
        runtime_file.write_text(
            f'{{"base_url": "/", "hostname": "127.0.0.1", "password": false, "pid": 31337, "port": 41871, '
            f'"root_dir": "{self.home}", "secure": false, "sock": "", "token": "{TOKEN}", '
            f'"url": "http://127.0.0.1:41871/", "version": "2.14.2"}}\n')
        then = time.time() - 2830
        os.utime(runtime_file, (then, then))

    def step(self, busy_percent: float) -> None:
        """Advance /proc/stat by 1000 jiffies per core, `busy_percent` of them busy."""
        self.busy += int(10 * busy_percent)
        self.idle += 1000 - int(10 * busy_percent)
        busy, idle = self.busy, self.idle
        core = f"{busy} 0 0 {idle} 0 0 0 0 0 0"
        lines = [f"cpu  {busy * self.cores} 0 0 {idle * self.cores} 0 0 0 0 0 0"]
        lines += [f"cpu{i} {core}" for i in range(self.cores)]
        staged = self.proc / "stat.new"
        staged.write_text("\n".join(lines) + "\nintr 0\n")
        self.steps += 1
        if self.gpu:
            step_kernels(self.proc, self.steps)  # first: the host's new stat is what makes a new sample
        staged.replace(self.proc / "stat")  # whole, never half-written, when the probe reads it

    def environment(self, marker: str) -> dict[str, str]:
        return {
            "HOME": str(self.home), "USER": "alice", "LOGNAME": "alice", "SHELL": "/bin/sh", "LC_ALL": "C",
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "JT_PROC": str(self.proc), "JUPYTER_RUNTIME_DIR": str(self.runtime), "JTUI_TEST_MARK": marker,
            **({"SLURM_CONF": str(self.root / "slurm.conf")} if self.slurm else {}),
        }


def personas() -> list[Persona]:
    return [
        Persona("gpu-box", 16, 32, 13.1, "5.10 4.00 3.20",
                gpu=f"0, {GPU_UUID}, NVIDIA A100-SXM4-80GB, 72, 55680, 81920, 54",
                servers=((1234, 8890, "proj", 7300), (5678, 8892, "scratch", 310)),
                services=((4101, "127.0.0.1", 6006, "/home/alice/.venv/bin/python /home/alice/.venv/bin/tensorboard "
                                                      "--logdir runs --port 6006"),
                          (4102, "0.0.0.0", 8000, "python3 -m http.server 8000"),
                          (4103, "127.0.0.1", 8265, "/usr/bin/python3 -u /opt/ray/dashboard/dashboard.py --port=8265"))),
        Persona("lab", 4, 16, 3.2, "0.10 0.10 0.00", slurm=True),
    ]


class ScreenHosts:
    """The servers, the hosts file naming them, and a config.toml; a context manager.

    The servers run on an event loop of their own, in a thread: snapshot
    tests run the app on theirs.
    """

    def __init__(self, root: Path, home: Path, config_home: Path, settings: str = "") -> None:
        self.root = root
        self.home = home  # the test's HOME: keys and known_hosts live below it, as a user's would
        self.config_home = config_home  # XDG_CONFIG_HOME
        self.settings = settings
        self.marker = uuid.uuid4().hex
        self.personas = {p.name: p for p in personas()}
        self.servers: dict[str, object] = {}
        self.hosts_file = root / "hosts.conf"
        self._silent: asyncio.AbstractServer | None = None
        self._api: asyncio.AbstractServer | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="screen hosts", daemon=True)

    def __enter__(self) -> "ScreenHosts":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        self._write_files()
        return self

    def __exit__(self, *exc_info) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        left = pids_with_marker(self.marker)  # the stand-in `jupyter` a start left sleeping
        kill_all(left)
        wait_gone(left)

    async def _start(self) -> None:
        import asyncssh

        from jtui.core.local_ssh import serve_this_machine

        host_key = asyncssh.read_private_key(str(SCREENS / "host_ed25519"))
        client = asyncssh.read_public_key(str(SCREENS / "client_ed25519.pub"))
        for name, persona in self.personas.items():
            persona.write(self.root / name)
            self.servers[name] = await serve_this_machine(host_key, client, environment=persona.environment(self.marker))
        self._silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        self._api = await serve_api(self.personas["gpu-box"].servers[0][1])

    async def _stop(self) -> None:
        for server in self.servers.values():
            await server.close()
        if self._silent is not None:
            self._silent.close()
        if self._api is not None:
            self._api.close()

    def _write_files(self) -> None:
        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        for name in ("client_ed25519", "stranger_ed25519", "locked_ed25519"):
            shutil.copy(SCREENS / name, ssh / name)
            (ssh / name).chmod(0o600)
        key = (SCREENS / "host_ed25519.pub").read_text().split()[:2]
        known = " ".join(key)
        (ssh / "known_hosts").write_text(
            f"gpu-box.lab.example {known}\n[lab.example]:2222 {known}\nold-box.example {known}\n"
            f"workstation.example {known}\n"
        )

        def via(port: int) -> str:
            return f"    ProxyCommand {sys.executable} {BRIDGE} {port}\n"

        gpu, lab = self.servers["gpu-box"].port, self.servers["lab"].port
        silent = self._silent.sockets[0].getsockname()[1]
        self.hosts_file.write_text(
            "Host gpu-box\n    HostName gpu-box.lab.example\n    User alice\n"
            f"    IdentityFile ~/.ssh/client_ed25519\n{via(gpu)}"
            "Host lab\n    HostName lab.example\n    Port 2222\n    User alice\n"
            f"    IdentityFile ~/.ssh/client_ed25519\n{via(lab)}"
            "Host hpc\n    HostName login.hpc.example\n    User asmith\n    ProxyJump gw.example\n"
            "Host old-box\n    HostName old-box.example\n    User alice\n"
            f"    IdentityFile ~/.ssh/stranger_ed25519\n{via(gpu)}"
            "Host new-vm\n    HostName new-vm.cloud.example\n    User alice\n"
            f"    IdentityFile ~/.ssh/client_ed25519\n{via(gpu)}"
            "Host workstation\n    HostName workstation.example\n    User alice\n"
            f"    IdentityFile ~/.ssh/locked_ed25519\n{via(gpu)}"
            f"Host gw.*\n    ConnectTimeout 600\n{via(silent)}"
            "Host *\n    IdentitiesOnly yes\n"
        )
        folder = self.config_home / "jtui"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.toml").write_text(
            "refresh = 0.2\n[hosts.new-vm]\nautoconnect = false\n[hosts.workstation]\nautoconnect = false\n"
            + self.settings
        )

    async def settle(self, app) -> None:
        """Step each live host's CPU through its figures, one sample each, until the screen shows them all."""
        from tests.ui_helpers import connected, record, until

        for name, figures in (("gpu-box", GPU_BOX_CPU), ("lab", LAB_CPU)):
            await connected(app, name)
            persona = self.personas[name]
            for count, busy in enumerate(figures, 1):
                persona.step(busy)
                await until(lambda: len(record(app, name).cpu_history) >= count, what=f"{name} sample {count}")
            host_list = app.host_screen.host_list  # figures reach the list on its next flush (none when compact)
            await until(lambda: host_list.compact or f"{figures[-1]:3.0f}%" in str(host_list.table.row(name).load),
                        what=f"{name} in the list")
        await app.workers.wait_for_complete()
