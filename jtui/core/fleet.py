"""All hosts' sessions, created on demand, started in the background."""

from __future__ import annotations

import asyncio

from jtui.core.dial import Prompter
from jtui.core.inventory import Inventory
from jtui.core.session import HostSession, SessionListener


class Fleet:
    def __init__(self, inventory: Inventory, listener: SessionListener, prompter: Prompter | None = None) -> None:
        self.inventory = inventory
        self.listener = listener
        self.prompter = prompter
        self.sessions: dict[str, HostSession] = {}
        self.watched: str | None = None  # the host on screen: its servers are asked for their kernels

    def watch(self, alias: str | None) -> None:
        self.watched = alias
        for name, session in self.sessions.items():
            session.watch_kernels(name == alias)

    def session(self, alias: str) -> HostSession:
        if alias not in self.sessions:
            self.sessions[alias] = HostSession(
                alias,
                self.inventory.config_files_for(alias),
                self.inventory.settings.for_host(alias),
                self.inventory.settings.refresh,
                self.listener,
                self.prompter,
                blocked=self.inventory.blocker(alias),
            )
            self.sessions[alias].watch_kernels(alias == self.watched)
        return self.sessions[alias]

    def autostart(self) -> None:
        """Connect every host with autoconnect on, without prompting anyone."""
        for alias in self.inventory.aliases:
            if self.inventory.settings.for_host(alias).autoconnect:
                self.session(alias).start(interactive=False)

    async def update(self, inventory: Inventory, hosts_edited: bool = True) -> None:
        """A new inventory (files changed): re-read the hosts kept, start new ones, close removed ones.

        Everything but the closing happens before this first awaits, so a
        caller that awaits it sees every kept session on the new config.
        """
        old = set(self.inventory.aliases)
        self.inventory = inventory
        current = set(inventory.aliases)
        gone = [self.sessions.pop(a) for a in list(self.sessions) if a not in current]
        for alias, session in self.sessions.items():
            session.reconfigure(inventory.config_files_for(alias), inventory.settings.for_host(alias),
                                inventory.settings.refresh, inventory.blocker(alias), hosts_edited)
        for alias in inventory.aliases:
            if alias not in old and inventory.settings.for_host(alias).autoconnect:
                self.session(alias).start(interactive=False)
        await asyncio.gather(*(s.close() for s in gone), return_exceptions=True)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sessions.values()), return_exceptions=True)
