"""HTTP/1.1 to a server *as the remote host sees it*, over the open SSH connection.

Each request goes through a direct-tcpip channel of the connection jtui
already has: no local port, no curl on the host, no process, nothing on a
command line. h11 does the HTTP (sans-I/O); this module only moves bytes
between it and the channel, with a deadline and a size limit.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import h11

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
) -> HttpResponse:
    """One request to host:port through `conn`; the whole answer, or HttpError / TimeoutError.

    `token` goes in an `Authorization: token ...` header (Jupyter's), never
    in the URL; `payload` is sent as JSON.
    """
    return await asyncio.wait_for(
        _exchange(conn, host, port, method, path, token, payload, max_body), timeout
    )


async def _exchange(conn, host, port, method, path, token, payload, max_body) -> HttpResponse:
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
        return await _read_response(client, reader, max_body)
    except h11.ProtocolError as exc:
        raise HttpError(f"not an HTTP answer from {host}:{port} ({exc})") from None
    finally:
        writer.close()


async def _read_response(client: h11.Connection, reader, max_body: int) -> HttpResponse:
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
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > max_body:
                raise HttpError(f"answer larger than {max_body} bytes")
            chunks.append(bytes(event.data))
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            if not status:
                raise HttpError("connection closed before an HTTP answer")
            return HttpResponse(status, headers, b"".join(chunks))
