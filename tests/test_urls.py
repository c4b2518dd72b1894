"""URLs and hints for forwarded servers: pure functions, table-driven."""

from __future__ import annotations

import pytest

from jtui.core.model import JupyterServer
from jtui.core.urls import (
    PASSWORD_NOTE,
    laptop_hint,
    localhost_url,
    needs_password,
    password_note,
    remote_connect_host,
)


def server(**fields) -> JupyterServer:
    base = dict(port=8888, pid=42, url="http://127.0.0.1:8888/", token="abc123")
    return JupyterServer(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "local_port", "expected"),
    [
        ({}, 8888, "http://localhost:8888/?token=abc123"),
        ({}, 9000, "http://localhost:9000/?token=abc123"),
        ({"base_url": "/user/alice/"}, 8890, "http://localhost:8890/user/alice/?token=abc123"),
        ({"base_url": "user/alice/"}, 8890, "http://localhost:8890/user/alice/?token=abc123"),
        ({"base_url": ""}, 8888, "http://localhost:8888/?token=abc123"),
        ({"token": ""}, 8888, "http://localhost:8888/"),  # password server: no token
        ({"token": "", "password": True}, 8888, "http://localhost:8888/"),
        ({"token": "a b&c=d/é"}, 8888, "http://localhost:8888/?token=a%20b%26c%3Dd%2F%C3%A9"),
        ({"secure": True}, 8888, "https://localhost:8888/?token=abc123"),
        ({"kind": "nbserver"}, 8888, "http://localhost:8888/?token=abc123"),
    ],
)
def test_localhost_url(fields, local_port, expected):
    assert localhost_url(server(**fields), local_port) == expected


@pytest.mark.parametrize(
    ("fields", "password"),
    [({}, False), ({"token": ""}, True), ({"token": "", "password": True}, True), ({"password": True}, False)],
)
def test_password_servers_are_flagged(fields, password):
    s = server(**fields)
    assert needs_password(s) is password
    assert password_note(s) == (PASSWORD_NOTE if password else None)


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("localhost", "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "127.0.0.1"),
        ("", "127.0.0.1"),
        ("::", "127.0.0.1"),
        ("LOCALHOST", "127.0.0.1"),
        ("127.0.0.2", "127.0.0.2"),
        ("10.1.2.3", "10.1.2.3"),
        ("[fd00::1]", "fd00::1"),
    ],
)
def test_remote_connect_host(hostname, expected):
    assert remote_connect_host(server(hostname=hostname)) == expected


@pytest.mark.parametrize(
    ("env", "port", "hostname", "command", "in_message"),
    [
        ({}, 8888, None, None, None),
        ({"SSH_CONNECTION": ""}, 8888, None, None, None),
        ({"SSH_CONNECTION": "garbage"}, 8888, None, None, None),
        (
            {"SSH_CONNECTION": "192.168.1.20 51234 10.0.0.5 22", "USER": "alice"},
            8888, "jumpbox",
            "ssh -N -L 8888:localhost:8888 alice@10.0.0.5",
            "jumpbox (10.0.0.5)",
        ),
        (
            {"SSH_CONNECTION": "192.168.1.20 51234 10.0.0.5 22", "LOGNAME": "bob"},
            9001, None,
            "ssh -N -L 9001:localhost:9001 bob@10.0.0.5",
            "10.0.0.5",
        ),
        (
            {"SSH_CONNECTION": "fe80::2 51234 fe80::1 22"},
            8890, "fe80::1",
            "ssh -N -L 8890:localhost:8890 fe80::1",
            "fe80::1",
        ),
        (  # a hostile user name is quoted in the command the user will paste
            {"SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22", "USER": "x;rm -rf ~"},
            8888, None,
            "ssh -N -L 8888:localhost:8888 'x;rm -rf ~@6.7.8.9'",
            "6.7.8.9",
        ),
    ],
)
def test_laptop_hint(env, port, hostname, command, in_message):
    hint = laptop_hint(env, port, hostname)
    if command is None:
        assert hint is None
        return
    assert hint is not None
    assert hint.command == command
    assert in_message in hint.message
    assert "localhost" in hint.message and f"\n  {command}" in hint.message  # a line of its own: kept whole
