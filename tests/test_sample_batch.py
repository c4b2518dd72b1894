"""Samples on their way to the screen stay bounded when the screen falls behind (pure: no app)."""

from __future__ import annotations

from jtui.core.model import Sample
from jtui.ui.messages import SampleBatch


def test_a_host_far_ahead_of_the_screen_keeps_only_its_newest_samples():
    batch = SampleBatch()
    for n in range(100):
        batch.add("busy", Sample(time=float(n)))
        if n % 10 == 0:
            batch.add("calm", Sample(time=float(n)))
    kept = batch.take()
    busy = [s.time for alias, s in kept if alias == "busy"]
    assert busy == [float(n) for n in range(90, 100)], "the newest MAX_BEHIND, in order"
    assert [s.time for alias, s in kept if alias == "calm"] == [float(n) for n in range(0, 100, 10)]
    assert batch.dropped == 90 and batch.take() == [] and not batch.posted
