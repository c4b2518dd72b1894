"""A real OpenSSH sshd on 127.0.0.1 for tests: own host key, client key, known_hosts.

Everything started through it carries a marker in its environment, so that
stop() can end it all by PID, including processes that setsid'd away
(Jupyter servers started the way jtui starts them).
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path, comment: str, passphrase: str = "") -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", str(path)],
        check=True,
    )
    return Path(f"{path}.pub").read_text().strip()


def pids_with_marker(marker: str) -> list[int]:
    """PIDs whose environment holds MARKER (procs started through the test sshd)."""
    needle = f"JTUI_TEST_MARK={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """All processes below PID in the process tree (sshd's per-connection children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_all(pids: list[int], sig: int = signal.SIGTERM) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    left = list(pids)
    while left and time.monotonic() < deadline:
        left = [p for p in left if alive(p)]
        if left:
            time.sleep(0.05)
    return left


def alive(pid: int) -> bool:
    """Running: it exists and is not a zombie (a zombie has finished)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM a process the test started (its whole group when it leads one), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not alive(pid):
            return
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return
        wait_gone([pid], timeout)


@dataclass
class SshServer:
    """One sshd instance; `config_file` is a client ssh_config with `Host testhost`."""

    root: Path
    port: int = 0
    user: str = field(default_factory=getpass.getuser)
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    extra_config: str = ""
    remote_path: str = ""
    # False: sessions get the user's own HOME, PATH and Jupyter dirs (real users, their profiles)
    own_environment: bool = True
    env: dict[str, str] = field(default_factory=dict)  # more for every session (SLURM_CONF=...)
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.host_key = self.root / "ssh_host_ed25519_key"
        self.client_key = self.root / "id_ed25519"
        self.known_hosts = self.root / "known_hosts"
        self.authorized_keys = self.root / "authorized_keys"
        self.sshd_config = self.root / "sshd_config"
        self.config_file = self.root / "ssh_config"
        self.home = self.root / "home"
        self.runtime_dir = self.home / ".local/share/jupyter/runtime"
        self.bin_dir = self.root / "bin"
        self.log_file = self.root / "sshd.log"
        if not self.host_key.exists():
            self._make_keys()
        self.trust_host_key()
        self.write_configs()

    def _make_keys(self) -> None:
        keygen(self.host_key, "testhost")
        client_pub = keygen(self.client_key, "jtui-test")
        self.authorized_keys.write_text(client_pub + "\n")
        self.home.mkdir(exist_ok=True)
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.bin_dir.mkdir(exist_ok=True)

    def trust_host_key(self) -> None:
        """known_hosts names this server at its address and port (a reused root may have a new port)."""
        self.known_hosts.write_text(f"[{self.address}]:{self.port} {self.host_public_key}\n")

    @property
    def host_public_key(self) -> str:
        return Path(f"{self.host_key}.pub").read_text().strip()

    def remote_env_path(self) -> str:
        import sys

        venv_bin = str(Path(sys.executable).parent)
        parts = [str(self.bin_dir), venv_bin, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        if self.remote_path:
            parts.insert(0, self.remote_path)
        return ":".join(parts)

    def write_configs(self) -> None:
        # sshd keeps the first value of a keyword: extra_config goes first to win.
        self.sshd_config.write_text(
            f"""\
{self.extra_config}
Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
PidFile {self.root}/sshd.pid
AuthorizedKeysFile {self.authorized_keys}
StrictModes no
UsePAM no
MaxSessions 10
MaxStartups 200:30:400
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
PermitRootLogin yes
PrintMotd no
LogLevel VERBOSE
{self._set_env()}
"""
        )
        self.config_file.write_text(self.client_config("testhost"))

    def _set_env(self) -> str:
        more = "".join(f" {key}={value}" for key, value in self.env.items())
        if not self.own_environment:
            return f"SetEnv JTUI_TEST_MARK={self.marker}{more}"
        return (f"SetEnv JTUI_TEST_MARK={self.marker} HOME={self.home} PATH={self.remote_env_path()} "
                f"JUPYTER_RUNTIME_DIR={self.runtime_dir}{more}")

    def client_config(self, alias: str, batch: bool = True, **extra: str) -> str:
        """A Host entry reaching this server; `batch` False leaves out BatchMode yes (a person's config: ssh asks)."""
        lines = [
            f"Host {alias}",
            "  HostName 127.0.0.1",
            f"  Port {self.port}",
            f"  User {self.user}",
            f"  IdentityFile {self.client_key}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {self.known_hosts}",
        ]
        if batch:
            lines.append("  BatchMode yes")
        lines += [f"  {key} {value}" for key, value in extra.items()]
        return "\n".join(lines) + "\n"

    def ssh_args(self, alias: str = "testhost") -> list[str]:
        """OpenSSH client command line reaching this server."""
        return ["ssh", "-F", str(self.config_file), alias]

    @property
    def address(self) -> str:
        """Where sshd listens (a subclass may listen elsewhere)."""
        return "127.0.0.1"

    def spawn(self, args: list[str], **kwargs) -> subprocess.Popen:
        """Start sshd (a subclass may start it inside a network namespace)."""
        return subprocess.Popen(args, **kwargs)

    def start(self) -> "SshServer":
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        log = open(self.log_file, "ab")
        self.proc = self.spawn(
            [SSHD, "-D", "-e", "-f", str(self.sshd_config)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log_file.read_text()[-2000:]}")
            try:
                with socket.create_connection((self.address, self.port), timeout=0.5) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"sshd did not answer on {self.address}:{self.port}: {self.log_file.read_text()[-2000:]}")

    def stop_listener(self) -> None:
        """Stop accepting new connections; sessions already open keep running."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None

    def connection_pids(self) -> list[int]:
        """The per-connection sshd processes (children of the listener)."""
        if not self.proc:
            return []
        return [p for p in descendants(self.proc.pid) if _comm(p).startswith("sshd")]

    def stop(self) -> None:
        """End sshd, its connections, and everything started through it."""
        tree = descendants(self.proc.pid) if self.proc else []
        self.stop_listener()
        victims = sorted(set(tree) | set(pids_with_marker(self.marker)))
        kill_all(victims)
        left = wait_gone(victims)
        kill_all(left, signal.SIGKILL)
        wait_gone(left)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
