"""A network namespace of a test's own, joined to this one by a veth pair.

For partition tests (root with `ip netns`, as CI is): a real sshd runs
inside the namespace, listening on the namespace's end of the veth; the
test then sets the host's end down and up again.

Traffic only ever goes to the namespace's own address, even while the link
is down: setting a link down removes its connected route, and without a
guard the kernel would send packets for the namespace's address out of the
default route instead. A `unreachable` route for the veth's /30 (with a high
metric, so the connected route wins while the link is up) makes the kernel
refuse them locally, as a laptop whose Wi-Fi dropped does.

Everything is undone by `cleanup()` (also on a failed setup, and by the
context manager): processes inside the namespace killed by PID, the guard
route and the veth deleted, the namespace deleted.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.sshd import SshServer, kill_all, wait_gone

IP = "ip"
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
# Never these: 169.254.169.254 is the cloud metadata service, .0.x and .255.x are reserved.
AVOID_THIRD_OCTETS = {0, 169, 254, 255}
GUARD_METRIC = 4242


class NetnsUnavailable(RuntimeError):
    """This machine does not let the test create a namespace (not root, no iproute2, ...)."""


def _ip(*args: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    result = subprocess.run([IP, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, [IP, *args], result.stdout, result.stderr)
    return result


def unavailable_reason() -> str | None:
    """Why no namespace can be made here, before trying; None when it may work."""
    if os.geteuid() != 0:
        return "needs root for `ip netns`"
    if shutil.which(IP) is None:
        return "iproute2 (`ip`) is not installed"
    return None


def _networks_in_use() -> list[ipaddress.IPv4Network]:
    """Every IPv4 route and address on this machine, in every routing table."""
    nets = []
    for args in (("-j", "-4", "route", "show", "table", "all"), ("-j", "-4", "addr", "show")):
        try:
            data = json.loads(_ip(*args).stdout or "[]")
        except (subprocess.CalledProcessError, ValueError):
            continue
        for entry in data:
            candidates = [entry.get("dst")]
            for info in entry.get("addr_info", []):
                candidates.append(f"{info.get('local')}/{info.get('prefixlen', 32)}")
            for text in candidates:
                if not text or text == "default":
                    continue
                try:
                    nets.append(ipaddress.ip_network(text, strict=False))
                except ValueError:
                    continue
    return [n for n in nets if n.version == 4]


def pick_link_network(rng: random.Random | None = None) -> ipaddress.IPv4Network:
    """A link-local /30 that no route or address on this machine touches."""
    rng = rng or random.Random()
    used = _networks_in_use()
    for _ in range(200):
        third = rng.randrange(1, 254)
        if third in AVOID_THIRD_OCTETS:
            continue
        net = ipaddress.ip_network(f"169.254.{third}.{4 * rng.randrange(0, 64)}/30")
        # the /16 link-local route some machines have is fine: a /30 is more specific
        if not any(net.overlaps(other) and other.prefixlen > LINK_LOCAL.prefixlen for other in used):
            return net
    raise NetnsUnavailable("no free link-local /30 found")


@dataclass
class Netns:
    """A namespace `name` whose `ns_if` (address `ns_addr`) faces our `host_if` (`host_addr`)."""

    name: str
    host_if: str
    ns_if: str
    network: ipaddress.IPv4Network
    pids: list[int] = field(default_factory=list)  # processes started inside, killed by cleanup()
    _created: bool = False
    _veth: bool = False
    _guard: bool = False

    @property
    def host_addr(self) -> str:
        return str(self.network.network_address + 1)

    @property
    def ns_addr(self) -> str:
        return str(self.network.network_address + 2)

    @classmethod
    def create(cls, network: ipaddress.IPv4Network | None = None) -> "Netns":
        """Make the namespace and its link, up and addressed; NetnsUnavailable if not permitted."""
        reason = unavailable_reason()
        if reason:
            raise NetnsUnavailable(reason)
        tag = uuid.uuid4().hex[:8]
        ns = cls(f"jtui-part-{tag}", f"jtp{tag[:6]}h", f"jtp{tag[:6]}n", network or pick_link_network())
        try:
            ns._setup()
        except subprocess.CalledProcessError as exc:  # no veth, no permission: this machine cannot
            ns.cleanup()
            raise NetnsUnavailable(f"`{' '.join(exc.cmd)}` failed: {(exc.stderr or '').strip()}") from None
        except BaseException:
            ns.cleanup()
            raise
        return ns

    def _setup(self) -> None:
        added = _ip("netns", "add", self.name, check=False)
        if added.returncode != 0:
            raise NetnsUnavailable(f"`ip netns add` is not permitted here: {added.stderr.strip()}")
        self._created = True
        _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self._veth = True
        _no_ipv6(f"/proc/sys/net/ipv6/conf/{self.host_if}/disable_ipv6")
        _ip("link", "set", self.ns_if, "netns", self.name)
        cidr = f"/{self.network.prefixlen}"
        # the guard first: from now on nothing for this /30 can leave by another interface
        _ip("route", "add", "unreachable", str(self.network), "metric", str(GUARD_METRIC))
        self._guard = True
        _ip("addr", "add", self.host_addr + cidr, "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        self.exec_quiet("sh", "-c", f"echo 1 > /proc/sys/net/ipv6/conf/{self.ns_if}/disable_ipv6")
        self.exec("ip", "link", "set", "lo", "up")
        self.exec("ip", "addr", "add", self.ns_addr + cidr, "dev", self.ns_if)
        self.exec("ip", "link", "set", self.ns_if, "up")
        self.wait_reachable()

    # -- running things inside ------------------------------------------

    def exec(self, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
        """Run a short command inside the namespace; raise on failure."""
        return _ip("netns", "exec", self.name, *argv, timeout=timeout)

    def exec_quiet(self, *argv: str) -> None:
        _ip("netns", "exec", self.name, *argv, check=False)

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        """Start a long-running process inside; its PID is killed by cleanup().

        `ip netns exec` execs the command (no fork), so the PID is the command's own.
        """
        proc = subprocess.Popen([IP, "netns", "exec", self.name, *argv], **kwargs)
        self.pids.append(proc.pid)
        return proc

    def pids_inside(self) -> list[int]:
        """Every process whose network namespace is this one (`ip netns pids`)."""
        result = _ip("netns", "pids", self.name, check=False)
        return [int(p) for p in result.stdout.split() if p.isdigit()] if result.returncode == 0 else []

    # -- the link -------------------------------------------------------

    def link_down(self) -> None:
        _ip("link", "set", self.host_if, "down")

    def link_up(self) -> None:
        _ip("link", "set", self.host_if, "up")

    def route_device(self) -> str | None:
        """The interface the kernel would send packets for ns_addr through; None: refused here."""
        result = _ip("-j", "route", "get", self.ns_addr, check=False)
        if result.returncode != 0:
            return None
        try:
            routes = json.loads(result.stdout)
        except ValueError:
            return None
        if not routes or routes[0].get("type", "unicast") != "unicast":
            return None
        return routes[0].get("dev")

    def wait_reachable(self, timeout: float = 10) -> None:
        """Until the kernel routes ns_addr through our veth (link up, address settled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.route_device() == self.host_if:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.ns_addr} is not routed through {self.host_if}")

    # -- the end --------------------------------------------------------

    def cleanup(self) -> None:
        """Undo everything; safe to call twice and after a half-done setup."""
        if self._created:
            victims = sorted(set(self.pids) | set(self.pids_inside()))
            kill_all(victims, signal.SIGTERM)
            left = wait_gone(victims, 5)
            kill_all(left, signal.SIGKILL)
            wait_gone(left, 5)
            for pid in self.pids:  # reap our own children (no zombies left behind)
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        if self._guard:
            _ip("route", "del", "unreachable", str(self.network), "metric", str(GUARD_METRIC), check=False)
            self._guard = False
        if self._veth:
            _ip("link", "del", self.host_if, check=False)  # deletes the peer too
            self._veth = False
        if self._created:
            _ip("netns", "del", self.name, check=False)
            self._created = False

    def exists(self) -> bool:
        return self.name in _ip("netns", "list", check=False).stdout.split()

    def link_exists(self) -> bool:
        return _ip("link", "show", self.host_if, check=False).returncode == 0

    def guard_exists(self) -> bool:
        out = _ip("-4", "route", "show", "type", "unreachable", check=False).stdout
        return str(self.network) in out

    def __enter__(self) -> "Netns":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def _no_ipv6(path: str) -> None:
    """No IPv6 on the test link (router solicitations and the like): best effort."""
    try:
        Path(path).write_text("1\n")
    except OSError:
        pass


@dataclass
class NetnsSshServer(SshServer):
    """The test sshd, run inside `netns` and listening on its veth address only."""

    netns: Netns | None = None

    @property
    def address(self) -> str:
        assert self.netns is not None, "NetnsSshServer needs netns="
        return self.netns.ns_addr

    def write_configs(self) -> None:
        super().write_configs()
        text = self.sshd_config.read_text()
        assert "ListenAddress 127.0.0.1" in text
        self.sshd_config.write_text(text.replace("ListenAddress 127.0.0.1", f"ListenAddress {self.address}"))

    def client_config(self, alias: str, **extra: str) -> str:
        return super().client_config(alias, **extra).replace("HostName 127.0.0.1", f"HostName {self.address}")

    def spawn(self, args: list[str], **kwargs) -> subprocess.Popen:
        return self.netns.popen(args, **kwargs)
