"""Faults injected for real: killed sshd, stopped listener, killed probe; jtui heals."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from jtui.core.model import HostState
from tests.harness.http import status_of
from tests.harness.jupyter import start_jupyter
from tests.harness.sshd import pids_with_marker
from tests.test_sessions import session_for

pytestmark = pytest.mark.integration


@pytest.fixture
def jupyter(fresh_sshd):
    server = start_jupyter(fresh_sshd.runtime_dir, fresh_sshd.home / "nb")
    yield server
    server.stop()


async def connected_with_server(session, rec, port: int):
    session.start()
    await rec.wait(lambda: any(s.port == port for x in rec.samples[-1:] for s in x.servers))
    return next(s for s in rec.samples[-1].servers if s.port == port)


async def test_killed_sshd_connection_reconnects_and_same_url_answers(fresh_sshd, jupyter):
    session, rec = session_for(fresh_sshd.config_file, refresh=0.3)
    try:
        server = await connected_with_server(session, rec, jupyter.port)
        forward = await session.forward(server)
        assert await asyncio.to_thread(status_of, forward.local_port, jupyter.token) == 200

        victims = fresh_sshd.connection_pids()
        assert victims
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        await rec.wait(lambda: rec.state == HostState.RECONNECTING)
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        assert {f.remote_port: f.local_port for f in rec.forwards} == {jupyter.port: forward.local_port}
        assert await asyncio.to_thread(status_of, forward.local_port, jupyter.token) == 200
        assert jupyter.proc.poll() is None, "the remote server was never interrupted"
    finally:
        await session.close()


async def test_sshd_down_for_a_while_then_back_recovers_by_itself(fresh_sshd):
    session, rec = session_for(fresh_sshd.config_file, refresh=0.3)
    session.start()
    try:
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        fresh_sshd.stop()  # listener and every connection gone
        await rec.wait(lambda: rec.state == HostState.FAILED and "refused" in rec.statuses[-1].reason)
        await asyncio.sleep(2)
        fresh_sshd.start()  # same port, same host key
        await rec.wait(lambda: rec.state == HostState.CONNECTED, timeout=45)
        count = len(rec.samples)
        await rec.wait(lambda: len(rec.samples) > count + 1)
    finally:
        await session.close()


def probe_pids(marker: str) -> list[int]:
    out = []
    for pid in pids_with_marker(marker):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"jtui-probe" in f.read():
                    out.append(pid)
        except OSError:
            pass
    return out


async def test_killed_probe_is_restarted_and_samples_resume(fresh_sshd):
    session, rec = session_for(fresh_sshd.config_file, refresh=0.3)
    session.start()
    try:
        await rec.wait(lambda: len(rec.samples) >= 2)
        pids = probe_pids(fresh_sshd.marker)
        assert pids, "the probe runs on the remote"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        await rec.wait(lambda: any("probe restarted" in n for n in rec.notices))
        count = len(rec.samples)
        await rec.wait(lambda: len(rec.samples) > count + 1)
        assert rec.state == HostState.CONNECTED
        assert set(probe_pids(fresh_sshd.marker)).isdisjoint(pids)
    finally:
        await session.close()


async def test_closing_the_session_leaves_no_probe_behind(fresh_sshd):
    session, rec = session_for(fresh_sshd.config_file, refresh=0.3)
    session.start()
    await rec.wait(lambda: len(rec.samples) >= 1)
    assert probe_pids(fresh_sshd.marker)
    await session.close()
    for _ in range(50):
        if not probe_pids(fresh_sshd.marker):
            break
        await asyncio.sleep(0.1)
    assert probe_pids(fresh_sshd.marker) == []
