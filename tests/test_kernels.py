"""Which notebook is eating the box: kernels with their CPU, memory and GPU memory, and the keys on them.

A real jupyter_server on the test sshd's "remote" (this machine), real
ipykernel kernels started as a browser starts them, each doing known work:
one holds a known amount of memory (and has a child holding more), one
spins, one idles. GPU memory comes from a stand-in nvidia-smi naming the
real kernel pids. What jtui reports is checked against the kernel's own
accounts (/proc), and its actions against what the kernels then do.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from jtui.core.kernels import Kernel
from jtui.core.session import HostSession
from jtui.core.settings import Settings
from tests.harness.jupyter import start_jupyter
from tests.harness.kernels import api, open_notebook, pss_of_tree, stand_in_nvidia_smi
from tests.harness.sshd import stop_pid
from tests.test_sessions import Recorder

pytestmark = pytest.mark.integration

MIB = 1 << 20


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    """sshd + Jupyter + three notebooks at work (module-wide: kernels take seconds to start)."""
    from tests.harness.sshd import SshServer

    sshd = SshServer(tmp_path_factory.mktemp("kernels") / "sshd").start()
    apps = sshd.root / "gpu-apps.csv"
    stand_in_nvidia_smi(sshd.bin_dir, apps)
    jupyter = start_jupyter(sshd.runtime_dir, sshd.home / "work")
    stranger = subprocess.Popen(["sleep", "600"])  # another user's training run, for nvidia-smi
    try:
        alloc = open_notebook(jupyter, "alloc.ipynb")
        spin = open_notebook(jupyter, "spin.ipynb")
        idle = open_notebook(jupyter, "idle.ipynb")
        alloc.run("held = bytearray(300 * 2**20); marker = 42")
        alloc.run("import subprocess, sys\n"
                  "child = subprocess.Popen([sys.executable, '-c', "
                  "'b = bytearray(200 * 2**20); import time; time.sleep(600)', 'jtui-test-child'])")
        idle.run("pass")  # as a browser would have: connected, asked once, idle since
        spin.run("while True: pass", wait=False)
        apps.write_text(f"{alloc.pid}, 20480\n{idle.pid}, 4096\n{stranger.pid}, 1024\n")
        yield sshd, jupyter, {"alloc": alloc, "spin": spin, "idle": idle}, stranger
    finally:
        stranger.kill()
        stranger.wait()
        jupyter.stop()
        sshd.stop()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):  # the kernel's child outlives a restart
            try:
                if b"jtui-test-child" in cmdline.read_bytes():
                    stop_pid(int(cmdline.parent.name))
            except OSError:
                pass


async def watched(sshd, predicate, timeout: float = 60):
    """A session watching its kernels, once `predicate(kernels by path)` holds."""
    rec = Recorder()
    session = HostSession("testhost", [str(sshd.config_file)], Settings().for_host("testhost"), 0.5, rec)
    session.watch_kernels(True)
    session.start()

    def kernels() -> dict[str, Kernel]:
        return {k.path: k for listed, _ in rec.kernels.values() for k in listed}

    await rec.wait(lambda: predicate(kernels()), timeout)
    return session, rec, kernels


async def test_each_notebook_with_what_it_costs(box):
    sshd, jupyter, nb, stranger = box
    session, rec, kernels = await watched(
        sshd, lambda ks: {"alloc.ipynb", "spin.ipynb", "idle.ipynb"} <= set(ks)
        and all(k.cpu_percent is not None for k in ks.values()) and ks["spin.ipynb"].state == "busy")
    try:
        ks = kernels()
        alloc, spin, idle = ks["alloc.ipynb"], ks["spin.ipynb"], ks["idle.ipynb"]
        assert alloc.name == "python3" and alloc.kind == "notebook" and alloc.id == nb["alloc"].kernel_id
        assert alloc.pid == nb["alloc"].pid and alloc.processes >= 2  # the child is counted
        truth = pss_of_tree(alloc.pid)
        assert truth > 500 * MIB  # 300 MiB in the kernel, 200 MiB in its child, and Python itself
        assert abs(alloc.memory_bytes - truth) <= 0.10 * truth, (alloc.memory_bytes, truth)
        assert spin.state == "busy" and spin.cpu_percent > 60
        assert idle.state == "idle" and idle.cpu_percent < 20
        assert alloc.connections is not None and idle.last_activity is not None
        assert alloc.gpu_memory_bytes == 20480 * MIB and alloc.gpus == (0,)
        assert idle.gpu_memory_bytes == 4096 * MIB
        [other] = rec.samples[-1].gpu_processes
        assert (other.pid, other.user, other.used_mib, other.gpu) == (stranger.pid, "root", 1024.0, 0)
        assert other.command == "sleep 600"
        # A kernel's ZMQ ports are its own business, not services of the user: those of its
        # connection file are left out by the probe, the others once they greet like ZMQ.
        kernel_pids = {k.pid for k in ks.values()}
        assert not [v for v in rec.samples[-1].services if v.pid in kernel_pids]
        held = [s for s in rec.samples[-1].listening if s.pid in kernel_pids]
        assert held and all(s.kernel for s in held) and len(held) <= len(kernel_pids)  # only the IOPub pipes
        await rec.wait(lambda: all((s.pid, s.port) in session._namer.kinds for s in held), 30)
        assert {session._namer.kinds[(s.pid, s.port)] for s in held} == {"ZMQ"}
    finally:
        await session.close()


async def test_kernels_of_a_server_jtui_does_not_know_are_not_listed_as_services(box, tmp_path):
    """A Jupyter outside the runtime dirs jtui reads (VS Code's, a container's, another install's) is a
    service of its own; its kernels' ZMQ ports are not a screenful of "ZMQ" rows next to it."""
    sshd = box[0]
    other = start_jupyter(tmp_path / "elsewhere", sshd.home / "elsewhere")
    try:
        kernel = open_notebook(other, "far.ipynb")
        kernel.run("pass")
        session, rec, _ = await watched(sshd, lambda ks: True)
        try:
            def settled() -> bool:
                sample = rec.samples[-1] if rec.samples else None
                return (sample is not None and any(v.port == other.port and v.kind == "Jupyter" for v in sample.services)
                        and all(v.kind for v in sample.services))
            await rec.wait(settled, 60)
            await rec.wait(lambda: len(rec.samples) >= 3 and settled(), 60)  # asked, named, sampled again
            sample = rec.samples[-1]
            assert not [v for v in sample.services if v.pid == kernel.pid], sample.services
            assert all(s.kernel == kernel.kernel_id for s in sample.listening if s.pid == kernel.pid)
        finally:
            await session.close()
    finally:
        other.stop()


async def test_interrupt_stops_the_busy_kernel(box):
    sshd, jupyter, nb, _ = box
    session, rec, kernels = await watched(sshd, lambda ks: ks.get("spin.ipynb") and ks["spin.ipynb"].state == "busy")
    try:
        server = rec.samples[-1].servers[0]
        await session.kernel_action(server, nb["spin"].kernel_id, "interrupt")
        await rec.wait(lambda: (k := kernels().get("spin.ipynb")) is not None and k.state == "idle", 60)
        assert nb["spin"].run("1 + 1")["status"] == "ok"  # it takes cells again
    finally:
        await session.close()


async def test_restart_gives_a_fresh_kernel(box):
    sshd, jupyter, nb, _ = box
    session, rec, kernels = await watched(sshd, lambda ks: "alloc.ipynb" in ks)
    try:
        assert nb["alloc"].run("marker")["status"] == "ok"
        before = nb["alloc"].pid
        server = rec.samples[-1].servers[0]
        await session.kernel_action(server, nb["alloc"].kernel_id, "restart")
        reply = nb["alloc"].run("marker")
        assert reply["status"] == "error" and reply["ename"] == "NameError"  # the variable is gone
        after = nb["alloc"].pid
        assert after != before

        def fresh_and_small() -> bool:  # its memory went too
            # Until the probe has matched the new process, the kernel's pid and memory are unknown (None).
            kernel = kernels().get("alloc.ipynb")
            return (kernel is not None and kernel.pid == after
                    and kernel.memory_bytes is not None and kernel.memory_bytes < 300 * MIB)

        await rec.wait(fresh_and_small, 60)
    finally:
        await session.close()


async def test_shut_down_removes_it(box):
    sshd, jupyter, nb, _ = box
    extra = await asyncio.to_thread(open_notebook, jupyter, "gone.ipynb")
    session, rec, kernels = await watched(sshd, lambda ks: "gone.ipynb" in ks)
    try:
        server = rec.samples[-1].servers[0]
        await session.kernel_action(server, extra.kernel_id, "shutdown")
        # gone from an answered listing: a listing the API failed to give lists no notebook at all
        await rec.wait(lambda: "gone.ipynb" not in kernels() and rec.kernels[jupyter.port][1] == "", 60)
    finally:
        await session.close()


async def test_a_password_only_server_says_why_its_kernels_cannot_be_acted_on(fresh_sshd, tmp_path):
    from jupyter_server.auth import passwd

    jupyter = start_jupyter(fresh_sshd.runtime_dir, tmp_path / "pw", token="",
                            extra=[f"--PasswordIdentityProvider.hashed_password={passwd('s3cret')}"])
    try:
        rec = Recorder()
        session = HostSession("testhost", [str(fresh_sshd.config_file)], Settings().for_host("testhost"), 0.5, rec)
        session.watch_kernels(True)
        session.start()
        try:
            await rec.wait(lambda: "password" in rec.kernels.get(jupyter.port, ((), ""))[1], 60)
            [(kernels, note)] = [v for port, v in rec.kernels.items() if port == jupyter.port]
            assert "password" in note and "cannot act" in note
        finally:
            await session.close()
    finally:
        jupyter.stop()


def test_status_json_carries_kernels_and_gpu_processes(box):
    sshd, jupyter, nb, stranger = box
    (sshd.root / "gpu-apps.csv").write_text(f"{nb['alloc'].pid}, 20480\n{stranger.pid}, 1024\n")  # after a restart
    out = subprocess.run([sys.executable, "-m", "jtui", "status", "testhost", "--json", "--config",
                          str(sshd.config_file)], capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    [server] = [s for s in data["servers"] if s["port"] == jupyter.port]
    by_path = {k["path"]: k for k in server["kernels"]}
    alloc = by_path["alloc.ipynb"]
    assert set(alloc) >= {"id", "name", "path", "state", "last_activity", "connections", "pid", "cpu_percent",
                          "memory_bytes", "gpu_memory_bytes", "gpus"}
    assert alloc["gpu_memory_bytes"] == 20480 * MIB and alloc["gpus"] == [0]
    assert any(p["pid"] == stranger.pid and p["user"] == "root" for p in data["gpu_processes"])
    assert jupyter.token not in out.stdout


async def test_the_kernel_table_and_its_keys(box, isolated_dirs):
    """On screen: the kernels of the selected server; i, R and D act on the one under the cursor."""
    from jtui.app import build_app
    from tests.ui_helpers import connected, messages, record, until, write_config_toml

    sshd, jupyter, nb, _ = box
    extra = await asyncio.to_thread(open_notebook, jupyter, "doomed.ipynb")
    write_config_toml(isolated_dirs, "refresh = 0.5\n")
    app = build_app([str(sshd.config_file)])
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)

        def listed() -> dict[str, Kernel]:
            kernels, _ = record(app, "testhost").kernels_of(jupyter.port)
            return {k.path: k for k in kernels}

        await until(lambda: "doomed.ipynb" in listed(), what="the kernels on screen")
        table = app.host_screen.query_one("#kernels")
        paths = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "doomed.ipynb" in paths and "alloc.ipynb" in paths
        table.focus()
        table.move_cursor(row=paths.index("doomed.ipynb"))
        await until(lambda: record(app, "testhost").selected_kernel == extra.kernel_id, what="the cursor")
        await pilot.press("D")
        await until(lambda: type(app.screen).__name__ == "ConfirmScreen", what="the question")
        assert "doomed.ipynb" in str(app.screen.query_one("Static").render())
        await pilot.press("y")
        await until(lambda: "Shut down the kernel of doomed.ipynb." in messages(app), what="the answer")
        await until(lambda: "doomed.ipynb" not in listed(), what="the kernel gone")
        # The cursor is on the row that took its place (not back on the first), and keys act on that one.
        rest = [path for path in paths if path != "doomed.ipynb"]
        neighbour = listed()[rest[min(paths.index("doomed.ipynb"), len(rest) - 1)]]
        assert neighbour.path != paths[0]
        await until(lambda: record(app, "testhost").selected_kernel == neighbour.id, what="the neighbour selected")
        assert table.key_under_cursor == neighbour.id


async def test_a_key_right_after_a_move_acts_on_the_row_moved_to(box, isolated_dirs):
    """j then R in one burst (typed fast, or arriving at once over a slow link): R asked about the
    kernel the cursor had just left, and y would have restarted it."""
    from jtui.app import build_app
    from tests.ui_helpers import burst, connected, record, until, write_config_toml

    sshd, jupyter, _, _ = box
    write_config_toml(isolated_dirs, "refresh = 0.5\n")
    app = build_app([str(sshd.config_file)])
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        await until(lambda: len(record(app, "testhost").kernels_of(jupyter.port)[0]) >= 3, what="the kernels")
        table = app.host_screen.query_one("#kernels")
        paths = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        table.focus()
        table.move_cursor(row=0)
        await pilot.pause()
        assert record(app, "testhost").selected_kernel_of_server.path == paths[0]
        await burst(pilot, "j", "R")
        await until(lambda: type(app.screen).__name__ == "ConfirmScreen", what="the question")
        question = str(app.screen.query_one("Static").render())
        assert paths[1] in question and paths[0] not in question, question
        await pilot.press("n")


async def test_a_kernel_with_no_notebook_is_named_by_its_id(box, isolated_dirs):
    """A kernel started over the API (no session names it): the question read "Shut down the kernel
    of kernel 1ae98c73 ...? Its notebook stays", for a kernel that has no notebook."""
    from jtui.app import build_app
    from tests.ui_helpers import connected, messages, record, until, write_config_toml

    sshd, jupyter, _, _ = box
    kernel_id = (await asyncio.to_thread(api, jupyter, "POST", "/api/kernels", {"name": "python3"}))["id"]
    write_config_toml(isolated_dirs, "refresh = 0.5\n")
    app = build_app([str(sshd.config_file)])
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        await until(lambda: any(k.id == kernel_id for k in record(app, "testhost").kernels_of(jupyter.port)[0]),
                    what="the kernel on screen")
        table = app.host_screen.query_one("#kernels")
        table.focus()
        table.move_cursor(row=table.get_row_index(kernel_id))
        await until(lambda: record(app, "testhost").selected_kernel == kernel_id, what="the cursor")
        await pilot.press("D")
        await until(lambda: type(app.screen).__name__ == "ConfirmScreen", what="the question")
        question = " ".join(str(app.screen.query_one("Static").render()).split())
        assert question == f"Shut down kernel {kernel_id[:8]} (no notebook) on testhost:{jupyter.port}? The kernel ends."
        await pilot.press("y")
        await until(lambda: f"Shut down kernel {kernel_id[:8]} (no notebook)." in messages(app), what="the answer")
