"""What happens to jtui's scheduler jobs between two samples, said once each.

A job that leaves the queue on its own (time limit, out of memory, node
failure, Jupyter missing on the node) must not vanish silently, and a job
about to reach its time limit is worth a warning while notebooks can still
be saved. The watch compares samples; the session asks the scheduler how a
job ended and reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jtui.core.model import Job, Scheduler

TIME_LEFT_WARNING = 10 * 60  # seconds before the wall-clock limit when jtui warns
ACTIVE = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING")


def short_of_time(job: Job) -> bool:
    return job.state == "RUNNING" and job.time_left is not None and job.time_left <= TIME_LEFT_WARNING


@dataclass
class JobWatch:
    """What jtui remembers between scheduler answers, to notice jobs that ended and limits coming near."""

    listed: set[str] = field(default_factory=set)  # jtui's jobs in the last answer from the scheduler
    quiet: set[str] = field(default_factory=set)  # ended by jtui, or followed by a start that reports itself
    warned: set[str] = field(default_factory=set)  # told about their time limit already

    def update(self, scheduler: Scheduler | None) -> tuple[list[str], list[Job]]:
        """(jobs that ended since the last answer, jobs to warn about their time limit now)."""
        if scheduler is None or scheduler.error:  # no answer is not an answer: nothing ended
            return [], []
        mine = {j.job_id: j for j in scheduler.jobs if j.jtui and j.state in ACTIVE}
        gone = self.listed - set(mine)
        ended = sorted(gone - self.quiet)
        self.listed = set(mine)
        self.quiet -= gone
        warn = [j for j in mine.values() if short_of_time(j) and j.job_id not in self.warned]
        self.warned |= {j.job_id for j in warn}
        return ended, warn

    def warning(self, job: Job) -> str:
        minutes = max(1, (job.time_left or 0) // 60)
        return (f"Job {job.job_id} on {job.node} reaches its time limit in {minutes} min: save your notebooks. "
                "Slurm ends the job, and Jupyter with it, at the limit.")
