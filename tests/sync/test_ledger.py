"""Held aggregate deltas: flushed once, in as many transactions as it takes, onto new or existing days."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.config import get_settings
from chalicelib.integrations.aws.clients import fast_client
from chalicelib.services import orders as orders_service
from chalicelib.store import daily
from chalicelib.store.sync_ledger import HeldDeltas, flush_pending, flush_stream

SHOP_KEY = "t_ledger#s1"
KEY = {"pk": {"S": "TENANT#t_ledger"}, "sk": {"S": "SYNC#s1#orders"}}


def hold_on_stream(**holds: HeldDeltas) -> None:
    item: dict[str, Any] = {**KEY, "state": {"S": "running"}}
    item.update({name: {"S": hold.to_json()} for name, hold in holds.items()})
    fast_client("dynamodb").put_item(TableName=get_settings().table("entities"), Item=item)


def stream_attributes() -> set[str]:
    item = fast_client("dynamodb").get_item(TableName=get_settings().table("entities"), Key=KEY)["Item"]
    return set(item)


def days_of(first: str, last: str) -> dict[str, dict[str, Any]]:
    rows = orders_service._daily_rows("t_ledger", "s1", date.fromisoformat(first), date.fromisoformat(last))
    return {row["day"]: row for row in rows}


def test_many_days_flush_in_several_transactions_exactly_once(cloud: Any) -> None:
    days = [f"2026-{month:02d}-{day:02d}" for month in (1, 2, 3, 4, 5) for day in range(1, 29)]  # 140
    first = HeldDeltas("USD", {day: {"orders": 2, "gmv_minor": 500, "status#COMPLETED": 2} for day in days})
    second = HeldDeltas("USD", {days[0]: {"orders": 1, "gmv_minor": 100, "status#COMPLETED": 1}})
    hold_on_stream(pending_7=first, pending_9=second)
    assert flush_pending(KEY, SHOP_KEY, {"pending_7": first, "pending_9": second}, create_days=True)
    assert not any(name.startswith("pending_") for name in stream_attributes())
    rows = days_of(days[0], days[-1])
    assert len(rows) == 140
    assert rows[days[0]]["orders"] == 3 and rows[days[0]]["gmv_minor"] == 600
    assert all(rows[day]["orders"] == 2 and rows[day]["currency"] == "USD" for day in days[1:])
    # a second flusher of the same holds finds them gone and applies nothing
    assert not flush_pending(KEY, SHOP_KEY, {"pending_7": first, "pending_9": second}, create_days=True)
    assert days_of(days[0], days[0])[days[0]]["orders"] == 3


def test_a_day_that_exists_already_is_added_to_not_replaced(cloud: Any) -> None:
    settings = get_settings()
    fast_client("dynamodb").transact_write_items(
        TransactItems=[
            daily.add_action(
                settings.table("daily"), SHOP_KEY, "2026-03-01", {"orders": 5, "brand_orders#Acme": 1}, "USD"
            )
        ]
    )
    hold = HeldDeltas("USD", {"2026-03-01": {"orders": 2}, "2026-03-02": {"orders": 1}})
    hold_on_stream(pending_3=hold)
    # a first sync tries to put whole new day items; the existing one makes it add instead
    assert flush_pending(KEY, SHOP_KEY, {"pending_3": hold}, create_days=True)
    rows = days_of("2026-03-01", "2026-03-02")
    assert rows["2026-03-01"]["orders"] == 7 and rows["2026-03-01"]["brand_orders#Acme"] == 1
    assert rows["2026-03-02"]["orders"] == 1
    assert not flush_stream(KEY, SHOP_KEY)  # nothing held any more
    hold_on_stream(pending_4=HeldDeltas("USD", {"2026-03-02": {"orders": 4}}))
    assert flush_stream(KEY, SHOP_KEY)  # what a disconnect does
    assert days_of("2026-03-02", "2026-03-02")["2026-03-02"]["orders"] == 5
