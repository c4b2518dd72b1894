"""Prompts on the controlling terminal, as ssh asks, for `jtui status` and `jtui open`.

A person who types `jtui open gpu-box` with a passphrase-protected key and
no agent gets asked for the passphrase there, like `ssh gpu-box` would ask;
a script with no terminal (cron, CI) is never asked and gets the reason
instead. Host keys are not asked about here: an unknown one is refused with
its fingerprint (accept it in the jtui screen, or with `ssh HOST` once).
"""

from __future__ import annotations

import getpass
import os
import signal

from jtui.core.hostkeys import HostKeyProblem

TTY = "/dev/tty"


class TerminalPrompter:
    """The dialer's Prompter, on /dev/tty (whatever stdin and stdout are redirected to).

    Reading blocks the event loop while the person types: a one-shot command
    has nothing else to run before it is connected.
    """

    async def ask(self, alias: str, prompt: str, echo: bool) -> str | None:
        """The answer; None (the login is cancelled) on ctrl-c or end of input (ctrl-d)."""
        text = f"{alias}: {prompt}: "
        # asyncio's own ctrl-c handler only cancels the main task, which waits
        # for this read to end: Python's default one ends the read itself.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            if not echo:
                return getpass.getpass(text)  # reads /dev/tty with echo off, as ssh does
            with open(TTY, "r+") as tty:
                tty.write(text)
                tty.flush()
                line = tty.readline()
                if not line:
                    raise EOFError
            return line.rstrip("\n")
        except (EOFError, KeyboardInterrupt):
            with open(TTY, "w") as tty:
                tty.write("\n")  # the reason goes on a line of its own
            return None
        finally:
            signal.signal(signal.SIGINT, previous)

    async def confirm_host_key(self, alias: str, problem: HostKeyProblem) -> bool:
        return False


def terminal_prompter() -> TerminalPrompter | None:
    """A prompter when a person is at a terminal (there is a controlling one), else None."""
    try:
        fd = os.open(TTY, os.O_RDWR | os.O_NOCTTY)
    except OSError:  # ENXIO: no controlling terminal
        return None
    os.close(fd)
    return TerminalPrompter()
