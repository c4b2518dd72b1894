"""`jtui status` and `jtui open` as scripts use them, against the real sshd."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from tests.harness.http import answers, api_status
from tests.harness.jupyter import start_jupyter
from tests.harness.sockets import listeners
from tests.harness.sshd import alive, free_port
from tests.harness.waiting import poll, wait_until

pytestmark = pytest.mark.integration


def jtui(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jtui", *args], capture_output=True, text=True, timeout=90, **kwargs)


def meminfo_total() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal")


def test_status_json_has_the_figures_and_servers(sshd):
    jupyter = start_jupyter(sshd.runtime_dir, sshd.home / "status")
    try:
        out = jtui("status", "testhost", "--json", "--config", str(sshd.config_file))
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert 0 <= data["cpu_percent"] <= 100
        assert data["mem_total"] == meminfo_total()
        assert data["mem_used"] + data["mem_available"] == data["mem_total"]
        assert len(data["load"]) == 3 and isinstance(data["gpus"], list)
        server = next(s for s in data["servers"] if s["port"] == jupyter.port)
        assert server["pid"] == jupyter.pid and server["root_dir"] == str(sshd.home / "status")
        assert jupyter.token not in out.stdout  # tokens are never printed
    finally:
        jupyter.stop()


def test_status_text(sshd):
    out = jtui("status", "testhost", "--config", str(sshd.config_file))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("testhost\n") and "cpu" in out.stdout and "GiB" in out.stdout


def test_status_of_an_unreachable_host_exits_non_zero_with_the_reason(tmp_path):
    config = tmp_path / "dead.conf"
    config.write_text(f"Host dead\n  HostName 127.0.0.1\n  Port {free_port()}\n")
    out = jtui("status", "dead", "--config", str(config))
    assert out.returncode == 1
    assert "connection refused" in out.stderr and out.stdout == ""


def test_status_of_an_unknown_alias_says_what_to_do(sshd):
    out = jtui("status", "nope", "--config", str(sshd.config_file))
    assert out.returncode == 1 and "unknown host 'nope'" in out.stderr
    assert "the hosts are testhost" in out.stderr and str(sshd.config_file) in out.stderr
    assert "add --demo to try this machine" in out.stderr


def test_status_without_a_host_asks_for_one_or_demo():
    out = jtui("status")
    assert out.returncode == 2 and "status needs a HOST" in out.stderr and "--demo" in out.stderr


def test_open_reuses_the_running_server_until_ctrl_c(sshd):
    jupyter = start_jupyter(sshd.runtime_dir, sshd.home / "open")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jtui", "open", "testhost", "--no-browser", "--port", str(port), "--config", str(sshd.config_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url == f"http://localhost:{port}/?token={jupyter.token}", proc.stderr.read() if not url else url
        assert api_status(url) == 200
        assert {e.address for e in listeners(port)} == {"127.0.0.1"}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert "reusing" in proc.stderr.read()
        assert not listeners(port), "the forward ends with jtui open"
        assert jupyter.proc.poll() is None, "the server keeps running"
    finally:
        if proc.poll() is None:
            proc.kill()
        jupyter.stop()


def test_open_starts_a_server_when_none_runs(fresh_sshd, isolated_dirs):
    (isolated_dirs / "config" / "jtui").mkdir()
    (isolated_dirs / "config" / "jtui" / "config.toml").write_text('[defaults]\njupyter = "jupyter server"\n')
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jtui", "open", "testhost", "--no-browser", "--config", str(fresh_sshd.config_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://localhost:") and "?token=" in url, proc.stderr.read()
        assert api_status(url) == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "started Jupyter" in proc.stderr.read()
        [runtime_file] = fresh_sshd.runtime_dir.glob("jpserver-*.json")
        pid = json.loads(runtime_file.read_text())["pid"]
        assert alive(pid), "the started server keeps running"
    finally:
        if proc.poll() is None:
            proc.kill()


class OpenCommand:
    """`jtui open` running in the background, its stderr collected line by line as it comes."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jtui", "open", *args, "--no-browser"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.said: list[str] = []
        threading.Thread(target=lambda: self.said.extend(iter(self.proc.stderr.readline, "")), daemon=True).start()

    def url(self) -> str:
        url = self.proc.stdout.readline().strip()
        assert url.startswith("http://localhost:"), "".join(self.said)
        return url

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)


def test_open_heals_when_its_connection_is_killed(fresh_sshd):
    """The sshd process serving `jtui open` killed: it reconnects, and the URL it printed answers again."""
    jupyter = start_jupyter(fresh_sshd.runtime_dir, fresh_sshd.home / "heal")
    command = OpenCommand("testhost", "--config", str(fresh_sshd.config_file))
    try:
        url = command.url()
        assert api_status(url) == 200
        victims = fresh_sshd.connection_pids()
        assert victims
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: any("reconnected" in line for line in command.said), 60, "jtui open to reconnect")
        assert command.proc.poll() is None, "".join(command.said)
        assert poll(lambda: answers(url, api_status), 30), "the same URL answers again"
        assert any("connection lost" in line for line in command.said)
        assert command.stop() == 0
    finally:
        if command.proc.poll() is None:
            command.proc.kill()
        jupyter.stop()


def test_open_says_when_its_server_stops_and_when_one_answers_again(fresh_sshd, isolated_dirs):
    """File > Shut Down in JupyterLab (here: the server stopped): jtui open says so instead of leaving the
    browser with a dead URL and no reason; the forward stays, and a server on that port answers at the URL."""
    (isolated_dirs / "config" / "jtui").mkdir()
    (isolated_dirs / "config" / "jtui" / "config.toml").write_text("refresh = 0.5\n")
    jupyter = start_jupyter(fresh_sshd.runtime_dir, fresh_sshd.home / "stops")
    command = OpenCommand("testhost", "--config", str(fresh_sshd.config_file))
    again = None
    try:
        url = command.url()
        local = int(url.split(":")[2].split("/")[0])
        assert api_status(url) == 200
        jupyter.stop()
        wait_until(lambda: any("stopped" in line for line in command.said), 60, "jtui open to see the server stop")
        stopped = next(line for line in command.said if "stopped" in line)
        assert f"Jupyter on remote port {jupyter.port} stopped" in stopped and f"localhost:{local} stays bound" in stopped
        assert {e.address for e in listeners(local)} == {"127.0.0.1"}, "the forward stays"

        again = start_jupyter(fresh_sshd.runtime_dir, fresh_sshd.home / "stops", port=jupyter.port)
        wait_until(lambda: any("answers again" in line for line in command.said), 60, "jtui open to see it back")
        assert api_status(url) == 200, "the URL printed before answers"
        assert command.proc.poll() is None and command.stop() == 0
    finally:
        if command.proc.poll() is None:
            command.proc.kill()
        jupyter.stop()
        if again is not None:
            again.stop()


async def test_open_against_a_running_demo_stays_up(tmp_path, monkeypatch):
    """`jtui open demo` with the demo's ssh_config: the demo server must not drop the connection."""
    from jtui.core.demo import start_demo_server

    runtime = tmp_path / "runtime"
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    jupyter = start_jupyter(runtime, tmp_path / "nb")
    demo = await start_demo_server()
    command = None
    try:
        command = await asyncio.to_thread(OpenCommand, "demo", "--config", demo.config_file)
        url = await asyncio.to_thread(command.url)
        closed_probe = asyncio.get_running_loop().time() + 3  # past the probe it closed after one sample
        while asyncio.get_running_loop().time() < closed_probe:
            assert command.proc.poll() is None, "".join(command.said)
            assert await asyncio.to_thread(api_status, url) == 200
            await asyncio.sleep(0.5)
        assert not any("connection lost" in line for line in command.said), command.said
        assert await asyncio.to_thread(command.stop) == 0
    finally:
        if command is not None and command.proc.poll() is None:
            command.proc.kill()
        await demo.close()
        jupyter.stop()


def test_jtui_open_says_when_the_link_cannot_come_back_without_a_login():
    """The screen waits for enter there; a command has no enter key: it says the forward stays down."""
    from jtui.core.model import HostState, HostStatus
    from jtui.core.oneshot import _Narrator

    said: list[str] = []
    narrator = _Narrator(said.append)
    for state, reason in ((HostState.CONNECTED, ""), (HostState.RECONNECTING, "connection lost"),
                          (HostState.NEEDS_INPUT, "needs a passphrase or password: press enter to log in")):
        narrator.session_status(HostStatus("gpu", state, reason))
    assert said[-1] == "needs a passphrase or password: the forward stays down until the command runs again"
    narrator.session_status(HostStatus("gpu", HostState.RECONNECTING, "connection lost"))
    narrator.session_status(HostStatus("gpu", HostState.NEEDS_INPUT,
                                       "unknown host key ssh-ed25519 SHA256:abc: press enter to review it"))
    assert said[-1] == "unknown host key ssh-ed25519 SHA256:abc: the forward stays down until the command runs again"
