"""Start and stop Jupyter servers on a host, through jtui's scripts (sh/start.sh & co).

The shell side lives in `jtui/core/sh/`; this module decides what to send,
reads what comes back, and talks HTTP to the server over the connection
(jtui.core.http). Nothing here builds shell code: values go to the scripts
as variables, quoted by the transport (jtui.core.remote).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

from jtui.core.http import HttpError, request
from jtui.core.logs import scrub
from jtui.core.model import JupyterServer
from jtui.core.remote import Remote, script_source
from jtui.core.runtime_files import RUNTIME_NAME, RuntimeFileError, parse_runtime_text
from jtui.core.settings import DEFAULT_JUPYTER, DEFAULT_ROOT_DIR, HostSettings, host_table
from jtui.core.urls import remote_connect_host

log = logging.getLogger(__name__)

LOG_DIR = "~/.local/state/jtui"
POLL_INTERVAL = 0.2
PATIENCE = 5.0  # seconds of waiting before the progress says how long it has been
UNREADABLE_POLLS = 10  # a runtime file still unreadable after this many polls is not mid-write
SETUP_FAILED = "jtui: the setup commands failed"  # lib.sh's jtui_setup_failed

Progress = Callable[[str], None]

# What a remote round trip can raise: socket errors, asyncssh's own (ChannelOpenError
# is not an OSError), timeouts, and a non-HTTP answer.
REMOTE_ERRORS = (OSError, asyncssh.Error, asyncio.TimeoutError, ConnectionError)


class StartError(RuntimeError):
    """A server that did not come up; the message says why, with the log tail and a hint."""

    def __init__(
        self, reason: str, log_tail: str = "", hint: str = "", log_path: str = "", pid: int = 0,
        not_installed: bool = False,
    ) -> None:
        self.reason = reason
        log_tail = scrub(log_tail)  # shown and printed: a server's log carries its token
        self.log_tail = log_tail
        self.hint = hint
        self.log_path = log_path
        self.pid = pid  # the process jtui launched, 0 when nothing was launched
        self.not_installed = not_installed  # the command (or its Jupyter subcommand) is not on the host
        text = reason
        if log_tail.strip():
            where = f" ({log_path})" if log_path else ""
            text += f"\n\nLast lines of the server log{where}:\n{log_tail.rstrip()}"
        if hint:
            text += f"\n\n{hint}"
        super().__init__(text)


class StopError(RuntimeError):
    """A server that would not stop."""


@dataclass(frozen=True)
class StartedServer:
    """A server jtui started: what its runtime file says, plus what only the launch knows."""

    server: JupyterServer
    as_root: bool  # started with --allow-root because the remote user is root
    log_path: str  # absolute path of the server's log on the remote
    runtime_dir: str = ""
    launched_pid: int = 0  # what jtui launched; not server.pid when a wrapper forks


def split_jupyter_command(command: str) -> list[str]:
    """The configured `jupyter` setting as argv; ValueError says what is wrong with it."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"cannot parse jupyter = {command!r}: {exc}") from None
    if not argv:
        raise ValueError("jupyter = \"\" is empty")
    if argv[0].startswith("-"):
        raise ValueError(f"jupyter = {command!r} must start with a command, not an option")
    return argv


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_root_dir(root_dir: str) -> None:
    """Refuse a root dir with control characters before starting anything.

    Quoting would carry it safely, but runtime files with control characters
    are refused when read back (they would reach the terminal), so such a
    server could never be recognised or listed.
    """
    if _CONTROL.search(root_dir):
        raise ValueError(f"root_dir {root_dir!r} holds control characters; jtui cannot use it")


def default_log_path() -> str:
    """A fresh log file name per start, so two starts never mix their output."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{LOG_DIR}/jupyter-{stamp}-{secrets.token_hex(3)}.log"


def start_variables(host: HostSettings, *, token: str, as_root: bool | None = None, log_path: str = "") -> dict:
    """What sh/start.sh needs to start the host's `jupyter` (it holds the token: never log it)."""
    argv = split_jupyter_command(host.jupyter or DEFAULT_JUPYTER)
    root_dir = host.root_dir or DEFAULT_ROOT_DIR
    check_root_dir(root_dir)
    return {
        "token": token,
        "args": shlex.join(argv),  # sh words, each quoted: launch.sh sets them as its arguments
        "root": root_dir,
        "setup": host.setup or "",
        "allow_root": {True: "yes", False: "no", None: "auto"}[as_root],
        "log": log_path or default_log_path(),
        "launch": "\n".join([script_source("lib"), script_source("launch")]),
    }


def _hint(command: str, alias: str = "") -> str:
    table = host_table(alias) if alias else "this host's [hosts.NAME] table"
    return (
        f"jtui ran `{command}` through the login shell. If Jupyter lives elsewhere on this host, "
        f'set `jupyter = "..."` in {table} in config.toml '
        '(for example jupyter = "~/miniconda3/envs/ds/bin/jupyter lab").'
    )


def redact(text: str) -> str:
    """`text` with anything that looks like a token value hidden (a setting may carry one)."""
    return re.sub(r"(token[^=\s]*=)\S+", r"\1...", text, flags=re.IGNORECASE)


def failure_reason(tail: str, command: str) -> tuple[str, bool]:
    """Why the server died, from its log tail; and whether it is because Jupyter is not installed."""
    if SETUP_FAILED in tail:
        return "The host's setup commands failed (setup = ... in config.toml), so Jupyter was not started.", False
    for line in tail.splitlines():
        if line.startswith("jtui: command not found:"):
            return (f"Jupyter is not installed where jtui looked: `{command}` was not found on the host "
                    "(its first word is not on the login shell's PATH)."), True
        if line.startswith("Jupyter command `"):  # `jupyter lab` with only jupyter_server installed
            return f"Jupyter is not installed as `{command}` asks: {line.strip()}.", True
        if line.startswith("jtui: cannot enter the root directory"):
            return f"Cannot start Jupyter: {line[len('jtui: '):]}", False
    return f"`{command}` exited before Jupyter was ready.", False


@dataclass(frozen=True)
class _Poll:
    alive: bool
    runtime_dir: str
    path: str
    text: str
    tail: str


def _parse_poll(stdout: str, values: dict[str, str]) -> _Poll:
    before, _, tail = stdout.partition("\njtui-tail\n")
    path, text = "", ""
    if "jtui-file=" in before:
        after = before.split("jtui-file=", 1)[1]
        path, _, rest = after.partition("\n")
        text = rest.split("\njtui-end", 1)[0]
    return _Poll(values.get("alive") == "1", values.get("rtdir", ""), path, text, tail)


# --- start ----------------------------------------------------------------------------


async def start_server(
    remote: Remote,
    host: HostSettings,
    *,
    timeout: float = 60.0,
    progress: Progress | None = None,
    as_root: bool | None = None,
    alias: str = "",
) -> StartedServer:
    """Start a detached Jupyter server on the host and wait until it answers HTTP.

    One script launches it; then a cheap one every POLL_INTERVAL looks for its
    runtime file (the port Jupyter actually chose, and the token) and checks
    the pid still lives; finally an HTTP request through the connection proves
    it serves. On failure the StartError carries the log tail and a config
    hint; a server still starting at the timeout is terminated so it does not
    linger unseen. Connection failures propagate as asyncssh errors or OSError.
    `alias` only makes the hint name the right [hosts.ALIAS] table.
    """
    command = host.jupyter or DEFAULT_JUPYTER
    root_dir = host.root_dir or DEFAULT_ROOT_DIR
    say = progress or (lambda message: None)
    try:
        variables = start_variables(host, token=secrets.token_hex(24), as_root=as_root)
    except ValueError as exc:
        raise StartError(str(exc), hint=_hint(command, alias)) from None

    say(f"starting `{command}` in {root_dir}")
    log.info("starting %r in %r", redact(command), root_dir)
    launched = (await remote.run("start", **variables)).values
    if "error" in launched or not launched.get("pid", "").isdigit():
        detail = launched.get("error") or "no pid printed"
        raise StartError(f"Could not launch `{command}`: {detail}", hint=_hint(command, alias))
    pid = int(launched["pid"])
    log_path = launched.get("log", "")
    started_as_root = launched.get("uid") == "0" if as_root is None else as_root

    started = time.monotonic()
    deadline = started + timeout
    runtime_dir = ""
    said = "launched, waiting for its runtime file"
    say(said)
    patience_said = False
    unreadable = 0
    while True:
        result = await remote.run("poll", pid=pid, log=log_path, rtdir=runtime_dir)
        poll = _parse_poll(result.stdout, result.values)
        runtime_dir = runtime_dir or poll.runtime_dir
        if poll.path and poll.alive:
            try:
                server = parse_runtime_text(poll.text, poll.path)
            except RuntimeFileError as exc:  # caught mid-write, or a file jtui cannot use
                unreadable += 1
                if unreadable >= UNREADABLE_POLLS:
                    await remote.run("stop", op="kill", pid=pid)
                    raise StartError(
                        f"Jupyter started, but jtui cannot read its runtime file ({exc}); jtui stopped it.",
                        hint=_hint(command, alias), log_path=log_path, pid=pid,
                    ) from None
            else:
                unreadable = 0
                if said.startswith("launched"):
                    said = f"waiting for it to answer on port {server.port}"
                    say(said)
                if await answers(remote.conn, server):
                    say(f"Jupyter is up on remote port {server.port}")
                    log.info("jupyter pid %d up on remote port %d", server.pid, server.port)
                    return StartedServer(server, started_as_root, log_path, runtime_dir, pid)
        if not poll.alive:
            reason, not_installed = failure_reason(poll.tail, command)
            raise StartError(reason, poll.tail, _hint(command, alias), log_path, pid, not_installed)
        now = time.monotonic()
        if now >= deadline:
            await remote.run("stop", op="kill", pid=pid)
            raise StartError(
                f"`{command}` was not ready after {timeout:.0f} s; jtui stopped it.",
                await _log_tail(remote, log_path), _hint(command, alias), log_path, pid,
            )
        if now - started >= PATIENCE and not patience_said:
            say(f"{said} (pid {pid}, still waiting after {PATIENCE:.0f} s)")
            patience_said = True
        await asyncio.sleep(POLL_INTERVAL)


async def _log_tail(remote: Remote, log_path: str) -> str:
    """The log's last lines (poll.sh prints them for a pid that does not live, and 0 never does)."""
    result = await remote.run("poll", pid=0, log=log_path, rtdir="-")
    return _parse_poll(result.stdout, result.values).tail


async def answers(conn, server: JupyterServer) -> bool:
    """True once the server answers an HTTP request (any status: it is serving)."""
    try:
        await request(conn, remote_connect_host(server), server.port, "GET",
                      f"{server.base_url}api/status", token=server.token)
    except REMOTE_ERRORS as exc:
        log.debug("server on port %d does not answer yet: %s", server.port, type(exc).__name__)
        return False
    return True


# --- stop -----------------------------------------------------------------------------

STOP_GRACE = 15  # seconds a server gets to leave after each request to stop


async def stop_server(remote: Remote, server: JupyterServer, *, grace: int = STOP_GRACE) -> None:
    """Stop `server`: Jupyter's shutdown API first, SIGTERM as a last resort; then tidy up.

    The API lets Jupyter shut its kernels down and remove its own runtime
    file. A pid whose command line no longer looks like Jupyter was reused
    by another program after the server died: it is never signalled. A
    runtime file left behind by a dead server is removed, so it stops
    being listed.
    """
    name, dirs = _runtime_file(server)
    state = (await remote.run("stop", op="state", pid=server.pid)).values.get("state", "other")
    if state != "jupyter":
        await remote.run("stop", op="clean", pid=server.pid, name=name, dirs=dirs)
        return
    took = await _request_shutdown(remote.conn, server)
    ended = await remote.run("stop", op="end", pid=server.pid, wait=grace if took else 0, grace=grace,
                             name=name, dirs=dirs, timeout=2 * grace + 30)
    if ended.values.get("gone") != "1":
        raise StopError(f"Jupyter (pid {server.pid}) is still running after SIGTERM.")


def _runtime_file(server: JupyterServer) -> tuple[str, str]:
    """The runtime file's name and the dir it is in ('' when unknown: the script looks in the usual places).

    Only a name made for this very server (`jpserver-PID.json` or
    `nbserver-PID.json`) is sent; sh/stop.sh checks it again.
    """
    path = server.runtime_file or f"{server.kind}-{server.pid}.json"
    folder, _, base = path.rpartition("/")
    match = RUNTIME_NAME.match(base)
    if not match or int(match.group(2)) != server.pid:
        log.info("not removing %r: not the runtime file of pid %d", base, server.pid)
        return "", ""
    return base, folder if "/" in path else ""


async def _request_shutdown(conn, server: JupyterServer) -> bool:
    """POST api/shutdown; True when the server took it (it may close before answering)."""
    try:
        response = await request(conn, remote_connect_host(server), server.port, "POST",
                                 f"{server.base_url}api/shutdown", token=server.token)
    except asyncssh.ChannelOpenError:
        log.info("jupyter pid %d does not listen on port %d", server.pid, server.port)
        return False
    except (HttpError, *REMOTE_ERRORS) as exc:
        log.info("shutdown request to pid %d ended without an answer (%s)", server.pid, type(exc).__name__)
        return True
    log.info("asked jupyter pid %d to shut down: HTTP %d", server.pid, response.status)
    return 200 <= response.status < 300
