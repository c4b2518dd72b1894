"""A private tmux server for end-to-end tests: jtui in a real terminal."""

from __future__ import annotations

import shlex
import subprocess
import time
import uuid
from dataclasses import dataclass, field


@dataclass
class Tmux:
    socket: str = field(default_factory=lambda: f"jtui-test-{uuid.uuid4().hex[:12]}")
    width: int = 120
    height: int = 36

    def run(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              input=input, check=check, timeout=20)

    def start(self, command: list[str], env: dict[str, str]) -> "Tmux":
        """Start a server whose first pane runs `command` with `env` (and set-clipboard on)."""
        env_prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        shell_command = f"env {env_prefix} {shlex.join(command)}; sleep 600"
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", str(self.width), "-y", str(self.height), shell_command)
        self.run("set-option", "-g", "set-clipboard", "on")
        self.run("resize-window", "-t", "main", "-x", str(self.width), "-y", str(self.height))
        return self

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "main").stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "main", *keys)

    def buffer(self) -> str:
        out = self.run("show-buffer", check=False)
        return out.stdout if out.returncode == 0 else ""

    def wait_for(self, predicate, timeout: float = 60, what: str = "") -> str:
        """Poll the screen until predicate(screen) is true; fail with the last screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; screen was:\n{screen}")

    def kill(self) -> None:
        self.run("kill-server", check=False)
