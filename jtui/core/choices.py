"""What the user chose last on each host (a Slurm job's fields, login node or job), kept in the state dir.

Choices are conveniences: a missing or broken file is simply no choice
yet, and jtui never writes into the user's config.toml or SSH config.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from jtui.core.paths import ensure_private_dir, state_dir

log = logging.getLogger(__name__)
FILE = "choices.json"


def _path() -> Path:
    return state_dir() / FILE


def load(alias: str) -> dict:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entry = data.get(alias) if isinstance(data, dict) else None
    return entry if isinstance(entry, dict) else {}


def save(alias: str, **values: object) -> None:
    """Merge `values` into the host's choices; written whole, then renamed (no half file)."""
    path = _path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data = data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        data = {}
    entry = data.get(alias) if isinstance(data.get(alias), dict) else {}
    data[alias] = {**entry, **values}
    try:
        ensure_private_dir(path.parent)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot keep choices in %s: %s", path, exc)
