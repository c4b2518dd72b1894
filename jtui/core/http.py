"""HTTP/1.1 to a server *as the remote host sees it*, over the open SSH connection.

Each request goes through a direct-tcpip channel of the connection jtui
already has: no local port, no curl on the host, no process, nothing on a
command line. h11 does the HTTP (sans-I/O); this module only moves bytes
between it and the channel, with a deadline and a size limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h11

log = logging.getLogger(__name__)

MAX_BODY = 8 << 20  # bytes; Jupyter's API answers are a few KiB
READ_SIZE = 1 << 16


class HttpError(ConnectionError):
    """No usable HTTP answer (not HTTP, cut short, too large); the message says which."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HttpError(f"not JSON: {exc}") from None


async def request(
    conn,
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    token: str = "",
    payload: Any = None,
    timeout: float = 5.0,
    max_body: int = MAX_BODY,
    on_data: Callable[[bytes], None] | None = None,
) -> HttpResponse:
    """One request to host:port through `conn`; the whole answer, or HttpError / TimeoutError.

    `token` goes in an `Authorization: token ...` header (Jupyter's), never
    in the URL; `payload` is sent as JSON. With `on_data`, the body is
    handed over as it arrives (an event stream) instead of kept.
    """
    return await asyncio.wait_for(
        _exchange(conn, host, port, method, path, token, payload, max_body, on_data), timeout
    )


async def _exchange(conn, host, port, method, path, token, payload, max_body, on_data=None) -> HttpResponse:
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = [("Host", f"{host}:{port}"), ("Connection", "close"), ("Content-Length", str(len(body)))]
    if token:
        headers.append(("Authorization", f"token {token}"))
    if payload is not None:
        headers.append(("Content-Type", "application/json"))
    client = h11.Connection(our_role=h11.CLIENT)
    reader, writer = await conn.open_connection(host, port)
    try:
        writer.write(client.send(h11.Request(method=method, target=path, headers=headers)))
        if body:
            writer.write(client.send(h11.Data(data=body)))
        writer.write(client.send(h11.EndOfMessage()))
        return await _read_response(client, reader, max_body, on_data)
    except h11.ProtocolError as exc:
        raise HttpError(f"not an HTTP answer from {host}:{port} ({exc})") from None
    finally:
        writer.close()


async def _read_response(
    client: h11.Connection, reader, max_body: int, on_data: Callable[[bytes], None] | None = None
) -> HttpResponse:
    status = 0
    headers: dict[str, str] = {}
    chunks: list[bytes] = []
    size = 0
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(READ_SIZE)
            client.receive_data(data)  # b"" tells h11 the peer closed
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
        elif isinstance(event, h11.Data) and on_data is not None:
            on_data(bytes(event.data))
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > max_body:
                raise HttpError(f"answer larger than {max_body} bytes")
            chunks.append(bytes(event.data))
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            if not status:
                raise HttpError("connection closed before an HTTP answer")
            return HttpResponse(status, headers, b"".join(chunks))


GREETING_WAIT = 0.3  # seconds: protocols that speak first (ZMQ, SSH, databases) do so at once
ZMTP_SIGNATURE = b"\xff"  # ZeroMQ's greeting starts with 0xFF (ZMTP 3.x)


async def protocol_of(conn, host: str, port: int, timeout: float = 2.0) -> str:
    """"HTTP", "ZMQ" or "TCP": what host:port speaks, asked without sending a protocol anything it would not expect.

    It listens first: a ZMQ socket (a kernel's) or an SSH server greets at
    once and gets nothing but a close. Only a port that stays silent is sent
    a plain `GET /`.
    """
    import asyncssh  # here, not at the top: the app's first frame comes before asyncssh is needed

    try:
        reader, writer = await asyncio.wait_for(conn.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError, ConnectionError, asyncssh.Error) as exc:
        # refused (ChannelOpenError is no OSError): the listener left since the socket table was read
        log.debug("asking %s:%d: %s", host, port, type(exc).__name__)
        return "TCP"
    try:
        try:
            greeting = await asyncio.wait_for(reader.read(1), GREETING_WAIT)
        except asyncio.TimeoutError:
            greeting = None
        if greeting is not None:
            return "ZMQ" if greeting == ZMTP_SIGNATURE else "TCP"
        writer.write(f"GET / HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
        first = await asyncio.wait_for(reader.readexactly(5), timeout)
        return "HTTP" if first == b"HTTP/" else "TCP"
    except (OSError, asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncssh.Error):
        return "TCP"
    finally:
        writer.close()


async def lets_in(conn, host: str, port: int, path: str, timeout: float = 3.0) -> bool | None:
    """Does GET `path` with no credentials get a 2xx? None when the server did not answer at all."""
    import asyncssh

    try:
        response = await request(conn, host, port, "GET", path, timeout=timeout, max_body=1 << 16)
    except (HttpError, OSError, asyncio.TimeoutError, ConnectionError, asyncssh.Error):
        return None
    return 200 <= response.status < 300


class KeepAlive:
    """Requests to one server over one kept-alive channel, opened again when the server closes it.

    One at a time (a lock): HTTP/1.1 answers in order, and the screen asks
    a server every sample at most.
    """

    def __init__(self, conn, host: str, port: int, *, token: str = "", timeout: float = 5.0) -> None:
        self.conn, self.host, self.port, self.token, self.timeout = conn, host, port, token, timeout
        self._lock = asyncio.Lock()
        self._channel = None  # (h11 connection, reader, writer)

    async def request(self, method: str, path: str, payload: Any = None) -> HttpResponse:
        async with self._lock:
            for attempt in (1, 2):  # a kept channel the server closed meanwhile: once more on a new one
                fresh = self._channel is None
                try:
                    return await asyncio.wait_for(self._exchange(method, path, payload), self.timeout)
                except (HttpError, ConnectionError, OSError, h11.ProtocolError):
                    await self._drop()
                    if fresh or attempt == 2:
                        raise
            raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, payload: Any) -> HttpResponse:
        if self._channel is None:
            reader, writer = await self.conn.open_connection(self.host, self.port)
            self._channel = (h11.Connection(our_role=h11.CLIENT), reader, writer)
        client, reader, writer = self._channel
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = [("Host", f"{self.host}:{self.port}"), ("Content-Length", str(len(body)))]
        if self.token:
            headers.append(("Authorization", f"token {self.token}"))
        if payload is not None:
            headers.append(("Content-Type", "application/json"))
        writer.write(client.send(h11.Request(method=method, target=path, headers=headers)))
        if body:
            writer.write(client.send(h11.Data(data=body)))
        writer.write(client.send(h11.EndOfMessage()))
        response = await _read_response(client, reader, MAX_BODY)
        if client.our_state is h11.DONE and client.their_state is h11.DONE:
            client.start_next_cycle()
        else:  # the server closes after this answer
            await self._drop()
        return response

    async def _drop(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            channel[2].close()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()
