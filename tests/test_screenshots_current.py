"""screenshots/ shows what the snapshot tests show (the README links them)."""

from tests.make_screenshots import screenshot_pairs


def test_screenshots_match_snapshots():
    pairs = screenshot_pairs()
    assert pairs, "no snapshots found"
    stale = [str(t) for s, t in pairs if not t.exists() or t.read_bytes() != s.read_bytes()]
    assert not stale, f"run: python -m tests.make_screenshots  (stale: {stale})"
