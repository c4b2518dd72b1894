"""Slurm's output read into data, the job options, and what is said when a job ends: pure functions."""

from __future__ import annotations

import pytest

from jtui.core.job_watch import JobWatch
from jtui.core.model import Job, Scheduler
from jtui.core.schedulers.slurm import JobRequest, sbatch_options
from jtui.core.schedulers.slurm_text import (
    EndedJob, duration, ended_reason, parse_probe_text, parse_sinfo, parse_squeue, url_in_output,
)
from jtui.core.settings import SlurmSettings, parse_settings


@pytest.mark.parametrize("text, seconds", [
    ("0:05", 5), ("12:34", 754), ("1:02:03", 3723), ("2-03:04:05", 183845), ("1-02", 93600), ("1-02:03", 93780),
    ("90", 5400), ("UNLIMITED", None), ("INVALID", None), ("N/A", None), ("NOT_SET", None),
])
def test_durations_as_slurm_prints_them(text, seconds):
    assert duration(text) == seconds


def test_squeue_lines_become_jobs():
    text = ("17|PENDING|Priority||gpu|0:00|1:00:00|2026-12-03T18:00:00|jtui-jupyter\n"
            "18|RUNNING|None|cn1|debug|5:07|55:53|2026-12-03T16:00:00|train | big\n"
            "garbage line\n")
    pending, running = parse_squeue(text)
    assert (pending.job_id, pending.state, pending.reason, pending.node, pending.jtui) == ("17", "PENDING", "Priority", "", True)
    assert pending.expected_start == "2026-12-03T18:00:00" and pending.time_left == 3600
    assert (running.name, running.node, running.elapsed, running.time_left, running.reason) == ("train | big", "cn1", 307, 3353, "")
    assert running.expected_start == "" and not running.jtui


def test_sinfo_lines_add_up_per_partition_with_gpus():
    text = ("gpu*|up|1/3/0/4|gpu:a100:4(S:0-1)|gpu:a100:2(IDX:0-1)\n"
            "gpu*|up|0/2/0/2|gpu:a100:4(S:0-1)|gpu:a100:0(IDX:N/A)\n"
            "cpu|down|0/0/10/10|(null)|(null)\n")
    gpu, cpu = parse_sinfo(text)
    assert (gpu.name, gpu.default, gpu.nodes_idle, gpu.nodes_total, gpu.gpus_total, gpu.gpus_used) == ("gpu", True, 5, 6, 24, 8)
    assert (cpu.available, cpu.nodes_total, cpu.gpus_total) == (False, 10, 0)


def test_the_probes_section_and_a_controller_that_does_not_answer():
    assert parse_probe_text("") is None
    assert parse_probe_text("W") == Scheduler("slurm", pending=True)
    ok = parse_probe_text("P/opt/slurm/bin:/usr/bin\nQ0\nq5|RUNNING|None|cn1|debug|1:00|9:00|N/A|jtui-jupyter\nI0\nidebug|up|0/1/0/1|(null)|(null)")
    assert ok.path == "/opt/slurm/bin:/usr/bin" and ok.jobs[0].job_id == "5" and ok.partitions[0].name == "debug"
    down = parse_probe_text("P/usr/bin\nQ1\nqsqueue: error: slurm_load_jobs error: Unable to contact slurm controller (connect failure)\nI1\nislurm_load_partitions: Unable to contact slurm controller (connect failure)")
    assert down.jobs == () and down.partitions == ()
    assert "The Slurm controller does not answer" in down.error and "connect failure" in down.error


@pytest.mark.parametrize("state, says", [
    ("TIMEOUT", "reached its time limit (01:00:00)"), ("OUT_OF_MEMORY", "ran out of memory"),
    ("NODE_FAIL", "its node on cn7 failed"), ("CANCELLED", "was cancelled"), ("", "no longer known to Slurm"),
    ("FAILED", "failed (exit code 1:0)"),
])
def test_how_a_job_ended_is_a_sentence(state, says):
    assert says in ended_reason(EndedJob("42", state, "None", "1:0", "01:00:00", "cn7", ""))


def test_the_url_in_jupyters_log_for_sites_without_a_shared_home():
    log = ("[I ServerApp] Jupyter Server 2.14 is running at:\n"
           "[I ServerApp] http://10.1.2.3:41234/lab?token=abc123\n"
           "[I ServerApp]     http://127.0.0.1:41234/lab?token=abc123\n")
    assert url_in_output(log) == ("10.1.2.3", 41234, "/", "abc123")
    assert url_in_output("no url here") is None
    node = "jtui: job 9 on cn3, listening on 10.9.8.7\n" + log.replace("10.1.2.3", "cn3")
    assert url_in_output(node) == ("10.9.8.7", 41234, "/", "abc123"), "the address job.sh said, not a name"


def test_the_form_becomes_sbatchs_own_options_one_word_each():
    request = JobRequest(partition="gpu", time="2:00:00", cpus="4", mem="16G", gres="gpu:1", account="proj x",
                         sbatch_args="--qos=short --constraint='a100&ib'")
    assert sbatch_options(request) == ["--partition=gpu", "--time=2:00:00", "--cpus-per-task=4", "--mem=16G",
                                       "--gres=gpu:1", "--account=proj x", "--qos=short", "--constraint=a100&ib"]
    with pytest.raises(ValueError, match="cpus must be a whole number"):
        sbatch_options(JobRequest(cpus="4; rm -rf ~"))
    with pytest.raises(ValueError, match="1 or more, not '0'"):
        sbatch_options(JobRequest(cpus="0"))
    with pytest.raises(ValueError, match="cannot set --output"):
        sbatch_options(JobRequest(sbatch_args="--output=/tmp/x"))
    for word, option in (("-Jfoo", "--job-name"), ("-J", "--job-name"), ("--job=x", "--job-name"), ("--out=/tmp/x", "--output"),
                         ("-e/tmp/err", "--error"), ("--error", "--error"), ("--wr=hostname", "--wrap")):
        with pytest.raises(ValueError, match=f"cannot set {option}"):
            sbatch_options(JobRequest(sbatch_args=f"--qos=short {word}"))
    assert sbatch_options(JobRequest(sbatch_args="-pdebug --exclusive --export=ALL -N1")) == [
        "-pdebug", "--exclusive", "--export=ALL", "-N1"]
    with pytest.raises(ValueError, match="cannot read sbatch_args"):
        sbatch_options(JobRequest(sbatch_args="'unclosed"))


def test_settings_the_last_choice_and_the_form_meet():
    settings = parse_settings('[hosts.hpc]\nlauncher = "slurm"\n[hosts.hpc.slurm]\npartition = "gpu"\ncpus = 8\n'
                              '[hosts.bad]\nlauncher = "pbs"\n[hosts.bad.slurm]\ncpus = "eight"\n')
    host = settings.for_host("hpc")
    assert host.launcher == "slurm" and host.slurm == SlurmSettings(partition="gpu", cpus=8)
    assert any('launcher must be "login" or "slurm"' in p for p in settings.problems)
    assert any("hosts.bad.slurm.cpus must be a whole number" in p for p in settings.problems)
    base = JobRequest.from_settings(host.slurm)
    last = JobRequest.from_dict({"partition": "debug", "time": "1:00:00", "evil": 1, "cpus": 3})
    assert last.over(base) == JobRequest(partition="debug", time="1:00:00", cpus="8")


def test_the_watch_says_once_when_a_job_ends_or_runs_out_of_time():
    watch = JobWatch()
    running = Job("7", "jtui-jupyter", "RUNNING", node="cn1", time_left=3600, jtui=True)
    assert watch.update(Scheduler("slurm", jobs=(running,))) == ([], [])
    short = Job("7", "jtui-jupyter", "RUNNING", node="cn1", time_left=300, jtui=True)
    assert watch.update(Scheduler("slurm", jobs=(short,)))[1] == [short]
    assert watch.update(Scheduler("slurm", jobs=(short,))) == ([], []), "warned once"
    assert watch.update(Scheduler("slurm", error="down")) == ([], []), "no answer is not an end"
    assert watch.update(Scheduler("slurm")) == (["7"], [])
    watch.update(Scheduler("slurm", jobs=(running,)))
    watch.quiet.add("7")  # cancelled by jtui: not news
    assert watch.update(Scheduler("slurm")) == ([], [])
