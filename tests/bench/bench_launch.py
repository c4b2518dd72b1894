"""Benchmark: launch to the first frame showing hosts, versus a bare Textual app, in one run.

    .venv/bin/python tests/bench/bench_launch.py [--quick] [--rounds N]

Runs `python -m jtui --config FILE` in a real terminal (a private tmux
server, tests/harness/tmux.py) and times it from `tmux respawn-pane` until
`capture-pane` shows the first host alias. The contenders take turns, round
after round, in the same pane:
- jtui with 4 hosts, and with 1000 hosts (unresolvable *.invalid names,
  `autoconnect = false` in config.toml, so no connection is attempted);
- jtui with 4 hosts on a real sshd and autoconnect on (connections start
  after the first frame, they must not delay it);
- floor: a minimal Textual app (one Static) measured the same way;
- a bare table app: a Static, a DataTable of the 4 hosts and a Footer, the
  least any host-list app draws (what a table costs in Textual, apart from
  jtui's own code);
- `python -c "import textual.app"` and `python -c pass`, timed as plain
  subprocesses (no terminal): the import cost jtui cannot avoid.

capture-pane is polled every ~2 ms; each poll is a tmux client process, so
the figures carry a few ms of polling on top, alike for every contender.

With --instructions (needs valgrind), the floor and jtui are also run once
each under callgrind, in the same pane, until their first frame is drawn (a
hook ends the process right after Textual's first write to the terminal),
and the CPU instructions they took are counted; so is importing jtui after
Textual, with and without Python building its dataclasses. Times on a shared VM move by
tens of percent between runs; the count moves by a fraction of one, so it
says whether a change to the start made it cheaper.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import PYTHON, ROOT, compile_jtui, cpu_seconds, isolate_home, median, print_table, ratio, spread, start_sshd  # noqa: E402
from tests.harness.tmux import Tmux  # noqa: E402

FLOOR_APP = """
from textual.app import App
from textual.widgets import Static

class Floor(App):
    def compose(self):
        yield Static("jtb-floor-ready")

Floor().run()
"""

TABLE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer, Static

class Table(App):
    BINDINGS = [("s", "start", "start"), ("c", "copy", "copy URL"), ("r", "refresh", "refresh")]

    def compose(self):
        yield Static("hosts")
        yield DataTable()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("host", "cpu", "ram")
        for i in range(4):
            table.add_row(f"jtb-table-{i}", "-", "-")

Table().run()
"""
TIMEOUT = 30.0

# `python -c FIRST_FRAME_THEN_EXIT SCRIPT|MODULE ARGS...`: runs it, and ends the process once the
# first frame is on the terminal (App._display is where Textual writes a frame; a bench may use it).
FIRST_FRAME_THEN_EXIT = """
import os, runpy, sys
import textual.app
display = textual.app.App._display
def first_frame(self, screen, renderable):
    display(self, screen, renderable)
    os._exit(0)
textual.app.App._display = first_frame
sys.argv = sys.argv[1:]
if sys.argv[0].endswith(".py"):
    runpy.run_path(sys.argv[0], run_name="__main__")
else:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def hosts_file(path: Path, count: int) -> tuple[Path, str]:
    lines = []
    for i in range(count):
        lines += [f"Host jtb-{count}-{i:04d}", f"  HostName jtb-{i:04d}.invalid", "  User nobody", ""]
    path.write_text("\n".join(lines))
    return path, f"jtb-{count}-0000"


def real_hosts_file(path: Path, server) -> tuple[Path, str]:
    text = "".join(server.client_config(f"jtb-real-{i}") for i in range(4))
    path.write_text(text)
    return path, "jtb-real-0"


def respawn(tmux: Tmux, command: list[str], env: dict[str, str]) -> None:
    """Run `command` with `env` in the pane, in place of what ran there (exec: the pane's pid is its own)."""
    tmux.run("respawn-pane", "-k", "-t", "main",
             "exec env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join(command))


def first_frame(tmux: Tmux, command: list[str], env: dict[str, str], needle: str) -> tuple[float, float]:
    """Seconds from respawning the pane with `command` until `needle` is on the screen, and the
    CPU seconds the process used until then (less sensitive to other load on the machine)."""
    start = time.perf_counter()
    respawn(tmux, command, env)
    pid = int(tmux.run("display-message", "-p", "-t", "main", "#{pane_pid}").stdout)  # exec: python's own pid
    while True:
        screen = tmux.run("capture-pane", "-p", "-t", "main").stdout
        if needle in screen:
            elapsed = time.perf_counter() - start
            try:
                cpu = cpu_seconds(pid)
            except OSError:
                cpu = float("nan")
            break
        if time.perf_counter() - start > TIMEOUT:
            raise SystemExit(f"{needle!r} never showed; screen:\n{screen}")
        time.sleep(0.002)
    tmux.run("respawn-pane", "-k", "-t", "main", "sleep 3600")  # end it (SIGHUP), pane kept
    time.sleep(0.3)  # let it go before the next contender starts
    return elapsed, cpu


def collected(log: Path) -> int:
    """The instruction count callgrind wrote to `log`."""
    for line in log.read_text().splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise SystemExit(f"no instruction count in {log}:\n{log.read_text()}")


def instructions(tmux: Tmux, command: list[str], env: dict[str, str], log: Path) -> int:
    """CPU instructions `command` (python SCRIPT|-m MODULE ...) takes to its first frame, under callgrind."""
    target = command[2:] if command[1] == "-m" else command[1:]
    counted = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log}",
               command[0], "-c", FIRST_FRAME_THEN_EXIT, *target]
    log.unlink(missing_ok=True)
    respawn(tmux, counted, env)
    deadline = time.monotonic() + 20 * TIMEOUT
    while tmux.run("display-message", "-p", "-t", "main", "#{pane_dead}").stdout.strip() != "1":
        if time.monotonic() > deadline:
            raise SystemExit(f"{shlex.join(command)} never drew a frame under valgrind")
        time.sleep(0.2)
    return collected(log)


# What importing jtui costs after Textual (what the floor app imports too), and how much of it is
# Python building jtui's dataclasses: the same import with @dataclass leaving each class as written,
# with an __init__ that takes anything (a module may make an instance as it loads; nothing else runs).
# os._exit: no interpreter teardown in the count.
TEXTUAL = "import textual.app, textual.widgets._static, textual.widgets._data_table, textual.widgets._footer"
AS_WRITTEN = """
import dataclasses
def as_written(cls=None, **options):
    def keep(cls):
        cls.__init__ = lambda self, *args, **kwargs: None
        return cls
    return keep if cls is None else keep(cls)
dataclasses.dataclass = as_written
"""
IMPORTS = {
    "Textual (app, Static, DataTable, Footer)": TEXTUAL,
    "the same, then import jtui.app": f"{TEXTUAL}; import jtui.app",
    "the same, @dataclass building nothing": f"{TEXTUAL}\n{AS_WRITTEN}\nimport jtui.app",
}


def import_instructions(code: str, log: Path) -> int:
    """CPU instructions `python -c code` takes, under callgrind, without the interpreter's teardown."""
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log}",
                    PYTHON, "-c", f"{code}; import os; os._exit(0)"], check=True, cwd=ROOT)
    return collected(log)


def plain(args: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    before = os.times()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = os.times()
    return time.perf_counter() - start, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def measure(tmp: Path, server, rounds: int, count: bool
            ) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, int]]:
    env = {k: os.environ[k] for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=os.environ.get("HOME", "/root"), TERM="xterm-256color", COLORTERM="truecolor",
               PATH=os.environ["PATH"], PYTHONPATH=str(ROOT))
    offline = isolate_home(tmp / "offline", autoconnect=False)
    online = isolate_home(tmp / "online", refresh=2.0)
    small, small_alias = hosts_file(tmp / "hosts-4.conf", 4)
    big, big_alias = hosts_file(tmp / "hosts-1000.conf", 1000)
    real, real_alias = real_hosts_file(tmp / "hosts-real.conf", server)
    floor_script = tmp / "floor_app.py"
    floor_script.write_text(FLOOR_APP)
    table_script = tmp / "table_app.py"
    table_script.write_text(TABLE_APP)
    jtui = [PYTHON, "-m", "jtui", "--config"]
    terminal = {
        "jtui, 4 hosts": (jtui + [str(small)], {**env, **offline}, small_alias),
        "jtui, 1000 hosts": (jtui + [str(big)], {**env, **offline}, big_alias),
        "jtui, 4 real hosts, autoconnect on": (jtui + [str(real)], {**env, **online}, real_alias),
        "floor: minimal Textual app": ([PYTHON, str(floor_script)], env, "jtb-floor-ready"),
        "bare table app (DataTable + Footer)": ([PYTHON, str(table_script)], env, "jtb-table-0"),
    }
    processes = {
        'python -c "import textual.app"': [PYTHON, "-c", "import textual.app"],
        "python -c pass": [PYTHON, "-c", "pass"],
    }
    times: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    tmux = Tmux()
    try:
        tmux.run("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "120", "-y", "36", "sleep 3600")
        tmux.run("set-option", "-g", "remain-on-exit", "on")
        for command, env_, needle in terminal.values():  # warm-up: the page cache
            first_frame(tmux, command, env_, needle)
        for _ in range(rounds):
            for name, (command, env_, needle) in terminal.items():
                elapsed, cpu = first_frame(tmux, command, env_, needle)
                times.setdefault(name, []).append(elapsed)
                cpus.setdefault(name, []).append(cpu)
            for name, args in processes.items():
                elapsed, cpu = plain(args)
                times.setdefault(name, []).append(elapsed)
                cpus.setdefault(name, []).append(cpu)
        if count:
            for name in ("floor: minimal Textual app", "bare table app (DataTable + Footer)", "jtui, 4 hosts", "jtui, 1000 hosts"):
                command, env_, _needle = terminal[name]
                counts[name] = instructions(tmux, command, env_, tmp / "callgrind.log")
            for name, code in IMPORTS.items():
                counts[name] = import_instructions(code, tmp / "callgrind.log")
    finally:
        tmux.kill()
    return times, cpus, counts


def report(times: dict[str, list[float]], cpus: dict[str, list[float]], counts: dict[str, int]) -> None:
    floor = median(times["floor: minimal Textual app"])
    rows = [[name, f"{median(v) * 1000:.0f}", spread(v, digits=0), f"{(median(v) - floor) * 1000:+.0f}",
             ratio(median(v), floor), f"{median(cpus[name]) * 1000:.0f}"] for name, v in times.items()]
    notes = [
        f"ratio jtui 1000 hosts / 4 hosts: {ratio(median(times['jtui, 1000 hosts']), median(times['jtui, 4 hosts']))}",
        "target: within ×1.15 of the floor app with 4 hosts and ×1.3 with 1000 (issue 16); under 350 ms (round one)",
        f"ratio jtui 4 hosts / bare table app: {ratio(median(times['jtui, 4 hosts']), median(times['bare table app (DataTable + Footer)']))}",
        "cpu ms: user + system CPU of the process until its first frame (or its whole run), median",
    ]
    print_table(f"launch to the first frame showing a host, {len(times['jtui, 4 hosts'])} alternating rounds (ms)",
                ["what", "median", "min–max", "vs floor app", "ratio", "cpu ms"], rows, notes)
    if counts:
        floor = counts["floor: minimal Textual app"]
        rows = [[name, f"{n / 1e6:.0f}", f"{(n - floor) / 1e6:+.0f}", ratio(n, floor)]
                for name, n in counts.items() if name not in IMPORTS]
        print_table("CPU instructions from exec to the first frame, under callgrind (millions, one run each)",
                    ["what", "instructions", "vs floor app", "ratio"], rows,
                    ["the same start as timed above, counted instead of timed: run to run it moves by under 1%"])
        textual, jtui, plain_classes = (counts[name] for name in IMPORTS)
        rows = [[name, f"{counts[name] / 1e6:.0f}", f"{(counts[name] - textual) / 1e6:+.0f}"] for name in IMPORTS]
        print_table("CPU instructions of imports alone, under callgrind (millions)",
                    ["what", "instructions", "vs Textual alone"], rows,
                    [f"jtui's dataclasses at import: {(jtui - plain_classes) / 1e6:.0f} M, "
                     f"{(jtui - plain_classes) / floor:.1%} of the floor app's first frame "
                     f"(×1.15 leaves jtui 15% for everything it adds)"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two rounds: checks that the benchmark runs")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--instructions", action="store_true", help="also count instructions to the first frame (valgrind)")
    args = parser.parse_args()
    if args.instructions and not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind: apt-get install valgrind (or leave the option out)")
    rounds = args.rounds or (2 if args.quick else 10)
    with tempfile.TemporaryDirectory(prefix="jtui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        isolate_home(tmp)
        compile_jtui()
        server = start_sshd(tmp)
        try:
            times, cpus, counts = measure(tmp, server, rounds, args.instructions)
            report(times, cpus, counts)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
