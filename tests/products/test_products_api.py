"""The catalogue API: products by hand, shop products, validation, roles, tenants, paging, audit."""

from __future__ import annotations

from datetime import UTC, datetime


def _shop_product(tenant_id: str, shop_id: str, product_id: str, *, shop_status: str = "connected") -> None:
    from chalicelib.store.entities import tenant_partition
    from chalicelib.store.products import ProductItem, source_key
    from chalicelib.store.shops import ShopItem

    now = datetime.now(UTC)
    ShopItem(
        pk=tenant_partition(tenant_id),
        sk=ShopItem.SORT_PREFIX + shop_id,
        tenant_id=tenant_id,
        shop_id=shop_id,
        name="Sandbox Shop",
        cipher="cipher",
        status=shop_status,
        connected_at=now,
    ).save()
    ProductItem(
        tenant_id=tenant_id,
        product_id=f"shop:{product_id}",
        source_key=source_key(tenant_id, "shop", shop_id),
        source="shop",
        shop_id=shop_id,
        external_id=product_id,
        title="Synced Earbuds",
        status="new",
        shop_status="ACTIVATE",
        currency="USD",
        price="49.00",
        price_minor=4900,
        image_urls=["https://p16-oec-sandbox.tiktokcdn.com/img/1.jpg"],
        search_text="synced earbuds",
        created_at=now,
        updated_at=now,
    ).save()


def _count_products(tenant_id: str) -> int:
    from chalicelib.store.products import ProductItem

    return ProductItem.count(tenant_id)


def test_create_get_update_delete_a_manual_product(api, team, images, new_product):
    created = new_product(
        title="  Glow Serum  ",
        price=19.9,
        brand="Aura",
        category="Beauty",
        affiliate_link="https://shop.example.com/p/1?ref=ct",
    )
    assert created["product_id"].startswith("manual:")
    assert created["source"] == "manual" and created["status"] == "new" and created["shop_status"] is None
    assert created["title"] == "Glow Serum"
    assert (created["price"], created["price_minor"], created["currency"]) == ("19.90", 1990, "USD")
    assert [image["status"] for image in created["images"]] == ["ready"]
    pid = created["product_id"]

    got = api.get(f"/products/{pid}", key=team.viewer)
    assert (
        got.status == 200 and got.body["title"] == "Glow Serum" and got.body["images"][0]["status"] == "ready"
    )

    patched = api.call(
        "PATCH",
        f"/products/{pid}",
        key=team.editor,
        json_body={"price": "25.5", "brand": None, "title": "Glow+"},
    )
    assert patched.status == 200, patched.body
    assert (
        patched.body["price"] == "25.50"
        and patched.body["brand"] is None
        and patched.body["title"] == "Glow+"
    )
    assert patched.body["category"] == "Beauty" and patched.body["affiliate_link"].endswith("ref=ct")
    assert api.get("/products?q=glow%2B", key=team.viewer).body["items"][0]["product_id"] == pid

    # a currency with no minor unit refuses the stored price's decimals
    bad = api.call("PATCH", f"/products/{pid}", key=team.editor, json_body={"currency": "JPY"})
    assert bad.status == 422 and bad.body["error"]["details"][0]["field"] == "currency"
    ok = api.call("PATCH", f"/products/{pid}", key=team.editor, json_body={"currency": "jpy", "price": 2500})
    assert ok.status == 200 and (ok.body["price"], ok.body["currency"]) == ("2500", "JPY")

    assert api.delete(f"/products/{pid}", key=team.editor).status == 204
    assert api.get(f"/products/{pid}", key=team.viewer).status == 404
    assert api.delete(f"/products/{pid}", key=team.editor).status == 404

    events = api.get("/audit", key=team.owner).body["items"]
    product_events = [
        (e["action"], e["outcome"], e["target"]) for e in events if e["action"].startswith("product.")
    ]
    assert product_events == [
        ("product.delete", "failure", pid),
        ("product.delete", "success", pid),
        ("product.update", "success", pid),
        ("product.update", "failure", pid),
        ("product.update", "success", pid),
        ("product.create", "success", pid),
    ]


INVALID = [
    ({"title": "", "price": "1", "currency": "USD", "image_urls": ["http://x.test/a.jpg"]}, 422, {"title"}),
    (
        {"title": "x" * 201, "price": "1", "currency": "USD", "image_urls": ["http://x.test/a.jpg"]},
        422,
        {"title"},
    ),
    ({"title": "T", "price": "-1", "currency": "USD", "image_urls": ["http://x.test/a.jpg"]}, 422, {"price"}),
    ({"title": "T", "price": 0, "currency": "USD", "image_urls": ["http://x.test/a.jpg"]}, 422, {"price"}),
    (
        {"title": "T", "price": "1.999", "currency": "USD", "image_urls": ["http://x.test/a.jpg"]},
        422,
        {"price"},
    ),
    (
        {"title": "T", "price": "1.5", "currency": "JPY", "image_urls": ["http://x.test/a.jpg"]},
        422,
        {"price"},
    ),
    (
        {"title": "T", "price": "abc", "currency": "USD", "image_urls": ["http://x.test/a.jpg"]},
        422,
        {"price"},
    ),
    ({"title": "T", "price": True, "currency": "USD", "image_urls": ["http://x.test/a.jpg"]}, 422, {"price"}),
    (
        {"title": "T", "price": "1", "currency": "ZZZ", "image_urls": ["http://x.test/a.jpg"]},
        422,
        {"currency"},
    ),
    (
        {"title": "T", "price": "1", "currency": "US", "image_urls": ["http://x.test/a.jpg"]},
        422,
        {"currency"},
    ),
    ({"title": "T", "price": "1", "currency": "USD", "image_urls": []}, 422, {"image_urls"}),
    (
        {
            "title": "T",
            "price": "1",
            "currency": "USD",
            "image_urls": [f"http://x.test/{i}.jpg" for i in range(11)],
        },
        422,
        {"image_urls"},
    ),
    (
        {"title": "T", "price": "1", "currency": "USD", "image_urls": ["ftp://x.test/a.jpg"]},
        422,
        {"image_urls.0"},
    ),
    (
        {"title": "T", "price": "1", "currency": "USD", "image_urls": ["http://u:p@x.test/a"]},
        422,
        {"image_urls.0"},
    ),
    (
        {"title": "T", "price": "1", "currency": "USD", "image_urls": ["http://x.test/a", "http://x.test/a"]},
        422,
        {"image_urls"},
    ),
    (
        {
            "title": "T",
            "price": "1",
            "currency": "USD",
            "image_urls": ["http://x.test/a"],
            "affiliate_link": "http://a.test",
        },
        422,
        {"affiliate_link"},
    ),
    ({"title": "T", "price": "1", "currency": "USD"}, 400, {"image_urls"}),
    ({"title": "T", "price": "1", "currency": "USD", "image_urls": "http://x.test/a"}, 400, {"image_urls"}),
    (
        {"title": "T", "price": "1", "currency": "USD", "image_urls": ["http://x.test/a"], "colour": "red"},
        400,
        {"colour"},
    ),
]


def test_invalid_products_are_refused_naming_the_field_and_nothing_is_written(api, team, images):
    for body, status, fields in INVALID:
        answer = api.post("/products", key=team.editor, json_body=body)
        assert answer.status == status, (body, answer.body)
        assert {detail["field"] for detail in answer.body["error"]["details"]} == fields, body
    assert _count_products(team.tenant_id) == 0
    assert images.app.total_hits() == 0


def test_patch_refuses_nulls_for_required_fields_and_bad_values(api, team, new_product):
    pid = new_product()["product_id"]
    for body, field in (
        ({"title": None}, "title"),
        ({"image_urls": []}, "image_urls"),
        ({"price": "0"}, "price"),
        ({"price": "1.001"}, "price"),
        ({"affiliate_link": "javascript:alert(1)"}, "affiliate_link"),
    ):
        answer = api.call("PATCH", f"/products/{pid}", key=team.editor, json_body=body)
        assert answer.status in (400, 422), answer.body
        assert answer.body["error"]["details"][0]["field"] == field
    assert api.get(f"/products/{pid}", key=team.viewer).body["price"] == "19.99"


def test_viewers_read_editors_write_and_other_tenants_see_nothing(api, team, make_tenant, new_product):
    pid = new_product()["product_id"]
    body = {
        "title": "T",
        "price": "1",
        "currency": "USD",
        "image_urls": ["http://127.0.0.1:8765/images/a.jpg"],
    }
    assert api.post("/products", key=team.viewer, json_body=body).status == 403
    assert api.call("PATCH", f"/products/{pid}", key=team.viewer, json_body={"title": "x"}).status == 403
    assert api.delete(f"/products/{pid}", key=team.viewer).status == 403
    assert api.post(f"/products/{pid}/images/refresh", key=team.viewer).status == 403
    assert api.get("/products", key=team.viewer).status == 200
    assert api.get(f"/products/{pid}/images", key=team.viewer).status == 200
    assert api.get("/products").status == 401

    other = make_tenant("Other Co")
    assert api.get(f"/products/{pid}", key=other.owner_key).status == 404
    assert api.get(f"/products/{pid}/images", key=other.owner_key).status == 404
    assert api.post(f"/products/{pid}/images/refresh", key=other.owner_key).status == 404
    assert api.call("PATCH", f"/products/{pid}", key=other.owner_key, json_body={"title": "x"}).status == 404
    assert api.delete(f"/products/{pid}", key=other.owner_key).status == 404
    assert api.get("/products", key=other.owner_key).body["items"] == []
    assert api.get(f"/products/{pid}", key=team.viewer).body["title"] == "Glow Serum"


def test_listing_pages_and_filters_by_source_status_and_text(api, team, images, new_product):
    _shop_product(team.tenant_id, "7001", "1729001")
    _shop_product(team.tenant_id, "7002", "1729002")
    made = [
        new_product(title=f"Item {i:02d}", brand="Nova" if i % 2 else "Aura")["product_id"] for i in range(7)
    ]

    every = [
        p["product_id"] for page in api.pages("/products?limit=3", key=team.viewer) for p in page["items"]
    ]
    assert sorted(every) == sorted([*made, "shop:1729001", "shop:1729002"])
    manual = [
        p["product_id"]
        for page in api.pages("/products?source=manual&limit=2", key=team.viewer)
        for p in page["items"]
    ]
    assert sorted(manual) == sorted(made)
    shop = api.get("/products?source=shop", key=team.viewer).body["items"]
    assert [p["product_id"] for p in shop] == ["shop:1729001", "shop:1729002"]
    one_shop = api.get("/products?shop_id=7002", key=team.viewer).body["items"]
    assert [p["product_id"] for p in one_shop] == ["shop:1729002"]
    # status is ClickTok's for every source; a shop's products filter by TikTok's on the shop's route
    assert len(api.get("/products?status=new&source=manual", key=team.viewer).body["items"]) == 7
    assert len(api.get("/products?status=new&limit=50", key=team.viewer).body["items"]) == 9
    assert api.get("/products?status=video_created", key=team.viewer).body["items"] == []
    tiktok = api.get("/products?status=ACTIVATE", key=team.viewer)
    assert tiktok.status == 422 and tiktok.body["error"]["details"][0]["field"] == "status"
    for status, count in (("ACTIVATE", 1), ("activate", 1), ("SELLER_DEACTIVATED", 0), ("new", 1)):
        listed = api.get(f"/shops/7001/products?status={status}", key=team.viewer).body["items"]
        assert [p["product_id"] for p in listed] == ["shop:1729001"] * count, status
    assert api.get("/shops/7001/products?status=video_created", key=team.viewer).body["items"] == []
    [synced] = api.get("/shops/7001/products", key=team.viewer).body["items"]
    assert (synced["status"], synced["shop_status"]) == ("new", "ACTIVATE")
    nova = [p for page in api.pages("/products?q=nova&limit=2", key=team.viewer) for p in page["items"]]
    assert len(nova) == 3 and all(p["brand"] == "Nova" for p in nova)

    first = api.get("/products?limit=2", key=team.viewer).body
    other = api.get(f"/products?limit=2&source=manual&cursor={first['next_cursor']}", key=team.viewer)
    assert other.status == 400 and other.body["error"]["details"][0]["field"] == "cursor"
    assert api.get("/products?source=other", key=team.viewer).status == 422
    assert api.get("/products?source=manual&shop_id=7001", key=team.viewer).status == 422


def test_shop_products_change_only_clicktok_fields_and_stay_while_the_shop_is_connected(api, team, images):
    _shop_product(team.tenant_id, "7001", "1729001")
    pid = "shop:1729001"
    owned = api.call("PATCH", f"/products/{pid}", key=team.editor, json_body={"title": "Mine", "price": "1"})
    assert owned.status == 422
    assert {d["field"] for d in owned.body["error"]["details"]} == {"title", "price"}
    linked = api.call(
        "PATCH",
        f"/products/{pid}",
        key=team.editor,
        json_body={"affiliate_link": "https://aff.example.com/x"},
    )
    assert linked.status == 200 and linked.body["affiliate_link"] == "https://aff.example.com/x"
    assert linked.body["title"] == "Synced Earbuds"
    assert images.app.total_hits() == 0  # a shop product's PATCH fetches nothing

    refused = api.delete(f"/products/{pid}", key=team.editor)
    assert refused.status == 409 and refused.body["error"]["details"]["shop_status"] == "connected"
    assert api.get(f"/products/{pid}", key=team.viewer).status == 200

    _shop_product(team.tenant_id, "7001", "1729001", shop_status="disconnected")
    assert api.delete(f"/products/{pid}", key=team.editor).status == 204
    assert api.get(f"/products/{pid}", key=team.viewer).status == 404
