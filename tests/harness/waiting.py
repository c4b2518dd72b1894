"""Polling for a condition in synchronous tests: bounded, never a timed assertion."""

from __future__ import annotations

import time


def wait_until(predicate, timeout: float = 60, what: str = "") -> None:
    """Return once `predicate()` is true; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or predicate}")
