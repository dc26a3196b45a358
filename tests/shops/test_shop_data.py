"""Orders, stats, KPIs, products and exports of a synced shop, checked against the sandbox."""

import csv
import io
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

GMV_EXCLUDED = {"UNPAID", "CANCELLED"}


@pytest.fixture
def synced(api, connected_shop, shop_sandbox, run_jobs):
    from chalicelib.services import shops

    tenant, shop = connected_shop
    shop_sandbox.app.generate_orders(shop["shop_id"], count=160, seed=11, days=12)
    for stream in shops.sync_streams(tenant.tenant_id, shop["shop_id"]):
        stream.update(actions=[type(stream).state.set("succeeded")])
    assert (
        api.post(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key, json_body={"full": True}).status
        == 202
    )
    run_jobs()
    return tenant, shop, shop_sandbox.app.ground_truth(shop["shop_id"])


def day_of(order):
    return datetime.fromtimestamp(order["create_time"], UTC).date()


def test_orders_list_pages_through_every_order_newest_first(api, synced):
    tenant, shop, truth = synced
    pages = api.pages(f"/shops/{shop['shop_id']}/orders?limit=70", tenant.owner_key)
    listed = [order for page in pages for order in page["items"]]
    assert [len(page["items"]) for page in pages] == [70, 70, 20]
    assert {o["order_id"] for o in listed} == {o["id"] for o in truth}
    created = [o["create_time"] for o in listed]
    assert created == sorted(created, reverse=True)
    one = listed[0]
    got = api.get(f"/shops/{shop['shop_id']}/orders/{one['order_id']}", key=tenant.owner_key)
    assert got.status == 200 and got.body == one
    assert api.get(f"/shops/{shop['shop_id']}/orders/nope", key=tenant.owner_key).status == 404


def test_orders_filter_by_status_brand_text_and_creation_time(api, synced):
    tenant, shop, truth = synced
    base = f"/shops/{shop['shop_id']}/orders?limit=200"
    status = Counter(o["status"] for o in truth).most_common(1)[0][0]
    by_status = api.get(f"{base}&status={status}", key=tenant.owner_key).body["items"]
    assert {o["order_id"] for o in by_status} == {o["id"] for o in truth if o["status"] == status}

    every = api.get(base, key=tenant.owner_key).body["items"]
    brand = Counter(b for o in every for b in o["brands"]).most_common(1)[0][0]
    by_brand = api.get(f"{base}&brand={brand}", key=tenant.owner_key).body["items"]
    assert by_brand and all(brand in o["brands"] for o in by_brand)
    assert len(by_brand) == sum(1 for o in every if brand in o["brands"])

    target = truth[0]
    by_text = api.get(f"{base}&q={target['id']}", key=tenant.owner_key).body["items"]
    assert [o["order_id"] for o in by_text] == [target["id"]]

    middle = sorted(o["create_time"] for o in truth)[len(truth) // 2]
    since = datetime.fromtimestamp(middle, UTC).isoformat().replace("+00:00", "Z")
    recent = api.get(f"{base}&created_from={since}", key=tenant.owner_key).body["items"]
    assert {o["order_id"] for o in recent} == {o["id"] for o in truth if o["create_time"] >= middle}

    assert api.get(f"{base}&status=LOST", key=tenant.owner_key).status == 422
    assert api.get(f"{base}&created_from=yesterday", key=tenant.owner_key).status == 400


def test_stats_and_kpis_match_the_ground_truth(api, synced):
    tenant, shop, truth = synced
    first = min(day_of(o) for o in truth)
    last = max(day_of(o) for o in truth)
    stats = api.get(
        f"/shops/{shop['shop_id']}/orders/stats?from={first}&to={last}", key=tenant.owner_key
    ).body
    counted = [o for o in truth if o["status"] not in GMV_EXCLUDED]
    gmv = sum(Decimal(o["payment"]["total_amount"]) for o in counted)
    assert stats["orders"] == len(truth)
    assert stats["gmv_orders"] == len(counted)
    assert Decimal(stats["gmv"]) == gmv
    assert stats["by_status"] == dict(Counter(o["status"] for o in truth))
    assert stats["currency"] == truth[0]["payment"]["currency"]

    kpis = api.get(f"/shops/{shop['shop_id']}/kpis?days=30", key=tenant.owner_key).body
    assert len(kpis["series"]) == 30
    in_window = [o for o in counted if day_of(o) >= datetime.now(UTC).date() - timedelta(days=29)]
    assert Decimal(kpis["totals"]["gmv"]) == sum(Decimal(o["payment"]["total_amount"]) for o in in_window)
    assert sum(point["orders"] for point in kpis["series"]) == kpis["totals"]["orders"]
    assert api.get(f"/shops/{shop['shop_id']}/kpis?days=0", key=tenant.owner_key).status == 422


def test_a_cancelled_order_leaves_gmv_after_the_next_sync(api, synced, shop_sandbox, run_jobs):
    tenant, shop, _truth = synced
    before = api.get(f"/shops/{shop['shop_id']}/kpis?days=30", key=tenant.owner_key).body["totals"]
    shop_sandbox.app.mutate_orders(shop["shop_id"], count=25, seed=12)
    assert (
        api.post(
            f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key, json_body={"streams": ["orders"]}
        ).status
        == 202
    )
    run_jobs()
    after_truth = shop_sandbox.app.ground_truth(shop["shop_id"])
    counted = [o for o in after_truth if o["status"] not in GMV_EXCLUDED]
    window = datetime.now(UTC).date() - timedelta(days=29)
    expected = sum(Decimal(o["payment"]["total_amount"]) for o in counted if day_of(o) >= window)
    after = api.get(f"/shops/{shop['shop_id']}/kpis?days=30", key=tenant.owner_key).body["totals"]
    assert Decimal(after["gmv"]) == expected
    assert after != before
    listed = api.pages(f"/shops/{shop['shop_id']}/orders?limit=200", tenant.owner_key)
    statuses = {o["order_id"]: o["status"] for page in listed for o in page["items"]}
    assert statuses == {o["id"]: o["status"] for o in after_truth}


def test_synced_products_join_the_catalogue(api, synced, shop_sandbox, run_jobs):
    tenant, shop, _ = synced
    products = api.pages(f"/shops/{shop['shop_id']}/products?limit=100", tenant.owner_key)
    listed = [p for page in products for p in page["items"]]
    truth = shop_sandbox.app.products(shop["shop_id"]) if hasattr(shop_sandbox.app, "products") else None
    assert listed and all(p["source"] == "shop" and p["shop_id"] == shop["shop_id"] for p in listed)
    assert all(p["skus"] and p["price"] for p in listed)
    if truth is not None:
        assert len(listed) == len(truth)
    raw = shop_sandbox.app.shops[shop["shop_id"]].products
    assert {p["product_id"]: (p["status"], p["shop_status"]) for p in listed} == {
        f"shop:{pid}": ("new", product["status"]) for pid, product in raw.items()
    }
    base = f"/shops/{shop['shop_id']}/products?limit=100"
    active = api.get(f"{base}&status=ACTIVATE", key=tenant.owner_key).body["items"]
    assert {p["product_id"] for p in active} == {
        f"shop:{i}" for i, p in raw.items() if p["status"] == "ACTIVATE"
    }

    # a ready video makes it video_created, and the next products sync of a change keeps that
    from chalicelib.jobs.render import _mark_product

    pid = sorted(raw)[0]
    _mark_product(tenant.tenant_id, f"shop:{pid}")
    raw[pid] = {**raw[pid], "status": "SELLER_DEACTIVATED", "update_time": int(time.time())}
    synced_again = api.post(
        f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key, json_body={"streams": ["products"]}
    )
    assert synced_again.status == 202, synced_again.body
    run_jobs()
    got = api.get(f"/products/shop:{pid}", key=tenant.owner_key).body
    assert (got["status"], got["shop_status"]) == ("video_created", "SELLER_DEACTIVATED")
    made = api.get(f"{base}&status=video_created", key=tenant.owner_key).body["items"]
    assert [(p["product_id"], p["shop_status"]) for p in made] == [(f"shop:{pid}", "SELLER_DEACTIVATED")]


def test_an_export_builds_a_csv_of_the_range(api, synced, cloud):
    from chalicelib.integrations.aws.clients import client

    tenant, shop, truth = synced
    first = min(day_of(o) for o in truth)
    last = max(day_of(o) for o in truth)
    created = api.post(
        f"/shops/{shop['shop_id']}/exports",
        key=tenant.owner_key,
        json_body={"kind": "orders", "from": str(first), "to": str(last), "format": "csv"},
    )
    assert created.status == 202 and created.body["status"] == "queued"
    export_id = created.body["export_id"]
    import json

    sqs = client("sqs")
    (message,) = sqs.receive_message(QueueUrl=cloud.queue_url("exports"), MaxNumberOfMessages=10)["Messages"]
    answer = api.invoke_sqs("export_worker", "exports", [message["Body"]])
    assert not answer.get("batchItemFailures")
    assert json.loads(message["Body"]) == {"tenant_id": tenant.tenant_id, "export_id": export_id}

    ready = api.get(f"/exports/{export_id}", key=tenant.owner_key).body
    assert ready["status"] == "ready" and ready["rows"] == len(truth)
    assert ready["url"].startswith("https://")
    body = client("s3").get_object(
        Bucket=cloud.bucket("media"), Key=f"exports/{tenant.tenant_id}/{export_id}.csv"
    )
    rows = list(csv.DictReader(io.StringIO(body["Body"].read().decode())))
    assert {row["order_id"] for row in rows} == {o["id"] for o in truth}
    other = api.get(
        f"/exports/{export_id}", key=api.add_user(tenant.owner_key, "v@x.test", "viewer")["api_key"]
    )
    assert other.status == 200
    bad = api.post(
        f"/shops/{shop['shop_id']}/exports",
        key=tenant.owner_key,
        json_body={"from": str(last), "to": str(first)},
    )
    assert bad.status == 422
