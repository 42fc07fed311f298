"""The policy's [analysis] section is validated like every other: a bad number names its key."""

from __future__ import annotations

import pytest

from domain.policy import PolicyError, parse_policy
from settings import ROOT

TEXT = (ROOT / "config" / "policy.toml").read_text(encoding="utf-8")


def test_the_shipped_section_loads() -> None:
    a = parse_policy(TEXT).analysis
    assert (a.step_failure_threshold_percent, a.seed, a.severity["P1"]) == (40, 42, 4)


@pytest.mark.parametrize(("old", "new", "key"), [
    ("step_failure_threshold_percent = 40", "step_failure_threshold_percent = 0", "step_failure_threshold_percent"),
    ("step_failure_threshold_percent = 40", "step_failure_threshold_percent = nan", "step_failure_threshold_percent"),
    ("max_clusters = 10", "max_clusters = 1", "max_clusters"),
    ("recurring_per_window = 200", "recurring_per_window = 1e300", "recurring_per_window"),
    ("severity = { P1 = 4, P2 = 3, P3 = 2, P4 = 1 }", "severity = { P1 = 4 }", "severity"),
    ("similar_cases = 5", "similar_cases = 5\nsurprise = 1", "surprise"),
])
def test_a_bad_analysis_number_names_its_key(old: str, new: str, key: str) -> None:
    assert old in TEXT
    with pytest.raises(PolicyError) as err:
        parse_policy(TEXT.replace(old, new, 1))
    assert f"analysis.{key}" in str(err.value)
