"""The bodies of the TikTok Shop event handlers: schedules and the sync queue's worker.

Messages on the sync queue:
- ``{"kind": "stream", tenant_id, shop_id, stream, run_id, full}``: run (or resume) one stream;
- ``{"kind": "orders", tenant_id, shop_id, order_ids}``: refresh orders a webhook named.
A failure leaves the message for SQS to redeliver (the run resumes from its checkpoint), and the
dead-letter queue takes it after the queue's maxReceiveCount. A seller whose authorization is
gone stops the shop's syncs with status ``needs_reconnect`` instead of retrying forever.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.config import get_settings
from chalicelib.integrations.aws import queues
from chalicelib.integrations.tiktok_shop.errors import AuthError
from chalicelib.observability import logger
from chalicelib.runtime import ensure_ready
from chalicelib.services import shop_sync, shops
from chalicelib.services.tiktok_shop_access import client_for_shop, mark_needs_reconnect
from chalicelib.store.shops import ShopItem

_processor = BatchProcessor(event_type=EventType.SQS)


def queue_due_syncs() -> int:
    ensure_ready()
    count = shops.queue_due_streams()
    logger.info("queued due syncs", extra={"streams": count})
    return count


def refresh_tokens() -> int:
    ensure_ready()
    count = shops.refresh_expiring_tokens()
    logger.info("refreshed expiring tokens", extra={"connections": count})
    return count


# A run hands over to a fresh invocation when less than this is left of the Lambda's time, so a
# long first sync never dies mid-page and waits out the queue's visibility timeout.
YIELD_WHEN_LEFT_MS = 90_000


def handle_sync_batch(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """One SQS batch; failed records are reported so only they come back (ReportBatchItemFailures)."""
    ensure_ready()
    remaining = getattr(context, "get_remaining_time_in_millis", None)

    def should_yield() -> bool:
        return callable(remaining) and remaining() < YIELD_WHEN_LEFT_MS

    return process_partial_response(
        event=event, record_handler=lambda record: _handle_record(record, should_yield), processor=_processor
    )


def _handle_record(record: SQSRecord, should_yield: Any = None) -> None:
    message = json.loads(record.body)
    tenant_id, shop_id = message["tenant_id"], message["shop_id"]
    logger.append_keys(tenant_id=tenant_id, shop_id=shop_id, job=message.get("kind"))
    try:
        shop = shops.get_shop(tenant_id, shop_id)
    except Exception:
        logger.info("message for a shop that is gone; dropped")
        return
    if shop.status != "connected":
        logger.info("shop is not connected; message dropped", extra={"status": shop.status})
        return
    with client_for_shop(tenant_id, shop) as client:
        try:
            _run(message, shop, client, should_yield)
        except AuthError as exc:
            mark_needs_reconnect(
                tenant_id, shop.open_id or "", f"TikTok Shop refused the credentials ({exc.code})"
            )
            logger.warning("shop needs reconnect; message dropped", extra={"code": exc.code})


def _run(message: dict[str, Any], shop: ShopItem, client: Any, should_yield: Any) -> None:
    if message["kind"] == "stream":
        result = shop_sync.run_stream(
            shop.tenant_id,
            shop.shop_id,
            message["stream"],
            client,
            shop_cipher=shop.cipher,
            run_id=message["run_id"],
            full=bool(message.get("full")),
            next_due_in=get_settings().sync_interval_minutes * 60,
            should_yield=should_yield,
        )
        if result.state == "continued":
            queues.send(shops.SYNC_QUEUE, message)
        logger.info("stream synced", extra={"stream": message["stream"], "result": repr(result)})
    elif message["kind"] == "orders":
        counts = shop_sync.refresh_orders(
            shop.tenant_id, shop.shop_id, message["order_ids"], client, shop_cipher=shop.cipher
        )
        logger.info("orders refreshed", extra={"counts": repr(counts)})
    else:
        raise ValueError(f"unknown sync message kind {message['kind']!r}")
