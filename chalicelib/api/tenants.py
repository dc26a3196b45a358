"""Tenants: created by platform operators, each with its first owner."""

from __future__ import annotations

from typing import Annotated

from chalice import Blueprint
from pydantic import StringConstraints

from chalicelib.api.models import ApiModel, Email, RequestModel
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.principals import Role
from chalicelib.services import accounts

bp = Blueprint(__name__)


class CreateTenant(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    owner_email: Email | None = None


class IssuedUser(ApiModel):
    user_id: str
    api_key: str


class TenantCreated(ApiModel):
    tenant_id: str
    name: str
    owner: IssuedUser


@route(
    bp,
    "/tenants",
    "POST",
    summary="Create a tenant and its owner; the owner's API key is shown only in this answer",
    role=Role.OPERATOR,
    body=CreateTenant,
    response=TenantCreated,
    status=201,
    action="tenant.create",
)
def create_tenant(ctx: RequestContext) -> TenantCreated:
    body: CreateTenant = ctx.body
    created = accounts.create_tenant(
        body.name, body.owner_email or f"owner@{_slug(body.name)}.invalid", actor=ctx.caller
    )
    ctx.audit_target = created.tenant_id
    ctx.audit_details = {"name": created.name, "owner_user_id": created.owner.user_id}
    return TenantCreated(
        tenant_id=created.tenant_id,
        name=created.name,
        owner=IssuedUser(user_id=created.owner.user_id, api_key=created.owner.api_key),
    )


def _slug(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return slug[:40] or "tenant"
