"""The probe benchmark still runs (its figures are for people, not for asserts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).parent / "bench" / "bench_probe.py"


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
