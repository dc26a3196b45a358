"""Writes a page of orders into the orders table and the daily aggregates, each change exactly once.

For a batch (one API page, ≤100 orders):

1. one ``BatchGetItem`` reads the stored version of each order (only the attributes its aggregate
   contribution needs); an incoming version whose ``update_time`` is not newer is dropped, so an
   older ``update_time`` never overwrites a newer one and a re-synced page writes nothing;
2. the rest go out in ``TransactWriteItems`` chunks of ≤100 actions: one ``Put`` per order,
   conditioned on the exact version read (``attribute_not_exists`` or ``update_time = :read``), plus
   one ``ADD`` update per touched day item carrying the chunk's summed deltas (new contribution
   minus the stored one, so a status change moves counters and a cancellation leaves GMV);
3. a chunk cancelled by a failed condition (another writer stored a version in between) is read
   again and retried; the aggregates only ever move in the same transaction as the order.

``assume_new=True`` (a shop's first sync, when the table has none of its orders) skips the read:
the puts are conditioned on ``attribute_not_exists`` and a chunk that meets an existing order
falls back to the read path, so the hint can cost time but never correctness.

Low-level ``boto3`` calls with hand-serialised items keep this path within reach of a plain
``BatchWriteItem`` of the same items; ``OrderItem`` reads them back (same attribute types).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.domain.order_contribution import (
    Contribution,
    Counters,
    OrderFacts,
    delta,
    merge_into,
    order_facts,
)
from chalicelib.integrations.aws.clients import fast_client
from chalicelib.store.orders import created_key, shop_key

MAX_ACTIONS = 100  # TransactWriteItems limit
MAX_ATTEMPTS = 8
# Chunks of one page are written concurrently (they rarely share a day item; when they do, the
# transaction conflict is retried). I/O overlap within one invocation, not fan-out.
CHUNK_WORKERS = 4
_READ_ATTRIBUTES = "order_id, update_time, #day, #status, total_minor, brand_minor"
_RETRYABLE_REASONS = frozenset({"", "None", "ConditionalCheckFailed", "TransactionConflict"})
_READ_NAMES = {"#day": "day", "#status": "status"}


@dataclass(frozen=True)
class WriteCounts:
    seen: int = 0
    written: int = 0
    skipped: int = 0

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(self.seen + other.seen, self.written + other.written, self.skipped + other.skipped)


@dataclass(frozen=True)
class _Stored:
    update_time: int
    contribution: Contribution


def order_item(key: str, facts: OrderFacts) -> dict[str, Any]:
    """The orders-table item of ``facts`` in DynamoDB JSON (the attribute types of ``OrderItem``)."""
    item: dict[str, Any] = {
        "shop_key": {"S": key},
        "order_id": {"S": facts.order_id},
        "created_key": {"S": created_key(facts.create_time, facts.order_id)},
        "status_key": {"S": f"{key}#{facts.status}"},
        "status": {"S": facts.status},
        "create_time": {"N": str(facts.create_time)},
        "update_time": {"N": str(facts.update_time)},
        "currency": {"S": facts.currency},
        "total_amount": {"S": facts.total_amount},
        "total_minor": {"N": str(facts.total_minor)},
        "brands": {"L": [{"S": brand} for brand in facts.brands]},
        "search_text": {"S": facts.search_text},
        "line_items": {"S": json.dumps(facts.line_items, separators=(",", ":"), ensure_ascii=False)},
        "day": {"S": facts.contribution.day},
        "brand_minor": {"S": json.dumps(facts.brand_minor, separators=(",", ":"), ensure_ascii=False)},
    }
    if facts.paid_time is not None:
        item["paid_time"] = {"N": str(facts.paid_time)}
    if facts.buyer is not None:
        item["buyer"] = {"S": json.dumps(facts.buyer, separators=(",", ":"), ensure_ascii=False)}
    return item


def _stored_from(item: Mapping[str, Any]) -> _Stored:
    brand_raw = item.get("brand_minor", {}).get("S")
    contribution = Contribution(
        day=item["day"]["S"],
        status=item["status"]["S"],
        minor=int(item["total_minor"]["N"]),
        brand_minor=json.loads(brand_raw) if brand_raw else {},
    )
    return _Stored(int(item["update_time"]["N"]), contribution)


def _read_stored(key: str, order_ids: Sequence[str]) -> dict[str, _Stored]:
    dynamodb = fast_client("dynamodb")
    table = get_settings().table("orders")
    found: dict[str, _Stored] = {}
    for start in range(0, len(order_ids), 100):
        ids = order_ids[start : start + 100]
        request: dict[str, Any] = {
            table: {
                "Keys": [{"shop_key": {"S": key}, "order_id": {"S": i}} for i in ids],
                "ProjectionExpression": _READ_ATTRIBUTES,
                "ExpressionAttributeNames": _READ_NAMES,
                "ConsistentRead": True,
            }
        }
        attempt = 0
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                found[item["order_id"]["S"]] = _stored_from(item)
            request = answer.get("UnprocessedKeys") or {}
            if request:
                attempt += 1
                time.sleep(min(1.0, 0.02 * 2**attempt) * random.random())  # noqa: S311 - jitter
    return found


def _daily_update(table: str, key: str, day: str, counters: Counters, currency: str) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {":currency": {"S": currency}}
    adds = []
    for index, (name, value) in enumerate(sorted(counters.items())):
        names[f"#c{index}"] = name
        values[f":c{index}"] = {"N": str(value)}
        adds.append(f"#c{index} :c{index}")
    return {
        "Update": {
            "TableName": table,
            "Key": {"shop_key": {"S": key}, "day": {"S": day}},
            "UpdateExpression": "SET currency = if_not_exists(currency, :currency) ADD " + ", ".join(adds),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _order_put(table: str, item: dict[str, Any], stored: _Stored | None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": table, "Item": item}
    if stored is None:
        put["ConditionExpression"] = "attribute_not_exists(order_id)"
    else:
        put["ConditionExpression"] = "update_time = :read"
        put["ExpressionAttributeValues"] = {":read": {"N": str(stored.update_time)}}
    return {"Put": put}


_Planned = tuple[OrderFacts, "_Stored | None", dict[str, Counters]]


def _plan(facts: Sequence[OrderFacts], stored: Mapping[str, _Stored]) -> list[list[_Planned]]:
    """The orders to write, with their deltas, in chunks of ≤ MAX_ACTIONS actions.

    Orders are grouped by the days their delta touches (one day, unless an order moved days) and
    groups are packed whole into chunks while they fit, so most day items are updated by one chunk
    only: close to the fewest actions (orders + distinct days) and little contention between chunks.
    """
    groups: dict[tuple[str, ...], list[_Planned]] = {}
    for order in facts:
        old = stored.get(order.order_id)
        if old is not None and old.update_time >= order.update_time:
            continue
        change = delta(old.contribution if old else None, order.contribution)
        groups.setdefault(tuple(sorted(change)), []).append((order, old, change))
    chunks: list[list[_Planned]] = []
    current: list[_Planned] = []
    days: set[str] = set()
    for group_days, group in sorted(groups.items()):
        for planned in group:
            new_days = days | set(group_days)
            if current and len(current) + 1 + len(new_days) > MAX_ACTIONS:
                chunks.append(current)
                current, new_days = [], set(group_days)
            current.append(planned)
            days = new_days
    if current:
        chunks.append(current)
    return chunks


def _transact(key: str, chunk: Sequence[_Planned]) -> None:
    settings = get_settings()
    orders_table, daily_table = settings.table("orders"), settings.table("daily")
    totals: dict[str, Counters] = {}
    actions = []
    for order, old, change in chunk:
        actions.append(_order_put(orders_table, order_item(key, order), old))
        merge_into(totals, change)
    currency = chunk[0][0].currency
    for day, counters in sorted(totals.items()):
        kept = {name: value for name, value in counters.items() if value}
        if kept:
            actions.append(_daily_update(daily_table, key, day, kept, currency))
    fast_client("dynamodb").transact_write_items(TransactItems=actions)


def _cancel_reasons(exc: ClientError) -> list[str]:
    return [reason.get("Code", "") for reason in exc.response.get("CancellationReasons", []) or []]


def write_orders(
    tenant_id: str, shop_id: str, raw_orders: Iterable[Mapping[str, Any]], *, assume_new: bool = False
) -> WriteCounts:
    """Upsert ``raw_orders`` (TikTok's order JSON, one page) and apply their aggregate deltas once."""
    key = shop_key(tenant_id, shop_id)
    newest: dict[str, OrderFacts] = {}
    seen = 0
    for raw in raw_orders:
        seen += 1
        facts = order_facts(raw)
        kept = newest.get(facts.order_id)
        if kept is None or kept.update_time < facts.update_time:
            newest[facts.order_id] = facts
    if not newest:
        return WriteCounts(seen, 0, seen)
    ordered = list(newest.values())
    stored = {} if assume_new else _read_stored(key, [o.order_id for o in ordered])
    chunks = _plan(ordered, stored)
    if CHUNK_WORKERS > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=min(CHUNK_WORKERS, len(chunks))) as pool:
            written = sum(pool.map(lambda chunk: _write_chunk(key, shop_id, chunk), chunks))
    else:
        written = sum(_write_chunk(key, shop_id, chunk) for chunk in chunks)
    return WriteCounts(seen, written, seen - written)


def _write_chunk(key: str, shop_id: str, chunk: list[_Planned]) -> int:
    """Write one planned chunk; on a cancelled transaction re-read its orders and retry."""
    written = 0
    pending = [chunk]
    attempt = 0
    while pending:
        current = pending.pop(0)
        try:
            _transact(key, current)
            written += len(current)
            continue
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = _cancel_reasons(exc)
            if any(code not in _RETRYABLE_REASONS for code in reasons):
                raise
        attempt += 1
        if attempt >= MAX_ATTEMPTS:
            raise RuntimeError(f"orders of {shop_id} kept conflicting with concurrent writes; giving up")
        time.sleep(min(0.5, 0.01 * 2**attempt) * random.random())  # noqa: S311 - jitter
        # someone else wrote some of these orders meanwhile (or a day item was busy): read the
        # orders again and re-plan; versions already stored are dropped, the rest retried
        orders = [order for order, _, _ in current]
        fresh = _read_stored(key, [o.order_id for o in orders])
        pending[:0] = _plan(orders, fresh)
    return written
