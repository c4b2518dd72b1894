"""Start and stop Jupyter servers on a remote host over an open asyncssh connection.

Every remote script here is POSIX sh fed on stdin to `/bin/sh -s`, never
put on a command line. Two reasons:

- sshd runs a command through the user's own shell, which may be fish or
  tcsh; `/bin/sh -s` is the one command line every shell reads the same.
- the token travels inside the script, so it never shows up in `ps` on the
  remote, and the (token-free) command line can be logged.

Every value that reaches the remote shell goes through `shlex.quote` (or
`remote_word` for a leading `~`), so hostile root dirs and jupyter
commands run nothing but the intended command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

from jtui.core.model import JupyterServer
from jtui.core.runtime_files import RUNTIME_NAME, RuntimeFileError, parse_runtime_text
from jtui.core.settings import DEFAULT_JUPYTER, DEFAULT_ROOT_DIR, HostSettings
from jtui.core.urls import remote_connect_host

log = logging.getLogger(__name__)

REMOTE_SH = "/bin/sh -s"  # the only command line jtui sends; scripts come on stdin
LOG_DIR = "~/.local/state/jtui"
FIRST_PORT = 8888  # jupyter tries it, then its usual port retries
PORT_RETRIES = 50
POLL_INTERVAL = 0.2
LOG_TAIL_LINES = 20
UNREADABLE_POLLS = 10  # a runtime file still unreadable after this many polls is not mid-write

Progress = Callable[[str], None]

# What a remote round trip can raise: socket errors, asyncssh's own (ChannelOpenError
# is not an OSError), timeouts, and a non-HTTP answer.
_REMOTE_ERRORS = (OSError, asyncssh.Error, asyncio.TimeoutError, ConnectionError)


class StartError(RuntimeError):
    """A server that did not come up; the message says why, with the log tail and a hint."""

    def __init__(
        self, reason: str, log_tail: str = "", hint: str = "", log_path: str = "", pid: int = 0,
        not_installed: bool = False,
    ) -> None:
        self.reason = reason
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


# --- building the launcher ------------------------------------------------------------

_TILDE_USER = re.compile(r"~([A-Za-z_][A-Za-z0-9._-]*)(/.*)?\Z", re.DOTALL)


def remote_word(value: str) -> str:
    """One sh word for `value`, with a leading `~` or `~user` expanded by the remote shell.

    Only the tilde and the user name stay unquoted (the name must be a plain
    user name), and the slash after them stays unquoted too, since sh only
    expands a tilde-prefix that no quoted character follows.
    """
    if value == "~":
        return '"$HOME"'
    if value.startswith("~/"):
        rest = value[2:]
        return '"$HOME"/' + (shlex.quote(rest) if rest else "")
    match = _TILDE_USER.match(value)
    if match:
        rest = (match.group(2) or "")[1:]
        word = "~" + match.group(1)
        if match.group(2) is not None:
            word += "/" + (shlex.quote(rest) if rest else "")
        return word
    return shlex.quote(value)


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


def _server_flags(as_root: bool | None) -> str:
    """Flags understood alike by `jupyter lab`, `jupyter server` and both notebooks (classic and 7)."""
    flags = f"--no-browser --ip=127.0.0.1 --port={FIRST_PORT} --port-retries={PORT_RETRIES}"
    if as_root is True:
        flags += " --allow-root"
    elif as_root is None:  # let the remote decide: Jupyter refuses root without it
        flags += ' $([ "$(id -u)" = 0 ] && echo --allow-root)'
    return flags


def _inner_script(argv: list[str], root_dir: str, as_root: bool | None) -> str:
    """What runs in the login shell's environment: cd to the root dir, then exec jupyter.

    It keeps the PATH the login profile built and appends the plain SSH
    session's PATH, so a command found either way is found. It records the
    runtime dir Jupyter will use (from this environment, which the profile
    may have changed) at the top of the log. `exec` keeps the pid the
    launcher printed, which is the pid in the runtime file.
    """
    program = remote_word(argv[0])
    words = " ".join(remote_word(a) for a in argv)
    root = remote_word(root_dir if not root_dir.startswith("-") else "./" + root_dir)
    lines = [
        "unset CDPATH",
        "set -f",
        'p=$PATH; IFS=:',
        'for d in $JTUI_OUTER_PATH; do',
        '  case ":$p:" in *:"$d":*) ;; *) [ -n "$d" ] && p=$p:$d ;; esac',
        "done",
        "unset IFS; set +f",
        "PATH=$p; export PATH",
        "unset JTUI_LAUNCH JTUI_OUTER_PATH JTUI_SETUP p d",
        'case $(uname -s 2>/dev/null) in Darwin) jd=$HOME/Library/Jupyter ;;'
        ' *) jd=${XDG_DATA_HOME:-$HOME/.local/share}/jupyter ;; esac',
        'printf "jtui: runtime dir: %s\\n" "${JUPYTER_RUNTIME_DIR:-${JUPYTER_DATA_DIR:-$jd}/runtime}"',
        "unset jd",
        'cd "$HOME" 2>/dev/null',
        f"cd {root} || {{ printf 'jtui: cannot enter the root directory %s\\n' {root}; exit 1; }}",
        f"command -v {program} >/dev/null 2>&1 || "
        f"{{ printf 'jtui: command not found: %s\\n' {program}; exit 127; }}",
        f"exec {words} {_server_flags(as_root)}",
    ]
    return "\n".join(lines) + "\n"


SETUP_FAILED = "jtui: the setup commands failed"


def _login_command(setup: str) -> str:
    """What the login shell runs: the user's setup (if any) in that shell, then the launcher.

    `setup` must run in the login shell itself: `module` and `conda activate`
    are shell functions its profile defined, unknown to a child /bin/sh. The
    syntax used here means the same in sh, bash, zsh, csh/tcsh and fish.
    """
    launch = 'exec /bin/sh -c "$JTUI_LAUNCH"'
    if not setup:
        return launch
    return f'eval "$JTUI_SETUP" && {launch} || echo "{SETUP_FAILED}"'


def build_start_command(
    host: HostSettings,
    *,
    token: str,
    as_root: bool | None = None,
    log_path: str | None = None,
) -> str:
    """The sh script that starts the host's `jupyter` detached; feed it to REMOTE_SH on stdin.

    It runs the command through the user's login shell (so conda, venv and
    module set-up from the profile apply), under setsid + nohup with stdin
    from /dev/null and output to a private log, so the server outlives jtui
    and the connection. The token goes in JUPYTER_TOKEN, which every
    Jupyter flavour reads, rather than on a command line `ps` would show.
    `as_root` None lets the remote add --allow-root when its user is root.

    The script prints `jtui-pid=`, `jtui-uid=` and `jtui-log=` lines. It holds
    the token: never log it.
    """
    argv = split_jupyter_command(host.jupyter or DEFAULT_JUPYTER)
    setup = host.setup or ""
    root_dir = host.root_dir or DEFAULT_ROOT_DIR
    log_file = log_path or default_log_path()
    inner = _inner_script(argv, root_dir, as_root)
    return f"""{{
JUPYTER_TOKEN={shlex.quote(token)}; export JUPYTER_TOKEN
JTUI_OUTER_PATH=$PATH; export JTUI_OUTER_PATH
JTUI_LAUNCH={shlex.quote(inner)}; export JTUI_LAUNCH
JTUI_SETUP={shlex.quote(setup)}; export JTUI_SETUP
log={remote_word(log_file)}
dir=$(dirname "$log")
if ! (umask 077 && mkdir -p "$dir" && : >>"$log"); then
  printf 'jtui-error=cannot create the log file %s\\n' "$log"; exit 1
fi
chmod 700 "$dir" 2>/dev/null; chmod 600 "$log" 2>/dev/null
sh=${{SHELL:-/bin/sh}}
case ${{sh##*/}} in csh|tcsh) login= ;; *) login=-l ;; esac
detach=; command -v setsid >/dev/null 2>&1 && detach=setsid
$detach nohup "$sh" $login -c {shlex.quote(_login_command(setup))} </dev/null >>"$log" 2>&1 &
printf 'jtui-pid=%s\\n' "$!"
printf 'jtui-uid=%s\\n' "$(id -u)"
printf 'jtui-log=%s\\n' "$log"
}} </dev/null
"""


# --- talking to the remote ------------------------------------------------------------


async def run_sh(conn, script: str, *, timeout: float = 30.0):
    """Run a POSIX sh script on the remote (stdin to REMOTE_SH); returns asyncssh's result."""
    return await asyncio.wait_for(
        conn.run(REMOTE_SH, input=script, check=False, encoding="utf-8", errors="replace"),
        timeout,
    )


def _key_values(text: str, prefix: str = "jtui-") -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith(prefix) and "=" in line:
            key, value = line[len(prefix):].split("=", 1)
            out.setdefault(key, value)
    return out


async def http_status(
    conn, host: str, port: int, method: str, path: str, token: str = "", *, timeout: float = 5.0
) -> int:
    """Send one HTTP request to host:port *as seen from the remote*; return the status code.

    It goes through a direct-tcpip channel of the existing connection: no
    curl needed on the remote, no extra process, nothing on a command line.
    """
    headers = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    if token:
        headers.append(f"Authorization: token {token}")
    if method == "POST":
        headers.append("Content-Length: 0")
    request = ("\r\n".join(headers) + "\r\n\r\n").encode()

    async def exchange() -> int:
        reader, writer = await conn.open_connection(host, port)
        try:
            writer.write(request)
            line = await reader.readline()
        finally:
            writer.close()
        parts = line.split()
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise ConnectionError(f"not an HTTP answer from {host}:{port}")
        return int(parts[1])

    return await asyncio.wait_for(exchange(), timeout)


def _runtime_dir_candidates(known: str) -> str:
    """sh words for the dirs where the runtime file may be: the recorded one first."""
    dirs = [shlex.quote(known)] if known else []
    dirs += [
        '"${JUPYTER_RUNTIME_DIR:-/nonexistent}"',
        '"${JUPYTER_DATA_DIR:-/nonexistent}/runtime"',
        '"${XDG_DATA_HOME:-$HOME/.local/share}/jupyter/runtime"',
        '"$HOME/Library/Jupyter/runtime"',
    ]
    return " ".join(dirs)


_ALIVE_SH = """\
alive=0
if kill -0 "$pid" 2>/dev/null; then
  alive=1
  if [ -r "/proc/$pid/stat" ]; then
    read -r st <"/proc/$pid/stat"; st=${st##*) }; [ "${st%% *}" = Z ] && alive=0
  fi
fi
"""


_RTDIR_SH = """\
printf 'jtui-rtdir=%s\\n' "$(sed -n 's/^jtui: runtime dir: //p' "$log" 2>/dev/null | head -n 1)"
"""


def _poll_script(pid: int, log_path: str, runtime_dir: str) -> str:
    """Print whether `pid` lives, the recorded runtime dir, and its runtime file if written.

    The file is `jpserver-PID.json` / `nbserver-PID.json` for our pid, or
    one whose process is in our session (a wrapper script that forked
    instead of exec'ing). Not "newer than the log": the server keeps writing
    its log after the runtime file (JupyterLab's extensions do), so that
    test would stop matching a second later.
    """
    return f"""pid={pid}; log={shlex.quote(log_path)}
{_ALIVE_SH}printf 'jtui-alive=%s\\n' "$alive"
{_RTDIR_SH if not runtime_dir else ""}for d in {_runtime_dir_candidates(runtime_dir)}; do
  for f in "$d"/jpserver-*.json "$d"/nbserver-*.json; do
    [ -f "$f" ] || continue
    p=${{f##*-}}; p=${{p%.json}}
    if [ "$p" != "$pid" ]; then
      [ "$(ps -o sid= -p "$p" 2>/dev/null | tr -d ' ')" = "$pid" ] || continue
    fi
    printf 'jtui-file=%s\\n' "$f"; cat "$f"; printf '\\njtui-end\\n'
    exit 0
  done
done
"""


def _parse_poll(text: str) -> tuple[bool, str, str, str]:
    """(alive, recorded runtime dir, runtime file path, runtime file text)."""
    values = _key_values(text.split("\njtui-file=", 1)[0])
    path, body = "", ""
    if "jtui-file=" in text:
        after = text.split("jtui-file=", 1)[1]
        path, _, rest = after.partition("\n")
        body = rest.split("\njtui-end", 1)[0]
    return values.get("alive") == "1", values.get("rtdir", ""), path, body


async def _log_tail(conn, log_path: str, lines: int = LOG_TAIL_LINES) -> str:
    if not log_path:
        return ""
    try:
        result = await run_sh(conn, f"tail -n {int(lines)} {shlex.quote(log_path)} 2>/dev/null\n", timeout=10)
    except _REMOTE_ERRORS:  # the tail is a courtesy: never mask the real error
        return ""
    return str(result.stdout or "")


def _hint(command: str, alias: str = "") -> str:
    key = alias if re.fullmatch(r"[A-Za-z0-9_-]+", alias) else json.dumps(alias)
    table = f"[hosts.{key}]" if alias else "this host's [hosts.NAME] table"
    return (
        f"jtui ran `{command}` through the login shell. If Jupyter lives elsewhere on this host, "
        f'set `jupyter = "..."` in {table} in config.toml '
        '(for example jupyter = "~/miniconda3/envs/ds/bin/jupyter lab").'
    )


def _redact(text: str) -> str:
    """`text` with anything that looks like a token value hidden (a setting may carry one)."""
    return re.sub(r"(token[^=\s]*=)\S+", r"\1...", text, flags=re.IGNORECASE)


def _failure_reason(tail: str, command: str) -> tuple[str, bool]:
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


# --- start ----------------------------------------------------------------------------


async def start_server(
    conn,
    host: HostSettings,
    *,
    timeout: float = 60.0,
    progress: Progress | None = None,
    as_root: bool | None = None,
    alias: str = "",
) -> StartedServer:
    """Start a detached Jupyter server on the remote and wait until it answers HTTP.

    One remote command launches it; then one cheap command every
    POLL_INTERVAL looks for its runtime file (which gives the port Jupyter
    actually chose and the token) and checks the pid still lives; finally an
    HTTP request through the connection proves it serves. On failure the
    StartError carries the log tail and a config hint; a server that is
    still starting at the timeout is terminated so it does not linger unseen.
    Connection failures propagate as asyncssh errors or OSError. `alias`
    only makes the hint name the right [hosts.ALIAS] table.
    """
    command = host.jupyter or DEFAULT_JUPYTER
    root_dir = host.root_dir or DEFAULT_ROOT_DIR
    say = progress or (lambda message: None)
    try:
        check_root_dir(root_dir)
        script = build_start_command(host, token=secrets.token_hex(24), as_root=as_root)
    except ValueError as exc:
        raise StartError(str(exc), hint=_hint(command, alias)) from None

    say(f"starting `{command}` in {root_dir}")
    log.info("starting %r in %r", _redact(command), root_dir)
    result = await run_sh(conn, script)
    launched = _key_values(str(result.stdout or ""))
    if "error" in launched or "pid" not in launched or not launched["pid"].isdigit():
        detail = launched.get("error") or str(result.stderr or "").strip() or "no pid printed"
        raise StartError(f"Could not launch `{command}`: {detail}", hint=_hint(command, alias))
    pid = int(launched["pid"])
    log_path = launched.get("log", "")
    started_as_root = launched.get("uid") == "0" if as_root is None else as_root

    deadline = time.monotonic() + timeout
    runtime_dir = ""
    last_said = 0.0
    unreadable = 0
    while True:
        poll = await run_sh(conn, _poll_script(pid, log_path, runtime_dir))
        alive, recorded, path, body = _parse_poll(str(poll.stdout or ""))
        runtime_dir = runtime_dir or recorded
        if path and alive:
            try:
                server = parse_runtime_text(body, path)
            except RuntimeFileError as exc:  # caught mid-write, or a file jtui cannot use
                unreadable += 1
                if unreadable >= UNREADABLE_POLLS:
                    await _terminate_group(conn, pid)
                    raise StartError(
                        f"Jupyter started, but jtui cannot read its runtime file ({exc}); jtui stopped it.",
                        hint=_hint(command, alias), log_path=log_path, pid=pid,
                    ) from None
            else:
                unreadable = 0
                if await _answers(conn, server):
                    say(f"Jupyter is up on remote port {server.port}")
                    log.info("jupyter pid %d up on remote port %d", server.pid, server.port)
                    return StartedServer(server, started_as_root, log_path, runtime_dir, pid)
        if not alive:
            tail = await _log_tail(conn, log_path)
            reason, not_installed = _failure_reason(tail, command)
            raise StartError(reason, tail, _hint(command, alias), log_path, pid, not_installed)
        now = time.monotonic()
        if now >= deadline:
            await _terminate_group(conn, pid)
            tail = await _log_tail(conn, log_path)
            raise StartError(
                f"`{command}` was not ready after {timeout:.0f} s; jtui stopped it.",
                tail, _hint(command, alias), log_path, pid,
            )
        if now - last_said >= 1.0:
            waited = timeout - (deadline - now)
            say(f"waiting for Jupyter (pid {pid}, {waited:.0f} s)")
            last_said = now
        await asyncio.sleep(POLL_INTERVAL)


async def _answers(conn, server: JupyterServer) -> bool:
    """True once the server answers an HTTP request (any status: it is serving)."""
    path = f"{server.base_url}api/status"
    try:
        await http_status(conn, remote_connect_host(server), server.port, "GET", path, server.token)
    except _REMOTE_ERRORS as exc:
        log.debug("server on port %d does not answer yet: %s", server.port, type(exc).__name__)
        return False
    return True


async def _terminate_group(conn, pid: int) -> None:
    """SIGTERM the session jtui started (setsid made `pid` its process group leader)."""
    await run_sh(conn, f"kill -TERM -{int(pid)} 2>/dev/null || kill -TERM {int(pid)} 2>/dev/null\n")


# --- stop -----------------------------------------------------------------------------


async def stop_server(conn, server: JupyterServer, *, timeout: float = 15.0) -> None:
    """Stop `server`: Jupyter's shutdown API first, SIGTERM as a last resort; then tidy up.

    The API lets Jupyter shut its kernels down and remove its own runtime
    file. A pid whose command line no longer looks like Jupyter was reused
    by another program after the server died: it is never signalled. A
    runtime file left behind by a dead server is removed, so it stops
    being listed.
    """
    if await _process_state(conn, server.pid) == "jupyter":
        if not await _request_shutdown(conn, server) or not await _wait_gone(conn, server.pid, timeout):
            log.info("jupyter pid %d still running: sending SIGTERM", server.pid)
            await run_sh(conn, f"kill -TERM {int(server.pid)} 2>/dev/null\n")
            if not await _wait_gone(conn, server.pid, timeout):
                raise StopError(f"Jupyter (pid {server.pid}) is still running after SIGTERM.")
    await _remove_runtime_files(conn, server)


async def _request_shutdown(conn, server: JupyterServer) -> bool:
    """POST api/shutdown; True when the server took it (it may close before answering)."""
    try:
        status = await http_status(
            conn, remote_connect_host(server), server.port, "POST",
            f"{server.base_url}api/shutdown", server.token,
        )
    except asyncssh.ChannelOpenError:
        log.info("jupyter pid %d does not listen on port %d", server.pid, server.port)
        return False
    except _REMOTE_ERRORS as exc:
        log.info("shutdown request to pid %d ended without an answer (%s)", server.pid, type(exc).__name__)
        return True
    log.info("asked jupyter pid %d to shut down: HTTP %d", server.pid, status)
    return 200 <= status < 300


async def _alive(conn, pid: int) -> bool:
    result = await run_sh(conn, f"pid={int(pid)}\n{_ALIVE_SH}echo \"jtui-alive=$alive\"\n")
    return _key_values(str(result.stdout or "")).get("alive") == "1"


async def _process_state(conn, pid: int) -> str:
    """'gone', 'jupyter', or 'other' (the pid now belongs to another program)."""
    result = await run_sh(
        conn,
        f"""pid={int(pid)}
{_ALIVE_SH}if [ "$alive" = 0 ]; then echo jtui-state=gone; exit 0; fi
case $(ps -o args= -p "$pid" 2>/dev/null) in
  *[Jj]upyter*|*notebook*|*nbclassic*) echo jtui-state=jupyter ;;
  *) echo jtui-state=other ;;
esac
""",
    )
    return _key_values(str(result.stdout or "")).get("state", "other")


async def _wait_gone(conn, pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while await _alive(conn, pid):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL)
    return True


async def _remove_runtime_files(conn, server: JupyterServer) -> None:
    """Remove the runtime file (and its -open.html) of a server that is gone.

    Only a file named after this very server (`jpserver-PID.json` or
    `nbserver-PID.json`) is ever removed, whatever path it came with.
    """
    name = server.runtime_file or f"{server.kind}-{server.pid}.json"
    folder, _, base = name.rpartition("/")
    match = RUNTIME_NAME.match(base)
    if not match or int(match.group(2)) != server.pid:
        log.info("not removing %r: not the runtime file of pid %d", base, server.pid)
        return
    dirs = shlex.quote(folder or "/") if "/" in name else _runtime_dir_candidates("")
    stem = base[: -len(".json")]
    await run_sh(
        conn,
        f"""for d in {dirs}; do
  rm -f -- "$d"/{shlex.quote(base)} "$d"/{shlex.quote(stem + "-open.html")}
done
""",
    )
