"""Local forwards through a real sshd to real jupyter_servers.

One server listens on 127.0.0.2 so that its port is free on 127.0.0.1 here
(the "remote" is this machine): that is the only way to see a forward take
the remote's own port. The other listens on 127.0.0.1 like the servers jtui
starts, so its port is always taken here and the forward must move.
"""

from __future__ import annotations

import asyncio
import gc
import glob
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import asyncssh
import pytest

from jtui.core.forwards import Forward, ForwardManager
from jtui.core.model import JupyterServer
from jtui.core.resolve import connection_options
from jtui.core.runtime_files import server_from_runtime
from jtui.core.urls import localhost_url
from tests.harness.http import api_status
from tests.harness.jupyter import JUPYTER, start_jupyter
from tests.harness.require import unavailable
from tests.harness.sockets import can_listen, listeners, listeners_of
from tests.harness.sshd import SshServer, free_port

pytestmark = pytest.mark.integration


def connect(server: SshServer):
    return asyncssh.connect(
        options=connection_options("testhost", [str(server.config_file)], client_keys=[str(server.client_key)])
    )


@pytest.fixture
async def conn(sshd):
    async with connect(sshd) as connection:
        yield connection


@pytest.fixture
async def forwards(conn):
    manager = ForwardManager(conn)
    yield manager
    await manager.close_all()


@pytest.fixture(scope="module")
def alt_server(tmp_path_factory):
    """A jupyter_server on 127.0.0.2 (its port is free on 127.0.0.1)."""
    base = tmp_path_factory.mktemp("alt-jupyter")
    runtime = base / "runtime"
    runtime.mkdir()
    args = [JUPYTER, "server", "--no-browser", "--ip=127.0.0.2", "--port=0",
            f"--ServerApp.root_dir={base}", "--IdentityProvider.token=alt-token-0123456789"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    with open(base / "log", "wb") as log:
        proc = subprocess.Popen(args, env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime)), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        server = None
        deadline = time.monotonic() + 60
        while server is None and time.monotonic() < deadline:
            assert proc.poll() is None, (base / "log").read_text()
            for path in glob.glob(str(runtime / "jpserver-*.json")):
                try:
                    server = server_from_runtime(json.loads(Path(path).read_text()), path)
                except ValueError:
                    continue
            time.sleep(0.05)
        assert server is not None, "jupyter on 127.0.0.2 did not start"
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def loopback_server(tmp_path_factory):
    """A jupyter_server on 127.0.0.1, like the ones jtui starts."""
    base = tmp_path_factory.mktemp("loop-jupyter")
    running = start_jupyter(base / "runtime", base / "root")
    yield server_from_runtime(running.info, str(running.runtime_file))
    running.stop()


async def answers(server: JupyterServer, forward: Forward) -> int:
    return await asyncio.to_thread(api_status, localhost_url(server, forward.local_port))


def our_listeners(port: int) -> set[tuple[str, int]]:
    return {(entry.address, entry.port) for entry in listeners_of("self", port)}


def occupy(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, port))
    sock.listen()
    return sock


# --- binding --------------------------------------------------------------------------


async def test_binds_the_remote_port_on_loopback_only(forwards, alt_server):
    forward = await forwards.bind(alt_server)
    assert forward.local_port == alt_server.port
    assert not forward.moved and forward.reason == ""
    assert forward.remote_host == "127.0.0.2" and forward.remote_port == alt_server.port
    # the kernel's socket table: this process listens on 127.0.0.1 only, nowhere else
    assert our_listeners(forward.local_port) == {("127.0.0.1", forward.local_port)}
    assert not [e for e in listeners(forward.local_port) if e.address in ("0.0.0.0", "::")]
    assert await answers(alt_server, forward) == 200


async def test_moves_when_the_local_port_is_taken(forwards, alt_server):
    with occupy("127.0.0.1", alt_server.port):
        forward = await forwards.bind(alt_server)
        assert forward.moved and forward.local_port != alt_server.port
        assert forward.wanted_port == alt_server.port
        assert str(alt_server.port) in forward.reason and "in use" in forward.reason
        assert str(forward.local_port) in forward.reason
        assert our_listeners(forward.local_port) == {("127.0.0.1", forward.local_port)}
        assert await answers(alt_server, forward) == 200


async def test_takes_the_preferred_port_when_the_remote_one_is_taken(forwards, alt_server):
    preferred = free_port()
    with occupy("127.0.0.1", alt_server.port):
        forward = await forwards.bind(alt_server, preferred_local_port=preferred)
    assert forward.local_port == preferred and forward.moved
    assert await answers(alt_server, forward) == 200


async def test_moves_when_ipv6_loopback_holds_the_port(forwards, alt_server):
    """`localhost` URLs try ::1 first: a stranger there would get our users' requests."""
    try:
        blocker = occupy("::1", alt_server.port)
    except OSError:
        unavailable("no IPv6 loopback on this machine")
    with blocker:
        forward = await forwards.bind(alt_server)
    assert forward.moved and "::1" in forward.reason
    assert await answers(alt_server, forward) == 200


async def test_server_on_this_machines_loopback(forwards, loopback_server):
    """Remote == local here, so the server's own socket holds the port: the forward moves."""
    forward = await forwards.bind(loopback_server)
    assert forward.moved and forward.local_port != loopback_server.port
    assert our_listeners(forward.local_port) == {("127.0.0.1", forward.local_port)}
    assert await answers(loopback_server, forward) == 200


async def test_binding_twice_gives_the_same_forward(forwards, alt_server):
    first = await forwards.bind(alt_server)
    again = await forwards.bind(alt_server, preferred_local_port=free_port())
    assert again == first and forwards.forwards == (first,)


async def test_forwarded_sockets_have_tcp_nodelay(forwards, alt_server):
    """Without TCP_NODELAY small requests stall ~40 ms (Nagle vs delayed ACK); asyncssh sets it."""
    forward = await forwards.bind(alt_server)
    reader, writer = await asyncio.open_connection("127.0.0.1", forward.local_port)
    try:
        writer.write(b"GET /api HTTP/1.1\r\n")  # keep the connection open, half a request
        await writer.drain()
        accepted = []
        for _ in range(200):
            accepted = [
                obj._transport.get_extra_info("socket")
                for obj in gc.get_objects()
                if isinstance(obj, asyncssh.forward.SSHForwarder) and getattr(obj, "_transport", None)
                and (obj._transport.get_extra_info("sockname") or (None, None))[1] == forward.local_port
            ]
            if accepted:
                break
            await asyncio.sleep(0.02)
        assert accepted, "no accepted forward socket found"
        for sock in accepted:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        writer.close()


# --- unbinding ------------------------------------------------------------------------


async def test_unbind_frees_the_port(forwards, alt_server):
    forward = await forwards.bind(alt_server)
    await forwards.unbind(forward.local_port)
    assert forwards.forwards == ()
    assert our_listeners(forward.local_port) == set()
    assert can_listen("127.0.0.1", forward.local_port)
    await forwards.unbind(forward.local_port)  # again: already gone, no error


async def test_bound_again_after_unbinding_takes_the_same_local_port(forwards, loopback_server):
    """A URL already pasted keeps working across f, f: the port comes back, even one the OS chose."""
    first = await forwards.bind(loopback_server)  # the remote port is held here: the OS picks one
    assert first.moved
    await forwards.unbind(first.local_port)
    again = await forwards.bind(loopback_server)
    assert again.local_port == first.local_port and not again.moved
    assert await answers(loopback_server, again) == 200


async def test_a_port_taken_meanwhile_is_said_when_bound_again(forwards, loopback_server):
    first = await forwards.bind(loopback_server)
    await forwards.unbind(first.local_port)
    blocker = occupy("127.0.0.1", first.local_port)
    try:
        again = await forwards.bind(loopback_server)
        assert again.local_port != first.local_port
        assert again.moved and f"local port {first.local_port} is in use" in again.reason
    finally:
        blocker.close()


async def test_close_all(forwards, alt_server, loopback_server):
    bound = [await forwards.bind(alt_server), await forwards.bind(loopback_server)]
    assert len({f.local_port for f in bound}) == 2
    await forwards.close_all()
    assert forwards.forwards == ()
    for forward in bound:
        assert our_listeners(forward.local_port) == set()


# --- reconnecting ---------------------------------------------------------------------


async def test_rebind_all_keeps_the_local_port(sshd, alt_server, loopback_server):
    first = await connect(sshd)
    manager = ForwardManager(first)
    try:
        before = [await manager.bind(alt_server), await manager.bind(loopback_server)]
        first.close()
        await first.wait_closed()
        async with connect(sshd) as second:
            after = await manager.rebind_all(second)
            assert [f.local_port for f in after] == [f.local_port for f in before]
            assert not any(f.reason for f in after)
            assert await answers(alt_server, after[0]) == 200
            assert await answers(loopback_server, after[1]) == 200
            await manager.close_all()
    finally:
        await manager.close_all()


async def test_rebind_all_after_the_connection_dies(fresh_sshd, alt_server):
    first = await connect(fresh_sshd)
    manager = ForwardManager(first)
    try:
        before = await manager.bind(alt_server)
        assert await answers(alt_server, before) == 200
        for pid in fresh_sshd.connection_pids():
            os.kill(pid, signal.SIGKILL)
        await asyncio.wait_for(first.wait_closed(), 30)
        async with connect(fresh_sshd) as second:
            (after,) = await manager.rebind_all(second)
            assert after.local_port == before.local_port and not after.moved
            assert our_listeners(after.local_port) == {("127.0.0.1", after.local_port)}
            assert await answers(alt_server, after) == 200
            await manager.close_all()
    finally:
        await manager.close_all()


async def test_rebind_all_moves_when_the_port_was_taken_meanwhile(sshd, alt_server):
    first = await connect(sshd)
    manager = ForwardManager(first)
    try:
        before = await manager.bind(alt_server)
        first.close()
        await first.wait_closed()  # asyncssh closes the connection's listeners with it
        with occupy("127.0.0.1", before.local_port):
            async with connect(sshd) as second:
                (after,) = await manager.rebind_all(second)
                assert after.moved and after.local_port != before.local_port
                assert after.wanted_port == before.local_port
                assert "reconnecting" in after.reason and str(before.local_port) in after.reason
                assert await answers(alt_server, after) == 200
                await manager.close_all()
    finally:
        await manager.close_all()



async def test_rebind_on_a_dead_connection_keeps_the_forward_for_the_next_try(sshd, alt_server):
    first = await connect(sshd)
    manager = ForwardManager(first)
    try:
        before = await manager.bind(alt_server)
        first.close()
        await first.wait_closed()
        dead = await connect(sshd)
        dead.close()
        await dead.wait_closed()
        with pytest.raises(ConnectionError):
            await manager.rebind_all(dead)
        assert manager.forwards == ()
        assert our_listeners(before.local_port) == set()
        async with connect(sshd) as second:
            (after,) = await manager.rebind_all(second)
            assert after.local_port == before.local_port and not after.moved
            assert await answers(alt_server, after) == 200
            await manager.close_all()
    finally:
        await manager.close_all()
