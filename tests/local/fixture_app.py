"""A small Chalice app with one handler of each kind the local cloud runs (the real app has few)."""

from __future__ import annotations

import threading
from typing import Any

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, SQSEvent

app = Chalice(app_name="fixture")

LOCK = threading.Lock()
DELIVERED: list[str] = []
ATTEMPTS: dict[str, int] = {}
BATCHES: list[list[str]] = []
FIRED: list[dict[str, Any]] = []
EVENTS: list[dict[str, Any]] = []


def reset() -> None:
    with LOCK:
        DELIVERED.clear()
        ATTEMPTS.clear()
        BATCHES.clear()
        FIRED.clear()
        EVENTS.clear()


@app.on_sqs_message(queue="sync", batch_size=5)
def handle_sync(event: SQSEvent) -> dict[str, Any]:
    """Bodies starting with "fail" fail (partial batch response); "raise" fails the whole batch."""
    failures = []
    bodies = []
    for record in event:
        raw = record.to_dict()
        assert raw["eventSource"] == "aws:sqs" and raw["eventSourceARN"].startswith("arn:aws:sqs:")
        bodies.append(record.body)
        with LOCK:
            ATTEMPTS[record.body] = ATTEMPTS.get(record.body, 0) + 1
        if record.body == "raise":
            raise RuntimeError("the whole batch fails")
        if record.body.startswith("fail"):
            failures.append({"itemIdentifier": raw["messageId"]})
        else:
            with LOCK:
                DELIVERED.append(record.body)
    with LOCK:
        BATCHES.append(bodies)
    return {"batchItemFailures": failures}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def every_minute(event: CloudWatchEvent) -> None:
    with LOCK:
        FIRED.append(event.to_dict())


@app.schedule("cron(0 12 * * ? *)")
def daily_noon(event: CloudWatchEvent) -> None:
    pass


@app.on_cw_event({"source": ["clicktok.test"]})
def on_test_event(event: CloudWatchEvent) -> None:
    with LOCK:
        EVENTS.append(event.to_dict())


@app.lambda_function(name="double")
def double(event: dict[str, Any], context: Any) -> dict[str, Any]:
    assert context.function_name == "fixture-local-double"
    return {"value": event["value"] * 2, "remaining_ms": context.get_remaining_time_in_millis() > 0}


@app.lambda_function(name="explode")
def explode(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise ValueError(f"cannot handle {event!r}")
