"""HostSession against the real sshd: states, samples, failures with clear reasons."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from jtui.core.model import HostState
from jtui.core.remote import MAX_CHANNELS
from jtui.core.session import HostSession
from jtui.core.settings import Settings
from tests.harness.sshd import free_port

pytestmark = pytest.mark.integration


class Recorder:
    """A listener that keeps everything a session reports."""

    def __init__(self) -> None:
        self.statuses = []
        self.samples = []
        self.notices = []
        self.forwards = ()
        self.kernels = {}  # server port -> (kernels, note)
        self.hub = None  # the last HubState
        self.changed = asyncio.Event()

    def session_status(self, status) -> None:
        self.statuses.append(status)
        self.changed.set()

    def session_sample(self, alias, sample) -> None:
        self.samples.append(sample)
        self.changed.set()

    def session_notice(self, alias, text, error=False) -> None:
        self.notices.append(text)

    def session_kernels(self, alias, port, kernels, note) -> None:
        self.kernels[port] = (kernels, note)
        self.changed.set()

    def session_forwards(self, alias, forwards) -> None:
        self.forwards = forwards

    def session_hub(self, alias, hub) -> None:
        self.hub = hub
        self.changed.set()

    @property
    def state(self):
        return self.statuses[-1].state if self.statuses else HostState.NOT_CONNECTED

    async def wait(self, predicate, timeout: float = 30) -> None:
        async def loop():
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(loop(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out; statuses: {self.statuses[-5:]}") from None


def session_for(config, alias="testhost", refresh=0.3) -> tuple[HostSession, Recorder]:
    recorder = Recorder()
    settings = Settings().for_host(alias)
    return HostSession(alias, [str(config)], settings, refresh, recorder), recorder


async def test_connects_and_streams_samples(sshd):
    session, rec = session_for(sshd.config_file)
    session.start()
    try:
        await rec.wait(lambda: any(s.cpu_percent is not None for s in rec.samples))
        states = [s.state for s in rec.statuses]
        assert states[:2] == [HostState.CONNECTING, HostState.CONNECTED]
        sample = next(s for s in rec.samples if s.cpu_percent is not None)
        assert 0 <= sample.cpu_percent <= 100
        assert session.resolved.port == sshd.port
    finally:
        await session.close()
    assert rec.state == HostState.NOT_CONNECTED


def write_config(tmp_path, sshd, **hosts) -> str:
    """A config with testhost plus extra hosts given as alias -> 'HostName X\\nPort Y' text."""
    text = sshd.client_config("testhost")
    for alias, body in hosts.items():
        text += f"Host {alias}\n" + "".join(f"  {line}\n" for line in body.splitlines())
    path = tmp_path / "hosts.conf"
    path.write_text(text)
    return str(path)


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


class SilentListener:
    """Accepts TCP connections and never says a word (not an SSH server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def silent():
    listener = SilentListener()
    yield listener
    listener.close()


@pytest.mark.parametrize(
    "body,reason",
    [
        ("HostName 127.0.0.1\nPort {refused}", "connection refused: nothing listens on that port"),
        ("HostName 127.0.0.1\nPort {silent}\nConnectTimeout 2", "timed out after 2 s: no answer"),
    ],
    ids=["refused", "silent-tcp"],
)
async def test_dead_hosts_fail_with_their_own_reason(tmp_path, sshd, silent, body, reason):
    config = write_config(tmp_path, sshd, dead=body.format(refused=refused_port(), silent=silent.port))
    session, rec = session_for(config, "dead")
    session.start()
    try:
        await rec.wait(lambda: rec.state == HostState.FAILED, timeout=20)
        assert rec.statuses[-1].reason.startswith(reason)
        assert rec.statuses[-1].next_retry is not None  # network trouble is retried by itself
    finally:
        await session.close()


async def test_at_most_eight_channels_at_once(sshd):
    session, rec = session_for(sshd.config_file, refresh=5)
    session.start()
    try:
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        peak = 0
        done = False

        async def watch():
            nonlocal peak
            while not done:
                peak = max(peak, MAX_CHANNELS - session.remote.channels._value)
                await asyncio.sleep(0.005)

        watcher = asyncio.ensure_future(watch())
        # 30 scripts at once (sshd's MaxSessions is 10): all succeed, never more than 8 channels
        results = await asyncio.gather(*(session.remote.run("stop", op="state", pid=1) for _ in range(30)))
        done = True
        await watcher
        assert all(r.values["state"] in ("other", "jupyter") for r in results)
        assert 2 <= peak <= MAX_CHANNELS
    finally:
        await session.close()


async def test_reconnect_now_after_failure_connects_when_host_is_back(tmp_path, sshd, fresh_sshd):
    fresh_sshd.stop_listener()
    session, rec = session_for(fresh_sshd.config_file)
    session.start()
    try:
        await rec.wait(lambda: rec.state == HostState.FAILED)
        assert rec.statuses[-1].reason.startswith("connection refused")
        fresh_sshd.start()
        session.reconnect_now(interactive=False)
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
    finally:
        await session.close()


async def test_r_on_a_failed_host_does_not_lengthen_the_wait_after_it(fresh_sshd):
    """Each r on a host still down counted as a failed attempt: the automatic wait grew with every
    press (22 s, then 29 s). The attempt the retries count from stays where it was."""
    fresh_sshd.stop_listener()
    session, rec = session_for(fresh_sshd.config_file)
    session.start()
    try:
        await rec.wait(lambda: rec.state == HostState.FAILED)
        first = rec.statuses[-1].attempt
        for _ in range(3):
            seen = len(rec.statuses)
            session.reconnect_now(interactive=False)
            await rec.wait(lambda: len(rec.statuses) > seen and rec.state == HostState.FAILED)
            assert rec.statuses[-1].attempt == first, rec.statuses[-4:]
    finally:
        await session.close()


async def test_proxyjump_hops_are_resolved_from_the_same_config(tmp_path, sshd):
    """`inner` is reached through `testhost`; both only exist in the --config file."""
    text = sshd.client_config("testhost") + sshd.client_config("inner", ProxyJump="testhost").replace(
        "HostName 127.0.0.1", "HostName localhost"
    )
    config = tmp_path / "jump.conf"
    config.write_text(text)
    # the host key is known as [127.0.0.1]:PORT; through the jump we dial localhost
    with open(sshd.known_hosts) as f:
        line = f.read().split(" ", 1)[1]
    (tmp_path / "kh").write_text(f"[localhost]:{sshd.port} {line}")
    config.write_text(text.replace(f"UserKnownHostsFile {sshd.known_hosts}", f"UserKnownHostsFile {sshd.known_hosts} {tmp_path / 'kh'}"))
    session, rec = session_for(config, "inner")
    session.start()
    try:
        await rec.wait(lambda: any(s.cpu_percent is not None for s in rec.samples))
        assert session.resolved.proxyjump == "testhost"
        assert len(session.dialer._jumps) == 1
        result = await session.conn.run("echo $SSH_CONNECTION")
        assert result.stdout.split()[0] == "127.0.0.1"  # the inner hop comes from the jump host
    finally:
        await session.close()


async def test_a_jump_host_that_fails_is_named_in_the_reason(tmp_path, sshd):
    """The hop's trouble is not the host's: "connection refused (check Port...)" sent people to the
    wrong Host entry."""
    closed = free_port()
    text = (sshd.client_config("gw").replace(f"Port {sshd.port}", f"Port {closed}")
            + sshd.client_config("inner", ProxyJump="gw"))
    config = tmp_path / "jump.conf"
    config.write_text(text)
    session, rec = session_for(config, "inner")
    session.start()
    try:
        await rec.wait(lambda: rec.state == HostState.FAILED)
        assert rec.statuses[-1].reason.startswith("jump host gw: connection refused"), rec.statuses[-1]
    finally:
        await session.close()


@pytest.mark.parametrize(
    "spec,hops",
    [
        (None, []),
        ("none", []),
        ("gw", [("gw", None, None)]),
        ("alice@gw:2222", [("gw", "alice", 2222)]),
        ("a,bob@b:22", [("a", None, None), ("b", "bob", 22)]),
        ("ssh://carol@[::1]:2200", [("::1", "carol", 2200)]),
    ],
)
def test_parse_jumps(spec, hops):
    from jtui.core.dial import parse_jumps

    assert [(h.host, h.user, h.port) for h in parse_jumps(spec)] == hops


async def test_close_ends_the_session_even_when_a_cancel_is_dropped(sshd):
    """asyncssh's connect runs in a wait_for, and Python 3.11's wait_for drops a cancel that lands as
    the connection completes: the link went on into the probe, and jtui's quit hung for ever (seen
    in CI, --demo quit at once). Here the dial drops the cancel that way, every time, over the real sshd."""
    session, rec = session_for(sshd.config_file)
    real_dial = session.link.dialer.dial
    dialing = asyncio.Event()

    async def dial_dropping_a_cancel(interactive):
        dialing.set()
        connecting = asyncio.ensure_future(real_dial(interactive))
        try:
            return await asyncio.shield(connecting)
        except asyncio.CancelledError:
            return await connecting  # the connection is made: returned, the cancel forgotten

    session.link.dialer.dial = dial_dropping_a_cancel
    session.start()
    await dialing.wait()
    closing = asyncio.ensure_future(session.close())
    await asyncio.wait({closing}, timeout=60)  # not cancelled when it takes long, as wait_for would
    if not closing.done():
        closing.cancel()
        raise AssertionError("close() hung: the link's loop went on past its cancel, into the probe")
    assert rec.state == HostState.NOT_CONNECTED
