"""s and x where Jupyter runs as a Slurm job: the form, the queue row, the wait, scancel.

`s` on a host whose launcher is "slurm" opens the form (config.toml's
[hosts.NAME.slurm] under the last choice for that host); sbatch's answer
puts a pending row on screen at once, and the wait for the job's server
runs in a worker that ends with ServerStarted, as any start does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from jtui.core.model import Job
from jtui.ui import state
from jtui.ui.messages import ActivityChanged, JobGone, JobSeen, JobSubmitted, ServerStarted

if TYPE_CHECKING:
    from jtui.core.session import HostSession


class JobActions:
    """Needs from the screen: record(), run_core(), _change(), notify(), post_message(), start_failed(), app."""

    def launcher_for(self, session: "HostSession") -> str:
        """"slurm", "login", or "" when the user must be asked (Slurm there, no setting, no answer yet)."""
        from jtui.core import choices

        chosen = session.host_settings.launcher or choices.load(session.alias).get("launcher")
        if chosen in ("slurm", "login"):
            return chosen
        return "" if session.scheduler is not None else "login"

    def ask_launcher(self, session: "HostSession", then) -> None:
        from jtui.core import choices
        from jtui.ui.job_form import LauncherChoice

        def answered(choice: str | None) -> None:
            if choice:
                choices.save(session.alias, launcher=choice)
                then(choice)

        self.app.push_screen(LauncherChoice(session.alias), answered)

    def open_job_form(self, session: "HostSession", request=None, error: str = "") -> None:
        """The form, filled from the last choice over [hosts.NAME.slurm]; or, with `error`, again on
        the request sbatch refused, saying why under the fields the user corrects."""
        from jtui.core import choices
        from jtui.core.schedulers.slurm import JobRequest
        from jtui.ui.job_form import JobForm

        alias = session.alias
        if session.scheduler is not None and session.scheduler.error:
            self.notify(session.scheduler.error, title=f"{alias}: Slurm", severity="error", timeout=20)
            return
        if request is None:
            settings = JobRequest.from_settings(session.host_settings.slurm)
            request = JobRequest.from_dict(choices.load(alias).get("slurm")).over(settings)

        def answered(chosen: JobRequest | None) -> None:
            if chosen is not None:
                self.submit_job(session, chosen)

        self.app.push_screen(JobForm(alias, request, error), answered)

    def submit_job(self, session: "HostSession", request) -> None:
        alias = session.alias

        async def call() -> Message:
            from dataclasses import asdict

            from jtui.core import choices
            from jtui.core.schedulers.slurm import SubmitError

            try:
                job_id = await session.submit_job(request)
            except (SubmitError, ValueError) as exc:
                self.post_message(ActivityChanged(alias, ""))
                self.open_job_form(session, request, f"sbatch refused it: {exc}")
                return None
            choices.save(alias, slurm=asdict(request))  # the next form starts from it; a refused one is not kept
            return JobSubmitted(alias, Job(job_id, "jtui-jupyter", "PENDING", partition=request.partition, jtui=True))

        self.post_message(ActivityChanged(alias, "submitting the job (sbatch)…"))
        self.run_core(alias, "submit", call)

    def on_job_submitted(self, message: JobSubmitted) -> None:
        alias, job = message.alias, message.job
        self._change(alias, state.with_activity, "")
        self._change(alias, state.with_submitted, job)
        self.notify(f"Job {job.job_id} submitted: its row shows the queue; c works once Jupyter answers.", title=alias)
        if self.app.fleet is None:
            return
        session = self.app.fleet.session(alias)

        def progress(text: str) -> None:
            self.post_message(ActivityChanged(alias, text))

        async def call() -> Message:
            from jtui.core.jupyter import StartError

            try:
                started = await session.wait_job(job.job_id, progress, lambda seen: self.post_message(JobSeen(alias, seen)))
            except StartError as exc:
                self.post_message(ActivityChanged(alias, ""))
                self.post_message(JobGone(alias, job.job_id, "", True))
                self.start_failed(alias, exc)
                return None
            return ServerStarted(alias, started.server, False)

        self.run_core(alias, f"job {job.job_id}", call)

    def cancel_job(self, session: "HostSession", job_id: str, question: str) -> None:
        from jtui.ui.confirm_screen import ConfirmScreen

        alias = session.alias

        async def call() -> Message:
            from jtui.core.schedulers.slurm import CancelError

            try:
                await session.cancel_job(job_id)
            except CancelError as exc:
                return JobGone(alias, job_id, f"scancel {job_id}: {exc}", True, ended=False)
            return JobGone(alias, job_id, f"Job {job_id} cancelled (scancel).")

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(alias, state.with_activity, f"cancelling job {job_id} (scancel)…")
                self.cancel_worker(alias, job_id)
                self.run_core(alias, "cancel", call)

        self.app.push_screen(ConfirmScreen(f"cancel on {alias}", question, "Cancel job"), answered)

    def cancel_worker(self, alias: str, job_id: str) -> None:
        """The wait for a job being cancelled stops too (it would report the cancel as a failure)."""
        for worker in self.workers:
            if worker.name == f"job {job_id} {alias}":
                worker.cancel()

    def on_job_seen(self, message: JobSeen) -> None:
        self._change(message.alias, state.with_job_seen, message.job)

    def on_job_gone(self, message: JobGone) -> None:
        self._change(message.alias, state.with_job_gone, message.job_id, message.ended)
        if message.text:
            self.notify(message.text, title=message.alias, severity="error" if message.error else "information")
