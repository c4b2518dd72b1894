"""List the Host aliases of ssh_config-style files, following Include as OpenSSH does.

Only the *names* are read here. What an alias means (HostName, User, Port,
ProxyJump...) is asyncssh's job, in `jtui.core.resolve`: one parser of
settings, not two. The words of a line are split the way OpenSSH splits them
(`split_line`), so that the names listed are the names `ssh` would match.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from jtui.core.ssh_syntax import (
    MATCH_CRITERIA,
    MATCH_WITH_ARG,
    SSH_KEYWORDS,
    host_words_match,
    is_pattern,
    refused_by_ssh,
    split_line,
)

# OpenSSH's READCONF_MAX_DEPTH.
MAX_INCLUDE_DEPTH = 16
# Files read in one scan, counting re-reads: Includes that fan out (`Include
# *` in every file) grow exponentially with depth; this keeps a scan quick.
MAX_FILE_READS = 10_000

@dataclass(frozen=True)
class HostEntry:
    """One listed alias and where it was first defined."""

    alias: str
    file: str
    line: int


@dataclass(frozen=True)
class ConfigProblem:
    """Something wrong in a config file, said so a person can fix it.

    `blocks` says which hosts it leaves without a trustworthy destination:
    None for none (a remark), ALL when OpenSSH refuses the whole config, or
    the Host words of the block it sits in (a setting jtui cannot read as
    OpenSSH does). Those hosts are shown broken and never dialled.
    """

    file: str
    line: int  # 0 when the problem is the file itself
    message: str
    blocks: tuple[str, ...] | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def blocks_host(self, alias: str) -> bool:
        if self.blocks is None:
            return False
        return self.blocks == ALL or host_words_match(alias, self.blocks)


ALL = ("*",)  # ConfigProblem.blocks: every host


@dataclass
class HostScan:
    """What a scan of the SSH config files found: hosts in file order, problems with file and line."""

    hosts: list[HostEntry] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def aliases(self) -> list[str]:
        return [h.alias for h in self.hosts]

    def blocker(self, alias: str) -> ConfigProblem | None:
        """The first problem that leaves `alias` without a trustworthy destination."""
        return next((p for p in self.problems if p.blocks_host(alias)), None)


def resolve_include(pattern: str, home: str) -> list[str]:
    """The files an Include pattern names: ~ expanded, relative to ~/.ssh, sorted.

    Sorted as glob(3) sorts: when two included files set the same option,
    the first in sorted order wins, in OpenSSH and in jtui.
    """
    pattern = os.path.expanduser(pattern) if pattern.startswith("~") else pattern
    if not os.path.isabs(pattern):
        pattern = os.path.join(home, ".ssh", pattern)
    try:
        matches = glob.glob(pattern)
    except (OSError, ValueError):  # a name the OS cannot take (NUL byte, too long)
        return []
    return sorted(p for p in matches if os.path.isfile(p))


@dataclass
class _FileState:
    """Where the scanner is in one file: its guards and the current block."""

    path: str
    depth: int
    # Host words of the blocks this file was included from: a Host line in
    # here applies to a name only if every one of them matches it too.
    guards: tuple[tuple[str, ...], ...]
    block: tuple[str, ...] | None = None  # words of the current Host block


class _Scanner:
    def __init__(self) -> None:
        self.scan = HostScan()
        self._seen: set[str] = set()
        self._home = os.path.expanduser("~")
        self._ignore_unknown: list[str] | None = None
        self._reported: set[ConfigProblem] = set()
        self._reads = 0
        # Set once an Include went too deep or too wide: OpenSSH gives up on
        # the whole config there, the scanner stops following Includes (and
        # still lists the hosts of the lines it has yet to read).
        self._includes_stopped = False

    def problem(self, file: str, line: int, message: str, blocks: tuple[str, ...] | None = None) -> None:
        problem = ConfigProblem(file, line, message, blocks)
        if problem not in self._reported:  # an Include loop repeats lines
            self._reported.add(problem)
            self.scan.problems.append(problem)

    def read(self, path: str, depth: int, top: bool, guards: tuple[tuple[str, ...], ...] = ()) -> None:
        self._reads += 1
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            if top:
                self.problem(path, 0, "file not found")
            return
        except IsADirectoryError:
            self.problem(path, 0, "is a directory, not a config file")
            return
        except (OSError, ValueError) as exc:
            self.problem(path, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
            return
        if b"\0" in data:
            line = data[: data.index(b"\0")].count(b"\n") + 1
            self.problem(path, line, "binary data (NUL byte), not an ssh_config file: file skipped")
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.problem(
                path, line,
                f"not UTF-8 text (byte 0x{data[exc.start]:02x}): file skipped, "
                "save it as UTF-8 to use it",
            )
            return
        key = _looks_like_a_key(text)
        if key:
            self.problem(path, 1, f"{key}, not an ssh_config file: file skipped")
            return
        self.scan.files.append(path)
        state = _FileState(path, depth, guards)
        # OpenSSH reads lines up to "\n" only: no splitlines(), which also
        # breaks at form feeds and other separators and would shift numbers.
        for number, line in enumerate(text.split("\n"), 1):
            self.read_line(state, number, line)

    def read_line(self, state: _FileState, number: int, line: str) -> None:
        path = state.path
        try:
            parsed = split_line(line)
        except ValueError as exc:
            self.problem(path, number, f"OpenSSH rejects this line ({exc}) and refuses this file", ALL)
            return
        if parsed is None:
            return
        keyword, args = parsed
        if keyword not in SSH_KEYWORDS and not self._ignored(keyword):
            self.problem(
                path,
                number,
                f"unknown keyword {keyword!r}: OpenSSH refuses this file "
                "(fix the spelling, or list it in IgnoreUnknown)",
                ALL,
            )
            return
        if not args:
            self.problem(path, number, f"{keyword!r} without a value: OpenSSH refuses this file", ALL)
            return
        unreadable = _unreadable(keyword, args)
        if unreadable:
            self.problem(
                path, number,
                f"{unreadable}: jtui cannot read this line the way OpenSSH does, so the hosts it applies "
                "to are not connected (rewrite it)",
                state.block if state.block is not None and keyword not in ("host", "match") else ALL,
            )
        if keyword == "host":
            state.block = tuple(args)
            self.host(state, number, args)
        elif keyword == "match":
            state.block = None  # may match any name: no guard
            self.match(path, number, args)
        elif keyword == "include":
            guards = state.guards + ((state.block,) if state.block is not None else ())
            for pattern in args:
                self.include(path, number, pattern, state.depth, guards)
        elif keyword == "ignoreunknown" and self._ignore_unknown is None:
            self._ignore_unknown = ",".join(args).split(",")  # first value wins

    def host(self, state: _FileState, number: int, args: list[str]) -> None:
        for alias in args:
            if not alias:
                self.problem(state.path, number, "empty Host name: OpenSSH refuses this file", ALL)
            elif is_pattern(alias) or alias in self._seen:
                continue
            elif state.guards and not all(host_words_match(alias, guard) for guard in state.guards):
                continue  # included under a Host block that never matches this name
            elif (why := refused_by_ssh(alias)) is not None:
                self.problem(state.path, number, f"Host {alias!r} {why}: ssh refuses that name, not listed")
            else:
                self._seen.add(alias)
                self.scan.hosts.append(HostEntry(alias, state.path, number))

    def match(self, path: str, number: int, args: list[str]) -> None:
        words = iter(args)
        for word in words:
            criterion = word.lower().removeprefix("!")
            if criterion not in MATCH_CRITERIA:
                self.problem(path, number, f"Match {word!r} is not a criterion OpenSSH knows", ALL)
                return
            if criterion in MATCH_WITH_ARG and next(words, None) is None:
                self.problem(path, number, f"Match {word} needs a pattern", ALL)
                return

    def _ignored(self, keyword: str) -> bool:
        patterns = self._ignore_unknown or []
        return any(fnmatchcase(keyword, p.lower()) for p in patterns if p)

    def include(
        self, path: str, number: int, pattern: str, depth: int, guards: tuple[tuple[str, ...], ...]
    ) -> None:
        if self._includes_stopped:
            return
        if depth + 1 > MAX_INCLUDE_DEPTH:
            self._includes_stopped = True
            self.problem(
                path,
                number,
                f"Include nested deeper than {MAX_INCLUDE_DEPTH} levels "
                "(an Include loop?): not followed; OpenSSH refuses this config",
                ALL,
            )
            return
        for included in resolve_include(pattern, self._home):
            if self._reads >= MAX_FILE_READS:
                self._includes_stopped = True
                self.problem(
                    path, number,
                    f"Includes read more than {MAX_FILE_READS} files: not followed further",
                )
                return
            self.read(included, depth + 1, top=False, guards=guards)


def _unreadable(keyword: str, args: list[str]) -> str | None:
    """What in this line asyncssh would read unlike OpenSSH (so jtui would resolve it wrongly), or None.

    Each case is one `ssh -G` showed (tests/test_ssh_g_oracle.py).
    """
    joined = "\n".join(args)  # one search per case, not one per word: a hosts file has thousands of lines
    if keyword in ("host", "match") and "=" in joined:
        return f"'=' inside a {keyword.title()} word"
    if keyword == "match":
        words = [w.lower().removeprefix("!") for w in args]
        for i, word in enumerate(words[:-1]):
            if word == "exec" and "%" in args[i + 1]:
                return "%-tokens in a Match exec command"
    if keyword in _RAW_VALUES:  # asyncssh keeps these lines as written
        return None
    if "\\" in joined:
        return "a backslash in a value"
    if keyword not in ("host", "match") and (joined.startswith("#") or "\n#" in joined):
        return "a quoted value starting with '#'"
    return None


_RAW_VALUES = frozenset({"proxycommand", "remotecommand", "localcommand", "knownhostscommand"})


_KEY_TYPES = re.compile(r"(ssh-(ed25519|rsa|dss)|ecdsa-sha2-\S+|sk-\S+@openssh\.com)(-cert-v01@openssh\.com)? AAAA")


def _looks_like_a_key(text: str) -> str | None:
    """What key material `text` is, when it is some (not a config): None otherwise."""
    start = text.lstrip()
    if start.startswith("-----BEGIN "):
        return "a PEM key or certificate"
    if _KEY_TYPES.match(start):
        return "an OpenSSH public key"
    return None


def scan_hosts(paths: list[str | os.PathLike[str]]) -> HostScan:
    """Every usable Host alias of `paths`, in file order, first definition wins.

    Never raises for what is in the files: every problem is in `problems`,
    with its file and line, and every host that could be read is listed.
    """
    scanner = _Scanner()
    for path in paths:
        scanner.read(os.fspath(path), 0, top=True)
    return scanner.scan
