"""Pilot tests of every Jupyter key against the real sshd and jupyter_server."""

from __future__ import annotations

import asyncio
import os
import urllib.request

import pytest

from jtui.app import build_app
from jtui.core.model import HostState
from tests.harness.jupyter import start_jupyter
from tests.harness.sockets import listeners

pytestmark = pytest.mark.integration


def write_settings(isolated_dirs, jupyter: str = "jupyter server") -> None:
    folder = isolated_dirs / "config" / "jtui"
    folder.mkdir(exist_ok=True)
    (folder / "config.toml").write_text(f'refresh = 0.3\n[defaults]\njupyter = "{jupyter}"\nroot_dir = "~/work"\n')


async def until(predicate, timeout: float = 60, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def messages(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


def api_status(url: str) -> int:
    port = int(url.split(":")[2].split("/")[0])
    token = url.split("token=")[1] if "token=" in url else ""
    headers = {"Authorization": f"token {token}"} if token else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/status", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status


async def connected(pilot) -> None:
    app = pilot.app
    await until(lambda: app.statuses.get("testhost") and app.statuses["testhost"].state == HostState.CONNECTED, what="connected")
    await until(lambda: "testhost" in app.samples, what="a sample")


def servers(app):
    sample = app.samples.get("testhost")
    return sample.servers if sample else ()


@pytest.fixture
def remote(fresh_sshd, isolated_dirs):
    write_settings(isolated_dirs)
    (fresh_sshd.home / "work").mkdir()
    return fresh_sshd


async def test_s_starts_f_forwards_c_copies_x_stops(remote):
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot)
        await pilot.press("s")
        await until(lambda: "starting Jupyter" in app.notes.get("testhost", ""), what="start progress")
        await until(lambda: servers(app), what="the started server in the table")
        server = servers(app)[0]
        assert server.root_dir == str(remote.home / "work")
        await until(lambda: "press c to copy" in messages(app), what="started notification")

        await pilot.press("f")
        await until(lambda: app.forward_ports("testhost"), what="a forward")
        local = app.forward_ports("testhost")[server.port]
        assert {e.address for e in listeners(local)} == {"127.0.0.1"}
        assert "so jtui uses" in messages(app)  # the remote port is taken here (same machine)
        await pilot.press("f")
        await until(lambda: not app.forward_ports("testhost"), what="the forward unbound")
        assert not listeners(local)

        await pilot.press("c")
        await until(lambda: app.clipboard.startswith("http://localhost:"), what="the URL in the clipboard")
        url = app.clipboard
        assert url.endswith(f"?token={server.token}")
        assert url in messages(app)  # always shown too
        assert await asyncio.to_thread(api_status, url) == 200

        await pilot.press("x")
        await until(lambda: app.screen.__class__.__name__ == "ConfirmScreen", what="the confirm dialog")
        await pilot.press("y")
        await until(lambda: not servers(app), what="the server gone")
        assert not app.forward_ports("testhost")
        assert not os.path.exists(server.runtime_file) if server.runtime_file.startswith("/") else True


@pytest.fixture
def jupyter(remote):
    server = start_jupyter(remote.runtime_dir, remote.home / "nb")
    yield server
    server.stop()


async def test_x_then_n_keeps_the_server(remote, jupyter):
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot)
        await until(lambda: servers(app), what="the running server")
        await pilot.press("x")
        await until(lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("n")
        await pilot.pause(1)
        assert jupyter.proc.poll() is None
        assert servers(app)


async def test_o_without_a_display_copies_instead(remote, jupyter, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot)
        await until(lambda: servers(app))
        await pilot.press("o")
        await until(lambda: app.clipboard.startswith("http://localhost:"), what="copied instead")
        assert "no local display" in messages(app)
        assert await asyncio.to_thread(api_status, app.clipboard) == 200


async def test_over_ssh_c_explains_localhost_and_l_copies_the_laptop_command(remote, jupyter, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.10 51000 198.51.100.7 22")
    monkeypatch.setenv("USER", "alice")
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot)
        await until(lambda: servers(app))
        await pilot.press("c")
        await until(lambda: app.clipboard.startswith("http://localhost:"))
        port = int(app.clipboard.split(":")[2].split("/")[0])
        assert "not your laptop" in messages(app)
        await pilot.press("l")
        assert app.clipboard == f"ssh -N -L {port}:localhost:{port} alice@198.51.100.7"


async def test_server_without_token_copies_a_plain_url_and_says_so(remote):
    jupyter = start_jupyter(remote.runtime_dir, remote.home / "pw", token="")
    try:
        app = build_app([str(remote.config_file)])
        async with app.run_test(size=(120, 36)) as pilot:
            await connected(pilot)
            await until(lambda: servers(app))
            await pilot.press("c")
            await until(lambda: app.clipboard.startswith("http://localhost:"))
            assert "token=" not in app.clipboard
            assert "password" in messages(app)
    finally:
        jupyter.stop()


async def test_missing_jupyter_says_what_and_how_to_fix(fresh_sshd, isolated_dirs):
    write_settings(isolated_dirs, jupyter="no-such-jupyter lab")
    (fresh_sshd.home / "work").mkdir()
    app = build_app([str(fresh_sshd.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot)
        await pilot.press("s")
        await until(lambda: "did not start" in "\n".join(str(n.title) for n in app._notifications), timeout=90)
        text = messages(app)
        assert "no-such-jupyter" in text and "config.toml" in text
        assert app.statuses["testhost"].state == HostState.CONNECTED  # nothing else broke


async def test_keys_on_a_host_that_is_not_connected_explain(tmp_path, isolated_dirs):
    config = tmp_path / "dead.conf"
    config.write_text("Host dead\n  HostName 127.0.0.1\n  Port 1\n")
    app = build_app([str(config)])
    async with app.run_test() as pilot:
        await until(lambda: app.statuses.get("dead") and app.statuses["dead"].state == HostState.FAILED)
        for key in ("s", "f", "c", "o", "x"):
            await pilot.press(key)
        assert "connection refused" in messages(app)
        assert "press r to reconnect" in messages(app)


async def test_autoconnect_false_waits_for_enter(fresh_sshd, isolated_dirs, tmp_path):
    folder = isolated_dirs / "config" / "jtui"
    folder.mkdir(exist_ok=True)
    (folder / "config.toml").write_text("refresh = 0.3\n[hosts.lazy]\nautoconnect = false\n")
    config = tmp_path / "two.conf"
    config.write_text(fresh_sshd.client_config("testhost") + fresh_sshd.client_config("lazy"))
    app = build_app([str(config)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(pilot)
        assert "lazy" not in app.statuses  # never touched
        await pilot.press("j")
        assert app.selected == "lazy"
        await pilot.press("enter")
        await until(lambda: app.statuses.get("lazy") and app.statuses["lazy"].state == HostState.CONNECTED, what="lazy connected")
