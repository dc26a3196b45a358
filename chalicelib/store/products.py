"""The tenant's one product catalogue: products from shops, affiliate discovery and by hand.

Key: ``tenant_id`` and ``product_id`` (``{source}:{id}``, e.g. ``shop:1729…``). Index ``by_source``
(``source_key`` = ``{tenant_id}#{source}#{shop_id or ''}``, ``product_id``) lists one shop's share
or one source's.
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


def source_key(tenant_id: str, source: str, shop_id: str | None = None) -> str:
    return f"{tenant_id}#{source}#{shop_id or ''}"


class ProductsBySource(GlobalSecondaryIndex["ProductItem"]):
    class Meta:
        index_name = "by_source"
        projection = AllProjection()

    source_key = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute(range_key=True)


class ProductItem(Model):
    class Meta:
        table_name = "products"

    tenant_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute(range_key=True)
    source_key = UnicodeAttribute()
    source = UnicodeAttribute()
    shop_id = UnicodeAttribute(null=True)
    external_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    brand = UnicodeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    # shop product status (ACTIVATE, …) or ClickTok's own lifecycle for other sources
    status = UnicodeAttribute()
    currency = UnicodeAttribute(null=True)
    price = UnicodeAttribute(null=True)
    price_minor = NumberAttribute(null=True)
    stock = NumberAttribute(null=True)
    skus = JSONAttribute(default=list)
    image_urls = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[var-annotated]
    # ClickTok's own, never written by the shop sync: editable on shop products too
    affiliate_link = UnicodeAttribute(null=True)
    search_text = UnicodeAttribute(default="")
    update_time = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    by_source = ProductsBySource()
