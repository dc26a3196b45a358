"""Daily shop aggregates, kept up to date as orders arrive and change status.

Key: ``shop_key`` = ``{tenant_id}#{shop_id}`` and ``day`` (``YYYY-MM-DD``, UTC, by order creation
time). Counters are flat attributes. An order's change to them commits with the order write: as
``ADD`` updates in the same transaction (webhook refreshes), or held on its sync run's stream item
in the same transaction and applied here in batches (``store/sync_ledger.py``), so an order is
counted exactly once however often it is synced:
- ``orders``: orders created that day (every status); ``gmv_minor``/``gmv_orders``: the orders
  that count toward GMV (not UNPAID, not CANCELLED);
- ``status#<STATUS>``: orders by current status; ``brand_gmv#<brand>``, ``brand_orders#<brand>``.
A 30-day KPI read is one query of about 30 items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model


class DailyShopItem(Model):
    class Meta:
        table_name = "daily"

    shop_key = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)
    currency = UnicodeAttribute(null=True)
    orders = NumberAttribute(default=0)
    gmv_orders = NumberAttribute(default=0)
    gmv_minor = NumberAttribute(default=0)


def add_action(
    table: str, shop_key: str, day: str, counters: Mapping[str, int], currency: str
) -> dict[str, Any]:
    """A ``TransactWriteItems`` update that ``ADD``s ``counters`` to a day item (created if absent)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {":currency": {"S": currency}}
    adds = []
    for index, (name, value) in enumerate(sorted(counters.items())):
        names[f"#c{index}"] = name
        values[f":c{index}"] = {"N": str(value)}
        adds.append(f"#c{index} :c{index}")
    return {
        "Update": {
            "TableName": table,
            "Key": {"shop_key": {"S": shop_key}, "day": {"S": day}},
            "UpdateExpression": "SET currency = if_not_exists(currency, :currency) ADD " + ", ".join(adds),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def create_action(
    table: str, shop_key: str, day: str, counters: Mapping[str, int], currency: str
) -> dict[str, Any]:
    """A ``TransactWriteItems`` put of a whole new day item; it fails if the day item exists.

    Equivalent to ``add_action`` on a missing item, at a fraction of its cost when a day carries
    dozens of counters (one attribute write each in an update)."""
    item: dict[str, Any] = {
        "shop_key": {"S": shop_key},
        "day": {"S": day},
        "currency": {"S": currency},
        **{name: {"N": str(value)} for name, value in counters.items()},
    }
    return {
        "Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(shop_key)"}
    }
