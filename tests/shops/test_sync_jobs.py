"""The sync worker and schedules, run as Lambda runs them, against the sandbox."""

import json
import time


def stored_orders(tenant_id, shop_id):
    from chalicelib.store.orders import OrderItem, shop_key

    return {item.order_id: item for item in OrderItem.query(shop_key(tenant_id, shop_id))}


def test_connecting_then_the_worker_syncs_every_order_and_product(
    api, connected_shop, shop_sandbox, run_jobs
):
    from chalicelib.services import shops

    tenant, shop = connected_shop
    shop_sandbox.app.generate_orders(shop["shop_id"], count=230, seed=7, days=20)
    # connect queued full syncs before the orders existed; run them again now
    for stream in shops.sync_streams(tenant.tenant_id, shop["shop_id"]):
        stream.update(actions=[type(stream).state.set("succeeded")])
    answer = api.post(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key, json_body={"full": True})
    assert answer.status == 202
    run_jobs()

    truth = {order["id"]: order for order in shop_sandbox.app.ground_truth(shop["shop_id"])}
    stored = stored_orders(tenant.tenant_id, shop["shop_id"])
    assert set(stored) == set(truth)
    assert all(stored[oid].status == truth[oid]["status"] for oid in truth)
    status = api.get(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key).body["streams"]
    assert status["orders"]["state"] == "succeeded", status
    assert status["orders"]["stats"]["orders_seen"] >= 230
    assert status["products"]["state"] == "succeeded", status


def test_the_schedule_queues_due_streams_and_a_webhook_refreshes_one_order(
    api, connected_shop, shop_sandbox, run_jobs, queued
):
    from chalicelib.services import shops

    tenant, shop = connected_shop
    shop_sandbox.app.generate_orders(shop["shop_id"], count=40, seed=8, days=5)
    for stream in shops.sync_streams(tenant.tenant_id, shop["shop_id"]):
        stream.update(actions=[type(stream).state.set("idle"), type(stream).due_at.set(int(time.time()) - 1)])
    api.invoke_schedule("queue_due_syncs")
    run_jobs()
    assert len(stored_orders(tenant.tenant_id, shop["shop_id"])) == 40

    # nothing is due now: the schedule queues nothing
    api.invoke_schedule("queue_due_syncs")
    assert queued() == []

    shop_sandbox.app.mutate_orders(shop["shop_id"], count=1, seed=9)
    changed = max(shop_sandbox.app.ground_truth(shop["shop_id"]), key=lambda order: order["update_time"])
    signed = shop_sandbox.app.signed_webhook(shop["shop_id"], "ORDER_STATUS_CHANGE", changed["id"])
    headers = {k.lower(): v for k, v in signed["headers"].items()}
    assert (
        api.call("POST", "/webhooks/tiktok-shop", raw=signed["body"].encode(), headers=headers).status == 200
    )
    run_jobs()
    assert stored_orders(tenant.tenant_id, shop["shop_id"])[changed["id"]].status == changed["status"]


def test_a_revoked_shop_stops_syncing_with_needs_reconnect(api, connected_shop, shop_sandbox, run_jobs):
    from chalicelib.services import shops

    tenant, shop = connected_shop
    shop_sandbox.app.revoke_shop(shop["shop_id"])
    for stream in shops.sync_streams(tenant.tenant_id, shop["shop_id"]):
        stream.update(actions=[type(stream).state.set("succeeded")])
    api.post(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key, json_body={"streams": ["orders"]})
    answers = run_jobs()
    assert answers and all(not a.get("batchItemFailures") for a in answers)
    got = api.get(f"/shops/{shop['shop_id']}", key=tenant.owner_key).body
    assert got["status"] == "needs_reconnect"
    assert got["sync"]["orders"]["state"] == "stopped"
    assert "needs_reconnect" in got["sync"]["orders"]["last_error"]


def test_a_sync_short_of_lambda_time_hands_over_at_a_checkpoint(api, connected_shop, shop_sandbox, queued):
    from chalicelib.jobs import shop_sync as sync_job
    from chalicelib.services import shops

    class AlmostOutOfTime:
        def get_remaining_time_in_millis(self):
            return sync_job.YIELD_WHEN_LEFT_MS - 1

    tenant, shop = connected_shop
    shop_sandbox.app.generate_orders(shop["shop_id"], count=250, seed=21, days=10)
    for stream in shops.sync_streams(tenant.tenant_id, shop["shop_id"]):
        stream.update(actions=[type(stream).state.set("succeeded")])
    api.post(
        f"/shops/{shop['shop_id']}/sync",
        key=tenant.owner_key,
        json_body={"full": True, "streams": ["orders"]},
    )
    (message,) = queued()
    invocations = 0
    while message is not None:
        invocations += 1
        event = {
            "Records": [{"messageId": str(invocations), "body": json.dumps(message), "receiptHandle": "r"}]
        }
        assert sync_job.handle_sync_batch(event, AlmostOutOfTime()) == {"batchItemFailures": []}
        waiting = queued()
        assert len(waiting) <= 1
        message = waiting[0] if waiting else None
        if message:
            assert message["run_id"] and message["stream"] == "orders"
            state = api.get(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key).body["streams"]["orders"]
            assert state["state"] == "queued"
    assert invocations >= 2  # it handed over at least once, and finished in a later invocation
    assert set(stored_orders(tenant.tenant_id, shop["shop_id"])) == {
        o["id"] for o in shop_sandbox.app.ground_truth(shop["shop_id"])
    }
    final = api.get(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key).body["streams"]["orders"]
    assert final["state"] == "succeeded" and final["stats"]["orders_written"] == 250
