"""EventBridge schedule expressions: ``rate(...)`` and ``cron(...)``, parsed and evaluated locally.

Accepts Chalice's ``Rate``/``Cron`` objects or the raw strings EventBridge takes
(``"rate(15 minutes)"``, ``"cron(0 12 * * ? *)"``). Cron follows EventBridge, not Unix: six fields
(minutes hours day-of-month month day-of-week year), day-of-week 1-7 = SUN-SAT, one of the two day
fields must be ``?``. ``L``, ``W`` and ``#`` are not supported (a clear ``ValueError``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalice.app import ScheduleExpression

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


def expression_string(expression: str | ScheduleExpression) -> str:
    return expression if isinstance(expression, str) else expression.to_string()


@dataclass(frozen=True)
class RateSchedule:
    seconds: int

    def next_after(self, moment: datetime) -> datetime:
        return moment + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: "?"
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # None: "?"
    years: frozenset[int]

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        aws_dow = (day.weekday() + 1) % 7 + 1  # Monday=0 in Python; SUN=1 in EventBridge
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        return self.days_of_week is None or aws_dow in self.days_of_week

    def next_after(self, moment: datetime) -> datetime | None:
        """The first matching minute strictly after ``moment`` (within about five years), else None."""
        start = (moment + timedelta(minutes=1)).replace(second=0, microsecond=0)
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * 5):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None


Schedule = RateSchedule | CronSchedule


def parse_schedule(expression: str | ScheduleExpression) -> Schedule:
    text = expression_string(expression).strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
        if value <= 0:
            raise ValueError(f"{text!r}: the rate must be positive")
        return RateSchedule(value * _UNIT_SECONDS[unit])
    cron = _CRON.match(text)
    if not cron:
        raise ValueError(f"{text!r} is neither rate(...) nor cron(...)")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"{text!r}: EventBridge cron takes six fields, got {len(fields)}")
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"{text!r}: exactly one of day-of-month and day-of-week must be '?'")
    return CronSchedule(
        minutes=_field(minutes, 0, 59, {}, text),
        hours=_field(hours, 0, 23, {}, text),
        days_of_month=None if dom == "?" else _field(dom, 1, 31, {}, text),
        months=_field(month, 1, 12, _MONTHS, text),
        days_of_week=None if dow == "?" else _field(dow, 1, 7, _DAYS, text),
        years=_field(year, 1970, 2199, {}, text),
    )


def _field(spec: str, low: int, high: int, names: dict[str, int], text: str) -> frozenset[int]:
    values: set[int] = set()

    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise ValueError(f"{text!r}: unsupported cron token {token!r} (L, W and # are not supported)")
        value = int(token)
        if not low <= value <= high:
            raise ValueError(f"{text!r}: {value} is outside {low}-{high}")
        return value

    for part in spec.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step <= 0:
            raise ValueError(f"{text!r}: bad step in {part!r}")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, last_text = base.split("-", 1)
            first, last = number(first_text), number(last_text)
        else:
            first = number(base)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


def utc_now() -> datetime:
    return datetime.now(UTC)
