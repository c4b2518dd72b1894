"""`jtui status` and `jtui open` as scripts use them, against the real sshd."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.harness.jupyter import start_jupyter
from tests.harness.sockets import listeners
from tests.harness.sshd import free_port

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


def test_status_of_an_unknown_alias(sshd):
    out = jtui("status", "nope", "--config", str(sshd.config_file))
    assert out.returncode == 1 and "unknown host 'nope'" in out.stderr


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
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {jupyter.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
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
        local = int(url.split(":")[2].split("/")[0])
        token = url.split("token=")[1]
        req = urllib.request.Request(f"http://127.0.0.1:{local}/api/status", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "started Jupyter" in proc.stderr.read()
        time.sleep(0.5)
        assert list(fresh_sshd.runtime_dir.glob("jpserver-*.json")), "the started server keeps running"
    finally:
        if proc.poll() is None:
            proc.kill()
