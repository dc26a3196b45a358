"""A seller's authorization of ClickTok: one per tenant and TikTok ``open_id``.

One authorization may cover several shops, and its refresh token is single-use, so the tokens
(in Secrets Manager) and the refresh lock live here, not on the shop. In the entities table:
pk ``TENANT#{tenant}``, sk ``CONN#{open_id}``; ``due_pk`` = ``DUE#tokens`` and ``due_at`` (a day
before the access token expires) let the token schedule find what to refresh without scanning.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.entities import EntityItem

TOKENS_DUE = "DUE#tokens"


def connection_secret_path(tenant_id: str, open_id: str) -> str:
    """Where an authorization's token pair lives in Secrets Manager, under the stage's prefix."""
    return f"tiktok-shop/connections/{tenant_id}/{open_id}"


class DueConnections(GlobalSecondaryIndex["ConnectionItem"]):
    class Meta:
        index_name = "by_due"
        projection = AllProjection()

    due_pk = UnicodeAttribute(hash_key=True)
    due_at = NumberAttribute(range_key=True)


class ConnectionItem(EntityItem, discriminator="connection"):
    tenant_id = UnicodeAttribute()
    open_id = UnicodeAttribute()
    seller_name = UnicodeAttribute(null=True)
    # connected | needs_reconnect | disconnected
    status = UnicodeAttribute()
    access_token_expires_at = NumberAttribute()
    refresh_token_expires_at = NumberAttribute()
    refresh_lock_until = NumberAttribute(null=True)
    refreshed_at = UTCDateTimeAttribute(null=True)
    due_pk = UnicodeAttribute(null=True)
    due_at = NumberAttribute(null=True)

    by_due = DueConnections()

    SORT_PREFIX = "CONN#"

    def secret_path(self) -> str:
        return connection_secret_path(self.tenant_id, self.open_id)
