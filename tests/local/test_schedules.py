from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType

import pytest
from chalice import Cron, Rate

from local.pumps import ScheduleTicker
from local.schedules import CronSchedule, RateSchedule, parse_schedule
from tests.local.conftest import eventually


def test_rate_schedule_fires_with_speedup(fixture_app: ModuleType) -> None:
    ticker = ScheduleTicker(fixture_app, speedup=600)  # rate(1 minute) -> every 0.1 s
    assert sorted(s.name for s in ticker.schedules) == [
        "fixture-local-daily_noon",
        "fixture-local-every_minute",
    ]
    ticker.start()
    try:
        eventually(lambda: len(fixture_app.FIRED) >= 3, timeout=5)
    finally:
        ticker.stop()
    first, second = fixture_app.FIRED[0], fixture_app.FIRED[1]
    assert first["detail-type"] == "Scheduled Event" and first["source"] == "aws.events"
    assert first["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/fixture-local-every_minute"]
    step = datetime.fromisoformat(second["time"]) - datetime.fromisoformat(first["time"])
    assert step.total_seconds() == pytest.approx(60, abs=1)


def test_cron_schedule_fires_at_simulated_noon(fixture_app: ModuleType) -> None:
    start = datetime(2025, 3, 3, 11, 59, 59, tzinfo=UTC)
    ticker = ScheduleTicker(fixture_app, speedup=1000, clock=lambda: start)
    noon = next(s for s in ticker.schedules if s.name.endswith("daily_noon"))
    assert noon.next_due == datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
    eventually(lambda: ticker.tick() >= 0 and noon.fired == 1, timeout=2, interval=0.01)
    assert noon.next_due == datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    ticker.stop()


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 12 * * ? *)", datetime(2024, 1, 1, 12, 0), datetime(2024, 1, 2, 12, 0)),
        ("cron(15 10 ? * MON-FRI *)", datetime(2024, 1, 6, 9, 0), datetime(2024, 1, 8, 10, 15)),  # Sat -> Mon
        ("cron(0/15 * * * ? *)", datetime(2024, 1, 1, 0, 7), datetime(2024, 1, 1, 0, 15)),
        ("cron(0 0 1 JAN,JUL ? *)", datetime(2024, 2, 1), datetime(2024, 7, 1)),
        ("cron(30 8 ? * 1 *)", datetime(2024, 1, 1), datetime(2024, 1, 7, 8, 30)),  # 1 = Sunday
        (Cron(0, 18, "?", "*", "MON-FRI", "*"), datetime(2024, 1, 5, 18, 0), datetime(2024, 1, 8, 18, 0)),
    ],
)
def test_cron_next_after(expression: object, after: datetime, expected: datetime) -> None:
    schedule = parse_schedule(expression)  # type: ignore[arg-type]
    assert isinstance(schedule, CronSchedule)
    assert schedule.next_after(after.replace(tzinfo=UTC)) == expected.replace(tzinfo=UTC)


def test_rate_expressions() -> None:
    assert parse_schedule("rate(15 minutes)") == RateSchedule(900)
    assert parse_schedule("rate(1 hour)") == RateSchedule(3600)
    assert parse_schedule(Rate(2, unit=Rate.DAYS)) == RateSchedule(172800)


@pytest.mark.parametrize(
    "bad",
    ["rate(0 minutes)", "rate(5 seconds)", "cron(0 12 * * *)", "cron(0 12 * * * *)", "cron(0 12 L * ? *)"],
)
def test_bad_expressions_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(bad)
