"""Snapshot SVGs of the screen; `screenshots/` is regenerated from these.

Live states are drawn from fixed samples posted as the sessions would post
them, so the pictures are the same on every machine.
"""

from __future__ import annotations

import shutil

import pytest

from jtui.app import _Listener, build_app
from jtui.core.model import GpuStat, HostState, HostStatus, JupyterServer, Sample
from jtui.ui.messages import HostStatusChanged
from tests.ui_helpers import SCREEN_HOSTS, offline_app

SIZE = (100, 26)
GIB = 1024**3
TOKEN = "5f2a9c0e7b1d4c3a8e6f0b2d9a7c5e3f1b4d6a8c0e2f4a6b"  # a made-up one, token-shaped


@pytest.fixture
def laptop_terminal(monkeypatch):
    """Copies as on a laptop outside tmux: no SSH hint, no tmux buffer, whatever runs the tests."""
    for name in ("TMUX", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)


def live_sample(cpu: float, mem_used_gib: float) -> Sample:
    return Sample(
        time=1_800_000_000.0,
        cpu_percent=cpu,
        cpu_per_core=(cpu,) * 16,
        cores=16,
        load=(5.1, 4.0, 3.2),
        mem_total=32 * GIB,
        mem_used=int(mem_used_gib * GIB),
        mem_available=int((32 - mem_used_gib) * GIB),
        swap_total=8 * GIB,
        swap_used=0,
        gpus=(GpuStat(0, "NVIDIA A100-SXM4-80GB", 72.0, 30920.0, 81920.0, 54.0),),
        servers=(
            JupyterServer(8888, 1234, "http://127.0.0.1:8888/", token=TOKEN, root_dir="/home/alice/proj", version="2.14.2", started=1_800_000_000.0 - 7300),
            JupyterServer(8890, 5678, "http://127.0.0.1:8890/", token=TOKEN, root_dir="/home/alice/scratch", version="2.14.2", started=1_800_000_000.0 - 310),
        ),
        remote_user="alice",
        remote_home="/home/alice",
    )


async def feed_live_states(pilot) -> None:
    app = pilot.app
    app.post_message(HostStatusChanged(HostStatus("gpu-box", HostState.CONNECTED)))
    app.post_message(HostStatusChanged(HostStatus("lab", HostState.CONNECTED)))
    app.post_message(HostStatusChanged(HostStatus("hpc", HostState.CONNECTING)))
    app.post_message(HostStatusChanged(HostStatus("old-box", HostState.FAILED, "connection refused")))
    listener = _Listener(app)
    for cpu, mem in ((10, 12.0), (12, 12.1), (25, 12.5), (60, 13.0), (85, 13.0), (70, 13.2), (50, 13.1), (37, 13.1)):
        listener.session_sample("gpu-box", live_sample(cpu, mem))
    lab = Sample(time=1_800_000_000.0, cpu_percent=3, cores=4, load=(0.1, 0.1, 0.0), mem_total=16 * GIB, mem_used=int(3.2 * GIB), mem_available=int(12.8 * GIB))
    listener.session_sample("lab", lab)
    await pilot.pause()
    app.host_list._flush()  # the list's figures update on a timer; draw them now
    await app.workers.wait_for_complete()
    await pilot.pause()


def test_host_list(snap_compare):
    assert snap_compare(offline_app(), terminal_size=SIZE, run_before=lambda p: p.app.workers.wait_for_complete())


def test_host_list_filtered(snap_compare):
    assert snap_compare(offline_app(), press=["slash", "b", "o", "x", "enter", "j"], terminal_size=SIZE)


def test_help_screen(snap_compare, home, monkeypatch):
    """Real paths, below a HOME of the test's own so they read the same on every machine."""
    shutil.copy(SCREEN_HOSTS, home / ".ssh" / "config")
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name)
    assert snap_compare(build_app(None, autoconnect=False), press=["question_mark"], terminal_size=(100, 32))


def test_command_palette(snap_compare):
    async def open_palette(pilot) -> None:
        await feed_live_states(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()  # the palette gathers its hits in a worker
        await pilot.pause()

    assert snap_compare(offline_app(), terminal_size=(100, 32), run_before=open_palette)


def test_live_host(snap_compare):
    assert snap_compare(offline_app(), terminal_size=SIZE, run_before=feed_live_states)


def test_empty_state(snap_compare, monkeypatch):
    monkeypatch.setenv("HOME", "/home/alice")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/alice/.config")
    assert snap_compare(build_app(None, autoconnect=False), terminal_size=SIZE)


async def starting_state(pilot) -> None:
    await feed_live_states(pilot)
    pilot.app.notes["gpu-box"] = "starting Jupyter: waiting for its runtime file (pid 4242)"
    pilot.app.refresh_detail()
    await pilot.pause()


async def forwarded_state(pilot) -> None:
    """After c on the first server: forwarded, and the copied URL in a notification."""
    from jtui.core.urls import localhost_url

    app = pilot.app
    app.forward_ports = lambda alias: {8888: 8888} if alias == "gpu-box" else {}
    await feed_live_states(pilot)
    server = app.samples["gpu-box"].servers[0]
    await app.copy_url(localhost_url(server, 8888), server, 8888)
    await pilot.pause()


async def failed_host_selected(pilot) -> None:
    await feed_live_states(pilot)
    await pilot.press("j", "j", "j")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_starting_server(snap_compare):
    assert snap_compare(offline_app(), terminal_size=SIZE, run_before=starting_state)


def test_forwarded_server(snap_compare, laptop_terminal):
    assert snap_compare(offline_app(), terminal_size=SIZE, run_before=forwarded_state)


def test_failed_host(snap_compare):
    assert snap_compare(offline_app(), terminal_size=SIZE, run_before=failed_host_selected)


def test_passphrase_prompt(snap_compare):
    from jtui.ui.prompt_screen import PromptScreen

    async def ask(pilot) -> None:
        pilot.app.push_screen(PromptScreen("gpu-box: login", "Passphrase for /home/alice/.ssh/id_ed25519", False))
        await pilot.pause()
        await pilot.press("s", "e", "c")

    assert snap_compare(offline_app(), terminal_size=SIZE, run_before=ask)


def test_unknown_host_key(snap_compare):
    from jtui.core.hostkeys import UNKNOWN, HostKeyProblem
    from jtui.ui.confirm_screen import ConfirmScreen

    problem = HostKeyProblem(UNKNOWN, "gpu-box.lab.example", None, "ED25519",
                             "SHA256:n4Qb1mXc3V9oTqz0gYx8c2Kp3Wm5tJ7rLhF6dE1aBcY", "ssh-ed25519 AAAA")

    async def show(pilot) -> None:
        pilot.app.push_screen(ConfirmScreen("gpu-box: unknown host key", problem.explain() + "\n\nTrust this key?", "Trust"))
        await pilot.pause()

    assert snap_compare(offline_app(), terminal_size=SIZE, run_before=show)
