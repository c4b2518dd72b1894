"""The kernel's own socket table (/proc/net/tcp, tcp6): who really listens where.

Tests read it instead of trusting what the code under test says it bound.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from dataclasses import dataclass

LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    address: str  # "127.0.0.1", "::1", "0.0.0.0", "::"
    port: int
    inode: int


def _decode(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    # /proc prints each 32-bit word in host byte order
    words = struct.unpack(f"={len(raw) // 4}I", raw)
    return str(ipaddress.ip_address(b"".join(struct.pack("!I", w) for w in words)))


def listeners(port: int | None = None) -> list[Listener]:
    """Every TCP socket in LISTEN state on this machine (this network namespace)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, hex_port = fields[1].split(":")
            if fields[3] != LISTEN:
                continue
            entry = Listener(_decode(addr), int(hex_port, 16), int(fields[9]))
            if port is None or entry.port == port:
                found.append(entry)
    return found


def socket_inodes(pid: int | str = "self") -> set[int]:
    """Inodes of the sockets a process holds open (none once it has exited: a short-lived child)."""
    inodes: set[int] = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except FileNotFoundError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def listeners_of(pid: int | str = "self", port: int | None = None) -> list[Listener]:
    """The LISTEN sockets a given process holds (optionally on one port)."""
    mine = socket_inodes(pid)
    return [entry for entry in listeners(port) if entry.inode in mine]


def can_listen(host: str, port: int) -> bool:
    """True when a fresh socket could listen on host:port right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            s.listen()
        except OSError:
            return False
    return True
