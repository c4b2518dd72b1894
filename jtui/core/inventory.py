"""Everything jtui knows before connecting: host sources, aliases, settings."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from jtui.core import paths
from jtui.core.hostsfile import HostScan, scan_hosts
from jtui.core.settings import Settings, load_settings


@dataclass(frozen=True)
class Inventory:
    """The hosts jtui lists and the files they come from, with config.toml's settings."""

    sources: tuple[str, ...]
    explicit: bool  # True when the user named the files with --config
    scan: HostScan
    settings: Settings
    # Hosts of jtui's own (the --demo host): alias -> the one file that defines it.
    # Listed first and resolved from that file alone, so nothing in the user's
    # config (a `Host *` ProxyJump, say) can change what they mean.
    own_hosts: tuple[tuple[str, str], ...] = ()

    @property
    def aliases(self) -> list[str]:
        own = [alias for alias, _ in self.own_hosts]
        return own + [a for a in self.scan.aliases if a not in own]

    def config_files_for(self, alias: str) -> list[str]:
        return next(([file] for own, file in self.own_hosts if own == alias), self.config_files)

    def with_own_host(self, alias: str, config_file: str) -> "Inventory":
        return replace(self, own_hosts=(*self.own_hosts, (alias, config_file)))

    @property
    def config_files(self) -> list[str]:
        """The sources to resolve aliases with: those the scanner could read.

        A missing, binary or non-UTF-8 file is reported once by the scan;
        handed to asyncssh it would make every alias of every file fail.
        """
        read = set(self.scan.files)
        return [s for s in self.sources if s in read]

    @property
    def problems(self) -> list[str]:
        return [str(p) for p in self.scan.problems] + list(self.settings.problems)

    def blocker(self, alias: str) -> str | None:
        """Why `alias` has no trustworthy destination (its config is broken), or None.

        jtui's own hosts are read from their own file only.
        """
        if any(own == alias for own, _ in self.own_hosts):
            return None
        problem = self.scan.blocker(alias)
        return str(problem) if problem else None


def config_stamp(inventory: Inventory) -> tuple:
    """Sizes and mtimes of every file the inventory came from: a change means reload."""
    names = list(dict.fromkeys([*inventory.sources, *inventory.scan.files, inventory.settings.path or ""]))
    if not inventory.explicit:
        names += [str(p) for p in (paths.user_ssh_config(), paths.jtui_hosts_file())]
    stamp = []
    for name in names:
        try:
            st = os.stat(name)
            stamp.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append((name, None, None))
    return tuple(stamp)


def hosts_stamp(stamp: tuple, inventory: Inventory) -> tuple:
    """The SSH config files' part of a config_stamp (all of it but config.toml)."""
    return tuple(entry for entry in stamp if entry[0] != (inventory.settings.path or ""))


def reload_inventory(inventory: Inventory) -> Inventory:
    """Read the same sources again (the --config files, or the defaults as they are now)."""
    settings_path = Path(inventory.settings.path) if inventory.settings.path else None
    fresh = load_inventory(list(inventory.sources) if inventory.explicit else None, settings_path)
    return replace(fresh, own_hosts=inventory.own_hosts)


def load_inventory(config_files: list[str] | None = None, settings_path: Path | None = None) -> Inventory:
    """Hosts from `config_files` (--config) or the defaults, plus config.toml."""
    if config_files:
        sources = tuple(os.path.abspath(os.path.expanduser(f)) for f in config_files)
    else:
        sources = tuple(str(p) for p in paths.default_host_sources())
    scan = scan_hosts(list(sources))
    settings = load_settings(settings_path or paths.settings_file())
    return Inventory(sources, bool(config_files), scan, settings)


def sources_text(inventory: Inventory) -> str:
    """The files hosts are read from, as a person reads them."""
    if inventory.explicit:
        return ", ".join(inventory.sources)
    return f"{paths.user_ssh_config()} and {paths.jtui_hosts_file()}"


def where_hosts_come_from(inventory: Inventory) -> str:
    """What the screen says when there is no host, and `jtui hosts` with nothing to list."""
    if inventory.explicit:
        return (f"No Host entries in {sources_text(inventory)}.\n\n"
                "Try jtui on this machine right away: jtui --demo")
    return (
        f"No hosts yet. jtui lists the Host entries of {paths.user_ssh_config()}\n"
        f"and of its own hosts file, {paths.jtui_hosts_file()}.\n\n"
        "Try jtui on this machine right away:   jtui --demo\n\n"
        "Or add a host to one of those files, for example:\n\n"
        "    Host gpu-box\n"
        "        HostName gpu-box.example.org\n"
        "        User alice\n\n"
        "or name a file of your own:            jtui --config FILE"
    )
