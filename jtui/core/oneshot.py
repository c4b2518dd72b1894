"""`jtui status` and `jtui open` without the TUI: one host, one job, then exit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from jtui.core.inventory import Inventory
from jtui.core.model import HostStatus, JupyterServer, Sample
from jtui.core.session import HostSession


class OneShotError(Exception):
    """The host cannot be reached or the job cannot be done; the message says why."""


class _Quiet:
    """A listener for one-shot commands: remembers the last status, shows nothing."""

    def __init__(self) -> None:
        self.status: HostStatus | None = None
        self.notices: list[str] = []

    def session_status(self, status: HostStatus) -> None:
        self.status = status

    def session_sample(self, alias: str, sample: Sample) -> None:
        pass

    def session_notice(self, alias: str, text: str, error: bool = False) -> None:
        self.notices.append(text)


def make_session(inventory: Inventory, alias: str) -> HostSession:
    if alias not in inventory.aliases:
        known = ", ".join(inventory.aliases[:10]) or "none"
        raise OneShotError(f"unknown host {alias!r} (hosts: {known}; see `jtui hosts`)")
    return HostSession(
        alias, inventory.config_files_for(alias), inventory.settings.for_host(alias), inventory.settings.refresh, _Quiet()
    )


async def take_sample(session: HostSession, interval: float, timeout: float = 30) -> Sample:
    """The first sample with a real CPU figure (one interval after start)."""
    from jtui.core.probe import Probe, ProbeDied

    probe = Probe(session.conn, interval)
    try:
        async with asyncio.timeout(timeout):
            async for sample in probe.samples():
                if sample.cpu_percent is not None or not sample.supported:
                    return sample
    except ProbeDied as exc:
        raise OneShotError(f"{session.alias}: the probe failed: {exc}") from None
    except TimeoutError:
        raise OneShotError(f"{session.alias}: no sample within {timeout:g} s") from None
    finally:
        await probe.close()
    raise OneShotError(f"{session.alias}: the probe ended without a sample")


async def status(inventory: Inventory, alias: str) -> Sample:
    session = make_session(inventory, alias)
    await session.connect_once()
    try:
        return await take_sample(session, min(1.0, inventory.settings.refresh))
    finally:
        await session.close()


def newest(servers: tuple[JupyterServer, ...]) -> JupyterServer | None:
    return max(servers, key=lambda s: (s.started or 0, s.pid), default=None)


@dataclass
class Opened:
    session: HostSession
    server: JupyterServer
    url: str
    local_port: int
    started: bool
    moved_reason: str = ""


async def open_server(inventory: Inventory, alias: str, port: int | None = None, progress=None) -> Opened:
    """Reuse the newest running server or start one, then forward it; the caller closes."""
    from jtui.core.forwards import ForwardManager
    from jtui.core.urls import localhost_url

    session = make_session(inventory, alias)
    await session.connect_once()
    try:
        sample = await take_sample(session, 0.2)
        server = newest(sample.servers)
        started = server is None
        if server is None:
            server = (await session.start_jupyter(progress=progress)).server
        session.forwards = ForwardManager(session.conn)
        forward = await session.forwards.bind(server, first_choice=port)
        url = localhost_url(server, forward.local_port)
        return Opened(session, server, url, forward.local_port, started, forward.reason if forward.moved else "")
    except BaseException:
        await session.close()
        raise
