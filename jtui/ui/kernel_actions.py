"""The keys on a kernel of the selected server: i interrupt, R restart, D shut down.

They go through the server's own API (with its token), so they work on any
server jtui can authenticate to, including servers jtui did not start.
Restart and shut down ask first; the question names the notebook.
"""

from __future__ import annotations

from textual.message import Message

from jtui.core.model import Kernel
from jtui.ui.messages import KernelActed

WORDS = {"interrupt": "Interrupted", "restart": "Restarted", "shutdown": "Shut down"}


class KernelActions:
    """Needs from the screen: _session_and_server(), record(), run_core(), notify(), app."""

    def action_interrupt_kernel(self) -> None:
        self._on_kernel("interrupt")

    def action_restart_kernel(self) -> None:
        self._on_kernel("restart", ask="Restart")

    def action_shutdown_kernel(self) -> None:
        self._on_kernel("shutdown", ask="Shut down")

    def _on_kernel(self, action: str, ask: str = "") -> None:
        session, server = self._session_and_server(for_kernels=True)
        if server is None:
            return
        record = self.record(session.alias)
        kernel = record.selected_kernel_of_server
        if kernel is None:
            kernels, note = record.kernels_of(server.port)
            self.notify(note or f"No kernel runs on {session.alias}:{server.port}.", severity="warning")
            return

        async def call() -> Message:
            await session.kernel_action(server, kernel.id, action)
            return KernelActed(session.alias, server.port, kernel, action)

        if not ask:
            self.run_core(session.alias, action, call)
            return
        from jtui.ui.confirm_screen import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_core(session.alias, action, call)

        if action == "restart":
            what = "Its variables are lost."
        else:
            what = "Its notebook stays; the kernel ends." if kernel.path else "The kernel ends."
        question = f"{ask} {the_kernel(kernel)} on {session.alias}:{server.port}?\n{what}"
        self.app.push_screen(ConfirmScreen(f"{ask.lower()} kernel", question, ask), answered)

    def on_kernel_acted(self, message: KernelActed) -> None:
        self.notify(f"{WORDS[message.action]} {the_kernel(message.kernel)}.", title=message.alias)


def the_kernel(kernel: Kernel) -> str:
    """A kernel as a sentence names it: by its notebook, or (one started over the API, a console's)
    by its id, saying it has none."""
    return f"the kernel of {kernel.path}" if kernel.path else f"kernel {kernel.id[:8]} (no notebook)"
