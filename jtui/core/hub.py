"""A JupyterHub on a host: the user's servers on it, started and stopped through the hub's REST API.

Requests go over jtui's SSH connection to the hub's public port as the
host sees it (the proxy routes /hub/api to the hub), so nothing but the
forward the user asks for listens on this machine. The API token comes
from [hosts.NAME.jupyterhub] (a file or an environment variable, read when
needed), goes in an Authorization header, and is registered as a secret so
the log never shows it.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jtui.core.http import HttpError, request
from jtui.core.logs import register_secret
from jtui.core.model import HubServer, HubState, Service  # noqa: F401 (HubServer, HubState: here for callers)
from jtui.core.settings import HubSettings, host_table
from jtui.core.urls import remote_connect_host

START_TIMEOUT = 120.0  # seconds: a spawner may queue; the hub says how far it got meanwhile
STOP_TIMEOUT = 60.0
HOW_TO = "set token_file or token_env in {table} of config.toml (a token from the hub's /hub/token page)"


class HubError(Exception):
    """The hub cannot be asked, or said no; str() says why and what to do."""


def hub_token(settings: HubSettings | None, alias: str, env: Mapping[str, str] = os.environ) -> str:
    """The API token from the file or variable the settings name; HubError says what is missing."""
    if settings is None or not (settings.token_file or settings.token_env):
        raise HubError(f"no API token for this hub: {HOW_TO.format(table=host_table(alias, 'jupyterhub'))}")
    token = ""
    if settings.token_env:
        token = env.get(settings.token_env, "").strip()
        if not token and not settings.token_file:
            raise HubError(f"${settings.token_env} is empty or not set: export the hub's API token there")
    if not token and settings.token_file:
        path = Path(settings.token_file).expanduser()
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise HubError(f"cannot read the hub token file {path}: {exc.strerror or exc}") from None
        if not token:
            raise HubError(f"the hub token file {path} is empty")
    register_secret(token)
    return token


class HubApi:
    """The hub's REST API at a JupyterHub service's port, through `conn`."""

    def __init__(self, conn, hub: Service, token: str, alias: str) -> None:
        self.conn, self.hub, self.token, self.alias = conn, hub, token, alias
        self.host = remote_connect_host(hub)

    async def _call(self, method: str, path: str, *, timeout: float = 10.0, on_data=None) -> Any:
        try:
            response = await request(self.conn, self.host, self.hub.port, method, "/hub/api" + path,
                                     token=self.token, timeout=timeout, on_data=on_data)
        except (HttpError, OSError, asyncio.TimeoutError) as exc:
            raise HubError(f"the hub on port {self.hub.port} did not answer ({exc or type(exc).__name__})") from None
        if response.status in (401, 403):
            raise HubError(f"the hub refused the token ({response.status}): it needs the scopes "
                           "read:servers and servers for this user (a token from /hub/token has them)")
        if response.status == 404:
            raise HubError(f"the hub knows no {path.split('/')[2] if path.count('/') > 1 else 'such'} "
                           f"user (set user in {host_table(self.alias, 'jupyterhub')} of config.toml)")
        if response.status >= 400:
            raise HubError(f"the hub answered {response.status} to {method} {path}: {_message(response.body)}")
        return response.json() if response.body and on_data is None else None

    async def whoami(self) -> str:
        """The user the token belongs to ("" for a service's token)."""
        model = await self._call("GET", "/user")
        return str(model.get("name", "")) if model.get("kind", "user") == "user" else ""

    async def servers(self, user: str) -> tuple[HubServer, ...]:
        model = await self._call("GET", f"/users/{_quote(user)}")
        found = model.get("servers") or {}
        if not isinstance(found, dict):
            return ()
        return tuple(_server(name, entry) for name, entry in sorted(found.items()) if isinstance(entry, dict))

    async def start(self, user: str, progress: Callable[[str], None] | None = None) -> HubServer:
        """Start the user's default server; follow the hub's progress events until it is ready."""
        say = progress or (lambda text: None)
        await self._call("POST", f"/users/{_quote(user)}/server", timeout=30.0)
        events = _EventStream(say)
        try:
            await self._call("GET", f"/users/{_quote(user)}/server/progress", timeout=START_TIMEOUT,
                             on_data=events.feed)
        except HubError:
            if not events.ready:
                raise
        if events.failed:
            raise HubError(f"the hub could not start the server: {events.failed}")
        server = next((s for s in await self.servers(user) if s.name == ""), None)
        if server is None or not server.ready:
            raise HubError("the hub's progress ended but the server is not ready; see the hub's log")
        return server

    async def stop(self, user: str) -> None:
        """Stop the user's default server and wait until the hub says it is gone."""
        await self._call("DELETE", f"/users/{_quote(user)}/server", timeout=30.0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_TIMEOUT
        while loop.time() < deadline:
            if not any(s.name == "" for s in await self.servers(user)):
                return
            await asyncio.sleep(0.5)
        raise HubError(f"the hub still lists the server {STOP_TIMEOUT:.0f} s after the stop request")


class _EventStream:
    """Server-sent events (`data: {...}` lines) from the progress API, said as they come."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say, self.buffer, self.ready, self.failed = say, b"", False, ""

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if not line.startswith(b"data:"):
                continue
            try:
                event = json.loads(line[5:])
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            message = str(event.get("message") or "").strip()
            if event.get("failed"):
                self.failed = message or "the spawner failed"
            elif event.get("ready"):
                self.ready = True
            if message:
                progress = event.get("progress")
                self.say(f"{progress}% {message}" if isinstance(progress, (int, float)) else message)


def _server(name: str, entry: dict) -> HubServer:
    return HubServer(
        name=str(name), ready=bool(entry.get("ready")), pending=str(entry.get("pending") or ""),
        url=str(entry.get("url") or ""), started=str(entry.get("started") or ""),
        last_activity=str(entry.get("last_activity") or ""),
    )


def _quote(user: str) -> str:
    return urllib.parse.quote(user, safe="")


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", ""))[:200]
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")


def hub_url(server: HubServer | None, local_port: int) -> str:
    """The URL the user opens: their server's when it runs, else the hub's own login page."""
    path = server.url if server is not None and server.ready and server.url.startswith("/") else "/hub/"
    return f"http://localhost:{int(local_port)}{path}"
