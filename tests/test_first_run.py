"""The README's first command, verbatim, as a newcomer runs it on a fresh machine.

A copy of the checkout's tracked files, an empty HOME, no project venv on
PATH, a real terminal (tmux): the command must install jtui and show the
`demo` host live; `s` then `c` must put a localhost URL in the clipboard
(OSC 52, the only way in: the child has no TMUX) that answers through the
forward. `q` removes the demo's temporary keys, leaves the server running
and hands back the terminal as pip left it, with nothing printed on exit.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from tests.harness.http import get
from tests.harness.jupyter import runtime_info
from tests.harness.newcomer import fresh_checkout, newcomer_env, pip_config_file
from tests.harness.require import need_program
from tests.harness.sockets import listeners
from tests.harness.sshd import alive, stop_pid
from tests.harness.tmux import Tmux
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]

URL = re.compile(r"http://localhost:(\d+)(/\S*?)\?token=([^\s&#]+)")
INSTALL_WAIT = 600  # a generous bound for venv + pip install on a slow machine
LIVE = re.compile(r"demo\s+\d+%\s+\d+%")  # the host list's cpu and mem columns


def readme_first_command() -> str:
    """The first ```sh block of the README's "Try it" section, as written there."""
    text = (REPO / "README.md").read_text()
    section = re.search(r"^## Try it\b.*?(?=^## )", text, re.M | re.S)
    assert section, "README.md has no '## Try it' section"
    block = re.search(r"^```sh\n(.*?)^```", section.group(0), re.M | re.S)
    assert block, "the Try it section has no ```sh block"
    command = block.group(1).strip()
    assert command and "\n" not in command, f"expected one command line, got:\n{command}"
    return command


def runtime_files(home: Path) -> list[str]:
    """Jupyter's default runtime dir under the fresh HOME, as the newcomer's Jupyter uses it."""
    return sorted(glob.glob(str(home / ".local/share/jupyter/runtime/jpserver-*.json")))


def demo_dirs(tmpdir: Path) -> list[str]:
    return sorted(glob.glob(str(tmpdir / "jtui-demo-*")))


def jtui_pids(checkout: Path) -> list[int]:
    """Processes running the fresh checkout's .venv/bin/jtui."""
    script = checkout / ".venv" / "bin" / "jtui"
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = Path(os.readlink(f"/proc/{entry}/cwd"))
        except OSError:
            continue
        # the interpreter's argv names the script as typed: `.venv/bin/jtui`, relative to the cwd
        if any(arg and cwd / arg == script for arg in argv[1:3]):
            pids.append(int(entry))
    return pids


def untracked_files() -> list[str]:
    """Files a clone would lack: new, not yet `git add`ed (and not ignored)."""
    return subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--others", "--exclude-standard"],
        capture_output=True, text=True, check=True,
    ).stdout.split()


def while_running(tmux: Tmux, predicate, timeout: float, what: str) -> str:
    """tmux.wait_for, failing at once with the screen when the README's command has ended."""

    def check(screen: str) -> bool:
        if predicate(screen):
            return True
        now = tmux.run("display-message", "-p", "-t", "main", "#{pane_current_command}").stdout.strip()
        if now == "sleep":  # the pane's `; sleep 600`: the command chain is over
            note = untracked_files()
            hint = f"\n(untracked, so not in the fresh checkout: {', '.join(note)})" if note else ""
            raise AssertionError(f"the README's command ended while waiting for {what}{hint}; screen was:\n{tmux.screen()}")
        return False

    return tmux.wait_for(check, timeout=timeout, what=what)



def test_readme_first_command_on_a_fresh_machine(tmp_path):
    need_program("tmux")
    need_program("git")
    command = readme_first_command()

    checkout = tmp_path / "jtui"
    home = tmp_path / "home"
    tmpdir = tmp_path / "tmp"
    for d in (checkout, home, tmpdir):
        d.mkdir()
    fresh_checkout(checkout)
    env = newcomer_env(home, tmpdir, pip_config_file(tmp_path / "pip.conf"))

    # `env -i`: the pane gets exactly the newcomer's environment (no TMUX, no
    # venv, nothing else from the developer or the tmux server).
    shell = f"cd {shlex.quote(str(checkout))} && {command}"
    argv = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), "/bin/sh", "-c", shell]

    tmux = Tmux()
    venv_at = installed_at = connected_at = None
    jupyter_pid = None
    pids: list[int] = []
    started = time.monotonic()
    try:
        tmux.start(argv, {})
        while_running(tmux, lambda s: (checkout / ".venv/bin/pip").exists(), INSTALL_WAIT, "the venv")
        venv_at = time.monotonic() - started
        site = str(checkout / ".venv/lib/python*/site-packages/jtui-*.dist-info")
        while_running(tmux, lambda s: glob.glob(site), INSTALL_WAIT, "pip to install jtui")
        installed_at = time.monotonic() - started

        while_running(
            tmux, lambda s: LIVE.search(s) and "connected" in s and "CPU" in s and "GiB" in s,
            INSTALL_WAIT, "the demo host connected with CPU and MEM figures",
        )
        connected_at = time.monotonic() - started
        # What the terminal showed before jtui took the alternate screen: pip's output.
        before = tmux.run("capture-pane", "-p", "-a", "-t", "main").stdout
        pids = jtui_pids(checkout)
        assert pids, "the fresh venv's jtui runs"
        assert len(demo_dirs(tmpdir)) == 1, "the demo made one private temp dir"
        demo_dir = demo_dirs(tmpdir)[0]
        assert os.stat(demo_dir).st_mode & 0o077 == 0, "the demo's keys live in a private dir"

        tmux.keys("s")

        def listed(s: str) -> bool:
            info = runtime_info(runtime_files(home))
            if info is None:
                return False
            return re.search(rf"^.*\b{info['port']}\s.*\s{info['pid']}\s", s, re.M) is not None  # port, what, pid

        while_running(tmux, listed, 120, "the started server in the server table")
        assert len(runtime_files(home)) == 1
        info = json.loads(Path(runtime_files(home)[0]).read_text())
        jupyter_pid = info["pid"]

        tmux.keys("c")
        while_running(tmux, lambda s: URL.search(tmux.buffer()), 60, "the URL in tmux's buffer (OSC 52)")
        url = URL.search(tmux.buffer())
        local_port, token = int(url.group(1)), url.group(3)
        assert token == info["token"]
        assert get(url.group(0)) == 200, "the copied URL itself answers"
        api = f"http://localhost:{local_port}{url.group(2).rstrip('/')}/api/status"
        assert get(api, token or "") == 200, "the token in the URL opens the API"
        assert get(api) == 403, "without the token the API refuses"
        assert {entry.address for entry in listeners(local_port)} == {"127.0.0.1"}
        assert {entry.address for entry in listeners(info["port"])} == {"127.0.0.1"}
        while_running(tmux, lambda s: "↔" in s, 30, "the forward in the server table")

        tmux.keys("q")
        wait_until(lambda: not any(alive(p) for p in pids), timeout=60, what="jtui to exit")
        assert demo_dirs(tmpdir) == [], "q removed the demo's temp dir and keys"
        assert alive(jupyter_pid), "the server outlives jtui, by design"
        assert runtime_files(home), "and its runtime file stays"
        assert not listeners(local_port), "the forward ended with jtui"
        after = tmux.wait_for(
            lambda s: "Hosts" not in s and tmux.run("display-message", "-p", "-t", "main", "#{pane_current_command}").stdout.strip() == "sleep",
            timeout=30, what="the terminal back from jtui",
        )
        last = before.rstrip().splitlines()[-1]
        extra = after.rstrip().rpartition(last)[2].strip("\n") if last in after else after
        assert not extra.strip(), f"after q the terminal shows more than pip's output:\n{extra}"
    finally:
        tmux.kill()
        for pid in pids:
            stop_pid(pid)
        for file in runtime_files(home):  # whatever Jupyter the run started, by PID
            try:
                stop_pid(json.loads(Path(file).read_text())["pid"])
            except (OSError, ValueError, KeyError):
                pass
        if jupyter_pid is not None:
            stop_pid(jupyter_pid)
        print(
            f"\nfirst run: venv after {venv_at and round(venv_at, 1)} s, pip install done after {installed_at and round(installed_at, 1)} s, "
            f"demo live after {connected_at and round(connected_at, 1)} s, "
            f"whole test {time.monotonic() - started:.1f} s"
        )
