"""Real services on the test sshd's "remote" side (this machine): http.server, TensorBoard, JupyterHub.

Each is started as its user would start it, on a port the OS or the test
picks, and stopped by PID (process group) when the test is done.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harness.require import unavailable
from tests.harness.sshd import free_port

VENV_BIN = Path(sys.executable).parent


@dataclass
class Running:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def _start(args: list[str], log: Path, port_pattern: str | None, port: int = 0, timeout: float = 60,
           env: dict | None = None, cwd: Path | None = None) -> Running:
    """Start `args` in its own process group; wait for `port_pattern` in its log (or for `port` to answer)."""
    out = open(log, "wb")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=dict(os.environ, **(env or {})), cwd=cwd)
    out.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{args[0]} exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        text = log.read_text(errors="replace")
        match = re.search(port_pattern, text) if port_pattern else None
        if match:
            return Running(proc, int(match.group(1)), log)
        if port and _answers(port):
            return Running(proc, port, log)
        time.sleep(0.1)
    Running(proc, port, log).stop()
    raise RuntimeError(f"{args[0]} did not come up within {timeout:g} s:\n{log.read_text()[-2000:]}")


def _answers(port: int, path: str = "/") -> bool:
    from tests.harness.http import get

    try:
        return get(f"http://127.0.0.1:{port}{path}", timeout=2) < 500
    except OSError:
        return False


def http_server(folder: Path, bind: str = "0.0.0.0") -> Running:
    """`python -m http.server --bind ADDRESS 0`, the quickest way people share a folder."""
    folder.mkdir(parents=True, exist_ok=True)
    return _start([sys.executable, "-u", "-m", "http.server", "--bind", bind, "0"], folder.parent / f"{folder.name}-http.log",
                  r"port (\d+)", cwd=folder)


def tensorboard(logdir: Path) -> Running:
    """Real TensorBoard (no TensorFlow) on a log dir holding one scalar event."""
    program = VENV_BIN / "tensorboard"
    if not program.exists():
        unavailable("tensorboard is not installed in the test venv (pip install -e '.[test]')")
    logdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", (
        "from tensorboard.summary.writer.event_file_writer import EventFileWriter\n"
        "from tensorboard.compat.proto import event_pb2, summary_pb2\n"
        f"w = EventFileWriter({str(logdir)!r})\n"
        "v = summary_pb2.Summary.Value(tag='loss', simple_value=0.5)\n"
        "w.add_event(event_pb2.Event(step=1, wall_time=1.0, summary=summary_pb2.Summary(value=[v])))\n"
        "w.close()\n")], check=True, capture_output=True)
    return _start([str(program), "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0"],
                  logdir.parent / "tensorboard.log", r"TensorBoard \S+ at http://\S+:(\d+)/", timeout=90)


HUB_TOKEN = "jtui-test-hub-token-0123456789abcdef"
HUB_USER = "alice"


@dataclass
class Hub:
    running: Running
    api_port: int  # the hub's own (internal) port
    root: Path

    @property
    def port(self) -> int:
        """The proxy's public port: what users open."""
        return self.running.port

    def stop(self) -> None:
        """The hub, then its proxy, which runs in a session of its own and may outlive the hub."""
        self.running.stop()
        try:
            proxy = int((self.root / "proxy.pid").read_text())
        except (OSError, ValueError):
            return
        try:
            os.kill(proxy, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{proxy}"):
            time.sleep(0.1)


def jupyterhub(root: Path) -> Hub:
    """A real JupyterHub: dummy authenticator, simple local spawner, configurable-http-proxy, all on 127.0.0.1."""
    if not (VENV_BIN / "jupyterhub").exists():
        unavailable("jupyterhub is not installed in the test venv (pip install -e '.[test]')")
    proxy = shutil.which("configurable-http-proxy")
    if proxy is None:
        unavailable("configurable-http-proxy is not on PATH (npm install -g configurable-http-proxy; .ci/run does)")
    root.mkdir(parents=True, exist_ok=True)
    public, hub_port, proxy_api = free_port(), free_port(), free_port()
    config = {
        "ip": "127.0.0.1", "port": public, "hub_ip": "127.0.0.1", "hub_port": hub_port,
        "db": f"sqlite:///{root / 'hub.sqlite'}", "cookie": str(root / "cookie_secret"),
        "pid": str(root / "proxy.pid"), "proxy_api": f"http://127.0.0.1:{proxy_api}", "proxy": proxy,
        "singleuser": str(VENV_BIN / "jupyterhub-singleuser"), "home": str(root / "users" / "{username}"),
        "token": HUB_TOKEN, "user": HUB_USER,
    }
    (root / "jupyterhub_config.py").write_text(f"""
import json
cfg = json.loads({json.dumps(json.dumps(config))})
c = get_config()
c.JupyterHub.ip = cfg["ip"]
c.JupyterHub.port = cfg["port"]
c.JupyterHub.hub_ip = cfg["hub_ip"]
c.JupyterHub.hub_port = cfg["hub_port"]
c.JupyterHub.db_url = cfg["db"]
c.JupyterHub.cookie_secret_file = cfg["cookie"]
c.ConfigurableHTTPProxy.pid_file = cfg["pid"]
c.ConfigurableHTTPProxy.api_url = cfg["proxy_api"]
c.ConfigurableHTTPProxy.command = [cfg["proxy"]]
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = cfg["home"]
c.Spawner.cmd = [cfg["singleuser"]]
c.Spawner.args = ["--allow-root"]
c.Spawner.default_url = "/lab"
c.Authenticator.allowed_users = {{cfg["user"]}}
c.JupyterHub.services = [{{"name": "jtui-test", "api_token": cfg["token"]}}]
c.JupyterHub.load_roles = [{{"name": "jtui-test", "services": ["jtui-test"],
                             "scopes": ["admin:users", "admin:servers", "access:servers", "read:hub"]}}]
""")
    running = _start([str(VENV_BIN / "jupyterhub"), "-f", str(root / "jupyterhub_config.py")],
                     root / "hub.log", None, port=public, timeout=120, cwd=root,
                     env={"PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"})
    hub = Hub(running, hub_port, root)
    deadline = time.monotonic() + 60
    while not _answers(public, "/hub/api/"):  # the proxy is up before it routes to the hub
        if time.monotonic() > deadline:
            hub.stop()
            raise RuntimeError(f"the hub's API never answered:\n{(root / 'hub.log').read_text()[-2000:]}")
        time.sleep(0.2)
    return hub
