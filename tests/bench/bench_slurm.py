"""Benchmark: Jupyter as a Slurm job, `s` until the copied URL answers, versus the ritual, in one run.

    .venv/bin/python tests/bench/bench_slurm.py [--quick] [--rounds N]

Starts its own single-node Slurm (tests/harness/slurm.py: munged,
slurmctld, slurmd) and an sshd that is its login node; the compute node
and the "remote" are this machine. Every contender runs `jupyter server`
(jupyterlab is not installed) as a batch job; each round runs each
contender once, in turn, on an idle node, and cancels its job after.

Contenders, each timed until GET /api/status with the token answers 200
through the URL a person would paste:
- floor: `jupyter server` started locally, polled every 10 ms: Jupyter's own
  start-up, with no scheduler and no SSH;
- jtui: what `s` (form, Enter) then `c` do on a connected host: submit_job,
  wait_job (squeue and the job's runtime file through the connection),
  forward, GET;
- the ritual, scripted end to end with OpenSSH, as the guides teach it:
  `ssh login sbatch ...`, `ssh login squeue -j ID` every 0.5 s until RUNNING,
  `ssh login cat` the output every 0.5 s until Jupyter's URL is in it (node,
  port, token), `ssh -N -L PORT:NODE:PORT login`, then the URL polled every
  10 ms. Half a second is quicker than a person or most scripts poll.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_start import floor  # noqa: E402
from tests.bench.common import (  # noqa: E402
    Listener, free_port, http_get, isolate_home, median, poll_until_answers, print_table, ratio, spread,
    stop_process, wait_listening,
)
from tests.harness.slurm import Cluster, missing  # noqa: E402
from tests.harness.sshd import SshServer  # noqa: E402

TIMEOUT = 120.0
POLL = 0.5
URL = re.compile(r"http://([0-9.]+):(\d+)/\S*\?token=(\w+)")


def ssh(server: SshServer, command: str) -> str:
    done = subprocess.run(["ssh", "-F", str(server.config_file), "testhost", command],
                          capture_output=True, text=True, timeout=TIMEOUT)
    return done.stdout


def ritual(server: SshServer, cluster: Cluster) -> tuple[float, dict[str, float]]:
    allow = " --allow-root" if os.geteuid() == 0 else ""
    wrap = ("jupyter server --no-browser --ip=$(scontrol show node -o $SLURMD_NODENAME | "
            "sed -n 's/.* NodeAddr=\\([^ ]*\\) .*/\\1/p') --port=0" + allow)
    start = time.perf_counter()
    job = ssh(server, f"cd ~/work && sbatch --parsable -J ritual -o ritual-%j.out --wrap \"{wrap}\"").strip()
    t_sbatch = time.perf_counter() - start
    while ssh(server, f"squeue -h -j {job} -o %T").strip() != "RUNNING":
        time.sleep(POLL)
    t_running = time.perf_counter() - start
    found = None
    while found is None:
        found = URL.search(ssh(server, f"cat ~/work/ritual-{job}.out"))
        if found is None:
            time.sleep(POLL)
    t_url = time.perf_counter() - start
    node, port, token = found.group(1), int(found.group(2)), found.group(3)
    local = free_port()
    forward = subprocess.Popen(["ssh", "-F", str(server.config_file), "-N", "-o", "ExitOnForwardFailure=yes",
                                "-L", f"127.0.0.1:{local}:{node}:{port}", "testhost"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(local, forward)
        status = poll_until_answers(local, "/api/status", token, time.monotonic() + TIMEOUT)
        elapsed = time.perf_counter() - start
    finally:
        stop_process(forward)
        cluster.run("scancel", job, check=False)
        cluster.wait_job(job, ("CANCELLED", "COMPLETED", "FAILED"), 30)
    assert status == 200, status
    return elapsed, {"sbatch returned": t_sbatch, "squeue says RUNNING": t_running, "URL in the output": t_url}


async def jtui_job(session, cluster: Cluster) -> tuple[float, dict[str, float]]:
    from jtui.core.schedulers.slurm import JobRequest
    from jtui.core.urls import localhost_url

    start = time.perf_counter()
    job = await session.submit_job(JobRequest())
    t_sbatch = time.perf_counter() - start
    running: list[float] = []

    def progress(text: str) -> None:
        if "running on" in text and not running:
            running.append(time.perf_counter() - start)

    started = await session.wait_job(job, progress)
    t_up = time.perf_counter() - start
    forward = await session.forward(started.server)
    url = localhost_url(started.server, forward.local_port)
    token = url.split("token=", 1)[1]
    status = await asyncio.to_thread(http_get, forward.local_port, f"{started.server.base_url}api/status", token)
    elapsed = time.perf_counter() - start
    await session.cancel_job(job)
    await asyncio.to_thread(cluster.wait_job, job, ("CANCELLED", "COMPLETED", "FAILED"), 30)
    assert status == 200, status
    return elapsed, {"sbatch returned": t_sbatch, "seen running": running[0] if running else float("nan"),
                     "server answers": t_up}


async def measure(server: SshServer, cluster: Cluster, work: Path, rounds: int):
    from jtui.core.session import HostSession
    from jtui.core.settings import HostSettings

    times: dict[str, list[float]] = {}
    parts: dict[str, dict[str, list[float]]] = {}

    def keep(name: str, value: float, detail: dict[str, float] | None = None) -> None:
        times.setdefault(name, []).append(value)
        for key, v in (detail or {}).items():
            parts.setdefault(name, {}).setdefault(key, []).append(v)

    settings = HostSettings(jupyter="jupyter server", root_dir="~/work", autoconnect=True, launcher="slurm")
    session = HostSession("testhost", [str(server.config_file)], settings, 2.0, Listener())
    session.start()
    try:
        if not await session.wait_connected(30):
            raise SystemExit(f"jtui could not connect: {session.status}")
        while session.scheduler is None or session.scheduler.pending:
            await asyncio.sleep(0.1)
        await asyncio.to_thread(floor, server, work)  # warm-up: page cache, .pyc, Jupyter's first-run files
        for _ in range(rounds):
            keep("floor: jupyter server, local", await asyncio.to_thread(floor, server, work))
            keep("jtui: s + c (connected)", *await jtui_job(session, cluster))
            keep("ritual: ssh sbatch, poll squeue and output, ssh -N -L", *await asyncio.to_thread(ritual, server, cluster))
    finally:
        await session.close()
    return times, parts


def report(times, parts) -> None:
    floor_median = median(times["floor: jupyter server, local"])
    rows = [[name, f"{median(v):.3f}", spread(v, scale=1, digits=3), f"{median(v) - floor_median:+.3f}",
             ratio(median(v), floor_median)] for name, v in times.items()]
    jtui = median(times["jtui: s + c (connected)"])
    ritual_median = median(times["ritual: ssh sbatch, poll squeue and output, ssh -N -L"])
    notes = [
        f"jtui minus floor: {jtui - floor_median:+.3f} s (target: within 2 s of Jupyter's own start-up)",
        f"ratio ritual / jtui: {ratio(ritual_median, jtui)}",
        "",
        "where the time goes (medians, s from the start):",
    ]
    for name, detail in parts.items():
        notes.append("  " + name + ": " + ", ".join(f"{k} {median(v):.3f}" for k, v in detail.items()))
    print_table(f"Slurm job until the URL answers /api/status, {len(next(iter(times.values())))} alternating rounds (s)",
                ["path", "median", "min–max", "vs floor", "ratio"], rows, notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round: checks that the benchmark runs")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    why = missing()
    if why:
        raise SystemExit(f"bench_slurm: {why}")
    rounds = args.rounds or (1 if args.quick else 5)
    with tempfile.TemporaryDirectory(prefix="jtui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        isolate_home(tmp)
        cluster = Cluster(tmp / "cluster")
        server = SshServer(tmp / "sshd", env=cluster.env)
        try:
            cluster.start()
            server.start()
            work = server.home / "work"
            work.mkdir(parents=True, exist_ok=True)
            times, parts = asyncio.run(measure(server, cluster, work, rounds))
            report(times, parts)
        finally:
            server.stop()
            cluster.stop()


if __name__ == "__main__":
    main()
