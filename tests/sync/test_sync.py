"""Orders sync against the TikTok Shop sandbox and moto: exact ground truth through faults and crashes."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.config import get_settings
from chalicelib.integrations.aws.clients import fast_client
from chalicelib.integrations.tiktok_shop.errors import AuthError
from chalicelib.services import orders as orders_service
from chalicelib.services import shop_sync
from chalicelib.store import order_writes
from chalicelib.store.orders import OrderItem, shop_key
from chalicelib.store.sync_ledger import flush_stream
from tests.sync.expected import day, expected_totals

from .conftest import Shop


def raw_stream_item(shop: Shop, stream: str = "orders") -> dict[str, Any]:
    item = shop.stream_item(stream)
    return fast_client("dynamodb").get_item(
        TableName=get_settings().table("entities"), Key={"pk": {"S": item.pk}, "sk": {"S": item.sk}}
    )["Item"]


def stored_orders(shop: Shop) -> dict[str, OrderItem]:
    return {o.order_id: o for o in OrderItem.query(shop_key(shop.tenant_id, shop.shop_id))}


def assert_matches_truth(shop: Shop) -> None:
    truth = shop.truth()
    stored = stored_orders(shop)
    assert set(stored) == {o["id"] for o in truth}
    for order in truth:
        mine = stored[order["id"]]
        assert (mine.status, mine.update_time, mine.total_amount) == (
            order["status"],
            order["update_time"],
            order["payment"]["total_amount"],
        )
    first = min(day(o["create_time"]) for o in truth)
    last = max(day(o["create_time"]) for o in truth)
    stats = orders_service.order_stats(shop.tenant_id, shop.shop_id, first, last)
    want = expected_totals(truth)
    got = {
        "orders": stats["orders"],
        "gmv_orders": stats["gmv_orders"],
        "gmv_minor": stats["gmv_minor"],
        "by_status": stats["by_status"],
        "by_brand": {
            b: {"orders": v["orders"], "gmv_minor": v["gmv_minor"]} for b, v in stats["by_brand"].items()
        },
    }
    assert got == want
    today = datetime.fromtimestamp(shop.clock(), UTC).date()
    report = orders_service.kpis(shop.tenant_id, shop.shop_id, 30, today=today)
    current = expected_totals(truth, report["from"], report["to"])
    previous = expected_totals(truth, report["previous"]["from"], report["previous"]["to"])
    assert report["totals"]["gmv_minor"] == current["gmv_minor"]
    assert report["totals"]["orders"] == current["orders"]
    assert report["previous"]["gmv_minor"] == previous["gmv_minor"]
    assert sum(p["gmv_minor"] for p in report["series"]) == current["gmv_minor"]
    assert len(report["series"]) == 30
    assert report["change"]["gmv_minor"]["absolute"] == current["gmv_minor"] - previous["gmv_minor"]


@pytest.fixture
def transacts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many orders each TransactWriteItems carried."""
    seen: list[int] = []
    real = order_writes._transact

    def counting(key, chunk, *args):
        seen.append(len(chunk))
        return real(key, chunk, *args)

    monkeypatch.setattr(order_writes, "_transact", counting)
    return seen


def test_full_then_incremental_matches_truth_with_minimal_calls(shop: Shop, transacts: list[int]) -> None:
    n = len(shop.truth())
    result = shop.sync()
    assert result.state == "succeeded"
    assert len(shop.order_calls()) == math.ceil(n / 100) + 1 == result.stats["api_calls"]
    assert result.stats["orders_written"] == n
    assert_matches_truth(shop)
    item = shop.stream_item()
    assert (item.state, item.cursor, item.due_pk, item.page_token) == (
        "succeeded",
        result.cursor,
        "DUE#orders",
        None,
    )
    assert item.due_at == int(item.finished_at.timestamp()) + 900

    shop.sandbox.clear_calls()
    transacts.clear()
    again = shop.sync()
    assert len(shop.sandbox.calls()) == 1 and again.stats["api_calls"] == 1
    assert transacts == [] and again.stats["orders_written"] == 0
    assert again.cursor >= result.cursor

    shop.clock.tick(120)
    mutated = shop.sandbox.mutate_orders(shop.shop_id, 60, seed=3)
    shop.sandbox.clear_calls()
    moved = shop.sync()
    assert moved.stats["orders_written"] == len(mutated["changed"]) + len(mutated["added"])
    assert len(shop.order_calls()) == 1
    assert_matches_truth(shop)


def test_faults_lose_nothing_and_count_nothing_twice(shop: Shop) -> None:
    sandbox = shop.sandbox
    sandbox.inject_fault("rate_limit", 2, retry_after=0)
    sandbox.inject_fault("server_error", 1)
    sandbox.inject_fault("timeout", 1)
    sandbox.inject_fault("expire_token", 1)
    sandbox.inject_fault("out_of_window", 2)
    assert shop.sync().state == "succeeded"
    assert shop.tokens.refreshes == 1
    assert_matches_truth(shop)
    shop.clock.tick(120)
    sandbox.mutate_orders(shop.shop_id, 50, seed=5)
    sandbox.inject_fault("out_of_window", 3)
    sandbox.inject_fault("server_error", 1)
    assert shop.sync().state == "succeeded"
    assert_matches_truth(shop)


def test_crash_after_checkpoint_resumes_without_double_counting(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = len(shop.truth())

    def crash(stream: str, pages: int) -> None:
        if pages == 2:
            raise RuntimeError("worker killed")

    monkeypatch.setattr(shop_sync, "after_page_hook", crash)
    run_id = shop.queue()
    with pytest.raises(RuntimeError, match="worker killed"):
        shop.sync(run_id=run_id)
    item = shop.stream_item()
    assert item.state == "failed" and "worker killed" in item.last_error and item.page_token
    monkeypatch.setattr(shop_sync, "after_page_hook", lambda stream, pages: None)
    result = shop.sync(run_id=run_id)  # the SQS redelivery
    assert result.state == "succeeded"
    # it resumes at the checkpoint: the one page fetched twice is the one the dead worker had
    # fetched ahead while it wrote page 2
    assert len(shop.order_calls()) == math.ceil(n / 100) + 2
    assert result.stats["pages"] == math.ceil(n / 100) + 1 and result.stats["orders_written"] == n
    assert_matches_truth(shop)


@pytest.mark.parametrize("flushed_meanwhile", [False, True], ids=["resumed", "flushed-then-resumed"])
def test_crash_between_the_transactions_of_a_page_counts_its_first_half_once(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, flushed_meanwhile: bool
) -> None:
    assert shop.sync().state == "succeeded"
    shop.clock.tick(120)
    changed = shop.sandbox.mutate_orders(shop.shop_id, 80, seed=4, new=20)  # a page: two transactions of 50
    real = order_writes._transact
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 2:  # the page's first transaction is written (with its deltas), its second is not
            raise TimeoutError("lambda timed out")
        return real(*args)

    monkeypatch.setattr(order_writes, "_transact", flaky)
    run_id = shop.queue()
    with pytest.raises(TimeoutError):
        shop.sync(run_id=run_id)
    assert any(name.startswith("pending_") for name in raw_stream_item(shop))
    if flushed_meanwhile:  # what a disconnect does with the deltas a stopped run held
        item = shop.stream_item()
        key = {"pk": {"S": item.pk}, "sk": {"S": item.sk}}
        assert flush_stream(key, shop_key(shop.tenant_id, shop.shop_id)) is True
        assert flush_stream(key, shop_key(shop.tenant_id, shop.shop_id)) is False
        assert not any(name.startswith("pending_") for name in raw_stream_item(shop))
    result = shop.sync(run_id=run_id)
    assert result.state == "succeeded"
    # the page again: its first transaction's 50 orders are skipped
    assert len(changed["changed"]) + len(changed["added"]) == 100
    assert result.stats["orders_written"] == 50
    assert_matches_truth(shop)
    assert not any(name.startswith("pending_") for name in raw_stream_item(shop))


@pytest.mark.parametrize("page", [1, 2])
@pytest.mark.parametrize("death", [RuntimeError, SystemExit], ids=["failed", "killed"])
def test_first_sync_crash_after_unconditional_writes_counts_them_once(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, death: type[BaseException], page: int
) -> None:
    """A page's settled orders are stored without their deltas when the worker dies (on page 1:
    before any checkpoint); before the run resumes, many orders change, so the page comes back
    different from what was stored."""
    real = shop_sync.put_settled
    calls = {"n": 0}

    def dies(*args):
        calls["n"] += 1
        held = real(*args)
        if calls["n"] == page:
            raise death(f"worker died after writing page {page}")
        return held

    monkeypatch.setattr(shop_sync, "put_settled", dies)
    run_id = shop.queue()
    with pytest.raises(death):
        shop.sync(run_id=run_id)
    monkeypatch.setattr(shop_sync, "put_settled", real)
    assert "intent" in raw_stream_item(shop)
    shop.clock.tick(120)
    shop.sandbox.mutate_orders(shop.shop_id, 200, seed=11)
    later = (shop.stream_item().lease_until or 0) + 1  # a killed worker leaves its lease to expire
    result = shop.sync(run_id=run_id, now=lambda: max(later, shop.clock()))
    assert result.state == "succeeded"
    assert_matches_truth(shop)
    item = raw_stream_item(shop)
    assert "intent" not in item and "fast_pass" not in item


def test_webhook_refreshes_stand_back_until_the_fast_pass_is_over(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    early = [o["id"] for o in shop.truth()[:5]]  # a webhook before the first sync has even begun
    before = shop_sync.refresh_orders(
        shop.tenant_id, shop.shop_id, early, shop.client, shop_cipher=shop.cipher
    )
    assert before.written == 0 and before.seen == 5 and not stored_orders(shop)
    shop.clock.tick(600)
    refreshed = {}

    def webhook_arrives(stream: str, pages: int) -> None:
        if pages == 1 and not refreshed:
            shop.clock.tick(30)
            changed = shop.sandbox.mutate_orders(shop.shop_id, 20, seed=13, new=3)
            ids = changed["changed"] + changed["added"]
            refreshed["counts"] = shop_sync.refresh_orders(
                shop.tenant_id, shop.shop_id, ids, shop.client, shop_cipher=shop.cipher
            )
            refreshed["ids"] = ids

    monkeypatch.setattr(shop_sync, "after_page_hook", webhook_arrives)
    assert shop.sync().state == "succeeded"
    assert refreshed["counts"].written == 0 and refreshed["counts"].seen == len(refreshed["ids"])
    assert_matches_truth(shop)  # the closing catch-up stored what the webhook named
    monkeypatch.setattr(shop_sync, "after_page_hook", lambda stream, pages: None)
    shop.clock.tick(60)
    changed = shop.sandbox.mutate_orders(shop.shop_id, 5, seed=14, new=1)
    ids = changed["changed"] + changed["added"]
    counts = shop_sync.refresh_orders(shop.tenant_id, shop.shop_id, ids, shop.client, shop_cipher=shop.cipher)
    assert counts.written == len(ids)  # after the first sync, webhooks write again
    assert_matches_truth(shop)


def test_a_worker_that_lost_its_lease_to_its_own_redelivery_stops(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = shop.queue()
    taken_over = {}

    def redelivered(stream: str, pages: int) -> None:
        if pages == 1 and not taken_over:  # the lease ran out; SQS hands the run to a new worker
            monkeypatch.setattr(shop_sync, "after_page_hook", lambda stream, pages: None)
            later = shop.stream_item().lease_until + 1
            taken_over["result"] = shop.sync(run_id=run_id, now=lambda: later)

    monkeypatch.setattr(shop_sync, "after_page_hook", redelivered)
    stale = shop.sync(run_id=run_id)
    assert taken_over["result"].state == "succeeded"
    assert stale.state == "superseded"
    assert shop.stream_item().state == "succeeded"
    assert_matches_truth(shop)


def test_expired_lease_is_taken_over_live_lease_and_stale_run_are_not(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = shop.queue()
    monkeypatch.setattr(
        shop_sync, "after_page_hook", lambda s, p: (_ for _ in ()).throw(SystemExit("killed"))
    )
    with pytest.raises(SystemExit):  # a hard kill: no failure handler runs, the item stays running
        shop.sync(run_id=run_id)
    monkeypatch.setattr(shop_sync, "after_page_hook", lambda stream, pages: None)
    assert shop.stream_item().state == "running"
    assert shop.sync(run_id=run_id).state == "skipped"  # lease still live
    assert shop.sync(run_id="someone-elses-run").state == "skipped"
    later = shop.stream_item().lease_until + 1
    shop.sandbox.clear_calls()
    result = shop.sync(run_id=run_id, now=lambda: later)
    assert result.state == "succeeded"
    assert_matches_truth(shop)
    shop.sandbox.clear_calls()
    assert shop.sync(run_id=run_id).state == "skipped"  # a duplicate delivery after success
    assert shop.sandbox.calls() == []


def test_revoked_authorization_stops_the_stream(shop: Shop) -> None:
    shop.sandbox.revoke_shop(shop.shop_id)
    with pytest.raises(AuthError):
        shop.sync()
    item = shop.stream_item()
    assert item.state == "stopped" and item.last_error.startswith("needs_reconnect: ")
    assert "ROW_" not in item.last_error


def test_refresh_orders_for_webhooks(shop: Shop) -> None:
    shop.sync()
    shop.clock.tick(120)
    changed = shop.sandbox.mutate_orders(shop.shop_id, 5, seed=9, new=2)
    ids = changed["changed"] + changed["added"]
    counts = shop_sync.refresh_orders(shop.tenant_id, shop.shop_id, ids, shop.client, shop_cipher=shop.cipher)
    assert counts.written == len(ids)
    assert_matches_truth(shop)


def test_list_and_get_orders(shop: Shop) -> None:
    shop.sync()
    truth = sorted(shop.truth(), key=lambda o: (o["create_time"], o["id"]), reverse=True)
    seen, cursor = [], None
    while True:
        page = orders_service.list_orders(shop.tenant_id, shop.shop_id, limit=90, cursor=cursor)
        seen += [o.order_id for o in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [o["id"] for o in truth]
    cancelled = orders_service.list_orders(shop.tenant_id, shop.shop_id, status="CANCELLED", limit=500)
    assert {o.order_id for o in cancelled.items} == {o["id"] for o in truth if o["status"] == "CANCELLED"}
    stanley = orders_service.list_orders(shop.tenant_id, shop.shop_id, brand="Stanley", limit=500)
    assert {o.order_id for o in stanley.items} == {
        o["id"] for o in truth if any(li["product_name"].startswith("Stanley ") for li in o["line_items"])
    }
    lo, hi = truth[60]["create_time"], truth[20]["create_time"]
    ranged = orders_service.list_orders(
        shop.tenant_id, shop.shop_id, created_from=lo, created_to=hi, limit=500
    )
    assert [o.order_id for o in ranged.items] == [o["id"] for o in truth if lo <= o["create_time"] < hi]
    text = orders_service.list_orders(shop.tenant_id, shop.shop_id, q="TUMBLER", limit=500)
    assert {o.order_id for o in text.items} == {
        o["id"] for o in truth if any("Tumbler" in li["product_name"] for li in o["line_items"])
    }
    one = orders_service.get_order(shop.tenant_id, shop.shop_id, truth[0]["id"])
    assert one.brands and one.line_items[0]["product_name"] == truth[0]["line_items"][0]["product_name"]
