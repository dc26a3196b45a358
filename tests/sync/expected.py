"""What the store should hold, computed from the sandbox's ground truth independently of the sync."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from local.sandboxes.tiktok_shop.generate import CATALOGUE

NOT_GMV = {"UNPAID", "CANCELLED"}


def minor(amount: str) -> int:  # USD shops in these tests: two decimals, as strings
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def catalogue_brand(product_name: str) -> str:
    return max((b for b in CATALOGUE if product_name.startswith(b + " ")), key=len)


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def expected_totals(
    orders: list[dict[str, Any]], first: str | None = None, last: str | None = None
) -> dict[str, Any]:
    picked = [
        o
        for o in orders
        if (first is None or day(o["create_time"]) >= first)
        and (last is None or day(o["create_time"]) <= last)
    ]
    counted = [o for o in picked if o["status"] not in NOT_GMV]
    brand_gmv: Counter[str] = Counter()
    brand_orders: Counter[str] = Counter()
    for order in counted:
        seen = set()
        for line in order["line_items"]:
            brand = catalogue_brand(line["product_name"])
            brand_gmv[brand] += minor(line["sale_price"])
            seen.add(brand)
        for brand in seen:
            brand_orders[brand] += 1
    return {
        "orders": len(picked),
        "gmv_orders": len(counted),
        "gmv_minor": sum(minor(o["payment"]["total_amount"]) for o in counted),
        "by_status": dict(sorted(Counter(o["status"] for o in picked).items())),
        "by_brand": {b: {"orders": brand_orders[b], "gmv_minor": brand_gmv[b]} for b in brand_gmv},
    }
