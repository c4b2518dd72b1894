"""Regenerate every screenshot: the snapshot apps redrawn, copied to screenshots/.

    .venv/bin/python -m tests.make_screenshots

Runs the snapshot tests with --snapshot-update (they draw fixed states, so
the pictures are the same on every machine), then copies each SVG under a
plain name and removes screenshots whose snapshot is gone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
SNAPSHOTS = ROOT / "tests" / "__snapshots__" / "test_snapshots"
SCREENSHOTS = ROOT / "screenshots"


def screenshot_pairs() -> list[tuple[Path, Path]]:
    return [(svg, SCREENSHOTS / svg.name.removeprefix("test_")) for svg in sorted(SNAPSHOTS.glob("test_*.svg"))]


def main() -> int:
    redraw = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--snapshot-update",
         str(ROOT / "tests" / "test_snapshots.py")],
        cwd=ROOT,
    )
    if redraw.returncode != 0:
        return redraw.returncode
    SCREENSHOTS.mkdir(exist_ok=True)
    pairs = screenshot_pairs()
    for source, target in pairs:
        shutil.copyfile(source, target)
        print(target.relative_to(ROOT))
    for old in set(SCREENSHOTS.glob("*.svg")) - {target for _, target in pairs}:
        old.unlink()
        print(f"removed {old.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
