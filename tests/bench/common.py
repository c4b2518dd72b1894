"""What the benchmarks share: an isolated jtui home, a real sshd, statistics and tables.

Nothing here times anything by itself; each bench_*.py decides what it
compares. Every helper that starts a process also ends it (by PID).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.harness.sockets import listeners  # noqa: E402
from tests.harness.sshd import SshServer, free_port  # noqa: E402

PYTHON = sys.executable


def compile_jtui() -> None:
    """Write jtui's .pyc files before timing a start: a user's installed jtui has them.

    With PYTHONDONTWRITEBYTECODE set (it is, on some machines and CI images),
    an edited module would be compiled again at every start it is timed.
    """
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "jtui")], check=True, stdout=subprocess.DEVNULL)


# -- a private jtui home ------------------------------------------------------


def isolate_home(tmp: Path, refresh: float | None = None, **defaults: object) -> dict[str, str]:
    """Point jtui's config, state, data, cache and log dirs into `tmp` (this process and children).

    Writes config.toml with `refresh` and the [defaults] given (strings and
    bools), so the app and HostSession read the same settings. Returns the
    environment variables set, for processes started in a terminal.
    """
    env = {}
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                     ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        path = tmp / "xdg" / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = os.environ[var] = str(path)
    for var in ("SSH_AUTH_SOCK", "TMUX", "SSH_CONNECTION"):
        os.environ.pop(var, None)
    lines = []
    if refresh is not None:
        lines.append(f"refresh = {refresh}")
    if defaults:
        lines.append("[defaults]")
        for key, value in defaults.items():
            lines.append(f"{key} = {'true' if value is True else 'false' if value is False else repr(str(value))}")
    config = tmp / "xdg" / "config" / "jtui"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("\n".join(lines) + "\n")
    return env


def jupyter_settings(server: SshServer):
    """HostSettings for `jupyter server` (jupyterlab is not installed) in a work dir on the 'remote'."""
    from jtui.core.settings import HostSettings

    work = server.home / "work"
    work.mkdir(parents=True, exist_ok=True)
    return HostSettings(jupyter="jupyter server", root_dir="~/work", autoconnect=True)


# -- jtui's core, connected ---------------------------------------------------


class Listener:
    """A SessionListener that keeps the last sample and wakes waiters."""

    def __init__(self) -> None:
        self.samples = 0
        self.last = None
        self.status = None
        self.changed = asyncio.Event()

    def session_status(self, status) -> None:
        self.status = status
        self.changed.set()

    def session_sample(self, alias, sample) -> None:
        self.samples += 1
        self.last = sample
        self.changed.set()

    def session_notice(self, alias, text, error=False) -> None:
        pass

    def session_kernels(self, alias, port, kernels, note) -> None:
        pass

    def session_hub(self, alias, hub) -> None:
        pass

    def session_forwards(self, alias, forwards) -> None:
        pass

    async def wait(self, predicate, timeout: float = 30.0) -> None:
        async def loop():
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


async def connected_session(server: SshServer, refresh: float = 2.0, alias: str = "testhost", config=None):
    """A HostSession as the app runs it: connected, its probe streaming (first sample seen)."""
    from jtui.core.session import HostSession

    listener = Listener()
    session = HostSession(alias, [str(config or server.config_file)], jupyter_settings(server), refresh, listener)
    session.start()
    if not await session.wait_connected(30):
        await session.close()
        raise SystemExit(f"jtui could not connect to {alias}: {session.status}")
    await listener.wait(lambda: listener.samples > 0)
    return session, listener


# -- OpenSSH ---------------------------------------------------------------------


def wait_listening(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    """Until something listens on 127.0.0.1:port (read from the kernel's table, no connection made)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(entry.address == "127.0.0.1" for entry in listeners(port)):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        time.sleep(0.002)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def ssh_forward_args(server: SshServer, local_port: int, remote_port: int, *extra: str) -> list[str]:
    return ["ssh", "-F", str(server.config_file), "-o", "ExitOnForwardFailure=yes",
            "-L", f"127.0.0.1:{local_port}:127.0.0.1:{remote_port}", *extra, "testhost"]


@contextlib.contextmanager
def ssh_forward(server: SshServer, local_port: int, remote_port: int, command: str | None = None):
    """`ssh -N -L` (or `ssh -L ... COMMAND` when a command is given), ready when the port listens."""
    args = ssh_forward_args(server, local_port, remote_port, *(() if command else ("-N",)))
    if command:
        args.append(command)
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_listening(local_port, proc)
        yield proc
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    for stream in (proc.stdout, proc.stderr, proc.stdin):
        if stream is not None:
            stream.close()


def ssh_cipher(server: SshServer, *options: str) -> str:
    """The cipher OpenSSH negotiates with this sshd (server->client), read from `ssh -v`."""
    done = subprocess.run(["ssh", "-v", "-F", str(server.config_file), *options, "testhost", "true"],
                          capture_output=True, text=True, timeout=30)
    for line in done.stderr.splitlines():
        if "kex: server->client cipher:" in line:
            return line.split("cipher:", 1)[1].split()[0]
    return "?"


# -- HTTP, the plain way -----------------------------------------------------------


def http_get(port: int, path: str = "/", token: str = "", timeout: float = 10.0) -> int:
    """One GET on a new connection to 127.0.0.1:port, read to the end; the status code."""
    request = f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n"
    if token:
        request += f"Authorization: token {token}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall((request + "\r\n").encode())
        data = bytearray()
        while chunk := sock.recv(65536):
            data += chunk
    head = bytes(data[:64]).split()
    if len(head) < 2 or not head[0].startswith(b"HTTP/"):
        raise ConnectionError(f"not an HTTP answer on port {port}")
    return int(head[1])


def poll_until_answers(port: int, path: str, token: str, deadline: float, interval: float = 0.01) -> int:
    """GET until any HTTP answer; the status. Raises TimeoutError at the (monotonic) deadline."""
    while True:
        try:
            return http_get(port, path, token, timeout=5)
        except OSError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"nothing answered on port {port}") from None
            time.sleep(interval)


# -- CPU -------------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` (its own threads; not its waited-for children), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# -- figures -----------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], scale: float = 1000.0, digits: int = 1) -> str:
    """'min–max' for a few values, 'p5–p95' past 20 values."""
    if len(values) > 20:
        lo, hi = percentile(values, 5), percentile(values, 95)
    else:
        lo, hi = min(values), max(values)
    return f"{lo * scale:.{digits}f}–{hi * scale:.{digits}f}"


def ratio(a: float, b: float) -> str:
    return f"×{a / b:.2f}" if b > 0 else "—"


def print_table(title: str, header: list[str], rows: list[list[str]], notes: list[str] = ()) -> None:
    """A plain aligned table (first column left, the rest right)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row):
        cells = [str(row[0]).ljust(widths[0])] + [str(c).rjust(w) for c, w in zip(row[1:], widths[1:])]
        return "  ".join(cells).rstrip()

    print(f"\n{title}\n")
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    for note in notes:
        print(note)
    sys.stdout.flush()


def start_sshd(tmp: Path, name: str = "sshd", extra_config: str = "") -> SshServer:
    return SshServer(tmp / name, extra_config=extra_config).start()


__all__ = [
    "ROOT", "PYTHON", "SshServer", "free_port", "isolate_home", "jupyter_settings", "Listener",
    "connected_session", "wait_listening", "ssh_forward", "ssh_forward_args", "stop_process",
    "ssh_cipher", "http_get", "poll_until_answers", "cpu_seconds", "percentile", "median",
    "spread", "ratio", "print_table", "start_sshd",
]
