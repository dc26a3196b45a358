"""order_writes edge cases, products sync, exports, and the pure domain modules."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from chalicelib.domain import kpis as kpi_math
from chalicelib.domain.brands import brand_of
from chalicelib.domain.money import from_minor, to_minor
from chalicelib.services import orders as orders_service
from chalicelib.store import order_writes
from chalicelib.store.order_writes import write_orders
from chalicelib.store.orders import OrderItem, shop_key

from .conftest import Shop

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def order(order_id: str, status: str, update_time: int, total: str = "10.00") -> dict[str, Any]:
    return {
        "id": order_id,
        "status": status,
        "create_time": T0 + 3600,
        "update_time": update_time,
        "payment": {"currency": "USD", "total_amount": total},
        "line_items": [
            {"id": "l1", "product_name": "Owala FreeSip Bottle", "sale_price": total, "currency": "USD"}
        ],
    }


def day_row(shop_id: str = "s1") -> dict[str, Any]:
    stats = orders_service.order_stats("t1", shop_id, "2026-01-01", "2026-01-01")
    return {k: stats[k] for k in ("orders", "gmv_orders", "gmv_minor", "by_status", "by_brand")}


def test_status_changes_move_counters_and_cancel_leaves_gmv(cloud: Any) -> None:
    assert write_orders("t1", "s1", [order("o1", "AWAITING_SHIPMENT", T0 + 10)]).written == 1
    write_orders("t1", "s1", [order("o2", "COMPLETED", T0 + 10, "5.50")])
    assert day_row()["gmv_minor"] == 1550
    write_orders("t1", "s1", [order("o1", "CANCELLED", T0 + 20)])
    row = day_row()
    assert row["orders"] == 2 and row["gmv_orders"] == 1 and row["gmv_minor"] == 550
    assert row["by_status"] == {"CANCELLED": 1, "COMPLETED": 1}
    assert row["by_brand"] == {"Owala": {"orders": 1, "gmv": "5.50", "gmv_minor": 550}}


def test_older_update_time_never_overwrites_newer(cloud: Any) -> None:
    write_orders("t1", "s1", [order("o1", "CANCELLED", T0 + 20)])
    counts = write_orders(
        "t1", "s1", [order("o1", "AWAITING_SHIPMENT", T0 + 10), order("o1", "UNPAID", T0 + 20)]
    )
    assert (counts.seen, counts.written, counts.skipped) == (2, 0, 2)
    assert OrderItem.get(shop_key("t1", "s1"), "o1").status == "CANCELLED"
    assert day_row()["by_status"] == {"CANCELLED": 1} and day_row()["gmv_minor"] == 0


def test_a_concurrent_newer_write_is_reread_and_counted_once(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_orders("t1", "s1", [order("o1", "AWAITING_SHIPMENT", T0 + 10)])
    real_read = order_writes._read_stored
    stale = {"first": True}

    def read(key: str, ids: Any) -> Any:
        if stale.pop("first", False):  # what we read before the other writer's version landed
            found = real_read(key, ids)
            write_orders("t1", "s1", [order("o1", "IN_TRANSIT", T0 + 15)])
            return found
        return real_read(key, ids)

    monkeypatch.setattr(order_writes, "_read_stored", read)
    assert write_orders("t1", "s1", [order("o1", "COMPLETED", T0 + 30)]).written == 1
    row = day_row()
    assert row["by_status"] == {"COMPLETED": 1} and row["orders"] == 1 and row["gmv_minor"] == 1000


def test_first_sync_hint_falls_back_when_orders_exist(cloud: Any) -> None:
    write_orders("t1", "s1", [order("o1", "AWAITING_SHIPMENT", T0 + 10)])
    counts = write_orders(
        "t1", "s1", [order("o1", "COMPLETED", T0 + 30), order("o2", "UNPAID", T0 + 5)], assume_new=True
    )
    assert counts.written == 2
    assert day_row()["by_status"] == {"COMPLETED": 1, "UNPAID": 1} and day_row()["orders"] == 2


def test_products_join_the_catalogue(shop: Shop) -> None:
    truth = {p["id"]: p for p in shop.sandbox.shops[shop.shop_id].products.values()}
    result = shop.sync("products")
    assert result.state == "succeeded" and result.stats["products_written"] == len(truth)
    page = orders_service.list_shop_products(shop.tenant_id, shop.shop_id, limit=100)
    assert {p.external_id for p in page.items} == set(truth)
    for product in page.items:
        raw = truth[product.external_id]
        assert product.source == "shop" and product.shop_id == shop.shop_id
        assert product.brand == raw["brand"]["name"] and product.image_urls
        assert product.stock == sum(i["quantity"] for s in raw["skus"] for i in s["inventory"])
        assert product.price_minor == min(to_minor(s["price"]["sale_price"], "USD") for s in raw["skus"])
        # ClickTok's status, and TikTok's listing status beside it
        assert (product.status, product.shop_status) == ("new", raw["status"])
    active = orders_service.list_shop_products(shop.tenant_id, shop.shop_id, status="ACTIVATE", limit=100)
    assert {p.external_id for p in active.items} == {i for i, p in truth.items() if p["status"] == "ACTIVATE"}
    shop.sandbox.clear_calls()
    assert shop.sync("products").stats["products_written"] == 0
    assert len(shop.sandbox.calls()) == 1

    # a product with a ready video is video_created; a later sync of its change keeps that
    from chalicelib.jobs.render import _mark_product
    from chalicelib.store.products import ProductItem

    external_id = sorted(truth)[0]
    _mark_product(shop.tenant_id, f"shop:{external_id}")
    shop.clock.tick(10)
    changed = {**truth[external_id], "status": "SELLER_DEACTIVATED", "update_time": int(shop.clock())}
    changed["title"] = "Renamed in TikTok Shop"
    shop.sandbox.shops[shop.shop_id].products[external_id] = changed
    shop.clock.tick(10)
    assert shop.sync("products").stats["products_written"] == 1
    product = ProductItem.get(shop.tenant_id, f"shop:{external_id}")
    assert (product.status, product.shop_status) == ("video_created", "SELLER_DEACTIVATED")
    assert product.title == "Renamed in TikTok Shop"
    made = orders_service.list_shop_products(shop.tenant_id, shop.shop_id, status="video_created", limit=100)
    assert [p.external_id for p in made.items] == [external_id]


def test_export_streams_a_csv_through_multipart(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.s3.models

    from chalicelib.services import exports
    from chalicelib.store.entities import tenant_partition
    from chalicelib.store.shops import ExportItem

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1024)
    shop.sync()
    truth = shop.truth()
    days = sorted({kpi_day(o["create_time"]) for o in truth})
    first, last = days[5], days[20]
    ExportItem(
        pk=tenant_partition(shop.tenant_id),
        sk="EXPORT#e1",
        tenant_id=shop.tenant_id,
        export_id="e1",
        shop_id=shop.shop_id,
        export_kind="orders",
        format="csv",
        params={"from": first, "to": last},
        status="queued",
        created_at=__import__("datetime").datetime.now(),
        created_by="u1",
    ).save()
    parts: list[int] = []
    real_flush = exports._MultipartWriter._flush

    def counting(self: Any) -> None:
        parts.append(self.buffer.tell())
        real_flush(self)

    monkeypatch.setattr(exports._MultipartWriter, "_flush", counting)
    item = exports.build_export(shop.tenant_id, "e1", part_size=2048)
    assert item.status == "ready", item.error
    assert len(parts) > 2 and all(size >= 2048 for size in parts[:-1])
    body = (
        __import__("chalicelib.integrations.aws.clients", fromlist=["client"])
        .client("s3")
        .get_object(Bucket=cloud_bucket(), Key=item.s3_key)["Body"]
        .read()
        .decode()
    )
    rows = list(csv.DictReader(io.StringIO(body)))
    want = sorted(
        (o for o in truth if first <= kpi_day(o["create_time"]) <= last),
        key=lambda o: (o["create_time"], o["id"]),
    )
    assert [r["order_id"] for r in rows] == [o["id"] for o in want]
    assert [r["total_amount"] for r in rows] == [o["payment"]["total_amount"] for o in want]
    assert item.rows == len(want) and item.bytes == len(body.encode())
    assert item.s3_key == f"exports/{shop.tenant_id}/e1.csv"
    url = exports.export_download_url(item)
    expires = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    if "X-Amz-Expires" in expires:  # SigV4
        assert expires["X-Amz-Expires"] == "900"
    else:  # SigV2: an absolute time
        assert 890 <= int(expires["Expires"]) - __import__("time").time() <= 900


def kpi_day(ts: int) -> str:
    from tests.sync.expected import day

    return day(ts)


def cloud_bucket() -> str:
    from chalicelib.config import get_settings

    return get_settings().bucket("media")


def test_money_brands_and_kpi_math() -> None:
    assert (
        to_minor("19.99", "USD") == 1999 and to_minor("1500", "JPY") == 1500 and to_minor("12", "EUR") == 1200
    )
    assert (
        from_minor(1999, "USD") == "19.99"
        and from_minor(1500, "JPY") == "1500"
        and from_minor(-5, "USD") == "-0.05"
    )
    with pytest.raises(ValueError):
        to_minor("1.5", "JPY")
    assert brand_of("Glow Recipe Dew Drops Serum") == "Glow Recipe"
    assert brand_of("e.l.f. Power Grip Primer") == "e.l.f."
    assert brand_of("Mini CeraVe Cleanser") == "CeraVe"
    assert brand_of("Zephyr Lamp 3000") == "Zephyr" and brand_of("new gadget") is None
    rows = [
        {"day": "2026-01-10", "orders": 3, "gmv_orders": 2, "gmv_minor": 1001},
        {"day": "2026-01-08", "orders": 1, "gmv_orders": 1, "gmv_minor": 500},
    ]
    report = kpi_math.kpi_report(rows, date(2026, 1, 10), 2)
    assert report["totals"] == {"orders": 3, "gmv_orders": 2, "gmv_minor": 1001, "aov_minor": 501}
    assert [p["day"] for p in report["series"]] == ["2026-01-09", "2026-01-10"]
    assert report["series"][0]["orders"] == 0
    assert report["change"]["gmv_minor"] == {"absolute": 501, "percent": 100.2}
    assert kpi_math.change(5, 0) == {"absolute": 5, "percent": None}
