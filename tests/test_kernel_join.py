"""Kernels as the API says and as the probe sees them, joined: pure functions, hostile input."""

from __future__ import annotations

import json

import pytest

from jtui.core.kernels import Kernel, join
from jtui.core.model import KernelProcesses
from jtui.core.probe_parse import ProbeLineError, parse_line
from tests.test_probe_parse import LINUX_CPU

KID = "4c2e9f6d-1a2b-3c4d-5e01-8c1e6c503b1f"
API_KERNELS = [{"id": KID, "name": "python3", "last_activity": "2026-12-03T15:20:00.000000Z",
                "execution_state": "idle", "connections": 2}]
API_SESSIONS = [{"id": "s1", "path": "work/train.ipynb", "name": "train.ipynb", "type": "notebook",
                 "kernel": API_KERNELS[0]}]
PROC = KernelProcesses(KID, 4242, 100, 3, 12.5, 3 << 30, "pss", 2048.0, (0,))


def test_api_and_probe_join_by_kernel_id():
    [kernel] = join(API_KERNELS, API_SESSIONS, (PROC,))
    assert kernel == Kernel(
        id=KID, name="python3", path="work/train.ipynb", kind="notebook", state="idle",
        last_activity=1796311200.0, connections=2, pid=4242, cpu_percent=12.5, memory_bytes=3 << 30,
        memory_kind="pss", gpu_memory_bytes=2048 << 20, gpus=(0,), processes=3,
    )
    assert kernel.idle_for(1796311200.0 + 90) == 90


def test_a_kernel_only_the_probe_sees_is_still_listed():
    [kernel] = join(None, None, (PROC,))
    assert (kernel.id, kernel.path, kernel.state, kernel.pid) == (KID, "", "", 4242)


@pytest.mark.parametrize("hostile", [
    [{"id": "../../etc"}], [{"id": KID, "execution_state": "idle\x1b[2J"}], "nope", [None], [{"id": 7}],
    [{"id": KID, "last_activity": "yesterday", "connections": -1}],
])
def test_hostile_api_answers_never_reach_the_screen(hostile):
    kernels = join(hostile, [{"kernel": {"id": KID}, "path": "\x1b]52;c;evil\x07"}], ())
    for kernel in kernels:
        assert kernel.id == KID and "\x1b" not in kernel.state + kernel.path
        assert kernel.connections is None or kernel.connections >= 0


def line_with(**fields) -> str:
    data = json.loads(LINUX_CPU)
    data.update(fields)
    return json.dumps(data)


def test_probe_lines_carry_kernels_and_gpu_processes():
    sample = parse_line(line_with(
        kernels=[{"id": KID, "pid": 4242, "server": 100, "procs": 3, "cpu": 12.5, "rss": 4 << 30,
                  "mem": 3 << 30, "mem_kind": "pss", "gpu_mib": 2048, "gpus": [0]}],
        gpu_processes=[{"pid": 77, "gpu": 0, "mib": 1024, "user": "bob", "command": "python train.py"}],
    ))
    assert sample.kernel_processes == (PROC,)
    [other] = sample.gpu_processes
    assert (other.pid, other.gpu, other.used_mib, other.user, other.command) == (77, 0, 1024.0, "bob", "python train.py")


@pytest.mark.parametrize("bad", [
    {"id": "../x", "pid": 1, "server": 1, "procs": 1, "mem": 0, "mem_kind": "pss"},
    {"id": KID, "pid": 0, "server": 1, "procs": 1, "mem": 0, "mem_kind": "pss"},
    {"id": KID, "pid": 1, "server": 1, "procs": 1, "mem": -5, "mem_kind": "pss"},
    {"id": KID, "pid": 1, "server": 1, "procs": 1, "mem": 0, "mem_kind": "vss"},
    "kernel",
])
def test_a_bad_kernel_entry_is_left_out_not_the_line(bad):
    sample = parse_line(line_with(kernels=[bad]))
    assert sample.kernel_processes == () and sample.cpu_percent is not None
    assert any(reason.startswith("kernels 0:") for reason in sample.dropped)


def test_too_many_kernels_refuse_the_line():
    with pytest.raises(ProbeLineError):
        parse_line(line_with(kernels=[{}] * 2000))
