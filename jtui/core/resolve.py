"""What an alias means, as asyncssh's own OpenSSH config support reads it."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

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
    error: str | None = None

    @property
    def target(self) -> str:
        return f"{self.user}@{self.hostname}:{self.port}"

    def to_json(self) -> dict:
        data = asdict(self)
        data["identity_files"] = list(self.identity_files)
        data["known_hosts"] = list(self.known_hosts)
        return data


def _tunnel_text(tunnel: object) -> str | None:
    if not tunnel or tunnel == "none":
        return None
    return str(tunnel)


def connection_options(alias: str, config_files: list[str], **overrides):
    """asyncssh options for `alias`, reading exactly `config_files`.

    Key loading is left out here (client_keys=None): keys are loaded at
    connect time, where a passphrase can be asked for.
    """
    import asyncssh

    kwargs = {"config": list(config_files), "host": alias, "client_keys": None}
    kwargs.update(overrides)
    return asyncssh.SSHClientConnectionOptions(**kwargs)


def resolve_host(alias: str, config_files: list[str]) -> ResolvedHost:
    """Resolve one alias; a broken config gives a ResolvedHost with `error`."""
    try:
        options = connection_options(alias, config_files)
    except RecursionError:
        return _broken(alias, "Include loop in the config (OpenSSH refuses it too)")
    except Exception as exc:  # asyncssh raises ValueError subclasses and OSError
        return _broken(alias, str(exc) or type(exc).__name__)
    config = options.config
    interval = config.get("ServerAliveInterval") or DEFAULT_KEEPALIVE_INTERVAL
    count = config.get("ServerAliveCountMax") or DEFAULT_KEEPALIVE_COUNT
    timeout = config.get("ConnectTimeout") or DEFAULT_CONNECT_TIMEOUT
    known = options.known_hosts
    if isinstance(known, (list, tuple)) and known:
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
    )


def _broken(alias: str, reason: str) -> ResolvedHost:
    import getpass

    return ResolvedHost(alias, alias, getpass.getuser(), 22, error=reason)
