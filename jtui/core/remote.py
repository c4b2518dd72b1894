"""The one way jtui runs shell code on a host: its scripts, sent on stdin.

Every remote script lives in `jtui/core/sh/` and is sent the same way:
`lib.sh` (the rules several scripts share), then the script's variables as
sh assignments quoted with `shlex.quote`, then the script, all on stdin to a
fixed command line:

    exec /bin/sh -c 'eval "$(sed "/^#jtui-end$/q")"' jtui-NAME

Why stdin: sshd runs a command through the user's login shell, which may be
fish or tcsh, and those read quoting and multi-line strings differently
from sh; the fixed line above reads the same in all of them. Values (a
token, a hostile root dir) travel inside the script, so no value is ever
on a command line where `ps` shows it or the login shell parses it; only
sh parses them, and only as quoted words. `jtui-NAME` is the process's $0,
so `ps` tells jtui's scripts apart.

`Remote` owns the rest of the transport: a budget of channels per
connection (below sshd's MaxSessions) and the retry when sshd refuses a
channel it has not freed yet.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

END_MARKER = "#jtui-end"
BOOTSTRAP = f'eval "$(sed "/^{END_MARKER}$/q")"'
MAX_CHANNELS = 8  # below OpenSSH's default MaxSessions of 10
CHANNEL_OPEN_RETRIES = 5

_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")


@cache
def script_source(name: str) -> str:
    """The text of `jtui/core/sh/NAME.sh` (or of NAME itself when it has an extension: probe.awk)."""
    file = name if "." in name else f"{name}.sh"
    return resources.files("jtui.core").joinpath("sh", file).read_text(encoding="utf-8")


def _assignment(name: str, value: object) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a script variable name: {name!r}")
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, (str, int)):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    else:
        raise TypeError(f"{name}: cannot send a {type(value).__name__} to a script")
    if "\0" in text:
        raise ValueError(f"{name}: a NUL byte cannot reach a shell")
    return f"{name}={shlex.quote(text)}"


def script_body(name: str, /, **variables: object) -> str:
    """lib.sh, the variables, the script: a whole sh program (a batch job's script is one)."""
    parts = [script_source("lib").rstrip("\n")]
    parts += [_assignment(key, value) for key, value in variables.items()]
    parts.append(script_source(name).rstrip("\n"))
    return "\n".join(parts) + "\n"


def script_text(name: str, /, **variables: object) -> str:
    """What jtui sends on stdin to run `name`: its body, then the end marker."""
    return script_body(name, **variables) + f"{END_MARKER}\n"


def command_line(name: str) -> str:
    """The fixed command line every script runs under (its text comes on stdin)."""
    if not _NAME.match(name):
        raise ValueError(f"not a script name: {name!r}")
    return shlex.join(["exec", "/bin/sh", "-c", BOOTSTRAP, f"jtui-{name}"])


def key_values(text: str) -> dict[str, str]:
    """The `jtui-KEY=VALUE` lines of a script's output (the first of each key wins)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("jtui-") and "=" in line:
            key, value = line[len("jtui-"):].split("=", 1)
            out.setdefault(key, value)
    return out


@dataclass(frozen=True)
class ScriptResult:
    stdout: str
    stderr: str
    exit_status: int | None
    values: dict[str, str] = field(default_factory=dict)


class Remote:
    """jtui's scripts on one open asyncssh connection.

    `channels` is shared by everything that opens channels on the connection
    (scripts, the probe), so together they stay below sshd's MaxSessions.
    """

    def __init__(self, conn, channels: asyncio.Semaphore | None = None) -> None:
        self.conn = conn
        self.channels = channels or asyncio.Semaphore(MAX_CHANNELS)

    async def run(self, script: str, /, *, timeout: float = 30.0, **variables: object) -> ScriptResult:
        """Run one script to its end; raise asyncio.TimeoutError after `timeout` s."""
        import asyncssh

        command = command_line(script)
        stdin = script_text(script, **variables)
        async with self.channels:
            for attempt in range(CHANNEL_OPEN_RETRIES):
                try:
                    result = await asyncio.wait_for(
                        self.conn.run(command, input=stdin, check=False, encoding="utf-8", errors="replace"),
                        timeout,
                    )
                    break
                except asyncssh.ChannelOpenError:
                    # sshd frees a session slot a moment after our close: retry briefly.
                    if attempt == CHANNEL_OPEN_RETRIES - 1 or self.conn.is_closed():
                        raise
                    await asyncio.sleep(0.05 * (attempt + 1))
        stdout = str(result.stdout or "")
        return ScriptResult(stdout, str(result.stderr or ""), result.exit_status, key_values(stdout))

    @asynccontextmanager
    async def process(self, script: str, /, **variables: object):
        """A long-lived script (the probe): its asyncssh process, holding one channel until closed."""
        async with self.channels:
            proc = await self.conn.create_process(command_line(script), encoding=None)
            try:
                proc.stdin.write(script_text(script, **variables).encode())
                await proc.stdin.drain()
                yield proc
            finally:
                if not proc.is_closing():
                    proc.close()
