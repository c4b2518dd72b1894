"""Start, probe, forward and stop Jupyter through every login shell users have: sh, bash, zsh, fish, tcsh.

Each shell is a real user on the test sshd, whose profile (in its own
language) puts Jupyter on PATH and sets JUPYTER_RUNTIME_DIR: jtui must find
Jupyter, run the host's `setup` in that shell, start the server, list it
from the profile's runtime dir, forward it, and stop it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from jtui.core.jupyter import StartError
from jtui.core.session import HostSession
from jtui.core.settings import HostSettings
from jtui.core.urls import localhost_url
from tests.harness.http import api_status
from tests.harness.shell_users import SHELLS, ShellUsers, setup_line
from tests.harness.sshd import alive
from tests.test_sessions import Recorder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shells():
    with ShellUsers(uuid.uuid4().hex[:8]) as users:
        yield users


def session_for(shells, shell: str, tmp_path: Path, setup: str) -> tuple[HostSession, Recorder]:
    config = shells.config(tmp_path / "hosts.conf")
    settings = HostSettings(jupyter="jupyter server", root_dir="~/work", setup=setup, autoconnect=True)
    recorder = Recorder()
    return HostSession(shell, [str(config)], settings, 0.3, recorder), recorder


@pytest.mark.parametrize("shell", SHELLS)
async def test_start_probe_forward_stop_through_the_login_shell(shells, shell, tmp_path):
    user = shells.users[shell]
    session, rec = session_for(shells, shell, tmp_path, setup_line(shell, f"{shell}-ok"))
    session.start()
    try:
        await rec.wait(lambda: rec.samples)
        assert rec.samples[-1].remote_user == user.name
        assert str(user.runtime_dir) in rec.samples[-1].runtime_dirs  # the profile's, asked of the login shell

        started = await session.start_jupyter()
        server = started.server
        assert Path(server.runtime_file).parent == user.runtime_dir
        assert server.root_dir == str(user.home / "work")
        assert os.stat(f"/proc/{server.pid}").st_uid == user.uid
        environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
        assert f"JTUI_SETUP_MARK={shell}-ok".encode() in environ  # setup ran, in the login shell's language

        await rec.wait(lambda: any(s.pid == server.pid for s in rec.samples[-1].servers))
        forward = await session.forward(server)
        assert await asyncio.to_thread(api_status, localhost_url(server, forward.local_port)) == 200

        await session.stop_jupyter(server)
        assert not alive(server.pid)
        await rec.wait(lambda: not any(s.pid == server.pid for s in rec.samples[-1].servers))
    finally:
        await session.close()


@pytest.mark.parametrize("shell", SHELLS)
async def test_a_failing_setup_is_said_in_every_shell(shells, shell, tmp_path):
    session, rec = session_for(shells, shell, tmp_path, "false")
    session.start()
    try:
        await rec.wait(lambda: rec.samples)
        with pytest.raises(StartError) as failed:
            await session.start_jupyter()
        assert "setup commands failed" in str(failed.value)
    finally:
        await session.close()
