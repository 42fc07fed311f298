"""The [forecast], [staffing] and [twin] sections are validated like the rest of the policy."""

from __future__ import annotations

import pytest

from domain.policy import PolicyError, load_policy, parse_policy
from settings import ROOT

TEXT = (ROOT / "config" / "policy.toml").read_text(encoding="utf-8")


def test_the_shipped_policy_has_the_sections() -> None:
    policy = load_policy(ROOT / "config" / "policy.toml")
    assert policy.forecast.horizon_days == 30 and policy.forecast.holiday_region == "CN"
    assert policy.staffing.handle_seconds("billing") == 600
    assert policy.staffing.handle_seconds("no-such-team") == 720
    assert policy.twin.bottleneck_breach_percent == 10


@pytest.mark.parametrize(("old", "new", "key"), [
    ("horizon_days = 30", "horizon_days = 0", "forecast.horizon_days"),
    ("target_percent = 80", "target_percent = 100", "staffing.target_percent"),
    ("tick_seconds = 60", "tick_seconds = inf", "twin.tick_seconds"),
])
def test_a_bad_number_names_its_key(old: str, new: str, key: str) -> None:
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        parse_policy(TEXT.replace(old, new))
