"""Orders synced from TikTok Shop: one item per order, keyed for the queries the API serves.

Key: ``shop_key`` = ``{tenant_id}#{shop_id}`` and ``order_id``. ``created_key`` =
``{create_time:010d}#{order_id}`` orders a shop's orders by creation time (index ``by_created``);
``status_key`` = ``{shop_key}#{status}`` with the same sort key serves the status filter
(index ``by_status``). Brand and text filters narrow those queries.

Written by ``store/order_writes.py`` only (low-level items, same attribute types as this model).
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


def shop_key(tenant_id: str, shop_id: str) -> str:
    return f"{tenant_id}#{shop_id}"


def created_key(create_time: int, order_id: str) -> str:
    return f"{create_time:010d}#{order_id}"


class OrdersByCreated(GlobalSecondaryIndex["OrderItem"]):
    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    shop_key = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OrdersByStatus(GlobalSecondaryIndex["OrderItem"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status_key = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OrderItem(Model):
    class Meta:
        table_name = "orders"

    shop_key = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute(range_key=True)
    created_key = UnicodeAttribute()
    status_key = UnicodeAttribute()
    status = UnicodeAttribute()
    create_time = NumberAttribute()
    update_time = NumberAttribute()
    paid_time = NumberAttribute(null=True)
    currency = UnicodeAttribute()
    # amounts as TikTok sends them (decimal strings) and in minor units for arithmetic
    total_amount = UnicodeAttribute()
    total_minor = NumberAttribute()
    brands = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[var-annotated]
    search_text = UnicodeAttribute(default="")
    line_items = JSONAttribute(default=list)
    buyer = JSONAttribute(null=True)
    # the order's contribution to the daily aggregates, as last applied: its day (UTC, by creation
    # time), status and total (above), and the sale prices per brand; a newer version subtracts it
    day = UnicodeAttribute()
    brand_minor = JSONAttribute(null=True)

    by_created = OrdersByCreated()
    by_status = OrdersByStatus()
