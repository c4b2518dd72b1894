"""Messages from the core (via the app's listener) to the widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from jtui.core.model import HostStatus, Sample


class HostStatusChanged(Message):
    def __init__(self, status: HostStatus) -> None:
        super().__init__()
        self.status = status


class HostSampled(Message):
    """A probe sample; a newer one for the same host replaces a queued older one."""

    bubble = False

    def __init__(self, alias: str, sample: Sample) -> None:
        super().__init__()
        self.alias = alias
        self.sample = sample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HostSampled) and message.alias == self.alias


@dataclass
class HostNotice(Message):
    alias: str
    text: str
    error: bool = False

    def __post_init__(self) -> None:
        super().__init__()
