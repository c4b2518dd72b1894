"""Pure text formatting of figures and paths (no Textual): the screen and `jtui status` print alike."""

from __future__ import annotations

import re
import textwrap

BLOCKS = "▁▂▃▄▅▆▇█"
GIB = 1024**3


def sparkline(values: list[float], width: int, top: float = 100.0) -> str:
    """The last `width` values as block characters, scaled to 0..top."""
    tail = values[-width:]
    if not tail:
        return ""
    out = []
    for v in tail:
        level = 0 if top <= 0 else int(round(max(0.0, min(v, top)) / top * (len(BLOCKS) - 1)))
        out.append(BLOCKS[level])
    return "".join(out)


def gib(n: int | float | None) -> str:
    return "?" if n is None else f"{n / GIB:.1f}"


def size(n: int | float) -> str:
    """Bytes as a person reads them: 340 MiB, 1.2 GiB."""
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    return f"{n / 1024**2:.0f} MiB"


def percent(p: float | None) -> str:
    return "" if p is None else f"{p:3.0f}%"


def duration(seconds: float | None) -> str:
    """Compact age: 45s, 12m, 5h, 3d."""
    if seconds is None or seconds < 0:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def clip(text: str, width: int) -> str:
    """`text` in `width` characters at most, an ellipsis at its end saying it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def sentence(text: str) -> str:
    """A clause as a sentence of its own: capital first, full stop last."""
    return f"{text[0].upper()}{text[1:]}." if text else ""


def wrap_prose(text: str, width: int) -> str:
    """`text` with each of its lines wrapped at spaces to `width`; a word longer than that (a URL
    with its token, a path) is kept whole on a line of its own, so it can be selected and copied,
    and so is an indented line (a command to run)."""
    lines = []
    for line in text.split("\n"):
        if line.startswith(" "):
            lines.append(line)
            continue
        lines += textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""]
    return "\n".join(lines)


def short_path(path: str, home: str | None = None) -> str:
    """Show a remote path with the remote home folded to ~."""
    if home and (path == home or path.startswith(home.rstrip("/") + "/")):
        return "~" + path[len(home.rstrip("/")):]
    return path or "?"


INTERPRETERS = ("python", "node", "ruby", "perl", "java")


def short_command(command: str, home: str, width: int) -> str:
    """A command line in `width`: the program (the script, for an interpreter) and its arguments, ~ for home."""
    words = command.split()
    if not words:
        return ""
    program, rest = words[0].rsplit("/", 1)[-1], words[1:]
    if program.startswith(INTERPRETERS):
        while rest and rest[0].startswith("-") and rest[0] != "-m":  # the interpreter's own flags
            rest = rest[1:]
        if rest[:1] == ["-m"] and len(rest) > 1:
            program, rest = rest[1], rest[2:]
        elif rest:
            program, rest = rest[0].rsplit("/", 1)[-1], rest[1:]
    text = " ".join([program, *rest])
    if home.rstrip("/"):  # the home at the start of a word (or an option's value) only: /data/home/al is not ~
        text = re.sub(r"(^|[\s=:])" + re.escape(home.rstrip("/") + "/"), r"\1~/", text)
    return clip(text, width)
