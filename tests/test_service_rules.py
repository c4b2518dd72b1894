"""Services named by their process, the probe's socket table read from a /proc of fixed files: no network."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from jtui.core.hub import HubServer, _EventStream, hub_token, hub_url, HubError
from jtui.core.model import JupyterServer, ListeningSocket, Service
from jtui.core.probe_parse import parse_line
from jtui.core.remote import script_source
from jtui.core.services import (
    danger_line,
    describe,
    exposure_line,
    find_service,
    open_to_all,
    option_port,
    rule_for,
    services_of,
    with_addresses,
    with_kinds,
)
from jtui.core.settings import HubSettings, parse_settings
from jtui.core.urls import service_url, url_note


@pytest.mark.parametrize("command, kind", [
    ("/home/a/.venv/bin/python3 /home/a/.venv/bin/tensorboard --logdir runs --port 6006", "TensorBoard"),
    ("python -m tensorboard.main --logdir=runs", "TensorBoard"),
    ("/v/site-packages/tensorboard_data_server/bin/server --logdir=runs --port=0", "TensorBoard data server"),
    ("node /usr/local/bin/configurable-http-proxy --ip 127.0.0.1 --port 8000 --api-port 8001", "JupyterHub"),
    ("/opt/hub/bin/python3 /opt/hub/bin/jupyterhub -f /etc/jupyterhub/config.py", "JupyterHub internals"),
    ("/opt/hub/bin/python3 /opt/hub/bin/jupyterhub-singleuser --allow-root", "JupyterHub internals"),
    ("/usr/bin/python3 /usr/local/bin/dask scheduler --dashboard-address :8787", "Dask"),
    ("python -m distributed.cli.dask_scheduler", "Dask"),
    ("/usr/bin/python3 /usr/local/bin/dask-worker tcp://127.0.0.1:8786", "Dask worker"),
    ("/usr/bin/python3 -u /x/ray/dashboard/dashboard.py --host=127.0.0.1 --port=8265", "Ray"),
    ("/x/ray/core/src/ray/raylet/raylet --node_ip_address=127.0.0.1", "Ray internals"),
    ("/usr/bin/python3 /home/a/.local/bin/mlflow server --host 127.0.0.1", "MLflow"),
    ("gunicorn -b 127.0.0.1:5000 -w 4 mlflow.server:app", "MLflow"),
    ("/usr/bin/python3 /home/a/.local/bin/streamlit run app.py", "Streamlit"),
    ("/usr/bin/python3 /home/a/.local/bin/gradio app.py", "Gradio"),
    ("/usr/lib/code-server/lib/node /usr/lib/code-server --bind-addr 0.0.0.0:8080", "code-server"),
    ("/usr/bin/python3 /home/a/.local/bin/marimo edit nb.py --port 2718", "marimo"),
    ("/usr/bin/python3 /usr/local/bin/jupyter-lab --no-browser", "Jupyter"),
    ("/usr/bin/python3 -m http.server --bind 0.0.0.0 8000", "HTTP"),
    ("sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", "system"),
    ("/usr/sbin/cupsd -l", "system"),
    ("/home/a/.venv/bin/python3 /home/a/.venv/bin/jtui --demo", "jtui"),  # its forwards, its demo sshd
    ("/usr/bin/python3 -m jtui --config hosts", "jtui"),
    ("/home/a/.local/bin/jtui open gpu", "jtui"),
    ("/home/a/jtui/serve.py --port 9000", None),  # a folder named jtui is not jtui
    ("/usr/bin/python3 -m http.server --directory /home/a/jtui", "HTTP"),  # nor is an argument
    ("/usr/lib/code-server/lib/node /usr/lib/code-server ~/src/jtui", "code-server"),
    ("/usr/bin/python3 /usr/local/bin/tensorboard --logdir runs/jtui", "TensorBoard"),
    ("ssh -N -L 9000:localhost:8888 jtui", None),
    ("/home/a/bin/myserver --listen 9000", None),
    ("python train.py --port 6006", None),  # a port number alone names nothing
])
def test_services_are_named_by_their_command_line(command, kind):
    rule = rule_for(command)
    assert (rule.kind if rule else None) == kind


@pytest.mark.parametrize("command, option, port", [
    ("tensorboard --port 6007", "--port", 6007),
    ("tensorboard --port=6008 --logdir x", "--port", 6008),
    ("dask scheduler --dashboard-address 0.0.0.0:8788", "--dashboard-address", 8788),
    ("dask scheduler --dashboard-address=:8789", "--dashboard-address", 8789),
    ("tensorboard --logdir runs", "--port", None),
    ("tensorboard --port 0", "--port", None),
    ("x --portal 80", "--port", None),
])
def test_the_port_an_option_names(command, option, port):
    assert option_port(command, option) == port


def sock(port, address="127.0.0.1", pid=100, command="python -m http.server", kernel=""):
    return ListeningSocket(port, address, pid, command, kernel)


def test_one_row_per_service_with_the_port_people_browse():
    dask = "/usr/bin/python3 /usr/local/bin/dask scheduler --dashboard-address :8787"
    listening = (
        sock(8786, "0.0.0.0", 200, dask), sock(8787, "0.0.0.0", 200, dask), sock(8787, "::", 200, dask),
        sock(6006, "127.0.0.1", 300, "tensorboard --logdir runs"), sock(6006, "::1", 300, "tensorboard --logdir runs"),
        sock(40000, "127.0.0.1", 301, "/x/tensorboard_data_server/bin/server --port=0"),
        sock(22, "0.0.0.0", 1, "sshd: /usr/sbin/sshd -D"),
        sock(8888, "127.0.0.1", 400, "jupyter-lab"),  # a server the runtime files list
        sock(9000, "127.0.0.1", None, ""),  # held by a process jtui may not look into
    )
    server = JupyterServer(port=8888, pid=400, url="http://localhost:8888/")
    services = services_of(listening, (server,))
    assert [(s.port, s.kind, s.address) for s in services] == [
        (6006, "TensorBoard", "127.0.0.1"), (8787, "Dask", "0.0.0.0"), (9000, "", "127.0.0.1"),
    ]
    dask_row = services[1]
    assert dask_row.path == "/status" and dask_row.exposed and "--dashboard-address 127.0.0.1" in dask_row.bind_hint
    assert not services[0].exposed


def test_a_jupyter_server_learns_the_address_it_really_listens_on():
    guide = JupyterServer(port=8888, pid=400, url="http://localhost:8888/", token="", password=True)
    plain = JupyterServer(port=8890, pid=401, url="http://localhost:8890/", token="t")
    located = with_addresses((guide, plain), (sock(8888, "::", 400), sock(8888, "0.0.0.0", 400), sock(8890, pid=401)))
    assert [(s.address, s.exposed, s.auth) for s in located] == [("::", True, "password"), ("127.0.0.1", False, "token")]
    unasked = JupyterServer(port=8891, pid=402, url="", address="0.0.0.0")
    assert not open_to_all(unasked)  # a runtime file cannot tell: only the server's answer can
    open_one = replace(unasked, login="none")
    assert open_one.auth == "none" and open_to_all(open_one) and not open_to_all(located[0])
    refused = replace(unasked, login="password")  # a password set through PasswordIdentityProvider
    assert refused.auth == "password" and not open_to_all(refused)
    assert "neither token nor password" in danger_line(open_one)
    line = exposure_line(located[0])
    assert "all interfaces" in line and "--ip=127.0.0.1" in line


def test_unnamed_services_take_what_their_port_answered():
    services = services_of((sock(9000, pid=5, command="/home/a/bin/thing"), sock(9001, pid=6, command="/home/a/bin/other")))
    named = with_kinds(services, {(5, 9000): "HTTP", (6, 9001): "TCP"})
    assert [s.kind for s in named] == ["HTTP", "TCP"]
    assert service_url(named[0], 19000) == "http://localhost:19000/"
    assert service_url(named[1], 19001) == "localhost:19001" and "did not answer HTTP" in url_note(named[1])
    assert describe(named[1]) == "TCP on port 9001"


def test_open_service_finds_by_kind_or_port():
    services = (Service(6006, "127.0.0.1", 1, "tensorboard", "TensorBoard"),
                Service(8000, "127.0.0.1", 2, "chp", "JupyterHub", path="/hub/"))
    assert find_service(services, "tensorboard").port == 6006
    assert find_service(services, "JupyterHub").port == 8000
    assert find_service(services, "8000").kind == "JupyterHub"
    assert find_service(services, "dask") is None
    assert service_url(services[1], 18000) == "http://localhost:18000/hub/"


def write_proc(root: Path) -> Path:
    """A /proc with the socket tables and fds of a user (uid 1000) who runs three things."""
    proc = root / "proc"
    (proc / "net").mkdir(parents=True)
    head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    tail = " 1 0000000000000000 100 0 0 10 0\n"
    (proc / "net" / "tcp").write_text(head + "".join(
        f"   {i}: {local} {remote} {state} 00000000:00000000 00:00000000 00000000  {uid}        0 {inode}{tail}"
        for i, (local, remote, state, uid, inode) in enumerate([
            ("00000000:1F40", "00000000:0000", "0A", 1000, 5501),  # 0.0.0.0:8000, http.server
            ("0100007F:18B6", "00000000:0000", "0A", 1000, 5502),  # 127.0.0.1:6326
            ("0100007F:0016", "00000000:0000", "0A", 0, 5503),  # someone else's
            ("0100007F:9C40", "0100007F:1F40", "01", 1000, 5504),  # a connection, not a listener
        ])))
    (proc / "net" / "tcp6").write_text(head + "".join(
        f"   {i}: {local} 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 {inode}{tail}"
        for i, (local, inode) in enumerate([
            ("00000000000000000000000000000000:1A0A", 5601),  # [::]:6666
            ("00000000000000000000000001000000:1A0B", 5602),  # [::1]:6667
            ("0000000000000000FFFF00000100007F:1A0C", 5603),  # [::ffff:127.0.0.1]:6668
        ])))
    for pid, command, inodes in [(4242, "python3\0-m\0http.server\0--bind\0000.0.0.0\0", [5501]),
                                 (4300, "/home/a/.venv/bin/python\0/home/a/.venv/bin/tensorboard\0--logdir\0runs\0--port\0006666\0", [5601, 5602]),
                                 (4301, "node\0/x/configurable-http-proxy\0--port\0006668\0", [5603])]:
        (proc / str(pid) / "fd").mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_text(command)
        (proc / str(pid) / "stat").write_text(f"{pid} (x) S 1 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 1 1000 100\n")
        for n, inode in enumerate(inodes):
            os.symlink(f"socket:[{inode}]", proc / str(pid) / "fd" / str(n + 3))
    return proc


def run_awk(proc: Path, prev: str = "", listen: str = "", every: int = 0) -> tuple[str, str, str]:
    """One sample of probe.awk: (the counters it keeps, its listening list, the JSON line)."""
    state_file = proc.parent / "probe-state"
    state_file.write_text(f"{prev}\n{listen}\n" if prev or listen else "")
    env = {"PATH": os.environ["PATH"], "JT_PROC": str(proc), "JT_UID": "1000", "JT_STATE": str(state_file),
           "JT_OS": "Linux", "JT_SOCKETS_EVERY": str(every)}
    out = subprocess.run(["awk", script_source("probe.awk")], env=env, capture_output=True, text=True, check=True)
    (line,) = out.stdout.splitlines()
    state, listen = state_file.read_text().splitlines()
    return state, listen, line


def test_the_probe_reads_the_socket_tables_and_who_holds_each(tmp_path):
    proc = write_proc(tmp_path)
    state, listen, line = run_awk(proc)
    sample = parse_line(line)
    got = {(s.address, s.port, s.pid) for s in sample.listening}
    assert got == {("0.0.0.0", 8000, 4242), ("127.0.0.1", 6326, None), ("::", 6666, 4300), ("::1", 6667, 4300),
                   ("::ffff:127.0.0.1", 6668, 4301)}
    assert "s5501:4242" in state.split()
    by_port = {s.port: s for s in sample.services}
    assert by_port[8000].kind == "HTTP" and by_port[8000].exposed
    assert by_port[6666].kind == "TensorBoard" and 6667 not in by_port  # its --port is the one to browse
    assert by_port[6668].kind == "JupyterHub" and not by_port[6668].exposed
    # The next sample takes the owners from the counters line: the fds are not listed again.
    for fd in (proc / "4242" / "fd").iterdir():
        fd.unlink()
    _, _, again = run_awk(proc, state)
    assert any(s.port == 8000 and s.pid == 4242 for s in parse_line(again).listening)


def test_the_socket_tables_are_read_every_few_seconds_not_every_sample(tmp_path):
    """Reading /proc/net/tcp walks the kernel's whole connection table: in between, the last list stands."""
    proc = write_proc(tmp_path)
    state, listen, _ = run_awk(proc, every=60)
    (proc / "net" / "tcp").write_text((proc / "net" / "tcp").read_text().splitlines()[0] + "\n")  # all gone
    state2, listen2, line = run_awk(proc, state, listen, every=60)
    assert listen2 == listen and {s.port for s in parse_line(line).listening} >= {8000, 6326}
    assert [w for w in state2.split() if w[0] in "shl"] == [w for w in state.split() if w[0] in "shl"]
    _, _, fresh = run_awk(proc, state2, listen2, every=0)  # due: read again
    assert {s.port for s in parse_line(fresh).listening} == {6666, 6667, 6668}


def test_hub_progress_events_are_said_as_they_come():
    said: list[str] = []
    stream = _EventStream(said.append)
    stream.feed(b'data: {"progress": 10, "message": "Spawning server..."}\n\nda')
    stream.feed(b'ta: {"progress": 100, "ready": true, "message": "Server ready at /user/alice/"}\n\n')
    assert said == ["10% Spawning server...", "100% Server ready at /user/alice/"] and stream.ready
    failed = _EventStream(said.append)
    failed.feed(b'data: {"progress": 100, "failed": true, "message": "Spawn failed: no such program"}\n\n')
    assert failed.failed == "Spawn failed: no such program"


def test_the_hub_token_comes_from_a_file_or_the_environment(tmp_path):
    with pytest.raises(HubError, match=r"token_file or token_env in \[hosts.lab.jupyterhub\]"):
        hub_token(None, "lab")
    with pytest.raises(HubError, match=r"\$HUB_TOKEN is empty or not set"):
        hub_token(HubSettings(token_env="HUB_TOKEN"), "lab", env={})
    assert hub_token(HubSettings(token_env="HUB_TOKEN"), "lab", env={"HUB_TOKEN": " abc \n"}) == "abc"
    (tmp_path / "token").write_text("from-file\n")
    assert hub_token(HubSettings(token_file=str(tmp_path / "token")), "lab", env={}) == "from-file"
    with pytest.raises(HubError, match="cannot read the hub token file"):
        hub_token(HubSettings(token_file=str(tmp_path / "missing")), "lab", env={})


def test_hub_settings_are_read_and_checked():
    settings = parse_settings('[hosts.lab.jupyterhub]\ntoken_env = "LAB_HUB"\nuser = "alice"\n')
    assert settings.for_host("lab").jupyterhub == HubSettings(token_env="LAB_HUB", user="alice")
    assert settings.for_host("other").jupyterhub is None and not settings.problems
    bad = parse_settings('[hosts.lab.jupyterhub]\nuser = "alice"\ntoken = "x"\n')
    assert any("unknown key hosts.lab.jupyterhub.token" in p for p in bad.problems)
    assert any("needs token_file or token_env" in p for p in bad.problems)


def test_the_hub_url_is_the_users_server_when_it_runs():
    assert hub_url(None, 18000) == "http://localhost:18000/hub/"
    ready = HubServer(name="", ready=True, pending="", url="/user/alice/")
    assert hub_url(ready, 18000) == "http://localhost:18000/user/alice/"
    assert hub_url(HubServer("", False, "spawn", "/user/alice/"), 18000) == "http://localhost:18000/hub/"


def test_status_json_carries_services_and_exposure():
    from jtui.core.model import Sample
    from jtui.core.status_report import StatusReport, status_json, status_text

    server = JupyterServer(port=8888, pid=400, url="http://localhost:8888/", token="", address="0.0.0.0", login="none")
    service = Service(6006, "127.0.0.1", 300, "tensorboard --logdir runs", "TensorBoard", started=1700000000.0)
    data = status_json("h", StatusReport(Sample(time=1.0, servers=(server,), services=(service,))))
    assert data["services"] == [{"port": 6006, "address": "127.0.0.1", "pid": 300, "command": "tensorboard --logdir runs",
                                 "kind": "TensorBoard", "url": "http://localhost:6006/", "exposed": False,
                                 "started": 1700000000.0}]
    assert (data["servers"][0]["address"], data["servers"][0]["exposed"], data["servers"][0]["auth"]) == ("0.0.0.0", True, "none")
    json.dumps(data)
    text = status_text("h", StatusReport(Sample(time=1.0, servers=(server,), services=(service,), cpu_percent=1.0,
                                                cores=1, mem_total=1, mem_used=1)))
    assert "WARNING" in text and "TensorBoard" in text


def test_status_text_marks_the_default_partition_and_says_when_a_pending_job_should_start():
    from jtui.core.model import Job, Partition, Sample, Scheduler
    from jtui.core.status_report import StatusReport, status_text

    sched = Scheduler("slurm", (Partition("debug", True, True, 1, 2), Partition("gpu", True, False, 0, 4)),
                      (Job("7", "jtui-jupyter", "PENDING", "Resources", expected_start="2026-12-05T11:32:41", jtui=True),))
    lines = status_text("hpc", StatusReport(Sample(time=1.0, scheduler=sched))).splitlines()
    assert "  slurm  debug* 1/2 idle, gpu 0/4 idle" in lines
    assert "  job 7  jtui-jupyter  PENDING (Resources)  expected to start 2026-12-05 11:32:41" in lines


def test_status_text_says_how_long_each_server_and_service_has_run_on_the_hosts_clock():
    from jtui.core.model import Sample
    from jtui.core.status_report import StatusReport, status_text

    now = 1700007200.0  # the sample's time: the remote clock, whatever this machine's says
    server = JupyterServer(port=8888, pid=400, url="http://localhost:8888/", token="t", started=now - 3 * 86400 - 60)
    service = Service(6006, "127.0.0.1", 300, "tensorboard --logdir runs", "TensorBoard", started=now - 7200)
    unknown = Service(8050, "127.0.0.1", 301, "/opt/conda/bin/python -u /home/ada/dash/app.py", "HTTP")
    server = replace(server, root_dir="/home/ada/proj")
    sample = Sample(time=now, servers=(server,), services=(service, unknown), remote_home="/home/ada")
    lines = status_text("h", StatusReport(sample)).splitlines()
    assert "  jupyter  port 8888  pid 400  up 3d  " in [line[:len("  jupyter  port 8888  pid 400  up 3d  ")] for line in lines]
    assert "  TensorBoard  port 6006  pid 300  up 2h  tensorboard --logdir runs" in lines
    assert "  HTTP         port 8050  pid 301  app.py" in lines  # as the screen names it (the JSON has it whole)
    assert any(line.startswith("  jupyter  port 8888  pid 400  up 3d  ~/proj  ") for line in lines)
    assert "  cpu  ?%  ? cores  load ?" in lines  # a sample without figures (no /proc/stat yet) still prints
    hidden = Service(2024, "0.0.0.0", None, "", "")
    long = Service(8051, "127.0.0.1", 302, "python -m dashboard " + "--option " * 20, "HTTP")
    lines = status_text("h", StatusReport(Sample(time=now, services=(hidden, long)))).splitlines()
    assert "  service      port 2024  pid ?  (process not visible)  exposed (0.0.0.0)" in lines
    assert len(lines[-1]) == len("  HTTP         port 8051  pid 302  ") + 80 and lines[-1].endswith("--opti…")
    assert lines[-1].startswith("  HTTP         port 8051  pid 302  dashboard --option")
