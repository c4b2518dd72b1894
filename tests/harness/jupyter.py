"""A real jupyter_server on 127.0.0.1, started on the test sshd's "remote" side.

It writes its runtime file into the sshd's JUPYTER_RUNTIME_DIR, so the probe
and jtui find it exactly as they would on a real host.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

JUPYTER = str(Path(sys.executable).parent / "jupyter")


def runtime_info(paths: list[str]) -> dict | None:
    """The first of these runtime files that holds a server's JSON; None while Jupyter is still writing it.

    Jupyter creates the file empty, then writes it: a poll can read it in between.
    """
    for path in paths:
        try:
            return json.loads(Path(path).read_text())
        except (OSError, ValueError):
            continue
    return None


@dataclass
class RunningJupyter:
    proc: subprocess.Popen
    info: dict  # the runtime file's content
    runtime_file: Path

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def token(self) -> str:
        return self.info.get("token", "")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def status(self, port: int | None = None) -> int:
        """GET /api/status on 127.0.0.1:PORT (default: the server's own port): the HTTP status."""
        from tests.harness.http import status_of

        return status_of(port or self.port, self.token, self.info.get("base_url", "/"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_jupyter(
    runtime_dir: Path,
    root_dir: Path,
    *,
    env: dict | None = None,
    token: str | None = "test-token-0123456789",
    kind: str = "server",
    timeout: float = 60,
    extra: list[str] | tuple[str, ...] = (),
    ip: str | None = "127.0.0.1",  # None: whatever the server's config says
    port: int = 0,  # 0: a free one
) -> RunningJupyter:
    """Start `jupyter server` (or `jupyter notebook` when installed) and wait for its runtime file."""
    runtime_dir.mkdir(parents=True, exist_ok=True)
    root_dir.mkdir(parents=True, exist_ok=True)
    before = set(glob.glob(str(runtime_dir / "*server-*.json")))
    args = [JUPYTER, kind, "--no-browser", f"--port={port}", f"--ServerApp.root_dir={root_dir}"]
    if ip is not None:
        args.append(f"--ip={ip}")
    if token is not None:
        args.append(f"--IdentityProvider.token={token}")
    if os.geteuid() == 0:
        args.append("--allow-root")
    args.extend(extra)
    full_env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime_dir), **(env or {}))
    log = open(runtime_dir.parent / f"jupyter-test-{time.time_ns()}.log", "wb")
    proc = subprocess.Popen(args, env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter exited with {proc.returncode}: see {log.name}")
        for path in set(glob.glob(str(runtime_dir / "*server-*.json"))) - before:
            info = runtime_info([path])
            if info is None:
                continue
            if info.get("pid") == proc.pid and info.get("port"):
                server = RunningJupyter(proc, info, Path(path))
                try:
                    if server.status() in (200, 403):  # 403: up, and asking for a password
                        return server
                except OSError:
                    pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("jupyter server did not start within the timeout")
