"""Connected TikTok Shop accounts and their sync streams, OAuth states, webhook receipts, exports.

All in the entities table:
- shop          pk ``TENANT#{tenant}``          sk ``SHOP#{shop_id}``
- shop owner    pk ``SHOPID#{shop_id}``         sk ``#OWNER``   (webhooks name a shop, not a tenant)
- sync stream   pk ``TENANT#{tenant}``          sk ``SYNC#{shop_id}#{stream}``; index ``by_due``
                (``due_pk`` = ``DUE#{stream}``, ``due_at``) finds the streams a schedule must run
- oauth state   pk ``OAUTH#{state}``            sk ``#STATE``   (single use, expires by TTL)
- webhook       pk ``WEBHOOK#{notification}``   sk ``#SEEN``    (dedupe, expires by TTL)
- export        pk ``TENANT#{tenant}``          sk ``EXPORT#{export_id}``
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.entities import EntityItem, tenant_partition


class ShopItem(EntityItem, discriminator="shop"):
    tenant_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    name = UnicodeAttribute()
    region = UnicodeAttribute(null=True)
    cipher = UnicodeAttribute()
    seller_type = UnicodeAttribute(null=True)
    open_id = UnicodeAttribute(null=True)
    # connected | needs_reconnect | disconnected
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    connected_at = UTCDateTimeAttribute()
    connected_by = UnicodeAttribute(null=True)
    access_token_expires_at = NumberAttribute(null=True)
    refresh_token_expires_at = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)

    SORT_PREFIX = "SHOP#"


class ShopOwnerItem(EntityItem, discriminator="shop_owner"):
    tenant_id = UnicodeAttribute()

    SORT_KEY = "#OWNER"

    @staticmethod
    def partition(shop_id: str) -> str:
        return f"SHOPID#{shop_id}"


class DueStreams(GlobalSecondaryIndex["SyncStreamItem"]):
    class Meta:
        index_name = "by_due"
        projection = AllProjection()

    due_pk = UnicodeAttribute(hash_key=True)
    due_at = NumberAttribute(range_key=True)


class SyncStreamItem(EntityItem, discriminator="sync_stream"):
    tenant_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    stream = UnicodeAttribute()
    # idle | queued | running | succeeded | failed | stopped
    state = UnicodeAttribute(default="idle")
    full = BooleanAttribute(default=False)
    # where an interrupted run resumes: the window it pages and the page it reached
    window_start = NumberAttribute(null=True)
    window_end = NumberAttribute(null=True)
    page_token = UnicodeAttribute(null=True)
    # which pass of the run the window belongs to: "main" (the run's own window) or "catchup" (a
    # full sync's closing pass over what changed while it ran); written by services/shop_sync.py
    phase = UnicodeAttribute(null=True)
    # the high-water mark of completed runs: the next run starts at this minus the overlap
    cursor = NumberAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)
    queued_at = UTCDateTimeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    last_success_at = UTCDateTimeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    stats = JSONAttribute(null=True)
    due_pk = UnicodeAttribute(null=True)
    due_at = NumberAttribute(null=True)
    # a first sync's fast pass (services/shop_sync.py): the run holding it, whether the stream
    # ever had one, and the orders of the next page it writes unconditionally (JSON)
    fast_pass = UnicodeAttribute(null=True)
    fast_pass_used = BooleanAttribute(null=True)
    intent = UnicodeAttribute(null=True)
    # and ``pending_<n>`` attributes: aggregate deltas a run holds until it flushes them
    # (store/sync_ledger.py); written and read low-level only, since ``save()`` would drop them
    version = VersionAttribute()

    by_due = DueStreams()

    SORT_PREFIX = "SYNC#"


class OAuthStateItem(EntityItem, discriminator="oauth_state"):
    tenant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    SORT_KEY = "#STATE"

    @staticmethod
    def partition(state: str) -> str:
        return f"OAUTH#{state}"


class WebhookReceiptItem(EntityItem, discriminator="webhook_receipt"):
    received_at = UTCDateTimeAttribute()
    shop_id = UnicodeAttribute(null=True)
    event_type = NumberAttribute(null=True)

    SORT_KEY = "#SEEN"

    @staticmethod
    def partition(notification_id: str) -> str:
        return f"WEBHOOK#{notification_id}"


class ExportItem(EntityItem, discriminator="export"):
    tenant_id = UnicodeAttribute()
    export_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    export_kind = UnicodeAttribute()
    format = UnicodeAttribute()
    params = JSONAttribute()
    # queued | running | ready | failed
    status = UnicodeAttribute()
    s3_key = UnicodeAttribute(null=True)
    rows = NumberAttribute(null=True)
    bytes = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)

    SORT_PREFIX = "EXPORT#"


def connected_shops(tenant_id: str, open_id: str) -> list[ShopItem]:
    """The tenant's connected shops that one seller authorization (``open_id``) covers."""
    return [
        shop
        for shop in ShopItem.query(tenant_partition(tenant_id), ShopItem.sk.startswith(ShopItem.SORT_PREFIX))
        if shop.open_id == open_id and shop.status == "connected"
    ]
