"""A real network partition: sshd in a namespace of the test's own, the link set down, then up.

jtui must notice within the keepalive window (ServerAliveInterval 1 x
ServerAliveCountMax 2 here), and heal by itself when the link returns: the
session is CONNECTED again, samples resume, and the local URL of a forward
to a Jupyter server started inside the namespace answers again.

Needs root and `ip netns` (as CI has); skipped elsewhere, but a failure in CI.
Traffic only ever goes to the namespace's own address: see tests/harness/netns.py.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import subprocess
import time

import pytest

from jtui.core.model import HostState
from jtui.core.session import HostSession
from jtui.core.settings import HostSettings
from jtui.core.urls import localhost_url
from tests.harness.http import api_status
from tests.harness.jupyter import JUPYTER
from tests.harness.netns import Netns, NetnsSshServer, NetnsUnavailable
from tests.harness.require import unavailable
from tests.harness.sockets import can_listen
from tests.harness.sshd import SSHD, alive
from tests.test_sessions import Recorder

pytestmark = pytest.mark.integration

KEEPALIVE = {"ServerAliveInterval": "1", "ServerAliveCountMax": "2", "ConnectTimeout": "5"}
NOTICE_TIMEOUT = 60  # generous: the keepalive window is about 3 s
HEAL_TIMEOUT = 90  # generous: backoff is at most 30 s




@pytest.fixture
def partition(tmp_path):
    """(netns, sshd inside it, client config); everything removed afterwards, even on failure."""
    if not os.path.exists(SSHD):
        unavailable(f"{SSHD} missing: run .ci/run")
    try:
        ns = Netns.create()
    except NetnsUnavailable as exc:
        unavailable(str(exc))
    server = None
    try:
        server = NetnsSshServer(tmp_path / "sshd", netns=ns)
        (server.home / "nb").mkdir(parents=True, exist_ok=True)
        server.start()
        config = tmp_path / "partition.conf"
        config.write_text(server.client_config("nshost", **KEEPALIVE))
        yield ns, server, config
    finally:
        try:
            if server is not None:
                server.stop()
        finally:
            ns.cleanup()
    assert not ns.exists(), f"namespace {ns.name} left behind"
    assert not ns.link_exists(), f"veth {ns.host_if} left behind"
    assert not ns.guard_exists(), f"route for {ns.network} left behind"


class TimedRecorder(Recorder):
    """A Recorder that also notes when each status and sample arrived (monotonic)."""

    def __init__(self) -> None:
        super().__init__()
        self.status_times: list[float] = []
        self.sample_times: list[float] = []

    def session_status(self, status) -> None:
        self.status_times.append(time.monotonic())
        super().session_status(status)

    def session_sample(self, alias, sample) -> None:
        self.sample_times.append(time.monotonic())
        super().session_sample(alias, sample)

    def first_status_after(self, t: float, predicate) -> tuple[float, object] | None:
        for when, status in zip(self.status_times, self.statuses):
            if when >= t and predicate(status):
                return when, status
        return None




def quiet_port() -> int:
    """A port below the ephemeral range, free on 127.0.0.1 and ::1 here (never handed out by the OS)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if can_listen("127.0.0.1", port) and (not socket.has_ipv6 or can_listen("::1", port)):
            return port
    raise RuntimeError("no quiet port found")


def start_jupyter_inside(ns, server, port: int) -> subprocess.Popen:
    """jupyter_server in the namespace on 127.0.0.1:PORT, writing its runtime file where the probe looks.

    Killed by PID when the namespace is cleaned up (and by the sshd's marker).
    """
    root = server.home / "nb"
    args = [JUPYTER, "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
            f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={secrets.token_hex(24)}"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    env = dict(os.environ, HOME=str(server.home), JUPYTER_RUNTIME_DIR=str(server.runtime_dir),
               JTUI_TEST_MARK=server.marker)
    log = open(server.root / "jupyter-inside.log", "wb")
    proc = ns.popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True)
    log.close()
    return proc


async def test_partition_is_noticed_and_heals(partition, record_property, capsys):
    ns, server, config = partition
    rec = TimedRecorder()
    settings = HostSettings(autoconnect=True)
    session = HostSession("nshost", [str(config)], settings, 0.3, rec)
    session.start()
    try:
        await rec.wait(lambda: rec.state == HostState.CONNECTED and rec.samples, timeout=30)
        assert session.resolved.hostname == ns.ns_addr
        assert session.resolved.keepalive_interval == 1 and session.resolved.keepalive_count == 2

        # a Jupyter server inside the namespace, forwarded to a local URL that works; its port is
        # one nothing else here takes by itself (below the ephemeral range, free right now), so
        # the forward keeps it through the partition even while other tests run alongside
        port = quiet_port()
        proc = start_jupyter_inside(ns, server, port)
        await rec.wait(lambda: any(s.pid == proc.pid for x in rec.samples[-1:] for s in x.servers), timeout=60)
        jupyter = next(s for s in rec.samples[-1].servers if s.pid == proc.pid)
        assert jupyter.port == port
        assert _same_netns(jupyter.pid, server.proc.pid) and not _same_netns(jupyter.pid, os.getpid())
        forward = await session.forward(jupyter)
        assert forward.local_port == port and not forward.moved
        url = localhost_url(jupyter, forward.local_port)
        assert await asyncio.to_thread(api_status, url) == 200

        # the partition: our end of the link goes down
        assert ns.route_device() == ns.host_if
        down_at = time.monotonic()
        ns.link_down()
        assert ns.route_device() is None, "with the link down, nothing may leave for the namespace's address"
        await rec.wait(
            lambda: rec.first_status_after(down_at, lambda s: s.state != HostState.CONNECTED), NOTICE_TIMEOUT
        )
        noticed_at, noticed = rec.first_status_after(down_at, lambda s: s.state != HostState.CONNECTED)
        assert noticed.state in (HostState.RECONNECTING, HostState.FAILED)
        # while it lasts, reconnect attempts fail (refused locally: no traffic goes elsewhere)
        await rec.wait(lambda: rec.first_status_after(noticed_at, lambda s: s.state == HostState.FAILED), 60)
        _, failed = rec.first_status_after(noticed_at, lambda s: s.state == HostState.FAILED)
        assert failed.reason.startswith("no route to host")
        assert failed.next_retry is not None, "network trouble is retried by itself"
        assert session.conn is None

        # the link comes back: jtui heals by itself
        up_at = time.monotonic()
        ns.link_up()
        ns.wait_reachable()
        await rec.wait(
            lambda: rec.first_status_after(up_at, lambda s: s.state == HostState.CONNECTED), HEAL_TIMEOUT
        )
        healed_at, _ = rec.first_status_after(up_at, lambda s: s.state == HostState.CONNECTED)
        count = len(rec.samples)
        await rec.wait(lambda: len(rec.samples) > count + 1, 30)
        resumed_at = next(t for t in rec.sample_times if t > healed_at)
        assert not [t for t in rec.sample_times if noticed_at < t < healed_at], "no samples while cut off"

        # the URL handed out before the partition answers again, on the same local port
        assert {f.remote_port: f.local_port for f in rec.forwards} == {jupyter.port: forward.local_port}
        assert await asyncio.to_thread(api_status, url) == 200
        assert alive(jupyter.pid), "the remote server was never interrupted"
        assert any(s.pid == jupyter.pid for s in rec.samples[-1].servers)

        measured = {
            "notice_s": round(noticed_at - down_at, 2),
            "notice_state": noticed.state.value,
            "down_for_s": round(up_at - down_at, 2),
            "heal_s": round(healed_at - up_at, 2),
            "samples_resume_s": round(resumed_at - up_at, 2),
        }
        for key, value in measured.items():
            record_property(key, value)
        with capsys.disabled():
            print(f"\npartition: {measured}")
    finally:
        await session.close()


def _same_netns(pid: int, other: int) -> bool:
    """True when both processes are in one network namespace."""
    return os.readlink(f"/proc/{pid}/ns/net") == os.readlink(f"/proc/{other}/ns/net")
