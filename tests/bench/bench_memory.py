"""Benchmark: jtui's resident memory with 1 and 100 live hosts, and whether it grows over a long run.

    .venv/bin/python tests/bench/bench_memory.py [--quick] [--hosts N] [--minutes M] [--rounds N] [--trace-core]

People leave jtui open all day on a fleet, so two questions: what does it
hold, and does it keep taking more? Hosts are set up as bench_fleet does
(a few sshd on 127.0.0.1, MaxStartups raised; a hosts file of N aliases;
`refresh = 1.0`); the "remote" side runs here too and is not counted.

Memory of one process: RSS (VmRSS, /proc/PID/status) and PSS
(/proc/PID/smaps_rollup, where readable: shared library pages split
between the processes mapping them, so closer to what jtui alone costs).

1. At rest, contenders taking turns round after round, each read once
   after S seconds of settling (connected, samples arriving):
   - jtui with 1 live host and with N live hosts, in a real terminal (tmux);
   - floor: a bare Textual app showing a DataTable with as many rows
     (bench_fleet's floor), measured the same way in the same pane;
   - jtui core only (bench_fleet's CORE: the HostSessions, no UI) with N hosts.
2. Growth: jtui with N hosts live for M minutes, RSS and PSS read every few
   seconds; the least-squares slope over the second half (after warm-up:
   connecting, caches, the 150-sample sparkline history filling) in MiB/hour.
   A leak shows as a slope that does not flatten.
3. --trace-core: the same N hosts in a core-only process under tracemalloc
   for M minutes; the allocation sites that grew most over the second half
   (a cheap first look at what grows, if anything does; the UI is not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_fleet import (
    CORE,
    FLOOR_APP,
    SERVERS,
    end_pane,
    established,
    respawn,
    wait_connected,
    write_hosts,
)
from tests.bench.common import (
    PYTHON,
    ROOT,
    SshServer,
    cpu_seconds,
    isolate_home,
    median,
    print_table,
    ratio,
    spread,
    stop_process,
)
from tests.harness.sshd import descendants, stop_pid
from tests.harness.tmux import Tmux

MIB = 1024 * 1024
HISTORY_SECONDS = 150  # jtui/ui/state.py HISTORY samples at refresh = 1.0

# bench_fleet's core-only process, under tracemalloc: snapshots at half time and at the end,
# the sites that grew most in between printed as JSON lines.
TRACE = r"""
import asyncio, json, os, sys, tracemalloc
tracemalloc.start(int(sys.argv[3]))
from jtui.core.inventory import load_inventory
from jtui.core.fleet import Fleet

class Listener:
    samples = 0
    def session_sample(self, alias, sample): Listener.samples += 1
    def __getattr__(self, name): return lambda *a, **k: None

async def main():
    seconds = float(sys.argv[2])
    fleet = Fleet(load_inventory([sys.argv[1]]), Listener())
    fleet.autostart()
    await asyncio.sleep(seconds / 2)
    half, traced_half = tracemalloc.take_snapshot(), tracemalloc.get_traced_memory()[0]
    await asyncio.sleep(seconds / 2)
    end, traced_end = tracemalloc.take_snapshot(), tracemalloc.get_traced_memory()[0]
    print(json.dumps({"traced_half": traced_half, "traced_end": traced_end, "samples": Listener.samples}))
    keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
    for stat in end.filter_traces(keep).compare_to(half.filter_traces(keep), "traceback")[:12]:
        print(json.dumps({"size_diff": stat.size_diff, "count_diff": stat.count_diff, "size": stat.size,
                          "where": [f"{'/'.join(f.filename.split('/')[-2:])}:{f.lineno}" for f in stat.traceback]}))
    sys.stdout.flush()
    os._exit(0)  # closing 100 sessions under tracemalloc can take minutes; the bench ends us by PID anyway

asyncio.run(main())
"""


def memory(pid: int) -> tuple[float, float | None]:
    """RSS and PSS of `pid` in MiB (PSS None where smaps_rollup is not readable)."""
    rss = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024 / MIB
                break
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return rss, int(line.split()[1]) * 1024 / MIB
    except OSError:
        pass
    return rss, None


def children(pid: int) -> list[int]:
    """Processes below `pid`: counted memory is the process's own, so any child is reported."""
    try:
        return descendants(pid)
    except OSError:
        return []


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) points, in MiB per hour."""
    n = len(points)
    if n < 2:
        return float("nan")
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    sxy = sum((t - mx) * (v - my) for t, v in points)
    return sxy / sxx * 3600 if sxx else float("nan")


class Rig:
    """The sshd servers, hosts files, floor script and the private tmux pane every contender runs in."""

    def __init__(self, tmp: Path, env: dict[str, str], servers: list[SshServer], tmux: Tmux) -> None:
        self.tmp, self.env, self.servers, self.tmux = tmp, env, servers, tmux
        self.ports = {s.port for s in servers}
        self.floor_script = tmp / "floor_app.py"
        self.floor_script.write_text(FLOOR_APP)
        self.notes: list[str] = []
        self.started: list[int] = []  # every pane process, ended by PID at the end whatever happens

    def respawn(self, command: list[str]) -> int:
        pid = respawn(self.tmux, command, self.env)
        self.started.append(pid)
        return pid

    def stop_all(self) -> None:
        """End any pane process still alive (its command line names our temp dir: never a reused PID)."""
        for pid in self.started:
            try:
                mine = str(self.tmp).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if mine:
                stop_pid(pid)

    def hosts(self, count: int) -> tuple[Path, list[str]]:
        path = self.tmp / f"hosts-{count}.conf"
        return path, write_hosts(path, self.servers, count)

    def check_children(self, pid: int, what: str) -> None:
        kids = children(pid)
        if kids:
            self.notes.append(f"note: {what} had {len(kids)} child process(es), not counted")

    def jtui(self, count: int, settle: float) -> tuple[float, float | None]:
        hosts, aliases = self.hosts(count)
        pid = self.respawn([PYTHON, "-m", "jtui", "--config", str(hosts)])
        try:
            wait_connected(lambda: [pid], self.ports, len(aliases), "jtui")
            time.sleep(settle)
            self.check_children(pid, f"jtui, {count} hosts")
            return memory(pid)
        finally:
            end_pane(self.tmux)

    def floor(self, count: int, settle: float) -> tuple[float, float | None]:
        _, aliases = self.hosts(count)
        pid = self.respawn([PYTHON, str(self.floor_script), *aliases])
        try:
            self.tmux.wait_for(lambda screen: aliases[0] in screen, timeout=30, what="the floor app's table")
            time.sleep(settle)
            return memory(pid)
        finally:
            end_pane(self.tmux)

    def core(self, count: int, settle: float) -> tuple[float, float | None]:
        hosts, aliases = self.hosts(count)
        proc = subprocess.Popen([PYTHON, "-c", CORE, str(hosts)], env={**os.environ, **self.env},
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_connected(lambda: [proc.pid], self.ports, len(aliases), "jtui core")
            time.sleep(settle)
            return memory(proc.pid)
        finally:
            stop_process(proc)
            time.sleep(1.0)

    def growth(self, count: int, seconds: float, interval: float) -> dict:
        """jtui with `count` hosts for `seconds`: (t, rss, pss) every `interval`, connections and CPU at the end."""
        hosts, aliases = self.hosts(count)
        pid = self.respawn([PYTHON, "-m", "jtui", "--config", str(hosts)])
        try:
            connect = wait_connected(lambda: [pid], self.ports, len(aliases), "jtui")
            start, cpu0 = time.monotonic(), cpu_seconds(pid)
            samples = []
            while (t := time.monotonic() - start) <= seconds:
                rss, pss = memory(pid)
                samples.append((t, rss, pss))
                time.sleep(max(0.0, start + len(samples) * interval - time.monotonic()))
            cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - start)
            live = established([pid], self.ports)
            self.check_children(pid, "jtui (growth run)")
            return {"samples": samples, "connect": connect, "cpu": cpu, "live": live, "hosts": len(aliases)}
        finally:
            end_pane(self.tmux)

    def trace_core(self, count: int, seconds: float, frames: int = 4) -> list[dict]:
        hosts, _aliases = self.hosts(count)
        proc = subprocess.Popen([PYTHON, "-c", TRACE, str(hosts), str(seconds), str(frames)],
                                env={**os.environ, **self.env}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=seconds * 1.5 + 300)  # tracemalloc slows everything down
        except subprocess.TimeoutExpired:
            raise SystemExit("tracemalloc core run did not finish") from None
        finally:
            stop_process(proc)
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        if not lines:
            raise SystemExit(f"tracemalloc core run printed nothing: {err[-2000:]}")
        return lines


def report_rest(results: dict[str, list[tuple[float, float | None]]], count: int, settle: float,
                rounds: int, notes: list[str]) -> None:
    def col(name: str, i: int) -> list[float]:
        return [m[i] for m in results[name] if m[i] is not None]

    floors = {"jtui, 1 host": "floor: bare Textual DataTable, 1 row",
              f"jtui, {count} hosts": f"floor: bare Textual DataTable, {count} rows"}
    rows = []
    for name in results:
        rss, pss = col(name, 0), col(name, 1)
        floor = floors.get(name)
        rows.append([name, f"{median(rss):.1f}", spread(rss, scale=1), f"{median(pss):.1f}" if pss else "—",
                     spread(pss, scale=1) if pss else "—",
                     ratio(median(rss), median(col(floor, 0))) if floor else "",
                     ratio(median(pss), median(col(floor, 1))) if floor and pss and col(floor, 1) else ""])
    one, many = median(col("jtui, 1 host", 0)), median(col(f"jtui, {count} hosts", 0))
    core = median(col(f"jtui core only (no UI), {count} hosts", 0))
    print_table(f"resident memory, hosts live at 1 Hz, read after {settle:.0f} s settled, {rounds} alternating rounds (MiB)",
                ["what", "RSS", "min–max", "PSS", "min–max", "RSS vs floor", "PSS vs floor"], rows,
                [(f"ratio jtui {count} hosts / 1 host (RSS): {ratio(many, one)};  "
                 f"per extra host: {(many - one) / max(1, count - 1) * 1024:.0f} KiB;  "
                 f"app / core only, {count} hosts: {ratio(many, core)} ({many - core:+.1f} MiB for the UI)"),
                 "RSS from /proc/PID/status (VmRSS); PSS from /proc/PID/smaps_rollup (shared pages split); one process, children not counted",
                 *notes])


def report_growth(run: dict, minutes: float, interval: float) -> None:
    samples = run["samples"]
    end = samples[-1][0]
    half = end / 2
    rows = []
    for label, i in (("RSS", 1), ("PSS", 2)):
        points = [(s[0], s[i]) for s in samples if s[i] is not None]
        if not points:
            continue
        first_half = [p for p in points if p[0] < half]
        second = [p for p in points if p[0] >= half]
        at_half = second[0][1]
        values = [v for _, v in points]
        slope = slope_per_hour(second)
        rows.append([f"jtui {label}, {run['hosts']} hosts", f"{points[0][1]:.1f}", f"{at_half:.1f}", f"{points[-1][1]:.1f}",
                     f"{max(values):.1f}", f"{slope_per_hour(first_half):+.1f}", f"{slope:+.1f}",
                     f"{slope * 8:+.0f}", str(len(points))])
    warm = "after" if half >= HISTORY_SECONDS else "BEFORE"
    print_table(f"growth: jtui with {run['hosts']} hosts live at 1 Hz for {minutes:g} min, read every {interval:g} s (MiB)",
                ["what", "first", "at half", "last", "max", "MiB/h 1st half", "MiB/h 2nd half", "MiB per 8 h", "reads"], rows,
                [(f"slope: least squares over the second half ({half:.0f}–{end:.0f} s), {warm} the sparkline history "
                 f"({HISTORY_SECONDS} samples) is full; the first half carries warm-up (connect, caches, history filling)"),
                 ("a leak shows as a 2nd-half slope that stays well above zero run after run; a few MiB/h either way is "
                 "allocator noise (pymalloc arenas, page granularity) on a run this short"),
                 (f"connected at the end: {run['live']} of {run['hosts']};  connect all: {run['connect']:.1f} s;  "
                 f"CPU over the run: {run['cpu'] * 100:.1f}% of one core")])


def report_trace(lines: list[dict], count: int, minutes: float) -> None:
    head, stats = lines[0], lines[1:]
    rows = [[" <- ".join(s["where"][:3]), f"{s['size_diff'] / 1024:+.1f}", f"{s['count_diff']:+d}", f"{s['size'] / 1024:.1f}"]
            for s in stats]
    print_table(f"tracemalloc, jtui core only with {count} hosts for {minutes:g} min: sites that grew most over the second half",
                ["where (innermost first)", "KiB diff", "blocks diff", "KiB at end"], rows,
                [(f"traced Python memory: {head['traced_half'] / MIB:.2f} MiB at half, {head['traced_end'] / MIB:.2f} MiB at the end "
                 f"({(head['traced_end'] - head['traced_half']) / 1024:+.0f} KiB);  samples received: {head['samples']}")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 10 hosts, about a minute of growth: checks that it runs")
    parser.add_argument("--hosts", type=int, default=None)
    parser.add_argument("--minutes", type=float, default=None, help="length of the growth run (default 30)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--settle", type=float, default=None, help="seconds live before the at-rest reading")
    parser.add_argument("--interval", type=float, default=None, help="seconds between growth readings")
    parser.add_argument("--trace-core", action="store_true", help="also a core-only run under tracemalloc, as long as --minutes")
    args = parser.parse_args()
    count = args.hosts or (10 if args.quick else 100)
    minutes = args.minutes or (1.0 if args.quick else 30.0)
    rounds = args.rounds or (1 if args.quick else 3)
    settle = args.settle or (5.0 if args.quick else 15.0)
    interval = args.interval or (2.0 if args.quick else 5.0)
    with tempfile.TemporaryDirectory(prefix="jtui-bench-mem-") as tmp_name:
        tmp = Path(tmp_name)
        env = isolate_home(tmp, refresh=1.0)
        env.update(HOME=os.environ.get("HOME", "/root"), TERM="xterm-256color", COLORTERM="truecolor",
                   PATH=os.environ["PATH"], PYTHONPATH=str(ROOT))
        servers: list[SshServer] = []
        tmux = Tmux(socket=f"jtui-bench-mem-{os.getpid()}")
        rig = None
        try:
            for i in range(SERVERS):
                servers.append(SshServer(tmp / f"sshd{i}", extra_config="MaxStartups 400:30:800").start())
            tmux.run("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "120", "-y", "40", "sleep 3600")
            tmux.run("set-option", "-g", "remain-on-exit", "on")
            rig = Rig(tmp, env, servers, tmux)
            contenders = {
                "floor: bare Textual DataTable, 1 row": lambda: rig.floor(1, settle),
                "jtui, 1 host": lambda: rig.jtui(1, settle),
                f"floor: bare Textual DataTable, {count} rows": lambda: rig.floor(count, settle),
                f"jtui, {count} hosts": lambda: rig.jtui(count, settle),
                f"jtui core only (no UI), {count} hosts": lambda: rig.core(count, settle),
            }
            results: dict[str, list[tuple[float, float | None]]] = {}
            for _ in range(rounds):
                for name, measure in contenders.items():
                    results.setdefault(name, []).append(measure())
            report_rest(results, count, settle, rounds, rig.notes)
            rig.notes.clear()
            run = rig.growth(count, minutes * 60, interval)
            report_growth(run, minutes, interval)
            for note in rig.notes:
                print(note)
            if args.trace_core:
                report_trace(rig.trace_core(count, minutes * 60), count, minutes)
        finally:
            tmux.kill()
            if rig is not None:
                rig.stop_all()
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
