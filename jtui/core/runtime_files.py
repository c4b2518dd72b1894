"""Jupyter runtime files (`jpserver-PID.json`, `nbserver-PID.json`) to JupyterServer.

Reading these files is what `jupyter server list` does, minus the Python
start-up: milliseconds instead of a second.

The files come from a remote host and are shown in a terminal, so every
field is checked: numbers in range, strings without control characters
(an escape sequence in a root_dir must not reach the screen).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from jtui.core.model import JupyterServer

RUNTIME_NAME = re.compile(r"^(jpserver|nbserver)-(\d+)\.json$")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_TEXT = 4096
_MAX_TIME = 1e11  # epoch seconds; later is garbage


class RuntimeFileError(ValueError):
    """A runtime file that does not describe a server; the message says why (never a token)."""


def _int(data: dict, key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        shown = value if isinstance(value, (int, float)) or value is None else type(value).__name__
        raise RuntimeFileError(f"{key} is not a valid number: {shown!r}"[:120])
    return value


def checked_text(value: Any, key: str, limit: int = _MAX_TEXT, error: type[ValueError] = RuntimeFileError) -> str:
    """A remote string fit to show: a str, bounded, with no control characters
    (they could reach the terminal). Shared by the probe line parser."""
    if not isinstance(value, str):
        raise error(f"{key} is not a string")
    if len(value) > limit:
        raise error(f"{key} too long")
    if CONTROL_CHARS.search(value):
        raise error(f"{key} holds control characters")
    return value


def _str(data: dict, key: str, default: str = "") -> str:
    value = data.get(key, default)
    return default if value is None else checked_text(value, key)


def normalize_base_url(base_url: str) -> str:
    """'' -> '/', 'lab' -> '/lab/', '//a//b' -> '/a/b/': one leading and one trailing slash."""
    parts = [part for part in base_url.split("/") if part]
    return "/" + "".join(part + "/" for part in parts)


def _started(data: dict, mtime: float | None) -> float | None:
    value = data.get("start_time")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and 0 < number < _MAX_TIME:
            return number
    if mtime is not None and math.isfinite(mtime) and 0 < mtime < _MAX_TIME:
        return float(mtime)
    return None


def server_from_runtime(data: Any, name: str = "", mtime: float | None = None) -> JupyterServer:
    """Build a JupyterServer from a decoded runtime file; raise RuntimeFileError if unusable.

    `name` is the file's path (its name tells jpserver from nbserver), `mtime`
    its modification time: the start time when the file has none (Jupyter
    writes the file once, at start-up).
    """
    if not isinstance(data, dict):
        raise RuntimeFileError("runtime file is not a JSON object")
    if data.get("port") == 0 and data.get("sock"):
        raise RuntimeFileError("server listens on a unix socket, not a TCP port")
    port = _int(data, "port")
    if not 0 < port < 65536:
        raise RuntimeFileError(f"port out of range: {port}")
    pid = _int(data, "pid")
    if pid == 0:
        raise RuntimeFileError("pid is 0")
    match = RUNTIME_NAME.match(name.rsplit("/", 1)[-1]) if name else None
    kind = match.group(1) if match else "jpserver"
    if match and int(match.group(2)) != pid:
        # Jupyter names the file after its own pid; the probe checked that pid lives, not this one.
        raise RuntimeFileError(f"pid {pid} inside does not match the file name")
    root_dir = _str(data, "root_dir") or _str(data, "notebook_dir")
    password = data.get("password", False)
    secure = data.get("secure", False)
    return JupyterServer(
        port=port,
        pid=pid,
        url=_str(data, "url"),
        base_url=normalize_base_url(_str(data, "base_url", "/")),
        token=_str(data, "token"),
        root_dir=root_dir,
        version=_str(data, "version"),
        started=_started(data, mtime),
        hostname=_str(data, "hostname", "localhost") or "localhost",
        secure=secure if isinstance(secure, bool) else False,
        password=password if isinstance(password, bool) else False,
        kind=kind,
        runtime_file=name,
    )


def strict_json(text: str, error: type[ValueError] = RuntimeFileError) -> Any:
    """json.loads that refuses NaN/Infinity and turns every failure into `error`.

    Shared by the probe line parser: remote text is hostile until proven not.
    """

    def reject_constant(name: str) -> Any:
        raise error(f"not a finite number: {name}")

    try:
        return json.loads(text, parse_constant=reject_constant)
    except error:
        raise
    except json.JSONDecodeError as exc:
        raise error(f"not JSON: {exc.msg} at {exc.pos}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise error(f"not JSON: {type(exc).__name__}") from None


def parse_runtime_text(text: str, name: str = "", mtime: float | None = None) -> JupyterServer:
    """Decode a runtime file's text and build its JupyterServer; RuntimeFileError if unusable."""
    return server_from_runtime(strict_json(text), name, mtime)
