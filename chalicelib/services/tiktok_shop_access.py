"""Access to TikTok Shop for one seller authorization: app credentials, clients and their tokens.

Tokens live in Secrets Manager, one secret per authorization (``ConnectionItem``), both tokens in
one write. A refresh is safe under concurrency: the worker that takes the connection's refresh
lock (a conditional write) refreshes; the others wait for the new token to appear and carry on
with it, so two workers that find the same expired token cause exactly one refresh call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.config import get_settings
from chalicelib.errors import NotFound, ServiceUnavailable
from chalicelib.integrations.aws import secrets
from chalicelib.integrations.tiktok_shop.errors import RefreshTokenInvalid
from chalicelib.observability import logger
from chalicelib.store.connections import TOKENS_DUE, ConnectionItem, connection_secret_path
from chalicelib.store.entities import tenant_partition
from chalicelib.store.shops import ShopItem, connected_shops

if TYPE_CHECKING:  # httpx costs a tenth of a second to import: only requests that call TikTok pay it
    import httpx

    from chalicelib.integrations.tiktok_shop.client import TikTokShopClient
    from chalicelib.integrations.tiktok_shop.models import TokenSet

APP_SECRET_PATH = "platform/tiktok-shop"  # noqa: S105 - a secret name, not a secret
REFRESH_LOCK_SECONDS = 30
REFRESH_AHEAD_SECONDS = 86_400

_transport: Any = None


def use_transport(transport: httpx.BaseTransport | None) -> None:
    """Send TikTok Shop traffic through ``transport`` (tests reach the sandbox in-process)."""
    global _transport
    _transport = transport


@dataclass(frozen=True)
class AppCredentials:
    app_key: str
    app_secret: str
    service_id: str | None = None


@dataclass(frozen=True)
class StoredToken:
    access_token: str
    access_token_expire_in: int


def app_credentials() -> AppCredentials:
    try:
        value = secrets.read_secret(APP_SECRET_PATH)
    except secrets.SecretNotFound:
        raise ServiceUnavailable(
            "TikTok Shop is not configured: store the app key and secret in Secrets Manager "
            f"as {secrets.secret_name(APP_SECRET_PATH)}"
        ) from None
    return AppCredentials(value["app_key"], value["app_secret"], value.get("service_id"))


def new_client(tokens: ConnectionTokens | None = None) -> TikTokShopClient:
    from chalicelib.integrations.tiktok_shop.client import TikTokShopClient

    settings = get_settings()
    credentials = app_credentials()
    client = TikTokShopClient(
        app_key=credentials.app_key,
        app_secret=credentials.app_secret,
        api_base_url=str(settings.tiktok_shop_api_url),
        auth_base_url=str(settings.tiktok_shop_auth_url),
        authorize_base_url=str(settings.tiktok_shop_authorize_url),
        transport=_transport,
    )
    if tokens is not None:
        tokens.bind(client)
        client.tokens = tokens
    return client


def connection_of(tenant_id: str, open_id: str) -> ConnectionItem:
    try:
        return ConnectionItem.get(tenant_partition(tenant_id), ConnectionItem.SORT_PREFIX + open_id)
    except DoesNotExist:
        raise NotFound("this shop's connection is gone; connect the shop again") from None


def client_for_shop(tenant_id: str, shop: ShopItem) -> TikTokShopClient:
    if not shop.open_id:
        raise NotFound(f"shop {shop.shop_id} has no connection")
    return new_client(ConnectionTokens(tenant_id, shop.open_id))


def store_tokens(connection: ConnectionItem, tokens: TokenSet) -> None:
    """Both tokens in one secret write, then the expiry times (never the tokens) on the item."""
    secrets.write_secret(
        connection.secret_path(),
        {
            "access_token": tokens.access_token,
            "access_token_expire_in": tokens.access_token_expire_in,
            "refresh_token": tokens.refresh_token,
            "refresh_token_expire_in": tokens.refresh_token_expire_in,
        },
    )
    connection.update(
        actions=[
            ConnectionItem.access_token_expires_at.set(tokens.access_token_expire_in),
            ConnectionItem.refresh_token_expires_at.set(tokens.refresh_token_expire_in),
            ConnectionItem.refreshed_at.set(datetime.now(UTC)),
            ConnectionItem.refresh_lock_until.remove(),
            ConnectionItem.due_pk.set(TOKENS_DUE),
            ConnectionItem.due_at.set(tokens.access_token_expire_in - REFRESH_AHEAD_SECONDS),
        ]
    )


def mark_needs_reconnect(tenant_id: str, open_id: str, reason: str) -> None:
    """The seller must authorize again: the connection and its shops stop syncing with that status."""
    try:
        connection = connection_of(tenant_id, open_id)
    except NotFound:
        return
    connection.update(actions=[ConnectionItem.status.set("needs_reconnect"), ConnectionItem.due_pk.remove()])
    for shop in connected_shops(tenant_id, open_id):
        shop.update(actions=[ShopItem.status.set("needs_reconnect"), ShopItem.status_reason.set(reason)])
    logger.warning("connection needs reconnect", extra={"open_id": open_id, "reason": reason})


class ConnectionTokens:
    """The ``TokenSource`` of one authorization, shared safely by concurrent workers."""

    def __init__(
        self,
        tenant_id: str,
        open_id: str,
        *,
        wait_seconds: float = 20.0,
        poll_seconds: float = 0.1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.tenant_id, self.open_id = tenant_id, open_id
        self._wait, self._poll, self._clock, self._sleep = wait_seconds, poll_seconds, clock, sleep
        self._client: TikTokShopClient | None = None

    def bind(self, client: TikTokShopClient) -> None:
        self._client = client

    def _secret_path(self) -> str:
        return connection_secret_path(self.tenant_id, self.open_id)

    def _stored(self, *, fresh: bool) -> dict:
        try:
            return secrets.read_secret(self._secret_path(), fresh=fresh)
        except secrets.SecretNotFound:
            raise RefreshTokenInvalid(
                code=36004005, message="no stored tokens for this connection", request_id="", http_status=0
            ) from None

    def current(self) -> StoredToken:
        value = self._stored(fresh=False)
        return StoredToken(value["access_token"], int(value["access_token_expire_in"]))

    def refreshed(self, stale: StoredToken) -> StoredToken:
        deadline = self._clock() + self._wait
        while True:
            value = self._stored(fresh=True)
            if value["access_token"] != stale.access_token:
                return StoredToken(value["access_token"], int(value["access_token_expire_in"]))
            if self._take_lock():
                return self._refresh_holding_lock(stale)
            if self._clock() >= deadline:
                raise ServiceUnavailable("timed out waiting for another worker's token refresh")
            self._sleep(self._poll)

    def _take_lock(self) -> bool:
        connection = ConnectionItem(
            pk=tenant_partition(self.tenant_id), sk=ConnectionItem.SORT_PREFIX + self.open_id
        )
        now = int(self._clock())
        try:
            connection.update(
                actions=[ConnectionItem.refresh_lock_until.set(now + REFRESH_LOCK_SECONDS)],
                condition=ConnectionItem.pk.exists()
                & (
                    ConnectionItem.refresh_lock_until.does_not_exist()
                    | (ConnectionItem.refresh_lock_until < now)
                ),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _refresh_holding_lock(self, stale: StoredToken) -> StoredToken:
        connection = connection_of(self.tenant_id, self.open_id)
        value = self._stored(fresh=True)
        if value["access_token"] != stale.access_token:  # refreshed between our read and the lock
            connection.update(actions=[ConnectionItem.refresh_lock_until.remove()])
            return StoredToken(value["access_token"], int(value["access_token_expire_in"]))
        assert self._client is not None, "bind() the client first"
        try:
            tokens = self._client.refresh_token(value["refresh_token"])
        except RefreshTokenInvalid as exc:
            connection.update(actions=[ConnectionItem.refresh_lock_until.remove()])
            mark_needs_reconnect(self.tenant_id, self.open_id, f"refresh token rejected ({exc.code})")
            raise
        except Exception:
            connection.update(actions=[ConnectionItem.refresh_lock_until.remove()])
            raise
        store_tokens(connection, tokens)
        return StoredToken(tokens.access_token, tokens.access_token_expire_in)
