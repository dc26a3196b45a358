"""The audit trail: who did what to which target, from where, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.ids import time_ordered_id
from chalicelib.domain.principals import Principal
from chalicelib.store.audit import AuditEventItem
from chalicelib.store.entities import PLATFORM_PARTITION
from chalicelib.store.paging import Page, query_source_page


@dataclass(frozen=True)
class AuditRecord:
    action: str
    target: str | None
    outcome: str
    status_code: int
    request_id: str | None
    source_ip: str | None
    details: dict[str, Any] | None = None


def audit_partition(principal: Principal) -> str:
    return principal.tenant_id or PLATFORM_PARTITION


def record(principal: Principal, event: AuditRecord) -> AuditEventItem:
    now = datetime.now(UTC)
    partition = audit_partition(principal)
    event_id = time_ordered_id()
    item = AuditEventItem(
        tenant_id=partition,
        event_key=f"{now.isoformat(timespec='milliseconds')}#{event_id}",
        event_id=event_id,
        occurred_at=now.isoformat(timespec="milliseconds"),
        actor=principal.user_id,
        actor_role=principal.role.value,
        action=event.action,
        target=event.target,
        request_id=event.request_id,
        source_ip=event.source_ip,
        outcome=event.outcome,
        status_code=event.status_code,
        details=event.details,
        tenant_actor=f"{partition}#{principal.user_id}",
        tenant_action=f"{partition}#{event.action}",
        expires_at=now + timedelta(days=get_settings().audit_retention_days),
    )
    item.save()
    return item


def list_events(
    principal: Principal,
    *,
    action: str | None,
    actor: str | None,
    since: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[AuditEventItem]:
    """Newest first. ``actor`` and ``action`` are served by an index each; both together filter."""
    partition = audit_partition(principal)
    range_condition = None
    if since is not None:
        range_condition = AuditEventItem.event_key >= since.astimezone(UTC).isoformat(timespec="milliseconds")
    filter_condition = None
    if actor is not None:
        index, hash_value, key_names = AuditEventItem.by_actor, f"{partition}#{actor}", ("tenant_actor",)
        if action is not None:
            filter_condition = AuditEventItem.action == action
    elif action is not None:
        index, hash_value, key_names = AuditEventItem.by_action, f"{partition}#{action}", ("tenant_action",)
    else:
        index, hash_value, key_names = None, partition, ()
    return query_source_page(
        index if index is not None else AuditEventItem,
        hash_value,
        range_condition,
        filter_condition=filter_condition,
        newest_first=True,
        limit=limit,
        cursor=cursor,
        scope=("audit", partition, action, actor, since),
        key_names=("tenant_id", "event_key", *key_names),
    )
