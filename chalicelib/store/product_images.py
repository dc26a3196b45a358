"""Product images: one item per tenant and source URL, mapping the URL to its stored object.

In the entities table: pk ``TENANT#{tenant}``, sk ``IMAGESRC#{sha256 of the URL}``. A product lists
its image URLs in order (``ProductItem.image_urls``); each URL's state lives here, so a URL used
by many products is fetched once per tenant, and a product's images are one BatchGet.

The object itself is content-addressed and shared: ``images/{sha256 of the stored bytes}.jpg|png``
in the media bucket; the same bytes are stored once whoever asks for them.
"""

from __future__ import annotations

import hashlib

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.store.entities import EntityItem, tenant_partition


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class ProductImageItem(EntityItem, discriminator="product_image"):
    tenant_id = UnicodeAttribute()
    source_url = UnicodeAttribute()
    # ready | failed
    status = UnicodeAttribute()
    reason_code = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    http_status = NumberAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    s3_key = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    bytes = NumberAttribute(null=True)
    source_type = UnicodeAttribute(null=True)
    source_width = NumberAttribute(null=True)
    source_height = NumberAttribute(null=True)
    source_bytes = NumberAttribute(null=True)
    fetched_at = UTCDateTimeAttribute()
    attempts = NumberAttribute(default=1)

    SORT_PREFIX = "IMAGESRC#"

    @classmethod
    def key(cls, tenant_id: str, source_url: str) -> tuple[str, str]:
        return tenant_partition(tenant_id), cls.SORT_PREFIX + url_hash(source_url)
