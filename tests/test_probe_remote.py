"""The probe against a real OpenSSH sshd and a real jupyter_server on this machine.

No timed assertions: every wait is "until it shows, within a generous limit".
Process-table checks look for processes that carry the test sshd's marker in
their environment, so nothing else on the machine is ever touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncssh
import pytest

from jtui.core.model import GpuStat, Sample
from jtui.core.probe import PROBE_NAME, Probe, ProbeDied
from jtui.core.remote import Remote
from jtui.core.resolve import connection_options
from tests.harness.jupyter import start_jupyter
from tests.harness.sshd import SshServer, alive, descendants, pids_with_marker

pytestmark = pytest.mark.integration

WAIT = 60.0  # seconds: a limit for things that take well under one
INTERVAL = 0.3


async def connect(server: SshServer) -> asyncssh.SSHClientConnection:
    options = connection_options("testhost", [str(server.config_file)], client_keys=[str(server.client_key)])
    return await asyncssh.connect(options=options)


@pytest.fixture
async def conn(sshd):
    connection = await connect(sshd)
    yield connection
    connection.close()
    await connection.wait_closed()


class Stream:
    """A probe's sample iterator with a time limit on every step."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.iterator: AsyncIterator[Sample] = probe.samples().__aiter__()

    async def next(self) -> Sample:
        return await asyncio.wait_for(self.iterator.__anext__(), WAIT)

    async def until(self, predicate: Callable[[Sample], bool]) -> Sample:
        """The first sample meeting `predicate` (it must come within WAIT seconds)."""
        deadline = time.monotonic() + WAIT
        while True:
            sample = await asyncio.wait_for(self.iterator.__anext__(), max(0.1, deadline - time.monotonic()))
            if predicate(sample):
                return sample


def has_marker(pid: int, marker: str) -> bool:
    try:
        return f"JTUI_TEST_MARK={marker}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def probe_tree(marker: str) -> set[int]:
    """The probe's processes: its shell(s), by cmdline, and everything below them."""
    roots = set()
    for pid in pids_with_marker(marker):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if PROBE_NAME.encode() in cmdline:
            roots.add(pid)
    return roots | {child for root in roots for child in descendants(root)}


def leftovers(pids: set[int], marker: str) -> set[int]:
    return {pid for pid in pids if alive(pid) and has_marker(pid, marker)}


async def wait_no_leftovers(pids: set[int], marker: str) -> set[int]:
    deadline = time.monotonic() + WAIT
    while (left := leftovers(pids, marker) | probe_tree(marker)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return left


async def first_sample(connection, **options):
    """One sample from a probe of its own, closed afterwards."""
    probe = Probe(Remote(connection), INTERVAL, **options)
    try:
        return await Stream(probe).next()
    finally:
        await probe.close()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def runtime_json(pid: int, port: int, **extra) -> str:
    data = {"base_url": "/", "hostname": "127.0.0.1", "password": False, "pid": pid, "port": port,
            "root_dir": "/nowhere", "secure": False, "sock": "", "token": "t", "url": f"http://127.0.0.1:{port}/",
            "version": "2.0.0"}
    return json.dumps(dict(data, **extra), indent=1)


# -- figures -----------------------------------------------------------------------


async def test_cpu_memory_load_and_identity(sshd, conn):
    probe = Probe(Remote(conn), INTERVAL)
    stream = Stream(probe)
    try:
        first = await stream.next()
        assert first.cpu_percent is None  # a delta needs two readings
        sample = await stream.until(lambda s: s.cpu_percent is not None)
    finally:
        await probe.close()
    assert 0.0 <= sample.cpu_percent <= 100.0
    assert sample.cores and len(sample.cpu_per_core) == sample.cores
    assert all(0.0 <= figure <= 100.0 for figure in sample.cpu_per_core)
    mem_total_kib = next(int(row.split()[1]) for row in Path("/proc/meminfo").read_text().splitlines() if row.startswith("MemTotal:"))
    assert sample.mem_total == mem_total_kib * 1024
    assert sample.mem_used is not None and sample.mem_available is not None
    assert sample.mem_used + sample.mem_available == sample.mem_total
    assert sample.swap_total is not None and sample.load is not None and len(sample.load) == 3
    assert sample.os == "Linux" and sample.supported
    assert sample.remote_user == sshd.user and sample.remote_home == str(sshd.home)
    assert sample.runtime_dir == str(sshd.runtime_dir)
    assert abs(sample.time - time.time()) < 3600  # the remote clock, in epoch seconds


# -- Jupyter servers -------------------------------------------------------------------


async def test_jupyter_server_appears_and_goes_when_killed(sshd, conn, tmp_path):
    root = tmp_path / "notebooks"
    jupyter = start_jupyter(sshd.runtime_dir, root)
    classic = sshd.runtime_dir / f"nbserver-{jupyter.pid}.json"
    probe = Probe(Remote(conn), INTERVAL)
    stream = Stream(probe)
    try:
        sample = await stream.until(lambda s: any(x.pid == jupyter.pid for x in s.servers))
        (server,) = [x for x in sample.servers if x.pid == jupyter.pid]
        assert (server.port, server.root_dir, server.kind) == (jupyter.port, str(root), "jpserver")
        assert server.token == jupyter.token and server.runtime_file == str(jupyter.runtime_file)
        assert server.started is not None and abs(server.started - time.time()) < 3600

        # A classic Notebook runtime file, written by hand for the same live pid.
        classic.write_text(runtime_json(jupyter.pid, 9999, root_dir=None, notebook_dir="/classic"))
        sample = await stream.until(lambda s: any(x.kind == "nbserver" for x in s.servers))
        (nb,) = [x for x in sample.servers if x.kind == "nbserver"]
        assert (nb.pid, nb.port, nb.root_dir) == (jupyter.pid, 9999, "/classic")

        # SIGKILL: Jupyter cannot remove its runtime file; the pid check must drop it.
        jupyter.proc.kill()
        jupyter.proc.wait(10)
        assert jupyter.runtime_file.exists()
        await stream.until(lambda s: not any(x.pid == jupyter.pid for x in s.servers))
    finally:
        await probe.close()
        jupyter.stop()
        jupyter.runtime_file.unlink(missing_ok=True)
        classic.unlink(missing_ok=True)


async def test_stale_and_zombie_runtime_files_are_not_listed(sshd, conn):
    live = subprocess.Popen(["sleep", "300"])
    zombie = subprocess.Popen(["true"])  # not waited for: a zombie until the end of the test
    while not Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
        await asyncio.sleep(0.01)
    dead = dead_pid()
    files = {
        "live": sshd.runtime_dir / f"jpserver-{live.pid}.json",
        "dead": sshd.runtime_dir / f"jpserver-{dead}.json",
        "zombie": sshd.runtime_dir / f"jpserver-{zombie.pid}.json",
        # a live pid in the name, a dead one inside: the content's pid counts too
        "inside": sshd.runtime_dir / f"nbserver-{live.pid}.json",
    }
    files["live"].write_text(runtime_json(live.pid, 9001))
    files["dead"].write_text(runtime_json(dead, 9002))
    files["zombie"].write_text(runtime_json(zombie.pid, 9003))
    files["inside"].write_text(runtime_json(dead, 9004))
    probe = Probe(Remote(conn), INTERVAL)
    stream = Stream(probe)
    ours = {live.pid, dead, zombie.pid}  # other tests may share this runtime dir
    try:
        for _ in range(3):
            sample = await stream.until(lambda s: any(x.pid in ours for x in s.servers))
            assert [(x.pid, x.port) for x in sample.servers if x.pid in ours] == [(live.pid, 9001)]
    finally:
        await probe.close()
        live.kill()
        live.wait()
        zombie.wait()
        for path in files.values():
            path.unlink(missing_ok=True)


async def test_login_shell_runtime_dir_is_found(fresh_sshd, tmp_path):
    """A .profile that sets JUPYTER_RUNTIME_DIR: servers started through the login shell land there."""
    elsewhere = fresh_sshd.home / "profile-runtime"
    elsewhere.mkdir()
    (fresh_sshd.home / ".profile").write_text(f"export JUPYTER_RUNTIME_DIR={elsewhere}\necho noise from .profile\n")
    live = subprocess.Popen(["sleep", "300"])
    (elsewhere / f"jpserver-{live.pid}.json").write_text(runtime_json(live.pid, 9101))
    connection = await connect(fresh_sshd)
    try:
        sample = await first_sample(connection)
        assert sample.runtime_dirs[:2] == (str(elsewhere), str(fresh_sshd.runtime_dir))
        assert [s.port for s in sample.servers] == [9101]

        sample = await first_sample(connection, login_shell=False)
        assert str(elsewhere) not in sample.runtime_dirs and sample.servers == ()
    finally:
        connection.close()
        live.kill()
        live.wait()


async def test_a_hanging_profile_does_not_stop_the_probe(fresh_sshd):
    (fresh_sshd.home / ".profile").write_text("sleep 120\n")
    connection = await connect(fresh_sshd)
    try:
        sample = await first_sample(connection)
        assert sample.runtime_dir == str(fresh_sshd.runtime_dir)
    finally:
        connection.close()


# -- GPUs ---------------------------------------------------------------------------------

SMI_LINES = [
    "0, GPU-8f1c2d3e-0000-1111-2222-333344445555, NVIDIA A100-SXM4-80GB, 72, 30920, 81920, 54",
    "1, GPU-8f1c2d3e-0000-1111-2222-333344446666, Tesla V100-SXM2-16GB, [N/A], 0, 16384, [Not Supported]",
]


async def test_nvidia_smi_stand_in_gives_gpu_stats(sshd, conn):
    smi = sshd.bin_dir / "nvidia-smi"
    # Answers only the exact query the probe makes, like the real tool would.
    smi.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  "--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu --format=csv,noheader,nounits")\n'
        + "".join(f"    echo '{line}'\n" for line in SMI_LINES)
        + "    ;;\n"
        '  "--query-compute-apps=pid,used_memory,gpu_uuid --format=csv,noheader,nounits") ;;\n'
        '  *) echo "unexpected: $*" >&2; exit 2 ;;\n'
        "esac\n"
    )
    smi.chmod(0o755)
    probe = Probe(Remote(conn), INTERVAL)
    try:
        sample = await Stream(probe).until(lambda s: s.gpus != ())
    finally:
        await probe.close()
        smi.unlink()
    assert sample.gpus == (
        GpuStat(0, "NVIDIA A100-SXM4-80GB", 72.0, 30920.0, 81920.0, 54.0),
        GpuStat(1, "Tesla V100-SXM2-16GB", None, 0.0, 16384.0, None),
    )
    assert sample.gpu_error == ""


async def test_no_nvidia_smi_no_gpus(sshd, conn):
    assert not (sshd.bin_dir / "nvidia-smi").exists()
    sample = await first_sample(conn)
    assert sample.gpus == () and sample.gpu_error == ""


# -- the remote process's life -------------------------------------------------------------


async def running_probe(server: SshServer, connection) -> tuple[Probe, Stream, set[int]]:
    """A probe that has printed a sample, and its process tree (shell, stdin watcher, sleep)."""
    probe = Probe(Remote(connection), INTERVAL)
    stream = Stream(probe)
    await stream.next()
    await stream.next()
    tree = probe_tree(server.marker)
    assert len(tree) >= 3, tree  # sh, the watcher subshell, cat (and a sleep, mostly)
    return probe, stream, tree


async def test_closing_the_probe_leaves_no_process(fresh_sshd):
    connection = await connect(fresh_sshd)
    try:
        probe, stream, tree = await running_probe(fresh_sshd, connection)
        await probe.close()
        assert await wait_no_leftovers(tree, fresh_sshd.marker) == set()
        with pytest.raises(StopAsyncIteration):  # a closed probe ends quietly
            await stream.next()
    finally:
        connection.close()


async def test_closing_the_connection_leaves_no_process(fresh_sshd):
    connection = await connect(fresh_sshd)
    probe, stream, tree = await running_probe(fresh_sshd, connection)
    connection.close()
    await connection.wait_closed()
    assert await wait_no_leftovers(tree, fresh_sshd.marker) == set()
    with pytest.raises(ProbeDied):
        await stream.next()


async def test_without_the_stdin_watcher_a_failed_write_ends_it(fresh_sshd):
    """Belt and braces: if the stdin watcher is gone, the next write to the closed channel ends the loop."""
    connection = await connect(fresh_sshd)
    try:
        probe, stream, tree = await running_probe(fresh_sshd, connection)
        (cat,) = [pid for pid in tree if _cmdline(pid) == b"cat\0"]
        watcher = _parent(cat)
        main = _parent(watcher)
        assert main in tree and PROBE_NAME.encode() in Path(f"/proc/{main}/cmdline").read_bytes()
        os.kill(watcher, signal.SIGKILL)
        await asyncio.sleep(INTERVAL)
        assert alive(main)
        await probe.close()
        assert await wait_no_leftovers(tree, fresh_sshd.marker) == set()
    finally:
        connection.close()


def _cmdline(pid: int) -> bytes:
    """A process's command line; empty once it is gone (a sample's short-lived helpers end any time)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _parent(pid: int) -> int | None:
    """pid's parent; None when pid has gone (a sample's awk or sleep, ended since the tree was read)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except FileNotFoundError:
        return None


@pytest.mark.parametrize("sig, status, name", [(signal.SIGKILL, None, "KILL"), (signal.SIGTERM, 143, None)])
async def test_a_killed_probe_ends_the_stream_with_probe_died(fresh_sshd, sig, status, name):
    connection = await connect(fresh_sshd)
    try:
        probe, stream, tree = await running_probe(fresh_sshd, connection)
        main = [pid for pid in tree if (parent := _parent(pid)) is not None and parent not in tree][0]
        os.kill(main, sig)
        with pytest.raises(ProbeDied) as caught:
            while True:
                await stream.next()
        assert caught.value.exit_status == status and caught.value.exit_signal == name
        assert await wait_no_leftovers(tree, fresh_sshd.marker) == set()
        again = Probe(Remote(connection), INTERVAL)  # restarting is just a new Probe
        try:
            assert isinstance(await Stream(again).next(), Sample)
        finally:
            await again.close()
    finally:
        connection.close()


def stand_in_awk(server: SshServer, body: str) -> None:
    """An `awk` first on the host's PATH: the probe's every sample goes through it."""
    awk = server.bin_dir / "awk"
    awk.write_text("#!/bin/sh\n" + body)
    awk.chmod(0o755)


async def test_probe_died_carries_exit_status_and_stderr(fresh_sshd):
    """A host whose awk is broken: the probe ends, and says why."""
    stand_in_awk(fresh_sshd, "echo 'awk: not found' >&2\nexit 127\n")
    connection = await connect(fresh_sshd)
    try:
        with pytest.raises(ProbeDied) as caught:
            await Stream(Probe(Remote(connection), INTERVAL)).next()
    finally:
        connection.close()
    assert caught.value.exit_status == 1
    assert "awk: not found" in caught.value.stderr_tail and "awk: not found" in str(caught.value)


async def test_bad_lines_are_skipped_and_logged_without_tokens(fresh_sshd, caplog):
    """What an awk gone wrong prints: garbage, an oversized line, a cut one; the good sample still counts."""
    from tests.test_probe_parse import LINUX_CPU, TOKEN

    bad_server = json.dumps({"file": "/rt/jpserver-1.json", "mtime": 1, "text": json.dumps({"port": "x", "pid": 1, "token": TOKEN})})
    with_bad_server = LINUX_CPU.replace('"servers":[', '"servers":[' + bad_server + ",")
    once = fresh_sshd.root / "awk-ran"
    stand_in_awk(fresh_sshd, "\n".join([
        f"[ -e {shlex.quote(str(once))} ] && exit 1",  # the second sample: the probe ends
        f": > {shlex.quote(str(once))}",
        "echo 'cpu:0:0'",  # the counters line the probe keeps for itself
        "printf 'garbage\\n'",
        "head -c 2200000 /dev/zero | tr '\\0' x; echo",  # 2.2 MB: over the line cap
        f"printf '%s\\n' {shlex.quote(LINUX_CPU[:100])}",  # truncated
        "cat <<'EOF'",
        with_bad_server,
        "EOF",
    ]) + "\n")
    connection = await connect(fresh_sshd)
    caplog.set_level("DEBUG", logger="jtui.core.probe")
    samples = []
    try:
        with pytest.raises(ProbeDied) as caught:
            async for sample in Probe(Remote(connection), INTERVAL).samples():
                samples.append(sample)
    finally:
        connection.close()
    assert caught.value.exit_status == 1
    assert len(samples) == 1 and samples[0].cores == 2 and len(samples[0].servers) == 1
    text = caplog.text
    assert "not JSON" in text and "longer than" in text
    assert "jpserver-1.json: port is not a valid number" in text
    assert TOKEN not in text


async def test_one_channel_per_probe(conn):
    probe = Probe(Remote(conn), INTERVAL)
    stream = Stream(probe)
    await stream.next()
    with pytest.raises(RuntimeError):
        async for _ in probe.samples():
            pass
    await probe.close()
    await probe.close()  # twice is fine
    await Probe(Remote(conn), INTERVAL).close()  # never started: nothing to do
