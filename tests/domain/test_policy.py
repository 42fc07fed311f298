"""The policy file: defaults from the company policy, and a malformed file named key by key."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.business_calendar import add_business_time, is_business_day
from domain.policy import PolicyError, load_policy, parse_policy
from settings import ROOT

TEXT = (ROOT / "config" / "policy.toml").read_text(encoding="utf-8")


def test_shipped_policy_has_the_after_sales_defaults() -> None:
    policy = load_policy(ROOT / "config" / "policy.toml")
    targets = policy.targets_for("after_sales")["P3"]
    assert (targets.first_response_seconds, targets.resolution_seconds) == (30 * 60, 48 * 3600)
    assert policy.targets_for("complaint")["P3"].resolution_seconds == 24 * 3600  # category override
    assert policy.supplier.exit_threshold_percent == 10
    assert policy.joint_meeting.solution_due_hours == 72
    load_policy(ROOT / "config" / "demo-policy.toml")


@pytest.mark.parametrize(("old", "new", "key"), [
    ("first_response_minutes = 30\nresolution_hours = 48", "first_response_minutes = -1\nresolution_hours = 48",
     "sla.priorities.P3.first_response_minutes"),
    ("warning_levels = [75, 90]", "warning_levels = [90, 75]", "sla.warning_levels"),
    ("auto_close_hours = 72", "auto_close_hourz = 72", "sla.auto_close_hourz"),
    ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "calendar"),
    ('pause_statuses = ["waiting_on_customer"]', 'pause_statuses = ["lunch"]', "sla.pause_statuses"),
])
def test_malformed_policy_names_the_bad_key(old: str, new: str, key: str) -> None:
    assert old in TEXT
    with pytest.raises(PolicyError) as err:
        parse_policy(TEXT.replace(old, new, 1), "policy.toml")
    assert key in str(err.value)


def test_holidays_by_region_code() -> None:
    text = TEXT.replace('holiday_region = ""', 'holiday_region = "CN"').replace('mode = "24x7"',
                                                                                  'mode = "business_hours"')
    calendar = parse_policy(text).ticket_policy(category="x", team="y", year=2026).calendar
    assert "2026-10-01" in calendar.holidays  # National Day


def test_region_make_up_workdays_count_as_open() -> None:
    """China's 调休: Sunday 2026-09-20 is a working day (it pays for a day off in the National Day week)."""
    text = TEXT.replace('holiday_region = ""', 'holiday_region = "CN"').replace(
        'mode = "24x7"', 'mode = "business_hours"').replace("workdays = []", 'workdays = ["2026-09-19"]')
    calendar = parse_policy(text).ticket_policy(category="x", team="y", year=2026).calendar
    assert {"2026-09-20", "2026-10-10", "2026-09-19"} <= set(calendar.workdays)  # the region's, plus listed
    shanghai = ZoneInfo("Asia/Shanghai")
    # Friday 17:00 + 2 business hours: 1 h on Friday, then the listed Saturday opens 09:00.
    friday = datetime(2026, 9, 18, 17, 0, tzinfo=shanghai)
    assert add_business_time(calendar, friday, 2 * 3600) == datetime(2026, 9, 19, 10, 0, tzinfo=shanghai)
    # Saturday 17:00 + 2 h spans the make-up Sunday: due Sunday 10:00, not Monday.
    saturday = datetime(2026, 9, 19, 17, 0, tzinfo=shanghai)
    assert add_business_time(calendar, saturday, 2 * 3600) == datetime(2026, 9, 20, 10, 0, tzinfo=shanghai)
    assert is_business_day(calendar, date(2026, 10, 10)) and not is_business_day(calendar, date(2026, 10, 6))


def test_listed_holiday_wins_over_a_region_make_up_day() -> None:
    text = TEXT.replace('holiday_region = ""', 'holiday_region = "CN"').replace(
        'mode = "24x7"', 'mode = "business_hours"').replace("holidays = []", 'holidays = ["2026-09-20"]')
    calendar = parse_policy(text).ticket_policy(category="x", team="y", year=2026).calendar
    assert "2026-09-20" in calendar.holidays and "2026-09-20" not in calendar.workdays


def test_policy_check_command_names_the_bad_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "policy.toml"
    bad.write_text(TEXT.replace("resolution_hours = 48", "resolution_hours = \"soon\""), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "cli.main", "policy", "check", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "sla.priorities.P3.resolution_hours" in proc.stderr


@pytest.mark.parametrize(("old", "new", "key"), [
    ("first_response_minutes = 30\nresolution_hours = 48", "first_response_minutes = inf\nresolution_hours = 48",
     "sla.priorities.P3.first_response_minutes"),
    ("first_response_minutes = 30\nresolution_hours = 48", "first_response_minutes = 30\nresolution_hours = 1e300",
     "sla.priorities.P3.resolution_hours"),
    ("first_response_minutes = 30\nresolution_hours = 48", "first_response_minutes = nan\nresolution_hours = 48",
     "sla.priorities.P3.first_response_minutes"),
    ("voucher_valid_days = 90", "voucher_valid_days = inf", "compensation.voucher_valid_days"),
    ("auto_close_hours = 72", "auto_close_hours = 1e300", "sla.auto_close_hours"),
    ("repeat_complaint_days = 30", "repeat_complaint_days = inf", "sla.repeat_complaint_days"),
    ("reopen_window_hours = 168", "reopen_window_hours = 1e20", "sla.reopen_window_hours"),
    ("reminder_hours = [24, 48]", "reminder_hours = [24, inf]", "joint_meeting.reminder_hours.1"),
    ("P1 = 2000", "P1 = 100000000000000000000", "compensation.amounts"),
    ("minor = 0.5", "minor = inf", "supplier.deduction_percent_by_severity.minor"),
    ("appeal_window_business_days = 10", "appeal_window_business_days = 10000000000", "appeal_window_business_days"),
])
def test_every_number_is_finite_and_bounded(old: str, new: str, key: str) -> None:
    # An infinite or huge target used to pass and make the ticket workflow overflow on every replay.
    assert old in TEXT
    with pytest.raises(PolicyError) as err:
        parse_policy(TEXT.replace(old, new, 1), "policy.toml")
    assert key in str(err.value)
