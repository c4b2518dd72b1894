"""List the Host aliases of ssh_config-style files, following Include as OpenSSH does.

Only the *names* are read here. What an alias means (HostName, User, Port,
ProxyJump...) is asyncssh's job, in `jtui.core.resolve`: one parser of
settings, not two.
"""

from __future__ import annotations

import glob
from fnmatch import fnmatchcase
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

# OpenSSH's READCONF_MAX_DEPTH.
MAX_INCLUDE_DEPTH = 16

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
kbdinteractiveauthentication kbdinteractivedevices keepalive
kerberosauthentication kerberostgtpassing knownhostscommand localcommand
localforward loglevel logverbose macs match nohostauthenticationforlocalhost
numberofpasswordprompts obscurekeystroketiming passwordauthentication
permitlocalcommand permitremoteopen pkcs11provider port
preferredauthentications protocol protocolkeepalives proxycommand proxyjump
proxyusefdpass pubkeyacceptedalgorithms pubkeyacceptedkeytypes
pubkeyauthentication refuseconnection rekeylimit remotecommand remoteforward
requesttty requiredrsasize revokedhostkeys rhostsauthentication
rhostsrsaauthentication securitykeyprovider sendenv serveralivecountmax
serveraliveinterval sessiontype setenv setuptimeout skeyauthentication
smartcarddevice stdinnull streamlocalbindmask streamlocalbindunlink
stricthostkeychecking syslogfacility tag tcpkeepalive tisauthentication tunnel
tunneldevice updatehostkeys useblacklistedkeys useprivilegedport user
userknownhostsfile userknownhostsfile2 useroaming usersh verifyhostkeydns
visualhostkey warnweakcrypto xauthlocation
""".split())

_KEYWORD = re.compile(r"\s*([^\s=]+)\s*(?:=\s*|\s+|$)(.*)", re.S)


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


def split_line(line: str) -> tuple[str, list[str]] | None:
    """Split a config line into (lower-case keyword, arguments), as OpenSSH does.

    Returns None for blank and comment lines; raises ValueError for a line
    OpenSSH would reject (unbalanced quotes).
    """
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    m = _KEYWORD.match(stripped)
    if not m:  # pragma: no cover - the pattern matches any non-blank text
        raise ValueError("cannot parse line")
    keyword, rest = m.group(1), m.group(2)
    lexer = shlex.shlex(rest, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return keyword.lower(), list(lexer)


def resolve_include(pattern: str, home: str) -> list[str]:
    """The files an Include pattern names: ~ expanded, relative to ~/.ssh, sorted."""
    pattern = os.path.expanduser(pattern) if pattern.startswith("~") else pattern
    if not os.path.isabs(pattern):
        pattern = os.path.join(home, ".ssh", pattern)
    return sorted(p for p in glob.glob(pattern) if os.path.isfile(p))


class _Scanner:
    def __init__(self) -> None:
        self.scan = HostScan()
        self._seen: set[str] = set()
        self._home = os.path.expanduser("~")
        self._ignore_unknown: list[str] = []
        self._reported: set[ConfigProblem] = set()

    def problem(self, file: str, line: int, message: str) -> None:
        problem = ConfigProblem(file, line, message)
        if problem not in self._reported:  # an Include loop repeats lines
            self._reported.add(problem)
            self.scan.problems.append(problem)

    def read(self, path: str, depth: int, top: bool) -> None:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            if top:
                self.problem(path, 0, "file not found")
            return
        except IsADirectoryError:
            self.problem(path, 0, "is a directory, not a config file")
            return
        except OSError as exc:
            self.problem(path, 0, f"cannot read: {exc.strerror or exc}")
            return
        if b"\0" in data:
            self.problem(path, 0, "binary file, not an ssh_config file: skipped")
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.problem(path, 0, f"not UTF-8 text (byte {exc.start}): skipped")
            return
        self.scan.files.append(path)
        for number, line in enumerate(text.splitlines(), 1):
            self.read_line(path, number, line, depth)

    def read_line(self, path: str, number: int, line: str, depth: int) -> None:
        try:
            parsed = split_line(line)
        except ValueError as exc:
            self.problem(path, number, f"OpenSSH rejects this line ({exc})")
            return
        if parsed is None:
            return
        keyword, args = parsed
        if keyword == "host":
            if not args:
                self.problem(path, number, "Host needs at least one name")
            for alias in args:
                if not is_pattern(alias) and alias not in self._seen:
                    self._seen.add(alias)
                    self.scan.hosts.append(HostEntry(alias, path, number))
        elif keyword == "include":
            if not args:
                self.problem(path, number, "Include needs a file name")
            for pattern in args:
                self.include(path, number, pattern, depth)
        elif keyword == "ignoreunknown":
            self._ignore_unknown = ",".join(args).split(",")
        elif keyword not in SSH_KEYWORDS and not self._ignored(keyword):
            self.problem(
                path,
                number,
                f"unknown keyword {keyword!r}: OpenSSH refuses this file "
                "(fix the spelling, or list it in IgnoreUnknown)",
            )

    def _ignored(self, keyword: str) -> bool:
        return any(fnmatchcase(keyword, p.lower()) for p in self._ignore_unknown if p)

    def include(self, path: str, number: int, pattern: str, depth: int) -> None:
        if depth + 1 > MAX_INCLUDE_DEPTH:
            self.problem(
                path,
                number,
                f"Include nested deeper than {MAX_INCLUDE_DEPTH} levels "
                "(an Include loop?): not followed",
            )
            return
        for included in resolve_include(pattern, self._home):
            self.read(included, depth + 1, top=False)


def scan_hosts(paths: list[str | os.PathLike[str]]) -> HostScan:
    """Every non-pattern Host alias of `paths`, in file order, first definition wins."""
    scanner = _Scanner()
    for path in paths:
        scanner.read(os.fspath(path), 0, top=True)
    return scanner.scan
