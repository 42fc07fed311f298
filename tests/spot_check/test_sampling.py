"""The draw (pure): sizes inside the 10-15 % band, abnormal feedback over-weighted, reproducible."""

from __future__ import annotations

from domain.hashing import keccak256
from domain.spot_check import Candidate, Checklist, SpotCheckPolicy, draw, select, stratum_size

POLICY = SpotCheckPolicy(min_percent=10, max_percent=15, abnormal_weight=3, low_rating_max=2, seed_delay_hours=1,
                         review_days=10, reminder_days_before=3, reviewers=["r1"], escalate_to="qc",
                         checklist=Checklist(["none"], ["intake"], ["minor", "major"]))


def test_sizes_stay_in_the_band_whenever_a_stratum_allows() -> None:
    import math

    inside = 0
    for n in range(1, 500):
        size = stratum_size(n, 10, 15)
        if math.ceil(0.10 * n) <= math.floor(0.15 * n):
            assert 0.10 * n <= size <= 0.15 * n, n
            inside += 1
        else:
            assert abs(size - 0.125 * n) < 1, n  # no whole number in the band: the nearest to its middle
    assert inside > 450
    assert [stratum_size(n, 10, 15) for n in (0, 1, 3, 6)] == [0, 1, 1, 1]  # at least one from a small stratum


def test_abnormal_feedback_is_over_weighted_and_the_draw_is_reproducible() -> None:
    people = [Candidate(f"T-{i:03d}", "a/b" if i % 2 else "c/d", abnormal=i % 5 == 0) for i in range(400)]
    share_in_population = sum(c.abnormal for c in people) / len(people)
    picked = abnormal = 0
    for k in range(100):
        seed = "0x" + keccak256(f"block {k}".encode()).hex()
        sample = select(people, seed, POLICY)
        assert sample == select(list(reversed(people)), seed, POLICY)  # order of the input does not matter
        picked += len(sample)
        abnormal += sum(c.abnormal for c in sample)
    assert abnormal / picked > 1.8 * share_in_population
    assert 0 < draw("0x" + "00" * 32, "T-1") < 1 and draw("0x" + "00" * 32, "T-1") != draw("0x" + "00" * 32, "T-2")
