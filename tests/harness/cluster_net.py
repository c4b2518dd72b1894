"""A compute node's namespace behind a login node's: reachable from the login node only.

    this machine ──veth (login.network)── login ns ──veth (network)── compute ns
    (jtui)                                (sshd, slurmctld)          (slurmd, the job)

The login namespace is a `Netns` (tests/harness/netns.py). The compute
namespace hangs off it by a second veth pair on a link-local /30 of its
own. Before any address exists, this machine gets an `unreachable` route
for that /30, so a packet for the compute node from here is refused
locally (EHOSTUNREACH) instead of following the default route off the
machine; the namespaces have no default route at all. Daemons start with
`nsenter --net=...`: `ip netns exec` would remount /sys, and slurmd then
finds no cgroup mounts.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import subprocess
import uuid
from dataclasses import dataclass, field

from tests.harness.netns import GUARD_METRIC, Netns, _ip, _no_ipv6, pick_link_network
from tests.harness.sshd import kill_all, wait_gone


@dataclass
class ComputeNode:
    login: Netns
    name: str
    login_if: str
    node_if: str
    network: ipaddress.IPv4Network
    pids: list[int] = field(default_factory=list)
    _created: bool = False
    _veth: bool = False
    _guard: bool = False

    @property
    def login_addr(self) -> str:
        """The login node's address on the cluster network (where slurmctld listens for the node)."""
        return str(self.network.network_address + 1)

    @property
    def addr(self) -> str:
        """The compute node's address: its NodeAddr, where its Jupyter listens."""
        return str(self.network.network_address + 2)

    @classmethod
    def behind(cls, login: Netns) -> "ComputeNode":
        tag = uuid.uuid4().hex[:6]
        used = login.network
        network = pick_link_network()
        while network.overlaps(used):
            network = pick_link_network()
        node = cls(login, f"jtui-node-{tag}", f"jtc{tag}l", f"jtc{tag}n", network)
        try:
            node._setup()
        except BaseException:
            node.cleanup()
            raise
        return node

    def _setup(self) -> None:
        # the guard first: from here on nothing for this /30 can leave this machine
        _ip("route", "add", "unreachable", str(self.network), "metric", str(GUARD_METRIC))
        self._guard = True
        _ip("netns", "add", self.name)
        self._created = True
        _ip("link", "add", self.login_if, "type", "veth", "peer", "name", self.node_if)
        self._veth = True
        _no_ipv6(f"/proc/sys/net/ipv6/conf/{self.login_if}/disable_ipv6")
        _ip("link", "set", self.login_if, "netns", self.login.name)
        _ip("link", "set", self.node_if, "netns", self.name)
        cidr = f"/{self.network.prefixlen}"
        self.login.exec_quiet("sh", "-c", f"echo 1 > /proc/sys/net/ipv6/conf/{self.login_if}/disable_ipv6")
        self.login.exec("ip", "addr", "add", self.login_addr + cidr, "dev", self.login_if)
        self.login.exec("ip", "link", "set", self.login_if, "up")
        _ip("netns", "exec", self.name, "sh", "-c", f"echo 1 > /proc/sys/net/ipv6/conf/{self.node_if}/disable_ipv6",
            check=False)
        _ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
        _ip("netns", "exec", self.name, "ip", "addr", "add", self.addr + cidr, "dev", self.node_if)
        _ip("netns", "exec", self.name, "ip", "link", "set", self.node_if, "up")

    def unreachable_from_here(self, port: int = 9) -> bool:
        """A direct connect from this machine to the node fails here, at once (EHOSTUNREACH)."""
        probe = socket.socket()
        probe.settimeout(2)
        try:
            probe.connect((self.addr, port))
        except OSError as exc:
            return exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH)
        finally:
            probe.close()
        return False

    def cleanup(self) -> None:
        if self._created:
            found = _ip("netns", "pids", self.name, check=False).stdout.split()
            victims = sorted(set(self.pids) | {int(p) for p in found if p.isdigit()})
            kill_all(victims)
            kill_all(wait_gone(victims, 5), 9)
        if self._veth:
            _ip("netns", "exec", self.login.name, "ip", "link", "del", self.login_if, check=False)
            self._veth = False
        if self._created:
            _ip("netns", "del", self.name, check=False)
            self._created = False
        if self._guard:
            _ip("route", "del", "unreachable", str(self.network), "metric", str(GUARD_METRIC), check=False)
            self._guard = False


def nsenter_launch(places: dict[str, str], pids: list[int]):
    """A Cluster launch function: each role in the namespace `places` names (absent: this one)."""

    def launch(role: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        import os

        where = places.get(role)
        full = ["nsenter", f"--net=/run/netns/{where}", *argv] if where else argv
        proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, env={**os.environ, **env})
        pids.append(proc.pid)
        return proc

    return launch
