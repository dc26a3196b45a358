"""Creates every resource the deployed stack has, from the same definitions the stack uses.

Used by the local stack (against moto's server and DynamoDB Local) and by the tests (against
moto in-process). Idempotent: running it twice changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.config import Settings
from chalicelib.integrations.aws.clients import client
from chalicelib.resources import QUEUES, local_name
from chalicelib.store.tables import TABLE_MODELS, table_schema


def create_tables(settings: Settings) -> None:
    dynamodb = client("dynamodb")
    existing = set(dynamodb.list_tables()["TableNames"])
    for key, model in TABLE_MODELS.items():
        name = settings.table(key)
        schema = table_schema(model)
        if name not in existing:
            dynamodb.create_table(**_create_table_request(name, schema))
            dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
        else:
            _add_missing_indexes(dynamodb, name, schema)
        if schema["ttl_attribute"]:
            status = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": schema["ttl_attribute"]},
                )


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return keys


def _index_request(index: dict[str, Any]) -> dict[str, Any]:
    return {
        "IndexName": index["name"],
        "KeySchema": _key_schema(index["hash_key"], index["range_key"]),
        "Projection": {"ProjectionType": index["projection"]},
    }


def _add_missing_indexes(dynamodb: Any, name: str, schema: dict[str, Any]) -> None:
    """Indexes a model gained since the table was made (a kept local state), one per update as
    DynamoDB allows. Items written before keep out of a new index until they are written again."""
    table = dynamodb.describe_table(TableName=name)["Table"]
    present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in schema["global_secondary_indexes"]:
        if index["name"] in present:
            continue
        keys = {index["hash_key"], index["range_key"]} - {None}
        dynamodb.update_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": attr, "AttributeType": schema["attribute_types"][attr]}
                for attr in sorted(keys)
            ],
            GlobalSecondaryIndexUpdates=[{"Create": _index_request(index)}],
        )
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})


def _create_table_request(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": attr, "AttributeType": kind} for attr, kind in schema["attribute_types"].items()
        ],
        "KeySchema": _key_schema(schema["hash_key"], schema["range_key"]),
    }
    if schema["global_secondary_indexes"]:
        request["GlobalSecondaryIndexes"] = [
            _index_request(index) for index in schema["global_secondary_indexes"]
        ]
    return request


def create_buckets(settings: Settings) -> None:
    s3 = client("s3")
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    for name in settings.buckets.values():
        if name not in existing:
            if settings.region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(
                    Bucket=name, CreateBucketConfiguration={"LocationConstraint": settings.region}
                )
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )


def create_queues(settings: Settings) -> None:
    sqs = client("sqs")
    for spec in QUEUES:
        name = settings.queue_url(spec.key).rstrip("/").rsplit("/", 1)[-1]
        dlq_url = sqs.create_queue(
            QueueName=f"{name}-dlq",
            Attributes={"MessageRetentionPeriod": str(spec.dlq_retention_days * 86400)},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(spec.visibility_timeout_seconds),
                "MessageRetentionPeriod": str(spec.retention_days * 86400),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
                ),
            },
        )


def local_environment(stage: str, sqs_endpoint: str, region: str = "us-east-1") -> dict[str, str]:
    """The CLICKTOK_* names of every resource in a local cloud whose SQS answers at ``sqs_endpoint``."""
    from chalicelib.resources import BUCKETS, TABLES

    env = {"CLICKTOK_STAGE": stage, "AWS_DEFAULT_REGION": region}
    env.update({spec.env_var: local_name(stage, spec.key) for spec in TABLES})
    env.update({spec.env_var: local_name(stage, spec.key) for spec in BUCKETS})
    account = "123456789012"
    env.update(
        {
            spec.env_var: f"{sqs_endpoint.rstrip('/')}/{account}/{local_name(stage, spec.key)}"
            for spec in QUEUES
        }
    )
    return env


def provision(settings: Settings) -> None:
    create_tables(settings)
    create_buckets(settings)
    create_queues(settings)
