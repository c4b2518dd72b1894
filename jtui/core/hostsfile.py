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
from functools import cache
from pathlib import Path

# OpenSSH's READCONF_MAX_DEPTH.
MAX_INCLUDE_DEPTH = 16
# Files read in one scan, counting re-reads: Includes that fan out (`Include
# *` in every file) grow exponentially with depth; this keeps a scan quick.
MAX_FILE_READS = 10_000

# Keywords OpenSSH's client accepts (9.2, read off `ssh -G`, plus those newer
# releases added). A keyword outside this set makes OpenSSH refuse the file.
SSH_KEYWORDS = frozenset("""
addkeystoagent addressfamily afstokenpassing batchmode bindaddress bindinterface
canonicaldomains canonicalizefallbacklocal canonicalizehostname
canonicalizemaxdots canonicalizepermittedcnames casignaturealgorithms
certificatefile challengeresponseauthentication channeltimeout checkhostip
cipher ciphers clearallforwardings compression compressionlevel
connectionattempts connecttimeout controlmaster controlpath controlpersist
dsaauthentication dynamicforward enableescapecommandline enablesshkeysign
escapechar exitonforwardfailure fallbacktorsh fingerprinthash
forkafterauthentication forwardagent forwardx11 forwardx11timeout
forwardx11trusted gatewayports globalknownhostsfile globalknownhostsfile2
gssapiauthentication gssapiclientidentity gssapidelegatecredentials
gssapikexalgorithms gssapikeyexchange gssapirenewalforcesrekey
gssapiserveridentity gssapitrustdns hashknownhosts host
hostbasedacceptedalgorithms hostbasedauthentication hostbasedkeytypes
hostkeyalgorithms hostkeyalias hostname identitiesonly identityagent
identityfile identityfile2 ignoreunknown include ipqos
kbdinteractiveauthentication kbdinteractivedevices keepalive kexalgorithms
kerberosauthentication kerberostgtpassing knownhostscommand localcommand
localforward loglevel logverbose macs match nohostauthenticationforlocalhost
numberofpasswordprompts obscurekeystroketiming passwordauthentication
permitlocalcommand permitremoteopen pkcs11provider port
preferredauthentications protocol protocolkeepalives proxycommand proxyjump
proxyusefdpass pubkeyacceptedalgorithms pubkeyacceptedkeytypes
pubkeyauthentication refuseconnection rekeylimit remotecommand remoteforward
requesttty requiredrsasize revokedhostkeys rhostsauthentication
rhostsrsaauthentication rsaauthentication securitykeyprovider sendenv serveralivecountmax
serveraliveinterval sessiontype setenv setuptimeout skeyauthentication
smartcarddevice stdinnull streamlocalbindmask streamlocalbindunlink
stricthostkeychecking syslogfacility tag tcpkeepalive tisauthentication tunnel
tunneldevice updatehostkeys useblacklistedkeys useprivilegedport user
userknownhostsfile userknownhostsfile2 useroaming usersh verifyhostkeydns
visualhostkey warnweakcrypto xauthlocation
""".split())

# Match criteria OpenSSH 9.x knows; those in _MATCH_WITH_ARG take a pattern.
_MATCH_WITH_ARG = frozenset("host originalhost user localuser exec localnetwork tagged".split())
_MATCH_CRITERIA = _MATCH_WITH_ARG | {"all", "canonical", "final"}

# Characters ssh(1) refuses in a host name given on its command line
# (valid_hostname() in ssh.c, OpenSSH 9.6 and Debian's 9.2 security update),
# plus "@", which ssh reads as user@host.
_REFUSED_CHARS = frozenset("'`\"$\\;&<>|(){},@")

_WHITESPACE = " \t\r\n"


@dataclass(frozen=True)
class HostEntry:
    """One listed alias and where it was first defined."""

    alias: str
    file: str
    line: int


@dataclass(frozen=True)
class ConfigProblem:
    """Something wrong in a config file, said so a person can fix it."""

    file: str
    line: int  # 0 when the problem is the file itself
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class HostScan:
    hosts: list[HostEntry] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def aliases(self) -> list[str]:
        return [h.alias for h in self.hosts]


def is_pattern(alias: str) -> bool:
    """A Host word with a wildcard or negation names no single host."""
    return any(ch in alias for ch in "*?!")


def refused_by_ssh(alias: str) -> str | None:
    """Why `ssh ALIAS` could never use this Host name, or None when it can.

    Such a name is a valid Host *pattern*, but ssh rejects it as a
    destination before reading any config, so listing it would offer a host
    nobody can reach the way OpenSSH does.
    """
    if alias.startswith("-"):
        return "starts with '-' (ssh would read it as an option)"
    for ch in alias:
        if ch.isspace():
            return "contains white space"
        if not ch.isprintable():
            return "contains a control character"
        if ch in _REFUSED_CHARS:
            return f"contains {ch!r}"
    return None


def _strdelim(s: str) -> tuple[str | None, str]:
    """OpenSSH's strdelim(): the next word of `s` and what follows it.

    A word ends at white space, a double quote or one '='; a quoted word runs
    to the next quote (None when there is none).
    """
    end = next((i for i, ch in enumerate(s) if ch in _WHITESPACE + '"='), None)
    if end is None:
        return s, ""
    if s[end] == '"':
        close = s.find('"', end + 1)
        if close < 0:
            return None, ""
        return s[:end] + s[end + 1 : close], s[close + 1 :].lstrip(_WHITESPACE)
    rest = s[end + 1 :].lstrip(_WHITESPACE)
    if s[end] != "=" and rest.startswith("="):
        rest = rest[1:].lstrip(_WHITESPACE)
    return s[:end], rest


def split_args(s: str) -> list[str]:
    """OpenSSH's argv_split() with comments: quotes, backslash escapes, '#' ends the line.

    Single and double quotes group words; a backslash escapes a quote, a
    backslash, or (outside quotes) a space, and is kept before anything else.
    A '#' starts a comment only at the start of a word. Raises ValueError on
    an unbalanced quote, as OpenSSH refuses such a line.
    """
    args: list[str] = []
    i, n = 0, len(s)
    while i < n:
        if s[i] in " \t":
            i += 1
            continue
        if s[i] == "#":
            break
        word: list[str] = []
        quote = ""
        while i < n:
            ch = s[i]
            nxt = s[i + 1] if i + 1 < n else ""
            if ch == "\\" and (nxt in ("\'", '"', "\\") or (not quote and nxt == " ")):
                word.append(nxt)
                i += 2
                continue
            if not quote and ch in " \t":
                break
            if not quote and ch in "\"'":
                quote = ch
            elif quote and ch == quote:
                quote = ""
            else:
                word.append(ch)
            i += 1
        if quote:
            raise ValueError("unbalanced quotes")
        args.append("".join(word))
    return args


def split_line(line: str) -> tuple[str, list[str]] | None:
    """Split a config line into (lower-case keyword, arguments), as OpenSSH does.

    Returns None for blank and comment lines; raises ValueError for a line
    OpenSSH would reject (unbalanced quotes). A keyword without arguments
    gives an empty list: OpenSSH rejects that too, the caller says so.
    """
    line = line.rstrip(_WHITESPACE + "\f")
    keyword, rest = _strdelim(line)
    if keyword == "":  # leading white space: OpenSSH skips it once
        keyword, rest = _strdelim(rest)
    if not keyword or keyword.startswith("#"):
        return None
    return keyword.lower(), split_args(rest)


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


def host_words_match(name: str, words: list[str] | tuple[str, ...]) -> bool:
    """Whether a `Host` line with `words` applies to `name`, as OpenSSH decides.

    Each word is a pattern of its own (`*` and `?` only, case-sensitive); a
    matching `!word` rules the line out, otherwise one matching word is enough.
    """
    matched = False
    for word in words:
        negated = word.startswith("!")
        pattern = word[1:] if negated else word
        if re.fullmatch(_glob_regex(pattern), name, re.S):
            if negated:
                return False
            matched = True
    return matched


@cache
def _glob_regex(pattern: str) -> str:
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)


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

    def problem(self, file: str, line: int, message: str) -> None:
        problem = ConfigProblem(file, line, message)
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
            self.problem(path, number, f"OpenSSH rejects this line ({exc})")
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
            )
            return
        if not args:
            self.problem(path, number, f"{keyword!r} without a value: OpenSSH refuses this file")
            return
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
                self.problem(state.path, number, "empty Host name: OpenSSH refuses this file")
            elif is_pattern(alias) or alias in self._seen:
                continue
            elif not all(host_words_match(alias, guard) for guard in state.guards):
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
            if criterion not in _MATCH_CRITERIA:
                self.problem(path, number, f"Match {word!r} is not a criterion OpenSSH knows")
                return
            if criterion in _MATCH_WITH_ARG and next(words, None) is None:
                self.problem(path, number, f"Match {word} needs a pattern")
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


def scan_hosts(paths: list[str | os.PathLike[str]]) -> HostScan:
    """Every usable Host alias of `paths`, in file order, first definition wins.

    Never raises for what is in the files: every problem is in `problems`,
    with its file and line, and every host that could be read is listed.
    """
    scanner = _Scanner()
    for path in paths:
        scanner.read(os.fspath(path), 0, top=True)
    return scanner.scan
