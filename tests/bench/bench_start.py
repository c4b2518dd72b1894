"""Benchmark: `s` until the URL answers, versus the OpenSSH ritual and Jupyter's own start-up, in one run.

    .venv/bin/python tests/bench/bench_start.py [--quick] [--rounds N]

Starts its own sshd (tests/harness/sshd.py); the "remote" is this machine.
Jupyter is `jupyter server` (jupyterlab is not installed), on 127.0.0.1 with
a token, for every contender. Each round runs every contender once, in
turn; every server is stopped (by PID) before the next contender starts.

Contenders, each timed until GET /api/status with the token answers 200
through the URL a person would paste:
- floor: `jupyter server` started locally, polled every 10 ms (no SSH at all);
- jtui: what `s` then `c` do on a connected host (HostSession with its probe
  streaming): start_jupyter() (login shell, setsid nohup, runtime file
  polled every 0.2 s, HTTP check through the connection), forward(), GET;
- jtui, cold: the same with the connection opened first (as `jtui open` does);
- OpenSSH ritual, scripted end to end: a cold `ssh HOST 'nohup jupyter server ... &'`,
  then `ssh -N -L PORT:127.0.0.1:PORT HOST`, then polling the URL every 10 ms
  (faster than any person, and with the token known in advance).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import (  # noqa: E402
    Listener, connected_session, free_port, http_get, isolate_home, jupyter_settings, median,
    poll_until_answers, print_table, ratio, spread, start_sshd, stop_process, wait_listening,
)
from tests.harness.jupyter import JUPYTER  # noqa: E402
from tests.harness.sshd import stop_pid  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"
TIMEOUT = 60.0


def allow_root() -> list[str]:
    return ["--allow-root"] if os.geteuid() == 0 else []


def floor(server, work: Path) -> float:
    """Jupyter's own start-up, here: Popen until /api/status answers."""
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(server.runtime_dir), JUPYTER_TOKEN=TOKEN)
    args = [JUPYTER, "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
            f"--ServerApp.root_dir={work}", *allow_root()]
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=work, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        status = poll_until_answers(port, "/api/status", TOKEN, time.monotonic() + TIMEOUT)
        elapsed = time.perf_counter() - start
    finally:
        stop_pid(proc.pid)
        proc.wait()
    assert status == 200, status
    return elapsed


def ritual(server) -> tuple[float, dict[str, float]]:
    """The OpenSSH ritual, scripted: cold ssh + nohup start, ssh -N -L, poll the URL.

    The local port differs from the remote one only because both ends are
    this machine (the forward would take the port before Jupyter does).
    """
    port, local = free_port(), free_port()
    remote = (
        f"cd ~/work; JUPYTER_TOKEN={TOKEN} nohup jupyter server --no-browser --ip=127.0.0.1 "
        f"--port={port} --port-retries=0 {' '.join(allow_root())} >~/jupyter-{port}.log 2>&1 </dev/null & echo $!"
    )
    start = time.perf_counter()
    launched = subprocess.run(["ssh", "-F", str(server.config_file), "testhost", remote],
                              capture_output=True, text=True, timeout=TIMEOUT)
    t_ssh = time.perf_counter() - start
    pid = int(launched.stdout.strip() or 0)
    forward = subprocess.Popen(["ssh", "-F", str(server.config_file), "-N", "-o", "ExitOnForwardFailure=yes",
                                "-L", f"127.0.0.1:{local}:127.0.0.1:{port}", "testhost"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(local, forward)
        t_forward = time.perf_counter() - start
        status = poll_until_answers(local, "/api/status", TOKEN, time.monotonic() + TIMEOUT)
        elapsed = time.perf_counter() - start
    finally:
        stop_process(forward)
        if pid:
            stop_pid(pid)
    assert status == 200, status
    return elapsed, {"ssh start returned": t_ssh, "ssh -L listening": t_forward}


async def jtui_start(session) -> tuple[float, dict[str, float]]:
    """`s` then `c` in the core: start_jupyter, forward, GET through the localhost URL."""
    from jtui.core.urls import localhost_url

    start = time.perf_counter()
    started = await session.start_jupyter()
    t_up = time.perf_counter() - start
    forward = await session.forward(started.server)
    t_forward = time.perf_counter() - start
    url = localhost_url(started.server, forward.local_port)
    token = url.split("token=", 1)[1]
    status = await asyncio.to_thread(http_get, forward.local_port, f"{started.server.base_url}api/status", token)
    elapsed = time.perf_counter() - start
    await session.unforward(started.server)
    await asyncio.to_thread(stop_pid, started.server.pid)
    assert status == 200, status
    return elapsed, {"start_jupyter returned": t_up, "forward bound": t_forward}


async def jtui_cold(server) -> tuple[float, dict[str, float]]:
    from jtui.core.session import HostSession

    start = time.perf_counter()
    listener = Listener()
    session = HostSession("testhost", [str(server.config_file)], jupyter_settings(server), 2.0, listener)
    session.start()
    try:
        if not await session.wait_connected(30):
            raise SystemExit(f"jtui could not connect: {session.status}")
        t_conn = time.perf_counter() - start
        elapsed, parts = await jtui_start(session)
    finally:
        await session.close()
    return t_conn + elapsed, {"connected": t_conn, **{k: t_conn + v for k, v in parts.items()}}


async def measure(server, work: Path, rounds: int) -> tuple[dict[str, list[float]], dict[str, dict[str, list[float]]]]:
    times: dict[str, list[float]] = {}
    parts: dict[str, dict[str, list[float]]] = {}

    def keep(name: str, value: float, detail: dict[str, float] | None = None) -> None:
        times.setdefault(name, []).append(value)
        for key, v in (detail or {}).items():
            parts.setdefault(name, {}).setdefault(key, []).append(v)

    session, _ = await connected_session(server)
    try:
        await asyncio.to_thread(floor, server, work)  # warm-up: page cache, .pyc, Jupyter's first-run files
        for _ in range(rounds):
            keep("floor: jupyter server, local", await asyncio.to_thread(floor, server, work))
            keep("jtui: s + c (connected)", *await jtui_start(session))
            keep("OpenSSH ritual (cold ssh + ssh -N -L)", *await asyncio.to_thread(ritual, server))
            keep("jtui, connect included", *await jtui_cold(server))
    finally:
        await session.close()
    return times, parts


def report(times, parts) -> None:
    rows = []
    floor_median = median(times["floor: jupyter server, local"])
    for name, values in times.items():
        rows.append([name, f"{median(values):.3f}", spread(values, scale=1, digits=3),
                     f"{median(values) - floor_median:+.3f}", ratio(median(values), floor_median)])
    jtui = median(times["jtui: s + c (connected)"])
    ritual_median = median(times["OpenSSH ritual (cold ssh + ssh -N -L)"])
    notes = [
        f"jtui minus floor: {jtui - floor_median:+.3f} s (target: at most +0.200 s)",
        f"ratio OpenSSH ritual / jtui: {ratio(ritual_median, jtui)}",
        "",
        "where the time goes (medians, s from the start):",
    ]
    for name, detail in parts.items():
        notes.append("  " + name + ": " + ", ".join(f"{k} {median(v):.3f}" for k, v in detail.items()))
    print_table(f"start until the URL answers /api/status, {len(next(iter(times.values())))} alternating rounds (s)",
                ["path", "median", "min–max", "vs floor", "ratio"], rows, notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round: checks that the benchmark runs")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 7)
    with tempfile.TemporaryDirectory(prefix="jtui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        isolate_home(tmp)
        server = start_sshd(tmp)
        try:
            work = server.home / "work"
            work.mkdir(parents=True, exist_ok=True)
            times, parts = asyncio.run(measure(server, work, rounds))
            report(times, parts)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
