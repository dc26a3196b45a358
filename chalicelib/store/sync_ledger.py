"""A sync run's hold on its stream item: fenced checkpoints, and aggregate deltas held until flushed.

Fence. Every write a run makes to its stream item is conditioned on ``run_id``, ``state =
running`` and the item's ``version``, which each of them bumps. A worker that lost its lease
(even to a redelivery of its own run, which has the same ``run_id``) fails its next write with
``LeaseLost`` instead of overwriting the new owner's progress.

Held deltas. An orders page goes out in ``TransactWriteItems`` that put the orders and make one
fenced update of the stream item, carrying the page's checkpoint and what the transaction's orders
change in the daily aggregates as a ``pending_<version>`` attribute (JSON). An order and its
aggregate change still commit together, exactly once, but a page costs one small update instead
of an ``ADD`` per day item and counter it touches. (A first sync's fast pass writes its settled
orders outside transactions and holds their deltas in the page's checkpoint; see
``services/shop_sync.py`` for how a crash in between is repaired.) ``flush_pending`` then applies
the held deltas to the daily table, one action per day (a whole-item put for a day that has no
item yet, which is far cheaper than an update of dozens of counters), in the transaction that
removes the attributes it applied, conditioned on their still being there: whoever flushes (the
run, at least at its end; its next run, which inherits what a failed run left; a disconnect),
each delta is applied once.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.domain.order_contribution import Counters, merge_into
from chalicelib.integrations.aws.clients import fast_client
from chalicelib.store import daily

PENDING_PREFIX = "pending_"
MAX_ACTIONS = 100  # TransactWriteItems limit
FLUSH_AFTER_HOLDS = 16  # checkpoints holding deltas (a page has one, or two)
FLUSH_AFTER_DAYS = 90
FLUSH_AFTER_BYTES = 96_000  # of held JSON: the stream item must stay far below DynamoDB's 400 KB
_MAX_ATTEMPTS = 8
_FENCE = "#run_id = :run AND #state = :running AND #version = :version"


class LeaseLost(RuntimeError):
    """Another worker owns this run now (our lease expired); stop without touching its state."""


@dataclass
class HeldDeltas:
    """Aggregate changes not yet applied to the daily table: per day, counter deltas."""

    currency: str = ""
    days: dict[str, Counters] = field(default_factory=dict)

    def add(self, more: Mapping[str, Counters], currency: str) -> None:
        merge_into(self.days, more)
        self.currency = self.currency or currency

    def to_json(self) -> str:
        return json.dumps({"currency": self.currency, "days": self.days}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> HeldDeltas:
        data = json.loads(raw)
        return cls(str(data.get("currency") or ""), {d: dict(c) for d, c in data.get("days", {}).items()})


def attribute_value(value: Any) -> dict[str, Any]:
    """A plain Python value as a DynamoDB attribute value (dicts are stored as JSON strings)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"S": json.dumps(value, separators=(",", ":"))}
    return {"S": str(value)}


def update_parts(
    set_values: Mapping[str, Any], remove: Iterable[str] = (), condition: str = ""
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """``UpdateExpression``, names and values that set ``set_values``, remove ``remove`` and bump
    ``version``; ``condition`` may use the names ``#state``, ``#run_id``, ``#lease_until`` and
    ``#version``."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {":one": {"N": "1"}}
    sets = []
    for index, (name, value) in enumerate(set_values.items()):
        names[f"#s{index}"] = name
        values[f":s{index}"] = attribute_value(value)
        sets.append(f"#s{index} = :s{index}")
    removes = []
    for index, name in enumerate(remove):
        names[f"#r{index}"] = name
        removes.append(f"#r{index}")
    expression = ("SET " + ", ".join(sets) + " " if sets else "") + "ADD #version :one"
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    for word in ("state", "run_id", "lease_until", "version"):
        if f"#{word}" in condition or f"#{word}" in expression:
            names[f"#{word}"] = word
    return expression, names, values


def held_in(attributes: Mapping[str, Any]) -> dict[str, HeldDeltas]:
    """The held deltas on a stream item (plain attributes: name → JSON string)."""
    return {
        name: HeldDeltas.from_json(str(value))
        for name, value in attributes.items()
        if name.startswith(PENDING_PREFIX) and value
    }


def _cancel_reasons(exc: ClientError) -> list[str]:
    return [reason.get("Code", "") or "" for reason in exc.response.get("CancellationReasons", []) or []]


def conditional_failed(exc: ClientError) -> bool:
    """Whether a single conditional write was refused by its condition."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancelled(exc: ClientError) -> list[str] | None:
    """The per-action cancellation reasons of a cancelled transaction, None for other errors."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return _cancel_reasons(exc)


def backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.01 * 2**attempt) * random.random())  # noqa: S311 - jitter


@dataclass
class RunLedger:
    """What a running sync holds: the stream item's key and version, and its held deltas."""

    key: dict[str, Any]
    shop_key: str
    run_id: str
    version: int
    held: dict[str, HeldDeltas] = field(default_factory=dict)
    # a shop's first sync: the day items it flushes mostly do not exist yet
    create_days: bool = False
    now: Callable[[], float] = time.time
    lease_seconds: int = 300
    held_bytes: int = 0

    def __post_init__(self) -> None:
        self.held_bytes = sum(len(hold.to_json()) for hold in self.held.values())

    # -- fenced updates ------------------------------------------------------------------------

    def action(
        self,
        set_values: Mapping[str, Any] | None = None,
        remove: Sequence[str] = (),
        *,
        hold: HeldDeltas | None = None,
    ) -> dict[str, Any]:
        """The fenced update of the stream item, as a ``TransactWriteItems`` action; it renews the
        lease and, with ``hold``, keeps those deltas on the item. Call ``committed`` once the
        transaction it went into has committed."""
        values = dict(set_values or {})
        if "lease_until" not in remove:
            values.setdefault("lease_until", int(self.now()) + self.lease_seconds)
        if hold is not None and hold.days:
            values[self._hold_name()] = hold.to_json()
        expression, names, attribute_values = update_parts(values, remove, _FENCE)
        attribute_values.update(
            {
                ":run": {"S": self.run_id},
                ":running": {"S": "running"},
                ":version": {"N": str(self.version)},
            }
        )
        return {
            "Update": {
                "TableName": get_settings().table("entities"),
                "Key": self.key,
                "UpdateExpression": expression,
                "ConditionExpression": _FENCE,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": attribute_values,
            }
        }

    def committed(self, hold: HeldDeltas | None = None) -> None:
        if hold is not None and hold.days:
            self.held[self._hold_name()] = hold
            self.held_bytes += len(hold.to_json())
        self.version += 1

    def update(
        self,
        set_values: Mapping[str, Any] | None = None,
        remove: Sequence[str] = (),
        *,
        hold: HeldDeltas | None = None,
    ) -> None:
        """One fenced update on its own."""
        update = self.action(set_values, remove, hold=hold)["Update"]
        try:
            fast_client("dynamodb").update_item(**update)
        except ClientError as exc:
            if conditional_failed(exc):
                raise LeaseLost(f"run {self.run_id} is no longer ours") from None
            raise
        self.committed(hold)

    def transact(self, actions: list[dict[str, Any]], own: dict[str, Any]) -> None:
        """``actions`` plus the fenced update ``own`` in one transaction; ``LeaseLost`` when the
        fence fails, the ``ClientError`` (with its reasons) when anything else cancels it."""
        try:
            fast_client("dynamodb").transact_write_items(TransactItems=[*actions, own])
        except ClientError as exc:
            reasons = cancelled(exc)
            if reasons and len(reasons) == len(actions) + 1 and reasons[-1] == "ConditionalCheckFailed":
                raise LeaseLost(f"run {self.run_id} is no longer ours") from None
            raise

    def _hold_name(self) -> str:
        return f"{PENDING_PREFIX}{self.version}"

    # -- flushing ------------------------------------------------------------------------------

    def should_flush(self) -> bool:
        if len(self.held) >= FLUSH_AFTER_HOLDS or self.held_bytes >= FLUSH_AFTER_BYTES:
            return True
        days: set[str] = set()
        for hold in self.held.values():
            days.update(hold.days)
        return len(days) >= FLUSH_AFTER_DAYS

    def flush(self) -> None:
        if self.held:
            flush_pending(self.key, self.shop_key, self.held, create_days=self.create_days)
            self.held, self.held_bytes = {}, 0


def flush_pending(
    key: Mapping[str, Any], shop_key: str, held: Mapping[str, HeldDeltas], *, create_days: bool = False
) -> bool:
    """Apply ``held`` (attributes of the stream item at ``key``) to the daily table and remove them,
    atomically; False when they were gone already (someone else flushed them)."""
    settings = get_settings()
    daily_table, entities = settings.table("daily"), settings.table("entities")
    merged = HeldDeltas()
    for hold in held.values():
        merged.add(hold.days, hold.currency)
    days = sorted(day for day, counters in merged.days.items() if any(counters.values()))
    attributes = list(held)
    existing: set[str] = set()
    attempt = 0
    while True:
        batch, rest = days[: MAX_ACTIONS - 1], days[MAX_ACTIONS - 1 :]
        actions = []
        for day in batch:
            counters = {name: value for name, value in merged.days[day].items() if value}
            make = daily.create_action if create_days and day not in existing else daily.add_action
            actions.append(make(daily_table, shop_key, day, counters, merged.currency))
        remaining = HeldDeltas(merged.currency, {day: merged.days[day] for day in rest})
        rest_name = f"{PENDING_PREFIX}f{uuid.uuid4().hex[:12]}"
        names = {f"#h{index}": name for index, name in enumerate(attributes)}
        expression = "REMOVE " + ", ".join(names)
        values: dict[str, Any] = {}
        if rest:
            names["#rest"] = rest_name
            values[":rest"] = {"S": remaining.to_json()}
            expression = "SET #rest = :rest " + expression
        own: dict[str, Any] = {
            "TableName": entities,
            "Key": dict(key),
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(
                f"attribute_exists({name})" for name in names if name != "#rest"
            ),
            "ExpressionAttributeNames": names,
        }
        if values:
            own["ExpressionAttributeValues"] = values
        try:
            fast_client("dynamodb").transact_write_items(TransactItems=[*actions, {"Update": own}])
        except ClientError as exc:
            reasons = cancelled(exc)
            if reasons is None:
                raise
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                return False
            for day, reason in zip(batch, reasons, strict=False):
                if reason == "ConditionalCheckFailed":
                    existing.add(day)  # the day item exists: add to it instead
            attempt += 1
            if attempt >= _MAX_ATTEMPTS:
                raise
            backoff(attempt)
            continue
        if not rest:
            return True
        days, attributes, attempt = rest, [rest_name], 0


def flush_stream(key: Mapping[str, Any], shop_key: str) -> bool:
    """Apply what held deltas a run left on the stream item at ``key`` (one that was stopped, for
    one); False when there were none, or someone else applied them first."""
    item = (
        fast_client("dynamodb")
        .get_item(TableName=get_settings().table("entities"), Key=dict(key), ConsistentRead=True)
        .get("Item", {})
    )
    held = held_in({name: value.get("S") for name, value in item.items() if name.startswith(PENDING_PREFIX)})
    return bool(held) and flush_pending(key, shop_key, held)
