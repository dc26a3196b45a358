"""The exports queue's worker: builds each requested export (idempotent per export id)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.observability import logger
from chalicelib.runtime import ensure_ready
from chalicelib.services import exports

_processor = BatchProcessor(event_type=EventType.SQS)


def handle_export_batch(event: dict[str, Any]) -> dict[str, Any]:
    ensure_ready()
    return process_partial_response(event=event, record_handler=_handle_record, processor=_processor)


def _handle_record(record: SQSRecord) -> None:
    message = json.loads(record.body)
    logger.append_keys(tenant_id=message["tenant_id"], export_id=message["export_id"])
    item = exports.build_export(message["tenant_id"], message["export_id"])
    logger.info("export built", extra={"status": item.status, "rows": item.rows})
