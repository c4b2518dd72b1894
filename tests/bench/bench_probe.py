"""Benchmark: one probe sample versus `jupyter server list --json`, on the same host, in one run.

    .venv/bin/python tests/bench/bench_probe.py [--quick] [--rounds N] [--kernels K] [--services S]

Starts its own sshd (tests/harness/sshd.py) and a real jupyter_server, then
runs a small timing harness on the "remote" through SSH, so every command
runs in the SSH session's environment. The harness measures each command's
wall time and CPU time (user + system of the command and everything it
waited for, from getrusage(RUSAGE_CHILDREN)), alternating the contenders
round after round so that machine noise hits them alike. SSH round trips are
not counted: both sides would pay them the same, and the probe pays it once
per stream, not per sample.

What is compared:
- `jupyter server list --json`: what a per-sample poll would cost.
- the probe from a cold start, one sample (`sh -c SCRIPT jtui-probe 0 1 0`),
  and the same with the once-per-start login-shell query;
- the probe's steady cost per sample while streaming: (N samples - 1 sample) / (N - 1),
  at interval 0, so each sample includes its `sleep` fork, as in real use.

The host is loaded as a busy one is: K real ipykernel kernels on the
server (default 20) and S services listening (default 10: `http.server`
processes, half of them on 0.0.0.0), so the per-sample figure includes the
kernel tree walk, their CPU and memory, and the socket table.

Then, on one connection, jtui's own Probe class streams samples at a short
interval while sshd (at LogLevel DEBUG1) logs every channel it opens
("server_input_channel_open: ctype ..."): the count after the first sample
and after the last must be the same, one session channel for the stream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncssh  # noqa: E402

from jtui.core.probe import SOCKETS_EVERY, Probe, probe_variables  # noqa: E402
from jtui.core.probe_parse import parse_line  # noqa: E402
from jtui.core.remote import BOOTSTRAP, Remote, command_line, script_text  # noqa: E402
from jtui.core.resolve import connection_options  # noqa: E402
from tests.harness.jupyter import JUPYTER, start_jupyter  # noqa: E402
from tests.harness.kernels import open_notebook  # noqa: E402
from tests.harness.services import http_server  # noqa: E402
from tests.harness.sshd import SshServer  # noqa: E402

# Runs on the remote: times each command of each round, prints JSON.
HARNESS = r"""
import json, resource, subprocess, sys, time
spec = json.load(sys.stdin)
results = {name: [] for name, _, _ in spec["commands"]}
for _ in range(spec["rounds"]):
    for name, argv, text in spec["commands"]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, input=text.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        if done.returncode != 0:
            sys.exit(f"{name} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
        results[name].append({"wall": wall, "cpu": cpu, "out": done.stdout.decode()[-65536:]})
json.dump(results, sys.stdout)
"""


def probe_run(count: int, login: bool, sockets_every: float = SOCKETS_EVERY) -> tuple[list[str], str]:
    """The probe's command line and stdin, as jtui's transport sends them."""
    variables = probe_variables(0, count, login_shell=login, sockets_every=sockets_every)
    return ["sh", "-c", BOOTSTRAP, "jtui-probe"], script_text("probe", **variables)


async def measure(server: SshServer, rounds: int, stream_samples: int) -> dict[str, list[dict]]:
    commands = [
        ("jupyter server list --json", [JUPYTER, "server", "list", "--json"], ""),
        ("probe: 1 sample, cold start", *probe_run(1, False)),
        ("probe: 1 sample, cold + login shell", *probe_run(1, True)),
        (f"probe: {stream_samples} samples", *probe_run(stream_samples, False)),
        (f"probe: {stream_samples} samples, socket tables each", *probe_run(stream_samples, False, 0)),
    ]
    options = connection_options("testhost", [str(server.config_file)], client_keys=[str(server.client_key)])
    async with asyncssh.connect(options=options) as conn:
        command = f"{shlex.quote(sys.executable)} -c {shlex.quote(HARNESS)}"
        done = await conn.run(command, input=json.dumps({"rounds": rounds, "commands": commands}), check=False)
    if done.exit_status != 0:
        raise SystemExit(f"timing harness failed ({done.exit_status}): {done.stderr}")
    return json.loads(done.stdout)


def channel_opens(server: SshServer) -> int:
    """Channels sshd has opened so far (its DEBUG1 log line for each channel open request)."""
    return server.log_file.read_text(errors="replace").count("server_input_channel_open: ctype ")


async def count_channels(server: SshServer, samples: int, interval: float) -> tuple[int, int, int, float]:
    """Stream `samples` samples through jtui's Probe: channels opened before, at the first sample, at the last."""
    options = connection_options("testhost", [str(server.config_file)], client_keys=[str(server.client_key)])
    async with asyncssh.connect(options=options) as conn:
        before = channel_opens(server)
        seen = 0
        first = last = before
        start = elapsed = 0.0
        async with Probe(Remote(conn), interval) as probe:
            async for _sample in probe.samples():
                seen += 1
                if seen == 1:
                    first = channel_opens(server)
                    start = asyncio.get_running_loop().time()
                if seen == samples:
                    last = channel_opens(server)
                    elapsed = asyncio.get_running_loop().time() - start
                    break
    return before, first, last, elapsed / max(1, samples - 1)


def report_channels(before: int, first: int, last: int, samples: int, period: float) -> None:
    print(f"\nchannels sshd opened for one probe stream of {samples} samples (jtui's Probe, every {period * 1000:.0f} ms)\n")
    print(f"{'at the first sample':<38} {first - before:>4}")
    print(f"{'at the last sample':<38} {last - before:>4}")
    print(f"new channels per sample: {(last - first) / max(1, samples - 1):.2f}")
    if last != first:
        raise SystemExit("the probe opened channels while streaming")


def per_sample(results: dict[str, list[dict]], stream_samples: int, suffix: str = "") -> list[dict]:
    """Steady per-sample cost: the difference between N samples and 1, over N - 1."""
    many = results[f"probe: {stream_samples} samples{suffix}"]
    one = results["probe: 1 sample, cold start"]
    return [
        {key: max(0.0, (a[key] - b[key]) / (stream_samples - 1)) for key in ("wall", "cpu")}
        for a, b in zip(many, one)
    ]


def spread(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):9.1f}  {min(ms):8.1f}–{max(ms):<8.1f}"


def report(results: dict[str, list[dict]], stream_samples: int, jupyter_pid: int, kernels: int, services: int) -> None:
    rows = {name: runs for name, runs in results.items() if not name.startswith(f"probe: {stream_samples} ")}
    rows["probe: per sample, streaming"] = per_sample(results, stream_samples)
    rows["probe: per sample, socket tables each"] = per_sample(results, stream_samples, ", socket tables each")
    rounds = len(next(iter(results.values())))
    print(f"\nremote cost on this host ({kernels} kernels, {services} services), {rounds} alternating rounds (ms)\n")
    print(f"{'what':<38} {'wall median':>11}  {'min–max':<17} {'cpu median':>10}  {'min–max':<17}")
    for name, runs in rows.items():
        print(f"{name:<38} {spread([r['wall'] for r in runs])}  {spread([r['cpu'] for r in runs])}")
    jupyter = results["jupyter server list --json"]
    for label, probe in (("per sample", rows["probe: per sample, streaming"]), ("cold start", results["probe: 1 sample, cold start"])):
        wall = statistics.median(r["wall"] for r in jupyter) / max(1e-6, statistics.median(r["wall"] for r in probe))
        cpu = statistics.median(r["cpu"] for r in jupyter) / max(1e-6, statistics.median(r["cpu"] for r in probe))
        print(f"ratio jupyter server list / probe {label}: wall ×{wall:.0f}, cpu ×{cpu:.0f}")
    # Both sides must have seen the server, or the comparison means nothing.
    listed = [json.loads(row) for row in jupyter[-1]["out"].splitlines() if row.strip()]
    sample = parse_line(results["probe: 1 sample, cold start"][-1]["out"].splitlines()[-1])
    seen = ({d.get("pid") for d in listed} & {s.pid for s in sample.servers}) == {jupyter_pid}
    print(f"both saw the jupyter server (pid {jupyter_pid}): {'yes' if seen else 'NO'}")
    print(f"probe command line: {command_line('probe')}  (script on stdin, {len(script_text('probe', **probe_variables(2.0)))} bytes)")
    found = (len(sample.kernel_processes), sum(1 for s in sample.listening if s.command.endswith(("127.0.0.1 0", "0.0.0.0 0"))))
    print(f"the probe saw {found[0]} of {kernels} kernels and {found[1]} of {services} services")
    if not seen:
        raise SystemExit("the probe and `jupyter server list` disagree about the running server")
    if found != (kernels, services):
        raise SystemExit("the probe did not see the load it was measured with")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: checks that the benchmark runs")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--kernels", type=int, default=None, help="kernels on the server (default 20; quick: 2)")
    parser.add_argument("--services", type=int, default=None, help="services listening (default 10; quick: 2)")
    args = parser.parse_args()
    kernels = args.kernels if args.kernels is not None else (2 if args.quick else 20)
    services = args.services if args.services is not None else (2 if args.quick else 10)
    rounds = args.rounds or (2 if args.quick else 9)
    stream_samples = 5 if args.quick else 21
    channel_samples = 5 if args.quick else 30
    with tempfile.TemporaryDirectory(prefix="jtui-bench-") as tmp:
        server = SshServer(Path(tmp) / "sshd", extra_config="LogLevel DEBUG1").start()
        jupyter = None
        listening = []
        try:
            jupyter = start_jupyter(server.runtime_dir, Path(tmp) / "notebooks")
            for n in range(kernels):
                open_notebook(jupyter, f"nb{n}.ipynb")
            for n in range(services):
                listening.append(http_server(Path(tmp) / f"shared{n}", "0.0.0.0" if n % 2 else "127.0.0.1"))
            results = asyncio.run(measure(server, rounds, stream_samples))
            report(results, stream_samples, jupyter.pid, kernels, services)
            interval = 0.1
            before, first, last, period = asyncio.run(count_channels(server, channel_samples, interval))
            report_channels(before, first, last, channel_samples, period)
        finally:
            for service in listening:
                service.stop()
            if jupyter is not None:
                jupyter.stop()
            server.stop()


if __name__ == "__main__":
    main()
