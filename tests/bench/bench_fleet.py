"""Benchmark: 100 hosts connected and sampled at 1 Hz: jtui's CPU and keypress latency, in one run.

    .venv/bin/python tests/bench/bench_fleet.py [--quick] [--hosts N] [--seconds S] [--rounds N]

Starts a few sshd instances (MaxStartups raised) and a hosts file with N
aliases spread over them; config.toml says `refresh = 1.0`. The "remote"
side (sshd, the probes) runs on this machine too and is not counted.

Contenders, taking turns round after round, each measured over S seconds
once every host is connected and a few samples have come in:
- jtui: `python -m jtui --config FILE` in a real terminal (tmux), the app
  as people run it; CPU = utime + stime of its process (/proc/PID/stat);
- jtui core only: the same HostSessions in a plain asyncio process, no UI
  (what the screen costs on top is the difference);
- OpenSSH: one `ssh ALIAS` per host streaming the same probe at 1 Hz
  (watching N hosts by hand); CPU = the sum over the N ssh processes.

Then, in jtui's terminal: `j` pressed again and again (tmux send-keys), each
timed until the detail pane shows the newly selected host (capture-pane
polled every ~2 ms, so the figures include a few ms of polling). The floor,
a bare Textual table, is timed the same way twice: on a quiet machine, and
while OpenSSH's N clients keep the same sshd and probes busy (here the
"remote" side shares the machine's cores with the terminal; on a real
fleet it does not).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import (  # noqa: E402
    PYTHON, ROOT, SshServer, cpu_seconds, isolate_home, median, percentile, print_table, ratio, spread, stop_process,
)
from tests.harness.sockets import socket_inodes  # noqa: E402
from tests.harness.tmux import Tmux  # noqa: E402

SERVERS = 4
CONNECT_TIMEOUT = 120.0
WARM_UP = 3.0  # seconds of samples before measuring

# jtui's core without the UI: every host's HostSession, a listener that only counts.
CORE = r"""
import asyncio, sys
from jtui.core.inventory import load_inventory
from jtui.core.fleet import Fleet

class Listener:
    samples = 0
    def session_status(self, status): pass
    def session_sample(self, alias, sample): Listener.samples += 1
    def session_notice(self, alias, text, error=False): pass

async def main():
    fleet = Fleet(load_inventory([sys.argv[1]]), Listener())
    fleet.autostart()
    await asyncio.Event().wait()

asyncio.run(main())
"""


# The anchor for keypress latency: a bare Textual app with the same host column and a
# detail text, measured the same way (tmux send-keys, capture-pane polling).
FLOOR_APP = r"""
import sys
from textual.app import App
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

class Table(DataTable):
    BINDINGS = [Binding("j", "cursor_down", "Down", show=False)]

class Floor(App):
    CSS = "Table { width: 34; } #detail { width: 1fr; }"

    def compose(self):
        with Horizontal():
            yield Table(cursor_type="row")
            yield Static(id="detail")

    def on_mount(self):
        table = self.query_one(Table)
        table.add_column("host")
        for name in sys.argv[1:]:
            table.add_row(name, key=name)
        table.focus()

    def on_data_table_row_highlighted(self, event):
        self.query_one("#detail", Static).update(f"│ {event.row_key.value}  floor")

Floor().run()
"""


def alias(i: int) -> str:
    return f"jtb-fleet-{i:03d}"


def write_hosts(path: Path, servers: list[SshServer], count: int) -> list[str]:
    aliases = [alias(i) for i in range(count)]
    path.write_text("".join(servers[i % len(servers)].client_config(a) for i, a in enumerate(aliases)))
    return aliases


def established(pids: list[int], ports: set[int]) -> int:
    """TCP connections in ESTABLISHED state from these processes to these (sshd) ports."""
    inodes: set[int] = set()
    for pid in pids:
        try:
            inodes |= socket_inodes(pid)
        except OSError:
            continue
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].split(":")[1], 16) in ports and int(fields[9]) in inodes:
                count += 1
    return count


def wait_connected(pids_of, ports: set[int], count: int, what: str) -> float:
    start = time.perf_counter()
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while (got := established(pids_of(), ports)) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: only {got} of {count} hosts connected")
        time.sleep(0.1)
    return time.perf_counter() - start


def cpu_share(pids: list[int], seconds: float) -> float:
    """Share of one core used by `pids` together over the next `seconds`."""
    def total() -> float:
        return sum(cpu_seconds(p) for p in pids)

    before, start = total(), time.perf_counter()
    time.sleep(seconds)
    return (total() - before) / (time.perf_counter() - start)


def child_python(pid: int) -> int:
    """The pane's process becomes python by exec (sh, env, python: one pid). Checked, not assumed."""
    deadline = time.monotonic() + 10
    while True:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"python" in cmdline[0]:
            return pid
        if time.monotonic() > deadline:
            raise SystemExit(f"pane process {pid} is not python: {cmdline[:3]}")
        time.sleep(0.005)


def detail_shows(screen: str, name: str) -> bool:
    """True when the detail pane's header (right of the host list) starts with `name`."""
    pattern = re.compile(rf"│\s*{re.escape(name)}\s")
    return any(pattern.search(line[30:]) for line in screen.splitlines())


def respawn(tmux: Tmux, command: list[str], env: dict[str, str]) -> int:
    shell = "exec env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join(command)
    tmux.run("respawn-pane", "-k", "-t", "main", shell)
    return child_python(int(tmux.run("display-message", "-p", "-t", "main", "#{pane_pid}").stdout))


def press_j(tmux: Tmux, aliases: list[str], presses: int) -> list[float]:
    """Press `j` until the detail pane shows each next alias; the latency of each press."""
    deadline = time.monotonic() + 30
    while not detail_shows(tmux.screen(), aliases[0]):
        if time.monotonic() > deadline:
            raise SystemExit(f"the first host never showed in the detail pane:\n{tmux.screen()}")
        time.sleep(0.05)
    latencies = []
    for target in aliases[1:presses + 1]:
        start = time.perf_counter()
        tmux.keys("j")
        while not detail_shows(tmux.run("capture-pane", "-p", "-t", "main").stdout, target):
            if time.perf_counter() - start > 10:
                raise SystemExit(f"`j` never reached {target}:\n{tmux.screen()}")
            time.sleep(0.002)
        latencies.append(time.perf_counter() - start)
        time.sleep(0.05)  # a person's pace, and room for the next sample's redraw
    return latencies


def end_pane(tmux: Tmux) -> None:
    tmux.run("respawn-pane", "-k", "-t", "main", "sleep 3600")
    time.sleep(1.0)


def run_jtui(tmux: Tmux, hosts: Path, env: dict[str, str], aliases: list[str], ports: set[int],
             seconds: float, presses: int) -> tuple[float, float, list[float]]:
    pid = respawn(tmux, [PYTHON, "-m", "jtui", "--config", str(hosts)], env)
    try:
        connect = wait_connected(lambda: [pid], ports, len(aliases), "jtui")
        time.sleep(WARM_UP)
        cpu = cpu_share([pid], seconds)
        return cpu, connect, press_j(tmux, aliases, presses)
    finally:
        end_pane(tmux)


def run_floor_keys(tmux: Tmux, script: Path, env: dict[str, str], aliases: list[str], presses: int) -> list[float]:
    respawn(tmux, [PYTHON, str(script), *aliases], env)
    try:
        return press_j(tmux, aliases, presses)
    finally:
        end_pane(tmux)


def run_core(hosts: Path, env: dict[str, str], aliases: list[str], ports: set[int], seconds: float) -> tuple[float, float]:
    proc = subprocess.Popen([PYTHON, "-c", CORE, str(hosts)], env={**os.environ, **env},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        connect = wait_connected(lambda: [proc.pid], ports, len(aliases), "jtui core")
        time.sleep(WARM_UP)
        return cpu_share([proc.pid], seconds), connect
    finally:
        stop_process(proc)
        time.sleep(1.0)


def run_openssh(hosts: Path, aliases: list[str], ports: set[int], seconds: float,
                during: Callable[[], list[float]]) -> tuple[float, float, list[float]]:
    """OpenSSH's CPU and connect time; then `during()` (the floor's keys) while the hosts keep streaming."""
    from jtui.core.probe import probe_variables
    from jtui.core.remote import command_line, script_text

    command = command_line("probe")
    procs = []
    try:
        for name in aliases:
            proc = subprocess.Popen(["ssh", "-F", str(hosts), name, command], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            proc.stdin.write(script_text("probe", **probe_variables(1.0)).encode())  # stdin stays open: the probe ends when it closes
            proc.stdin.flush()
            procs.append(proc)
        connect = wait_connected(lambda: [p.pid for p in procs], ports, len(aliases), "OpenSSH")
        time.sleep(WARM_UP)
        return cpu_share([p.pid for p in procs], seconds), connect, during()
    finally:
        for proc in procs:
            stop_process(proc)
        time.sleep(1.0)


def report(results: dict[str, dict[str, list[float]]], latencies: list[float], floor: list[float],
           busy_floor: list[float], hosts: int, seconds: float) -> None:
    rows = []
    for name, r in results.items():
        rows.append([name, f"{median(r['cpu']) * 100:.1f}", spread(r["cpu"], scale=100), f"{median(r['connect']):.1f}"])
    jtui = median(results["jtui (app in tmux)"]["cpu"])
    notes = [
        f"ratio OpenSSH ({hosts} ssh processes) / jtui: {ratio(median(results['OpenSSH: one ssh per host, probe at 1 Hz']['cpu']), jtui)};"
        f"  jtui / jtui core only: {ratio(jtui, median(results['jtui core only (no UI)']['cpu']))}",
        "target: jtui under 15% of one core",
    ]
    print_table(f"{hosts} hosts connected, sampled at 1 Hz: CPU over {seconds:.0f} s windows, "
                f"{len(results['jtui (app in tmux)']['cpu'])} alternating rounds",
                ["what", "% of one core", "min–max", "connect all (s)"], rows, notes)
    print_table(f"keypress `j` until the detail pane shows the next host, jtui with {hosts} hosts live (ms)",
                ["what", "p50", "p95", "max", "presses"],
                [[name, f"{median(v) * 1000:.1f}", f"{percentile(v, 95) * 1000:.1f}", f"{max(v) * 1000:.1f}", str(len(v))]
                 for name, v in (("jtui, hosts live", latencies), ("floor: bare Textual table + detail", floor),
                                 (f"floor, while {hosts} ssh stream the probe", busy_floor))],
                [f"p95 jtui − floor: {(percentile(latencies, 95) - percentile(floor, 95)) * 1000:+.1f} ms (quiet machine), "
                 f"{(percentile(latencies, 95) - percentile(busy_floor, 95)) * 1000:+.1f} ms (the same remote load: sshd "
                 "and the probes of every host run on this machine too)",
                 "target: p95 within 15 ms of the floor (the floor is what tmux + Textual + polling cost by themselves)"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 hosts, 5 s: checks that the benchmark runs")
    parser.add_argument("--hosts", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    count = args.hosts or (20 if args.quick else 100)
    seconds = args.seconds or (5.0 if args.quick else 30.0)
    rounds = args.rounds or (1 if args.quick else 2)
    presses = 10 if args.quick else 60
    with tempfile.TemporaryDirectory(prefix="jtui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = isolate_home(tmp, refresh=1.0)
        env.update(HOME=os.environ.get("HOME", "/root"), TERM="xterm-256color", COLORTERM="truecolor",
                   PATH=os.environ["PATH"], PYTHONPATH=str(ROOT))
        servers: list[SshServer] = []
        tmux = Tmux()
        try:
            for i in range(SERVERS):
                servers.append(SshServer(tmp / f"sshd{i}", extra_config="MaxStartups 400:30:800").start())
            ports = {s.port for s in servers}
            hosts = tmp / "hosts.conf"
            aliases = write_hosts(hosts, servers, count)
            tmux.run("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "120", "-y", "40", "sleep 3600")
            tmux.run("set-option", "-g", "remain-on-exit", "on")
            floor_script = tmp / "floor_app.py"
            floor_script.write_text(FLOOR_APP)
            results: dict[str, dict[str, list[float]]] = {}
            latencies: list[float] = []
            floor: list[float] = []
            busy_floor: list[float] = []

            def keep(name: str, cpu: float, connect: float) -> None:
                results.setdefault(name, {}).setdefault("cpu", []).append(cpu)
                results[name].setdefault("connect", []).append(connect)

            for _ in range(rounds):
                cpu, connect, lat = run_jtui(tmux, hosts, env, aliases, ports, seconds, presses)
                keep("jtui (app in tmux)", cpu, connect)
                latencies += lat
                floor += run_floor_keys(tmux, floor_script, env, aliases, presses)
                keep("jtui core only (no UI)", *run_core(hosts, env, aliases, ports, seconds))
                cpu, connect, lat = run_openssh(hosts, aliases, ports, seconds,
                                                lambda: run_floor_keys(tmux, floor_script, env, aliases, presses))
                keep("OpenSSH: one ssh per host, probe at 1 Hz", cpu, connect)
                busy_floor += lat
            report(results, latencies, floor, busy_floor, count, seconds)
        finally:
            tmux.kill()
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
