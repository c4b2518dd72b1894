"""Benchmark: `c` on a running server until the copied URL answers, versus OpenSSH, in one run.

    .venv/bin/python tests/bench/bench_copy.py [--quick] [--rounds N]

Starts its own sshd and a `jupyter server` on the "remote" (this machine).
The server is already running and the host already connected, as when a
person presses `c`. Each round runs every contender once, in turn; each
forward is closed again before the next one, so every `c` binds anew.

Contenders, each timed until GET /api/status with the token answers 200:
- jtui core: HostSession.forward() + the first GET through the URL;
- jtui app (Pilot): `c` in the real app (headless, run_test), the key handed
  to the app as its terminal driver does, until app.clipboard holds the URL
  and the URL answers (the binding, the worker, the OSC 52 copy, the notice);
- OpenSSH cold: `ssh -N -L` started by hand, until the URL answers;
- OpenSSH ControlMaster: `ssh -O forward -L` on an already open master
  connection (the fastest OpenSSH gets with a connection open);
- `jtui open HOST --no-browser` reusing the running server, from process
  start (connect, one probe sample, forward) until its URL answers, against
  OpenSSH's way to reuse one: `ssh HOST jupyter server list --json`, then a
  cold `ssh -N -L`, then GET.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import (  # noqa: E402
    compile_jtui, connected_session, free_port, http_get, isolate_home, median, percentile, poll_until_answers,
    print_table, ratio, spread, start_sshd, stop_process,
)
from tests.harness.jupyter import JUPYTER, start_jupyter  # noqa: E402

TIMEOUT = 30.0


def token_of(url: str) -> str:
    return url.split("token=", 1)[1]


async def jtui_core(session, server) -> float:
    from jtui.core.urls import localhost_url

    start = time.perf_counter()
    forward = await session.forward(server)
    url = localhost_url(server, forward.local_port)
    status = await asyncio.to_thread(http_get, forward.local_port, "/api/status", token_of(url))
    elapsed = time.perf_counter() - start
    await session.unforward(server)
    assert status == 200, status
    return elapsed


def ssh_cold(sshd, remote_port: int, token: str) -> float:
    local = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(["ssh", "-F", str(sshd.config_file), "-N", "-o", "ExitOnForwardFailure=yes",
                             "-L", f"127.0.0.1:{local}:127.0.0.1:{remote_port}", "testhost"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        status = poll_until_answers(local, "/api/status", token, time.monotonic() + TIMEOUT, interval=0.005)
        elapsed = time.perf_counter() - start
    finally:
        stop_process(proc)
    assert status == 200, status
    return elapsed


def jtui_open(sshd, token: str) -> float:
    """`jtui open HOST --no-browser` reusing the running server: process start until its URL answers."""
    import os
    import signal

    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "jtui", "open", "testhost", "--no-browser",
                             "--config", str(sshd.config_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        url = proc.stdout.readline().strip()
        port = int(url.split("localhost:", 1)[1].split("/", 1)[0])
        status = http_get(port, "/api/status", token_of(url))
        elapsed = time.perf_counter() - start
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            stop_process(proc)
    assert status == 200, status
    return elapsed


def ssh_list_and_forward(sshd, jupyter_bin: str) -> float:
    """The OpenSSH way to reuse a server: `ssh HOST jupyter server list` for port and token, `ssh -N -L`, GET."""
    import json

    start = time.perf_counter()
    listed = subprocess.run(["ssh", "-F", str(sshd.config_file), "testhost", f"{jupyter_bin} server list --json"],
                            capture_output=True, text=True, timeout=TIMEOUT)
    first = json.loads(listed.stdout.splitlines()[0])
    elapsed = ssh_cold(sshd, int(first["port"]), first["token"])
    return time.perf_counter() - start if elapsed else elapsed


class Master:
    """An OpenSSH ControlMaster connection, kept open for the whole run."""

    def __init__(self, sshd, tmp: Path) -> None:
        self.sshd = sshd
        self.control = str(tmp / "ctl.sock")
        self.base = ["ssh", "-F", str(sshd.config_file), "-o", f"ControlPath={self.control}"]
        self.proc = subprocess.Popen([*self.base, "-M", "-N", "testhost"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + TIMEOUT
        while subprocess.run([*self.base, "-O", "check", "testhost"], capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the OpenSSH master connection did not come up")
            time.sleep(0.05)

    def forward(self, remote_port: int, token: str) -> float:
        local = free_port()
        spec = f"127.0.0.1:{local}:127.0.0.1:{remote_port}"
        start = time.perf_counter()
        subprocess.run([*self.base, "-O", "forward", "-L", spec, "testhost"], capture_output=True, check=True)
        status = poll_until_answers(local, "/api/status", token, time.monotonic() + TIMEOUT, interval=0.005)
        elapsed = time.perf_counter() - start
        subprocess.run([*self.base, "-O", "cancel", "-L", spec, "testhost"], capture_output=True)
        assert status == 200, status
        return elapsed

    def close(self) -> None:
        subprocess.run([*self.base, "-O", "exit", "testhost"], capture_output=True)
        stop_process(self.proc)


async def pilot_rounds(sshd, rounds: int, between) -> list[float]:
    """`c` in the real app (Textual's Pilot): until the clipboard holds a URL that answers."""
    from textual import events

    from jtui.app import build_app

    app = build_app([str(sshd.config_file)], autoconnect=True)
    times: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        deadline = time.monotonic() + TIMEOUT
        record = app.host_screen.record
        while record("testhost").selected_server is None:
            if time.monotonic() > deadline:
                raise SystemExit("the app never showed the running server")
            await pilot.pause(0.05)
        server = record("testhost").selected_server
        session = app.fleet.sessions["testhost"]
        for _ in range(rounds):
            await between()
            app._clipboard = ""
            start = time.perf_counter()
            # What the terminal driver does with a key; pilot.press() would add ~40 ms of its own
            # idle-waiting (textual._wait.wait_for_idle sleeps 20 ms steps) to every press.
            app._driver.send_message(events.Key("c", "c"))
            while "token=" not in app.clipboard:
                if time.perf_counter() - start > TIMEOUT:
                    raise SystemExit("nothing was copied")
                await asyncio.sleep(0.0005)
            url = app.clipboard
            port = int(url.split("localhost:", 1)[1].split("/", 1)[0])
            status = await asyncio.to_thread(http_get, port, "/api/status", token_of(url))
            times.append(time.perf_counter() - start)
            assert status == 200, status
            await session.unforward(server)
            await pilot.pause(0.05)
    return times


async def measure(sshd, jupyter, tmp: Path, rounds: int) -> dict[str, list[float]]:
    from jtui.core.model import JupyterServer

    session, listener = await connected_session(sshd)
    await listener.wait(lambda: listener.last is not None and listener.last.servers)
    server = next(s for s in listener.last.servers if s.port == jupyter.port)
    assert isinstance(server, JupyterServer)
    master = await asyncio.to_thread(Master, sshd, tmp)
    times: dict[str, list[float]] = {}
    contenders = {
        "jtui core: forward + GET": lambda: jtui_core(session, server),
        "OpenSSH ControlMaster: -O forward + GET": lambda: asyncio.to_thread(master.forward, jupyter.port, jupyter.token),
        "OpenSSH cold: ssh -N -L + GET": lambda: asyncio.to_thread(ssh_cold, sshd, jupyter.port, jupyter.token),
        "jtui open (CLI, reusing the server): start until the URL answers":
            lambda: asyncio.to_thread(jtui_open, sshd, jupyter.token),
        "OpenSSH: ssh jupyter server list, ssh -N -L, GET":
            lambda: asyncio.to_thread(ssh_list_and_forward, sshd, JUPYTER),
    }
    try:
        for run in contenders.values():  # warm-up
            await run()
        for _ in range(rounds):
            for name, run in contenders.items():
                times.setdefault(name, []).append(await run())
    finally:
        await asyncio.to_thread(master.close)
        await session.close()
    return times


def report(times: dict[str, list[float]]) -> None:
    rows = [[name, f"{median(v) * 1000:.1f}", spread(v), f"{percentile(v, 95) * 1000:.1f}", str(len(v))]
            for name, v in times.items()]
    jtui = median(times["jtui core: forward + GET"])
    notes = [
        f"ratio OpenSSH cold / jtui core: {ratio(median(times['OpenSSH cold: ssh -N -L + GET']), jtui)};"
        f"  ControlMaster / jtui core: {ratio(median(times['OpenSSH ControlMaster: -O forward + GET']), jtui)}",
        "target: `c` until the URL answers under 100 ms",
        f"ratio OpenSSH list + forward / jtui open: "
        f"{ratio(median(times['OpenSSH: ssh jupyter server list, ssh -N -L, GET']), median(times['jtui open (CLI, reusing the server): start until the URL answers']))}"
        "  (target: jtui open under 500 ms)",
    ]
    if "jtui app (Pilot): press c until URL answers" in times:
        notes.insert(0, f"jtui app (Pilot) median: {median(times['jtui app (Pilot): press c until URL answers']) * 1000:.1f} ms")
    print_table("`c` on a running server until the URL answers /api/status (ms)",
                ["path", "median", "min–max / p5–p95", "p95", "runs"], rows, notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: checks that the benchmark runs")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 15)
    with tempfile.TemporaryDirectory(prefix="jtui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        isolate_home(tmp, refresh=2.0, jupyter="jupyter server", root_dir="~/work")
        compile_jtui()
        sshd = start_sshd(tmp)
        jupyter = None
        try:
            jupyter = start_jupyter(sshd.runtime_dir, tmp / "notebooks")
            times = asyncio.run(measure(sshd, jupyter, tmp, rounds))
            # The app in its own event loop; an OpenSSH cold forward between its presses keeps the alternation.
            pilot: list[float] = []
            cold: list[float] = []

            async def between() -> None:
                cold.append(await asyncio.to_thread(ssh_cold, sshd, jupyter.port, jupyter.token))

            pilot = asyncio.run(pilot_rounds(sshd, rounds, between))
            times["jtui app (Pilot): press c until URL answers"] = pilot
            times["OpenSSH cold: ssh -N -L + GET"] += cold
            report(times)
        finally:
            if jupyter is not None:
                jupyter.stop()
            sshd.stop()


if __name__ == "__main__":
    main()
