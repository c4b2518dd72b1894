"""Benchmark: small HTTP requests through jtui's forward versus OpenSSH `ssh -N -L`, in one run.

    .venv/bin/python tests/bench/bench_small_requests.py [--quick] [--requests N]

Two servers on the "remote" (this machine, reached through a real sshd):
`python -m http.server`, which writes the headers and the body in separate
sends (a small file and a 300 KB one, the size of a JupyterLab bundle
chunk), and Jupyter's /api/status. Each request is a new TCP connection
(connect, GET, read to EOF), made by a separate client process so the
client never competes with jtui's event loop for the GIL. Then Jupyter's
GETs again on one kept-alive connection per batch, as a browser sends them
(http.server is left out there: it writes without TCP_NODELAY, so on a kept
connection it stalls ~40 ms even with no forward at all). The contenders
take turns, a batch of requests each, round after round.

Contenders:
- direct: no forward at all (the floor);
- jtui: HostSession connected as the app runs it (probe streaming), its forward;
- ssh -N -L: OpenSSH's forward, as people type it;
and, to show the cause of the ~40 ms stall:
- asyncssh, forward only: a bare asyncssh connection with no session open;
- ssh -L + command: OpenSSH with a remote command open on the same connection.

sshd sets TCP_NODELAY on its side of the connection only when the first
session starts (packet.c, ssh_packet_set_interactive); a connection that
only forwards keeps Nagle on sshd's socket, so the body waits for the ACK
of the headers, which the client delays by ~40 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import (  # noqa: E402
    PYTHON, free_port, isolate_home, median, percentile, print_table, ratio, spread, start_sshd,
    connected_session, ssh_forward, stop_process, wait_listening, http_get,
)
from tests.harness.jupyter import start_jupyter  # noqa: E402

# Runs in its own process: one JSON line in (port, path, token, count), one JSON list of seconds out.
CLIENT = r"""
import http.client, json, socket, sys, time
for line in sys.stdin:
    job = json.loads(line)
    if job["keep"]:  # one connection, kept alive, as a browser does
        conn = http.client.HTTPConnection("127.0.0.1", job["port"], timeout=10)
        headers = {"Authorization": f"token {job['token']}"} if job["token"] else {}
        times, bad = [], 0
        for _ in range(job["count"]):
            start = time.perf_counter()
            conn.request("GET", job["path"], headers=headers)
            response = conn.getresponse()
            response.read()
            times.append(time.perf_counter() - start)
            bad += response.status != 200
        conn.close()
        print(json.dumps({"times": times, "bad": bad}), flush=True)
        continue
    request = f"GET {job['path']} HTTP/1.1\r\nHost: localhost:{job['port']}\r\nConnection: close\r\n"
    if job["token"]:
        request += f"Authorization: token {job['token']}\r\n"
    request = (request + "\r\n").encode()
    times, bad = [], 0
    for _ in range(job["count"]):
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", job["port"]), timeout=10) as sock:
            sock.sendall(request)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        times.append(time.perf_counter() - start)
        if not data.startswith(b"HTTP/1.") or data.split()[1] != b"200":
            bad += 1
    print(json.dumps({"times": times, "bad": bad}), flush=True)
"""


class Client:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([PYTHON, "-c", CLIENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, port: int, path: str, token: str, count: int, keep: bool = False) -> list[float]:
        job = {"port": port, "path": path, "token": token, "count": count, "keep": keep}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        if answer["bad"]:
            raise SystemExit(f"{answer['bad']} requests to port {port}{path} did not get 200")
        return answer["times"]

    def close(self) -> None:
        stop_process(self.proc)


async def bare_asyncssh_forward(server, remote_port: int):
    """asyncssh with jtui's options, forwarding only: no session ever opened on the connection."""
    import asyncssh

    from jtui.core.resolve import connection_options

    options = connection_options("testhost", [str(server.config_file)], client_keys=[str(server.client_key)])
    conn = await asyncssh.connect(options=options)
    listener = await conn.forward_local_port("127.0.0.1", 0, "127.0.0.1", remote_port)
    return conn, listener.get_port()


# Kept-alive connections: the forwards people use, and the floor (the stall's cause is shown above).
KEEP_ALIVE_CONTENDERS = ("direct (no forward)", "jtui", "ssh -N -L")


async def measure(server, targets: dict[str, tuple[int, str, str]], kept_alive: set[str], rounds: int, per_round: int,
                  client: Client):
    """Every contender on every target over new connections; then `kept_alive` targets on one connection."""
    from jtui.core.model import JupyterServer

    session, _ = await connected_session(server)
    bare = []
    results: dict[tuple[str, str], list[float]] = {}
    try:
        with contextlib.ExitStack() as forwards:
            ports: dict[str, dict[str, int]] = {}
            for name, (port, _path, _token) in targets.items():
                forward = await session.forward(JupyterServer(port=port, pid=0, url=f"http://127.0.0.1:{port}/"))
                ssh_port, cmd_port = free_port(), free_port()
                forwards.enter_context(ssh_forward(server, ssh_port, port))
                forwards.enter_context(ssh_forward(server, cmd_port, port, command="sleep 3600"))
                conn, bare_port = await bare_asyncssh_forward(server, port)
                bare.append(conn)
                ports[name] = {
                    "direct (no forward)": port,
                    "jtui": forward.local_port,
                    "ssh -N -L": ssh_port,
                    "asyncssh, forward only": bare_port,
                    "ssh -L + remote command": cmd_port,
                }
            for name, contenders in ports.items():  # warm up: first connections, imports, caches
                _port, path, token = targets[name]
                for port in contenders.values():
                    await asyncio.to_thread(client.run, port, path, token, 3)
            for keep in (False, True):
                for _ in range(rounds):
                    for name, contenders in ports.items():
                        _port, path, token = targets[name]
                        for label, port in contenders.items():
                            if keep and (label not in KEEP_ALIVE_CONTENDERS or name not in kept_alive):
                                continue
                            times = await asyncio.to_thread(client.run, port, path, token, per_round, keep)
                            results.setdefault((name, label, keep), []).extend(times)
    finally:
        for conn in bare:
            conn.close()
            await conn.wait_closed()
        await session.close()
    return results


def report(results, requests: int) -> None:
    for target, keep in dict.fromkeys((name, keep) for name, _, keep in results):
        rows = []
        ssh = results[(target, "ssh -N -L", keep)]
        jtui = results[(target, "jtui", keep)]
        for (name, label, kept), times in results.items():
            if name != target or kept != keep:
                continue
            stalls = sum(1 for t in times if t > 0.03)
            rows.append([label, f"{median(times) * 1000:.2f}", f"{percentile(times, 95) * 1000:.2f}",
                         spread(times, digits=2), f"{percentile(times, 99) * 1000:.2f}", f"{stalls}/{len(times)}"])
        print_table(
            f"{requests} sequential GETs, {'on one kept-alive connection' if keep else 'new connection each'}: {target} (ms)",
            ["path", "p50", "p95", "p5–p95", "p99", "over 30 ms"],
            rows,
            [f"ratio p95 ssh -N -L / jtui: {ratio(percentile(ssh, 95), percentile(jtui, 95))};"
             f"  p50: {ratio(median(ssh), median(jtui))}"],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few requests: checks that the benchmark runs")
    parser.add_argument("--requests", type=int, default=None, help="per contender and server (default 200)")
    args = parser.parse_args()
    requests = args.requests or (20 if args.quick else 200)
    rounds = 2 if args.quick else 5
    per_round = max(1, requests // rounds)
    with tempfile.TemporaryDirectory(prefix="jtui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        isolate_home(tmp)
        server = start_sshd(tmp)
        jupyter = http = client = None
        try:
            site = tmp / "site"
            site.mkdir()
            (site / "small.txt").write_text("hello from the remote\n")
            (site / "300k.bin").write_bytes(bytes(range(256)) * (300_000 // 256))
            http_port = free_port()
            http = subprocess.Popen([PYTHON, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(site), str(http_port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_listening(http_port, http)
            http_get(http_port, "/small.txt")
            jupyter = start_jupyter(server.runtime_dir, tmp / "notebooks")
            targets = {
                "python -m http.server /small.txt": (http_port, "/small.txt", ""),
                "python -m http.server /300k.bin": (http_port, "/300k.bin", ""),
                "jupyter /api/status": (jupyter.port, "/api/status", jupyter.token),
            }
            client = Client()
            kept_alive = {"jupyter /api/status"}  # http.server writes without TCP_NODELAY: it stalls on a kept connection
            results = asyncio.run(measure(server, targets, kept_alive, rounds, per_round, client))
            report(results, per_round * rounds)
        finally:
            if client is not None:
                client.close()
            if http is not None:
                stop_process(http)
            if jupyter is not None:
                jupyter.stop()
            server.stop()


if __name__ == "__main__":
    main()
