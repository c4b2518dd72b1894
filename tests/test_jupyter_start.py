"""Starting and stopping real jupyter_server processes through a real sshd.

The "remote" is this machine, so the tests check the truth directly: the
process table, /proc/PID/environ and cmdline, and the kernel's socket table.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pwd
import shlex
import signal
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import asyncssh
import pytest

from jtui.core.forwards import ForwardManager
from jtui.core.jupyter import StartError, start_server, stop_server
from jtui.core.model import JupyterServer
from jtui.core.remote import Remote
from jtui.core.resolve import connection_options
from jtui.core.settings import HostSettings
from jtui.core.urls import localhost_url
from tests.harness.http import get
from tests.harness.sockets import listeners_of
from tests.harness.sshd import SshServer, alive, free_port
from tests.harness.waiting import poll

pytestmark = pytest.mark.integration

VENV_JUPYTER = str(Path(sys.executable).parent / "jupyter")
IS_ROOT = os.geteuid() == 0


def options(server: SshServer):
    return connection_options("testhost", [str(server.config_file)], client_keys=[str(server.client_key)])


def connect(server: SshServer):
    return asyncssh.connect(options=options(server))


@pytest.fixture
async def conn(sshd):
    async with connect(sshd) as connection:
        yield connection


@pytest.fixture
def root_dir(sshd):
    """A fresh project dir under the remote HOME, as `~/...` and as a local Path."""
    name = f"proj-{uuid.uuid4().hex[:8]}"
    path = sshd.home / name
    path.mkdir()
    return f"~/{name}", path


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(p.split("=", 1) for p in pairs if "=" in p)


def session_members(sid: int) -> list[int]:
    """Live processes whose session id is `sid` (what jtui's setsid created)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                members.append(int(entry))
    return members


def status_url(url: str) -> str:
    """The /api/status URL next to a server URL, keeping its ?token=."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path + "api/status"))


@pytest.fixture
def reap():
    """PIDs to kill after the test, whatever happened; the sshd fixture is the safety net."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        for members in (session_members(pid), [pid]):
            for member in members:
                try:
                    os.kill(member, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        if not poll(lambda: not alive(pid), 10):
            os.kill(pid, signal.SIGKILL)


async def start(conn, reap, **settings):
    started = await start_server(Remote(conn), HostSettings(**settings))
    reap.append(started.server.pid)
    return started


# --- a started server -----------------------------------------------------------------


async def test_started_server_answers_through_a_forward(sshd, conn, root_dir, reap, caplog):
    caplog.set_level(logging.DEBUG)
    said: list[str] = []
    started = await start_server(
        Remote(conn), HostSettings(jupyter="jupyter server", root_dir=root_dir[0]), progress=said.append
    )
    reap.append(started.server.pid)
    server = started.server
    assert server.root_dir == str(root_dir[1])
    assert server.token and server.kind == "jpserver"
    assert Path(server.runtime_file) == sshd.runtime_dir / f"jpserver-{server.pid}.json"
    assert started.runtime_dir == str(sshd.runtime_dir)
    assert started.launched_pid == server.pid  # setsid, nohup, login shell, sh: all exec
    assert said[0].startswith("starting `jupyter server`") and "up on remote port" in said[-1]

    forwards = ForwardManager(conn)
    try:
        forward = await forwards.bind(server)
        url = localhost_url(server, forward.local_port)
        assert await asyncio.to_thread(get, status_url(url)) == 200
    finally:
        await forwards.close_all()
    await stop_server(Remote(conn), server)
    assert not alive(server.pid)
    assert not Path(server.runtime_file).exists()
    assert server.token not in caplog.text


async def test_server_listens_on_loopback_only(conn, root_dir, reap):
    started = await start(conn, reap, jupyter="jupyter server", root_dir=root_dir[0])
    server = started.server
    sockets = listeners_of(server.pid)
    assert sockets, "the server holds no listening socket"
    assert {(s.address, s.port) for s in sockets} == {("127.0.0.1", server.port)}
    await stop_server(Remote(conn), server)


async def test_root_is_marked_and_allowed(conn, root_dir, reap):
    started = await start(conn, reap, jupyter="jupyter server", root_dir=root_dir[0])
    assert started.as_root is IS_ROOT
    assert ("--allow-root" in cmdline(started.server.pid)) is IS_ROOT
    await stop_server(Remote(conn), started.server)


async def test_token_never_on_a_command_line_nor_in_the_log(conn, root_dir, reap):
    """The token travels in the script on stdin and in JUPYTER_TOKEN, never in argv."""
    seen: set[bytes] = set()
    done = threading.Event()

    def sample_command_lines() -> None:
        while not done.is_set():
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        seen.add(Path(f"/proc/{entry}/cmdline").read_bytes())
                    except OSError:
                        pass

    sampler = threading.Thread(target=sample_command_lines, daemon=True)
    sampler.start()
    try:
        started = await start(conn, reap, jupyter="jupyter server", root_dir=root_dir[0])
    finally:
        done.set()
        sampler.join()
    token = started.server.token.encode()
    assert len(seen) > 10  # the sampler did watch the start
    assert not [c for c in seen if token in c]
    now = [Path(f"/proc/{e}/cmdline").read_bytes() for e in os.listdir("/proc") if e.isdigit() and alive(int(e))]
    assert not [c for c in now if token in c]
    assert environ(started.server.pid)["JUPYTER_TOKEN"] == started.server.token
    log_file = Path(started.log_path)
    assert token.decode() not in log_file.read_text()
    assert oct(log_file.stat().st_mode & 0o777) == oct(0o600)
    assert oct(log_file.parent.stat().st_mode & 0o777) == oct(0o700)
    await stop_server(Remote(conn), started.server)


async def test_survives_closing_the_connection(sshd, root_dir, reap):
    async with connect(sshd) as first:
        started = await start(first, reap, jupyter="jupyter server", root_dir=root_dir[0])
    server = started.server
    await asyncio.sleep(1)  # give a hangup, if any, time to land
    assert alive(server.pid)
    assert await asyncio.to_thread(get, f"http://127.0.0.1:{server.port}/api/status", server.token) == 200
    async with connect(sshd) as second:
        await stop_server(Remote(second), server)
    assert not alive(server.pid)


async def test_survives_the_connection_dying(fresh_sshd, reap):
    (fresh_sshd.home / "work").mkdir()
    conn = await connect(fresh_sshd)
    started = await start(conn, reap, jupyter="jupyter server", root_dir="~/work")
    server = started.server
    victims = fresh_sshd.connection_pids()
    assert victims
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    await asyncio.wait_for(conn.wait_closed(), 30)
    await asyncio.sleep(1)
    assert alive(server.pid)
    assert await asyncio.to_thread(get, f"http://127.0.0.1:{server.port}/api/status", server.token) == 200
    async with connect(fresh_sshd) as again:
        await stop_server(Remote(again), server)
    assert not alive(server.pid)


async def test_login_shell_profile_is_honoured(fresh_sshd, reap):
    """Only the login profile puts the wrapper on PATH and sets the mark: both must reach Jupyter."""
    home = fresh_sshd.home
    mark = uuid.uuid4().hex
    profile_bin = home / "profile-bin"
    profile_bin.mkdir()
    wrapper = profile_bin / "jupyter-from-profile"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(VENV_JUPYTER)} \"$@\"\n")
    wrapper.chmod(0o755)
    (home / ".profile").write_text(f'PATH="$HOME/profile-bin:$PATH"\nexport JTUI_PROFILE_MARK={mark}\n')
    (home / "work").mkdir()
    async with connect(fresh_sshd) as conn:
        started = await start(conn, reap, jupyter="jupyter-from-profile server", root_dir="~/work")
        env = environ(started.server.pid)
        assert env.get("JTUI_PROFILE_MARK") == mark
        assert "JTUI_LAUNCH" not in env and "JTUI_OUTER_PATH" not in env
        await stop_server(Remote(conn), started.server)


async def test_setup_runs_in_the_login_shell_before_jupyter(fresh_sshd, reap):
    """`setup` (module load, conda activate): shell functions the profile defined, and what they export."""
    home = fresh_sshd.home
    env_bin = home / "envs" / "ds" / "bin"
    env_bin.mkdir(parents=True)
    wrapper = env_bin / "jupyter-in-env"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(VENV_JUPYTER)} \"$@\"\n")
    wrapper.chmod(0o755)
    # Like /etc/profile.d/modules.sh: the profile defines a function, never a program.
    (home / ".profile").write_text('activate() { PATH="$HOME/envs/$1/bin:$PATH"; export PATH ENV_NAME="$1"; }\n')
    (home / "work").mkdir()
    async with connect(fresh_sshd) as conn:
        with pytest.raises(StartError) as caught:  # without the setup, the env's jupyter is nowhere
            await start_server(Remote(conn), HostSettings(jupyter="jupyter-in-env server", root_dir="~/work"))
        assert caught.value.not_installed
        started = await start(conn, reap, jupyter="jupyter-in-env server", root_dir="~/work", setup="activate ds")
        env = environ(started.server.pid)
        assert env.get("ENV_NAME") == "ds" and "JTUI_SETUP" not in env
        await stop_server(Remote(conn), started.server)


async def test_failing_setup_says_so(conn):
    with pytest.raises(StartError) as caught:
        await start_server(Remote(conn), HostSettings(jupyter="jupyter server", root_dir="~", setup="no-such-module-command load x"))
    error = caught.value
    assert "setup commands failed" in error.reason
    assert "no-such-module-command" in error.log_tail and not alive(error.pid)


async def test_tilde_command_path_with_odd_characters(sshd, conn, root_dir, reap):
    """`jupyter = "~/my bin's dir/jupyter wrap server"` style settings, quoted as users write them."""
    bin_dir = sshd.home / f"my bin's dir {uuid.uuid4().hex[:6]}"
    bin_dir.mkdir()
    wrapper = bin_dir / "jupyter wrap"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(VENV_JUPYTER)} \"$@\"\n")
    wrapper.chmod(0o755)
    command = shlex.join([f"~/{bin_dir.name}/jupyter wrap", "server"])
    started = await start(conn, reap, jupyter=command, root_dir=root_dir[0])
    assert started.server.root_dir == str(root_dir[1])
    await stop_server(Remote(conn), started.server)


async def test_wrapper_that_forks_is_recognised(conn, root_dir, reap, tmp_path):
    """A wrapper that runs jupyter as a child (no exec): found by its session, not its pid."""
    wrapper = tmp_path / "forking-jupyter"
    wrapper.write_text(f"#!/bin/sh\n{shlex.quote(VENV_JUPYTER)} \"$@\"\necho wrapper-done\n")
    wrapper.chmod(0o755)
    started = await start_server(Remote(conn), HostSettings(jupyter=f"{wrapper} server", root_dir=root_dir[0]))
    reap.append(started.server.pid)
    launched = started.launched_pid
    reap.append(launched)
    assert started.server.pid != launched
    assert started.server.pid in session_members(launched)
    await stop_server(Remote(conn), started.server)
    assert not alive(started.server.pid)


# --- failures -------------------------------------------------------------------------


async def test_missing_command_fails_with_log_tail_and_hint(conn):
    with pytest.raises(StartError) as caught:
        await start_server(Remote(conn), HostSettings(jupyter="no-such-jupyter lab", root_dir="~"), alias="gpu-box")
    error = caught.value
    assert "not found" in error.reason and error.pid > 0 and not alive(error.pid)
    assert error.not_installed
    assert "jtui: command not found: no-such-jupyter" in error.log_tail
    assert 'jupyter = "..."' in error.hint and "[hosts.gpu-box]" in error.hint
    assert error.log_tail.strip() in str(error) and error.hint in str(error)


async def test_missing_jupyter_subcommand_says_not_installed(conn):
    """`jupyter lab` where only jupyter_server is installed: Jupyter's own words, and why."""
    with pytest.raises(StartError) as caught:
        await start_server(Remote(conn), HostSettings(jupyter="jupyter no-such-subcommand", root_dir="~"))
    error = caught.value
    assert error.not_installed
    assert "Jupyter command `jupyter-no-such-subcommand` not found" in error.reason


@pytest.mark.parametrize(
    ("command", "in_log"),
    [("false", ""), ("sh -c 'echo jupyter-said-goodbye >&2; exit 3'", "jupyter-said-goodbye")],
)
async def test_command_that_exits_at_once_fails_with_its_log(conn, command, in_log):
    with pytest.raises(StartError) as caught:
        await start_server(Remote(conn), HostSettings(jupyter=command, root_dir="~"))
    assert "exited before Jupyter was ready" in caught.value.reason
    assert caught.value.log_path and in_log in caught.value.log_tail
    assert "config.toml" in caught.value.hint


async def test_timeout_stops_what_it_started(conn):
    with pytest.raises(StartError) as caught:
        await start_server(Remote(conn), HostSettings(jupyter="sh -c 'sleep 600'", root_dir="~"), timeout=1.5)
    assert "not ready after" in caught.value.reason
    assert caught.value.pid > 0
    assert poll(lambda: not session_members(caught.value.pid))


def hostile_root_dirs(canary: Path) -> list[str]:
    c = shlex.quote(str(canary))
    return [
        f"x; touch {c}",
        f"$(touch {c})",
        f"`touch {c}`",
        f"x\ntouch {c}",
        f"'; touch {c}; '",
        f"\"; touch {c}; \"",
        f"~/$(touch {c})",
        f"~$(touch {c})",
        f"-x; touch {c}",
        "x; touch PWNED-relative",
    ]


@pytest.mark.parametrize("index", range(10))
async def test_hostile_root_dir_runs_nothing(sshd, conn, tmp_path, index):
    canary = tmp_path / "PWNED"
    root = hostile_root_dirs(canary)[index]
    with pytest.raises(StartError) as caught:
        await start_server(Remote(conn), HostSettings(jupyter="jupyter server", root_dir=root))
    expected = "control characters" if "\n" in root else "cannot enter the root directory"
    assert expected in caught.value.reason
    assert not canary.exists()
    for cwd in (sshd.home, Path(pwd.getpwuid(os.getuid()).pw_dir), Path.cwd()):
        assert not (cwd / "PWNED-relative").exists()


async def test_hostile_root_dir_that_exists_works(sshd, conn, reap):
    name = f"sp ace 'sq' \"dq\" ; $(touch PWNED-a) `touch PWNED-b` \\ back * ~ {uuid.uuid4().hex[:6]}"
    path = sshd.home / name
    path.mkdir()
    started = await start(conn, reap, jupyter="jupyter server", root_dir=f"~/{name}")
    assert started.server.root_dir == str(path)
    assert Path(f"/proc/{started.server.pid}/cwd").resolve() == path
    await stop_server(Remote(conn), started.server)
    for cwd in (sshd.home, path, Path(pwd.getpwuid(os.getuid()).pw_dir), Path.cwd()):
        assert not (cwd / "PWNED-a").exists() and not (cwd / "PWNED-b").exists()


async def test_root_dir_with_control_characters_is_refused_up_front(sshd, conn):
    """Runtime files with control characters are refused when read back, so refuse to start one."""
    name = f"line1\nline2 {uuid.uuid4().hex[:6]}"
    (sshd.home / name).mkdir()
    with pytest.raises(StartError) as caught:
        await start_server(Remote(conn), HostSettings(jupyter="jupyter server", root_dir=f"~/{name}"))
    assert "control characters" in caught.value.reason
    assert not caught.value.log_path  # nothing was launched


async def test_unreadable_runtime_file_fails_and_stops_the_server(conn, tmp_path):
    with pytest.raises(StartError) as caught:
        await start_server(
            Remote(conn), HostSettings(jupyter="jupyter server '--ServerApp.base_url=/a\x1bb/'", root_dir="~")
        )
    assert "cannot read its runtime file" in caught.value.reason
    assert "control characters" in caught.value.reason
    assert poll(lambda: not session_members(caught.value.pid))


async def test_hostile_jupyter_arguments_arrive_intact(sshd, conn, root_dir, reap, tmp_path):
    canary = tmp_path / "PWNED"
    c = str(canary)
    argv_file = tmp_path / "argv"
    wrapper = tmp_path / "wrap jupyter"
    wrapper.write_text(
        f"#!/bin/sh\nprintf '%s\\0' \"$@\" > {shlex.quote(str(argv_file))}\n"
        f"exec {shlex.quote(VENV_JUPYTER)} \"$@\"\n"
    )
    wrapper.chmod(0o755)
    hostile = [
        f"--JtuiTest.a=x; touch {c}",
        f"--JtuiTest.b=$(touch {c})",
        f"--JtuiTest.c=`touch {c}`",
        "--JtuiTest.d=it's \"q\" \\ back",
        "--JtuiTest.e=line1\nline2",
        "--JtuiTest.f=$HOME * ~",
    ]
    started = await start(conn, reap, jupyter=shlex.join([str(wrapper), "server", *hostile]), root_dir=root_dir[0])
    recorded = argv_file.read_bytes().decode().split("\0")[:-1]
    expected_tail = ["--no-browser", "--ip=127.0.0.1", "--port=8888", "--port-retries=50"]
    expected_tail += ["--allow-root"] if IS_ROOT else []
    assert recorded == ["server", *hostile, *expected_tail]
    assert not canary.exists()
    await stop_server(Remote(conn), started.server)


async def test_hostile_command_name_runs_nothing(conn, tmp_path):
    canary = tmp_path / "PWNED"
    command = shlex.join([f"no such; touch {canary}", "lab"]) + f" $(touch {canary})"
    with pytest.raises(StartError):
        await start_server(Remote(conn), HostSettings(jupyter=command, root_dir="~"))
    assert not canary.exists()


# --- stop -----------------------------------------------------------------------------


async def test_stop_falls_back_to_sigterm(conn, root_dir, reap):
    started = await start(conn, reap, jupyter="jupyter server", root_dir=root_dir[0])
    server = started.server
    refused = dataclasses.replace(server, token="not-the-token")  # the shutdown API says 403
    await stop_server(Remote(conn), refused)
    assert not alive(server.pid)
    assert not Path(server.runtime_file).exists()


async def test_stop_cleans_up_after_a_dead_server(conn, root_dir, reap):
    started = await start(conn, reap, jupyter="jupyter server", root_dir=root_dir[0])
    server = started.server
    os.kill(server.pid, signal.SIGKILL)
    assert poll(lambda: not alive(server.pid))
    assert Path(server.runtime_file).exists()  # it died without cleaning up
    await stop_server(Remote(conn), server)
    assert not Path(server.runtime_file).exists()


async def test_stop_never_signals_a_reused_pid(conn, tmp_path):
    """A dead server's pid now held by another program: leave it alone, drop the stale file."""
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        stale = tmp_path / f"jpserver-{bystander.pid}.json"
        stale.write_text("{}")
        other = tmp_path / "jpserver-1.json"  # not this server's file: must stay
        other.write_text("{}")
        ghost = JupyterServer(port=free_port(), pid=bystander.pid, url="", token="t", runtime_file=str(stale))
        await stop_server(Remote(conn), ghost)
        assert bystander.poll() is None and alive(bystander.pid)
        assert not stale.exists()
        await stop_server(Remote(conn), dataclasses.replace(ghost, runtime_file=str(other)))
        assert other.exists() and alive(bystander.pid)
    finally:
        bystander.kill()
        bystander.wait()
