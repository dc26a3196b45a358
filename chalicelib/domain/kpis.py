"""Shop KPIs from daily aggregate rows: totals, a zero-filled daily series, and the change against
the previous period of the same length. Pure: rows in, plain numbers out (money in minor units).

A row is a mapping with ``day`` (``YYYY-MM-DD``) and the flat counters of ``store/daily.py``
(``orders``, ``gmv_orders``, ``gmv_minor``, ``status#<S>``, ``brand_orders#<b>``, ``brand_gmv#<b>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

METRICS = ("orders", "gmv_orders", "gmv_minor", "aov_minor")


def _int(row: Mapping[str, Any], name: str) -> int:
    value = row.get(name)
    return int(value) if value is not None else 0


def average(total_minor: int, count: int) -> int:
    """``total_minor / count`` rounded half up, in minor units (0 when there is nothing to average)."""
    if count <= 0:
        return 0
    return (2 * total_minor + count) // (2 * count)


@dataclass
class Totals:
    orders: int = 0
    gmv_orders: int = 0
    gmv_minor: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_brand: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def aov_minor(self) -> int:
        return average(self.gmv_minor, self.gmv_orders)

    def add(self, row: Mapping[str, Any]) -> None:
        self.orders += _int(row, "orders")
        self.gmv_orders += _int(row, "gmv_orders")
        self.gmv_minor += _int(row, "gmv_minor")
        for name, value in row.items():
            if name.startswith("status#"):
                status = name[len("status#") :]
                self.by_status[status] = self.by_status.get(status, 0) + int(value)
            elif name.startswith("brand_orders#"):
                brand = self.by_brand.setdefault(name[len("brand_orders#") :], {"orders": 0, "gmv_minor": 0})
                brand["orders"] += int(value)
            elif name.startswith("brand_gmv#"):
                brand = self.by_brand.setdefault(name[len("brand_gmv#") :], {"orders": 0, "gmv_minor": 0})
                brand["gmv_minor"] += int(value)

    def metrics(self) -> dict[str, int]:
        return {
            "orders": self.orders,
            "gmv_orders": self.gmv_orders,
            "gmv_minor": self.gmv_minor,
            "aov_minor": self.aov_minor,
        }

    def breakdowns(self) -> dict[str, Any]:
        """By status and by brand, zero counters dropped, brands by GMV then name."""
        statuses = {status: count for status, count in sorted(self.by_status.items()) if count}
        kept = [(brand, v) for brand, v in self.by_brand.items() if v["orders"] or v["gmv_minor"]]
        brands = sorted(
            kept,
            key=lambda item: (-item[1]["gmv_minor"], item[0]),
        )
        return {"by_status": statuses, "by_brand": dict(brands)}


def totals(rows: Iterable[Mapping[str, Any]], first: date | None = None, last: date | None = None) -> Totals:
    """The sum of ``rows`` whose day is within ``[first, last]`` (both inclusive, when given)."""
    out = Totals()
    low, high = (first.isoformat() if first else None), (last.isoformat() if last else None)
    for row in rows:
        day = str(row["day"])
        if (low is not None and day < low) or (high is not None and day > high):
            continue
        out.add(row)
    return out


def daily_series(rows: Iterable[Mapping[str, Any]], first: date, last: date) -> list[dict[str, Any]]:
    """One entry per day from ``first`` to ``last``, zeros where no row exists."""
    by_day = {str(row["day"]): row for row in rows}
    series = []
    day = first
    while day <= last:
        row = by_day.get(day.isoformat(), {})
        gmv_orders, gmv_minor = _int(row, "gmv_orders"), _int(row, "gmv_minor")
        series.append(
            {
                "day": day.isoformat(),
                "orders": _int(row, "orders"),
                "gmv_orders": gmv_orders,
                "gmv_minor": gmv_minor,
                "aov_minor": average(gmv_minor, gmv_orders),
            }
        )
        day += timedelta(days=1)
    return series


def change(current: int, previous: int) -> dict[str, Any]:
    """Absolute and percent change; percent is None when the previous value is 0."""
    percent = None if previous == 0 else round((current - previous) * 100 / previous, 2)
    return {"absolute": current - previous, "percent": percent}


@dataclass(frozen=True)
class Periods:
    first: date
    last: date
    previous_first: date
    previous_last: date


def periods(today: date, days: int) -> Periods:
    """The ``days`` days ending with ``today`` (inclusive) and the ``days`` days before them."""
    if days < 1:
        raise ValueError("days must be at least 1")
    first = today - timedelta(days=days - 1)
    return Periods(first, today, first - timedelta(days=days), first - timedelta(days=1))


def kpi_report(rows: Iterable[Mapping[str, Any]], today: date, days: int) -> dict[str, Any]:
    """Totals and daily series of the last ``days`` days, and their change against the ``days``
    before; ``rows`` should cover both periods (2 x ``days`` rows at most)."""
    span = periods(today, days)
    materialised = list(rows)
    current = totals(materialised, span.first, span.last)
    previous = totals(materialised, span.previous_first, span.previous_last)
    now, before = current.metrics(), previous.metrics()
    low, high = span.first.isoformat(), span.last.isoformat()
    return {
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "days": days,
        "totals": now,
        "previous": {"from": span.previous_first.isoformat(), "to": span.previous_last.isoformat(), **before},
        "change": {name: change(now[name], before[name]) for name in METRICS},
        "series": daily_series(
            (row for row in materialised if low <= str(row["day"]) <= high),
            span.first,
            span.last,
        ),
    }
