"""Benchmark: a large download through jtui's forward versus OpenSSH `ssh -N -L`, in one run.

    .venv/bin/python tests/bench/bench_throughput.py [--quick] [--mb N] [--rounds N] [--no-jupyter | --only-jupyter]

Starts its own sshd and, on the "remote" (this machine), a tiny HTTP server
that answers every GET with the same file through sendfile(2), so the
server costs next to nothing. `curl -o /dev/null` downloads it through each
forward in turn, round after round; curl runs as its own process, so it
never competes with jtui's event loop for the GIL.

Contenders:
- direct: no forward (the floor of this machine);
- jtui: HostSession connected as the app runs it (probe streaming), no Ciphers
  setting: jtui offers AES-GCM first where the CPU has AES instructions;
- jtui, `Ciphers chacha20-poly1305@openssh.com` in the hosts file: the user's
  setting wins (and shows what asyncssh's own default order, chacha20 first, gives);
- asyncssh with encryption_algs aes256-gcm: the other AES-GCM;
- ssh -N -L with OpenSSH's default cipher, and with -c aes128-gcm@openssh.com.

A second table downloads the same size from a real `jupyter server` (127.0.0.1,
with a token, the file in its root dir) through its `/files/` handler, the
way a browser fetches a file: through jtui's forward (no Ciphers setting),
`ssh -N -L` (OpenSSH's default cipher, and -c aes128-gcm@openssh.com), and
directly. There Jupyter's own Python (tornado writing 64 KiB chunks) shares
the two ends' CPU with the forward, so its ceiling is the direct row.

The negotiated cipher of each is shown: asyncssh's `send_cipher`, OpenSSH's
`ssh -v` "kex: server->client cipher:" line. CPU is the forwarding
process's own utime + stime during the downloads (jtui's includes its probe).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import (  # noqa: E402
    PYTHON, connected_session, cpu_seconds, free_port, isolate_home, median, print_table, ratio,
    ssh_cipher, ssh_forward_args, start_sshd, stop_process, wait_listening,
)

# A one-file HTTP server: every GET gets the whole file, by sendfile(2).
SERVER = r"""
import os, socket, socketserver, sys
path, port = sys.argv[1], int(sys.argv[2])
size = os.path.getsize(path)
class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        self.request.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n".encode())
        with open(path, "rb") as f:
            self.request.sendfile(f)
class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
Server(("127.0.0.1", port), Handler).serve_forever()
"""

GCM128 = "aes128-gcm@openssh.com"
GCM256 = "aes256-gcm@openssh.com"
CHACHA = "chacha20-poly1305@openssh.com"
TOKEN = "bench-token-0123456789abcdef"
JUPYTER_FILE = "bench-download.bin"


async def curl(port: int, size: int, path: str = "/file", token: str = "") -> float:
    """Download once; seconds from curl's own clock (connect to last byte)."""
    headers = ["-H", f"Authorization: token {token}"] if token else []
    proc = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", *headers,
        f"http://127.0.0.1:{port}{path}", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"curl through port {port} failed: {err.decode()}")
    got, seconds = out.decode().split()
    if int(got) != size:
        raise SystemExit(f"curl through port {port} got {got} bytes, not {size}")
    return float(seconds)


async def asyncssh_forward(server, remote_port: int, algs: str):
    """A bare asyncssh connection with jtui's options plus encryption_algs, one session open."""
    import asyncssh

    from jtui.core.resolve import connection_options

    options = connection_options("testhost", [str(server.config_file)], client_keys=[str(server.client_key)],
                                 encryption_algs=[algs])
    conn = await asyncssh.connect(options=options)
    process = await conn.create_process("sleep 3600")  # as jtui's probe does: sshd turns on TCP_NODELAY
    listener = await conn.forward_local_port("127.0.0.1", 0, "127.0.0.1", remote_port)
    return conn, process, listener.get_port()


def user_ciphers_config(server, tmp: Path, ciphers: str) -> Path:
    path = tmp / "hosts-ciphers.conf"
    path.write_text(server.client_config("testhost") + f"  Ciphers {ciphers}\n")
    return path


async def measure(server, tmp: Path, http_port: int, size: int, rounds: int):
    from jtui.core.model import JupyterServer

    target = JupyterServer(port=http_port, pid=0, url=f"http://127.0.0.1:{http_port}/")
    me = os.getpid()
    contenders: dict[str, dict] = {}
    cleanups = []
    try:
        session, _ = await connected_session(server)
        cleanups.append(session.close)
        forward = await session.forward(target)
        contenders["jtui (default)"] = {"port": forward.local_port, "cpu_pid": me,
                                        "cipher": session.conn.get_extra_info("send_cipher")}
        user_session, _ = await connected_session(server, config=user_ciphers_config(server, tmp, CHACHA))
        cleanups.append(user_session.close)
        forward = await user_session.forward(target)
        contenders[f"jtui, user's Ciphers {CHACHA}"] = {
            "port": forward.local_port, "cpu_pid": me, "cipher": user_session.conn.get_extra_info("send_cipher")}
        for algs in (GCM256,):
            conn, process, port = await asyncssh_forward(server, http_port, algs)

            async def close(conn=conn, process=process):
                process.close()
                conn.close()
                await conn.wait_closed()

            cleanups.append(close)
            contenders[f"asyncssh, encryption_algs {algs}"] = {
                "port": port, "cpu_pid": me, "cipher": conn.get_extra_info("send_cipher")}
        for name, extra in (("ssh -N -L (default)", ()), (f"ssh -N -L -c {GCM128}", ("-c", GCM128))):
            port = free_port()
            proc = subprocess.Popen(ssh_forward_args(server, port, http_port, "-N", *extra), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            async def stop(proc=proc):
                stop_process(proc)

            cleanups.append(stop)
            wait_listening(port, proc)
            contenders[name] = {"port": port, "cpu_pid": proc.pid, "cipher": ssh_cipher(server, *extra)}
        contenders["direct (no forward)"] = {"port": http_port, "cpu_pid": None, "cipher": "—"}

        for info in contenders.values():  # warm-up: one download each
            await curl(info["port"], size)
        for _ in range(rounds):
            for info in contenders.values():
                before = cpu_seconds(info["cpu_pid"]) if info["cpu_pid"] else 0.0
                seconds = await curl(info["port"], size)
                after = cpu_seconds(info["cpu_pid"]) if info["cpu_pid"] else 0.0
                info.setdefault("mbps", []).append(size / 1e6 / seconds)
                info.setdefault("cpu", []).append((after - before) / seconds)
    finally:
        for cleanup in reversed(cleanups):
            await cleanup()
    return contenders


def report(contenders, size: int, rounds: int) -> None:
    rows = []
    for name, info in contenders.items():
        mbps = info["mbps"]
        cpu = f"{median(info['cpu']) * 100:.0f}%" if info["cpu_pid"] else "—"
        rows.append([name, info["cipher"], f"{median(mbps):.0f}", f"{min(mbps):.0f}–{max(mbps):.0f}", cpu])
    jtui = median(contenders["jtui (default)"]["mbps"])
    ssh = median(contenders["ssh -N -L (default)"]["mbps"])
    chacha = median(contenders[f"jtui, user's Ciphers {CHACHA}"]["mbps"])
    notes = [
        f"ratio jtui (default) / ssh -N -L (default): {ratio(jtui, ssh)}  (target: at least ×1.00)",
        f"ratio jtui (default) / jtui with chacha20-poly1305 (asyncssh's own first choice): {ratio(jtui, chacha)}",
        "cpu: the forwarding process (jtui's own process, or ssh) while downloading, share of one core",
    ]
    print_table(f"{size / 1e6:.0f} MB download through each forward, {rounds} alternating rounds (MB/s)",
                ["path", "cipher (server->client)", "median", "min–max", "cpu"], rows, notes)


async def measure_jupyter(server, jupyter, size: int, rounds: int):
    """GET /files/JUPYTER_FILE from a real jupyter server: through jtui, ssh -N -L, and directly."""
    from jtui.core.model import JupyterServer

    target = JupyterServer(port=jupyter.port, pid=jupyter.pid, url=f"http://127.0.0.1:{jupyter.port}/", token=TOKEN)
    me = os.getpid()
    contenders: dict[str, dict] = {}
    cleanups = []
    try:
        session, _ = await connected_session(server)
        cleanups.append(session.close)
        forward = await session.forward(target)
        contenders["jtui (default)"] = {"port": forward.local_port, "cpu_pid": me,
                                        "cipher": session.conn.get_extra_info("send_cipher")}
        for name, extra in (("ssh -N -L (default)", ()), (f"ssh -N -L -c {GCM128}", ("-c", GCM128))):
            port = free_port()
            proc = subprocess.Popen(ssh_forward_args(server, port, jupyter.port, "-N", *extra),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            async def stop(proc=proc):
                stop_process(proc)

            cleanups.append(stop)
            wait_listening(port, proc)
            contenders[name] = {"port": port, "cpu_pid": proc.pid, "cipher": ssh_cipher(server, *extra)}
        contenders["direct (no forward)"] = {"port": jupyter.port, "cpu_pid": None, "cipher": "—"}

        path = f"/files/{JUPYTER_FILE}"
        for info in contenders.values():  # warm-up: one download each
            await curl(info["port"], size, path, TOKEN)
        for _ in range(rounds):
            for info in contenders.values():
                before = cpu_seconds(info["cpu_pid"]) if info["cpu_pid"] else 0.0
                jupyter_before = cpu_seconds(jupyter.pid)
                seconds = await curl(info["port"], size, path, TOKEN)
                after = cpu_seconds(info["cpu_pid"]) if info["cpu_pid"] else 0.0
                jupyter_after = cpu_seconds(jupyter.pid)
                info.setdefault("mbps", []).append(size / 1e6 / seconds)
                info.setdefault("cpu", []).append((after - before) / seconds)
                info.setdefault("jupyter_cpu", []).append((jupyter_after - jupyter_before) / seconds)
    finally:
        for cleanup in reversed(cleanups):
            await cleanup()
    return contenders


def report_jupyter(contenders, size: int, rounds: int) -> None:
    rows = []
    for name, info in contenders.items():
        mbps = info["mbps"]
        cpu = f"{median(info['cpu']) * 100:.0f}%" if info["cpu_pid"] else "—"
        rows.append([name, info["cipher"], f"{median(mbps):.0f}", f"{min(mbps):.0f}–{max(mbps):.0f}", cpu,
                     f"{median(info['jupyter_cpu']) * 100:.0f}%"])
    jtui = median(contenders["jtui (default)"]["mbps"])
    ssh = median(contenders["ssh -N -L (default)"]["mbps"])
    gcm = median(contenders[f"ssh -N -L -c {GCM128}"]["mbps"])
    direct = median(contenders["direct (no forward)"]["mbps"])
    notes = [
        f"ratio jtui (default) / ssh -N -L (default), Jupyter /files/: {ratio(jtui, ssh)}  (target: at least ×1.00)",
        f"ratio jtui (default) / ssh -N -L -c {GCM128}, Jupyter /files/: {ratio(jtui, gcm)}",
        f"ratio jtui (default) / direct, Jupyter /files/: {ratio(jtui, direct)}",
        "cpu: the forwarding process, as above; jupyter cpu: the jupyter server's own process, share of one core",
    ]
    print_table(f"{size / 1e6:.0f} MB GET /files/ from jupyter server (token, 127.0.0.1), "
                f"{rounds} alternating rounds (MB/s)",
                ["path", "cipher (server->client)", "median", "min–max", "cpu", "jupyter cpu"], rows, notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 MB, one round: checks that the benchmark runs")
    parser.add_argument("--mb", type=int, default=None, help="download size in MB (default 200)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--no-jupyter", action="store_true", help="skip the jupyter /files/ table")
    parser.add_argument("--only-jupyter", action="store_true", help="only the jupyter /files/ table")
    args = parser.parse_args()
    size = (args.mb or (10 if args.quick else 200)) * 1_000_000
    rounds = args.rounds or (1 if args.quick else 5)
    with tempfile.TemporaryDirectory(prefix="jtui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        isolate_home(tmp)
        server = start_sshd(tmp)
        http = jupyter = None
        try:
            data = tmp / "file"
            with open(data, "wb") as f:
                f.truncate(size)
            if not args.only_jupyter:
                http_port = free_port()
                http = subprocess.Popen([PYTHON, "-c", SERVER, str(data), str(http_port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wait_listening(http_port, http)
                contenders = asyncio.run(measure(server, tmp, http_port, size, rounds))
                report(contenders, size, rounds)
                stop_process(http)
                http = None
            if not args.no_jupyter:
                from tests.harness.jupyter import start_jupyter

                root = server.home / "work"  # the file in the server's root dir, on the "remote"
                root.mkdir(parents=True, exist_ok=True)
                with open(root / JUPYTER_FILE, "wb") as f:
                    f.truncate(size)
                jupyter = start_jupyter(tmp / "jupyter-runtime", root, token=TOKEN,
                                        extra=["--ServerApp.open_browser=False"])
                contenders = asyncio.run(measure_jupyter(server, jupyter, size, rounds))
                report_jupyter(contenders, size, rounds)
        finally:
            if jupyter is not None:
                jupyter.stop()
            if http is not None:
                stop_process(http)
            server.stop()


if __name__ == "__main__":
    main()
