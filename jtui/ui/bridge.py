"""From the core's callbacks to Textual messages, and from its questions to modal screens.

The sessions run on the app's event loop and report through plain method
calls (jtui.core.session.SessionListener); the Bridge turns each into a
message for the host screen. Samples are gathered for a moment into one
message: with 100 hosts at 1 Hz, a message per sample would keep the loop
busy for nothing. The Prompter answers asyncssh's auth callbacks with a
modal, awaiting a future the modal's dismiss callback sets
(push_screen_wait cannot be used there: the callback runs in no worker).
"""

from __future__ import annotations

import asyncio

from textual.app import App
from textual.message_pump import MessagePump

from jtui.core.forwards import Forward
from jtui.core.hostkeys import HostKeyProblem
from jtui.core.model import HostStatus, HubState, Kernel, Sample
from jtui.ui.messages import (
    ForwardsChanged, HostNotice, HostsSampled, HostStatusChanged, HubListed, KernelsListed, SampleBatch,
)

SAMPLE_GATHER = 0.05  # seconds samples wait for others before they are posted together


class Bridge:
    """A SessionListener whose every call becomes a message to `target`."""

    def __init__(self, target: MessagePump) -> None:
        self.target = target
        self._batch = SampleBatch()
        self._flush: asyncio.TimerHandle | None = None

    def session_status(self, status: HostStatus) -> None:
        self.target.post_message(HostStatusChanged(status))

    def session_sample(self, alias: str, sample: Sample) -> None:
        self._batch.add(alias, sample)  # all of them, in order: each is a point of a sparkline
        if self._flush is None and not self._batch.posted:
            self._flush = asyncio.get_running_loop().call_later(SAMPLE_GATHER, self._post_samples)

    def _post_samples(self) -> None:
        self._flush = None
        if self._batch.items and not self._batch.posted:
            self._batch.posted = True
            self.target.post_message(HostsSampled(self._batch))

    def session_notice(self, alias: str, text: str, error: bool = False) -> None:
        self.target.post_message(HostNotice(alias, text, error))

    def session_forwards(self, alias: str, forwards: tuple[Forward, ...]) -> None:
        self.target.post_message(ForwardsChanged(alias, forwards))

    def session_kernels(self, alias: str, port: int, kernels: tuple[Kernel, ...], note: str) -> None:
        self.target.post_message(KernelsListed(alias, port, kernels, note))

    def session_hub(self, alias: str, hub: HubState) -> None:
        self.target.post_message(HubListed(alias, hub))


class Prompter:
    """jtui.core.dial.Prompter with Textual modals; one modal at a time, however many hosts ask."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = asyncio.Lock()

    async def _modal(self, screen):
        async with self._lock:
            future: asyncio.Future = asyncio.get_running_loop().create_future()

            def done(result) -> None:
                if not future.done():
                    future.set_result(result)

            self.app.push_screen(screen, done)
            return await future

    async def ask(self, alias: str, prompt: str, echo: bool) -> str | None:
        from jtui.ui.prompt_screen import PromptScreen

        return await self._modal(PromptScreen(f"{alias}: login", prompt, echo))

    async def confirm_host_key(self, alias: str, problem: HostKeyProblem) -> bool:
        from jtui.ui.confirm_screen import ConfirmScreen

        question = (
            f"{problem.explain()}\n\nTrust this key? It is recorded in jtui's own known_hosts, "
            "never in yours. Compare the fingerprint with one you got from the host's owner."
        )
        return bool(await self._modal(ConfirmScreen(f"{alias}: unknown host key", question, "Trust")))
