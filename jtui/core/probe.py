"""The probe: one long-lived remote process streaming a host's state, one JSON line a sample.

Why a streaming shell script: a command per sample would cost an SSH round
trip and a login-shell start each time, and `jupyter server list` costs a
Python start-up (a second or more). The script (sh/probe.sh, POSIX sh + awk)
reads /proc, nvidia-smi and the Jupyter runtime files itself, for a few
milliseconds a sample. It is sent like every other script (remote.py);
its lines are parsed by probe_parse.parse_line.

`Probe` is one channel on an open connection: `samples()` yields Samples
until the remote process ends (then ProbeDied), `close()` ends it.
Restarting is the session's business: a new Probe is cheap.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from jtui.core.model import Sample
from jtui.core.probe_parse import MAX_LINE, ProbeLineError, parse_line
from jtui.core.remote import Remote, script_source
from jtui.core.schedulers.slurm_text import JOBS_DIR, SINFO_FIELDS, SQUEUE_FORMAT

log = logging.getLogger(__name__)

PROBE_NAME = "jtui-probe"  # $0 of the remote process: how to find it in `ps`
STDERR_TAIL = 4096
READ_SIZE = 1 << 16
CLOSE_TIMEOUT = 5.0


class ProbeDied(Exception):
    """The remote probe process ended (or could not start); the session restarts it."""

    def __init__(self, exit_status: int | None, exit_signal: str | None, stderr_tail: str, reason: str = "") -> None:
        self.exit_status = exit_status
        self.exit_signal = exit_signal
        self.stderr_tail = stderr_tail
        if not reason:
            if exit_signal:
                reason = f"probe killed by signal {exit_signal}"
            elif exit_status is not None:
                reason = f"probe exited with status {exit_status}"
            else:
                reason = "probe channel closed"
        last = stderr_tail.strip().splitlines()[-1:] if stderr_tail.strip() else []
        super().__init__(f"{reason}: {last[0][:200]}" if last else reason)


def format_interval(interval: float) -> str:
    """Seconds as the script takes them: plain decimal, no exponent, millisecond steps."""
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not math.isfinite(interval):
        raise ValueError(f"interval must be a number of seconds, not {interval!r}")
    if not 0 <= interval <= 86400:
        raise ValueError(f"interval out of range: {interval}")
    text = f"{interval:.3f}".rstrip("0").rstrip(".")
    return text or "0"


SOCKETS_EVERY = 5  # seconds between two reads of /proc/net/tcp{,6} (they cost milliseconds on a big host)
# Seconds between two questions to the scheduler: each is an RPC to its controller, which sites
# ask users not to hammer. A job jtui is starting is followed by the launcher itself.
SCHED_EVERY = 10.0


def probe_variables(
    interval: float, count: int = 0, login_shell: bool = True, runtime_dirs: Sequence[str] = (), setup: str = "",
    sockets_every: float = SOCKETS_EVERY, sched_every: float = SCHED_EVERY,
) -> dict[str, str]:
    """The variables sh/probe.sh reads (see its header)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a non-negative int, not {count!r}")
    for path in runtime_dirs:
        if not path.startswith("/") or "\n" in path or "\0" in path:
            raise ValueError("runtime dirs must be absolute paths on one line")
    return {
        "interval": format_interval(interval),
        "count": str(count),
        "login": "1" if login_shell else "0",
        "dirs": "\n".join(runtime_dirs),
        "setup": setup,
        "sockets": format_interval(sockets_every),
        "sched": str(max(1, round(sched_every / interval)) if interval > 0 else 1) if sched_every > 0 else "0",
        "fmt": SQUEUE_FORMAT,
        "sinfo_fields": SINFO_FIELDS,
        "jobs": JOBS_DIR,
        "awk_prog": script_source("probe.awk"),
    }


async def read_lines(stdout: Any, report: Callable[[str], None]) -> AsyncIterator[bytes]:
    """Split a byte stream into lines, dropping (and reporting) any longer than MAX_LINE and a cut-off last one."""
    buf = bytearray()
    skipping = False
    while True:
        chunk = await stdout.read(READ_SIZE)
        if not chunk:
            if buf or skipping:
                report("truncated last line dropped")
            return
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not skipping:
                buf += piece
                if len(buf) > MAX_LINE:
                    report(f"line longer than {MAX_LINE} bytes dropped")
                    buf.clear()
                    skipping = True
            if end < 0:
                break
            if not skipping:
                yield bytes(buf)
            buf.clear()
            skipping = False
            start = end + 1


class Probe:
    """One remote probe process on one channel of an open asyncssh connection.

    `samples()` may be iterated once; it ends with ProbeDied when the remote
    process ends, and quietly after close(). A new Probe(remote, interval) is
    the way to restart: nothing is shared between probes. It holds one of
    the connection's channels (Remote.channels) while it runs.
    """

    def __init__(
        self,
        remote: Remote,
        interval: float = 2.0,
        *,
        login_shell: bool = True,
        runtime_dirs: Sequence[str] = (),
        setup: str = "",
        count: int = 0,
        label: str = "",
    ) -> None:
        self.remote = remote
        self.interval = interval
        self.variables = probe_variables(interval, count, login_shell, runtime_dirs, setup)
        self.label = label or _peer(remote.conn)
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self._proc: Any = None
        self._started = False
        self._closing = False
        self._stderr = bytearray()
        self._stderr_task: asyncio.Task | None = None
        self._reported: set[str] = set()

    async def samples(self) -> AsyncIterator[Sample]:
        """Yield a Sample per good line; skip (and log) bad ones; raise ProbeDied at the end."""
        if self._started:
            raise RuntimeError("a Probe streams once; make a new Probe to restart")
        self._started = True
        if self._closing:
            return
        import asyncssh

        try:
            async with self.remote.process("probe", **self.variables) as proc:
                self._proc = proc
                async for sample in self._stream(proc):
                    yield sample
        except (asyncssh.Error, OSError) as exc:
            if self._closing:
                return
            what = "probe channel lost" if self._proc is not None else "could not start the probe"
            raise ProbeDied(None, None, self._tail(), f"{what}: {exc}") from None

    async def _stream(self, proc: Any) -> AsyncIterator[Sample]:
        import asyncssh

        self._stderr_task = asyncio.get_running_loop().create_task(self._drain_stderr(proc.stderr))
        try:
            async for raw in read_lines(proc.stdout, self._report):
                sample = self._parse(raw)
                if sample is not None:
                    yield sample
            if self._closing:
                return
            try:
                await asyncio.wait_for(proc.wait_closed(), CLOSE_TIMEOUT)
                await asyncio.wait_for(self._stderr_task, 1.0)
            except (asyncio.TimeoutError, asyncssh.Error, OSError):
                pass
            self.exit_signal = proc.exit_signal[0] if proc.exit_signal else None
            # asyncssh reports -1 as the status of a process killed by a signal
            self.exit_status = None if self.exit_signal else proc.exit_status
            if self._closing:
                return
            raise ProbeDied(self.exit_status, self.exit_signal, self._tail())
        finally:
            if self._stderr_task is not None and not self._stderr_task.done():
                self._stderr_task.cancel()

    async def close(self) -> None:
        """End the remote process: closing the channel is enough (the script watches stdin)."""
        self._closing = True
        proc = self._proc
        if proc is None:
            return
        proc.close()
        try:
            await asyncio.wait_for(proc.wait_closed(), CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, Exception):  # the connection may be gone already
            pass
        if self._stderr_task is not None and not self._stderr_task.done():
            self._stderr_task.cancel()

    async def __aenter__(self) -> "Probe":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- internals ----------------------------------------------------------

    def _parse(self, raw: bytes) -> Sample | None:
        try:
            sample = parse_line(raw.decode("utf-8", errors="replace"))
        except ProbeLineError as exc:
            self._report(f"bad probe line dropped: {exc.reason}")
            return None
        for reason in sample.dropped:
            self._report(f"left out: {reason}")
        return sample

    def _report(self, text: str) -> None:
        """Log a reason once at WARNING, then at DEBUG: a stale file must not flood the log."""
        level = logging.DEBUG if text in self._reported else logging.WARNING
        if len(self._reported) < 1000:
            self._reported.add(text)
        log.log(level, "%s: %s", self.label, text)

    async def _drain_stderr(self, stderr: Any) -> None:
        """Keep the last few KiB of stderr for ProbeDied (and keep the remote from blocking)."""
        try:
            while chunk := await stderr.read(READ_SIZE):
                self._stderr += chunk
                del self._stderr[:-STDERR_TAIL]
        except Exception:  # the channel went away: the tail is what we have
            pass

    def _tail(self) -> str:
        return self._stderr.decode("utf-8", errors="replace")


def _peer(conn: Any) -> str:
    try:
        peer = conn.get_extra_info("peername")
    except Exception:
        return "probe"
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "probe"
