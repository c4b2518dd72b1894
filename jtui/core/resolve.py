"""What an alias means, as asyncssh's own OpenSSH config support reads it.

asyncssh's parser (asyncssh.config.SSHClientConfig) does the work. Where it
reads a file differently from OpenSSH, and OpenSSH is the reference, a small
subclass corrects just that and nothing else (see `_openssh_config_class`);
`tests/test_ssh_g_oracle.py` compares the result with `ssh -G`.

The subclass reads asyncssh internals (`_handlers`, `_match_val`, ...), so
pyproject.toml pins asyncssh to the releases the tests prove, and
`check_asyncssh_internals` refuses loudly, for every host, when an asyncssh
outside that range no longer has them: a config read wrongly would send
the user somewhere else. Constructs neither reader handles like OpenSSH are
found by jtui's own scanner (hostsfile.py), which marks the hosts they touch.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_KEEPALIVE_INTERVAL = 5.0
DEFAULT_KEEPALIVE_COUNT = 3


@dataclass(frozen=True)
class ResolvedHost:
    """The connection an alias stands for; `error` set when the config is broken."""

    alias: str
    hostname: str
    user: str
    port: int
    proxyjump: str | None = None
    identity_files: tuple[str, ...] = ()
    known_hosts: tuple[str, ...] = ()
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    keepalive_interval: float = DEFAULT_KEEPALIVE_INTERVAL
    keepalive_count: int = DEFAULT_KEEPALIVE_COUNT
    ciphers: str | None = None
    batch_mode: bool = False  # BatchMode yes: `jtui status` and `jtui open` ask nothing, as ssh would not
    error: str | None = None

    @property
    def target(self) -> str:
        return "(config broken)" if self.error else f"{self.user}@{self.hostname}:{self.port}"

    def to_json(self) -> dict:
        data = asdict(self)
        data["identity_files"] = list(self.identity_files)
        data["known_hosts"] = list(self.known_hosts)
        return data


def _tunnel_text(tunnel: object) -> str | None:
    if not tunnel or tunnel == "none":
        return None
    return str(tunnel)


def _without_comment(handler):
    """Wrap an asyncssh option handler so that a trailing `# comment` is dropped.

    OpenSSH ends a line at a word starting with '#'; asyncssh passes those
    words on and then fails the whole file with "Extra data at end".
    """

    def handle(config, option: str, args: list[str]) -> None:
        for i, arg in enumerate(args):
            if arg.startswith("#"):
                del args[i:]
                break
        if not args:
            config._error(f"Missing {option} value")
        handler(config, option, args)

    return handle


def _lower_match_patterns(handler):
    """`Match host` and `Match originalhost` ignore case in OpenSSH (match_hostname)."""

    def handle(config, option: str, args: list[str]) -> None:
        i = 0
        while i < len(args):
            criterion = args[i].lower().removeprefix("!")
            if criterion in ("all", "canonical", "final"):
                i += 1
                continue
            if criterion in ("host", "originalhost") and i + 1 < len(args):
                args[i + 1] = args[i + 1].lower()
            i += 2
        handler(config, option, args)

    return handle


TESTED_ASYNCSSH = ">=2.24,<2.25"  # keep in step with pyproject.toml


class AsyncsshChanged(RuntimeError):
    """The installed asyncssh no longer has the config internals jtui corrects."""


def check_asyncssh_internals() -> None:
    """Raise AsyncsshChanged, saying what is missing and what to install, if asyncssh moved on."""
    import asyncssh
    from asyncssh.config import SSHClientConfig, SSHConfig

    missing = [
        name
        for owner, name in (
            (SSHConfig, "_handlers"), (SSHConfig, "_no_split"), (SSHConfig, "_match_val"), (SSHConfig, "_error"),
            (SSHConfig, "_set_bool"), (SSHConfig, "parse"), (SSHConfig, "load"), (SSHConfig, "has_match_final"),
            (SSHClientConfig, "_match_host"),
        )
        if not hasattr(owner, name)
    ]
    handlers = getattr(SSHClientConfig, "_handlers", {})
    if not isinstance(handlers, dict) or not all(k in handlers for k in ("host", "match", "include", "hostname")):
        missing.append("_handlers entries for host, match, include, hostname")
    elif not all(isinstance(v, tuple) and len(v) == 2 for v in handlers.values()):
        missing.append("_handlers as (option, handler) pairs")
    import asyncssh.connection

    if not hasattr(asyncssh.connection, "SSHClientConfig"):
        missing.append("asyncssh.connection.SSHClientConfig")
    if missing:
        raise AsyncsshChanged(
            f"asyncssh {asyncssh.__version__} changed the config internals jtui reads "
            f"({', '.join(missing)}), so jtui cannot read ssh configs the way OpenSSH does; "
            f"install a tested asyncssh: pip install 'asyncssh[bcrypt]{TESTED_ASYNCSSH}'"
        )


@cache
def _openssh_config_class():
    """asyncssh's SSHClientConfig, corrected where it reads files unlike OpenSSH.

    Each correction is one that `ssh -G` showed (tests/test_ssh_g_oracle.py):
    - a trailing `# comment` made asyncssh reject the whole file;
    - `Host a,b` matched `a` and `b`: OpenSSH takes each Host word whole;
    - Include globs came in directory order: OpenSSH sorts them (glob(3)),
      which decides who wins when two included files set one option;
    - an Include loop recursed until RecursionError: OpenSSH stops at 16 levels;
    - `Match host`/`originalhost` were case-sensitive;
    - the host name was kept as written: ssh connects to it lower-cased and
      writes it so to known_hosts, where asyncssh compares case-sensitively;
    - BatchMode was ignored: ssh then asks for nothing, and neither does the
      command line (a script run from a terminal must not stop at a prompt).
    Everything else (what each keyword means, first value wins, Match,
    tokens) stays asyncssh's.
    """
    from asyncssh.config import SSHClientConfig, SSHConfig
    from asyncssh.pattern import WildcardPattern

    from jtui.core.hostsfile import MAX_INCLUDE_DEPTH, resolve_include

    handlers = {}
    for key, (option, handler) in SSHClientConfig._handlers.items():
        if key not in SSHClientConfig._no_split:  # ProxyCommand keeps its raw line
            handler = _without_comment(handler)
        if key == "match":
            handler = _lower_match_patterns(handler)
        handlers[key] = (option, handler)

    class OpenSSHClientConfig(SSHClientConfig):
        _include_depth = 0

        def _match_val(self, match: str) -> object:
            value = super()._match_val(match)
            if match in ("host", "originalhost") and isinstance(value, str):
                return value.lower()
            return value

        def _match_host(self, option: str, args: list[str]) -> None:
            matching = False
            for arg in args:
                negated = arg.startswith("!")
                if WildcardPattern(arg[1:] if negated else arg).matches(self._orig_host):
                    if negated:
                        matching = False
                        break
                    matching = True
            self._matching = matching
            args.clear()

        def _include(self, option: str, args: list[str]) -> None:
            if self._include_depth >= MAX_INCLUDE_DEPTH:
                self._error(
                    f"Include nested deeper than {MAX_INCLUDE_DEPTH} levels "
                    "(an Include loop?); OpenSSH refuses this config too"
                )
            old_path, old_line_no = self._path, self._line_no
            self._include_depth += 1
            try:
                for pattern in args:
                    for path in resolve_include(pattern, os.path.expanduser("~")):
                        self.parse(Path(path))
            finally:
                self._include_depth -= 1
            self._path, self._line_no = old_path, old_line_no
            self._matching = True
            args.clear()

        @classmethod
        def load(cls, last_config, config_paths, reload, canonical, final, *args):
            config = super().load(last_config, config_paths, reload, canonical, final, *args)
            host = config._options.get("Hostname", config._orig_host)
            if host:
                config._options["Hostname"] = host.lower()
            return config

    OpenSSHClientConfig._handlers = {
        **handlers,
        "host": ("Host", _without_comment(OpenSSHClientConfig._match_host)),
        "include": ("Include", _without_comment(OpenSSHClientConfig._include)),
        "batchmode": ("BatchMode", _without_comment(SSHConfig._set_bool)),
    }
    return OpenSSHClientConfig


def use_openssh_reading() -> None:
    """Make asyncssh read config files through `_openssh_config_class`.

    asyncssh builds its config object inside SSHClientConnectionOptions
    (also for ProxyJump hops and reconnects), from the name
    `asyncssh.connection.SSHClientConfig`; pointing that name at the
    subclass is the one hook it offers. Done once, only over the stock class.
    """
    import asyncssh.config
    import asyncssh.connection

    check_asyncssh_internals()  # every time: a few attribute lookups, and never a silent misreading
    if asyncssh.connection.SSHClientConfig is asyncssh.config.SSHClientConfig:
        asyncssh.connection.SSHClientConfig = _openssh_config_class()


def connection_options(alias: str, config_files: list[str], **overrides):
    """asyncssh options for `alias`, reading exactly `config_files`.

    Key loading is left out here (client_keys=None): keys are loaded at
    connect time, where a passphrase can be asked for. The options hold the
    host name (lower-cased, always set), so `asyncssh.connect(options=...)`
    needs no host argument.
    """
    import asyncssh

    use_openssh_reading()

    kwargs = {"config": list(config_files), "host": alias, "client_keys": None}
    kwargs.update(overrides)
    options = asyncssh.SSHClientConnectionOptions(**kwargs)
    if options.config.has_match_final():
        # OpenSSH parses the files a second time when a `Match final` block
        # exists, `Match host` then seeing the HostName; asyncssh does it only
        # when it reads the files itself, and jtui hands it options.
        options.update(host=alias, reload=True, canonical=False, final=True)
    if "encryption_algs" not in overrides and not options.config.get("Ciphers") and _cpu_has_aes():
        # Only the order of asyncssh's defaults changes; a Ciphers line of the user's always wins.
        # update() keeps it in the options' kwargs, which asyncssh.connect() prepares again.
        algs = list(options.encryption_algs)
        options.update(encryption_algs=[a.decode() for a in FAST_CIPHERS if a in algs]
                       + [a.decode() for a in algs if a not in FAST_CIPHERS])
    return options


# asyncssh, like OpenSSH, offers chacha20-poly1305 first; through asyncssh, AES-GCM moves
# more data per second where the CPU has AES instructions (x1.07 to x1.48 in
# tests/bench/bench_throughput.py runs), and every OpenSSH since 6.2 accepts it.
FAST_CIPHERS = (b"aes128-gcm@openssh.com", b"aes256-gcm@openssh.com")


@cache
def _cpu_has_aes() -> bool:
    """True when the CPU has AES instructions (x86 `aes` flag, arm64 `aes` feature; every Mac)."""
    import sys

    if sys.platform == "darwin":
        return True
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return any(
        key.strip() in ("flags", "Features") and "aes" in value.split()
        for key, _, value in (line.partition(":") for line in text.splitlines())
    )


def resolve_host(alias: str, config_files: list[str], blocked: str | None = None) -> ResolvedHost:
    """Resolve one alias; a broken config (or a `blocked` reason from the scan) gives one with `error`."""
    if blocked:
        return _broken(alias, blocked)
    try:
        options = connection_options(alias, config_files, encryption_algs=())  # () = the config's or the defaults
    except AsyncsshChanged as exc:
        return _broken(alias, str(exc))
    except RecursionError:
        return _broken(alias, "Include loop in the config (OpenSSH refuses it too)")
    except UnicodeDecodeError:
        return _broken(alias, "a config file is not UTF-8 text")
    except Exception as exc:  # asyncssh raises ValueError subclasses and OSError
        return _broken(alias, str(exc) or type(exc).__name__)
    config = options.config
    interval = config.get("ServerAliveInterval") or DEFAULT_KEEPALIVE_INTERVAL
    count = config.get("ServerAliveCountMax") or DEFAULT_KEEPALIVE_COUNT
    timeout = config.get("ConnectTimeout") or DEFAULT_CONNECT_TIMEOUT
    known = options.known_hosts
    if known is None:  # UserKnownHostsFile none: no user file (not "no checking")
        known_hosts: tuple[str, ...] = ()
    elif isinstance(known, (list, tuple)) and known:
        known_hosts = tuple(os.path.expanduser(str(k)) for k in known)
    else:  # asyncssh's default, as OpenSSH's
        known_hosts = tuple(
            os.path.expanduser(f"~/.ssh/{name}") for name in ("known_hosts", "known_hosts2")
        )
    return ResolvedHost(
        alias=alias,
        hostname=str(options.host),
        user=str(options.username),
        port=int(options.port),
        proxyjump=_tunnel_text(options.tunnel),
        identity_files=tuple(str(f) for f in config.get("IdentityFile", ()) or ()),
        known_hosts=known_hosts,
        connect_timeout=float(timeout),
        keepalive_interval=float(interval),
        keepalive_count=int(count),
        ciphers=config.get("Ciphers"),
        batch_mode=bool(config.get("BatchMode")),
    )


def _broken(alias: str, reason: str) -> ResolvedHost:
    """No destination at all: a config that cannot be read must never send anyone anywhere."""
    return ResolvedHost(alias, "", "", 0, error=reason)
