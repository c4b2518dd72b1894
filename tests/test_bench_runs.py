"""Every benchmark still runs (their figures are for people, not for asserts).

Each bench runs at its tiny size (--quick); the tests check only that it
exits 0 and prints its table, never anything about time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.require import need_program

pytestmark = pytest.mark.integration

BENCH_DIR = Path(__file__).parent / "bench"
BENCH = BENCH_DIR / "bench_probe.py"


def run_bench(name: str, *options: str) -> str:
    script = BENCH_DIR / f"bench_{name}.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", *options],
        cwd=BENCH_DIR.parents[1], capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def tmux_available():
    need_program("tmux")


def test_bench_probe_quick_prints_its_table(sshd):  # sshd: skip (or fail in CI) as the other real tests do
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        cwd=BENCH.parents[2], capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "wall median" in out and "cpu median" in out
    for row in ("jupyter server list --json", "probe: 1 sample, cold start", "probe: per sample, streaming"):
        assert row in out
    assert "ratio jupyter server list / probe per sample" in out
    assert "both saw the jupyter server" in out and ": yes" in out
    assert "channels sshd opened for one probe stream" in out and "new channels per sample:" in out


def test_bench_start_quick_prints_its_table(sshd):
    out = run_bench("start")
    assert "start until the URL answers /api/status" in out
    for row in ("floor: jupyter server, local", "jtui: s + c (connected)", "OpenSSH ritual", "jtui, connect included"):
        assert row in out
    assert "jtui minus floor:" in out and "ratio OpenSSH ritual / jtui:" in out


def test_bench_copy_quick_prints_its_table(sshd):
    out = run_bench("copy")
    assert "`c` on a running server until the URL answers" in out
    for row in ("jtui core: forward + GET", "jtui app (Pilot)", "OpenSSH cold: ssh -N -L + GET",
                "OpenSSH ControlMaster: -O forward + GET"):
        assert row in out
    assert "ratio OpenSSH cold / jtui core:" in out


def test_bench_throughput_quick_prints_its_table(sshd):
    out = run_bench("throughput")
    assert "MB download through each forward" in out
    for row in ("jtui (default)", "jtui, user's Ciphers chacha20-poly1305@openssh.com", "ssh -N -L (default)",
                "direct (no forward)"):
        assert row in out
    assert "ratio jtui (default) / ssh -N -L (default):" in out


def test_bench_small_requests_quick_prints_its_table(sshd):
    out = run_bench("small_requests")
    for target in ("python -m http.server /small.txt", "python -m http.server /300k.bin", "jupyter /api/status"):
        assert f"sequential GETs, new connection each: {target}" in out
    assert "sequential GETs, on one kept-alive connection: jupyter /api/status" in out
    for row in ("direct (no forward)", "jtui", "ssh -N -L", "asyncssh, forward only", "ssh -L + remote command"):
        assert row in out
    assert "ratio p95 ssh -N -L / jtui:" in out


def test_bench_launch_quick_prints_its_tables(sshd, tmux_available):
    need_program("valgrind")
    out = run_bench("launch", "--instructions")
    timed, counted = out.split("CPU instructions from exec to the first frame")
    assert "launch to the first frame showing a host" in timed
    for row in ("jtui, 4 hosts", "jtui, 1000 hosts", "jtui, 4 real hosts, autoconnect on",
                "floor: minimal Textual app", "bare table app (DataTable + Footer)", 'python -c "import textual.app"'):
        assert row in timed
    counted, imports = counted.split("CPU instructions of imports alone")
    for row in ("floor: minimal Textual app", "bare table app (DataTable + Footer)", "jtui, 4 hosts", "jtui, 1000 hosts"):
        assert row in counted
    assert "then import jtui.app" in imports and "jtui's dataclasses at import:" in imports


def test_bench_fleet_quick_prints_its_tables(sshd, tmux_available):
    out = run_bench("fleet")
    assert "hosts connected, sampled at 1 Hz: CPU over" in out
    for row in ("jtui (app in tmux)", "jtui core only (no UI)", "OpenSSH: one ssh per host, probe at 1 Hz"):
        assert row in out
    assert "keypress `j` until the detail pane shows the next host" in out
    assert "jtui, hosts live" in out and "floor: bare Textual table + detail" in out
    assert "ssh stream the probe" in out and "p95 jtui − floor" in out


def test_bench_slurm_quick_prints_its_table(sshd):
    from tests.harness import slurm

    why = slurm.missing()
    if why:
        from tests.harness.require import unavailable

        unavailable(why)
    out = run_bench("slurm")
    assert "Slurm job until the URL answers /api/status" in out
    for row in ("floor: jupyter server, local", "jtui: s + c (connected)", "ritual: ssh sbatch, poll squeue"):
        assert row in out
    assert "jtui minus floor:" in out and "ratio ritual / jtui:" in out


def test_bench_browser_quick_prints_its_tables(sshd):
    import shutil

    if not shutil.which("chromium"):
        from tests.harness.require import unavailable

        unavailable("Debian's chromium is not installed (see .ci/run)")
    out = run_bench("browser")
    assert "JupyterLab in headless Chromium" in out and "a cell's round trip over the kernel websocket" in out
    for row in ("direct (no forward)", "jtui forward", "ssh -N -L"):
        assert row in out
    assert "ratio ssh -N -L / jtui:" in out


def test_bench_memory_quick_prints_its_tables(sshd, tmux_available):
    out = run_bench("memory")
    assert "resident memory, hosts live at 1 Hz" in out and "growth: jtui with" in out
    for row in ("floor: bare Textual DataTable", "jtui, 1 host", "jtui core only (no UI)"):
        assert row in out
