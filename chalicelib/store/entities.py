"""The low-volume entities table: tenants, users, API keys and rate windows, one discriminator.

Keys:
- tenant      pk ``TENANT#{tenant_id}``  sk ``#TENANT``
- user        pk ``TENANT#{tenant_id}``  sk ``USER#{user_id}``      (operators: pk ``PLATFORM``)
- email claim pk ``TENANT#{tenant_id}``  sk ``EMAIL#{email}``       (one user per email per tenant)
- api key     pk ``KEY#{sha256 of key}`` sk ``#KEY``                (one GetItem per request)
- rate window pk ``RATE#{key hash}``     sk ``{minute}``            (expires by TTL)

Index ``by_parent`` (``parent_pk``, ``parent_sk``) is shared by every kind that lists under a parent
thing: ``parent_pk`` = ``TENANT#{tenant_id}#{PARENT KIND}#{parent id}`` (:func:`parent_partition`)
and ``parent_sk`` = the item's own sort key (``{KIND}#{time-ordered id}``), so one query lists one
parent's items of one kind, oldest or newest first. It is sparse: only items that set ``parent_pk``
are in it. Users so far: video jobs under their product (``store/videos.py``).
"""

from __future__ import annotations

from typing import TypeVar

from pynamodb.attributes import (
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

PLATFORM_PARTITION = "PLATFORM"
_M = TypeVar("_M", bound=Model)


def tenant_partition(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def parent_partition(tenant_id: str, parent_kind: str, parent_id: str) -> str:
    """``by_parent``'s partition of one parent thing of a tenant, e.g. ``TENANT#t1#PRODUCT#manual:…``."""
    return f"{tenant_partition(tenant_id)}#{parent_kind}#{parent_id}"


def member_partition(tenant_id: str | None) -> str:
    return tenant_partition(tenant_id) if tenant_id else PLATFORM_PARTITION


class EntityItem(Model):
    class Meta:
        table_name = "entities"
        ttl_attribute = "expires_at"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    expires_at = TTLAttribute(null=True)


class ByParent(GlobalSecondaryIndex[_M]):
    """The ``by_parent`` index; a kind declares ``parent_pk``, ``parent_sk``, ``by_parent = ByParent()``."""

    class Meta:
        index_name = "by_parent"
        projection = AllProjection()

    parent_pk = UnicodeAttribute(hash_key=True)
    parent_sk = UnicodeAttribute(range_key=True)


class TenantItem(EntityItem, discriminator="tenant"):
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    SORT_KEY = "#TENANT"


class UserItem(EntityItem, discriminator="user"):
    tenant_id = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    key_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)

    SORT_PREFIX = "USER#"


class EmailClaimItem(EntityItem, discriminator="email_claim"):
    user_id = UnicodeAttribute()

    SORT_PREFIX = "EMAIL#"


class ApiKeyItem(EntityItem, discriminator="api_key"):
    tenant_id = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    email = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    SORT_KEY = "#KEY"

    @staticmethod
    def partition(key_hash: str) -> str:
        return f"KEY#{key_hash}"


class RateWindowItem(EntityItem, discriminator="rate_window"):
    hits = NumberAttribute(default=0)

    @staticmethod
    def partition(key_hash: str) -> str:
        return f"RATE#{key_hash}"
