"""Full garbage collections while the keyboard rests, not in the middle of a keystroke.

Textual's Strip keeps itself in its own caches (a line already the right
length is its own cropped copy), so every frame drawn leaves reference
cycles that only the collector frees: with 100 hosts redrawing, Python ran
a full collection every 2-3 s, 100-400 ms each on a busy 2-core machine,
and one keypress in twenty waited for it. Here Python's own trigger for
the oldest generation is switched off; the same collection runs at the
first tick after the user has paused for QUIET seconds, or after MAX_WAIT
regardless, so memory stays bounded. What start-up built (modules, the
screen, the stylesheet) lives as long as the app and is frozen out of
every collection; `jtui` (cli.run_tui) switches the collector off until
then, as start-up makes little garbage and its full collections walked
every object just imported, twice or more before the first frame.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

QUIET = 0.75  # seconds without input before a full collection may run
MAX_WAIT = 20.0  # seconds: a full collection runs by then even while keys keep coming
TICK = 0.25  # seconds between looks
NEVER = 1 << 30  # a gen-2 threshold Python will not reach


def full_collection_due(pending: int, threshold: int, quiet_for: float, since_full: float) -> bool:
    """Python's own rule (`threshold` gen-1 collections since the last full one), deferred to a quiet moment."""
    if pending < threshold:
        return False
    return quiet_for >= QUIET or since_full >= MAX_WAIT


class IdleCollector:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._saved: tuple[int, int, int] | None = None
        self._was_enabled = True
        self._last_input = self._last_full = clock()
        self.full_collections = 0

    @property
    def running(self) -> bool:
        return self._saved is not None

    def start(self) -> None:
        if self._saved is not None:
            return
        gc.collect()
        gc.freeze()
        self._saved = gc.get_threshold()
        gc.set_threshold(self._saved[0], self._saved[1], NEVER)
        self._was_enabled = gc.isenabled()
        gc.enable()
        self._last_full = self._clock()

    def stop(self) -> None:
        """Give the process back its collector as it was (tests run many apps in one process)."""
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.unfreeze()
        if not self._was_enabled:
            gc.disable()

    def input_seen(self) -> None:
        self._last_input = self._clock()

    def tick(self) -> None:
        if self._saved is None:
            return
        now = self._clock()
        if full_collection_due(gc.get_count()[2], self._saved[2], now - self._last_input, now - self._last_full):
            gc.collect()
            self._last_full = self._clock()
            self.full_collections += 1
