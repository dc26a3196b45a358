"""Daily shop aggregates, kept up to date as orders arrive and change status.

Key: ``shop_key`` = ``{tenant_id}#{shop_id}`` and ``day`` (``YYYY-MM-DD``, UTC, by order creation
time). Counters are flat attributes updated with ``ADD`` in the same transaction as the order
write, so an order is counted exactly once however often it is synced:
- ``orders``: orders created that day (every status); ``gmv_minor``/``gmv_orders``: the orders
  that count toward GMV (not UNPAID, not CANCELLED);
- ``status#<STATUS>``: orders by current status; ``brand_gmv#<brand>``, ``brand_orders#<brand>``.
A 30-day KPI read is one query of about 30 items.
"""

from __future__ import annotations

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
