"""Run every benchmark, one after the other, and print every table.

    .venv/bin/python tests/bench/run_all.py [--quick] [--only NAME ...]

Each bench_*.py runs as its own process (as it would alone), so one bench's
servers and caches never colour the next one's figures. The header says
what machine the figures come from; the load average before each bench
says how busy it was. The exit status is 1 if any bench failed; the
others still run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

ORDER = ["start", "slurm", "copy", "browser", "probe", "throughput", "small_requests", "launch", "fleet", "memory"]
# the launch bench also counts instructions where valgrind is installed (.ci/run installs it)
OPTIONS = {"launch": ["--instructions"] if shutil.which("valgrind") else []}


def machine() -> list[str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    from importlib.metadata import version

    versions = ", ".join(f"{name} {version(name)}" for name in ("asyncssh", "textual", "jupyter_server"))
    return [
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"cpus: {os.cpu_count()} (nproc), {model}",
        f"kernel: {platform.system()} {platform.release()} {platform.machine()}",
        f"OpenSSH: {ssh}",
        f"Python: {platform.python_version()} ({sys.executable})",
        f"packages: {versions}",
    ]


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each bench at its tiny size")
    parser.add_argument("--only", nargs="+", choices=ORDER, metavar="NAME", help=f"some of: {' '.join(ORDER)}")
    args = parser.parse_args()
    print("\n".join(machine()), flush=True)
    failed = []
    for name in args.only or ORDER:
        script = HERE / f"bench_{name}.py"
        command = [sys.executable, str(script)] + (["--quick"] if args.quick else []) + OPTIONS.get(name, [])
        print(f"\n{'=' * 100}\n$ {' '.join([Path(sys.executable).name, str(script.relative_to(ROOT))] + command[2:])}"
              f"   (load average before: {load()})", flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT)
        print(f"[{name}: exit {done.returncode}, {time.perf_counter() - start:.0f} s]", flush=True)
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {' '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
