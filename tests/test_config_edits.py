"""A host that failed, fixed in the hosts file while jtui runs: it connects with the new config, no key pressed.

Real sshd, the real app (Pilot); the file is rewritten as a user's editor would.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from jtui.app import build_app
from jtui.core import dial
from jtui.core.model import HostState
from tests.harness.sshd import free_port, keygen
from tests.ui_helpers import record, until


def header(app) -> str:
    return str(app.host_screen.detail.query_one("#detail-header").render())


async def fails_then_connects(app, config, fixed: str, failure: str, shown: str = "") -> None:
    """The host fails with `failure`; once `fixed` is written, it connects and the header shows `shown`."""
    async with app.run_test(size=(120, 36)):
        await until(lambda: record(app, "lab").status.state == HostState.FAILED, what="the first failure")
        assert failure in record(app, "lab").status.reason.lower()
        config.write_text(fixed)
        await until(lambda: record(app, "lab").status.state == HostState.CONNECTED, what="connected after the fix")
        # (a refused port is retried by itself too, and may connect before jtui has read the file again)
        await until(lambda: shown in header(app) and failure not in header(app).lower(), what="the new config shown")


@pytest.mark.integration
async def test_a_wrong_port_fixed_in_the_file_connects(sshd, tmp_path):
    config = tmp_path / "hosts"
    config.write_text(sshd.client_config("lab", ConnectTimeout="5").replace(f"Port {sshd.port}", f"Port {free_port()}"))
    app = build_app([str(config)])
    await fails_then_connects(app, config, sshd.client_config("lab"), "refused", shown=f":{sshd.port} ")


@pytest.mark.integration
async def test_a_broken_file_fixed_connects(sshd, tmp_path):
    """OpenSSH refuses a file with an unknown keyword: so does jtui, until it is fixed."""
    config = tmp_path / "hosts"
    config.write_text(sshd.client_config("lab", Prot="22"))
    app = build_app([str(config)])
    await fails_then_connects(app, config, sshd.client_config("lab"), "unknown keyword")


@pytest.mark.integration
async def test_a_new_identity_file_is_used_at_the_next_try(sshd, tmp_path):
    """Everything the host's lines say is read again, not only what asyncssh reads itself (HostName, Port)."""
    stranger = tmp_path / "id_stranger"
    keygen(stranger, "not authorized")
    config = tmp_path / "hosts"
    config.write_text(sshd.client_config("lab").replace(str(sshd.client_key), str(stranger)))
    app = build_app([str(config)])
    await fails_then_connects(app, config, sshd.client_config("lab"), "permission denied")


@pytest.mark.integration
async def test_a_host_waiting_for_a_passphrase_connects_once_its_config_names_a_key_without_one(sshd, tmp_path):
    locked = tmp_path / "id_locked"
    keygen(locked, "locked", "correct horse")
    config = tmp_path / "hosts"
    config.write_text(sshd.client_config("lab").replace(str(sshd.client_key), str(locked)))
    app = build_app([str(config)])
    async with app.run_test(size=(120, 36)):
        await until(lambda: record(app, "lab").status.state == HostState.NEEDS_INPUT, what="the passphrase needed")
        config.write_text(sshd.client_config("lab"))
        await until(lambda: record(app, "lab").status.state == HostState.CONNECTED, what="connected after the fix")


async def test_a_read_that_a_reload_overtook_is_read_again(tmp_path, monkeypatch):
    """The file as it was before an edit never becomes what the alias means (no network: the reading only)."""
    config = tmp_path / "hosts"
    config.write_text("Host lab\n  HostName old.example\n")
    reading, go_on = threading.Event(), threading.Event()
    real = dial.resolve_host

    def slow_first_read(alias, files, blocked=None):
        resolved = real(alias, files, blocked)
        if not go_on.is_set():  # the first read: held until the edit has landed
            reading.set()
            go_on.wait(10)
        return resolved

    monkeypatch.setattr(dial, "resolve_host", slow_first_read)
    dialer = dial.Dialer("lab", [str(config)])
    resolving = asyncio.ensure_future(dialer.resolve())
    await asyncio.to_thread(reading.wait, 10)
    config.write_text("Host lab\n  HostName new.example\n")
    dialer.reconfigure([str(config)], None)
    go_on.set()
    assert (await resolving).hostname == "new.example"
    assert dialer.resolved.hostname == "new.example"
