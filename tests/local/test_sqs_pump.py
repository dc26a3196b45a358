from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from local.pumps import SqsPump, failed_message_ids, sqs_record
from tests.local.conftest import eventually


def _counts(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_pump_delivers_a_batch_and_deletes_it(
    fixture_app: ModuleType, boto: Callable[[str], Any], sync_queue: dict[str, str]
) -> None:
    sqs = boto("sqs")
    sqs.send_message_batch(
        QueueUrl=sync_queue["url"],
        Entries=[{"Id": str(i), "MessageBody": f"shop-{i}"} for i in range(3)],
    )
    pump = SqsPump(fixture_app, sqs, {"sync": sync_queue["url"]}, wait_seconds=1, retry_delay_seconds=0)
    assert [source.name for source in pump.sources] == ["fixture-local-handle_sync"]
    pump.start()
    try:
        eventually(lambda: len(fixture_app.DELIVERED) == 3)
    finally:
        pump.stop()
    assert sorted(fixture_app.DELIVERED) == ["shop-0", "shop-1", "shop-2"]
    assert max(len(batch) for batch in fixture_app.BATCHES) <= 5
    assert _counts(sqs, sync_queue["url"]) == 0


def test_a_failing_record_is_retried_then_lands_in_the_dlq(
    fixture_app: ModuleType, boto: Callable[[str], Any], sync_queue: dict[str, str]
) -> None:
    sqs = boto("sqs")
    sqs.send_message(QueueUrl=sync_queue["url"], MessageBody="ok-1")
    sqs.send_message(QueueUrl=sync_queue["url"], MessageBody="fail-1")
    pump = SqsPump(fixture_app, sqs, {"sync": sync_queue["url"]}, wait_seconds=1, retry_delay_seconds=0)
    pump.start()
    try:
        eventually(lambda: _counts(sqs, sync_queue["dlq_url"]) == 1)
    finally:
        pump.stop()
    assert fixture_app.DELIVERED == ["ok-1"]
    assert fixture_app.ATTEMPTS == {"ok-1": 1, "fail-1": 2}  # maxReceiveCount 2, then redrive
    assert _counts(sqs, sync_queue["url"]) == 0
    dead = sqs.receive_message(QueueUrl=sync_queue["dlq_url"])["Messages"]
    assert [m["Body"] for m in dead] == ["fail-1"]


def test_an_exception_fails_the_whole_batch(
    fixture_app: ModuleType, boto: Callable[[str], Any], sync_queue: dict[str, str]
) -> None:
    sqs = boto("sqs")
    sqs.send_message(QueueUrl=sync_queue["url"], MessageBody="raise")
    pump = SqsPump(fixture_app, sqs, {"sync": sync_queue["url"]}, wait_seconds=0, retry_delay_seconds=None)
    messages = sqs.receive_message(QueueUrl=sync_queue["url"], AttributeNames=["All"])["Messages"]
    failed = pump.deliver(pump.sources[0], messages)
    assert failed == {messages[0]["MessageId"]}
    # retry_delay_seconds=None keeps AWS's behaviour: invisible until the visibility timeout
    assert sqs.receive_message(QueueUrl=sync_queue["url"]).get("Messages", []) == []
    assert _counts(sqs, sync_queue["url"]) == 1


def test_batch_item_failures_are_validated_like_lambda() -> None:
    ids = ["a", "b"]
    assert failed_message_ids(None, ids) == set()
    assert failed_message_ids({"batchItemFailures": []}, ids) == set()
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids) == {"b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ids) == {"a", "b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == {"a", "b"}


def test_sqs_record_has_the_lambda_shape() -> None:
    record = sqs_record(
        {
            "MessageId": "m1",
            "ReceiptHandle": "r1",
            "Body": "{}",
            "MD5OfBody": "x",
            "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
            "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "sync"}},
        },
        "arn:aws:sqs:us-east-1:123456789012:q",
        "us-east-1",
    )
    assert record["messageId"] == "m1" and record["receiptHandle"] == "r1"
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "us-east-1"
    assert record["messageAttributes"]["kind"]["stringValue"] == "sync"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_handlers_get_the_timeout_chalice_deploys_them_with(tmp_path: Any) -> None:
    """A sync run hands over when its Lambda is about to time out: locally it must see the 900 s
    the sync worker is deployed with, not a default 30 s that made it hand over after every page."""
    import types

    import app as clicktok_app
    from local.lambdas import configured_timeout

    assert configured_timeout(clicktok_app, "sync_worker", "local") == 900
    assert configured_timeout(clicktok_app, "queue_due_syncs", "prod") == 120
    assert configured_timeout(clicktok_app, "api_handler", "local") == 30  # the top-level default
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(
        '{"lambda_timeout": 60, "stages": {"dev": {"lambda_timeout": 45,'
        ' "lambda_functions": {"worker": {"lambda_timeout": 600}}}}}'
    )
    module = types.ModuleType("somewhere")
    module.__file__ = str(tmp_path / "app.py")
    assert configured_timeout(module, "worker", "dev") == 600
    assert configured_timeout(module, "other", "dev") == 45
    assert configured_timeout(module, "worker", "prod") == 60
    assert (
        configured_timeout(types.ModuleType("nowhere"), "worker", "dev") == 30
    )  # no config: Lambda's default
