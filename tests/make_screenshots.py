"""Copy the snapshot SVGs into screenshots/ under plain names.

Run after `pytest tests/test_snapshots.py --snapshot-update`:
    python -m tests.make_screenshots
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).parent.parent
SNAPSHOTS = ROOT / "tests" / "__snapshots__" / "test_snapshots"
SCREENSHOTS = ROOT / "screenshots"


def screenshot_pairs() -> list[tuple[Path, Path]]:
    return [(svg, SCREENSHOTS / svg.name.removeprefix("test_")) for svg in sorted(SNAPSHOTS.glob("test_*.svg"))]


def main() -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for source, target in screenshot_pairs():
        shutil.copyfile(source, target)
        print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
