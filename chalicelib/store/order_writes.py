"""Writes a page of orders into the orders table, and their aggregate changes, each exactly once.

For a batch (one API page, ≤100 orders):

1. one ``BatchGetItem`` reads the stored version of each order (only the attributes its aggregate
   contribution needs); an incoming version whose ``update_time`` is not newer is dropped, so an
   older ``update_time`` never overwrites a newer one and a re-synced page writes nothing;
2. the rest go out in ``TransactWriteItems``: one ``Put`` per order, conditioned on the exact
   version read (``attribute_not_exists`` or ``update_time = :read``), plus the aggregate deltas
   (new contribution minus the stored one, so a status change moves counters and a cancellation
   leaves GMV), in the same transaction:
   - in a sync run (``ledger``), as one fenced update of the run's stream item that holds the
     deltas and carries the page's checkpoint (``store/sync_ledger.py``), ≤99 orders each;
   - otherwise (webhook refreshes), as one ``ADD`` update per touched day item;
3. a transaction cancelled by a failed condition (another writer stored a version in between) is
   read again and retried; the aggregates only ever move in the same transaction as the order.

``assume_new=True`` (a shop's first sync, when the table has none of its orders) skips the read:
the puts are conditioned on ``attribute_not_exists`` and a transaction that meets an existing order
falls back to the read path, so the hint can cost time but never correctness.

Low-level ``boto3`` calls with hand-serialised items keep this path within reach of a plain
``BatchWriteItem`` of the same items; ``OrderItem`` reads them back (same attribute types).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
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
from chalicelib.store import daily
from chalicelib.store.orders import created_key, shop_key
from chalicelib.store.sync_ledger import HeldDeltas, RunLedger, backoff, cancelled

MAX_ACTIONS = 100  # TransactWriteItems limit
MAX_ATTEMPTS = 8
_READ_ATTRIBUTES = "order_id, update_time, #day, #status, total_minor, brand_minor, currency, fast_mark"
_RETRYABLE_REASONS = frozenset({"", "None", "ConditionalCheckFailed", "TransactionConflict"})
_READ_NAMES = {"#day": "day", "#status": "status"}


@dataclass(frozen=True)
class WriteCounts:
    seen: int = 0
    written: int = 0
    skipped: int = 0

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(self.seen + other.seen, self.written + other.written, self.skipped + other.skipped)


class FirstSyncInProgress(RuntimeError):
    """The shop's first sync is writing its orders without per-order conditions; other writers
    stand back (it will store what they would have)."""


@dataclass(frozen=True)
class _Stored:
    update_time: int
    contribution: Contribution
    currency: str = ""
    mark: str | None = None


def order_item(key: str, facts: OrderFacts, *, mark: str | None = None) -> dict[str, Any]:
    """The orders-table item of ``facts`` in DynamoDB JSON (the attribute types of ``OrderItem``);
    ``mark`` tags an item a first sync wrote unconditionally (see ``put_settled``)."""
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
    if mark is not None:
        item["fast_mark"] = {"S": mark}
    return item


def _stored_from(item: Mapping[str, Any]) -> _Stored:
    brand_raw = item.get("brand_minor", {}).get("S")
    contribution = Contribution(
        day=item["day"]["S"],
        status=item["status"]["S"],
        minor=int(item["total_minor"]["N"]),
        brand_minor=json.loads(brand_raw) if brand_raw else {},
    )
    return _Stored(
        int(item["update_time"]["N"]),
        contribution,
        item.get("currency", {}).get("S", ""),
        item.get("fast_mark", {}).get("S"),
    )


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
                backoff(attempt)
    return found


def _order_put(table: str, item: dict[str, Any], stored: _Stored | None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": table, "Item": item}
    if stored is None:
        put["ConditionExpression"] = "attribute_not_exists(order_id)"
    else:
        put["ConditionExpression"] = "update_time = :read"
        put["ExpressionAttributeValues"] = {":read": {"N": str(stored.update_time)}}
    return {"Put": put}


_Planned = tuple[OrderFacts, "_Stored | None", dict[str, Counters]]
# what a page's last transaction sets on the stream item, given the page's counts: (set, remove)
Checkpoint = Callable[[WriteCounts], tuple[dict[str, Any], tuple[str, ...]]]


def _changes(facts: Sequence[OrderFacts], stored: Mapping[str, _Stored]) -> list[_Planned]:
    """The orders newer than their stored version, each with its aggregate delta."""
    planned = []
    for order in facts:
        old = stored.get(order.order_id)
        if old is not None and old.update_time >= order.update_time:
            continue
        planned.append((order, old, delta(old.contribution if old else None, order.contribution)))
    return planned


def _plan(facts: Sequence[OrderFacts], stored: Mapping[str, _Stored]) -> list[list[_Planned]]:
    """The orders to write with day-item updates, in chunks of ≤ MAX_ACTIONS actions.

    Orders are grouped by the days their delta touches (one day, unless an order moved days) and
    groups are packed whole into chunks while they fit, so most day items are updated by one chunk
    only: close to the fewest actions (orders + distinct days)."""
    groups: dict[tuple[str, ...], list[_Planned]] = {}
    for planned in _changes(facts, stored):
        groups.setdefault(tuple(sorted(planned[2])), []).append(planned)
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


def _plan_held(facts: Sequence[OrderFacts], stored: Mapping[str, _Stored]) -> list[list[_Planned]]:
    """The orders to write with the ledger's one update: even chunks of ≤ MAX_ACTIONS - 1 orders."""
    planned = _changes(facts, stored)
    if not planned:
        return []
    count = -(-len(planned) // (MAX_ACTIONS - 1))
    size = -(-len(planned) // count)
    return [planned[start : start + size] for start in range(0, len(planned), size)]


def _totals(chunk: Sequence[_Planned]) -> dict[str, Counters]:
    totals: dict[str, Counters] = {}
    for _, _, change in chunk:
        merge_into(totals, change)
    return totals


def _transact(
    key: str,
    chunk: Sequence[_Planned],
    ledger: RunLedger | None = None,
    own: Any = None,
    guard: Mapping[str, Any] | None = None,
) -> None:
    """Put ``chunk``'s orders with their aggregate deltas: held by ``ledger`` (with its update
    ``own``), or as ``ADD`` updates of the day items (after ``guard``, if any)."""
    orders_table = get_settings().table("orders")
    actions = [_order_put(orders_table, order_item(key, order), old) for order, old, _ in chunk]
    if ledger is not None:
        ledger.transact(actions, own)
        return
    daily_table = get_settings().table("daily")
    currency = chunk[0][0].currency
    for day, counters in sorted(_totals(chunk).items()):
        kept = {name: value for name, value in counters.items() if value}
        if kept:
            actions.append(daily.add_action(daily_table, key, day, kept, currency))
    if guard is not None:
        actions.append({"ConditionCheck": dict(guard)})
    try:
        fast_client("dynamodb").transact_write_items(TransactItems=actions)
    except ClientError as exc:
        reasons = cancelled(exc)
        if guard is not None and reasons and reasons[-1] == "ConditionalCheckFailed":
            raise FirstSyncInProgress(key) from None
        raise


def write_orders(
    tenant_id: str,
    shop_id: str,
    raw_orders: Iterable[Mapping[str, Any]],
    *,
    assume_new: bool = False,
    ledger: RunLedger | None = None,
    checkpoint: Checkpoint | None = None,
    guard: Mapping[str, Any] | None = None,
) -> WriteCounts:
    """Upsert ``raw_orders`` (TikTok's order JSON, one page) and apply their aggregate deltas once.

    With a sync run's ``ledger`` the deltas are held on its stream item, and the page's last
    transaction also sets ``checkpoint(counts)`` there (on its own if the page writes nothing).
    ``guard``, a ``ConditionCheck`` added to every transaction, raises ``FirstSyncInProgress`` when it
    fails."""
    seen, ordered = newest_facts(raw_orders)
    return write_order_facts(
        tenant_id,
        shop_id,
        ordered,
        seen=seen,
        assume_new=assume_new,
        ledger=ledger,
        checkpoint=checkpoint,
        guard=guard,
    )


def newest_facts(raw_orders: Iterable[Mapping[str, Any]]) -> tuple[int, list[OrderFacts]]:
    """How many raw orders there were, and the newest version of each, normalised."""
    newest: dict[str, OrderFacts] = {}
    seen = 0
    for raw in raw_orders:
        seen += 1
        facts = order_facts(raw)
        kept = newest.get(facts.order_id)
        if kept is None or kept.update_time < facts.update_time:
            newest[facts.order_id] = facts
    return seen, list(newest.values())


def write_order_facts(
    tenant_id: str,
    shop_id: str,
    ordered: Sequence[OrderFacts],
    *,
    seen: int | None = None,
    assume_new: bool = False,
    ledger: RunLedger | None = None,
    checkpoint: Checkpoint | None = None,
    guard: Mapping[str, Any] | None = None,
) -> WriteCounts:
    """``write_orders`` for orders already normalised (one version of each)."""
    key = shop_key(tenant_id, shop_id)
    seen = len(ordered) if seen is None else seen
    written, checkpointed = 0, False
    if ordered:
        stored = {} if assume_new else _read_stored(key, [o.order_id for o in ordered])
        planner = _plan if ledger is None else _plan_held
        written, checkpointed = _write_chunks(
            key, shop_id, planner(ordered, stored), planner, seen, ledger, checkpoint, guard
        )
    counts = WriteCounts(seen, written, seen - written)
    if ledger is not None and checkpoint is not None and not checkpointed:
        ledger.update(*checkpoint(counts))
    return counts


def _write_chunks(
    key: str,
    shop_id: str,
    chunks: list[list[_Planned]],
    planner: Callable[[Sequence[OrderFacts], Mapping[str, _Stored]], list[list[_Planned]]],
    seen: int,
    ledger: RunLedger | None,
    checkpoint: Checkpoint | None,
    guard: Mapping[str, Any] | None = None,
) -> tuple[int, bool]:
    """Write the planned chunks in order; a transaction cancelled by an order's condition has its
    orders read again and re-planned (versions already stored are dropped, the rest retried).
    Returns the orders written and whether the checkpoint went out with them."""
    written, checkpointed = 0, False
    pending = list(chunks)
    attempt = 0
    while pending:
        current = pending.pop(0)
        own, hold, last = None, None, False
        if ledger is not None:
            last = not pending and checkpoint is not None
            done = WriteCounts(seen, written + len(current), seen - written - len(current))
            set_values, remove = checkpoint(done) if last and checkpoint is not None else ({}, ())
            hold = HeldDeltas(current[0][0].currency, _totals(current))
            own = ledger.action(set_values, remove, hold=hold)
        try:
            _transact(key, current, ledger, own, guard)
        except ClientError as exc:
            reasons = cancelled(exc)
            if reasons is None or any(code not in _RETRYABLE_REASONS for code in reasons):
                raise
            attempt += 1
            if attempt >= MAX_ATTEMPTS:
                raise RuntimeError(
                    f"orders of {shop_id} kept conflicting with concurrent writes; giving up"
                ) from None
            backoff(attempt)
            orders = [order for order, _, _ in current]
            pending[:0] = planner(orders, _read_stored(key, [o.order_id for o in orders]))
            continue
        if ledger is not None:
            ledger.committed(hold)
        written += len(current)
        checkpointed = last
    return written, checkpointed


@cache
def _writers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="order-writes")


def put_settled(tenant_id: str, shop_id: str, facts: Sequence[OrderFacts], mark: str) -> HeldDeltas:
    """Store ``facts`` with plain ``BatchWriteItem`` (no conditions, no transaction), each tagged
    with ``mark``, and return their whole contributions for the caller to hold.

    Only for a shop's first sync, on orders it sees once and while no one else writes the shop's
    orders: the caller records ``mark`` and the order ids before (so ``uncounted`` can find what a
    crash left written but not counted) and holds the returned deltas in its next checkpoint."""
    key = shop_key(tenant_id, shop_id)
    table = get_settings().table("orders")
    dynamodb = fast_client("dynamodb")
    held = HeldDeltas()
    items = []
    for order in facts:
        items.append({"PutRequest": {"Item": order_item(key, order, mark=mark)}})
        held.add(delta(None, order.contribution), order.currency)

    def write(batch: list[dict[str, Any]]) -> None:
        request: dict[str, Any] = {table: batch}
        attempt = 0
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if request:
                attempt += 1
                backoff(attempt)

    batches = [items[start : start + 25] for start in range(0, len(items), 25)]
    # the BatchWriteItem calls of a page go out side by side: I/O overlap, not fan-out
    for done in _writers().map(write, batches):
        del done
    return held


def uncounted(tenant_id: str, shop_id: str, order_ids: Sequence[str], mark: str) -> HeldDeltas:
    """The contributions of the orders among ``order_ids`` that ``put_settled`` stored with ``mark``."""
    held = HeldDeltas()
    for stored in _read_stored(shop_key(tenant_id, shop_id), list(order_ids)).values():
        if stored.mark == mark:
            held.add(delta(None, stored.contribution), stored.currency)
    return held
