"""Benchmark: JupyterLab in a real browser, and a cell's round trip, through jtui's forward versus `ssh -N -L`.

    .venv/bin/python tests/bench/bench_browser.py [--quick] [--rounds N] [--cells N]

Needs: jupyterlab and playwright in the venv (`pip install jupyterlab
playwright`) and Debian's Chromium (`apt-get install chromium`). Playwright
drives /usr/bin/chromium; it never downloads a browser of its own.

What people do with a forward is open the URL in a browser and run cells, so
that is what is timed, on one `jupyter lab` (127.0.0.1, token) reached three
ways: direct (no forward, the floor), jtui's forward (a HostSession connected
to its own sshd, tests/harness/sshd.py, probe streaming) and OpenSSH's
`ssh -N -L`; the "remote" is this machine. Target: jtui no slower than
OpenSSH on each measure.

- JupyterLab: headless Chromium opens the URL jtui copies, made /lab
  (http://localhost:PORT/lab?token=...), in a fresh browser context each time
  (no cache, cookies or connections carried over), and is timed until the
  launcher's notebook card is visible, then, after a click on it, typing
  `print(6*7)` in the new notebook and shift+enter once its kernel is idle
  (pressed earlier, JupyterLab 4.6 can drop the execution), until the output
  shows 42.
  Between loads the notebook, its kernel and the saved workspace are removed,
  so every load is a first visit with the launcher showing.
- a cell's round trip: 200 execute_request messages of code `1` per path, over
  the kernel's websocket (/api/kernels/ID/channels, protocol v5 as JSON), each
  timed until its execute_reply; p50 and p95.

The contenders take turns within each round (the order flips every round).
The browser and the websocket client run in a separate process, so they
never compete with jtui's event loop for the GIL (as in bench_small_requests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import (  # noqa: E402
    PYTHON, connected_session, free_port, isolate_home, median, percentile, print_table, ratio, spread,
    ssh_forward, start_sshd, stop_process,
)
from tests.harness.jupyter import start_jupyter  # noqa: E402
from tests.harness.sshd import stop_pid  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TOKEN = "bench-token-0123456789abcdef"
TIMEOUT = 60.0
DIRECT, JTUI, SSH = "direct (no forward)", "jtui forward", "ssh -N -L"


# -- the worker process: the browser and the websocket client --------------------


def lab_times(browser, url: str) -> dict[str, float]:
    """One first visit: URL opened until the launcher shows, a new notebook's editor, its first output."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT * 1000)
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        card = page.locator('.jp-LauncherCard[data-category="Notebook"]').first
        card.wait_for(state="visible")
        launcher = time.perf_counter() - start
        card.click()
        editor = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first
        editor.wait_for(state="visible")
        notebook = time.perf_counter() - start
        editor.click()
        page.keyboard.type("print(6*7)")
        # as a person would, once the kernel is up: pressed earlier, the execution can be lost
        page.locator('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(state="attached")
        page.keyboard.press("Shift+Enter")
        # 20 s: a lost execution (it happens) is measured again rather than waited for
        page.locator(".jp-OutputArea-output", has_text="42").first.wait_for(state="visible", timeout=20_000)
        output = time.perf_counter() - start
    finally:
        context.close()
    return {"launcher": launcher, "notebook": notebook, "output": output}


def message(msg_type: str, session: str, content: dict) -> dict:
    """A Jupyter protocol v5 message for the shell channel, as JSON over the kernel websocket."""
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "bench",
              "version": "5.3", "date": datetime.datetime.now(datetime.UTC).isoformat()}
    return {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}


def request(ws, msg: dict) -> None:
    """Send and read until the shell reply to it (iopub traffic in between is skipped)."""
    ws.send(json.dumps(msg))
    msg_id = msg["header"]["msg_id"]
    while True:
        answer = json.loads(ws.recv())
        if answer.get("channel") == "shell" and answer["parent_header"].get("msg_id") == msg_id:
            return


def cell_times(port: int, kernel: str, token: str, count: int) -> list[float]:
    """`count` executions of `1` over a new websocket, each until its execute_reply."""
    import websocket

    session = uuid.uuid4().hex
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?session_id={session}"
    # TCP_NODELAY as a browser sets it: without it, each small frame waits ~40 ms for a delayed ACK
    # (Nagle), whatever the path, and the figure measures that instead of the forward.
    ws = websocket.create_connection(url, header=[f"Authorization: token {token}"], timeout=TIMEOUT,
                                     sockopt=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),))
    try:
        request(ws, message("kernel_info_request", session, {}))
        code = {"code": "1", "silent": False, "store_history": True, "user_expressions": {},
                "allow_stdin": False, "stop_on_error": True}
        times = []
        for _ in range(count):
            msg = message("execute_request", session, code)
            start = time.perf_counter()
            request(ws, msg)
            times.append(time.perf_counter() - start)
    finally:
        ws.close()
    return times


def worker() -> None:
    """One JSON job a line on stdin, one JSON answer a line on stdout; the browser stays up between jobs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            for line in sys.stdin:
                job = json.loads(line)
                try:
                    if job["kind"] == "lab":
                        answer = lab_times(browser, job["url"])
                    else:
                        answer = {"times": cell_times(job["port"], job["kernel"], job["token"], job["count"])}
                except Exception as exc:  # noqa: BLE001 -- reported by the parent, which stops everything
                    answer = {"error": f"{type(exc).__name__}: {exc}"}
                print(json.dumps(answer), flush=True)
        finally:
            browser.close()


class LoadTimedOut(Exception):
    """A JupyterLab load that did not finish (a lost execution): measured again once, from a clean lab."""


class Worker:
    """The worker process, seen from the benchmark; its stderr (Chromium's chatter) goes to a log."""

    def __init__(self, log: Path) -> None:
        self.log = log
        with open(log, "wb") as err:
            self.proc = subprocess.Popen([PYTHON, __file__, "--worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, text=True, start_new_session=True)

    retried = 0  # loads measured again because JupyterLab lost the first cell's execution (reported)

    def run(self, **job) -> dict:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the browser worker died:\n{self.log.read_text()[-3000:]}")
        answer = json.loads(line)
        if "error" in answer:
            if job["kind"] == "lab" and "Timeout" in answer["error"]:
                raise LoadTimedOut(answer["error"])
            raise SystemExit(f"{job['kind']} on {job.get('url') or job.get('port')}: {answer['error']}")
        return answer

    def close(self) -> None:
        """EOF first, so Playwright closes Chromium and its driver itself; then by PID if it lingers."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            stop_pid(self.proc.pid)
        stop_process(self.proc)


# -- the Jupyter side -----------------------------------------------------------------


def start_lab(tmp: Path, runtime_dir: Path):
    """`jupyter lab` with its config, settings and workspaces in `tmp`, and nothing fetched from the internet."""
    return start_jupyter(
        runtime_dir, tmp / "notebooks", kind="lab", token=TOKEN, timeout=TIMEOUT,
        env={"JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config")},
        extra=["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               f"--LabApp.workspaces_dir={tmp / 'workspaces'}", f"--LabApp.user_settings_dir={tmp / 'settings'}"],
    )


def api(port: int, method: str, path: str, body: dict | None = None):
    """One REST call straight to the server (never through a forward, never timed)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def reset_lab(jupyter, tmp: Path, keep_kernel: str) -> None:
    """Back to a first visit: no sessions, no notebook kernels, no notebooks, no saved workspace."""
    for session in api(jupyter.port, "GET", "/api/sessions"):
        api(jupyter.port, "DELETE", f"/api/sessions/{session['id']}")
    for kernel in api(jupyter.port, "GET", "/api/kernels"):
        if kernel["id"] != keep_kernel:
            api(jupyter.port, "DELETE", f"/api/kernels/{kernel['id']}")
    for path in (tmp / "notebooks").glob("*.ipynb"):
        path.unlink()
    shutil.rmtree(tmp / "notebooks" / ".ipynb_checkpoints", ignore_errors=True)
    for path in (tmp / "workspaces").glob("*.jupyterlab-workspace"):
        path.unlink()


def lab_url(jupyter, local_port: int) -> str:
    """The URL jtui copies for this server and port, with /lab: what a person opens."""
    from jtui.core.model import JupyterServer
    from jtui.core.urls import localhost_url

    server = JupyterServer(port=jupyter.port, pid=jupyter.pid, url=jupyter.info["url"],
                           base_url=jupyter.info.get("base_url", "/"), token=jupyter.token)
    parts = urllib.parse.urlsplit(localhost_url(server, local_port))
    return urllib.parse.urlunsplit(parts._replace(path=parts.path + "lab"))


# -- the run ---------------------------------------------------------------------------


async def measure(server, jupyter, tmp: Path, worker: Worker, rounds: int, cells: int):
    from jtui.core.model import JupyterServer

    session, _ = await connected_session(server)
    labs: dict[str, list[dict[str, float]]] = {}
    round_trips: dict[str, list[float]] = {}
    try:
        ssh_port = free_port()
        with ssh_forward(server, ssh_port, jupyter.port):
            forward = await session.forward(JupyterServer(port=jupyter.port, pid=jupyter.pid, url=jupyter.info["url"]))
            ports = {DIRECT: jupyter.port, JTUI: forward.local_port, SSH: ssh_port}
            kernel = (await asyncio.to_thread(api, jupyter.port, "POST", "/api/kernels", {"name": "python3"}))["id"]

            async def lab(label: str) -> dict[str, float]:
                try:
                    times = await asyncio.to_thread(worker.run, kind="lab", url=lab_url(jupyter, ports[label]))
                except LoadTimedOut as exc:
                    print(f"{label}: {exc.args[0].splitlines()[0]}; measured again", file=sys.stderr)
                    Worker.retried += 1
                    await asyncio.to_thread(reset_lab, jupyter, tmp, kernel)
                    times = await asyncio.to_thread(worker.run, kind="lab", url=lab_url(jupyter, ports[label]))
                await asyncio.to_thread(reset_lab, jupyter, tmp, kernel)
                return times

            async def cell(label: str, count: int) -> list[float]:
                return (await asyncio.to_thread(worker.run, kind="ws", port=ports[label], kernel=kernel,
                                                token=TOKEN, count=count))["times"]

            for label in ports:  # warm-up: Chromium, the lab build check, kernel start-up, first connections
                await lab(label)
                await cell(label, 20)
            per_round = max(1, cells // rounds)
            for n in range(rounds):
                order = list(ports) if n % 2 == 0 else list(reversed(ports))
                for label in order:
                    labs.setdefault(label, []).append(await lab(label))
                for label in order:
                    round_trips.setdefault(label, []).extend(await cell(label, per_round))
    finally:
        await session.close()
    return labs, round_trips


def report(labs, round_trips) -> None:
    rounds = len(labs[JTUI])
    for key, title in (("launcher", "until the launcher's notebook card shows"),
                       ("output", "until a new notebook's first cell printed 42 (from the URL opened)")):
        values = {label: [times[key] for times in runs] for label, runs in labs.items()}
        floor = median(values[DIRECT])
        rows = [[label, f"{median(v):.3f}", spread(v, scale=1, digits=3), f"{median(v) - floor:+.3f}"]
                for label, v in values.items()]
        notes = [f"ratio ssh -N -L / jtui: {ratio(median(values[SSH]), median(values[JTUI]))}"]
        if Worker.retried:
            notes.append(f"loads measured again after JupyterLab lost the first execution: {Worker.retried}")
        if key == "output":
            notes.append("medians, s from the URL opened: " + "; ".join(
                f"{label}: launcher {median([t['launcher'] for t in runs]):.3f}, "
                f"notebook open {median([t['notebook'] for t in runs]):.3f}" for label, runs in labs.items()))
        print_table(f"JupyterLab in headless Chromium, fresh context each, {rounds} alternating rounds: {title} (s)",
                    ["path", "median", "min–max", "vs direct"], rows, notes)
    rows = [[label, f"{median(t) * 1000:.2f}", f"{percentile(t, 95) * 1000:.2f}", spread(t, digits=2),
             f"{percentile(t, 99) * 1000:.2f}"] for label, t in round_trips.items()]
    jtui, ssh = round_trips[JTUI], round_trips[SSH]
    print_table(f"a cell's round trip over the kernel websocket: {len(jtui)} execute_request `1` each, "
                f"until execute_reply (ms)",
                ["path", "p50", "p95", "p5–p95", "p99"], rows,
                [(f"ratio ssh -N -L / jtui: p50 {ratio(median(ssh), median(jtui))}; "
                  f"p95 {ratio(percentile(ssh, 95), percentile(jtui, 95))}")])


def preflight() -> None:
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    for module, package in (("playwright", "playwright"), ("jupyterlab", "jupyterlab"), ("websocket", "websocket-client")):
        try:
            __import__(module)
        except ImportError:
            raise SystemExit(f"{module} is missing: .venv/bin/pip install {package}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round: checks that the benchmark runs")
    parser.add_argument("--rounds", type=int, default=None, help="default 5")
    parser.add_argument("--cells", type=int, default=200, help="execute_requests per path (default 200)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker()
    preflight()
    rounds = args.rounds or (1 if args.quick else 5)
    with tempfile.TemporaryDirectory(prefix="jtui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        isolate_home(tmp)
        server = start_sshd(tmp)
        jupyter = worker_proc = None
        try:
            jupyter = start_lab(tmp, server.runtime_dir)
            worker_proc = Worker(tmp / "browser.log")
            labs, round_trips = asyncio.run(measure(server, jupyter, tmp, worker_proc, rounds, args.cells))
            report(labs, round_trips)
        finally:
            if worker_proc is not None:
                worker_proc.close()
            if jupyter is not None:
                jupyter.stop()
            server.stop()


if __name__ == "__main__":
    main()
