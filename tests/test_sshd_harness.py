"""The harness itself: OpenSSH's own client reaches the test sshd."""

import subprocess

import pytest

pytestmark = pytest.mark.integration


def test_openssh_client_runs_a_command(sshd):
    out = subprocess.run(
        sshd.ssh_args() + ["echo", "hello; echo $HOME; echo $JTUI_TEST_MARK"],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines == ["hello", str(sshd.home), sshd.marker]
