"""The probe: one long-lived remote process streaming a host's state, one JSON line a sample.

Why a streaming shell script: a command per sample would cost an SSH round
trip and a login-shell start each time, and `jupyter server list` costs a
Python start-up (a second or more). The script (probe.sh, POSIX sh + awk)
reads /proc, nvidia-smi and the Jupyter runtime files itself, for a few
milliseconds a sample.

Three parts:

- PROBE_SCRIPT / probe_command(): what runs on the remote, and how it is sent.
  The command line is a short bootstrap that reads the script from stdin, so
  the script never passes through the user's login shell quoting (fish and
  tcsh treat multi-line or backslashed quoted strings differently from sh).
- parse_line(): a pure function, one line to a Sample, refusing anything
  truncated, garbled, oversized or out of range with ProbeLineError.
- Probe: one channel on an open asyncssh connection; `samples()` yields
  Samples until the remote process ends (then ProbeDied), `close()` ends it.
  Restarting is the session's business: a new Probe is cheap.
"""

from __future__ import annotations

import asyncio
import logging
import math
import shlex
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from typing import Any

from jtui.core.model import GpuStat, JupyterServer, Sample
from jtui.core.runtime_files import CONTROL_CHARS, RuntimeFileError, checked_text, parse_runtime_text, strict_json

log = logging.getLogger(__name__)

PROBE_SCRIPT: str = resources.files("jtui.core").joinpath("probe.sh").read_text(encoding="utf-8")
PROBE_NAME = "jtui-probe"  # $0 of the remote process: how to find it in `ps`
SCRIPT_END = "#jtui-probe-end"  # the bootstrap reads stdin up to this line
BOOTSTRAP = f'eval "$(sed "/^{SCRIPT_END}$/q")"'
FORMAT_VERSION = 1

MAX_LINE = 1 << 20  # characters; a sample is a few KiB even with many servers
MAX_SERVERS = 256
MAX_GPUS = 64
MAX_CORES = 65536
MAX_DIRS = 16
MAX_RUNTIME_TEXT = 1 << 17
MAX_BYTES = 1 << 62
MAX_TIME = 1e11  # epoch seconds, year 5138: anything later is garbage
STDERR_TAIL = 4096
READ_SIZE = 1 << 16
CLOSE_TIMEOUT = 5.0



class ProbeLineError(ValueError):
    """A probe line that does not describe a sample; `reason` says why, without its content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


# -- the command -----------------------------------------------------------


def format_interval(interval: float) -> str:
    """Seconds as the script takes them: plain decimal, no exponent, millisecond steps."""
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not math.isfinite(interval):
        raise ValueError(f"interval must be a number of seconds, not {interval!r}")
    if not 0 <= interval <= 86400:
        raise ValueError(f"interval out of range: {interval}")
    text = f"{interval:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def probe_args(interval: float, count: int = 0, login_shell: bool = True, runtime_dirs: Sequence[str] = ()) -> list[str]:
    """The script's arguments ($0 first): see the usage at the top of probe.sh."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a non-negative int, not {count!r}")
    for path in runtime_dirs:
        if not path.startswith("/") or "\n" in path or "\0" in path:
            raise ValueError("runtime dirs must be absolute paths on one line")
    return [PROBE_NAME, format_interval(interval), str(count), "1" if login_shell else "0", *runtime_dirs]


def probe_command(interval: float, count: int = 0, login_shell: bool = True, runtime_dirs: Sequence[str] = ()) -> str:
    """The remote command line; the script itself follows on stdin (script_payload())."""
    words = ["exec", "sh", "-c", BOOTSTRAP, *probe_args(interval, count, login_shell, runtime_dirs)]
    return " ".join(shlex.quote(word) for word in words)


def script_payload() -> bytes:
    """What the bootstrap reads from stdin: the script, then the end marker."""
    return (PROBE_SCRIPT.rstrip("\n") + f"\n{SCRIPT_END}\n").encode()


# -- parsing -----------------------------------------------------------------


def _number(data: dict, key: str, lo: float, hi: float, *, required: bool = False) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProbeLineError(f"{key} missing")
        return None
    return _in_range(value, key, lo, hi)


def _in_range(value: Any, key: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProbeLineError(f"{key} is not a number")
    if isinstance(value, int) and not -(2**63) < value < 2**63:
        raise ProbeLineError(f"{key} out of range")
    number = float(value)
    if not math.isfinite(number) or not lo <= number <= hi:
        raise ProbeLineError(f"{key} out of range")
    return number


def _integer(data: dict, key: str, lo: int, hi: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProbeLineError(f"{key} is not an integer")
    if not lo <= value <= hi:
        raise ProbeLineError(f"{key} out of range")
    return value


def _text(value: Any, key: str, limit: int = 4096) -> str:
    return checked_text(value, key, limit, ProbeLineError)


def _list(data: dict, key: str, limit: int) -> list:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProbeLineError(f"{key} is not a list")
    if len(value) > limit:
        raise ProbeLineError(f"{key} has too many entries")
    return value


def _cpu(data: dict) -> tuple[float | None, tuple[float, ...], int | None]:
    cores = _integer(data, "cores", 1, MAX_CORES)
    total = _number(data, "cpu", 0.0, 100.0)
    per_core = tuple(_in_range(v, "cpus", 0.0, 100.0) for v in _list(data, "cpus", MAX_CORES))
    if (total is None) != (not per_core):
        raise ProbeLineError("cpu and cpus must come together")
    if per_core and len(per_core) != cores:
        raise ProbeLineError("cpus does not have one figure per core")
    return total, per_core, cores


def _load(data: dict) -> tuple[float, float, float] | None:
    value = data.get("load")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 3:
        raise ProbeLineError("load is not three numbers")
    one, five, fifteen = (_in_range(v, "load", 0.0, 1e6) for v in value)
    return (one, five, fifteen)


def _memory(data: dict) -> dict[str, int | None]:
    keys = ("mem_total", "mem_used", "mem_available", "swap_total", "swap_used")
    mem = {key: _integer(data, key, 0, MAX_BYTES) for key in keys}
    total = mem["mem_total"]
    if total is not None and any(mem[k] is not None and mem[k] > total for k in ("mem_used", "mem_available")):
        raise ProbeLineError("memory figures exceed the total")
    if mem["swap_total"] is not None and mem["swap_used"] is not None and mem["swap_used"] > mem["swap_total"]:
        raise ProbeLineError("swap used exceeds the total")
    return mem


def _gpu(entry: Any) -> GpuStat:
    if not isinstance(entry, dict):
        raise ProbeLineError("not an object")
    index = _integer(entry, "index", 0, 4095)
    if index is None:
        raise ProbeLineError("index missing")
    return GpuStat(
        index=index,
        name=_text(entry.get("name", ""), "name", 256),
        util_percent=_number(entry, "util", 0.0, 100.0),
        mem_used_mib=_number(entry, "mem_used", 0.0, 1e9),
        mem_total_mib=_number(entry, "mem_total", 0.0, 1e9),
        temperature_c=_number(entry, "temp", -273.0, 1000.0),
    )


def _server(entry: Any) -> JupyterServer:
    """One runtime file entry: {"file", "mtime", "text"} (or "big" when it was too long)."""
    if not isinstance(entry, dict):
        raise RuntimeFileError("not an object")
    try:
        name = _text(entry.get("file"), "file name")
        mtime = _number(entry, "mtime", 0.0, MAX_TIME)
        text = entry.get("text", "")
        if entry.get("big") is True:
            raise RuntimeFileError("runtime file too large")
        text = _text(text, "text", MAX_RUNTIME_TEXT)
    except ProbeLineError as exc:
        raise RuntimeFileError(exc.reason) from None
    return parse_runtime_text(text, name, mtime)


def _entry_label(entry: Any, position: int) -> str:
    name = entry.get("file") if isinstance(entry, dict) else None
    if isinstance(name, str) and len(name) < 4096 and not CONTROL_CHARS.search(name):
        return name.rsplit("/", 1)[-1]
    return f"entry {position}"


def parse_line(line: str) -> Sample:
    """One probe line to a Sample; raise ProbeLineError (reason, never the content) if unusable.

    Whole-line faults (bad JSON, wrong types, figures out of range) reject the
    line. A GPU or server entry that does not parse is left out on its own,
    its reason in Sample.dropped: one broken runtime file must not hide the
    host's other servers.
    """
    if not isinstance(line, str):
        raise ProbeLineError("not text")
    if len(line) > MAX_LINE:
        raise ProbeLineError(f"line too long ({len(line)} characters)")
    line = line.strip()
    if not line:
        raise ProbeLineError("empty line")
    data = strict_json(line, ProbeLineError)
    if not isinstance(data, dict):
        raise ProbeLineError("not a JSON object")
    version = data.get("v")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ProbeLineError("unknown probe line format")

    when = _number(data, "time", 0.0, MAX_TIME, required=True)
    os_name = _text(data.get("os"), "os", 64)
    if not os_name:
        raise ProbeLineError("os is empty")
    user = _text(data.get("user", ""), "user", 256)
    home = _text(data.get("home", ""), "home")
    dirs = tuple(_text(d, "runtime_dirs") for d in _list(data, "runtime_dirs", MAX_DIRS))
    cpu, per_core, cores = _cpu(data)
    load = _load(data)
    mem = _memory(data)
    gpu_error = _text(data.get("gpu_error", ""), "gpu_error", 1024)

    dropped: list[str] = []
    gpus: list[GpuStat] = []
    for position, entry in enumerate(_list(data, "gpus", MAX_GPUS)):
        try:
            gpus.append(_gpu(entry))
        except ProbeLineError as exc:
            dropped.append(f"gpu {position}: {exc.reason}")
    servers: list[JupyterServer] = []
    seen: set[tuple[int, int]] = set()
    for position, entry in enumerate(_list(data, "servers", MAX_SERVERS)):
        label = _entry_label(entry, position)
        try:
            server = _server(entry)
        except RuntimeFileError as exc:
            dropped.append(f"{label}: {exc}")
            continue
        if (server.pid, server.port) in seen:
            dropped.append(f"{label}: same server as an earlier runtime file")
            continue
        seen.add((server.pid, server.port))
        servers.append(server)

    return Sample(
        time=when,
        os=os_name,
        cpu_percent=cpu,
        cpu_per_core=per_core,
        cores=cores,
        load=load,
        mem_total=mem["mem_total"],
        mem_used=mem["mem_used"],
        mem_available=mem["mem_available"],
        swap_total=mem["swap_total"],
        swap_used=mem["swap_used"],
        gpus=tuple(gpus),
        servers=tuple(servers),
        remote_user=user,
        remote_home=home,
        runtime_dir=dirs[0] if dirs else "",
        runtime_dirs=dirs,
        gpu_error=gpu_error,
        dropped=tuple(dropped),
    )


# -- the stream ----------------------------------------------------------------


class Probe:
    """One remote probe process on one channel of an open asyncssh connection.

    `samples()` may be iterated once; it ends with ProbeDied when the remote
    process ends, and quietly after close(). A new Probe(conn, interval) is
    the way to restart: nothing is shared between probes.
    """

    def __init__(
        self,
        conn: Any,
        interval: float = 2.0,
        *,
        login_shell: bool = True,
        runtime_dirs: Sequence[str] = (),
        count: int = 0,
        label: str = "",
    ) -> None:
        self.conn = conn
        self.interval = interval
        self.command = probe_command(interval, count, login_shell, runtime_dirs)
        self.label = label or _peer(conn)
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
            proc = await self.conn.create_process(self.command, encoding=None)
            self._proc = proc
            proc.stdin.write(script_payload())
            await proc.stdin.drain()
        except (asyncssh.Error, OSError) as exc:
            if self._closing:
                return
            raise ProbeDied(None, None, "", f"could not start the probe: {exc}") from None
        self._stderr_task = asyncio.get_running_loop().create_task(self._drain_stderr(proc.stderr))
        try:
            try:
                async for raw in self._lines(proc.stdout):
                    sample = self._parse(raw)
                    if sample is not None:
                        yield sample
            except (asyncssh.Error, OSError) as exc:
                if self._closing:
                    return
                raise ProbeDied(None, None, self._tail(), f"probe channel lost: {exc}") from None
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
            if not proc.is_closing():
                proc.close()

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

    async def _lines(self, stdout: Any) -> AsyncIterator[bytes]:
        """Split the byte stream into lines, dropping any longer than MAX_LINE."""
        buf = bytearray()
        skipping = False
        while True:
            chunk = await stdout.read(READ_SIZE)
            if not chunk:
                if buf or skipping:
                    self._report("truncated last line dropped")
                return
            start = 0
            while start < len(chunk):
                end = chunk.find(b"\n", start)
                piece = chunk[start:] if end < 0 else chunk[start:end]
                if not skipping:
                    buf += piece
                    if len(buf) > MAX_LINE:
                        self._report(f"line longer than {MAX_LINE} bytes dropped")
                        buf.clear()
                        skipping = True
                if end < 0:
                    break
                if not skipping:
                    yield bytes(buf)
                buf.clear()
                skipping = False
                start = end + 1

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
