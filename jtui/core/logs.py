"""jtui's log: a rotated file in the user log dir, mode 0600, with secrets scrubbed.

Tokens must never reach the log, whatever a library prints: every record
passes through a filter (message, traceback and stack alike) that blanks
`token=...`, `"token": "..."`, `Authorization: token|Bearer ...` and any
secret registered with `register_secret`.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path

from jtui.core import paths

LOG_NAME = paths.log_file().name
MAX_BYTES = 1_000_000
BACKUPS = 3

_PATTERNS = [
    # "token": "..." and 'token': '...' (JSON, reprs): the whole string value, whatever it holds
    re.compile(r"""(token["']?\s*[:=]\s*")(?:[^"\\]|\\.)*""", re.I),
    re.compile(r"""(token["']?\s*[:=]\s*')(?:[^'\\]|\\.)*""", re.I),
    # token=... in URLs and command lines, also URL-encoded (a login page's ?next=%2Flab%3Ftoken%3D...)
    re.compile(r"(token(?:=|%3D))[^&\s'\"<>]+", re.I),
    re.compile(r"(token[\"']?\s*[:=]\s*)[A-Za-z0-9_\-]{8,}", re.I),
    # Authorization: token|Bearer ... (Jupyter takes both), also inside a dict or JSON
    re.compile(r"(Authorization[\"']?\s*[:=]\s*[\"']?(?:token|bearer)\s+)[^\s'\"]+", re.I),
    re.compile(r"(JUPYTER_TOKEN=)\S+"),
]
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """A token or password jtui knows: scrubbed from every record from now on."""
    if value and len(value) >= 4:
        _secrets.add(value)


def scrub(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1***", text)
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:  # a traceback can carry a URL with its token
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Creates every log file (and rotated one) with mode 0600."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.chmod(self.baseFilename, 0o600)
        return os.fdopen(fd, self.mode.replace("w", "a"), encoding=self.encoding)


def setup_logging(level: int = logging.INFO, directory: Path | None = None) -> Path:
    """Send jtui's records, and every library's warnings, to the rotated private log file.

    Nothing may reach the terminal behind jtui's back, least of all after its
    screen is gone: a library's warning with no handler of its own would go
    to stderr through logging's last resort (asyncio's "Unknown child
    process pid ..." was seen after q), and so would Python's warnings and
    errors in __del__. All of them land in the log instead.
    """
    if directory is None and paths.state_dir() in paths.log_dir().parents:
        # Linux: the log dir is inside the state dir (known_hosts lives there); mkdir(parents=True)
        # would create that one 0755, so it is made private first.
        paths.ensure_private_dir(paths.state_dir())
    directory = paths.ensure_private_dir(directory or paths.log_dir())
    path = directory / LOG_NAME
    handler = PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubFilter())
    root = logging.getLogger("jtui")
    root.setLevel(level)
    root.handlers[:] = [handler]
    root.propagate = False  # the root logger has the same handler: each record once
    ssh = logging.getLogger("asyncssh")
    ssh.setLevel(logging.WARNING)
    ssh.handlers[:] = [handler]
    ssh.propagate = False
    everyone = logging.getLogger()
    everyone.handlers[:] = [handler]
    everyone.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    sys.unraisablehook = _log_unraisable
    return path


def _log_unraisable(unraisable) -> None:
    """Errors Python can only report (in __del__, at shutdown): to the log, not the terminal."""
    logging.getLogger("jtui.unraisable").warning(
        "%s: %s", unraisable.err_msg or "Exception ignored", unraisable.object,
        exc_info=(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback)
        if unraisable.exc_type else None,
    )
