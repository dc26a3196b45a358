"""The audit table: one item per mutating request, newest first, kept for the retention period.

Key: ``tenant_id`` (``PLATFORM`` for operators) and ``event_key`` = ``{ISO time}#{event id}``, so a
query in reverse order is newest first and ``since`` is a key condition. Two indexes serve the
``actor`` and ``action`` filters without scanning.
"""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class AuditByActor(GlobalSecondaryIndex["AuditEventItem"]):
    class Meta:
        index_name = "by_actor"
        projection = AllProjection()

    tenant_actor = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)


class AuditByAction(GlobalSecondaryIndex["AuditEventItem"]):
    class Meta:
        index_name = "by_action"
        projection = AllProjection()

    tenant_action = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)


class AuditEventItem(Model):
    class Meta:
        table_name = "audit"
        ttl_attribute = "expires_at"

    tenant_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    actor = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    source_ip = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute()
    status_code = NumberAttribute()
    details = MapAttribute(null=True)  # type: ignore[var-annotated]
    tenant_actor = UnicodeAttribute()
    tenant_action = UnicodeAttribute()
    expires_at = TTLAttribute()

    by_actor = AuditByActor()
    by_action = AuditByAction()
