"""`jtui --demo`: the embedded SSH server serves this machine as host `demo`."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import sysconfig
import uuid
from pathlib import Path

import pytest

from jtui.app import build_app
from jtui.core.local_ssh import session_environment
from jtui.core.model import HostState
from tests.harness.jupyter import start_jupyter
from tests.harness.require import need_program
from tests.harness.sockets import listeners_of
from tests.harness.sshd import alive, pids_with_marker
from tests.harness.tmux import Tmux
from tests.harness.waiting import wait_until
from tests.harness.http import api_status
from tests.ui_helpers import messages, record, until

pytestmark = pytest.mark.integration


async def test_demo_connects_samples_and_forwards(tmp_path, monkeypatch):
    runtime = tmp_path / "runtime"
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    jupyter = start_jupyter(runtime, tmp_path / "nb")
    try:
        app = build_app(demo=True)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: record(app, "demo").status.state == HostState.CONNECTED, what="demo connected")
            assert app.demo_server is not None
            assert app.host_screen.selected == "demo"
            await until(lambda: record(app, "demo").servers, what="the local server listed")
            await pilot.press("c")
            await until(lambda: app.clipboard.startswith("http://localhost:"), what="copied URL")
            assert await asyncio.to_thread(api_status, app.clipboard) == 200
    finally:
        jupyter.stop()


async def test_every_key_works_on_the_demo_host(home, tmp_path, monkeypatch):
    """s, f, c, o, x on `demo` as on any remote: JupyterLab started here, forwarded, stopped."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.delenv("DISPLAY", raising=False)  # `o` then copies, as over SSH
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = build_app(demo=True)
    started = None
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: record(app, "demo").status.state == HostState.CONNECTED,
                        what="demo connected")
            await pilot.press("s")
            await until(lambda: record(app, "demo").servers, timeout=120,
                        what="JupyterLab started and listed")
            started = record(app, "demo").servers[0]
            # The probe may list the server before the start has checked it answers: its notice comes then.
            await until(lambda: "Jupyter on this machine's port" in messages(app), what="the start's notice")
            await pilot.press("f")
            await until(lambda: record(app, "demo").forward_ports, what="forwarded")
            # The server holds its own port number on this machine: said plainly, not as a clash.
            assert "here is the server itself (demo is this machine)" in messages(app)
            assert "is in use" not in messages(app)
            await pilot.press("f")
            await until(lambda: not record(app, "demo").forward_ports, what="unforwarded")
            await pilot.press("c")
            await until(lambda: app.clipboard.startswith("http://localhost:"), what="copied URL")
            assert await asyncio.to_thread(api_status, app.clipboard) == 200
            assert "is in use" not in messages(app)
            app.copy_to_clipboard("")
            await pilot.press("o")
            await until(lambda: app.clipboard.startswith("http://localhost:"), what="o copies without a display")
            await pilot.press("x")
            await until(lambda: type(app.screen).__name__ == "ConfirmScreen", what="the confirmation")
            await pilot.press("y")
            await until(lambda: not record(app, "demo").servers, what="the server gone from the table")  # at once
            await until(lambda: "Stopped the server on port" in messages(app), what="the stop done")
        assert not alive(started.pid)
    finally:
        if started is not None and alive(started.pid):
            os.kill(started.pid, signal.SIGTERM)


async def test_demo_comes_first_and_keeps_the_users_hosts(home, tmp_path):
    """The user's hosts are listed too; their `Host *` settings cannot touch the demo host."""
    (home / ".ssh" / "config").write_text(
        "Host mybox\n  HostName 127.0.0.1\n  Port 9\n\n"
        "Host *\n  ProxyJump 127.0.0.1:1\n  User nobody-at-all\n  Port 1\n"
    )
    app = build_app(demo=True)
    async with app.run_test(size=(120, 36)):
        await until(lambda: record(app, "demo").status.state == HostState.CONNECTED,
                    what="demo connected")
        assert app.host_screen.host_list.aliases == ["demo", "mybox"]
        assert app.host_screen.selected == "demo"
        await until(lambda: "Press s to start Jupyter there" in messages(app), what="the welcome")
        await until(lambda: record(app, "mybox").status.state == HostState.FAILED,
                    what="mybox fails through its (unreachable) ProxyJump")


async def test_demo_without_jupyter_says_how_to_install_it(home, isolated_dirs):
    settings = isolated_dirs / "config" / "jtui"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "config.toml").write_text('[hosts.demo]\njupyter = "no-such-jupyter lab"\n')
    app = build_app(demo=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: record(app, "demo").status.state == HostState.CONNECTED,
                    what="demo connected")
        await pilot.press("s")
        await until(lambda: "Jupyter is not installed" in messages(app), what="the start to fail")
        assert f"{sys.executable} -m pip install jupyterlab" in messages(app)


async def test_demo_leaves_nothing_behind(home):
    """Its keys, config and listener are gone once jtui exits."""
    app = build_app(demo=True)
    async with app.run_test(size=(120, 36)):
        await until(lambda: app.demo_server is not None, what="the demo server")
        folder = Path(app.demo_server.folder.name)
        port = app.demo_server.port
        assert (folder / "id_ed25519").stat().st_mode & 0o777 == 0o600
        assert ("demo host, this run", f"{folder / 'ssh_config'} (removed on exit)") in app.places()
        assert [entry.address for entry in listeners_of(port=port)] == ["127.0.0.1"]
    assert not folder.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_demo_session_environment_is_the_users_minus_the_terminal():
    env = session_environment({"HOME": "/h", "PATH": "/usr/bin:/bin", "TMUX": "/tmp/t,1,0", "TERM": "tmux", "LANG": "C.UTF-8"})
    assert "TMUX" not in env and "TERM" not in env
    assert env["HOME"] == "/h" and env["LANG"] == "C.UTF-8"
    assert env["PATH"].split(":")[:2] == ["/usr/bin", "/bin"]
    assert env["PATH"].split(":")[-1] == sysconfig.get_path("scripts")


@pytest.mark.parametrize("how", ["kill", "closed terminal"])
def test_signals_end_jtui_and_remove_the_demo_files(home, tmp_path, isolated_dirs, how):
    """`kill` (SIGTERM) or closing the terminal (SIGHUP): jtui exits, and --demo's private key goes with it.

    With the terminal gone, Textual cannot restore it: a jtui that waited for
    that would linger for ever, invisible, holding its forwards.
    """
    need_program("tmux")
    temp = tmp_path / "tmp"
    temp.mkdir()
    marker = uuid.uuid4().hex
    env = {k: os.environ[k] for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), TMPDIR=str(temp), PATH=os.environ["PATH"], TERM="xterm-256color", JTUI_TEST_MARK=marker)
    tmux = Tmux().start(["env", "-u", "TMUX", sys.executable, "-m", "jtui", "--demo"], env)
    pid = None
    try:
        tmux.wait_for(lambda screen: "Hosts" in screen, what="the first frame")
        wait_until(lambda: list(temp.glob("jtui-demo-*/ssh_config")), timeout=30, what="the demo's files")
        [folder] = list(temp.glob("jtui-demo-*"))
        [pid] = jtui_pids(marker)
        if how == "kill":
            os.kill(pid, signal.SIGTERM)
        else:
            tmux.run("respawn-pane", "-k", "-t", "main", "sleep 60")  # the terminal goes: SIGHUP
        wait_until(lambda: not alive(pid), timeout=30, what=f"jtui to exit after {how}")
        assert not folder.exists()
    finally:
        tmux.kill()
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGKILL)


def jtui_pids(marker: str) -> list[int]:
    """The jtui process among those the test marked (the demo's shells carry the mark too; so does a
    child jtui has just forked to run a demo command, which looks like jtui until it execs)."""
    pids = [pid for pid in pids_with_marker(marker)
            if b"jtui" in Path(f"/proc/{pid}/cmdline").read_bytes() and "python" in os.readlink(f"/proc/{pid}/exe")]
    return [pid for pid in pids if parent_of(pid) not in pids]


def parent_of(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone since it was listed
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])  # after the command name, which may hold spaces: state, ppid


async def test_the_welcome_says_what_runs_on_the_demo_host_already(tmp_path, monkeypatch):
    """Relaunched with a server still running: the welcome offers c, not s."""
    runtime = tmp_path / "runtime"
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    jupyter = start_jupyter(runtime, tmp_path / "nb")
    try:
        app = build_app(demo=True)
        async with app.run_test(size=(120, 36)):
            await until(lambda: "runs there already: press c to copy its URL" in messages(app), what="the welcome")
            assert "Press s to start" not in messages(app)
    finally:
        jupyter.stop()
