"""TikTok Shop accounts: connect (OAuth), list, disconnect, sync, and the webhook receiver."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import Field, StringConstraints

from chalicelib.api.models import ApiModel, ItemsPage, PageQuery, RequestModel
from chalicelib.api.routing import Reply, RequestContext, route
from chalicelib.domain.principals import Principal, Role
from chalicelib.services import shop_webhooks, shops
from chalicelib.store.shops import ShopItem, SyncStreamItem

bp = Blueprint(__name__)

Stream = Literal["orders", "products"]
ShopId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,64}$")]


class ConnectStart(ApiModel):
    authorize_url: str
    state: str


class CallbackQuery(RequestModel):
    code: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    state: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    # TikTok may add its own parameters to the redirect; they are not ours to refuse
    model_config = RequestModel.model_config | {"extra": "ignore"}


class StreamStatus(ApiModel):
    state: str
    full: bool
    cursor: int | None = Field(description="orders/products updated before this time (Unix s) are synced")
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    next_due_at: int | None
    stats: dict[str, Any] | None = Field(
        description="orders_seen, orders_written, api_calls, pages, duration_ms of the last run"
    )


class Shop(ApiModel):
    shop_id: str
    name: str
    region: str | None
    status: Literal["connected", "needs_reconnect", "disconnected"]
    status_reason: str | None
    connected_at: datetime
    access_token_expires_at: int | None
    sync: dict[str, StreamStatus]


class ShopPage(ItemsPage[Shop]):
    pass


class Connected(ApiModel):
    tenant_id: str
    shops: list[Shop]


class SyncRequest(RequestModel):
    full: bool = False
    streams: list[Stream] = Field(default_factory=lambda: ["orders", "products"], min_length=1)


class SyncStatus(ApiModel):
    shop_id: str
    streams: dict[str, StreamStatus]


class WebhookAck(ApiModel):
    status: str
    notification_id: str


def _stream(item: SyncStreamItem) -> StreamStatus:
    return StreamStatus(
        state=item.state,
        full=bool(item.full),
        cursor=item.cursor,
        queued_at=item.queued_at,
        started_at=item.started_at,
        finished_at=item.finished_at,
        last_success_at=item.last_success_at,
        last_error=item.last_error,
        next_due_at=int(item.due_at) if item.due_pk and item.due_at is not None else None,
        stats=item.stats,
    )


def _shop(item: ShopItem) -> Shop:
    return Shop(
        shop_id=item.shop_id,
        name=item.name,
        region=item.region,
        status=item.status,  # type: ignore[arg-type]
        status_reason=item.status_reason,
        connected_at=item.connected_at,
        access_token_expires_at=item.access_token_expires_at,
        sync={s.stream: _stream(s) for s in shops.sync_streams(item.tenant_id, item.shop_id)},
    )


@route(
    bp,
    "/shops/connect",
    "GET",
    summary="Start connecting a TikTok Shop account: send the seller to authorize_url",
    role=Role.ADMIN,
    response=ConnectStart,
)
def connect(ctx: RequestContext) -> ConnectStart:
    started = shops.start_connect(ctx.caller)
    return ConnectStart(authorize_url=started.authorize_url, state=started.state)


@route(
    bp,
    "/shops/oauth/callback",
    "GET",
    summary="Where TikTok Shop sends the seller back: completes the connection (the state binds it)",
    role=None,
    query=CallbackQuery,
    response=Connected,
    action="shop.connect",
)
def oauth_callback(ctx: RequestContext) -> Connected:
    query: CallbackQuery = ctx.query
    connected = shops.complete_connect(query.code, query.state)
    ctx.principal = Principal(
        user_id=connected.user_id, tenant_id=connected.tenant_id, role=connected.role, email="", key_hash=""
    )
    ctx.audit_target = ",".join(shop.shop_id for shop in connected.shops)
    ctx.audit_details = {"shops": [shop.shop_id for shop in connected.shops]}
    return Connected(tenant_id=connected.tenant_id, shops=[_shop(item) for item in connected.shops])


@route(
    bp,
    "/shops",
    "GET",
    summary="The tenant's TikTok Shop accounts",
    role=Role.VIEWER,
    query=PageQuery,
    response=ShopPage,
)
def list_shops(ctx: RequestContext) -> ShopPage:
    query: PageQuery = ctx.query
    page = shops.list_shops(ctx.caller.tenant_id or "", limit=query.limit, cursor=query.cursor)
    return ShopPage(items=[_shop(item) for item in page.items], next_cursor=page.next_cursor)


@route(
    bp,
    "/shops/{shop_id}",
    "GET",
    summary="A shop with its connection and sync status",
    role=Role.VIEWER,
    response=Shop,
)
def get_shop(ctx: RequestContext, shop_id: str) -> Shop:
    return _shop(shops.get_shop(ctx.caller.tenant_id or "", shop_id))


@route(
    bp,
    "/shops/{shop_id}",
    "DELETE",
    summary="Disconnect a shop: its syncs stop and its tokens are deleted",
    role=Role.ADMIN,
    status=204,
    action="shop.disconnect",
)
def disconnect(ctx: RequestContext, shop_id: str) -> Reply:
    ctx.audit_target = shop_id
    shops.disconnect(ctx.caller.tenant_id or "", shop_id)
    return Reply(None, 204)


@route(
    bp,
    "/shops/{shop_id}/sync",
    "POST",
    summary="Sync a shop now; the streams are queued when this answers",
    role=Role.EDITOR,
    body=SyncRequest,
    response=SyncStatus,
    status=202,
    action="shop.sync",
    errors=(409,),
)
def request_sync(ctx: RequestContext, shop_id: str) -> SyncStatus:
    body: SyncRequest = ctx.body
    ctx.audit_target = shop_id
    ctx.audit_details = {"full": body.full, "streams": sorted(set(body.streams))}
    streams = shops.request_sync(
        ctx.caller.tenant_id or "", shop_id, sorted(set(body.streams)), full=body.full
    )
    return SyncStatus(shop_id=shop_id, streams={s.stream: _stream(s) for s in streams})


@route(
    bp,
    "/shops/{shop_id}/sync",
    "GET",
    summary="Each stream's sync status",
    role=Role.VIEWER,
    response=SyncStatus,
)
def sync_status(ctx: RequestContext, shop_id: str) -> SyncStatus:
    tenant_id = ctx.caller.tenant_id or ""
    shops.get_shop(tenant_id, shop_id)
    return SyncStatus(
        shop_id=shop_id, streams={s.stream: _stream(s) for s in shops.sync_streams(tenant_id, shop_id)}
    )


@route(
    bp,
    "/webhooks/tiktok-shop",
    "POST",
    summary="TikTok Shop notifications (signed with the app secret; no API key)",
    role=None,
    response=WebhookAck,
)
def tiktok_shop_webhook(ctx: RequestContext) -> WebhookAck:
    outcome = shop_webhooks.handle(ctx.request.raw_body or b"", ctx.request.headers.get("authorization"))
    return WebhookAck(status=outcome.status, notification_id=outcome.notification_id)
