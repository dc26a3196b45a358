"""What one version of an order adds to its shop's daily aggregates, and the change between two.

An order counts once, on the UTC day of its ``create_time``: in ``orders`` whatever its status, in
``status#<STATUS>`` for its current status, and, unless it is UNPAID or CANCELLED, in GMV
(``gmv_orders``, ``gmv_minor`` = its ``payment.total_amount``) and in its brands' counters
(``brand_orders#<brand>``, ``brand_gmv#<brand>`` = the sale prices of that brand's line items).
When a newer version arrives, the aggregates get ``delta(old, new)``: a cancelled order leaves
GMV and moves from one ``status#`` counter to another, and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.brands import brand_of
from chalicelib.domain.money import to_minor

NOT_GMV_STATUSES = frozenset({"UNPAID", "CANCELLED"})

Counters = dict[str, int]


def utc_day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def counts_toward_gmv(status: str) -> bool:
    return status not in NOT_GMV_STATUSES


@dataclass(frozen=True)
class Contribution:
    day: str
    status: str
    minor: int
    brand_minor: Mapping[str, int] = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        return counts_toward_gmv(self.status)

    def counters(self) -> Counters:
        out: Counters = {"orders": 1, f"status#{self.status}": 1}
        if self.counted:
            out["gmv_orders"] = 1
            out["gmv_minor"] = self.minor
            for brand, minor in self.brand_minor.items():
                out[f"brand_orders#{brand}"] = 1
                out[f"brand_gmv#{brand}"] = minor
        return out


def delta(old: Contribution | None, new: Contribution | None) -> dict[str, Counters]:
    """Per day, the counter changes that turn ``old``'s contribution into ``new``'s (no zeros)."""
    out: dict[str, Counters] = {}
    if new is not None:
        for name, value in new.counters().items():
            day = out.setdefault(new.day, {})
            day[name] = day.get(name, 0) + value
    if old is not None:
        for name, value in old.counters().items():
            day = out.setdefault(old.day, {})
            day[name] = day.get(name, 0) - value
    return {day: kept for day, counters in out.items() if (kept := {k: v for k, v in counters.items() if v})}


def merge_into(total: dict[str, Counters], more: Mapping[str, Counters]) -> None:
    for day, counters in more.items():
        into = total.setdefault(day, {})
        for name, value in counters.items():
            into[name] = into.get(name, 0) + value


@dataclass(frozen=True)
class OrderFacts:
    """The fields of a TikTok Shop order that ClickTok stores, normalised."""

    order_id: str
    status: str
    create_time: int
    update_time: int
    paid_time: int | None
    currency: str
    total_amount: str
    total_minor: int
    brands: list[str]
    brand_minor: dict[str, int]
    line_items: list[dict[str, Any]]
    search_text: str
    buyer: dict[str, Any] | None

    @property
    def contribution(self) -> Contribution:
        return Contribution(utc_day(self.create_time), self.status, self.total_minor, self.brand_minor)


_LINE_FIELDS = ("id", "product_id", "product_name", "sku_id", "sku_name", "seller_sku", "sale_price")


def order_facts(raw: Mapping[str, Any]) -> OrderFacts:
    """Normalise a raw order (TikTok's JSON shape) into what the store keeps."""
    payment = raw.get("payment") or {}
    lines = raw.get("line_items") or []
    currency = str(payment.get("currency") or (lines[0].get("currency") if lines else "") or "")
    total_amount = str(payment.get("total_amount") or "0")
    brand_minor: dict[str, int] = {}
    kept_lines: list[dict[str, Any]] = []
    words: list[str] = [str(raw["id"])]
    for line in lines:
        name = line.get("product_name") or ""
        brand = brand_of(name)
        if brand is not None:
            brand_minor[brand] = brand_minor.get(brand, 0) + to_minor(
                line.get("sale_price"), line.get("currency") or currency
            )
        kept = {key: line[key] for key in _LINE_FIELDS if line.get(key) not in (None, "")}
        if brand is not None:
            kept["brand"] = brand
        kept_lines.append(kept)
        words.extend((name, str(line.get("seller_sku") or ""), str(line.get("sku_name") or "")))
    buyer = {key: raw[key] for key in ("user_id", "buyer_email") if raw.get(key)} or None
    paid = raw.get("paid_time")
    return OrderFacts(
        order_id=str(raw["id"]),
        status=str(raw["status"]),
        create_time=int(raw["create_time"]),
        update_time=int(raw["update_time"]),
        paid_time=int(paid) if paid else None,
        currency=currency,
        total_amount=total_amount,
        total_minor=to_minor(total_amount, currency),
        brands=list(brand_minor),
        brand_minor=brand_minor,
        line_items=kept_lines,
        search_text=" ".join(word for word in words if word).casefold(),
        buyer=buyer,
    )
