"""Staying connected: dial, serve while up, reconnect with backoff when the link drops.

One Link per host, used alike by the TUI (through HostSession) and by
`jtui open`. It reports every state change as a HostStatus; what to do on
each connection (rebind forwards, run the probe) is the owner's, given as
two hooks. Keepalives (ServerAliveInterval x ServerAliveCountMax, set by
the dialer) are what notice a dead link within seconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable

from jtui.core.dial import BrokenConfig, Cancelled, Dialer, HostKeyRejected, NeedsInput
from jtui.core.errors import describe
from jtui.core.hostkeys import UNKNOWN
from jtui.core.model import HostState, HostStatus

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
WAIT_FOR_USER = math.inf  # an attempt that only the user can move on (enter, r)


class ConnectFailed(Exception):
    """A connection attempt failed; str() is the reason a person understands."""


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """About 1 s, 2 s, 4 s ... never more than 30 s; jittered downwards so hosts do not retry in step."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempt - 1))
    return base * (0.8 + 0.2 * (rng or random).random())


class Link:
    """The connection of one host, kept up.

    `on_up(conn)` runs after each successful dial and before CONNECTED is
    reported (so forwards are back before anyone is told); `serve(conn)`
    runs while the connection lives and is cancelled when it drops.
    """

    def __init__(
        self,
        dialer: Dialer,
        report: Callable[[HostStatus], None],
        notice: Callable[[str, bool], None],
        on_up: Callable[[object], Awaitable[None]],
        serve: Callable[[object], Awaitable[None]],
    ) -> None:
        self.dialer = dialer
        self.alias = dialer.alias
        self._report = report
        self._notice = notice
        self._on_up = on_up
        self._serve = serve
        self.status = HostStatus(self.alias)
        self.conn = None
        self._client = None
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._interactive = False
        self._asks_always = False  # connected once asking on a terminal (jtui open): reconnects may ask there too
        self._up_once = asyncio.Event()

    # -- control ---------------------------------------------------------

    def start(self, interactive: bool = False) -> None:
        """Connect in the background (no-op if already running)."""
        self._interactive = self._interactive or interactive
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"link {self.alias}")
        else:
            self._wake.set()

    def reconnect_now(self, interactive: bool = True) -> None:
        """`r` / enter: try again at once, asking for input if needed."""
        self._interactive = interactive
        self.start(interactive)
        self._wake.set()

    def config_changed(self) -> None:
        """The SSH config was edited, perhaps to fix this host: a link waiting after a failure tries again now.

        Without asking anything (an edit never pops up a prompt): a host that
        needs a passphrase says so again. A link that was never started or is
        up is left alone, and one dialling tries again by itself if the edit
        overtook it (see _attempt).
        """
        waiting = self.status.state in (HostState.FAILED, HostState.NEEDS_INPUT)
        if self._task is not None and not self._task.done() and waiting:
            self._interactive = False
            self._wake.set()

    async def wait_connected(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._up_once.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def connect_once(self) -> None:
        """One attempt, asking only through the dialer's prompter (a terminal's; none in a script or under
        BatchMode yes):
        ConnectFailed with the reason a person understands. An unknown host key is never accepted."""
        self._set(HostState.CONNECTING)
        batch_mode = (await self.dialer.resolve()).batch_mode
        self._asks_always = self.dialer.prompter is not None and not batch_mode
        interactive = self._asks_always
        try:
            self.conn, self._client = await self.dialer.dial(interactive=interactive)
        except Cancelled:
            self._set(HostState.FAILED, "login cancelled")
            raise ConnectFailed("login cancelled") from None
        except (NeedsInput, BrokenConfig) as exc:
            reason = str(exc) if isinstance(exc, NeedsInput) else f"config: {exc}"
            self._set(HostState.FAILED, reason)
            raise ConnectFailed(reason) from None
        except HostKeyRejected as exc:
            problem = exc.problem
            self._set(HostState.FAILED, problem.one_line())
            if problem.kind == UNKNOWN:
                raise ConnectFailed(
                    f"{problem.explain()}\njtui status/open never accept a key: check the fingerprint, "
                    f"then connect once with `ssh {self.alias}` or accept it in the jtui screen."
                ) from None
            raise ConnectFailed(problem.explain()) from None
        except Exception as exc:
            failure = self.dialer.failure(exc, interactive=interactive)
            reason = failure.reason
            if failure.needs_input:
                if batch_mode:
                    reason = ("needs a passphrase or password, and the SSH config says BatchMode yes (ask nothing): "
                              "load the key into ssh-agent, or use the TUI")
                else:
                    reason = ("needs a passphrase or password, and there is no terminal to ask on: "
                              "run it in a terminal, use the TUI, or load the key into ssh-agent")
            self._set(HostState.FAILED, reason)
            raise ConnectFailed(reason) from None
        self._up_once.set()
        self._set(HostState.CONNECTED)

    def keep_up(self) -> None:
        """After connect_once(): serve the connection and reconnect it whenever it drops."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(served=True), name=f"link {self.alias}")

    async def close(self) -> None:
        """End the link: the loop stopped, the connection and its hops closed."""
        task, self._task = self._task, None
        while task is not None and not task.done():
            # Again until it ends: asyncssh connects inside a wait_for, and Python 3.11's wait_for
            # drops a cancel that lands as the connection completes; the loop then went on into the
            # probe, and quitting hung for ever (jtui --demo quit at once, in CI).
            task.cancel()
            await asyncio.wait({task}, timeout=1)
        if task is not None and not task.cancelled():
            task.exception()  # retrieved: it ended with the link, whatever it was
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
            try:
                await asyncio.wait_for(conn.wait_closed(), 2)
            except (asyncio.TimeoutError, Exception):
                pass
        await self.dialer.close_jumps()
        self._set(HostState.NOT_CONNECTED)

    # -- the loop --------------------------------------------------------

    def _set(self, state: HostState, reason: str = "", attempt: int = 0, next_retry: float | None = None) -> None:
        self.status = HostStatus(self.alias, state, reason, attempt, next_retry)
        self._report(self.status)

    async def _run(self, served: bool = False) -> None:
        attempt = 0
        while True:
            if not served:
                attempt += 1
                delay = await self._attempt(attempt)
                if delay == WAIT_FOR_USER:
                    await self._sleep(None)
                    attempt = 0
                    continue
                if delay is not None:
                    if await self._sleep(delay):
                        attempt -= 1  # tried again at the user's word (r, enter, an edit): no longer a wait after it
                    continue
                attempt = 0
            served = False
            reason = await self._serve_until_lost()
            self._set(HostState.RECONNECTING, reason, 1, time.monotonic() + BACKOFF_FIRST)
            await self._sleep(backoff_delay(1))

    async def _attempt(self, attempt: int) -> float | None:
        """One dial: None once connected; else seconds to wait before the next (WAIT_FOR_USER)."""
        self._set(HostState.RECONNECTING if self._up_once.is_set() else HostState.CONNECTING, attempt=attempt)
        interactive = self._interactive or self._asks_always
        generation = self.dialer.generation
        try:
            self.conn, self._client = await self.dialer.dial(interactive)
        except asyncio.CancelledError:
            raise
        except Cancelled:
            self._interactive = False
            self._set(HostState.NEEDS_INPUT, "login cancelled: press enter to try again")
            return WAIT_FOR_USER
        except HostKeyRejected as exc:
            return await self._host_key(exc.problem, interactive)
        except Exception as exc:
            if self.dialer.generation != generation:  # the config was edited while this attempt ran
                self._interactive = False
                return 0  # try the new one now: the edit may be what this attempt failed for
            if isinstance(exc, NeedsInput):
                self._set(HostState.NEEDS_INPUT, str(exc))
                return WAIT_FOR_USER
            failure = self.dialer.failure(exc, interactive)
            if failure.needs_input:
                self._set(HostState.NEEDS_INPUT, failure.reason)
                return WAIT_FOR_USER
            if not failure.retry:
                self._set(HostState.FAILED, failure.reason, attempt)
                return WAIT_FOR_USER
            delay = backoff_delay(attempt)
            self._set(HostState.FAILED, failure.reason, attempt, time.monotonic() + delay)
            log.info("%s: %s", self.alias, failure.reason)
            return delay
        self._interactive = False
        await self._on_up(self.conn)
        self._up_once.set()
        self._set(HostState.CONNECTED)
        return None

    async def _host_key(self, problem, interactive: bool) -> float:
        """An untrusted key: ask about an unknown one when the user is there; refuse a changed one.

        A terminal's prompter (jtui open) is never asked: the command line
        accepts no key, so its link waits, saying which key it met.
        """
        if problem.kind == UNKNOWN and interactive and self.dialer.prompter is not None and not self._asks_always:
            if await self.dialer.accept_host_key(problem):
                return 0  # accepted: dial again at once
            self._interactive = False
            self._set(HostState.FAILED, "host key not trusted (refused by you): press enter to review it again")
        elif problem.kind == UNKNOWN:
            self._set(HostState.NEEDS_INPUT, f"{problem.one_line()}: press enter to review it")
        else:
            self._notice(problem.explain(), True)
            self._set(HostState.FAILED, problem.one_line())
        return WAIT_FOR_USER

    async def _serve_until_lost(self) -> str:
        """Run the owner's serve() until the connection drops; return why it dropped."""
        conn = self.conn
        task = asyncio.get_running_loop().create_task(self._serve(conn))
        try:
            await conn.wait_closed()
        finally:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        lost = getattr(self._client, "lost", None)
        if lost is None:
            reason = "connection closed by the host"
        elif "keepalive" in str(lost).lower():
            reason = "no answer to keepalives: the link is down or the host hangs"
        else:
            reason = describe(lost, self.dialer.resolved.connect_timeout).reason
        self.conn = None
        await self.dialer.close_jumps()
        return reason

    async def _sleep(self, delay: float | None) -> bool:
        """Wait for the delay, or until the user asks to reconnect now (True: woken)."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), delay)
        except asyncio.TimeoutError:
            return False
        return True
