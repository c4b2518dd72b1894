"""Polling for a condition in synchronous tests: bounded, never a timed assertion."""

from __future__ import annotations

import time


def poll(predicate, timeout: float = 20) -> bool:
    """Whether `predicate()` became true within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def wait_until(predicate, timeout: float = 60, what: str = "") -> None:
    """Return once `predicate()` is true; fail saying what never happened."""
    if not poll(predicate, timeout):
        raise AssertionError(f"timed out waiting for {what or predicate}")
