"""The caller, the users of a tenant, and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chalice import Blueprint

from chalicelib.api.models import ApiModel, Email, ItemsPage, PageQuery, RequestModel
from chalicelib.api.routing import Reply, RequestContext, route
from chalicelib.api.tenants import IssuedUser
from chalicelib.domain.principals import Role
from chalicelib.services import accounts
from chalicelib.store.entities import UserItem

bp = Blueprint(__name__)

TenantRole = Literal["owner", "admin", "editor", "viewer"]


class Me(ApiModel):
    tenant_id: str | None
    user_id: str
    role: Role
    email: str


class CreateUser(RequestModel):
    email: Email
    role: TenantRole


class User(ApiModel):
    user_id: str
    email: str
    role: Role
    created_at: datetime
    created_by: str | None


class UserPage(ItemsPage[User]):
    pass


def _user(item: UserItem) -> User:
    return User(
        user_id=item.user_id,
        email=item.email,
        role=Role(item.role),
        created_at=item.created_at,
        created_by=item.created_by,
    )


@route(bp, "/me", "GET", summary="Who the API key belongs to", role=Role.VIEWER, operators=True, response=Me)
def me(ctx: RequestContext) -> Me:
    caller = ctx.caller
    return Me(tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role, email=caller.email)


@route(
    bp,
    "/users",
    "POST",
    summary="Add a user to the caller's tenant; their API key is shown only in this answer",
    role=Role.ADMIN,
    body=CreateUser,
    response=IssuedUser,
    status=201,
    action="user.create",
    errors=(409,),
)
def create_user(ctx: RequestContext) -> IssuedUser:
    body: CreateUser = ctx.body
    issued = accounts.create_user(ctx.caller, body.email, Role(body.role))
    ctx.audit_target = issued.user_id
    ctx.audit_details = {"email": body.email, "role": body.role}
    return IssuedUser(user_id=issued.user_id, api_key=issued.api_key)


@route(
    bp,
    "/users",
    "GET",
    summary="The users of the caller's tenant",
    role=Role.ADMIN,
    query=PageQuery,
    response=UserPage,
)
def list_users(ctx: RequestContext) -> UserPage:
    query: PageQuery = ctx.query
    page = accounts.list_users(ctx.caller, limit=query.limit, cursor=query.cursor)
    return UserPage(items=[_user(item) for item in page.items], next_cursor=page.next_cursor)


@route(
    bp,
    "/users/{user_id}",
    "DELETE",
    summary="Remove a user; their API key stops working at once",
    role=Role.ADMIN,
    status=204,
    action="user.delete",
    errors=(409,),
)
def delete_user(ctx: RequestContext, user_id: str) -> Reply:
    ctx.audit_target = user_id
    removed = accounts.delete_user(ctx.caller, user_id)
    ctx.audit_details = {"email": removed.email, "role": removed.role}
    return Reply(None, 204)


@route(
    bp,
    "/api-keys/rotate",
    "POST",
    summary="A new API key for the caller; the old one stops working",
    role=Role.VIEWER,
    operators=True,
    response=IssuedUser,
    status=201,
    action="api_key.rotate",
    errors=(409,),
)
def rotate_key(ctx: RequestContext) -> IssuedUser:
    issued = accounts.rotate_key(ctx.caller)
    ctx.audit_target = issued.user_id
    return IssuedUser(user_id=issued.user_id, api_key=issued.api_key)
