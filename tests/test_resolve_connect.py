"""asyncssh reaches the real test sshd through jtui's own host resolution."""

from __future__ import annotations

import subprocess

import asyncssh
import pytest

from jtui.core.hostsfile import scan_hosts
from jtui.core.resolve import connection_options, resolve_host

pytestmark = pytest.mark.integration


def ssh_g(config: str, alias: str) -> dict[str, list[str]]:
    out = subprocess.run(
        ["ssh", "-G", "-F", config, alias],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=True, timeout=30,
    ).stdout
    settings: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key, []).append(value)
    return settings


async def test_asyncssh_runs_a_command_through_jtui_resolution(sshd):
    config = str(sshd.config_file)
    scan = scan_hosts([config])
    assert scan.aliases == ["testhost"] and scan.problems == []

    options = connection_options(scan.aliases[0], [config], client_keys=[str(sshd.client_key)])
    # Everything but the key comes from the config file.
    assert (options.host, options.port, options.username) == ("127.0.0.1", sshd.port, sshd.user)
    assert options.known_hosts == [str(sshd.known_hosts)]

    async with asyncssh.connect(options=options) as conn:
        result = await conn.run("echo hello from jtui; echo $JTUI_TEST_MARK", check=True, timeout=30)
    assert result.stdout.split() == ["hello", "from", "jtui", sshd.marker]


async def test_host_key_is_checked_against_the_configured_known_hosts(sshd, tmp_path):
    other = tmp_path / "known_hosts"
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    other.write_text(f"[127.0.0.1]:{sshd.port} {stranger}\n")  # some other host's key
    config = tmp_path / "config"
    config.write_text(sshd.client_config("testhost").replace(str(sshd.known_hosts), str(other)))
    options = connection_options("testhost", [str(config)], client_keys=[str(sshd.client_key)])
    assert options.known_hosts == [str(other)]
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with asyncssh.connect(options=options):
            pass


async def test_alias_without_hostname_connects_to_the_alias(sshd, tmp_path):
    # No HostName: the alias itself is the host, also with connect(options=...).
    config = tmp_path / "config"
    config.write_text(sshd.client_config("127.0.0.1").replace("  HostName 127.0.0.1\n", ""))
    assert "HostName" not in config.read_text()
    options = connection_options("127.0.0.1", [str(config)], client_keys=[str(sshd.client_key)])
    assert options.host == "127.0.0.1"
    async with asyncssh.connect(options=options) as conn:
        result = await conn.run("echo ok", check=True, timeout=30)
    assert result.stdout == "ok\n"


def test_resolution_of_testhost_agrees_with_ssh_g(sshd):
    config = str(sshd.config_file)
    resolved = resolve_host("testhost", [config])
    ssh = ssh_g(config, "testhost")
    assert resolved.error is None
    assert resolved.hostname == ssh["hostname"][0] == "127.0.0.1"
    assert str(resolved.port) == ssh["port"][0] == str(sshd.port)
    assert resolved.user == ssh["user"][0] == sshd.user
    assert resolved.proxyjump is None and "proxyjump" not in ssh
    assert list(resolved.identity_files) == ssh["identityfile"] == [str(sshd.client_key)]
    assert list(resolved.known_hosts) == ssh["userknownhostsfile"][0].split() == [str(sshd.known_hosts)]
    assert resolved.target == f"{sshd.user}@127.0.0.1:{sshd.port}"


def test_an_asyncssh_without_the_internals_jtui_reads_is_refused_for_every_host(tmp_path, monkeypatch):
    """An upgrade past the pinned range must fail loudly, never resolve a host differently."""
    from asyncssh.config import SSHClientConfig, SSHConfig

    config = tmp_path / "hosts"
    config.write_text("Host box\n  HostName box.example\n  Port 2222\n")
    assert resolve_host("box", [str(config)]).port == 2222
    monkeypatch.setattr(SSHConfig, "_handlers", {})
    monkeypatch.setattr(SSHClientConfig, "_handlers", {})
    monkeypatch.delattr(SSHConfig, "_match_val")
    resolved = resolve_host("box", [str(config)])
    assert resolved.error and (resolved.hostname, resolved.port) == ("", 0)
    assert "changed the config internals jtui reads" in resolved.error and "_match_val" in resolved.error
    assert "pip install 'asyncssh[bcrypt]>=2.24,<2.25'" in resolved.error


def test_the_pinned_range_in_pyproject_is_the_one_the_check_names():
    import tomllib
    from pathlib import Path

    from jtui.core.resolve import TESTED_ASYNCSSH

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert f"asyncssh[bcrypt]{TESTED_ASYNCSSH}" in project["dependencies"]
