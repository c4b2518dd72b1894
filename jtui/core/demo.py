"""`jtui --demo`: this machine served as host `demo` by an embedded SSH server.

A newcomer with no remote at hand still gets the real thing: jtui connects
over SSH (local_ssh.py: asyncssh's server, on 127.0.0.1 only, fresh keys,
key auth only), probes this machine, starts Jupyter here and forwards it.
"""

from __future__ import annotations

import getpass
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jtui.core.local_ssh import LocalSSHServer, serve_this_machine

DEMO_ALIAS = "demo"


@dataclass
class DemoServer:
    server: LocalSSHServer
    config_file: str
    folder: tempfile.TemporaryDirectory
    alias: str = DEMO_ALIAS

    @property
    def port(self) -> int:
        return self.server.port

    async def close(self) -> None:
        """Stop listening, end the commands still running, remove the keys and config."""
        await self.server.close()
        self.folder.cleanup()


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
    server = await serve_this_machine(host_key, client_key.convert_to_public())
    known = root / "known_hosts"
    known.write_text(f"[127.0.0.1]:{server.port} {host_key.export_public_key().decode().strip()}\n")
    config = root / "ssh_config"
    config.write_text(
        f"Host {DEMO_ALIAS}\n"
        "  HostName 127.0.0.1\n"
        f"  Port {server.port}\n"
        f"  User {getpass.getuser()}\n"
        f"  IdentityFile {key_file}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known}\n"
    )
    return DemoServer(server, str(config), folder)


def install_jupyter_hint() -> str:
    """The command that puts JupyterLab next to this very jtui (the demo host runs Jupyter from there)."""
    if "/pipx/venvs/" in sys.prefix.replace("\\", "/"):
        return "pipx inject jtui jupyterlab"
    return f"{shlex.quote(sys.executable)} -m pip install jupyterlab"
