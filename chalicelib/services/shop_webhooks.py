"""TikTok Shop webhooks: verified before anything is read, deduplicated, answered at once.

The work a notification asks for goes through the sync queue, so the answer leaves within the
three seconds TikTok allows. Deliveries are at-least-once: a notification id already seen is
acknowledged and ignored. It is recorded only after its work is queued, so a crash in between
makes TikTok's retry do the work (queued work is idempotent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.errors import BadRequest, Unauthorized
from chalicelib.integrations.aws import queues
from chalicelib.integrations.tiktok_shop.signing import verify_webhook
from chalicelib.observability import logger
from chalicelib.services import shops
from chalicelib.services.tiktok_shop_access import app_credentials
from chalicelib.store.shops import WebhookReceiptItem

ORDER_STATUS_CHANGE = 1
CANCELLATION_STATUS_CHANGE = 11
RETURN_STATUS_CHANGE = 12
REVERSE_STATUS_UPDATE = 2
PACKAGE_UPDATE = 4
SELLER_DEAUTHORIZATION = 6
ORDER_EVENTS = frozenset(
    {
        ORDER_STATUS_CHANGE,
        REVERSE_STATUS_UPDATE,
        PACKAGE_UPDATE,
        CANCELLATION_STATUS_CHANGE,
        RETURN_STATUS_CHANGE,
    }
)
RECEIPT_TTL = timedelta(days=7)


@dataclass(frozen=True)
class WebhookOutcome:
    status: str  # processed | duplicate | ignored
    notification_id: str


def handle(raw_body: bytes, authorization: str | None) -> WebhookOutcome:
    credentials = app_credentials()
    if not authorization or not verify_webhook(
        credentials.app_key, credentials.app_secret, raw_body, authorization
    ):
        raise Unauthorized("webhook signature is missing or does not match")
    try:
        payload: dict[str, Any] = json.loads(raw_body)
        event_type = int(payload["type"])
        notification_id = str(payload["tts_notification_id"])
        shop_id = str(payload["shop_id"])
        data = payload.get("data") or {}
    except (ValueError, KeyError, TypeError):
        raise BadRequest("webhook body is not a TikTok Shop notification") from None

    receipt = WebhookReceiptItem(
        pk=WebhookReceiptItem.partition(notification_id), sk=WebhookReceiptItem.SORT_KEY
    )
    try:
        WebhookReceiptItem.get(receipt.pk, receipt.sk)
        return WebhookOutcome("duplicate", notification_id)
    except DoesNotExist:
        pass

    tenant_id = shops.owner_of(shop_id)
    status = "ignored"
    if tenant_id is None:
        logger.info(
            "webhook for a shop no tenant has connected", extra={"shop_id": shop_id, "type": event_type}
        )
    elif event_type in ORDER_EVENTS and data.get("order_id"):
        queues.send(
            shops.SYNC_QUEUE,
            {
                "kind": "orders",
                "tenant_id": tenant_id,
                "shop_id": shop_id,
                "order_ids": [str(data["order_id"])],
            },
        )
        status = "processed"
    elif event_type == SELLER_DEAUTHORIZATION:
        shops.disconnect(tenant_id, shop_id, reason="the seller deauthorized ClickTok on TikTok Shop")
        status = "processed"

    receipt.received_at = datetime.now(UTC)
    receipt.shop_id = shop_id
    receipt.event_type = event_type
    receipt.expires_at = datetime.now(UTC) + RECEIPT_TTL
    try:
        receipt.save(condition=WebhookReceiptItem.pk.does_not_exist())
    except PutError:
        return WebhookOutcome("duplicate", notification_id)
    return WebhookOutcome(status, notification_id)
