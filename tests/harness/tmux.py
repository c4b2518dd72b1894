"""A private tmux server for end-to-end tests: jtui in a real terminal.

Private all the way: its socket lives in a temporary TMUX_TMPDIR of its own
(removed by kill()), and tmux is run with an environment of its own, so a
test suite started from inside the developer's tmux neither talks to that
server nor leaves sockets behind.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

# What a terminal outside tmux would pass on; the caller's TMUX, TMUX_PANE, TERM... are not.
_KEPT = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
         "XDG_DATA_HOME", "XDG_CACHE_HOME")


@dataclass
class Tmux:
    socket: str = "jtui-test"
    width: int = 120
    height: int = 36
    folder: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="jtui-tmux-"))

    @property
    def environment(self) -> dict[str, str]:
        env = {name: os.environ[name] for name in _KEPT if name in os.environ}
        env.update(TMUX_TMPDIR=self.folder, TERM="xterm-256color")
        return env

    def run(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              input=input, check=check, timeout=20, env=self.environment)

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
        shutil.rmtree(self.folder, ignore_errors=True)
