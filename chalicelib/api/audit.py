"""The audit trail of the caller's tenant (operators: of the platform)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from chalice import Blueprint
from pydantic import AwareDatetime, Field, StringConstraints

from chalicelib.api.models import ApiModel, ItemsPage, PageQuery
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.principals import Role
from chalicelib.services import audit
from chalicelib.store.audit import AuditEventItem

bp = Blueprint(__name__)


class AuditQuery(PageQuery):
    action: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="only this action, e.g. user.create"
    )
    actor: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="only this user id"
    )
    since: AwareDatetime | None = Field(
        default=None, description="ISO 8601 time with offset; events at or after it"
    )


class AuditEvent(ApiModel):
    event_id: str
    occurred_at: datetime
    actor: str
    actor_role: str
    action: str
    target: str | None
    outcome: str
    status_code: int
    request_id: str | None
    source_ip: str | None
    details: dict[str, Any] | None


class AuditPage(ItemsPage[AuditEvent]):
    pass


def _event(item: AuditEventItem) -> AuditEvent:
    return AuditEvent(
        event_id=item.event_id,
        occurred_at=datetime.fromisoformat(item.occurred_at),
        actor=item.actor,
        actor_role=item.actor_role,
        action=item.action,
        target=item.target,
        outcome=item.outcome,
        status_code=int(item.status_code),
        request_id=item.request_id,
        source_ip=item.source_ip,
        details=item.details.as_dict() if item.details is not None else None,
    )


@route(
    bp,
    "/audit",
    "GET",
    summary="Audit events, newest first",
    role=Role.ADMIN,
    operators=True,
    query=AuditQuery,
    response=AuditPage,
)
def list_audit(ctx: RequestContext) -> AuditPage:
    query: AuditQuery = ctx.query
    page = audit.list_events(
        ctx.caller,
        action=query.action,
        actor=query.actor,
        since=query.since,
        limit=query.limit,
        cursor=query.cursor,
    )
    return AuditPage(items=[_event(item) for item in page.items], next_cursor=page.next_cursor)
