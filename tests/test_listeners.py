"""Every listener jtui opens is on 127.0.0.1, checked in the kernel's own socket table.

No trust in what the code says it bound: /proc/net/tcp and tcp6 list every
listening socket with its inode, and /proc/PID/fd says which ones a process
holds. For this test process (jtui's core runs in it) and for `jtui open`
(its own process), every LISTEN socket must be 127.0.0.1: no 0.0.0.0, no ::,
no ::1, no other address. The same holds for the Jupyter server jtui starts.
"""

from __future__ import annotations

import asyncio
import os
import random
import select
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from jtui.core.model import HostState
from jtui.core.session import HostSession
from jtui.core.settings import HostSettings
from jtui.core.urls import localhost_url
from tests.harness.http import api_status
from tests.harness.jupyter import start_jupyter
from tests.harness.sockets import can_listen, listeners, listeners_of
from tests.harness.sshd import descendants
from tests.test_sessions import Recorder

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent


def assert_loopback_only(pid: int | str = "self", must_include: set[int] = frozenset()) -> set[int]:
    """Every LISTEN socket `pid` holds is on 127.0.0.1; returns their ports."""
    held = listeners_of(pid)
    wrong = [(s.address, s.port) for s in held if s.address != "127.0.0.1"]
    assert not wrong, f"listening beyond 127.0.0.1: {wrong}"
    ports = {s.port for s in held}
    assert must_include <= ports, f"expected listeners on {sorted(must_include)}, found {sorted(ports)}"
    return ports


def quiet_port() -> int:
    """A port below the ephemeral range, free on 127.0.0.1 and ::1: nothing takes it by itself meanwhile."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if can_listen("127.0.0.1", port) and can_listen("::1", port):
            return port
    raise RuntimeError("no quiet port found")


def only_one_listener(port: int) -> None:
    """Nobody (not even another process) listens on `port` anywhere but our 127.0.0.1 socket."""
    found = {(s.address, s.port) for s in listeners(port)}
    assert found == {("127.0.0.1", port)}, found


@pytest.fixture
def jupyter(fresh_sshd):
    server = start_jupyter(fresh_sshd.runtime_dir, fresh_sshd.home / "nb")
    yield server
    server.stop()


def make_session(config, **settings) -> tuple[HostSession, Recorder]:
    rec = Recorder()
    host = HostSettings(**{"jupyter": "jupyter server", "root_dir": "~", "autoconnect": True, **settings})
    return HostSession("testhost", [str(config)], host, 0.3, rec), rec


async def test_forwards_listen_on_loopback_only(fresh_sshd, jupyter):
    session, rec = make_session(fresh_sshd.config_file)
    session.start()
    try:
        await rec.wait(lambda: any(s.port == jupyter.port for x in rec.samples[-1:] for s in x.servers))
        server = next(s for s in rec.samples[-1].servers if s.port == jupyter.port)

        # the remote port is taken here (the "remote" is this machine): the OS picks the port
        moved = await session.forward(server)
        assert moved.moved and moved.local_port != jupyter.port
        assert_loopback_only(must_include={moved.local_port})
        only_one_listener(moved.local_port)
        assert await asyncio.to_thread(api_status, localhost_url(server, moved.local_port)) == 200

        # a port asked for by number
        await session.unforward(server)
        wanted = quiet_port()
        chosen = await session.forward(server, first_choice=wanted)
        assert chosen.local_port == wanted
        ports = assert_loopback_only(must_include={wanted})
        assert moved.local_port not in ports, "an unbound forward stops listening"
        only_one_listener(wanted)

        # rebound after a reconnect: the same port, still 127.0.0.1 only
        for pid in fresh_sshd.connection_pids():
            os.kill(pid, signal.SIGKILL)
        await rec.wait(lambda: rec.state == HostState.RECONNECTING)
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        assert {f.remote_port: f.local_port for f in rec.forwards} == {jupyter.port: wanted}
        assert_loopback_only(must_include={wanted})
        only_one_listener(wanted)
        assert await asyncio.to_thread(api_status, localhost_url(server, wanted)) == 200
    finally:
        await session.close()
    left = {s.port for s in listeners_of("self")}
    assert wanted not in left, "closing the session closes its forwards"


async def test_started_jupyter_listens_on_loopback_only(fresh_sshd):
    (fresh_sshd.home / "work").mkdir()
    session, rec = make_session(fresh_sshd.config_file, root_dir="~/work")
    session.start()
    try:
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        started = await session.start_jupyter()
        server = started.server
        try:
            for pid in [server.pid, *descendants(server.pid)]:
                held = {(s.address, s.port) for s in listeners_of(pid)}
                if pid == server.pid:
                    assert held == {("127.0.0.1", server.port)}
                else:
                    assert {a for a, _ in held} <= {"127.0.0.1"}, held
            forward = await session.forward(server)
            assert_loopback_only(must_include={forward.local_port})
            assert await asyncio.to_thread(api_status, localhost_url(server, forward.local_port)) == 200
        finally:
            await session.stop_jupyter(server)
    finally:
        await session.close()


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            return proc.stdout.readline()
    return ""


def test_jtui_open_listens_on_loopback_only(fresh_sshd, jupyter):
    proc = subprocess.Popen(
        [sys.executable, "-m", "jtui", "open", "testhost", "--no-browser", "--config", str(fresh_sshd.config_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, cwd=REPO,
    )
    try:
        url = _read_line(proc, 60).strip()
        if not url:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"jtui open printed no URL (exit {proc.returncode}):\n{err[-3000:]}")
        port = urllib.parse.urlsplit(url).port
        assert url.startswith(f"http://localhost:{port}/") and "token=" in url
        assert_loopback_only(proc.pid, must_include={port})
        only_one_listener(port)
        assert api_status(url) == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert jupyter.proc.poll() is None, "the server keeps running after jtui open ends"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
