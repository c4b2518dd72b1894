"""`jtui --demo`: this machine served as host `demo` by an embedded SSH server.

A newcomer with no remote at hand still gets the real thing: jtui connects
over SSH (asyncssh's server, on 127.0.0.1 only, fresh keys, key auth only),
probes this machine, starts Jupyter here and forwards it.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import pwd
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEMO_ALIAS = "demo"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Set by the terminal jtui runs in; an SSH session has no terminal, so sshd would not pass them.
_TERMINAL_VARS = ("TMUX", "TMUX_PANE", "TERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "COLORTERM",
                  "COLUMNS", "LINES", "STY", "WINDOW")


@dataclass
class DemoServer:
    server: object  # asyncssh.SSHAcceptor
    commands: "_Commands"
    port: int
    config_file: str
    folder: tempfile.TemporaryDirectory
    alias: str = DEMO_ALIAS

    async def close(self) -> None:
        """Stop listening, end the commands still running, remove the keys and config."""
        self.server.close()
        await self.commands.close()
        await self.server.wait_closed()
        self.folder.cleanup()


def _server_class(client_key):
    import asyncssh

    class DemoSSHServer(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key) -> bool:
            return key == client_key.convert_to_public()

        def connection_requested(self, dest_host, dest_port, orig_host, orig_port):
            # Forwards may only reach this machine's loopback, like a server bound there.
            return dest_host in LOOPBACK

        def server_requested(self, listen_host, listen_port):
            return False

    return DemoSSHServer


def login_shell() -> str:
    """The user's shell from the password database, the one sshd would run."""
    try:
        return pwd.getpwuid(os.getuid()).pw_shell or "/bin/sh"
    except KeyError:
        return os.environ.get("SHELL") or "/bin/sh"


def session_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """This user's environment minus the terminal's, with jtui's own scripts dir on PATH.

    The demo serves this machine as the user knows it, so their environment
    stays; the scripts dir is where `pip install 'jtui[demo]'` put `jupyter`,
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

    def __init__(self) -> None:
        self.running: set[asyncio.Task] = set()

    async def __call__(self, process) -> None:
        task = asyncio.current_task()
        self.running.add(task)
        try:
            await _run_command(process)
        finally:
            self.running.discard(task)

    async def close(self) -> None:
        for task in list(self.running):
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)


async def _run_command(process) -> None:
    """Run the client's command with the user's login shell, as sshd would."""
    import asyncssh

    shell = login_shell()
    command = process.command or shell
    local = await asyncio.create_subprocess_exec(
        shell, "-c", command,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True, env=session_environment(), cwd=os.path.expanduser("~"),
    )
    try:
        await process.redirect(stdin=local.stdin, stdout=local.stdout, stderr=local.stderr)
        process.exit(await local.wait())
    except asyncssh.BreakReceived:
        process.exit(255)
    finally:
        if local.returncode is None:  # the channel closed first, or jtui is quitting
            local.kill()
            await local.wait()
        process.close()
        await process.wait_closed()


async def start_demo_server() -> DemoServer:
    """Listen on 127.0.0.1 (any free port) and write an ssh_config naming it `demo`."""
    import asyncssh

    folder = tempfile.TemporaryDirectory(prefix="jtui-demo-")
    root = Path(folder.name)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = root / "id_ed25519"
    key_file.write_bytes(client_key.export_private_key())
    key_file.chmod(0o600)
    commands = _Commands()
    server = await asyncssh.create_server(
        _server_class(client_key), "127.0.0.1", 0,
        server_host_keys=[host_key], process_factory=commands, encoding=None,
    )
    port = server.sockets[0].getsockname()[1]
    known = root / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode().strip()}\n")
    config = root / "ssh_config"
    config.write_text(
        f"Host {DEMO_ALIAS}\n"
        "  HostName 127.0.0.1\n"
        f"  Port {port}\n"
        f"  User {getpass.getuser()}\n"
        f"  IdentityFile {key_file}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known}\n"
    )
    return DemoServer(server, commands, port, str(config), folder)
