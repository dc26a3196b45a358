"""Saves and restores the parts of moto's state that must outlive a restart of the local stack.

moto keeps everything in memory. On shutdown (and periodically) the stack dumps S3 objects,
Secrets Manager secrets and SQS messages to ``<state dir>/moto/``; on start, after provisioning,
it restores them. DynamoDB Local persists on its own; Step Functions executions, EventBridge
rules and Lambda functions are recreated from code and are not saved.

* S3 and Secrets Manager go through the public API. Object bytes are stored once per content
  hash under ``s3/`` (only new objects are downloaded on later dumps); ``state.json`` holds the
  index (bucket, key, content type, user metadata).
* SQS has no way to read a message without receiving it (which would count towards the redrive
  policy), so messages are read from moto's in-process backend (``moto.sqs.models.sqs_backends``;
  guarded by ``tests/local/test_moto_guards.py``). Messages in flight are saved too and come back
  visible; receive counts restart at zero. This needs moto to run in this process
  (``ThreadedMotoServer`` or ``mock_aws``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from local.lambdas import ACCOUNT_ID

STATE_VERSION = 1


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o600)  # snapshots hold secrets and tokens
    tmp.replace(path)


def dump_s3(s3: Any, blob_dir: Path) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                head = s3.head_object(Bucket=name, Key=item["Key"])
                etag = item.get("ETag", "").strip('"')
                blob = hashlib.sha256(f"{name}\0{item['Key']}\0{etag}\0{item['Size']}".encode()).hexdigest()
                if not (blob_dir / blob).exists():
                    body = s3.get_object(Bucket=name, Key=item["Key"])["Body"].read()
                    _atomic_write(blob_dir / blob, body)
                objects.append(
                    {
                        "bucket": name,
                        "key": item["Key"],
                        "blob": blob,
                        "content_type": head.get("ContentType"),
                        "metadata": head.get("Metadata", {}),
                    }
                )
    return objects


def restore_s3(s3: Any, objects: list[dict[str, Any]], blob_dir: Path) -> int:
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    for item in objects:
        if item["bucket"] not in existing:
            s3.create_bucket(Bucket=item["bucket"])
            existing.add(item["bucket"])
        extra: dict[str, Any] = {"Metadata": item.get("metadata") or {}}
        if item.get("content_type"):
            extra["ContentType"] = item["content_type"]
        s3.put_object(
            Bucket=item["bucket"], Key=item["key"], Body=(blob_dir / item["blob"]).read_bytes(), **extra
        )
    return len(objects)


def dump_secrets(secrets: Any) -> list[dict[str, Any]]:
    saved: list[dict[str, Any]] = []
    for page in secrets.get_paginator("list_secrets").paginate():
        for entry in page.get("SecretList", []):
            if entry.get("DeletedDate"):
                continue
            record: dict[str, Any] = {
                "name": entry["Name"],
                "description": entry.get("Description"),
                "tags": entry.get("Tags", []),
            }
            try:
                value = secrets.get_secret_value(SecretId=entry["ARN"])
            except secrets.exceptions.ResourceNotFoundException:
                continue  # a secret without a value yet
            if "SecretString" in value:
                record["string"] = value["SecretString"]
            elif "SecretBinary" in value:
                record["binary"] = base64.b64encode(value["SecretBinary"]).decode()
            saved.append(record)
    return saved


def restore_secrets(secrets: Any, saved: list[dict[str, Any]]) -> int:
    for record in saved:
        value: dict[str, Any] = (
            {"SecretString": record["string"]}
            if "string" in record
            else {"SecretBinary": base64.b64decode(record["binary"])}
        )
        try:
            secrets.put_secret_value(SecretId=record["name"], **value)
        except secrets.exceptions.ResourceNotFoundException:
            extra: dict[str, Any] = {}
            if record.get("description"):
                extra["Description"] = record["description"]
            if record.get("tags"):
                extra["Tags"] = record["tags"]
            secrets.create_secret(Name=record["name"], **value, **extra)
    return len(saved)


def dump_sqs(region: str, account_id: str = ACCOUNT_ID) -> dict[str, list[dict[str, Any]]]:
    """Every message of every queue in moto's in-process SQS backend, in flight or not."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[account_id][region]
    saved: dict[str, list[dict[str, Any]]] = {}
    for name, queue in list(backend.queues.items()):
        messages = []
        for message in list(queue._messages):
            attributes: dict[str, dict[str, str]] = {}
            for attr_name, attr in message.message_attributes.items():
                value = {"DataType": attr["DataType"]}
                if "StringValue" in attr:
                    value["StringValue"] = attr["StringValue"]
                if "BinaryValue" in attr:
                    binary = attr["BinaryValue"]  # bytes in-process; base64 text when sent as JSON
                    value["BinaryValue"] = (
                        base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
                    )
                attributes[attr_name] = value
            messages.append(
                {
                    "body": message.body,
                    "attributes": attributes,
                    "group_id": message.group_id,
                    "deduplication_id": message.deduplication_id,
                }
            )
        if messages:
            saved[name] = messages
    return saved


def restore_sqs(sqs: Any, saved: dict[str, list[dict[str, Any]]]) -> int:
    count = 0
    for name, messages in saved.items():
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        for message in messages:
            request: dict[str, Any] = {"QueueUrl": url, "MessageBody": message["body"]}
            if message.get("attributes"):
                request["MessageAttributes"] = {
                    key: (
                        {**value, "BinaryValue": base64.b64decode(value["BinaryValue"])}
                        if "BinaryValue" in value
                        else value
                    )
                    for key, value in message["attributes"].items()
                }
            if message.get("group_id"):
                request["MessageGroupId"] = message["group_id"]
            if message.get("deduplication_id"):
                request["MessageDeduplicationId"] = message["deduplication_id"]
            sqs.send_message(**request)
            count += 1
    return count


def dump_state(state_dir: Path, *, s3: Any, secrets: Any, region: str) -> dict[str, int]:
    """Write the snapshot; returns how many objects, secrets and messages it holds."""
    root = state_dir / "moto"
    blob_dir = root / "s3"
    objects = dump_s3(s3, blob_dir)
    saved_secrets = dump_secrets(secrets)
    messages = dump_sqs(region)
    state = {"version": STATE_VERSION, "s3": objects, "secrets": saved_secrets, "sqs": messages}
    _atomic_write(root / "state.json", json.dumps(state, indent=1).encode())
    referenced = {item["blob"] for item in objects}
    if blob_dir.is_dir():
        for blob in blob_dir.iterdir():
            if blob.name not in referenced and not blob.name.startswith("."):
                with contextlib.suppress(FileNotFoundError):
                    blob.unlink()
    return {
        "objects": len(objects),
        "secrets": len(saved_secrets),
        "messages": sum(len(m) for m in messages.values()),
    }


def restore_state(state_dir: Path, *, s3: Any, secrets: Any, sqs: Any) -> dict[str, int]:
    """Load the snapshot into a fresh moto; a missing snapshot restores nothing."""
    root = state_dir / "moto"
    path = root / "state.json"
    if not path.exists():
        return {"objects": 0, "secrets": 0, "messages": 0}
    state = json.loads(path.read_text())
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"{path}: unknown snapshot version {state.get('version')!r}; `make reset` clears it")
    return {
        "objects": restore_s3(s3, state.get("s3", []), root / "s3"),
        "secrets": restore_secrets(secrets, state.get("secrets", [])),
        "messages": restore_sqs(sqs, state.get("sqs", {})),
    }


# -- platform sandboxes --------------------------------------------------------------------------
#
# A sandbox's ``dump()`` is plain JSON data. Its shops' orders (the bulk: ~150 MB for 100,000
# orders) go to one file per shop named after the shop's ``orders_version``, written only when that
# version has no file yet, so a periodic snapshot of an unchanged sandbox rewrites a few KB.

SANDBOX_STATE_VERSION = 1


def dump_sandbox(directory: Path, state: dict[str, Any]) -> dict[str, int]:
    """Write ``state`` (a sandbox's ``dump()``) to ``directory``; returns shops, orders, files written."""
    directory.mkdir(parents=True, exist_ok=True)
    shops: list[dict[str, Any]] = []
    referenced: set[str] = set()
    written = orders = 0
    for shop in state.get("shops", []):
        name = f"orders-{shop['shop_id']}-{state.get('instance', '')}-{shop.get('orders_version', 0)}.json"
        referenced.add(name)
        if not (directory / name).exists():
            _atomic_write(directory / name, json.dumps(shop["orders"], separators=(",", ":")).encode())
            written += 1
        orders += len(shop["orders"])
        shops.append({**{k: v for k, v in shop.items() if k != "orders"}, "orders_file": name})
    index = {"format": SANDBOX_STATE_VERSION, "state": {**state, "shops": shops}}
    _atomic_write(directory / "state.json", json.dumps(index, separators=(",", ":")).encode())
    for path in directory.glob("orders-*.json"):
        if path.name not in referenced:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return {"shops": len(shops), "orders": orders, "files_written": written}


def load_sandbox(directory: Path) -> dict[str, Any] | None:
    """The state :func:`dump_sandbox` wrote, for the sandbox's ``load()``; None when there is none."""
    path = directory / "state.json"
    if not path.exists():
        return None
    index = json.loads(path.read_text())
    if index.get("format") != SANDBOX_STATE_VERSION:
        raise ValueError(f"{path}: unknown format {index.get('format')!r}; `make reset` clears it")
    state: dict[str, Any] = index["state"]
    state["shops"] = [
        {**{k: v for k, v in shop.items() if k != "orders_file"}, "orders": _read_orders(directory, shop)}
        for shop in state.get("shops", [])
    ]
    return state


def _read_orders(directory: Path, shop: dict[str, Any]) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = json.loads((directory / shop["orders_file"]).read_bytes())
    return orders
