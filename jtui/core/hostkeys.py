"""Host key checking as OpenSSH does it, plus telling unknown keys from changed ones.

asyncssh raises the same HostKeyNotVerifiable for both and never writes
known_hosts. On its own it also trusts a key recorded for the IP address
(OpenSSH's CheckHostIP is off by default since 8.5) and one recorded for
`host` when connecting to `[host]:2222`. OpenSSH accepts the latter too when
the key matches; jtui is stricter and asks instead, so a key for another
service on the same machine is never taken silently. jtui hands asyncssh a
matcher that does neither, and remembers which file and line matched so a
changed key can be named the way OpenSSH names it.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field

UNKNOWN = "unknown"
CHANGED = "changed"
REVOKED = "revoked"


@dataclass(frozen=True)
class KnownLine:
    file: str
    line: int
    marker: str | None  # None, "cert-authority" or "revoked"
    key: object  # asyncssh SSHKey
    entry: object  # a one-line asyncssh SSHKnownHosts, for its pattern matching


def host_pattern(host: str, port: int | None) -> str:
    """The known_hosts name OpenSSH uses: `host`, or `[host]:port` off port 22."""
    return host if not port or port == 22 else f"[{host}]:{port}"


def read_known_lines(files: list[str]) -> list[KnownLine]:
    """Every usable line of the files; lines asyncssh cannot parse are skipped, as OpenSSH skips them."""
    import asyncssh

    out = []
    for path in files:
        try:
            with open(os.path.expanduser(path), encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for number, text in enumerate(lines, 1):
            text = text.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.split()
            marker = parts[0][1:] if parts[0].startswith("@") else None
            try:
                entry = asyncssh.import_known_hosts(text)
                key_text = " ".join(parts[2:4] if marker else parts[1:3])
                key = asyncssh.import_public_key(key_text)
            except (ValueError, IndexError):
                continue
            out.append(KnownLine(path, number, marker, key, entry))
    return out


class KnownHostsMatcher:
    """A strict `known_hosts` callable for asyncssh: exact port, no IP fallback."""

    def __init__(self, files: list[str]) -> None:
        self.files = list(files)
        self.lines = read_known_lines(self.files)

    def matching(self, host: str, port: int | None) -> list[KnownLine]:
        name = host_pattern(host, port)
        found = []
        for line in self.lines:
            keys = line.entry.match(name, "", None)  # port None: no retry without the port
            if keys[0] or keys[1] or keys[2]:
                found.append(line)
        return found

    def __call__(self, host: str, addr: str, port: int | None):
        trusted, cas, revoked = [], [], []
        for line in self.matching(host, port):
            {"cert-authority": cas, "revoked": revoked}.get(line.marker, trusted).append(line.key)
        return trusted, cas, revoked


@dataclass(frozen=True)
class HostKeyProblem:
    """An untrusted server key, with what a person needs to decide."""

    kind: str  # UNKNOWN, CHANGED or REVOKED
    host: str  # as matched: the HostKeyAlias or HostName
    port: int | None
    key_type: str
    fingerprint: str  # SHA256:...
    public_key: str  # OpenSSH one-line form, for recording
    offending: tuple[tuple[str, int], ...] = ()  # (file, line) of the known keys it contradicts
    other_types: tuple[str, ...] = field(default=())  # key types known for this host (unknown case)

    @property
    def name(self) -> str:
        return host_pattern(self.host, self.port)

    def explain(self) -> str:
        if self.kind == UNKNOWN:
            text = (
                f"The authenticity of host {self.name} can't be established.\n"
                f"{self.key_type} key fingerprint is {self.fingerprint}."
            )
            if self.other_types:
                text += f"\nKeys of another type are already known for this host: {', '.join(self.other_types)}."
            return text
        lines = [f"{file}:{line}" for file, line in self.offending]
        if self.kind == REVOKED:
            return f"The {self.key_type} key of {self.name} ({self.fingerprint}) is marked revoked in {', '.join(lines)}: refused."
        return (
            "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\n"
            "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
            "Someone could be eavesdropping on you right now (man-in-the-middle attack)!\n"
            "It is also possible that a host key has just been changed.\n"
            f"The fingerprint for the {self.key_type} key sent by {self.name} is {self.fingerprint}.\n"
            f"Offending key in {', '.join(lines)}.\n"
            f"If you know why it changed, remove the old key with: {self.remedy()}\n"
            "jtui will not connect until then."
        )

    def one_line(self) -> str:
        if self.kind == UNKNOWN:
            return f"unknown host key {self.key_type} {self.fingerprint}"
        if self.kind == REVOKED:
            return f"host key revoked ({self.fingerprint})"
        where = ", ".join(f"{f}:{n}" for f, n in self.offending)
        return (f"HOST KEY CHANGED ({self.fingerprint}; known key in {where}): possible man-in-the-middle, refused. "
                f"If you know why it changed (a reinstall): {self.remedy()}")

    def remedy(self) -> str:
        """OpenSSH's own command that forgets the old key (jtui never edits the user's known_hosts)."""
        first_file = self.offending[0][0] if self.offending else os.path.expanduser("~/.ssh/known_hosts")
        return shlex.join(["ssh-keygen", "-f", first_file, "-R", self.name])


def classify(matcher: KnownHostsMatcher, host: str, port: int | None, key) -> HostKeyProblem:
    """Why `key` was not trusted for host:port (the matcher already said it is not)."""
    algorithm = key.get_algorithm()
    found = matcher.matching(host, port)
    revoked = [line for line in found if line.marker == "revoked" and line.key == key]
    same_type = [line for line in found if line.marker is None and line.key.get_algorithm() == algorithm]
    other = sorted({line.key.get_algorithm() for line in found if line.marker is None} - {algorithm})
    kind = REVOKED if revoked else CHANGED if same_type else UNKNOWN
    offending = revoked or same_type
    return HostKeyProblem(
        kind=kind,
        host=host,
        port=port,
        key_type=key_type_label(algorithm),
        fingerprint=key.get_fingerprint("sha256"),
        public_key=key.export_public_key("openssh").decode().split("\n")[0],
        offending=tuple((line.file, line.line) for line in offending),
        other_types=tuple(other),
    )


def key_type_label(algorithm: str) -> str:
    """ssh-ed25519 -> ED25519, as OpenSSH prints key types."""
    name = algorithm.removeprefix("ssh-").removeprefix("ecdsa-sha2-")
    return {"rsa": "RSA", "ed25519": "ED25519", "ed448": "ED448", "dss": "DSA"}.get(name, name.upper())


def record(path: str, problem: HostKeyProblem) -> None:
    """Append an accepted key to jtui's own known_hosts (0600); never to the user's."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as f:
        key_words = problem.public_key.split()[:2]
        f.write(f"{problem.name} {' '.join(key_words)}\n")
