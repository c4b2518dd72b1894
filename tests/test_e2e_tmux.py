"""End to end in a real terminal: jtui in tmux against the real sshd and jupyter_server.

Select the host, `s`, wait for the server, `c`: the URL that tmux received
by OSC 52 must answer /api/status through jtui's forward. Then `x` stops it.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import subprocess
import sys
import time

import pytest

from tests.harness.http import api_status
from tests.harness.jupyter import runtime_info
from tests.harness.require import need_program
from tests.harness.sockets import listeners
from tests.harness.sshd import alive, keygen
from tests.harness.tmux import Tmux
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.integration

URL = re.compile(r"http://localhost:(\d+)/\?token=[0-9a-f]+")


@pytest.fixture
def tmux():
    need_program("tmux")
    t = Tmux()
    yield t
    t.kill()


@pytest.fixture
def jtui_env(fresh_sshd, isolated_dirs, tmp_path):
    """Config for jtui: the sshd's host as `testhost`, Jupyter as `jupyter server` in a work dir."""
    config_home = isolated_dirs / "config"
    (config_home / "jtui").mkdir()
    (config_home / "jtui" / "config.toml").write_text(
        'refresh = 0.5\n[defaults]\njupyter = "jupyter server"\nroot_dir = "~/work"\n'
    )
    (fresh_sshd.home / "work").mkdir()
    env = {k: os.environ[k] for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=os.environ.get("HOME", "/root"), TERM="xterm-256color", PATH=os.environ["PATH"], COLORTERM="truecolor")
    return fresh_sshd, env


def jtui_command(sshd) -> list[str]:
    # `env -u TMUX`: the URL can then reach tmux's buffer only through OSC 52.
    return ["env", "-u", "TMUX", "-u", "COLUMNS", "-u", "LINES", sys.executable, "-m", "jtui", "--config", str(sshd.config_file)]


def runtime_files(sshd) -> list[str]:
    return sorted(glob.glob(str(sshd.runtime_dir / "jpserver-*.json")))



def test_start_copy_stop_in_tmux(tmux, jtui_env):
    sshd, env = jtui_env
    tmux.start(jtui_command(sshd), env)
    tmux.wait_for(lambda s: "● connected" in s, what="testhost connected")
    tmux.wait_for(lambda s: "press s to start one" in s, what="the empty server table")

    tmux.keys("s")
    wait_until(lambda: runtime_info(runtime_files(sshd)), what="a runtime file")
    info = runtime_info(runtime_files(sshd))
    port, pid = info["port"], info["pid"]
    tmux.wait_for(lambda s: re.search(rf"^.*{port}\s.*\s{pid}\s", s, re.M), what="the server in the table")

    tmux.keys("c")
    wait_until(lambda: URL.search(tmux.buffer()), what="the URL in tmux's buffer (OSC 52)")
    url = URL.search(tmux.buffer()).group(0)
    assert api_status(url) == 200
    assert url.split("token=")[1] == info["token"]
    tmux.wait_for(lambda s: "↔" in s, what="the forward column")

    local_port = int(URL.search(url).group(1))
    assert {entry.address for entry in listeners(local_port)} == {"127.0.0.1"}
    assert {entry.address for entry in listeners(port)} == {"127.0.0.1"}

    tmux.keys("x")
    tmux.wait_for(lambda s: "Stop the Jupyter server" in s, what="the confirm dialog")
    tmux.keys("y")
    wait_until(lambda: not alive(pid) and not runtime_files(sshd), what="the server and its runtime file gone")
    assert not listeners(local_port), "the forward went with the server"
    tmux.wait_for(lambda s: "press s to start one" in s, what="the server gone from the table")


def test_server_survives_quit_and_is_found_again(tmux, jtui_env):
    sshd, env = jtui_env
    tmux.start(jtui_command(sshd), env)
    tmux.wait_for(lambda s: "● connected" in s, what="testhost connected")
    tmux.keys("s")
    wait_until(lambda: runtime_info(runtime_files(sshd)), what="a runtime file")
    info = runtime_info(runtime_files(sshd))
    tmux.wait_for(lambda s: str(info["pid"]) in s, what="the server in the table")
    tmux.keys("q")
    tmux.wait_for(lambda s: "● connected" not in s, what="jtui to quit")
    time.sleep(1)
    assert alive(info["pid"]), "the server must outlive jtui"
    assert runtime_files(sshd)

    again = Tmux()
    try:
        again.start(jtui_command(sshd), env)
        again.wait_for(lambda s: str(info["pid"]) in s and str(info["port"]) in s, what="the server listed again")
    finally:
        again.kill()


def test_closing_the_terminal_at_once_ends_jtui(tmux, tmp_path, isolated_dirs):
    """The window closed right at the first frame: jtui must not linger, unseen, for ever.

    Restoring a terminal that is gone can block Textual's exit; jtui leaves
    without it on SIGHUP. Several rounds, since the hang depended on timing.
    """
    hosts = tmp_path / "hosts"
    # 200 hosts dialled at once, each refused on this machine (never a name to look up on a network)
    hosts.write_text("".join(f"Host h{i}\n  HostName 127.0.0.1\n  Port 1\n" for i in range(200)))
    env = {k: os.environ[k] for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(tmp_path), TERM="xterm-256color", PATH=os.environ["PATH"])
    tmux.start(["sleep", "60"], env)
    command = "exec env " + " ".join(f"{k}={v}" for k, v in env.items()) + f" {sys.executable} -m jtui --config {hosts}"
    for _ in range(5):
        tmux.run("respawn-pane", "-k", "-t", "main", command)
        pid = int(tmux.run("display-message", "-p", "-t", "main", "#{pane_pid}").stdout)
        tmux.wait_for(lambda screen: "h0" in screen, what="the first frame")
        tmux.run("respawn-pane", "-k", "-t", "main", "sleep 60")  # the terminal goes: SIGHUP
        try:
            wait_until(lambda: not alive(pid), timeout=20, what="jtui to exit after its terminal closed")
        finally:
            if alive(pid):
                os.kill(pid, 9)


def test_jtui_status_asks_for_a_passphrase_on_the_terminal_as_ssh_does(tmux, jtui_env, tmp_path):
    """A person typing `jtui status HOST` with a locked key and no agent is asked there, echo off;
    ctrl-c at the prompt ends the command (a script with no terminal gets the reason instead)."""
    sshd, env = jtui_env
    passphrase = "correct horse"
    key = tmp_path / "id_locked"
    with open(sshd.authorized_keys, "a") as f:
        f.write(keygen(key, "locked", passphrase) + "\n")
    config = tmp_path / "locked.conf"
    config.write_text(sshd.client_config("locked", batch=False).replace(str(sshd.client_key), str(key)))
    status = [sys.executable, "-m", "jtui", "status", "locked", "--config", str(config)]
    tmux.start(["sh", "-c", f"{shlex.join(status)}; echo exit=$?"], env)

    tmux.wait_for(lambda s: f"locked: Passphrase for {key}:" in s, what="the passphrase prompt")
    tmux.run("send-keys", "-t", "main", "-l", "wrong")
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "(wrong, try again):" in s, what="the second prompt")
    tmux.run("send-keys", "-t", "main", "-l", passphrase)
    tmux.keys("Enter")
    screen = tmux.wait_for(lambda s: "exit=" in s, what="the status printed")
    assert "exit=0" in screen and "  cpu " in screen and "  mem " in screen
    assert passphrase not in screen and "wrong" not in screen.replace("(wrong, try again)", "")

    # Again, as a shell runs it (the shell sees ctrl-c too, and must carry on)
    command = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join(status)
    tmux.run("respawn-pane", "-k", "-t", "main", f"env {command}; echo exit=$?; sleep 600")
    tmux.wait_for(lambda s: "Passphrase for" in s, what="the second run's prompt")
    tmux.keys("C-c")
    screen = tmux.wait_for(lambda s: "exit=" in s, what="the second run ended by ctrl-c")
    assert "jtui: locked: login cancelled" in screen and "exit=1" in screen

    no_terminal = subprocess.run(status, capture_output=True, text=True, timeout=60, start_new_session=True,
                                 env={**os.environ, **env})
    assert no_terminal.returncode == 1 and "there is no terminal to ask on" in no_terminal.stderr

    # BatchMode yes in the config: asked nothing at a terminal either, as ssh would not ask
    config.write_text(sshd.client_config("locked").replace(str(sshd.client_key), str(key)))
    tmux.run("respawn-pane", "-k", "-t", "main", f"env {command}; echo exit=$?; sleep 600")
    screen = tmux.wait_for(lambda s: "exit=" in s, what="the run under BatchMode yes")
    assert "Passphrase for" not in screen and "exit=1" in screen
    assert "the SSH config says BatchMode yes" in screen


def test_a_filter_typed_in_one_burst_reaches_the_filter(tmux, tmp_path, isolated_dirs):
    """`/box⏎j` sent to the terminal at once (a fast typist, a laggy link): every letter
    lands in the filter, ⏎ keeps it (and connects nothing), j moves to the next match."""
    hosts = tmp_path / "hosts"
    # Port 1 on this machine: refused, if anything ever dialled it (autoconnect is off).
    hosts.write_text("".join(f"Host {name}\n  HostName 127.0.0.1\n  Port 1\n" for name in ("alpha-box", "beta", "gamma-box")))
    (isolated_dirs / "config" / "jtui").mkdir(parents=True, exist_ok=True)
    (isolated_dirs / "config" / "jtui" / "config.toml").write_text("[defaults]\nautoconnect = false\n")
    env = {k: os.environ[k] for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(tmp_path), TERM="xterm-256color", PATH=os.environ["PATH"])
    tmux.start([sys.executable, "-m", "jtui", "--config", str(hosts)], env)
    tmux.wait_for(lambda screen: "gamma-box" in screen and "not connected" in screen, what="the first frame")
    tmux.keys("/box", "Enter", "j")
    selected = re.compile(r"gamma-box  \S+@127\.0\.0\.1:1 ")  # the detail pane's header
    screen = tmux.wait_for(lambda screen: selected.search(screen) is not None, what="gamma-box selected")
    listed = [line.split("│")[1] for line in screen.splitlines() if line.startswith("│")]
    assert any(cell.strip(" ▊▎") == "box" for cell in listed), f"the kept filter shows what was typed:\n{screen}"
    assert not any("beta" in cell for cell in listed), "beta is filtered out"
    assert "refused" not in screen and "connecting" not in screen, "enter connected nothing"
