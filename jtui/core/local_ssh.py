"""An SSH server on 127.0.0.1 that serves this machine, as sshd would serve it.

`jtui --demo` is built on it (demo.py), and so are jtui's screen tests: the
client side is jtui's real code, the server is asyncssh's, listening on
127.0.0.1 only, accepting one public key, forwarding only to loopback.
Commands run with the login shell from the password database, in HOME,
with the user's environment minus the terminal's, as sshd runs them.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass

def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: this machine, and only this machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
# Set by the terminal jtui runs in; an SSH session has no terminal, so sshd would not pass them.
_TERMINAL_VARS = ("TMUX", "TMUX_PANE", "TERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "COLORTERM",
                  "COLUMNS", "LINES", "STY", "WINDOW")


@dataclass
class LocalSSHServer:
    acceptor: object  # asyncssh.SSHAcceptor
    commands: "_Commands"
    port: int

    async def close(self) -> None:
        """Stop listening and end the commands still running."""
        self.acceptor.close()
        await self.commands.close()
        await self.acceptor.wait_closed()


def _server_class(client_public_key):
    import asyncssh

    class LocalSSHServerProtocol(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key) -> bool:
            return key == client_public_key

        def connection_requested(self, dest_host, dest_port, orig_host, orig_port):
            # Forwards may only reach this machine's loopback, like a server bound there.
            return is_loopback(dest_host)

        def server_requested(self, listen_host, listen_port):
            return False

    return LocalSSHServerProtocol


def login_shell() -> str:
    """The user's shell from the password database, the one sshd would run."""
    try:
        return pwd.getpwuid(os.getuid()).pw_shell or "/bin/sh"
    except KeyError:
        return os.environ.get("SHELL") or "/bin/sh"


def session_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """This user's environment minus the terminal's, with jtui's own scripts dir on PATH.

    The demo serves this machine as the user knows it, so their environment
    stays; the scripts dir is where installing jtui with JupyterLab put `jupyter`,
    which is then found even when jtui's venv was never activated.
    """
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if k not in _TERMINAL_VARS}
    scripts = sysconfig.get_path("scripts")
    path = [p for p in env.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep) if p]
    if scripts and scripts not in path:
        path.append(scripts)
    env["PATH"] = os.pathsep.join(path)
    return env


class _Commands:
    """asyncssh's process factory: runs each command as sshd would, and ends them all on close.

    Without that, jtui's exit would leave the probe's shell and asyncssh's
    redirect tasks running into the event loop's shutdown.
    """

    def __init__(self, environment: dict[str, str] | None = None) -> None:
        self.environment = environment
        self.running: set[asyncio.Task] = set()

    async def __call__(self, process) -> None:
        task = asyncio.current_task()
        self.running.add(task)
        try:
            await _run_command(process, self.environment)
        finally:
            self.running.discard(task)

    async def close(self) -> None:
        for task in list(self.running):
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)


async def _run_command(process, environment: dict[str, str] | None) -> None:
    """Run the client's command with the user's login shell, as sshd would.

    The bytes are pumped by hand rather than with asyncssh's redirect(): when
    a client closes a channel whose command still runs (jtui closing its
    probe), redirect's feeders fail inside asyncssh, which then drops the
    whole connection and every other channel with it.
    """
    shell = login_shell()
    command = process.command or shell
    env = environment if environment is not None else session_environment()
    home = env.get("HOME", "")
    local = await asyncio.create_subprocess_exec(
        shell, "-c", command,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True, env=env, cwd=home if os.path.isdir(home) else os.path.expanduser("~"),
    )
    pumps = [
        asyncio.ensure_future(_pump_in(process.stdin, local.stdin)),
        asyncio.ensure_future(_pump_out(local.stdout, process.stdout)),
        asyncio.ensure_future(_pump_out(local.stderr, process.stderr)),
    ]
    try:
        status = await local.wait()
        await asyncio.gather(*pumps[1:], return_exceptions=True)  # the output already written
        if not process.is_closing():
            process.exit(status)
    finally:
        for pump in pumps:
            pump.cancel()
        if local.returncode is None:  # the channel closed first, or jtui is quitting
            local.kill()
            await local.wait()
        process.close()


async def _pump_in(source, sink) -> None:
    """The client's stdin to the command; its end (or the channel's) closes the command's stdin."""
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except Exception:  # the channel went away or the command stopped reading
        pass
    finally:
        try:
            sink.close()
        except Exception:
            pass


async def _pump_out(source, sink) -> None:
    """The command's output to the client, until either side is gone."""
    try:
        while data := await source.read(65536):
            sink.write(data)
    except Exception:
        pass


async def serve_this_machine(
    host_key, client_public_key, *, environment: Mapping[str, str] | None = None, port: int = 0
) -> LocalSSHServer:
    """Listen on 127.0.0.1:`port` (0: any free one) for the holder of `client_public_key`.

    `environment` replaces the commands' environment (default: this user's,
    see session_environment).
    """
    import asyncssh

    commands = _Commands(dict(environment) if environment is not None else None)
    acceptor = await asyncssh.create_server(
        _server_class(client_public_key), "127.0.0.1", port,
        server_host_keys=[host_key], process_factory=commands, encoding=None,
    )
    return LocalSSHServer(acceptor, commands, acceptor.sockets[0].getsockname()[1])
