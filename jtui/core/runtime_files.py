"""Jupyter runtime files (`jpserver-PID.json`, `nbserver-PID.json`) to JupyterServer.

Reading these files is what `jupyter server list` does, minus the Python
start-up: milliseconds instead of a second.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jtui.core.model import JupyterServer

RUNTIME_NAME = re.compile(r"^(jpserver|nbserver)-(\d+)\.json$")


class RuntimeFileError(ValueError):
    """A runtime file that does not describe a server; the message says why."""


def _int(data: dict, key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise RuntimeFileError(f"{key} is not a valid number: {value!r}"[:120])
    return value


def _str(data: dict, key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise RuntimeFileError(f"{key} is not a string")
    return value


def server_from_runtime(data: Any, name: str = "", mtime: float | None = None) -> JupyterServer:
    """Build a JupyterServer from a decoded runtime file; raise RuntimeFileError if unusable."""
    if not isinstance(data, dict):
        raise RuntimeFileError("runtime file is not a JSON object")
    port = _int(data, "port")
    if not 0 < port < 65536:
        raise RuntimeFileError(f"port out of range: {port}")
    pid = _int(data, "pid")
    match = RUNTIME_NAME.match(name.rsplit("/", 1)[-1]) if name else None
    kind = match.group(1) if match else "jpserver"
    base_url = _str(data, "base_url", "/") or "/"
    if not base_url.startswith("/"):
        base_url = "/" + base_url
    if not base_url.endswith("/"):
        base_url += "/"
    root_dir = _str(data, "root_dir") or _str(data, "notebook_dir")
    password = data.get("password", False)
    started = None
    if isinstance(data.get("start_time"), (int, float)) and not isinstance(data.get("start_time"), bool):
        started = float(data["start_time"])
    elif mtime is not None:
        started = mtime
    return JupyterServer(
        port=port,
        pid=pid,
        url=_str(data, "url"),
        base_url=base_url,
        token=_str(data, "token"),
        root_dir=root_dir,
        version=_str(data, "version"),
        started=started,
        hostname=_str(data, "hostname", "localhost") or "localhost",
        secure=bool(data.get("secure", False)),
        password=bool(password) if isinstance(password, bool) else False,
        kind=kind,
        runtime_file=name,
    )


def parse_runtime_text(text: str, name: str = "", mtime: float | None = None) -> JupyterServer:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RuntimeFileError(f"not JSON: {str(exc)[:80]}") from None
    return server_from_runtime(data, name, mtime)
