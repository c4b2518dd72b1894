"""A host that failed, fixed in the hosts file while jtui runs: it connects with the new config, no key pressed.

Real sshd, the real app (Pilot); the file is rewritten as a user's editor would.
"""

from __future__ import annotations

import pytest

from jtui.app import build_app
from jtui.core.model import HostState
from tests.harness.sshd import free_port, keygen
from tests.ui_helpers import record, until

pytestmark = pytest.mark.integration


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


async def test_a_wrong_port_fixed_in_the_file_connects(sshd, tmp_path):
    config = tmp_path / "hosts"
    config.write_text(sshd.client_config("lab", ConnectTimeout="5").replace(f"Port {sshd.port}", f"Port {free_port()}"))
    app = build_app([str(config)])
    await fails_then_connects(app, config, sshd.client_config("lab"), "refused", shown=f":{sshd.port} ")


async def test_a_broken_file_fixed_connects(sshd, tmp_path):
    """OpenSSH refuses a file with an unknown keyword: so does jtui, until it is fixed."""
    config = tmp_path / "hosts"
    config.write_text(sshd.client_config("lab", Prot="22"))
    app = build_app([str(config)])
    await fails_then_connects(app, config, sshd.client_config("lab"), "unknown keyword")


async def test_a_new_identity_file_is_used_at_the_next_try(sshd, tmp_path):
    """Everything the host's lines say is read again, not only what asyncssh reads itself (HostName, Port)."""
    stranger = tmp_path / "id_stranger"
    keygen(stranger, "not authorized")
    config = tmp_path / "hosts"
    config.write_text(sshd.client_config("lab").replace(str(sshd.client_key), str(stranger)))
    app = build_app([str(config)])
    await fails_then_connects(app, config, sshd.client_config("lab"), "permission denied")
