"""What /proc cannot tell, asked over the SSH connection once per process and port.

Whether a port no rule names speaks HTTP ("HTTP", "ZMQ" or "TCP"), and whether a
Jupyter server without a token lets a request with no credentials in (its
runtime file says `"password": false` even when a password is set). The
TUI's sessions ask in the background and apply the answers from the next
sample on; `jtui status` asks everything and waits.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from jtui.core.http import lets_in, protocol_of
from jtui.core.model import JupyterServer, Sample, Service
from jtui.core.services import unasked, with_kinds, with_logins
from jtui.core.urls import remote_connect_host

Key = tuple[int | None, int]


async def kind_of(conn, service: Service) -> str:
    return await protocol_of(conn, remote_connect_host(service), service.port)


async def login_of(conn, server: JupyterServer) -> str:
    """"none" when the server answered a request with no credentials, "password" when it refused one."""
    base = server.base_url if server.base_url.endswith("/") else server.base_url + "/"
    answer = await lets_in(conn, remote_connect_host(server), server.port, base + "api/status")
    return "" if answer is None else "none" if answer else "password"


def answered(sample: Sample, kinds: dict[Key, str], logins: dict[Key, str]) -> Sample:
    return replace(sample, services=with_kinds(sample.services, kinds), servers=with_logins(sample.servers, logins))


class Namer:
    """The answers so far for one host, and the questions in flight."""

    def __init__(self) -> None:
        self.kinds: dict[Key, str] = {}
        self.logins: dict[Key, str] = {}
        self._asking: set[tuple[str, Key]] = set()

    def apply(self, sample: Sample, conn) -> Sample:
        """The sample with what is known; what is not yet is asked in the background."""
        live = {(s.pid, s.port) for s in sample.services} | {(s.pid, s.port) for s in sample.servers}
        self.kinds = {k: v for k, v in self.kinds.items() if k in live}
        self.logins = {k: v for k, v in self.logins.items() if k in live}
        services, servers = unasked(sample)
        services = [s for s in services if (s.pid, s.port) not in self.kinds]
        servers = [s for s in servers if (s.pid, s.port) not in self.logins]
        loop = asyncio.get_running_loop()
        for item in [*services, *servers]:
            job = ("service" if isinstance(item, Service) else "server", (item.pid, item.port))
            if job not in self._asking:
                self._asking.add(job)
                loop.create_task(self._ask(job, item, conn))
        return answered(sample, self.kinds, self.logins)

    async def _ask(self, job: tuple[str, Key], item, conn) -> None:
        try:
            if job[0] == "service":
                self.kinds[job[1]] = await kind_of(conn, item)
            else:
                login = await login_of(conn, item)
                if login:
                    self.logins[job[1]] = login
        finally:
            self._asking.discard(job)


async def ask_all(sample: Sample, conn) -> Sample:
    """Every question of the sample asked at once, and the answers in it (for `jtui status` and `jtui open`)."""
    services, servers = unasked(sample)
    kinds_answers, login_answers = await asyncio.gather(
        asyncio.gather(*(kind_of(conn, s) for s in services)),
        asyncio.gather(*(login_of(conn, s) for s in servers)),
    )
    kinds = {(s.pid, s.port): k for s, k in zip(services, kinds_answers)}
    logins = {(s.pid, s.port): v for s, v in zip(servers, login_answers) if v}
    return answered(sample, kinds, logins)
