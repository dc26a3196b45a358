"""Connecting TikTok Shop accounts, the shops of a tenant, and requesting their syncs.

The OAuth ``state`` is random, bound to the tenant and user who asked, single-use (consumed by a
conditional delete) and good for ten minutes. A bad or reused state stores nothing.
"""

from __future__ import annotations

import secrets as random_secrets
import time
import uuid
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from chalicelib.domain.principals import Principal, Role
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.integrations.aws import queues, secrets
from chalicelib.integrations.tiktok_shop.errors import TikTokShopError
from chalicelib.observability import logger
from chalicelib.services import tiktok_shop_access as access
from chalicelib.store.connections import TOKENS_DUE, ConnectionItem, connection_secret_path
from chalicelib.store.entities import tenant_partition
from chalicelib.store.orders import shop_key
from chalicelib.store.paging import Page, prefix_page
from chalicelib.store.shops import OAuthStateItem, ShopItem, ShopOwnerItem, SyncStreamItem, connected_shops
from chalicelib.store.sync_ledger import flush_stream

STATE_TTL = timedelta(minutes=10)
STREAMS: tuple[str, ...] = ("orders", "products")
ACTIVE_STATES = frozenset({"queued", "running"})
SYNC_QUEUE = "sync"


@dataclass(frozen=True)
class ConnectStart:
    authorize_url: str
    state: str


@dataclass(frozen=True)
class Connected:
    tenant_id: str
    user_id: str
    role: Role
    shops: list[ShopItem]


def _now() -> datetime:
    return datetime.now(UTC)


# --- connecting ------------------------------------------------------------------------------


def start_connect(principal: Principal) -> ConnectStart:
    assert principal.tenant_id is not None
    credentials = access.app_credentials()
    state = random_secrets.token_urlsafe(24)
    OAuthStateItem(
        pk=OAuthStateItem.partition(state),
        sk=OAuthStateItem.SORT_KEY,
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        role=principal.role.value,
        created_at=_now(),
        expires_at=_now() + STATE_TTL,
    ).save()
    client = access.new_client()
    url = client.authorize_url(credentials.service_id or credentials.app_key, state)
    client.close()
    return ConnectStart(authorize_url=url, state=state)


def _consume_state(state: str) -> OAuthStateItem:
    invalid = BadRequest(
        "the state is unknown, used or expired; start again with GET /shops/connect",
        details=[{"field": "state", "in": "query", "reason": "invalid or used"}],
    )
    try:
        item = OAuthStateItem.get(
            OAuthStateItem.partition(state), OAuthStateItem.SORT_KEY, consistent_read=True
        )
        item.delete(condition=OAuthStateItem.pk.exists())
    except (DoesNotExist, DeleteError):
        raise invalid from None
    if _now() - item.created_at > STATE_TTL:  # TTL deletion is lazy; the state expired all the same
        raise invalid
    return item


def complete_connect(code: str, state: str) -> Connected:
    claimed = _consume_state(state)
    tenant_id = claimed.tenant_id
    client = access.new_client()
    try:
        try:
            tokens = client.get_token(code)
        except TikTokShopError as exc:
            raise BadRequest(
                f"TikTok Shop refused the authorization code: {exc.message}",
                details=[{"field": "code", "in": "query", "reason": "rejected by TikTok Shop"}],
            ) from None
        connection = ConnectionItem(
            pk=tenant_partition(tenant_id),
            sk=ConnectionItem.SORT_PREFIX + tokens.open_id,
            tenant_id=tenant_id,
            open_id=tokens.open_id,
            seller_name=tokens.seller_name or None,
            status="connected",
            access_token_expires_at=tokens.access_token_expire_in,
            refresh_token_expires_at=tokens.refresh_token_expire_in,
        )
        connection.save()
        access.store_tokens(connection, tokens)
        client.tokens = access.ConnectionTokens(tenant_id, tokens.open_id)
        client.tokens.bind(client)
        authorized = client.authorized_shops()
    finally:
        client.close()

    shops = []
    for shop in authorized:
        owner = ShopOwnerItem(
            pk=ShopOwnerItem.partition(shop.id), sk=ShopOwnerItem.SORT_KEY, tenant_id=tenant_id
        )
        try:
            existing = ShopOwnerItem.get(owner.pk, owner.sk)
            if existing.tenant_id != tenant_id:
                logger.warning("shop already connected by another tenant", extra={"shop_id": shop.id})
                continue
        except DoesNotExist:
            owner.save()
        item = ShopItem(
            pk=tenant_partition(tenant_id),
            sk=ShopItem.SORT_PREFIX + shop.id,
            tenant_id=tenant_id,
            shop_id=shop.id,
            name=shop.name or shop.id,
            region=shop.region or None,
            cipher=shop.cipher,
            seller_type=shop.seller_type or None,
            open_id=tokens.open_id,
            status="connected",
            connected_at=_now(),
            connected_by=claimed.user_id,
            access_token_expires_at=tokens.access_token_expire_in,
            refresh_token_expires_at=tokens.refresh_token_expire_in,
        )
        item.save()
        shops.append(item)
        _ensure_streams(tenant_id, shop.id)
    for shop_item in shops:
        _queue_streams(tenant_id, shop_item.shop_id, STREAMS, full=True, strict=False)
    return Connected(tenant_id=tenant_id, user_id=claimed.user_id, role=Role(claimed.role), shops=shops)


# --- shops -----------------------------------------------------------------------------------


def list_shops(tenant_id: str, *, limit: int, cursor: str | None) -> Page[ShopItem]:
    return prefix_page(
        ShopItem, tenant_partition(tenant_id), ShopItem.SORT_PREFIX, limit=limit, cursor=cursor
    )


def get_shop(tenant_id: str, shop_id: str) -> ShopItem:
    try:
        return ShopItem.get(tenant_partition(tenant_id), ShopItem.SORT_PREFIX + shop_id)
    except DoesNotExist:
        raise NotFound(f"shop {shop_id!r} not found") from None


def disconnect(tenant_id: str, shop_id: str, reason: str = "disconnected by the tenant") -> ShopItem:
    """Stop the shop's syncs and delete its tokens (once no other shop of that authorization uses them)."""
    shop = get_shop(tenant_id, shop_id)
    shop.update(actions=[ShopItem.status.set("disconnected"), ShopItem.status_reason.set(reason)])
    for stream in sync_streams(tenant_id, shop_id):
        # a run still going stops at its next write (its fence wants state running); what it
        # counted but had not yet applied to the daily aggregates is applied here
        stream.update(
            actions=[
                SyncStreamItem.state.set("stopped"),
                SyncStreamItem.due_pk.remove(),
                SyncStreamItem.fast_pass.remove(),
            ],
            add_version_condition=False,
        )
        flush_stream({"pk": {"S": stream.pk}, "sk": {"S": stream.sk}}, shop_key(tenant_id, shop_id))
    still_used = shop.open_id and any(s.shop_id != shop_id for s in connected_shops(tenant_id, shop.open_id))
    if shop.open_id and not still_used:
        secrets.delete_secret(connection_secret_path(tenant_id, shop.open_id))
        with suppress(NotFound):
            access.connection_of(tenant_id, shop.open_id).update(
                actions=[ConnectionItem.status.set("disconnected"), ConnectionItem.due_pk.remove()]
            )
    with suppress(DeleteError):
        ShopOwnerItem(pk=ShopOwnerItem.partition(shop_id), sk=ShopOwnerItem.SORT_KEY).delete(
            condition=ShopOwnerItem.tenant_id == tenant_id
        )
    return shop


def owner_of(shop_id: str) -> str | None:
    try:
        return ShopOwnerItem.get(ShopOwnerItem.partition(shop_id), ShopOwnerItem.SORT_KEY).tenant_id
    except DoesNotExist:
        return None


# --- syncs -----------------------------------------------------------------------------------


def _stream_key(shop_id: str, stream: str) -> str:
    return f"{SyncStreamItem.SORT_PREFIX}{shop_id}#{stream}"


def _ensure_streams(tenant_id: str, shop_id: str) -> None:
    for stream in STREAMS:
        item = SyncStreamItem(
            pk=tenant_partition(tenant_id),
            sk=_stream_key(shop_id, stream),
            tenant_id=tenant_id,
            shop_id=shop_id,
            stream=stream,
            state="idle",
            due_pk=f"DUE#{stream}",
            due_at=int(time.time()),
        )
        try:
            existing = SyncStreamItem.get(item.pk, item.sk)
        except DoesNotExist:
            item.save()
            continue
        # a reconnected shop syncs again on schedule; its cursor is kept
        existing.update(
            actions=[SyncStreamItem.due_pk.set(f"DUE#{stream}"), SyncStreamItem.state.set("idle")]
        )


def sync_streams(tenant_id: str, shop_id: str) -> list[SyncStreamItem]:
    return list(
        SyncStreamItem.query(
            tenant_partition(tenant_id),
            SyncStreamItem.sk.startswith(f"{SyncStreamItem.SORT_PREFIX}{shop_id}#"),
        )
    )


def _queue_streams(
    tenant_id: str, shop_id: str, streams: Iterable[str], *, full: bool, strict: bool, lease_grace: int = 0
) -> dict[str, SyncStreamItem]:
    """Mark each stream queued with a new run id (unless already queued or running) and send it.

    ``strict``: a stream already queued or running is a conflict (409); otherwise it is skipped.
    """
    queued: dict[str, SyncStreamItem] = {}
    now = int(time.time())
    for stream in streams:
        run_id = uuid.uuid4().hex
        item = SyncStreamItem(pk=tenant_partition(tenant_id), sk=_stream_key(shop_id, stream))
        idle = (
            SyncStreamItem.state.is_in("idle", "succeeded", "failed") | SyncStreamItem.state.does_not_exist()
        )
        abandoned = (SyncStreamItem.state == "running") & (SyncStreamItem.lease_until < now - lease_grace)
        try:
            item.update(
                actions=[
                    SyncStreamItem.state.set("queued"),
                    SyncStreamItem.run_id.set(run_id),
                    SyncStreamItem.full.set(full),
                    SyncStreamItem.queued_at.set(_now()),
                    SyncStreamItem.page_token.remove(),
                    SyncStreamItem.window_start.remove(),
                    SyncStreamItem.window_end.remove(),
                    # webhooks stand back only while a first sync's fast pass is really running
                    SyncStreamItem.fast_pass.remove(),
                ],
                condition=SyncStreamItem.pk.exists() & (idle | abandoned),
                add_version_condition=False,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            if strict:
                raise Conflict(f"the {stream} sync of shop {shop_id} is already queued or running") from None
            continue
        queued[stream] = item
        queues.send(
            SYNC_QUEUE,
            {
                "kind": "stream",
                "tenant_id": tenant_id,
                "shop_id": shop_id,
                "stream": stream,
                "run_id": run_id,
                "full": full,
            },
        )
    return queued


def request_sync(tenant_id: str, shop_id: str, streams: list[str], *, full: bool) -> list[SyncStreamItem]:
    shop = get_shop(tenant_id, shop_id)
    if shop.status != "connected":
        raise Conflict(f"shop {shop_id} is {shop.status}; connect it again before syncing")
    active = [
        s.stream for s in sync_streams(tenant_id, shop_id) if s.stream in streams and s.state in ACTIVE_STATES
    ]
    if active:
        raise Conflict(f"already queued or running: {', '.join(sorted(active))}")
    _queue_streams(tenant_id, shop_id, streams, full=full, strict=True)
    return sync_streams(tenant_id, shop_id)


def queue_due_streams(now: int | None = None, *, limit: int = 500) -> int:
    """The schedule's work: every stream whose time has come is queued, one message each."""
    now = int(time.time()) if now is None else now
    count = 0
    for stream in STREAMS:
        for item in SyncStreamItem.by_due.query(f"DUE#{stream}", SyncStreamItem.due_at <= now, limit=limit):
            if item.state in ACTIVE_STATES and (item.lease_until or 0) >= now:
                continue
            count += len(_queue_streams(item.tenant_id, item.shop_id, [stream], full=False, strict=False))
    return count


def refresh_expiring_tokens(now: int | None = None, *, limit: int = 500) -> int:
    """The token schedule's work: refresh every authorization whose access token expires within a day."""
    now = int(time.time()) if now is None else now
    refreshed = 0
    for connection in ConnectionItem.by_due.query(TOKENS_DUE, ConnectionItem.due_at <= now, limit=limit):
        if connection.status != "connected":
            continue
        tokens = access.ConnectionTokens(connection.tenant_id, connection.open_id)
        client = access.new_client(tokens)
        try:
            tokens.refreshed(tokens.current())
            refreshed += 1
        except TikTokShopError as exc:
            logger.warning("token refresh failed", extra={"open_id": connection.open_id, "code": exc.code})
        finally:
            client.close()
    return refreshed
