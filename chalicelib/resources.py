"""The AWS resources ClickTok runs on, as plain data.

The CDK stack (``infra/``) and the local cloud (``local/``) both create resources from this module
and from the PynamoDB models it points to, so a deployed stage and the local stack cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableSpec:
    key: str
    env_var: str


@dataclass(frozen=True)
class BucketSpec:
    key: str
    env_var: str


@dataclass(frozen=True)
class QueueSpec:
    key: str
    env_var: str
    visibility_timeout_seconds: int
    max_receive_count: int
    batch_size: int
    retention_days: int = 4
    dlq_retention_days: int = 14


TABLES: tuple[TableSpec, ...] = (
    TableSpec("entities", "CLICKTOK_TABLE_ENTITIES"),
    TableSpec("audit", "CLICKTOK_TABLE_AUDIT"),
    TableSpec("orders", "CLICKTOK_TABLE_ORDERS"),
    TableSpec("daily", "CLICKTOK_TABLE_DAILY"),
    TableSpec("products", "CLICKTOK_TABLE_PRODUCTS"),
    TableSpec("idempotency", "CLICKTOK_TABLE_IDEMPOTENCY"),
)

BUCKETS: tuple[BucketSpec, ...] = (BucketSpec("media", "CLICKTOK_BUCKET_MEDIA"),)

# Visibility timeouts are six times the consumer's timeout, as AWS advises for SQS event sources.
QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(
        "sync", "CLICKTOK_QUEUE_SYNC_URL", visibility_timeout_seconds=5400, max_receive_count=5, batch_size=1
    ),
    QueueSpec(
        "render",
        "CLICKTOK_QUEUE_RENDER_URL",
        visibility_timeout_seconds=5400,
        max_receive_count=3,
        batch_size=1,
    ),
    QueueSpec(
        "exports",
        "CLICKTOK_QUEUE_EXPORTS_URL",
        visibility_timeout_seconds=5400,
        max_receive_count=3,
        batch_size=1,
    ),
)

APP_NAME = "clicktok"


def local_name(stage: str, key: str) -> str:
    """Physical name of a resource in the local cloud (deployed stages let CloudFormation name them)."""
    return f"{APP_NAME}-{stage}-{key}"
