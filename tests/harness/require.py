"""What a test needs from the machine: skipped locally when missing, a failure in CI.

Integration tests must never pass in CI by skipping: `.ci/run` installs
what they need, so a missing piece there is a broken CI, said loudly.
"""

from __future__ import annotations

import os
import shutil

import pytest


def unavailable(why: str) -> None:
    """Skip on a developer's machine; fail when the CI environment variable is set."""
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI must provide it: see .ci/run)")
    pytest.skip(why)


def need_program(name: str) -> None:
    if not shutil.which(name):
        unavailable(f"{name} is not installed")
