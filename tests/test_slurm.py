"""Jupyter as a Slurm job, against a real Slurm (munged, slurmctld, slurmd) and the test sshd.

The cluster has one node, cn1, on 127.0.0.1: the sshd is its login node
(SLURM_CONF reaches sessions through SetEnv), and this machine's Jupyter
runs as the job. The topology test, with the compute node in a network
namespace of its own, is in test_slurm_topology.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jtui.core.jupyter import StartError
from jtui.core.schedulers.slurm import JobRequest, SubmitError
from jtui.core.session import HostSession
from jtui.core.settings import Settings, parse_settings
from jtui.core.urls import localhost_url
from tests.harness import slurm as slurm_harness
from tests.harness.http import answers, get
from tests.harness.require import unavailable
from tests.test_sessions import Recorder

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from tests.harness.sshd import SshServer

    why = slurm_harness.missing()
    if why:
        unavailable(why)
    root = tmp_path_factory.mktemp("slurm")
    cluster = slurm_harness.Cluster(root / "cluster")
    sshd = SshServer(root / "sshd", env=cluster.env)
    try:
        cluster.start()
        sshd.start()
        yield cluster, sshd
    finally:
        sshd.stop()
        cluster.stop()


@pytest.fixture
def login(cluster):
    """(cluster, sshd); every job is cancelled after the test, so each starts on an idle node."""
    yield cluster
    cluster[0].run("scancel", "-u", str(os.getuid()), check=False)
    for _ in range(100):
        if not cluster[0].run("squeue", "-h", check=False).stdout.strip():
            break
        import time

        time.sleep(0.1)


async def session_on(sshd, settings: Settings | None = None, refresh: float = 0.5) -> tuple[HostSession, Recorder]:
    rec = Recorder()
    session = HostSession("testhost", [str(sshd.config_file)], (settings or Settings()).for_host("testhost"),
                          refresh, rec)
    session.start()
    await rec.wait(lambda: rec.samples and rec.samples[-1].scheduler is not None
                   and not rec.samples[-1].scheduler.pending, 60)
    return session, rec


async def test_the_cluster_is_on_its_host_panel(login):
    cluster, sshd = login
    session, rec = await session_on(sshd)
    try:
        sched = rec.samples[-1].scheduler
        assert sched.kind == "slurm" and not sched.error
        parts = {p.name: p for p in sched.partitions}
        assert parts["debug"].nodes_total == 1 and parts["debug"].available
        assert parts["debug"].default and not parts["gpu"].default  # slurm.conf's Default=YES
        assert rec.samples[-1].cpu_percent is not None or len(rec.samples) == 1
    finally:
        await session.close()


async def test_submit_pending_running_and_the_copied_url_answers(login):
    cluster, sshd = login
    blocker = cluster.run("sbatch", "--parsable", f"--cpus-per-task={cluster.cpus}", "--wrap", "sleep 300").stdout.strip()
    cluster.wait_job(blocker, ("RUNNING",))
    session, rec = await session_on(sshd)
    said: list[str] = []
    seen: list = []
    try:
        request = JobRequest(partition="debug", time="0:30:00", cpus="1", mem="200M")
        job = await session.submit_job(request)
        waiting = asyncio.create_task(session.wait_job(job, said.append, seen.append))
        await rec.wait(lambda: any("pending (Resources)" in s for s in said), 30)
        # The probe's own view has it too, with Slurm's reason.
        await rec.wait(lambda: (j := rec.samples[-1].scheduler.job(job)) is not None and j.reason == "Resources", 40)
        info = cluster.job(job)
        assert (info["Partition"], info["TimeLimit"], info["NumCPUs"], info["MinMemoryNode"]) == (
            "debug", "00:30:00", "1", "200M")
        assert info["JobName"] == "jtui-jupyter"
        cluster.run("scancel", blocker)
        started = await asyncio.wait_for(waiting, 90)
        # "running on cn1, waiting for Jupyter", or straight "on cn1: Jupyter on port" when the next look finds it up
        assert any(" on cn1" in s for s in said), said
        # The job as each poll found it changed, for its row: queued with Slurm's reason, then running on cn1.
        looks = [(j.state, j.reason, j.node) for j in seen]
        assert ("PENDING", "Resources", "") in looks and looks[-1][::2] == ("RUNNING", "cn1"), looks
        assert len(looks) == len(set(looks)), "only changes are news"
        server = started.server
        assert server.job_id == job and server.hostname == "127.0.0.1" and server.token
        forward = await session.forward(server)
        url = localhost_url(server, forward.local_port)
        assert await asyncio.to_thread(get, url.replace("localhost", "127.0.0.1")) == 200
        api = f"http://127.0.0.1:{forward.local_port}{server.base_url}api/status"
        assert await asyncio.to_thread(get, api, server.token) == 200
        # The probe lists the job with its server and the time left.
        await rec.wait(lambda: (j := rec.samples[-1].scheduler.job(job)) is not None and j.server is not None, 30)
        listed = rec.samples[-1].scheduler.job(job)
        assert listed.node == "cn1" and 0 < listed.time_left <= 1800
        # x: scancel, and the job is gone
        await session.cancel_job(job)
        assert cluster.wait_job(job, ("CANCELLED",))["JobState"] == "CANCELLED"
        await rec.wait(lambda: rec.samples[-1].scheduler.job(job) is None, 40)
        assert not any("cancel" in n.lower() for n in rec.notices), "a cancel by jtui is not news"
    finally:
        await session.close()


async def test_a_job_that_starts_is_asked_about_at_once_not_at_the_next_poll(login):
    """squeue is asked every 10 s; a job of jtui's that starts in between (its output file appears in the
    jobs dir) is asked about at the next sample, so its row has its node and time left while Jupyter starts."""
    from jtui.core.probe import Probe

    cluster, sshd = login
    session, rec = await session_on(sshd)
    probe = Probe(session.remote, 0.2)
    probe.variables["sched"] = "100000"  # the regular question once, at the start, and never again here
    try:
        samples = probe.samples()

        async def until(found) -> object:
            async with asyncio.timeout(60):
                async for sample in samples:
                    if sample.scheduler is not None and not sample.scheduler.pending and found(sample):
                        return sample

        await until(lambda sample: True)
        job = await session.submit_job(JobRequest(partition="debug", time="0:10:00", cpus="1", mem="200M"))
        seen = await until(lambda sample: (j := sample.scheduler.job(job)) is not None and j.state == "RUNNING")
        assert seen.scheduler.job(job).node == "cn1"
    finally:
        await probe.close()
        await session.close()


async def test_sbatch_refusing_shows_slurms_own_message(login):
    cluster, sshd = login
    session, rec = await session_on(sshd)
    try:
        with pytest.raises(SubmitError, match="invalid partition specified: nosuch"):
            await session.submit_job(JobRequest(partition="nosuch"))
        with pytest.raises(SubmitError, match="Invalid --time specification"):
            await session.submit_job(JobRequest(time="soon"))
        with pytest.raises(ValueError, match="cpus must be a whole number"):
            await session.submit_job(JobRequest(cpus="many"))
    finally:
        await session.close()


async def test_jupyter_missing_on_the_node_shows_the_job_outputs_tail(login):
    cluster, sshd = login
    settings = parse_settings('[hosts.testhost]\njupyter = "no-such-jupyter lab"\n')
    session, rec = await session_on(sshd, settings)
    try:
        job = await session.submit_job(JobRequest(time="5"))
        with pytest.raises(StartError) as failed:
            await asyncio.wait_for(session.wait_job(job), 90)
        text = str(failed.value)
        assert f"Job {job}" in text and "Jupyter is not installed" in text
        assert "jtui: command not found: no-such-jupyter" in failed.value.log_tail
        assert failed.value.not_installed
    finally:
        await session.close()


async def test_a_job_killed_by_its_time_limit_leaves_with_its_reason(login):
    cluster, sshd = login
    session, rec = await session_on(sshd)
    try:
        job = await session.submit_job(JobRequest(time="1"))
        started = await asyncio.wait_for(session.wait_job(job), 90)
        # Slurm checks limits about every 30 s: the job ends 60-100 s after it started.
        await rec.wait(lambda: any("reached its time limit" in n for n in rec.notices), 180)
        notice = next(n for n in rec.notices if "reached its time limit" in n)
        assert f"Job {job} on cn1 reached its time limit (00:01:00)" in notice
        assert "Last lines of its output" in notice and "ServerApp" in notice  # Jupyter's own log
        assert "[hosts.testhost.slurm]" in notice and f"Its output: ~/.local/state/jtui/jobs/{job}.out on testhost." in notice
        assert all(len(line) <= 100 for line in notice.split("Last lines of its output:")[1].splitlines())
        assert started.server.token not in notice  # Jupyter printed its URLs, token included
        assert any("reaches its time limit in 1 min" in n for n in rec.notices), "warned before the end"
    finally:
        await session.close()


async def test_jtui_restarted_finds_its_running_job_and_c_works_at_once(login):
    cluster, sshd = login
    first, _ = await session_on(sshd)
    try:
        job = await first.submit_job(JobRequest(time="10"))
        await asyncio.wait_for(first.wait_job(job), 90)
    finally:
        await first.close()
    second, rec = await session_on(sshd)
    try:
        await rec.wait(lambda: (j := rec.samples[-1].scheduler.job(job)) is not None and j.server is not None, 30)
        server = rec.samples[-1].scheduler.job(job).server
        assert server in rec.samples[-1].servers
        forward = await second.forward(server)
        assert await asyncio.to_thread(get, localhost_url(server, forward.local_port).replace("localhost", "127.0.0.1")) == 200
    finally:
        await second.close()


def test_jtui_open_submits_reports_the_queue_and_leaves_the_job_running(login, tmp_path):
    cluster, sshd = login
    proc = subprocess.Popen(
        [sys.executable, "-m", "jtui", "open", "testhost", "--slurm", "--time", "10", "--no-browser",
         "--config", str(sshd.config_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://localhost:"), proc.stderr.read() if proc.poll() is not None else url
        assert get(url.replace("localhost", "127.0.0.1")) == 200
        jobs = [j for j in json.loads(cluster.run("squeue", "--me", "--json").stdout)["jobs"]
                if j["job_state"] == "RUNNING"]
        assert [j["name"] for j in jobs] == ["jtui-jupyter"]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    job_id = str(jobs[0]["job_id"])
    assert f"submitted job {job_id}" in err and f"job {job_id} running on cn1" in err
    assert f"job {job_id} keeps running afterwards" in err
    assert cluster.job(job_id)["JobState"] == "RUNNING", "Ctrl-C ends the forward, not the job"


def test_status_json_has_the_scheduler_and_the_jobs(login):
    cluster, sshd = login
    blocker = cluster.run("sbatch", "--parsable", f"--cpus-per-task={cluster.cpus}", "-J", "mine",
                          "--wrap", "sleep 300").stdout.strip()
    cluster.wait_job(blocker, ("RUNNING",))
    out = subprocess.run([sys.executable, "-m", "jtui", "status", "testhost", "--json", "--config",
                          str(sshd.config_file)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["scheduler"]["kind"] == "slurm"
    assert {p["name"] for p in data["scheduler"]["partitions"]} == {"debug", "gpu"}
    (job,) = data["jobs"]
    assert (job["job_id"], job["state"], job["node"], job["server"], job["jtui"]) == (blocker, "RUNNING", "cn1", None, False)


async def test_the_controller_down_is_said_and_the_login_node_stays_usable(login):
    cluster, sshd = login
    session, rec = await session_on(sshd)
    try:
        cluster.stop_ctld()
        await rec.wait(lambda: "does not answer" in (rec.samples[-1].scheduler.error or ""), 90)
        before = len(rec.samples)
        await rec.wait(lambda: len(rec.samples) > before + 2, 30)  # samples keep coming, with figures
        assert rec.samples[-1].cpu_percent is not None and rec.samples[-1].mem_total
        with pytest.raises(SubmitError, match="Unable to contact slurm controller"):
            await session.submit_job(JobRequest(time="5"))
    finally:
        await session.close()
        cluster.start_ctld()
        cluster.wait_node("idle", 60)


async def test_a_running_jobs_server_stays_listed_while_the_controller_does_not_answer(login):
    """squeue failing (a busy slurmctld: here a paused one) is no news about the jobs: the running
    job's server, found by its runtime file, stays listed with its token, and its URL answers."""
    cluster, sshd = login
    session, rec = await session_on(sshd)
    controller = cluster.procs["slurmctld"].pid
    try:
        job = await session.submit_job(JobRequest(time="10"))
        started = await asyncio.wait_for(session.wait_job(job), 90)
        await rec.wait(lambda: any(s.job_id == job for s in rec.samples[-1].servers), 30)
        os.kill(controller, signal.SIGSTOP)
        await rec.wait(lambda: "does not answer" in (rec.samples[-1].scheduler.error or ""), 120)
        before = len(rec.samples)
        await rec.wait(lambda: len(rec.samples) > before + 2, 30)
        assert all(any(s.job_id == job and s.token == started.server.token for s in sample.servers)
                   for sample in rec.samples[before - 1:])
        forward = await session.forward(started.server)
        url = f"http://127.0.0.1:{forward.local_port}/api/sessions"
        assert await asyncio.to_thread(get, url, started.server.token) == 200
    finally:
        os.kill(controller, signal.SIGCONT)
        await session.close()  # `login` cancels the job


async def test_the_screen_submits_with_the_form_and_c_copies_the_jobs_url(login, isolated_dirs):
    from textual.widgets import Input

    from jtui.app import build_app
    from jtui.ui.job_form import JobForm
    from tests.ui_helpers import burst, connected, messages, record, until, write_config_toml

    cluster, sshd = login
    write_config_toml(isolated_dirs, 'refresh = 0.5\n[hosts.testhost]\nlauncher = "slurm"\n'
                                     '[hosts.testhost.slurm]\npartition = "debug"\ntime = "0:20:00"\n')
    app = build_app([str(sshd.config_file)])
    async with app.run_test(size=(130, 45)) as pilot:
        await connected(app)
        await until(lambda: record(app, "testhost").sample.scheduler is not None
                    and record(app, "testhost").sample.scheduler.partitions, what="the cluster")
        assert "debug* 1/1 idle" in str(app.host_screen.detail.query_one("#cluster").render())  # * : the default partition
        empty = str(app.host_screen.detail.query_one("#servers-empty").render())
        assert "press s to submit a job for one" in empty, empty
        # s and what is typed after it in one read (fast typing, a slow link): the keys after s were
        # handed to the host screen, and lost, before the form was up.
        await burst(pilot, "s", "tab", "tab", "9", "backspace", "1")
        await until(lambda: isinstance(app.screen, JobForm), what="the job form")
        await until(lambda: app.screen.query_one("#job-cpus", Input).value == "1", what="cpus typed ahead")
        assert app.screen.query_one("#job-partition", Input).value == "debug"
        assert app.screen.query_one("#job-time", Input).value == "0:20:00"
        assert app.focused is app.screen.query_one("#job-cpus", Input)
        await pilot.press("enter")
        await until(lambda: "submitted" in messages(app), what="the job submitted")
        job_id = next(j for j in record(app, "testhost").jobs).job_id
        assert record(app, "testhost").selected_port == -int(job_id), "its row is under the cursor at once"
        assert cluster.job(job_id)["NumCPUs"] == "1" and cluster.job(job_id)["TimeLimit"] == "00:20:00"
        await until(lambda: any(s.job_id == job_id for s in record(app, "testhost").servers), 90, "the job's server")
        await pilot.press("c")
        await until(lambda: app.clipboard.startswith("http://localhost:"), what="copied URL")
        assert await asyncio.to_thread(get, app.clipboard.replace("localhost", "127.0.0.1")) == 200
        def first_row() -> str:
            return " ".join(str(cell) for cell in app.host_screen.detail.servers.get_row_at(0))

        await until(lambda: f"job {job_id} Jupyter" in first_row() and "cn1 " in first_row() and "m left" in first_row(),
                    30, "the row's job, node and time left")
        port = next(s for s in record(app, "testhost").servers if s.job_id == job_id).port
        await pilot.press("ctrl+p")  # the palette names the job and its node too
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        options = app.screen.query_one("OptionList")
        titles = [str(options.get_option_at_index(i).prompt).split("\n")[0] for i in range(options.option_count)]
        assert f"Cancel job {job_id}, Jupyter on cn1:{port} (scancel)" in titles, titles
        assert f"Copy the URL of cn1:{port}" in titles, titles
        await pilot.press("escape")
        await until(lambda: app.screen is app.host_screen, what="the palette closed")
        await pilot.press("x")
        await until(lambda: type(app.screen).__name__ == "ConfirmScreen", what="the question")
        server = next(s for s in record(app, "testhost").servers if s.job_id == job_id)
        assert app.screen.question.startswith(f"Cancel job {job_id} (Jupyter on cn1:{server.port})")  # the node's name
        local = record(app, "testhost").forward_ports[server.port]
        assert f"Its forward from localhost:{local} closes.\nThe job's output stays." in app.screen.question
        await pilot.press("y")
        await until(lambda: cluster.job(job_id).get("JobState") == "CANCELLED", 30, "scancel")
        await until(lambda: "cancelled (scancel)" in messages(app), what="the answer to x")
    # the last choice is kept for the next form
    from jtui.core import choices

    assert choices.load("testhost")["slurm"]["cpus"] == "1"


async def test_a_jobs_forward_heals_after_the_connection_drops(login):
    from tests.harness.sshd import kill_all

    cluster, sshd = login
    session, rec = await session_on(sshd)
    try:
        job = await session.submit_job(JobRequest(time="10"))
        server = (await asyncio.wait_for(session.wait_job(job), 90)).server
        forward = await session.forward(server)
        url = localhost_url(server, forward.local_port).replace("localhost", "127.0.0.1")
        assert await asyncio.to_thread(get, url) == 200
        before = len([s for s in rec.statuses if s.state.value == "connected"])
        kill_all(sshd.connection_pids())  # the link drops (the job runs on)
        await rec.wait(lambda: len([s for s in rec.statuses if s.state.value == "connected"]) > before, 60)
        await rec.wait(lambda: session.forward_for(server) is not None, 30)
        assert session.forward_for(server).local_port == forward.local_port, "the same local port: the URL holds"
        for _ in range(100):
            if await asyncio.to_thread(answers, url):
                break
            await asyncio.sleep(0.1)
        assert await asyncio.to_thread(get, url) == 200
    finally:
        await session.close()


async def test_s_asks_once_between_a_job_and_the_login_node(login, isolated_dirs):
    from jtui.app import build_app
    from jtui.core import choices
    from jtui.ui.job_form import JobForm, LauncherChoice
    from tests.ui_helpers import connected, record, until, write_config_toml

    cluster, sshd = login
    write_config_toml(isolated_dirs, 'refresh = 0.5\n')
    app = build_app([str(sshd.config_file)])
    async with app.run_test(size=(130, 45)) as pilot:
        await connected(app)
        await until(lambda: record(app, "testhost").sample.scheduler is not None
                    and not record(app, "testhost").sample.scheduler.pending, what="the cluster")
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, LauncherChoice), what="the question")
        await pilot.press("j")
        await until(lambda: isinstance(app.screen, JobForm), what="the job form")
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, JobForm), what="the form gone")
        assert choices.load("testhost")["launcher"] == "slurm"
        await pilot.press("s")  # asked once: now straight to the form
        await until(lambda: isinstance(app.screen, JobForm), what="the job form again")
        # sbatch's refusal: the form opens again on what was typed, saying why under the fields.
        await pilot.press("ctrl+a", "ctrl+k", *"nosuch", "enter")
        await until(lambda: isinstance(app.screen, JobForm) and app.screen.error, 30, "the form again, with sbatch's answer")
        error = str(app.screen.query_one("#form-error").render())
        assert "sbatch refused it" in error and "invalid partition specified: nosuch" in error, error
        assert app.screen.query_one("#job-partition").value == "nosuch"
        assert choices.load("testhost").get("slurm", {}).get("partition") != "nosuch", "a refused request is not kept"
        await pilot.press("escape")
    assert not cluster.run("squeue", "-h").stdout.strip(), "Escape submits nothing"


async def test_without_a_shared_runtime_file_the_url_comes_from_the_jobs_output(login, tmp_path):
    """A site whose login node cannot read the node's files: Jupyter's own log in the job output says it all."""
    cluster, sshd = login
    elsewhere = tmp_path / "node-only"
    # The node's own runtime dir, out of the login node's sight (setup runs on the node, before Jupyter).
    settings = parse_settings(f'[hosts.testhost]\nsetup = "JTUI_RUNTIME={elsewhere}; export JTUI_RUNTIME"\n')
    session, rec = await session_on(sshd, settings)
    said: list[str] = []
    try:
        job = await session.submit_job(JobRequest(time="10"))
        server = (await asyncio.wait_for(session.wait_job(job, said.append), 120)).server
        assert list(elsewhere.glob("jpserver-*.json")), "the runtime file went where the login node does not look"
        assert server.job_id == job and server.token and server.hostname == "127.0.0.1"
        forward = await session.forward(server)
        assert await asyncio.to_thread(get, localhost_url(server, forward.local_port).replace("localhost", "127.0.0.1")) == 200
    finally:
        await session.close()
