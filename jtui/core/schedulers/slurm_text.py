"""What Slurm's commands print, read into plain data (no I/O here).

The probe (sh/probe.sh) and the launcher (sh/slurm.sh) run `squeue` and
`sinfo` with the formats below and hand their output over as it is; these
functions turn it into `model.Scheduler`, `Job` and `Partition`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jtui.core.model import Job, Partition, Scheduler

JOB_NAME = "jtui-jupyter"  # how jtui finds its own jobs again after a restart
JOBS_DIR = "~/.local/state/jtui/jobs"  # on the login node: ID.out (the job's output), ID/ (its runtime files)
# %j (the name, which may hold anything) last, so a "|" in it cannot shift the other fields.
SQUEUE_FORMAT = "%i|%T|%r|%N|%P|%M|%L|%S|%j"
SINFO_FIELDS = "Partition:|,Available:|,NodeAIOT:|,Gres:|,GresUsed:"
NO_REASONS = {"None", "(null)", ""}
MAX_JOBS = 200
MAX_PARTITIONS = 100


def duration(text: str) -> int | None:
    """Slurm's [D-]HH:MM:SS, MM:SS or minutes as seconds; None for UNLIMITED, INVALID, N/A."""
    text = text.strip()
    match = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+)(?::(\d+))?", text)
    if not match:
        return None
    days, first, second, third = match.groups()
    if third is not None:  # H:M:S or D-H:M:S
        hours, minutes, seconds = int(first or 0), int(second), int(third)
    elif first is not None:  # M:S, or D-H:M
        if days is not None:
            hours, minutes, seconds = int(first), int(second), 0
        else:
            hours, minutes, seconds = 0, int(first), int(second)
    else:  # minutes, or D-H
        hours, minutes, seconds = (int(second), 0, 0) if days is not None else (0, int(second), 0)
    return int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds


def parse_squeue(text: str) -> tuple[Job, ...]:
    """`squeue --me -h -o SQUEUE_FORMAT` lines as Jobs (malformed lines are left out)."""
    jobs = []
    for line in text.splitlines()[:MAX_JOBS]:
        fields = line.split("|", 8)
        if len(fields) != 9 or not re.fullmatch(r"\d+(?:_\d+)?", fields[0].strip()):
            continue
        job_id, state, reason, node, partition, elapsed, left, start, name = (f.strip() for f in fields)
        jobs.append(Job(
            job_id=job_id, name=name, state=state, reason="" if reason in NO_REASONS else reason,
            node="" if node in NO_REASONS else node, partition=partition,
            elapsed=duration(elapsed) or 0, time_left=duration(left),
            expected_start="" if start in ("N/A", "Unknown", "(null)") or state != "PENDING" else start,
            jtui=name == JOB_NAME,
        ))
    return tuple(jobs)


def _gpus(gres: str) -> int:
    """GPUs in a GRES string per node: "gpu:4(S:0-1)", "gpu:a100:2,gpu:v100:1(IDX:0)", "(null)" -> 4, 3, 0."""
    total = 0
    for part in re.split(r",(?![^()]*\))", gres):
        match = re.match(r"gpu(?::[^:(]+)?:(\d+)", part.strip())
        if match:
            total += int(match.group(1))
    return total


def parse_sinfo(text: str) -> tuple[Partition, ...]:
    """`sinfo -h -O SINFO_FIELDS` lines as Partitions, one per name (sinfo splits them by node state)."""
    found: dict[str, Partition] = {}
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) < 5 or not fields[0]:
            continue
        name, avail, aiot, gres, used = fields[:5]
        counts = aiot.split("/")
        if len(counts) != 4 or not all(c.isdigit() for c in counts):
            continue
        idle, total = int(counts[1]), int(counts[3])
        default = name.endswith("*")
        name = name.rstrip("*")
        before = found.get(name)
        if before is None and len(found) >= MAX_PARTITIONS:
            continue
        gpus, gpus_used = total * _gpus(gres), total * _gpus(used)
        if before is not None:
            idle, total = before.nodes_idle + idle, before.nodes_total + total
            gpus, gpus_used = before.gpus_total + gpus, before.gpus_used + gpus_used
        found[name] = Partition(name, avail == "up", default or bool(before and before.default),
                                idle, total, gpus, gpus_used)
    return tuple(found.values())


def parse_probe_text(text: str) -> Scheduler | None:
    """The probe's scheduler section: P<path>, Q<status>/q<squeue line>, I<status>/i<sinfo line>.

    None when the host has no Slurm. A non-zero status keeps the command's
    own message (slurmctld down: "Unable to contact slurm controller").
    """
    if not text.strip():
        return None
    if text.strip() == "W":
        return Scheduler("slurm", pending=True)
    path, errors, queue, info = "", [], [], []
    for line in text.splitlines():
        tag, rest = line[:1], line[1:]
        if tag == "P":
            path = rest
        elif tag == "q":
            queue.append(rest)
        elif tag == "i":
            info.append(rest)
        elif tag in "QI" and rest.strip() not in ("", "0"):
            errors.append(tag)
    error = ""
    if errors:
        said = [line for line in (queue if "Q" in errors else info) if line.strip()]
        error = _controller_error(said)
    jobs = () if "Q" in errors else parse_squeue("\n".join(queue))
    partitions = () if "I" in errors else parse_sinfo("\n".join(info))
    return Scheduler("slurm", partitions, jobs, error, path)


def _controller_error(lines: list[str]) -> str:
    text = " ".join(lines).strip()
    if "Unable to contact slurm controller" in text or "Socket timed out" in text:
        return ("The Slurm controller does not answer (" + text[:160] + "). The login node works; "
                "jobs cannot be listed or submitted until it is back.")
    return text[:300] or "squeue failed without a message"


# --- a job that ended ----------------------------------------------------------------


@dataclass(frozen=True)
class EndedJob:
    job_id: str
    state: str  # TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, FAILED, CANCELLED, COMPLETED, or "" when Slurm forgot it
    reason: str
    exit_code: str
    time_limit: str
    node: str
    tail: str  # the last lines of the job's output file


def parse_scontrol_job(text: str) -> dict[str, str]:
    """`scontrol show job -o ID`: KEY=VALUE words (values have no spaces in the keys jtui reads)."""
    out: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep:
            out.setdefault(key, value)
    return out


def ended_reason(job: EndedJob, table: str = "config.toml's slurm table for the host") -> str:
    """Why a job's Jupyter is gone, as a sentence with what to do (`table`: where the host's job settings go)."""
    jid = f"Job {job.job_id}"
    where = f" on {job.node}" if job.node and job.node != "(null)" else ""
    state = job.state
    if state == "TIMEOUT":
        return (f"{jid}{where} reached its time limit ({job.time_limit}) and Slurm ended it. "
                f"Ask for more time in the form (time), or for every job in {table}.")
    if state == "OUT_OF_MEMORY":
        return f"{jid}{where} ran out of memory and Slurm killed it. Ask for more (mem) in the form."
    if state in ("NODE_FAIL", "BOOT_FAIL"):
        return f"{jid}: its node{where} failed ({state}). Submit again; Slurm will pick another node."
    if state == "CANCELLED":
        return f"{jid}{where} was cancelled (scancel, or an administrator)."
    if state == "PREEMPTED":
        return f"{jid}{where} was preempted by a job of higher priority."
    if state == "DEADLINE":
        return f"{jid} missed its deadline."
    if state == "COMPLETED":
        return f"{jid}{where} ended: Jupyter exited (exit code {job.exit_code or '0:0'})."
    if state == "FAILED":
        return f"{jid}{where} failed (exit code {job.exit_code or '?'}): Jupyter did not stay up."
    if not state:
        return f"{jid} is no longer known to Slurm; it ended."
    return f"{jid}{where} ended in state {state}" + (f" ({job.reason})" if job.reason not in NO_REASONS else "") + "."


_URL = re.compile(r"(http://[^\s/:]+:(\d+)(/[^\s?]*)?)\?token=([0-9A-Za-z]+)")
_LISTENING = re.compile(r"^jtui: job \S+ on \S+, listening on (\S+)$", re.MULTILINE)  # job.sh's first line


def url_in_output(text: str) -> tuple[str, int, str, str] | None:
    """(host, port, base URL, token) from the job's output, for sites without a shared home.

    The address is the one job.sh said Jupyter listens on; port, base URL and
    token are from Jupyter's own log line. Without job.sh's line, the first
    URL not on the loopback is taken.
    """
    said = _LISTENING.search(text)
    for line in text.splitlines():
        match = _URL.search(line)
        if not match:
            continue
        host = match.group(1)[len("http://"):].rsplit(":", 1)[0]
        if said is None and host in ("127.0.0.1", "localhost"):
            continue
        path = match.group(3) or "/"
        base = re.sub(r"(lab|tree)/?$", "", path)
        return (said.group(1) if said else host, int(match.group(2)), base if base.endswith("/") else base + "/",
                match.group(4))
    return None
