"""Reading a shop's synced orders, their stats and KPIs, and its share of the product catalogue.

Lists page with ``query_page`` cursors. Order stats and KPIs read the daily aggregates
(``store/daily.py``), never the orders: their granularity is one UTC day (by order creation time),
so ``from``/``to`` are whole days and a 30-day KPI read is about 60 items (the period and the one
before it). Money is returned both as a decimal string in the shop's currency and in minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.kpis import kpi_report, periods, totals
from chalicelib.domain.money import from_minor
from chalicelib.errors import BadRequest, NotFound
from chalicelib.integrations.aws.clients import client
from chalicelib.services.products import list_products, split_status
from chalicelib.store.orders import OrderItem, shop_key
from chalicelib.store.paging import Page, all_of, query_source_page
from chalicelib.store.products import ProductItem

MAX_RANGE_DAYS = 366
MAX_KPI_DAYS = 366


def _epoch(value: datetime | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    return int(value)


def list_orders(
    tenant_id: str,
    shop_id: str,
    *,
    status: str | None = None,
    brand: str | None = None,
    q: str | None = None,
    created_from: datetime | int | None = None,
    created_to: datetime | int | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[OrderItem]:
    """Newest first by creation time; ``created_from`` inclusive, ``created_to`` exclusive (Unix
    seconds or aware datetimes). ``status`` is served by the ``by_status`` index; ``brand`` (exact,
    as extracted) and ``q`` (case-insensitive substring of order id, product names, SKUs) filter."""
    key = shop_key(tenant_id, shop_id)
    low, high = _epoch(created_from), _epoch(created_to)
    if low is not None and high is not None and high <= low:
        raise BadRequest("created_to must be after created_from", details=[{"field": "created_to"}])
    range_condition = None
    if low is not None or high is not None:
        # keys are "{create_time:010d}#{order_id}": "{high:010d}" sorts before every key of second high
        lo_key = f"{max(low or 0, 0):010d}"
        hi_key = f"{high:010d}" if high is not None else "9999999999~"
        range_condition = OrderItem.created_key.between(lo_key, hi_key)
    filters = []
    if brand:
        filters.append(OrderItem.brands.contains(brand))
    if q:
        filters.append(OrderItem.search_text.contains(q.strip().casefold()))
    filter_condition = all_of(filters)
    if status:
        index, hash_value = OrderItem.by_status, f"{key}#{status.upper()}"
        key_names: tuple[str, ...] = ("shop_key", "order_id", "status_key", "created_key")
    else:
        index, hash_value = OrderItem.by_created, key
        key_names = ("shop_key", "order_id", "created_key")
    return query_source_page(
        index,
        hash_value,
        range_condition,
        filter_condition=filter_condition,
        newest_first=True,
        limit=limit,
        cursor=cursor,
        scope=("orders", tenant_id, shop_id, status, brand, q, low, high),
        key_names=key_names,
    )


def get_order(tenant_id: str, shop_id: str, order_id: str) -> OrderItem:
    try:
        return OrderItem.get(shop_key(tenant_id, shop_id), order_id)
    except OrderItem.DoesNotExist:
        raise NotFound(f"order {order_id} not found in shop {shop_id}") from None


def _daily_rows(tenant_id: str, shop_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """The daily aggregate items of ``[first, last]`` as plain dicts (every counter attribute)."""
    dynamodb = client("dynamodb")
    request: dict[str, Any] = {
        "TableName": get_settings().table("daily"),
        "KeyConditionExpression": "shop_key = :key AND #day BETWEEN :first AND :last",
        "ExpressionAttributeNames": {"#day": "day"},
        "ExpressionAttributeValues": {
            ":key": {"S": shop_key(tenant_id, shop_id)},
            ":first": {"S": first.isoformat()},
            ":last": {"S": last.isoformat()},
        },
    }
    rows: list[dict[str, Any]] = []
    while True:
        answer = dynamodb.query(**request)
        for item in answer.get("Items", []):
            rows.append({name: _plain(value) for name, value in item.items()})
        if not answer.get("LastEvaluatedKey"):
            return rows
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _plain(value: Mapping[str, Any]) -> Any:
    if "N" in value:
        return int(value["N"])
    return value.get("S")


def _currency(rows: list[dict[str, Any]]) -> str | None:
    return next((str(row["currency"]) for row in rows if row.get("currency")), None)


def _money(minor: int, currency: str | None) -> str | None:
    return from_minor(minor, currency) if currency else None


def _as_date(value: date | datetime | str, field: str) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise BadRequest(f"{field} must be a date (YYYY-MM-DD)", details=[{"field": field}]) from None


def order_stats(
    tenant_id: str, shop_id: str, date_from: date | datetime | str, date_to: date | datetime | str
) -> dict[str, Any]:
    """Count, GMV, average order value, currency, by status and by brand for the UTC days
    ``date_from``..``date_to`` (both inclusive), from the daily aggregates. ``orders`` counts every
    order created in the range; GMV, AOV and the brand breakdown count the orders that are not
    UNPAID or CANCELLED (``gmv_orders``); brand GMV is the sale price of that brand's items."""
    first, last = _as_date(date_from, "from"), _as_date(date_to, "to")
    if last < first:
        raise BadRequest("to must not be before from", details=[{"field": "to"}])
    if (last - first).days >= MAX_RANGE_DAYS:
        raise BadRequest(f"at most {MAX_RANGE_DAYS} days per request", details=[{"field": "from"}])
    rows = _daily_rows(tenant_id, shop_id, first, last)
    currency = _currency(rows)
    total = totals(rows)
    breakdowns = total.breakdowns()
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "granularity": "day",
        "currency": currency,
        "orders": total.orders,
        "gmv_orders": total.gmv_orders,
        "gmv": _money(total.gmv_minor, currency),
        "gmv_minor": total.gmv_minor,
        "average_order_value": _money(total.aov_minor, currency),
        "average_order_value_minor": total.aov_minor,
        "by_status": breakdowns["by_status"],
        "by_brand": {
            brand: {
                "orders": v["orders"],
                "gmv": _money(v["gmv_minor"], currency),
                "gmv_minor": v["gmv_minor"],
            }
            for brand, v in breakdowns["by_brand"].items()
        },
    }


def kpis(tenant_id: str, shop_id: str, days: int = 30, *, today: date | None = None) -> dict[str, Any]:
    """Totals and a zero-filled daily series of the last ``days`` UTC days (today included), and
    the change against the ``days`` before them (absolute, and percent or None when that was 0)."""
    if not 1 <= days <= MAX_KPI_DAYS:
        raise BadRequest(f"days must be between 1 and {MAX_KPI_DAYS}", details=[{"field": "days"}])
    today = today or datetime.now(UTC).date()
    span = periods(today, days)
    rows = _daily_rows(tenant_id, shop_id, span.previous_first, span.last)
    report = kpi_report(rows, today, days)
    currency = _currency(rows)
    report["currency"] = currency
    for part in (report["totals"], report["previous"]):
        part["gmv"] = _money(part["gmv_minor"], currency)
        part["average_order_value"] = _money(part["aov_minor"], currency)
    for point in report["series"]:
        point["gmv"] = _money(point["gmv_minor"], currency)
    return report


def list_shop_products(
    tenant_id: str,
    shop_id: str,
    *,
    status: str | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ProductItem]:
    """The shop's share of the tenant's catalogue (``source = "shop"``), by product id; ``status`` is
    ClickTok's (``new``, ``video_created``) or TikTok Shop's (``ACTIVATE``, …): see ``split_status``."""
    clicktok_status, shop_status = split_status(status)
    return list_products(
        tenant_id,
        source="shop",
        shop_id=shop_id,
        status=clicktok_status,
        shop_status=shop_status,
        q=q,
        limit=limit,
        cursor=cursor,
    )


__all__ = ["get_order", "kpis", "list_orders", "list_shop_products", "order_stats"]
