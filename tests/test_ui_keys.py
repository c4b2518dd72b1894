"""Pilot tests of every Jupyter key against the real sshd and jupyter_server."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from jtui.app import build_app
from jtui.core.model import HostState
from jtui.ui.host_detail import COLUMNS
from tests.harness.http import api_status
from tests.harness.jupyter import start_jupyter
from tests.harness.require import need_program
from tests.harness.sockets import listeners
from tests.harness.tmux import Tmux
from tests.ui_helpers import answered, burst, connected, messages, record, titles, until, write_config_toml

pytestmark = pytest.mark.integration


def write_settings(isolated_dirs, jupyter: str = "jupyter server") -> None:
    write_config_toml(isolated_dirs, f'refresh = 0.3\n[defaults]\njupyter = "{jupyter}"\nroot_dir = "~/work"\n')


def servers(app):
    return record(app, "testhost").servers


def forward_ports(app):
    return record(app, "testhost").forward_ports


@pytest.fixture
def remote(fresh_sshd, isolated_dirs):
    write_settings(isolated_dirs)
    (fresh_sshd.home / "work").mkdir()
    return fresh_sshd


async def test_s_starts_f_forwards_c_copies_x_stops(remote):
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(app)
        await burst(pilot, "s", "s")  # a key repeat, or a double press: one server
        await until(lambda: "starting Jupyter" in record(app, "testhost").activity, what="start progress")
        assert "Already starting a server on testhost." in messages(app)
        await until(lambda: servers(app), what="the started server in the table")
        server = servers(app)[0]
        assert server.root_dir == str(remote.home / "work")
        await until(lambda: "press c to copy" in messages(app), what="started notification")

        await pilot.press("f")
        await until(lambda: forward_ports(app), what="a forward")
        local = forward_ports(app)[server.port]
        assert {e.address for e in listeners(local)} == {"127.0.0.1"}
        assert "so jtui uses" in messages(app)  # the remote port is taken here (same machine)
        await pilot.press("f")
        await until(lambda: not forward_ports(app), what="the forward unbound")
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
        await until(lambda: not servers(app), what="the server gone from the table")  # at once, as it stops
        await until(lambda: "Stopped the server on port" in messages(app), what="the stop done")
        assert not forward_ports(app)
        assert not os.path.exists(server.runtime_file) if server.runtime_file.startswith("/") else True


async def copy_running(app, pilot) -> str:
    """Connected, the running server listed, `c` pressed: the URL it copied."""
    await connected(app)
    await until(lambda: servers(app), what="the running server")
    await pilot.press("c")
    await until(lambda: app.clipboard.startswith("http://localhost:"), what="the URL in the clipboard")
    return app.clipboard


@pytest.fixture
def jupyter(remote):
    server = start_jupyter(remote.runtime_dir, remote.home / "nb")
    yield server
    server.stop()


async def test_x_then_n_keeps_the_server(remote, jupyter):
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(app)
        await until(lambda: servers(app), what="the running server")
        await pilot.press("x")
        await until(lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("n")
        await until(lambda: app.screen is app.host_screen, what="the dialog gone")
        await app.workers.wait_for_complete()
        assert not record(app, "testhost").activity  # nothing was started to stop it
        assert jupyter.proc.poll() is None
        assert servers(app)


async def test_s_next_to_a_running_server_says_so(remote, jupyter):
    """s on a host that runs a server starts another, as asked; said, since a second press is
    often a mistake, and x stops the new one, under the cursor."""
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(app)
        await until(lambda: servers(app), what="the running server")
        await pilot.press("s")
        await until(lambda: f"Another server still runs there, on port {jupyter.port}" in messages(app),
                    what="the second server said")
        started = record(app, "testhost").selected_item
        assert started.port != jupyter.port
        await pilot.press("x")
        await until(lambda: app.screen.__class__.__name__ == "ConfirmScreen", what="the confirm dialog")
        await pilot.press("y")
        await until(lambda: "Stopped the server on port" in messages(app), what="the stop done")
        assert jupyter.proc.poll() is None


async def test_after_x_the_cursor_is_on_the_row_that_took_its_place(remote):
    """Stopping the middle one of three servers leaves the cursor on the next, and the keys act on
    it: not back on the first row, which may well be the long-running server."""
    jupyters = [start_jupyter(remote.runtime_dir, remote.home / f"nb{i}") for i in range(3)]
    try:
        app = build_app([str(remote.config_file)])
        async with app.run_test(size=(120, 36)) as pilot:
            await connected(app)
            await until(lambda: len(servers(app)) == 3, what="three servers")
            table = app.host_screen.detail.servers
            await pilot.press("tab", "j")
            _, middle, last = [int(row.value) for row in table.rows][:3]  # servers first, then services
            await until(lambda: record(app, "testhost").selected_port == middle, what="the cursor on the middle one")
            await pilot.press("x")
            await until(lambda: app.screen.__class__.__name__ == "ConfirmScreen", what="the confirm dialog")
            await pilot.press("y")
            await until(lambda: middle not in {s.port for s in servers(app)}, what="the middle server gone")
            await until(lambda: "Stopped the server on port" in messages(app), what="the stop done")
            await until(lambda: record(app, "testhost").selected_port == last, what="the next one selected")
            assert table.key_under_cursor == str(last)
    finally:
        for jupyter in jupyters:
            jupyter.stop()


async def test_o_without_a_display_copies_instead(remote, jupyter, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(app)
        await until(lambda: servers(app))
        await pilot.press("o")
        await until(lambda: app.clipboard.startswith("http://localhost:"), what="copied instead")
        assert "no local display" in messages(app)
        assert await asyncio.to_thread(api_status, app.clipboard) == 200


@pytest.fixture
def inside_tmux(monkeypatch):
    """jtui inside a real tmux that keeps an app's OSC 52 out of its buffer (tmux's default,
    set-clipboard external): only jtui's own `tmux load-buffer` reaches it."""
    need_program("tmux")
    tmux = Tmux(socket="jtui-test-buffer").start(["sleep", "600"], {})
    tmux.run("set-option", "-g", "set-clipboard", "external")
    monkeypatch.setenv("TMUX", f"{tmux.folder}/tmux-{os.getuid()}/{tmux.socket},1,0")
    yield tmux
    tmux.kill()


async def test_over_ssh_c_explains_localhost_and_l_copies_the_laptop_command(remote, jupyter, monkeypatch, inside_tmux):
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.10 51000 198.51.100.7 22")
    monkeypatch.setenv("USER", "alice")
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(app)
        await until(lambda: servers(app))
        await pilot.press("c")
        await until(lambda: app.clipboard.startswith("http://localhost:"))
        port = int(app.clipboard.split(":")[2].split("/")[0])
        assert "not your laptop" in messages(app)
        await until(lambda: inside_tmux.buffer() == app.clipboard, what="the URL in tmux's buffer")
        await pilot.press("l")
        command = f"ssh -N -L {port}:localhost:{port} alice@198.51.100.7"
        await until(lambda: app.clipboard == command, what="the laptop command copied")
        await until(lambda: inside_tmux.buffer() == command, what="the laptop command in tmux's buffer")
        assert command in messages(app)


async def test_a_moved_forward_is_explained_once(remote, jupyter, monkeypatch):
    """The server's own port is taken here (the remote is this machine), so the forward moves:
    said when `c` binds it, not again on every `c` that reuses it."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        url = await copy_running(app, pilot)
        assert messages(app).count("is in use on this machine") == 1
        await answered(app, pilot, "c", url)  # the same URL again, its toast renewed
        await answered(app, pilot, "o", url)
        assert messages(app).count("is in use on this machine") == 1


async def test_server_without_token_copies_a_plain_url_and_says_so(remote):
    jupyter = start_jupyter(remote.runtime_dir, remote.home / "pw", token="")
    try:
        app = build_app([str(remote.config_file)])
        async with app.run_test(size=(120, 36)) as pilot:
            await connected(app)
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
        await connected(app)
        await pilot.press("s")
        await until(lambda: "did not start" in titles(app), timeout=90)
        text = messages(app)
        assert "no-such-jupyter" in text and "config.toml" in text
        assert record(app, "testhost").status.state == HostState.CONNECTED  # nothing else broke


async def test_keys_on_a_host_that_is_not_connected_explain(tmp_path, isolated_dirs):
    config = tmp_path / "dead.conf"
    config.write_text("Host dead\n  HostName 127.0.0.1\n  Port 1\n")
    app = build_app([str(config)])
    async with app.run_test() as pilot:
        await until(lambda: record(app, "dead").status.state == HostState.FAILED)
        for key in ("s", "f", "c", "o", "x"):
            await pilot.press(key)
        assert "dead cannot be reached. Connection refused: nothing listens on that port (check Port, and that sshd runs). Press r" in messages(app)
        assert "Press r to try again." in messages(app)


async def test_autoconnect_false_waits_for_enter(fresh_sshd, isolated_dirs, tmp_path):
    write_config_toml(isolated_dirs, "refresh = 0.3\n[hosts.lazy]\nautoconnect = false\n")
    config = tmp_path / "two.conf"
    config.write_text(fresh_sshd.client_config("testhost") + fresh_sshd.client_config("lazy"))
    app = build_app([str(config)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(app)
        assert "lazy" not in app.fleet.sessions  # never touched
        assert record(app, "lazy").status.state == HostState.NOT_CONNECTED
        await pilot.press("j")
        assert app.host_screen.selected == "lazy"
        await pilot.press("enter")
        await until(lambda: record(app, "lazy").status.state == HostState.CONNECTED, what="lazy connected")


async def test_c_right_after_the_start_notice_copies_a_working_url(remote):
    """The started server is a row, under the cursor, the moment the notice says `press c`."""
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        await connected(app)
        await pilot.press("s")
        await until(lambda: "press c to copy" in messages(app), what="the started notice")
        await pilot.press("c")  # at once: no sample since the start
        await until(lambda: app.clipboard.startswith("http://localhost:"), what="the URL in the clipboard")
        assert "No Jupyter server" not in messages(app)
        started = [s for s in servers(app) if app.clipboard.endswith(s.token)]
        assert started and record(app, "testhost").selected_port == started[0].port
        assert await asyncio.to_thread(api_status, app.clipboard) == 200


async def test_f_twice_then_c_keeps_the_local_port_of_the_first_forward(remote, jupyter):
    """Unbinding and binding again must not break a URL the user already pasted."""
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        first_url = await copy_running(app, pilot)
        local = forward_ports(app)[jupyter.port]
        await pilot.press("f")  # unbind
        await until(lambda: not forward_ports(app), what="the forward unbound")
        await pilot.press("f")  # bind again
        await until(lambda: forward_ports(app), what="the forward again")
        assert forward_ports(app)[jupyter.port] == local
        assert await asyncio.to_thread(api_status, first_url) == 200


async def test_a_forward_whose_server_stopped_elsewhere_stays_a_row_until_f_closes_it(remote, jupyter):
    """JupyterLab's File > Shut Down: the port stays held (a restart there answers at the same URL),
    shown as a row of its own instead of held out of sight, and f closes it."""
    app = build_app([str(remote.config_file)])
    async with app.run_test(size=(120, 36)) as pilot:
        url = await copy_running(app, pilot)
        local = forward_ports(app)[jupyter.port]

        jupyter.stop()
        await until(lambda: record(app, "testhost").gone_forwards, what="the forward of a gone server")
        assert not servers(app)
        table = app.host_screen.detail.servers
        key = str(jupyter.port)
        await until(lambda: key in [row.value for row in table.rows], what="its row")
        cells = dict(zip(COLUMNS, (str(cell) for cell in table.get_row(key))))
        assert cells["what"] == "Jupyter" and cells["where"] == "gone: f closes the forward"
        assert cells["local"] == f":{local} ↔"
        assert listeners(local)
        table.focus()
        table.move_cursor(row=table.get_row_index(key))
        await until(lambda: record(app, "testhost").selected_gone is not None, what="the cursor on it")

        await pilot.press("c")  # nothing to copy there: jtui says so, and what f does
        await until(lambda: f"Nothing listens on testhost:{jupyter.port} any more" in messages(app),
                    what="the answer to c")
        assert f"localhost:{local} stays" in messages(app)

        again = start_jupyter(remote.runtime_dir, remote.home / "nb", port=jupyter.port)
        try:  # started again on that port: the URL handed out answers, no key pressed
            await until(lambda: servers(app), what="the server back in the table")
            assert not record(app, "testhost").gone_forwards and forward_ports(app) == {jupyter.port: local}
            assert await asyncio.to_thread(api_status, url) == 200
        finally:
            again.stop()

        await until(lambda: record(app, "testhost").gone_forwards, what="gone again")
        await pilot.press("f")
        await until(lambda: not forward_ports(app), what="the forward closed")
        assert not listeners(local)
        assert f"Forward of remote port {jupyter.port} closed." in messages(app)
        await until(lambda: key not in [row.value for row in table.rows], what="its row gone")


async def test_after_x_then_s_c_copies_the_new_server_not_a_service(remote):
    """The path of a dogfood report (not reproduced here): the only server stopped, the cursor goes
    to the row that took its place, another program's port; s starts a server, tab goes round the
    tables; c from the host list must copy the new server, not forward that port."""
    from tests.test_services import silent_listener

    async def start_one(pilot) -> None:
        await pilot.press("s")
        await until(lambda: servers(app) and not record(app, "testhost").activity, what="a server started")

    listener, port = silent_listener()
    try:
        app = build_app([str(remote.config_file)])
        async with app.run_test(size=(120, 36)) as pilot:
            await connected(app)
            await until(lambda: any(s.port == port for s in record(app, "testhost").services), what="the listener")
            await start_one(pilot)
            await pilot.press("x")
            await until(lambda: app.screen.__class__.__name__ == "ConfirmScreen", what="the confirm dialog")
            await pilot.press("y")
            await until(lambda: "Stopped the server on port" in messages(app), what="the stop done")
            assert record(app, "testhost").selected_service is not None  # the row that took its place
            await start_one(pilot)
            for _ in range(4):  # round the tables and back to the host list, as the user did
                await pilot.press("tab")
                if app.host_screen.host_list.table.has_focus:
                    break
            assert app.host_screen.host_list.table.has_focus
            server = servers(app)[0]
            await pilot.press("c")
            await until(lambda: app.clipboard.startswith("http://localhost:"), what="the URL in the clipboard")
            assert app.clipboard.endswith(f"?token={server.token}"), app.clipboard
    finally:
        os.killpg(listener.pid, signal.SIGTERM)
        listener.wait()

