"""What the screen makes of a HostRecord (rows for what is gone, a GPU line, what x asks): pure data, no network."""

from __future__ import annotations

import re
import time
from collections import defaultdict

from rich.console import Console
from rich.style import Style

from jtui.core.forwards import Forward
from jtui.core.model import HostState, HostStatus, Job, JupyterServer, Sample, Scheduler
from jtui.ui.state import (
    HostRecord, with_job_gone, with_sample, with_selected_port, with_started, with_submitted,
)

SERVER = JupyterServer(port=8888, pid=10, url="http://127.0.0.1:8888/")
OTHER = JupyterServer(port=8890, pid=11, url="http://127.0.0.1:8890/")
FORWARD = Forward(local_port=40001, remote_port=8888, wanted_port=8888, server=SERVER)
WORDS_ONLY = defaultdict(Style)  # a palette for the tests of what the lines say, not their colours


def record(*servers: JupyterServer, stale: bool = False) -> HostRecord:
    return HostRecord("h", HostStatus("h"), sample=Sample(time=1.0, servers=servers), forwards=(FORWARD,), stale=stale)


def test_a_forward_is_gone_only_when_a_fresh_sample_lacks_its_port():
    assert record(SERVER).gone_forwards == ()
    assert record().gone_forwards == (FORWARD,)
    assert record(stale=True).gone_forwards == ()  # reconnecting: the sample is the old one
    assert HostRecord("h", HostStatus("h"), forwards=(FORWARD,)).gone_forwards == ()  # not sampled yet
    assert with_sample(record(), Sample(time=2.0, servers=(SERVER,))).gone_forwards == ()  # back on its port


def test_the_cursor_on_a_gone_row_selects_nothing_to_copy_or_stop():
    alone = record()
    assert alone.selected_gone == FORWARD  # the only row: the cursor is on it
    assert alone.selected_item is None
    beside = with_selected_port(record(OTHER), 8888)
    assert beside.selected_gone == FORWARD and beside.selected_server is None and beside.selected_item is None
    assert with_selected_port(beside, 8890).selected_server == OTHER
    assert with_selected_port(beside, 8890).selected_gone is None


def test_a_job_jtui_saw_end_leaves_at_once_though_the_last_squeue_still_lists_it():
    """After x on a job: squeue is polled every 10 s, and its last answer says RUNNING, no server
    (the server row went): the job showed again as "Jupyter starting" until the next poll."""
    server = JupyterServer(port=35809, pid=20, url="http://cn1:35809/", job_id="2", hostname="cn1")
    running = Scheduler("slurm", jobs=(Job("2", "jtui-jupyter", "RUNNING", node="cn1", jtui=True),))
    before = HostRecord("hpc", HostStatus("hpc"), sample=Sample(time=1.0, servers=(server,), scheduler=running))
    assert before.servers == (server,) and before.jobs == ()

    cancelled = with_job_gone(before, "2")
    assert cancelled.servers == () and cancelled.jobs == ()
    polled_before_it_ended = with_sample(cancelled, Sample(time=2.0, scheduler=running))
    assert polled_before_it_ended.jobs == ()
    gone = with_sample(polled_before_it_ended, Sample(time=3.0, scheduler=Scheduler("slurm")))
    assert gone.ended == frozenset()

    scancel_failed = with_job_gone(with_sample(before, Sample(time=2.0, scheduler=running)), "2", ended=False)
    assert [j.job_id for j in scancel_failed.jobs] == ["2"]  # it may well run on: still a row


def test_the_job_count_agrees_with_the_rows_before_squeue_is_asked_again():
    """"your jobs: 0" under a job's row: squeue's last answer predates the submit, or the start."""
    other = Job("7", "train", "RUNNING", node="cn2")
    before = HostRecord("hpc", HostStatus("hpc"), sample=Sample(time=1.0, scheduler=Scheduler("slurm", jobs=(other,))))
    assert before.job_counts == (1, 0)
    submitted = with_submitted(before, Job("8", "jtui-jupyter", "PENDING", jtui=True))
    assert submitted.job_counts == (2, 1)
    server = JupyterServer(port=35809, pid=20, url="http://cn1:35809/", job_id="9", hostname="cn1")
    started = with_started(submitted, server)
    assert started.job_counts == (3, 2)
    assert with_job_gone(started, "8").job_counts == (2, 1)


def test_a_gone_row_says_what_f_does_in_the_widest_wording_that_fits():
    from jtui.ui.host_detail import gone_note

    assert gone_note(32) == "gone: f closes the forward"
    assert gone_note(20) == "gone: f closes it"
    assert gone_note(12) == "gone (f)"  # the narrowest pane: a cut would read "gone: f clos"
    assert all(len(gone_note(width)) <= width for width in range(8, 40))


def test_a_gpu_line_keeps_its_figures_whole_and_cuts_the_name_to_fit():
    from jtui.core.model import GpuStat
    from jtui.ui.host_detail import gpu_line

    a100 = GpuStat(0, "NVIDIA A100-SXM4-80GB", 35.0, 21504.0, 81920.0, 50.0)
    wide = "".join(gpu_line(a100, 90))
    assert wide == "GPU 0 NVIDIA A100-SXM4-80GB     35%  21.0 / 80.0 GiB  50°C"  # names line up at 24
    assert "".join(gpu_line(a100, 48)) == "GPU 0 A100-SXM4-80GB  35%  21.0 / 80.0 GiB  50°C"
    assert "".join(gpu_line(a100, 44)) == "GPU 0 A100-SXM4…  35%  21.0 / 80.0 GiB  50°C"
    assert "".join(gpu_line(a100, 36)) == "GPU 0 A100-SX…  35%  21.0 / 80.0 GiB"  # the temperature goes first
    assert all(len("".join(gpu_line(a100, w))) <= w for w in range(36, 100))
    bare = GpuStat(1, "Tesla T4", None, None, None, None)
    assert "".join(gpu_line(bare, 20)) == "GPU 1 Tesla T4    ?%"
    assert "".join(gpu_line(a100, 30)) == "GPU 0 A100-SXM4-80GB  35%  21.0 / 80.0 GiB  50°C"  # to wrap between words


def test_the_cpu_line_keeps_the_1_minute_load_rather_than_wrap():
    from jtui.ui.host_detail import cpu_figures

    load = (1.4, 1.6, 1.2)
    assert cpu_figures(2, load, 40) == "  2 cores  load 1.4 1.6 1.2"
    assert cpu_figures(2, load, 26) == "  2 cores  load 1.4"
    assert cpu_figures(2, load, 12) == "  load 1.4"
    assert cpu_figures(2, load, 5) == ""
    assert cpu_figures(None, None, 40) == ""
    assert cpu_figures(64, None, 40) == "  64 cores"


def test_x_says_which_kernels_and_which_forward_end_with_the_server():
    from dataclasses import replace

    from jtui.core.model import Kernel
    from jtui.ui.server_actions import stop_question

    server = JupyterServer(port=8888, pid=4321, url="http://localhost:8888/", root_dir="/home/ada/proj")
    sample = Sample(time=1.0, servers=(server,), remote_home="/home/ada")
    unknown = HostRecord("gpu", HostStatus("gpu"), sample=sample)
    assert stop_question(unknown, server) == "Stop the Jupyter server on port 8888 (pid 4321) in ~/proj?\nIts kernels end."
    none = replace(unknown, kernels=((8888, (), ""),))
    assert stop_question(none, server).endswith("?\nNo kernel runs there.")
    one = replace(unknown, kernels=((8888, (Kernel("k1", "python3", "runs/train.ipynb"),), ""),))
    assert stop_question(one, server).endswith("?\nIts kernel ends: train.ipynb.")
    many = tuple(Kernel(f"k{i}", "python3", f"nb{i}.ipynb") for i in range(5))
    forwarded = replace(unknown, kernels=((8888, many, ""),),
                        forwards=(Forward(local_port=18888, remote_port=8888),))
    assert stop_question(forwarded, server).endswith(
        "?\nIts 5 kernels end: nb0.ipynb, nb1.ipynb, nb2.ipynb, ….\nIts forward from localhost:18888 closes.")


def test_x_on_a_job_says_what_ends_with_its_server_and_that_the_output_stays():
    from dataclasses import replace

    from jtui.core.model import Kernel
    from jtui.ui.server_actions import cancel_question

    assert cancel_question(HostRecord("hpc", HostStatus("hpc")), "7", "pending, no Jupyter yet", None) == (
        "Cancel job 7 (pending, no Jupyter yet) with scancel?\nThe job's output stays.")
    server = JupyterServer(port=39023, pid=17728, url="http://cn1:39023/", job_id="7")
    record = HostRecord("hpc", HostStatus("hpc"), sample=Sample(time=1.0, servers=(server,)),
                        kernels=((39023, (Kernel("k1", "python3", "fit.ipynb"),), ""),),
                        forwards=(Forward(local_port=39729, remote_port=39023),))
    assert cancel_question(record, "7", "Jupyter on cn1:39023", server) == (
        "Cancel job 7 (Jupyter on cn1:39023) with scancel?\nIts kernel ends: fit.ipynb.\n"
        "Its forward from localhost:39729 closes.\nThe job's output stays.")
    assert "No kernel runs there." in cancel_question(replace(record, kernels=((39023, (), ""),)), "7", "x", server)


def test_a_submitted_jobs_row_follows_its_wait_until_squeue_lists_it():
    from jtui.ui.state import with_job_seen

    pending = Job("9", "jtui-jupyter", "PENDING", jtui=True)
    before = HostRecord("hpc", HostStatus("hpc"), sample=Sample(time=1.0, scheduler=Scheduler("slurm")))
    submitted = with_submitted(before, pending)
    running = with_job_seen(submitted, Job("9", "jtui-jupyter", "RUNNING", node="cn1"))
    assert [(j.state, j.node, j.jtui) for j in running.jobs] == [("RUNNING", "cn1", True)]  # not "queued"
    assert running.selected_port == submitted.selected_port  # the cursor stays where the user put it
    server = JupyterServer(port=35809, pid=20, url="http://127.0.0.7:35809/", job_id="9", hostname="127.0.0.7")
    started = with_started(running, server)
    assert started.jobs == () and started.job_of(server).node == "cn1"  # the node's name, not its address
    assert with_job_seen(before, pending) == before  # not one of jtui's waits: nothing to follow


def test_a_narrow_header_keeps_the_state_beside_the_name():
    from jtui.core.resolve import ResolvedHost
    from jtui.ui.host_detail import header_text

    resolved = ResolvedHost("gpu-box", "127.0.0.1", "root", 54363)
    status = HostStatus("gpu-box", HostState.CONNECTED)
    colours = WORDS_ONLY
    assert header_text(resolved, status, colours, 80).plain == "gpu-box  root@127.0.0.1:54363  ● connected"
    assert header_text(resolved, status, colours, 39).plain == "gpu-box  ● connected\nroot@127.0.0.1:54363"


def test_an_empty_server_list_beside_a_jupyter_service_says_why_it_is_not_a_server():
    from jtui.core.model import Service
    from jtui.ui.host_detail import no_server_text

    assert no_server_text(()) == "no Jupyter server — press s to start one"
    board = Service(6006, "127.0.0.1", 2285, "tensorboard --logdir runs", "TensorBoard")
    assert no_server_text((board,)) == "no Jupyter server — press s to start one"
    stray = Service(43143, "127.0.0.1", 2223, "jupyter-lab --no-browser", "Jupyter")
    text = no_server_text((board, stray))
    assert text.startswith("The Jupyter on port 43143 left no runtime file where jtui looks")
    assert "f on its row forwards it" in text and "s starts one" in text
    assert no_server_text((), start="ctrl+s") == "no Jupyter server — press ctrl+s to start one"  # as [keys] binds it
    assert no_server_text((), submits=True) == "no Jupyter server — press s to submit a job for one"  # launcher = "slurm"
    hub = Service(8000, "0.0.0.0", 2300, "configurable-http-proxy --port 8000", "JupyterHub")
    # the cursor on the hub's row: s starts the user's server on the hub, as the lines below it say
    assert no_server_text((board, hub), on_hub=True) == "no Jupyter server outside the hub"
    assert "starts" not in no_server_text((hub, stray), on_hub=True)


def test_a_stopped_server_shutting_down_is_not_listed_as_a_service():
    """Jupyter removes its runtime file before its process exits: for a sample or two the probe
    sees a Jupyter listening with no runtime file, which is how a stranger's server looks."""
    from jtui.core.model import Service
    from jtui.ui.state import with_stopped

    server = JupyterServer(port=8888, pid=4321, url="http://localhost:8888/")
    running = with_sample(HostRecord("gpu", HostStatus("gpu")), Sample(time=1.0, servers=(server,)))
    stopped = with_stopped(running, server)
    assert stopped.servers == ()
    dying = Service(8888, "127.0.0.1", 4321, "jupyter-lab --no-browser", "Jupyter")
    other = Service(6006, "127.0.0.1", 99, "tensorboard --logdir runs", "TensorBoard")
    shutting = with_sample(stopped, Sample(time=2.0, services=(dying, other)))
    assert shutting.services == (other,)
    again = Service(8888, "127.0.0.1", 5555, "jupyter-lab --no-browser", "Jupyter")  # a new process on that port
    assert with_sample(shutting, Sample(time=3.0, services=(again,))).services == (again,)


def test_a_forwarded_server_being_stopped_is_not_a_gone_forward_meanwhile():
    """Its forward is unbound as part of the stop; until then it is no row "nothing listens there"."""
    from jtui.ui.state import with_stopping

    stopping = with_stopping(record(SERVER, OTHER), SERVER)
    assert stopping.servers == (OTHER,) and stopping.gone_forwards == ()


def test_a_server_jtui_just_started_leaves_the_table_at_once_when_stopped():
    from jtui.ui.state import with_stopping

    started = with_started(record(OTHER), SERVER)
    assert SERVER in started.servers
    stopping = with_stopping(started, SERVER)
    assert stopping.servers == (OTHER,)
    assert with_sample(stopping, Sample(time=2.0, servers=(OTHER,))).servers == (OTHER,)  # not sampled yet: still gone


def test_a_server_being_stopped_leaves_the_table_at_once_and_comes_back_if_the_stop_fails():
    """While it shuts down its runtime file goes first: it must not hop to the services for a sample."""
    from jtui.core.model import Service
    from jtui.ui.state import with_stopping, without_stopping

    server = JupyterServer(port=8888, pid=4321, url="http://localhost:8888/")
    other = JupyterServer(port=8890, pid=4400, url="http://localhost:8890/")
    running = with_sample(HostRecord("gpu", HostStatus("gpu")), Sample(time=1.0, servers=(server, other)))
    stopping = with_stopping(running, server)
    assert stopping.servers == (other,) and "stopping the server on port 8888" in stopping.activity
    dying = Service(8888, "127.0.0.1", 4321, "jupyter-lab --no-browser", "Jupyter")
    assert with_sample(stopping, Sample(time=2.0, servers=(other,), services=(dying,))).services == ()
    moved_on = with_selected_port(stopping, other.port)  # the cursor went to the row that took its place
    back = without_stopping(moved_on, server)
    assert back.servers == (server, other) and back.selected_port == server.port


def test_a_failed_host_says_once_that_r_retries_now():
    from jtui.ui.host_detail import header_text, stats_text

    colours = WORDS_ONLY
    reason = "connection refused: nothing listens on that port"
    counting = HostStatus("dead", HostState.FAILED, reason, attempt=2, next_retry=time.monotonic() + 20)
    header = header_text(None, counting, colours, 80).plain
    assert re.search(r"Retrying in \d+s \(r: now\)\.$", header), header
    for width in range(20, 80):  # the pane wraps it: the number keeps its unit ("20" then "s" alone, before)
        lines = [line.plain.strip() for line in header_text(None, counting, colours, width).wrap(Console(), width)]
        assert not any(line.startswith("s (r: now)") for line in lines), (width, lines)
    assert stats_text(HostRecord("dead", counting), colours).plain == ""  # not "press r" a second time
    given_up = HostStatus("dead", HostState.FAILED, reason)  # no retry counted down: the key is said below
    assert stats_text(HostRecord("dead", given_up), colours).plain == "press r to try again now"
