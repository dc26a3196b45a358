"""The tenant's one product catalogue: products from shops, affiliate discovery and by hand.

Key: ``tenant_id`` and ``product_id`` (``{source}:{id}``, e.g. ``shop:1729…``). Index ``by_source``
(``source_key`` = ``{tenant_id}#{source}#{shop_id or ''}``, ``product_id``) lists one shop's share
or one source's.

``status`` is ClickTok's lifecycle of a product, whatever its source: ``new`` until a video of it is
ready, then ``video_created``. A shop product's listing status in TikTok Shop (``ACTIVATE``,
``SELLER_DEACTIVATED``, …) is ``shop_status``, which the products sync rewrites; the sync writes
``status`` only when a product has none.
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

NEW, VIDEO_CREATED = "new", "video_created"
STATUSES = (NEW, VIDEO_CREATED)


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
    # ClickTok's lifecycle (STATUSES), for every source
    status = UnicodeAttribute()
    # a shop product's status in TikTok Shop (ACTIVATE, …), written by the sync only
    shop_status = UnicodeAttribute(null=True)
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
