"""SQS: sending job messages to the stage's queues (JSON bodies, in batches of ten)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from chalicelib.config import get_settings
from chalicelib.integrations.aws.clients import client


def send(queue: str, message: Mapping[str, Any]) -> None:
    send_batch(queue, [message])


def send_batch(queue: str, messages: Iterable[Mapping[str, Any]]) -> int:
    url = get_settings().queue_url(queue)
    sqs = client("sqs")
    sent = 0
    pending = iter(messages)
    while chunk := list(islice(pending, 10)):
        entries = [
            {"Id": str(n), "MessageBody": json.dumps(message, separators=(",", ":"))}
            for n, message in enumerate(chunk)
        ]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if answer.get("Failed"):
            reasons = "; ".join(f"{f.get('Code')}: {f.get('Message')}" for f in answer["Failed"])
            raise RuntimeError(f"SQS refused {len(answer['Failed'])} message(s) for {queue}: {reasons}")
        sent += len(entries)
    return sent
