"""Everything else the user runs: real services found, named, forwarded, and their exposure called out.

On the test sshd's "remote" side (this machine): `python -m http.server`
on 0.0.0.0, real TensorBoard, a Jupyter server started as the widespread
guide says (ip='*', a password, no token), one with no auth at all on every
interface, a port that does not speak HTTP, and a real JupyterHub (dummy
authenticator, simple local spawner, configurable-http-proxy).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jtui.core.model import HostState
from jtui.core.session import HostSession
from jtui.core.settings import Settings
from tests.harness.http import get
from tests.harness.jupyter import start_jupyter
from tests.harness.services import HUB_TOKEN, HUB_USER, http_server, jupyterhub, tensorboard
from tests.harness.sshd import free_port
from tests.test_sessions import Recorder

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
# jupyter_server's own hash of the password "guide" (argon2 takes a second: made once, here)
GUIDE_CONFIG = """
from jupyter_server.auth import passwd
c = get_config()
c.ServerApp.ip = '*'
c.PasswordIdentityProvider.hashed_password = passwd('guide')
c.IdentityProvider.token = ''
"""


def silent_listener() -> tuple[subprocess.Popen, int]:
    """A process that listens and never says a word: not HTTP."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\n"
         "s.listen()\nprint(s.getsockname()[1])\ntime.sleep(600)\n", "jtui-test-silent"],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    return proc, int(proc.stdout.readline())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from tests.harness.sshd import SshServer

    root = tmp_path_factory.mktemp("services")
    sshd = SshServer(root / "sshd").start()
    started = []
    try:
        shared = http_server(root / "shared")
        started.append(shared)
        board = tensorboard(root / "tb" / "logs")
        started.append(board)
        (root / "guide").mkdir()
        (root / "guide" / "jupyter_server_config.py").write_text(GUIDE_CONFIG)
        guide = start_jupyter(sshd.runtime_dir, root / "guide-work", token=None, ip=None,
                              env={"JUPYTER_CONFIG_DIR": str(root / "guide")})
        started.append(guide)
        wide_open = start_jupyter(sshd.runtime_dir, root / "open-work", token="", ip="0.0.0.0")
        started.append(wide_open)
        silent, silent_port = silent_listener()
        yield {"sshd": sshd, "http": shared, "tensorboard": board, "guide": guide, "open": wide_open,
               "silent": (silent, silent_port)}
    finally:
        for service in started:
            service.stop()
        if "silent" in locals():
            silent.kill()
            silent.wait()
        sshd.stop()


async def sampled(sshd, predicate, timeout: float = 60, settings: Settings | None = None):
    rec = Recorder()
    session = HostSession("testhost", [str(sshd.config_file)], (settings or Settings()).for_host("testhost"), 0.5, rec)
    session.start()
    await rec.wait(lambda: rec.samples and predicate(rec.samples[-1]), timeout)
    return session, rec


def process_start(pid: int) -> float:
    """When pid started, in epoch seconds, the way ps works it out: boot time plus its start in clock ticks."""
    btime = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
    ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    return btime + ticks / os.sysconf("SC_CLK_TCK")


async def test_services_are_listed_named_and_marked(lab):
    silent_port = lab["silent"][1]
    session, rec = await sampled(lab["sshd"], lambda s: {lab["http"].port, lab["tensorboard"].port} <= {v.port for v in s.services}
                                 and any(v.port == silent_port and v.kind for v in s.services))
    try:
        sample = rec.samples[-1]
        services = {v.port: v for v in sample.services}
        shared = services[lab["http"].port]
        assert (shared.kind, shared.address, shared.pid, shared.exposed) == ("HTTP", "0.0.0.0", lab["http"].pid, True)
        assert "http.server" in shared.command
        board = services[lab["tensorboard"].port]
        assert (board.kind, board.pid, board.exposed) == ("TensorBoard", lab["tensorboard"].pid, False)
        assert abs(board.started - process_start(board.pid)) <= 2  # how long it has run: the "up" column
        # Its gRPC data server (a child whose command line says tensorboard too) is not a row.
        assert not any("tensorboard_data_server" in v.command for v in sample.services)
        assert services[silent_port].kind == "TCP"
        assert not any(v.command.startswith("sshd") for v in sample.services)
        servers = {s.port: s for s in sample.servers}
        assert lab["guide"].port not in services and lab["open"].port not in services  # they are servers
        guide, wide_open = servers[lab["guide"].port], servers[lab["open"].port]
        assert (guide.exposed, guide.auth) == (True, "password") and guide.address in ("0.0.0.0", "::")
        assert (wide_open.exposed, wide_open.auth, wide_open.address) == (True, "none", "0.0.0.0")
        # Forwarded like a Jupyter server: 127.0.0.1 only, and the page answers through it.
        forward = await session.forward(board)
        assert await asyncio.to_thread(get, f"http://127.0.0.1:{forward.local_port}/") == 200
    finally:
        await session.close()


async def test_the_screen_lists_services_and_c_copies_a_url_that_answers(lab, isolated_dirs):
    from jtui.app import build_app
    from jtui.ui.host_detail import COLUMNS
    from tests.ui_helpers import answered, connected, messages, record, until, write_config_toml

    write_config_toml(isolated_dirs, "refresh = 0.5\n")
    app = build_app([str(lab["sshd"].config_file)])
    async with app.run_test(size=(130, 45)) as pilot:
        await connected(app)
        await until(lambda: lab["tensorboard"].port in {s.port for s in record(app, "testhost").services},
                    what="TensorBoard listed")
        detail = app.host_screen.detail
        table = detail.servers
        keys = [row.value for row in table.rows]
        assert str(lab["tensorboard"].port) in keys and str(lab["http"].port) in keys
        cells = dict(zip(COLUMNS, (str(cell) for cell in table.get_row(str(lab["tensorboard"].port)))))
        assert re.fullmatch(r"\d+[smhd]", cells["up"]), cells
        assert len(cells["where"]) > 40 and cells["where"].startswith("tensorboard --logdir"), cells  # a wide pane's room
        assert "Jupyter servers and services" in str(detail.query_one("#servers-title").render())
        # The wide-open server is shouted about once, whichever row is selected.
        await until(lambda: "neither token nor password" in messages(app), what="the loud warning")
        assert "neither token nor password" in str(detail.query_one("#exposure").render())

        table.focus()
        # Rows are looked up when moved to: the forward `c` makes is a new socket of this process,
        # listed (a row sorted by port) at the next socket read.
        table.move_cursor(row=table.get_row_index(str(lab["tensorboard"].port)))
        await until(lambda: record(app, "testhost").selected_port == lab["tensorboard"].port, what="cursor")
        await pilot.press("c")
        await until(lambda: app.clipboard.startswith("http://localhost:"), what="copied URL")
        assert await asyncio.to_thread(get, app.clipboard.replace("localhost", "127.0.0.1")) == 200

        table.move_cursor(row=table.get_row_index(str(lab["http"].port)))
        await until(lambda: record(app, "testhost").selected_port == lab["http"].port, what="cursor")
        await pilot.pause()
        line = str(detail.query_one("#exposure").render())
        assert f"Port {lab['http'].port} listens on all interfaces" in line and "--bind 127.0.0.1" in line
        await pilot.press("f")
        await until(lambda: lab["http"].port in record(app, "testhost").forward_ports, what="forwarded")
        local = record(app, "testhost").forward_ports[lab["http"].port]
        assert await asyncio.to_thread(get, f"http://127.0.0.1:{local}/") == 200
        await pilot.press("x")  # not a Jupyter server: jtui says so and stops nothing
        await until(lambda: "is not a Jupyter server: jtui cannot stop it" in messages(app), what="the answer to x")
        assert lab["http"].proc.poll() is None
        for key in "iRD":  # kernel keys: it has none, and stop is not what they ask for
            await answered(app, pilot, key, "jtui sees no kernels there")
        assert messages(app).count("jtui cannot stop it") == 1
        assert app.screen is app.host_screen  # nothing asked to confirm


def test_jtui_status_json_has_services_and_exposure(lab):
    out = subprocess.run([sys.executable, "-m", "jtui", "status", "testhost", "--json", "--config",
                          str(lab["sshd"].config_file)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    services = {v["port"]: v for v in data["services"]}
    board = services[lab["tensorboard"].port]
    assert board["kind"] == "TensorBoard" and board["url"] == f"http://localhost:{lab['tensorboard'].port}/"
    assert board["exposed"] is False and board["pid"] == lab["tensorboard"].pid
    assert abs(board["started"] - process_start(board["pid"])) <= 2
    assert services[lab["http"].port]["exposed"] is True and services[lab["silent"][1]]["kind"] == "TCP"
    assert services[lab["silent"][1]]["url"] is None
    servers = {s["port"]: s for s in data["servers"]}
    assert servers[lab["guide"].port]["auth"] == "password" and servers[lab["guide"].port]["exposed"] is True
    assert servers[lab["open"].port]["auth"] == "none"
    assert lab["guide"].token not in out.stdout or not lab["guide"].token


def test_jtui_open_service_forwards_it_and_prints_its_url(lab):
    proc = subprocess.Popen([sys.executable, "-m", "jtui", "open", "testhost", "--service", "tensorboard",
                             "--no-browser", "--config", str(lab["sshd"].config_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://localhost:"), proc.stderr.read() if proc.poll() is not None else url
        assert get(url.replace("localhost", "127.0.0.1")) == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "forwarding TensorBoard on port" in err
    missing = subprocess.run([sys.executable, "-m", "jtui", "open", "testhost", "--service", "mlflow", "--no-browser",
                              "--config", str(lab["sshd"].config_file)], capture_output=True, text=True, timeout=120,
                             cwd=REPO)
    assert missing.returncode == 1 and "no service 'mlflow'" in missing.stderr and "TensorBoard on port" in missing.stderr


# -- JupyterHub ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_box(tmp_path_factory):
    from tests.harness.sshd import SshServer

    root = tmp_path_factory.mktemp("hub")
    sshd = SshServer(root / "sshd").start()
    hub = None
    try:
        hub = jupyterhub(root / "hub")
        yield sshd, hub
    finally:
        if hub is not None:
            hub.stop()
        sshd.stop()


async def test_a_hub_is_listed_and_c_copies_its_login_url_without_a_token(hub_box, isolated_dirs):
    from jtui.app import build_app
    from tests.ui_helpers import connected, record, until

    sshd, hub = hub_box
    app = build_app([str(sshd.config_file)])
    async with app.run_test(size=(130, 45)) as pilot:
        await connected(app)
        await until(lambda: hub.port in {s.port for s in record(app, "testhost").services}, what="the hub listed")
        rec = record(app, "testhost")
        listed = {s.port: s for s in rec.services}
        assert listed[hub.port].kind == "JupyterHub" and hub.api_port not in listed  # the hub's own port is internal
        table = app.host_screen.detail.servers
        keys = [row.value for row in table.rows]
        table.focus()
        table.move_cursor(row=keys.index(str(hub.port)))
        await until(lambda: record(app, "testhost").hub is not None, what="the hub's state")
        assert "token_file or token_env" in record(app, "testhost").hub.note
        box = app.host_screen.detail.query_one("#hub")
        await until(lambda: "token_file or token_env" in str(box.render()), what="how to set a token, on screen")
        await pilot.press("c")
        await until(lambda: app.clipboard.endswith("/hub/"), what="the hub's URL")
        assert await asyncio.to_thread(get, app.clipboard.replace("localhost", "127.0.0.1")) == 200


def app_with_hub_token(sshd, isolated_dirs, monkeypatch, user: str = HUB_USER):
    """jtui on the test host, with a hub token for it (from the environment) and the hub's user."""
    from jtui.app import build_app
    from tests.ui_helpers import write_config_toml

    monkeypatch.setenv("JTUI_TEST_HUB_TOKEN", HUB_TOKEN)
    write_config_toml(isolated_dirs,
                      f'refresh = 0.5\n[hosts.testhost.jupyterhub]\ntoken_env = "JTUI_TEST_HUB_TOKEN"\nuser = "{user}"\n')
    return build_app([str(sshd.config_file)])


async def test_a_user_the_hub_does_not_know_is_named_with_where_to_set_it(hub_box, isolated_dirs, monkeypatch):
    from tests.ui_helpers import connected, record, until

    sshd, hub = hub_box
    app = app_with_hub_token(sshd, isolated_dirs, monkeypatch, user="nobody-here")
    async with app.run_test(size=(130, 45)):
        await connected(app)
        await until(lambda: hub.port in {s.port for s in record(app, "testhost").services}, what="the hub listed")
        table = app.host_screen.detail.servers
        table.focus()
        table.move_cursor(row=[row.value for row in table.rows].index(str(hub.port)))
        await until(lambda: record(app, "testhost").hub is not None and record(app, "testhost").hub.note, what="the note")
        assert ("the hub knows no nobody-here user (set user in [hosts.testhost.jupyterhub] of config.toml)"
                in record(app, "testhost").hub.note)


async def test_with_a_token_jtui_starts_and_stops_the_users_server_on_the_hub(hub_box, isolated_dirs, monkeypatch):
    from tests.ui_helpers import connected, messages, record, until

    sshd, hub = hub_box
    app = app_with_hub_token(sshd, isolated_dirs, monkeypatch)
    async with app.run_test(size=(130, 45)) as pilot:
        await connected(app)
        await until(lambda: hub.port in {s.port for s in record(app, "testhost").services}, what="the hub listed")
        table = app.host_screen.detail.servers
        keys = [row.value for row in table.rows]
        table.focus()
        table.move_cursor(row=keys.index(str(hub.port)))
        await until(lambda: (h := record(app, "testhost").hub) is not None and h.port == hub.port
                    and h.user == HUB_USER and not h.note, what="the hub's servers")  # this hub's, of any on the machine
        assert record(app, "testhost").hub.default is None
        box = app.host_screen.detail.query_one("#hub")
        await until(lambda: "s starts one · c copies the hub's login URL" in str(box.render()), what="what s does")
        empty = app.host_screen.detail.query_one("#servers-empty")  # above it: not "press s to start one" as well
        assert not empty.display or "start" not in str(empty.render())
        await pilot.press("s")
        await until(lambda: "on the hub" in record(app, "testhost").activity, what="progress", timeout=10)
        await until(lambda: f"/user/{HUB_USER}/ started" in messages(app), what="started on the hub", timeout=120)
        assert record(app, "testhost").hub.default.ready
        await until(lambda: "c copies its URL (log in there) · x stops it" in str(box.render()), what="what c and x do")
        await pilot.press("c")
        await until(lambda: app.clipboard.endswith(f"/user/{HUB_USER}/"), what="the server's URL")
        api = app.clipboard.replace("localhost", "127.0.0.1") + "api/status"
        assert await asyncio.to_thread(get, api, HUB_TOKEN) == 200
        await pilot.press("x")
        await until(lambda: type(app.screen).__name__ == "ConfirmScreen", what="the question")
        await pilot.press("y")
        await until(lambda: f"/user/{HUB_USER}/ stopped" in messages(app), what="stopped", timeout=90)
        assert record(app, "testhost").hub.default is None
        assert record(app, "testhost").status.state == HostState.CONNECTED


async def test_of_two_hubs_on_a_host_the_panel_shows_the_one_under_the_cursor(hub_box, isolated_dirs, monkeypatch,
                                                                              tmp_path):
    from tests.ui_helpers import connected, record, until

    sshd, hub = hub_box
    other = jupyterhub(tmp_path / "other-hub")
    try:
        app = app_with_hub_token(sshd, isolated_dirs, monkeypatch)
        async with app.run_test(size=(130, 45)) as pilot:
            await connected(app)
            ports = {hub.port, other.port}
            await until(lambda: ports <= {s.port for s in record(app, "testhost").services}, what="both hubs listed")
            table = app.host_screen.detail.servers
            table.focus()
            box = app.host_screen.detail.query_one("#hub")
            for port in sorted(ports, reverse=True):  # the second one first: by port, it is not the default
                table.move_cursor(row=[row.value for row in table.rows].index(str(port)))
                await until(lambda: (h := record(app, "testhost").hub) is not None and h.port == port and not h.note,
                            what=f"the hub on port {port} asked")
                await until(lambda: f"JupyterHub, user {HUB_USER}:" in str(box.render()), what="its servers shown")
            await pilot.pause()
    finally:
        other.stop()


async def test_a_listener_gone_before_it_is_asked_is_plain_tcp_not_a_crash(lab):
    """The socket table is read every few seconds: a port may be closed by the time jtui asks it."""
    from jtui.core.http import lets_in, protocol_of

    session, _ = await sampled(lab["sshd"], lambda s: True)
    try:
        closed = free_port()
        assert await protocol_of(session.conn, "127.0.0.1", closed) == "TCP"  # sshd refuses the channel
        assert await lets_in(session.conn, "127.0.0.1", closed, "/api/status") is None
    finally:
        await session.close()
