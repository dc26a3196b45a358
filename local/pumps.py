"""Event pumps: what Lambda's SQS event-source mappings and EventBridge schedules do in AWS.

Both introspect the Chalice app object (``app.event_sources``) and call the module-level handler
(``handler(event, context)``) in-process, in a small worker pool, so an HTTP request that enqueues
returns at once.

:class:`SqsPump` long-polls each queue that has an ``@app.on_sqs_message(queue=<key>)`` handler
(``<key>`` is the logical queue key of ``chalicelib/resources.py``, mapped to a queue URL; a
physical queue name also works), builds the Lambda SQS event, deletes the records that succeeded
and leaves failed ones to reappear. Partial batch responses (``{"batchItemFailures": [...]}``) are
honoured as with ``ReportBatchItemFailures``; an exception fails the whole batch. Failed
messages become visible again after ``retry_delay_seconds`` (``None``: after the queue's own
visibility timeout, as in AWS), so the queue's redrive policy moves them to the DLQ after
``maxReceiveCount`` receives, as in AWS. Batches are at most 10 records (one ReceiveMessage).

Not every queue consumer is a Chalice handler: the renderer is a container-image Lambda
(``chalicelib.jobs.render.handler``, built by the CDK app, not by Chalice). :data:`QUEUE_CONSUMERS`
lists such consumers; the local stack passes them to :class:`SqsPump` (``consumers=``), which feeds
their queues exactly like the Chalice ones.

:class:`ScheduleTicker` fires each ``@app.schedule`` handler on its rate or cron expression against a
simulated clock running ``speedup`` times faster than real time, with the event EventBridge sends
(``detail-type: Scheduled Event``). Missed firings are not replayed, as in EventBridge.
"""

from __future__ import annotations

import base64
import importlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from chalice.app import ScheduledEventConfig, SQSEventConfig

from local.lambdas import (
    ACCOUNT_ID,
    Handler,
    LambdaContext,
    app_of,
    configured_timeout,
    function_name,
    resolve_handler,
)
from local.schedules import Schedule, expression_string, parse_schedule, utc_now

log = logging.getLogger("clicktok.local.pumps")


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event Lambda builds from an SQS ReceiveMessage result."""
    attributes = {
        key: value
        for key, value in message.get("Attributes", {}).items()
        if key
        in (
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
            "MessageGroupId",
            "MessageDeduplicationId",
            "SequenceNumber",
            "AWSTraceHeader",
        )
    }
    message_attributes: dict[str, Any] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        entry: dict[str, Any] = {
            "dataType": value["DataType"],
            "stringListValues": [],
            "binaryListValues": [],
        }
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            binary = value["BinaryValue"]
            entry["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
        message_attributes[name] = entry
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_message_ids(result: Any, message_ids: list[str]) -> set[str]:
    """The records a handler's return value reports as failed (all of them for a malformed report)."""
    if not isinstance(result, Mapping) or "batchItemFailures" not in result:
        return set()
    failures = result["batchItemFailures"]
    if not failures:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not identifier or identifier not in message_ids:
            return set(message_ids)  # Lambda treats an invalid report as a failure of the whole batch
        failed.add(identifier)
    return failed


@dataclass(frozen=True)
class QueueConsumer:
    """A Lambda fed by an SQS queue that is not a Chalice ``@app.on_sqs_message`` handler."""

    name: str  # the function's name suffix: ``clicktok-<stage>-<name>``
    queue: str  # logical queue key (``chalicelib/resources.py``)
    handler: str  # ``module.attribute``, imported when the pump starts
    batch_size: int = 1
    timeout_seconds: int = 900


QUEUE_CONSUMERS: tuple[QueueConsumer, ...] = (
    QueueConsumer(name="renderer", queue="render", handler="chalicelib.jobs.render.handler"),
)


def consumer_handler(handler_string: str) -> Handler:
    module_name, _, attribute = handler_string.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(handler):
        raise LookupError(f"handler {handler_string!r} is not a callable in module {module_name}")
    return handler


@dataclass
class _SqsSource:
    name: str
    handler: Handler
    queue_url: str
    queue_arn: str
    batch_size: int
    slots: threading.Semaphore
    timeout_seconds: int = 30


class SqsPump:
    def __init__(
        self,
        app_module: ModuleType,
        sqs: Any,
        queue_urls: Mapping[str, str],
        *,
        stage: str = "local",
        region: str = "us-east-1",
        concurrency: int = 4,
        wait_seconds: int = 2,
        retry_delay_seconds: int | None = 10,
        consumers: Sequence[QueueConsumer] = (),
    ) -> None:
        self._sqs = sqs
        self._region = region
        self._wait_seconds = wait_seconds
        self._retry_delay = retry_delay_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.sources: list[_SqsSource] = []
        app = app_of(app_module)
        for config in app.event_sources:
            if not isinstance(config, SQSEventConfig):
                continue
            url = self._queue_url(config, queue_urls)
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            limit = min(concurrency, config.maximum_concurrency or concurrency)
            self.sources.append(
                _SqsSource(
                    name=function_name(stage, config.name, app.app_name),
                    handler=resolve_handler(app_module, config.handler_string),
                    queue_url=url,
                    queue_arn=arn,
                    batch_size=max(1, min(10, config.batch_size)),
                    slots=threading.Semaphore(max(1, limit)),
                    timeout_seconds=configured_timeout(app_module, config.name, stage),
                )
            )
        for consumer in consumers:
            url = queue_urls.get(consumer.queue) or sqs.get_queue_url(QueueName=consumer.queue)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.sources.append(
                _SqsSource(
                    name=function_name(stage, consumer.name, app.app_name),
                    handler=consumer_handler(consumer.handler),
                    queue_url=url,
                    queue_arn=arn,
                    batch_size=max(1, min(10, consumer.batch_size)),
                    slots=threading.Semaphore(max(1, concurrency)),
                    timeout_seconds=consumer.timeout_seconds,
                )
            )
        workers = sum(
            max(1, min(concurrency, c.maximum_concurrency or concurrency)) for c in self._configs(app)
        ) + len(consumers) * max(1, concurrency)
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sqs-handler")

    @staticmethod
    def _configs(app: Any) -> list[SQSEventConfig]:
        return [c for c in app.event_sources if isinstance(c, SQSEventConfig)]

    def _queue_url(self, config: SQSEventConfig, queue_urls: Mapping[str, str]) -> str:
        if config.queue and config.queue in queue_urls:
            return queue_urls[config.queue]
        name = config.queue or (config.queue_arn or "").rsplit(":", 1)[-1]
        return self._sqs.get_queue_url(QueueName=name)["QueueUrl"]

    def start(self) -> None:
        for source in self.sources:
            thread = threading.Thread(
                target=self._poll, args=(source,), name=f"sqs-poll-{source.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling and wait for running handlers (messages received meanwhile stay in flight)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._wait_seconds + 5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _poll(self, source: _SqsSource) -> None:
        while not self._stop.is_set():
            if not source.slots.acquire(timeout=0.5):
                continue
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=source.queue_url,
                    MaxNumberOfMessages=source.batch_size,
                    WaitTimeSeconds=self._wait_seconds,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                source.slots.release()
                if not self._stop.is_set():
                    log.exception("receiving from %s failed", source.queue_url)
                    self._stop.wait(1.0)
                continue
            if not messages:
                source.slots.release()
                continue
            try:
                future = self._pool.submit(self.deliver, source, messages)
            except RuntimeError:  # pool shut down while we were polling
                source.slots.release()
                return
            future.add_done_callback(lambda _f, s=source: s.slots.release())

    def deliver(self, source: _SqsSource, messages: list[dict[str, Any]]) -> set[str]:
        """Run the handler on one batch; delete what succeeded. Returns the failed message ids."""
        event = {"Records": [sqs_record(m, source.queue_arn, self._region) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        try:
            context = LambdaContext(source.name, self._region, timeout_seconds=source.timeout_seconds)
            failed = failed_message_ids(source.handler(event, context), ids)
        except Exception:
            log.exception("SQS handler %s failed; the batch of %d will be retried", source.name, len(ids))
            failed = set(ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if failed and self._retry_delay is not None:
            retry = [m for m in messages if m["MessageId"] in failed]
            self._sqs.change_message_visibility_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self._retry_delay,
                    }
                    for i, m in enumerate(retry)
                ],
            )
        return failed


def scheduled_event(rule_name: str, moment: datetime, region: str) -> dict[str, Any]:
    """The event EventBridge sends to a scheduled rule's Lambda target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


@dataclass
class _Scheduled:
    name: str
    expression: str
    schedule: Schedule
    handler: Handler
    next_due: datetime | None
    fired: int = field(default=0)


class ScheduleTicker:
    def __init__(
        self,
        app_module: ModuleType,
        *,
        stage: str = "local",
        region: str = "us-east-1",
        speedup: float = 1.0,
        concurrency: int = 2,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        self._region = region
        self._speedup = speedup
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sim_start = clock()
        self._real_start = time.monotonic()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, concurrency), thread_name_prefix="schedule-handler"
        )
        self.schedules: list[_Scheduled] = []
        app = app_of(app_module)
        for config in app.event_sources:
            if not isinstance(config, ScheduledEventConfig):
                continue
            expression = expression_string(config.schedule_expression)
            try:
                schedule = parse_schedule(expression)
            except ValueError as exc:
                log.warning("schedule %s will not fire locally: %s", config.name, exc)
                continue
            self.schedules.append(
                _Scheduled(
                    name=function_name(stage, config.name, app.app_name),
                    expression=expression,
                    schedule=schedule,
                    handler=resolve_handler(app_module, config.handler_string),
                    next_due=schedule.next_after(self._sim_start),
                )
            )

    def now(self) -> datetime:
        """The simulated time."""
        return self._sim_start + timedelta(seconds=(time.monotonic() - self._real_start) * self._speedup)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="schedule-ticker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            dues = [s.next_due for s in self.schedules if s.next_due is not None]
            if not dues:
                self._stop.wait(1.0)
                continue
            real_wait = (min(dues) - self.now()).total_seconds() / self._speedup
            self._stop.wait(min(1.0, max(0.01, real_wait)))

    def tick(self) -> int:
        """Fire every schedule that is due; returns how many fired."""
        now = self.now()
        fired = 0
        for item in self.schedules:
            if item.next_due is None or item.next_due > now:
                continue
            event = scheduled_event(item.name, item.next_due, self._region)
            following = item.schedule.next_after(item.next_due)
            while following is not None and following <= now:  # missed firings are dropped
                following = item.schedule.next_after(following)
            item.next_due = following
            item.fired += 1
            fired += 1
            self._pool.submit(self._fire, item, event)
        return fired

    def _fire(self, item: _Scheduled, event: dict[str, Any]) -> None:
        try:
            item.handler(event, LambdaContext(item.name, self._region))
        except Exception:
            log.exception("scheduled handler %s (%s) failed", item.name, item.expression)
