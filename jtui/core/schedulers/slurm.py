"""Jupyter as a Slurm job: submit it, follow it until its server answers, cancel it.

Everything runs on the login node through jtui's one transport (sh/slurm.sh,
sent by remote.py); the batch script (sh/job.sh) is sent to sbatch on its
stdin, so no file is left behind and no value is ever on a command line.
The server is reached by a direct TCP channel from the login node's sshd to
the node's address: no SSH to compute nodes, no node name resolved here.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

from jtui.core.jupyter import StartedServer, StartError, answers, failure_reason, split_jupyter_command
from jtui.core.model import Job, JupyterServer
from jtui.core.remote import END_MARKER, Remote, script_body
from jtui.core.runtime_files import RuntimeFileError, parse_runtime_text
from jtui.core.schedulers.slurm_text import (
    JOB_NAME, JOBS_DIR, SQUEUE_FORMAT, EndedJob, ended_reason, parse_scontrol_job, parse_squeue, url_in_output,
)
from jtui.core.settings import DEFAULT_JUPYTER, DEFAULT_ROOT_DIR, HostSettings, SlurmSettings

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
PENDING_POLL = 2.0  # seconds between two looks at a pending job (each is an RPC to slurmctld)
EAGER = 10.0  # the first seconds after sbatch: look every RUNNING_POLL (an idle cluster starts jobs at once)
RUNNING_POLL = 0.3  # while its Jupyter starts: a look at the runtime file, mostly
OUTPUT_AFTER = 5.0  # running this long with no runtime file seen: read the URL from the job's output
WAITING = ("PENDING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED")


class SubmitError(RuntimeError):
    """sbatch refused the job; the message is Slurm's own."""


class CancelError(RuntimeError):
    """scancel refused; the message is Slurm's own."""


@dataclass(frozen=True)
class JobRequest:
    """What `s` asks Slurm for, as the user typed it in the form; "" leaves a field to the site."""

    partition: str = ""
    time: str = ""
    cpus: str = ""
    mem: str = ""
    gres: str = ""
    account: str = ""
    sbatch_args: str = ""

    @classmethod
    def from_settings(cls, settings: SlurmSettings | None) -> "JobRequest":
        if settings is None:
            return cls()
        return cls(**{f.name: "" if getattr(settings, f.name) is None else str(getattr(settings, f.name))
                      for f in fields(cls)})

    @classmethod
    def from_dict(cls, data: object) -> "JobRequest":
        """A request kept in the state dir; anything unexpected in it is dropped."""
        if not isinstance(data, dict):
            return cls()
        return cls(**{f.name: data[f.name] for f in fields(cls) if isinstance(data.get(f.name), str)})

    def over(self, base: "JobRequest") -> "JobRequest":
        """This request, with each empty field taken from `base`."""
        return JobRequest(**{f.name: getattr(self, f.name) or getattr(base, f.name) for f in fields(self)})


OPTIONS = {"partition": "--partition", "time": "--time", "cpus": "--cpus-per-task", "mem": "--mem",
           "gres": "--gres", "account": "--account"}


def sbatch_options(request: JobRequest) -> list[str]:
    """The request as sbatch's own options, each value one word; ValueError says what is wrong."""
    options = []
    for name, flag in OPTIONS.items():
        value = getattr(request, name).strip()
        if not value:
            continue
        if name == "cpus" and not (value.isdigit() and int(value) > 0):
            raise ValueError(f"cpus must be a whole number, 1 or more, not {value!r}")
        options.append(f"{flag}={value}")
    try:
        extra = shlex.split(request.sbatch_args)
    except ValueError as exc:
        raise ValueError(f"cannot read sbatch_args {request.sbatch_args!r}: {exc}") from None
    for word in extra:
        reserved = reserved_option(word)
        if reserved:
            raise ValueError(f"sbatch_args cannot set {reserved}: jtui needs the job's name and output")
    return options + extra


RESERVED = {"-J": "--job-name", "-o": "--output", "-e": "--error", "": "--wrap"}  # short -> long


def reserved_option(word: str) -> str | None:
    """The option jtui sets itself that `word` would set, as sbatch reads it: -Jname and -J name,
    --job-name=x, and what getopt takes for it (--job=x, --out=x: a long option's unambiguous start)."""
    if word.startswith("--"):
        name = word.split("=", 1)[0]
        return next((long for long in RESERVED.values() if len(name) > 2 and long.startswith(name)), None)
    if word.startswith("-") and word[:2] in RESERVED:
        return RESERVED[word[:2]]
    return None


def job_script(host: HostSettings) -> str:
    """The batch script: lib.sh, the job's values, job.sh (Jupyter in the node's login environment)."""
    from jtui.core.jupyter import check_root_dir
    from jtui.core.remote import script_source

    argv = split_jupyter_command(host.jupyter or DEFAULT_JUPYTER)
    root_dir = host.root_dir or DEFAULT_ROOT_DIR
    check_root_dir(root_dir)
    body = script_body("job", args=shlex.join(argv), root=root_dir, setup=host.setup or "", allow_root="auto",
                       jobs=JOBS_DIR, launch="\n".join([script_source("lib"), script_source("launch")]))
    if f"\n{END_MARKER}\n" in f"\n{body}":  # it travels inside slurm.sh's text, which ends at that line
        raise ValueError("a setting holds jtui's end-of-script line")
    return "#!/bin/sh\n# jtui: Jupyter as a batch job\n" + body


@dataclass(frozen=True)
class JobPoll:
    """One look at a job: the scheduler's line, its server once known, and how it ended once it has."""

    job: Job | None
    server: JupyterServer | None
    ended: EndedJob | None
    head: str  # the first lines of its output, when asked for


class SlurmLauncher:
    """jtui's Jupyter jobs on one login node. `path` is where the login shell finds sbatch & co."""

    def __init__(self, remote: Remote, path: str = "") -> None:
        self.remote = remote
        self.path = path

    async def _run(self, op: str, **values: object):
        return await self.remote.run("slurm", op=op, path=self.path, jobs=JOBS_DIR, **values)

    async def submit(self, host: HostSettings, request: JobRequest) -> str:
        """sbatch the job; its id. SubmitError carries Slurm's own message; ValueError a bad field."""
        options = sbatch_options(request)
        try:
            script = job_script(host)
        except ValueError as exc:
            raise SubmitError(str(exc)) from None
        result = await self._run("submit", opts=shlex.join(options), name=JOB_NAME, script=script, timeout=60)
        job_id = result.values.get("id", "")
        if job_id:
            log.info("submitted slurm job %s (%s)", job_id, " ".join(options))
            return job_id
        said = result.stdout.partition("jtui-said\n")[2].strip()
        raise SubmitError(said or f"sbatch failed (exit status {result.values.get('rc', '?')}) without a message")

    async def poll(self, job_id: str, head: bool = False) -> JobPoll:
        result = await self._run("job", id=job_id, fmt=SQUEUE_FORMAT, output="head" if head else "")
        text = result.stdout
        queue = _section(text, "jtui-squeue\n", ("jtui-file=", "jtui-head\n", "jtui-scontrol\n"))
        jobs = parse_squeue(queue) if result.values.get("rc") == "0" else ()
        job = next((j for j in jobs if j.job_id == job_id), None)
        server = None
        if "jtui-file=" in text:
            path, _, rest = text.split("jtui-file=", 1)[1].partition("\n")
            try:
                server = replace(parse_runtime_text(rest.split("\njtui-end", 1)[0], path), job_id=job_id)
            except RuntimeFileError as exc:  # caught mid-write: the next look reads it whole
                log.debug("job %s runtime file not readable yet: %s", job_id, exc)
        head_text = _section(text, "jtui-head\n", ("jtui-head-end",))
        ended = None
        if "jtui-scontrol\n" in text:
            record = parse_scontrol_job(_section(text, "jtui-scontrol\n", ("jtui-tail\n",)))
            if result.values.get("rc") != "0" and not record and "Unable to contact" in queue:
                ended = None  # the controller is down, not the job: keep waiting
            else:
                ended = EndedJob(job_id, record.get("JobState", ""), record.get("Reason", ""),
                                 record.get("ExitCode", ""), record.get("TimeLimit", ""),
                                 record.get("NodeList", ""), text.partition("jtui-tail\n")[2])
        return JobPoll(job, server, ended, head_text)

    async def cancel(self, job_id: str) -> None:
        result = await self._run("cancel", id=job_id)
        if result.values.get("rc") != "0":
            said = result.stdout.partition("jtui-said\n")[2].strip()
            raise CancelError(said or f"scancel {job_id} failed")
        log.info("cancelled slurm job %s", job_id)

    async def ended(self, job_id: str) -> EndedJob | None:
        """How a job that left the queue ended (None: it is still queued or running)."""
        return (await self.poll(job_id)).ended

    async def wait_serving(self, job_id: str, host: HostSettings, progress: Progress | None = None,
                           seen: Callable[[Job], None] | None = None) -> StartedServer:
        """Follow the job until its Jupyter answers through this connection; StartError once it ended.

        No time-out while it is queued (a queue can take hours, and the user
        sees why it waits); the caller cancels the wait, never the job.
        `seen` gets the job as each poll finds it changed (its state, node,
        reason): fresher than the probe's squeue, which answers every few seconds.
        """
        say = progress or (lambda text: None)
        last: Job | None = None
        command = host.jupyter or DEFAULT_JUPYTER
        said = ""
        submitted = time.monotonic()
        running_since: float | None = None
        while True:
            head = running_since is not None and time.monotonic() - running_since > OUTPUT_AFTER
            poll = await self.poll(job_id, head=head)
            if poll.ended is not None:
                raise _ended_error(poll.ended, command)
            job, server = poll.job, poll.server
            if seen is not None and job is not None and _looks(job) != _looks(last):
                seen(job)
                last = job
            if server is None and poll.head:
                server = _server_from_output(poll.head, job_id)
            if job is not None and job.state == "RUNNING" and running_since is None:
                running_since = time.monotonic()
            text = _progress_text(job_id, job, server)
            if text != said:
                say(text)
                said = text
            if server is not None and await answers(self.remote.conn, server):
                log.info("job %s: jupyter answers on %s:%d", job_id, server.hostname, server.port)
                return StartedServer(server, False, f"{JOBS_DIR}/{job_id}.out")
            eager = running_since is not None or time.monotonic() - submitted < EAGER
            await asyncio.sleep(RUNNING_POLL if eager else PENDING_POLL)


def _looks(job: Job | None) -> tuple | None:
    """What a job row shows but its clock: a new poll is news only when one of these changed."""
    return None if job is None else (job.state, job.reason, job.node, job.expected_start)


def _section(text: str, start: str, ends: tuple[str, ...]) -> str:
    if start not in text:
        return ""
    rest = text.split(start, 1)[1]
    cut = min((rest.index(end) for end in ends if end in rest), default=len(rest))
    return rest[:cut]


def _progress_text(job_id: str, job: Job | None, server: JupyterServer | None) -> str:
    if job is None:
        return f"job {job_id} submitted, waiting for Slurm to list it"
    if job.state == "PENDING":
        why = f" ({job.reason})" if job.reason else ""
        start = f", expected to start {job.expected_start}" if job.expected_start else ""
        return f"job {job_id} pending{why}{start}"
    if job.state == "RUNNING" and server is None:
        return f"job {job_id} running on {job.node}, waiting for Jupyter"
    if server is not None:
        return f"job {job_id} on {job.node}: Jupyter on port {server.port}, waiting for it to answer"
    return f"job {job_id} {job.state.lower()}"


def _server_from_output(head: str, job_id: str) -> JupyterServer | None:
    """The server as Jupyter's own log in the job output names it (no shared home to read its runtime file)."""
    found = url_in_output(head)
    if found is None:
        return None
    host, port, base, token = found
    return JupyterServer(port=port, pid=0, url=f"http://{host}:{port}{base}", base_url=base, token=token,
                         hostname=host, job_id=job_id)


def _ended_error(ended: EndedJob, command: str) -> StartError:
    reason = ended_reason(ended)
    tail = ended.tail
    hint = "The job's output file is ~/.local/state/jtui/jobs/" + f"{ended.job_id}.out on the login node."
    said, not_installed = failure_reason(tail, command)
    if not_installed or "setup" in said:
        reason = f"{reason} {said}"
    return StartError(reason, tail, hint, f"{JOBS_DIR}/{ended.job_id}.out", 0, not_installed)
