"""Contract tests of the TikTok Shop sandbox: it accepts what the platform accepts and rejects the rest."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from chalicelib.domain.order_status import ORDER_STATUSES
from chalicelib.integrations.tiktok_shop.signing import sign_request, verify_webhook
from local.sandboxes.tiktok_shop import create_app
from local.sandboxes.tiktok_shop.server import serve
from tests.sandboxes.conftest import APP_KEY, APP_SECRET, Raw, token_get, token_refresh

SEARCH = "/order/202309/orders/search"
SHOPS = "/authorization/202309/shops"


def search_all(raw: Raw, cipher: str, body: dict[str, Any], **query: Any) -> tuple[list[dict], list[int]]:
    orders, totals, token = [], [], None
    while True:
        q = {"shop_cipher": cipher, "page_size": 37, **query}
        if token:
            q["page_token"] = token
        status, envelope = raw.call("POST", SEARCH, q, body)
        assert (status, envelope["code"]) == (200, 0), envelope
        orders += envelope["data"]["orders"]
        totals.append(envelope["data"]["total_count"])
        token = envelope["data"]["next_page_token"]
        if not token:
            return orders, totals


def test_envelope_shape_and_authorized_shops(raw, shop):
    status, envelope = raw.call("GET", SHOPS)
    assert status == 200
    assert set(envelope) == {"code", "message", "request_id", "data"}
    assert envelope["code"] == 0 and envelope["request_id"]
    (listed,) = envelope["data"]["shops"]
    assert listed == {
        "id": shop["shop_id"],
        "name": "Glow Shop",
        "region": "US",
        "code": shop["code"],
        "cipher": shop["cipher"],
        "seller_type": "LOCAL",
    }


def test_bad_and_uppercase_signatures_are_rejected(raw, shop):
    good = sign_request(APP_SECRET, SHOPS, {"app_key": APP_KEY, "timestamp": str(int(raw.clock()))})
    assert raw.call("GET", SHOPS, sign=good)[1]["code"] == 0
    assert raw.call("GET", SHOPS, sign=good.upper())[1]["code"] == 106001
    assert raw.call("GET", SHOPS, secret="wrong")[1]["code"] == 106001
    # the body is signed: a search signed over other bytes fails
    query = {"shop_cipher": shop["cipher"], "page_size": 5}
    params = {**query, "app_key": APP_KEY, "timestamp": str(int(raw.clock()))}
    params = {k: str(v) for k, v in params.items()}
    signed_for_other_body = sign_request(APP_SECRET, SEARCH, params, b'{"order_status": "COMPLETED"}')
    assert (
        raw.call("POST", SEARCH, query, {"order_status": "COMPLETED"}, sign=signed_for_other_body)[1]["code"]
        == 106001
    )


def test_stale_timestamp_is_rejected(raw, shop):
    now = int(raw.clock())
    assert raw.call("GET", SHOPS, timestamp=now - 290)[1]["code"] == 0
    _, envelope = raw.call("GET", SHOPS, timestamp=now - 301)
    assert envelope["code"] == 36009004 and "5 minutes" in envelope["message"]


def test_shop_cipher_rules(sandbox, raw, shop):
    code = raw.call("GET", SHOPS, {"shop_cipher": shop["cipher"]})[1]
    assert code["code"] == 36009004 and "not required" in code["message"]
    assert raw.call("POST", SEARCH, {"page_size": 10})[1]["code"] == 36009004
    assert raw.call("POST", SEARCH, {"page_size": 10, "shop_cipher": "GCP_nope"})[1]["code"] == 36009004
    other = sandbox.create_shop("Other Seller", "GB")  # exists, but this token was not granted it
    assert raw.call("POST", SEARCH, {"page_size": 10, "shop_cipher": other["cipher"]})[1]["code"] == 36009004
    assert raw.call("POST", SEARCH, {"page_size": 10, "shop_cipher": shop["cipher"]})[1]["code"] == 0


def test_page_size_limits(raw, shop):
    for bad in (0, 101, "x"):
        assert (
            raw.call("POST", SEARCH, {"page_size": bad, "shop_cipher": shop["cipher"]})[1]["code"] == 36009004
        )
    assert raw.call("POST", SEARCH, {"shop_cipher": shop["cipher"]})[1]["code"] == 36009004  # required
    assert raw.call("POST", SEARCH, {"page_size": 100, "shop_cipher": shop["cipher"]})[1]["code"] == 0


@pytest.mark.parametrize("field", ["create_time", "update_time"])
@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_paging_is_complete_and_ordered(sandbox, raw, shop, field, order):
    truth = sandbox.ground_truth(shop["shop_id"])
    orders, totals = search_all(raw, shop["cipher"], {}, sort_field=field, sort_order=order)
    ids = [o["id"] for o in orders]
    assert len(ids) == len(set(ids)) == len(truth) == 420
    assert set(ids) == {o["id"] for o in truth}
    keys = [(o[field], o["id"]) for o in orders]
    assert keys == sorted(keys, reverse=order == "DESC")
    assert set(totals) == {420}


def test_default_sort_is_create_time_desc(raw, shop):
    envelope = raw.call("POST", SEARCH, {"page_size": 50, "shop_cipher": shop["cipher"]})[1]
    times = [o["create_time"] for o in envelope["data"]["orders"]]
    assert times == sorted(times, reverse=True)


def test_filters_match_ground_truth(sandbox, raw, shop, clock):
    truth = sandbox.ground_truth(shop["shop_id"])
    now = int(clock())
    ge, lt = now - 20 * 86400, now - 5 * 86400
    some = truth[17]
    cases = [
        ({"order_status": "COMPLETED"}, lambda o: o["status"] == "COMPLETED"),
        ({"update_time_ge": ge, "update_time_lt": lt}, lambda o: ge <= o["update_time"] < lt),
        ({"create_time_ge": ge}, lambda o: ge <= o["create_time"] <= now),
        ({"create_time_lt": lt}, lambda o: o["create_time"] < lt),
        (
            {"shipping_type": "SELLER", "create_time_ge": ge},
            lambda o: o["shipping_type"] == "SELLER" and o["create_time"] >= ge,
        ),
        ({"buyer_user_id": some["user_id"]}, lambda o: o["user_id"] == some["user_id"]),
        (
            {"is_buyer_request_cancel": False, "order_status": "IN_TRANSIT"},
            lambda o: o["status"] == "IN_TRANSIT",
        ),
        ({"warehouse_ids": ["WH-none"]}, lambda o: False),
    ]
    for body, predicate in cases:
        for field in ("update_time", "create_time"):
            orders, totals = search_all(raw, shop["cipher"], body, sort_field=field, sort_order="ASC")
            expected = {o["id"] for o in truth if predicate(o)}
            assert {o["id"] for o in orders} == expected, body
            assert len(orders) == len(expected) and set(totals) <= {len(expected)}, body
    assert (
        raw.call("POST", SEARCH, {"page_size": 5, "shop_cipher": shop["cipher"]}, {"order_status": "NOPE"})[
            1
        ]["code"]
        == 36009004
    )


def test_page_token_is_bound_to_its_search(raw, shop):
    first = raw.call("POST", SEARCH, {"page_size": 10, "shop_cipher": shop["cipher"]})[1]["data"]
    token = first["next_page_token"]
    query = {"page_size": 10, "shop_cipher": shop["cipher"], "page_token": token}
    assert raw.call("POST", SEARCH, query, {"order_status": "COMPLETED"})[1]["code"] == 36009004
    assert raw.call("POST", SEARCH, {**query, "page_token": "garbage!"})[1]["code"] == 36009004


def test_order_detail(sandbox, raw, shop):
    truth = sandbox.ground_truth(shop["shop_id"])
    ids = [o["id"] for o in truth[:3]]
    envelope = raw.call("GET", "/order/202309/orders", {"ids": ids, "shop_cipher": shop["cipher"]})[1]
    assert [o["id"] for o in envelope["data"]["orders"]] == ids
    order = envelope["data"]["orders"][0]
    assert isinstance(order["payment"]["total_amount"], str) and order["payment"]["currency"] == "USD"
    assert order["line_items"] and order["line_items"][0]["product_name"].split()[0]
    too_many = [o["id"] for o in truth[:51]]
    assert (
        raw.call("GET", "/order/202309/orders", {"ids": too_many, "shop_cipher": shop["cipher"]})[1]["code"]
        == 36009004
    )


def test_products(sandbox, raw, shop):
    query = {"page_size": 10, "shop_cipher": shop["cipher"]}
    seen, token = [], None
    while True:
        data = raw.call(
            "POST",
            "/product/202309/products/search",
            {**query, **({"page_token": token} if token else {})},
            {"status": "ALL"},
        )[1]["data"]
        seen += data["products"]
        token = data["next_page_token"]
        if not token:
            break
    assert len(seen) == data["total_count"] == len({p["id"] for p in seen}) > 10
    active = raw.call(
        "POST", "/product/202309/products/search", {**query, "page_size": 100}, {"status": "ACTIVATE"}
    )[1]["data"]["products"]
    assert active and all(p["status"] == "ACTIVATE" for p in active)
    detail = raw.call("GET", f"/product/202309/products/{seen[0]['id']}", {"shop_cipher": shop["cipher"]})[1]
    product = detail["data"]
    assert product["main_images"][0]["urls"][0].startswith("https://")
    assert product["skus"][0]["price"]["sale_price"] and product["skus"][0]["inventory"][0]["quantity"] >= 0
    assert product["brand"]["name"] in product["title"]
    missing = raw.call("GET", "/product/202309/products/404", {"shop_cipher": shop["cipher"]})[1]
    assert missing["code"] != 0


def test_shop_performance_is_computed_from_orders(sandbox, raw, shop, clock):
    today = datetime.fromtimestamp(clock(), UTC).date()
    query = {
        "shop_cipher": shop["cipher"],
        "start_date_ge": (today - timedelta(days=10)).isoformat(),
        "end_date_lt": today.isoformat(),
        "granularity": "1D",
        "currency": "LOCAL",
    }
    data = raw.call("GET", "/analytics/202405/shop/performance", query)[1]["data"]
    intervals = data["performance"]["intervals"]
    assert len(intervals) == 10 and intervals[0]["start_date"] == query["start_date_ge"]
    offset = -8 * 3600  # US shops report in UTC-8
    lo = int(datetime(*(today - timedelta(days=10)).timetuple()[:3], tzinfo=UTC).timestamp()) - offset
    hi = int(datetime(*today.timetuple()[:3], tzinfo=UTC).timestamp()) - offset
    counted = [
        o
        for o in sandbox.ground_truth(shop["shop_id"])
        if lo <= o["create_time"] < hi and o["status"] not in ("UNPAID", "CANCELLED")
    ]
    assert sum(i["orders"] for i in intervals) == len(counted)
    gmv = sum(float(o["payment"]["total_amount"]) for o in counted)
    assert abs(sum(float(i["gmv"]["amount"]) for i in intervals) - gmv) < 0.01
    assert intervals[0]["gmv"]["currency"] == "USD"
    total = raw.call("GET", "/analytics/202405/shop/performance", {**query, "granularity": "ALL"})[1]["data"]
    assert len(total["performance"]["intervals"]) == 1


def test_tokens_get_refresh_rotation_and_expiry(sandbox, raw, shop, clock):
    tokens = shop["tokens"]
    now = int(clock())
    assert tokens["access_token_expire_in"] > now + 86400  # absolute timestamps, not durations
    assert tokens["refresh_token_expire_in"] > tokens["access_token_expire_in"]
    assert tokens["seller_base_region"] == "US" and tokens["user_type"] == 0 and tokens["open_id"]
    code = sandbox.authorize(shop["shop_id"])
    assert token_get(raw, code)["code"] == 0
    assert token_get(raw, code)["code"] == 36004004  # single use
    expired_code = sandbox.authorize(shop["shop_id"])
    clock.now += 31 * 60
    assert token_get(raw, expired_code)["code"] == 36004004
    assert token_get(raw, sandbox.authorize(shop["shop_id"]), secret="bad")["code"] == 36004004

    refreshed = token_refresh(raw, tokens["refresh_token"])
    assert refreshed["code"] == 0
    assert refreshed["data"]["refresh_token"] != tokens["refresh_token"]
    assert token_refresh(raw, tokens["refresh_token"])["code"] == 36004005  # the old one is gone
    raw.token = refreshed["data"]["access_token"]
    assert raw.call("GET", SHOPS)[1]["code"] == 0

    clock.now += 8 * 86400  # past the access token's life
    status, envelope = raw.call("GET", SHOPS)
    assert envelope["code"] == 105002 and status == 401
    clock.now += 400 * 86400
    assert token_refresh(raw, refreshed["data"]["refresh_token"])["code"] == 36004001


def test_unknown_token_expire_all_and_revoke(sandbox, raw, shop):
    assert raw.call("GET", SHOPS, token="nope")[1]["code"] == 105001
    assert raw.control("POST", "/tokens:expire")["expired"] >= 1
    assert raw.call("GET", SHOPS)[1]["code"] == 105002
    refreshed = token_refresh(raw, shop["tokens"]["refresh_token"])
    raw.token = refreshed["data"]["access_token"]
    assert raw.call("GET", SHOPS)[1]["code"] == 0
    raw.control("POST", f"/shops/{shop['shop_id']}:revoke")
    assert raw.call("GET", SHOPS)[1]["code"] == 105001
    assert token_refresh(raw, refreshed["data"]["refresh_token"])["code"] == 36004005


def test_authorize_page_redirects_with_code_and_state(sandbox, raw):
    first = raw.control("POST", "/shops", {"name": "First"})
    newest = raw.control("POST", "/shops", {"name": "Newest", "region": "GB"})
    response = raw.http.get("/oauth/authorize", params={"app_key": APP_KEY, "state": "s-1"})
    assert response.status_code == 302
    location = httpx.URL(response.headers["location"])
    assert str(location).startswith("https://clicktok.test/shops/oauth/callback?")
    assert location.params["state"] == "s-1"
    granted = token_get(raw, location.params["code"])["data"]
    assert granted["seller_name"] == "Newest" and newest["currency"] == "GBP"
    response = raw.http.get(
        "/open/authorize",
        params={
            "service_id": "svc",
            "state": "s-2",
            "sandbox_shop_id": first["shop_id"],
            "redirect_uri": "http://localhost:9/cb?x=1",
        },
    )
    location = httpx.URL(response.headers["location"])
    assert location.params["x"] == "1" and location.params["state"] == "s-2"
    assert token_get(raw, location.params["code"])["data"]["seller_name"] == "First"
    assert raw.http.get("/oauth/authorize", params={"app_key": "wrong", "state": "s"}).status_code == 400


def test_generate_is_deterministic_and_mutate_moves_update_time(clock):
    def build() -> Any:
        app = create_app(APP_KEY, APP_SECRET, clock=clock)
        created = app.create_shop("Det", "ID")
        app.generate_orders(created["shop_id"], 50, seed=3, days=10)
        return app, created["shop_id"]

    (a, shop_a), (b, shop_b) = build(), build()
    assert a.ground_truth(shop_a) == b.ground_truth(shop_b)
    truth = a.ground_truth(shop_a)
    assert {o["payment"]["currency"] for o in truth} == {"IDR"}
    assert all("." not in o["payment"]["total_amount"] for o in truth)  # IDR has no minor unit
    assert {o["status"] for o in truth} <= set(ORDER_STATUSES)
    before = {o["id"]: o for o in truth}
    clock.now += 60
    result = a.mutate_orders(shop_a, count=10, seed=1)
    after = {o["id"]: o for o in a.ground_truth(shop_a)}
    assert len(result["changed"]) == 10 and result["added"]
    for order_id in result["changed"]:
        assert after[order_id]["update_time"] > before[order_id]["update_time"]
        assert after[order_id]["update_time"] >= int(clock())
    assert len(after) == 50 + len(result["added"])
    moved = [i for i in result["changed"] if after[i]["status"] != before[i]["status"]]
    assert moved  # open orders move along their life cycle


def test_control_api_over_http(raw):
    created = raw.control("POST", "/shops", {"name": "Ctl", "region": "GB"})
    assert created["cipher"] and created["shop_id"] and created["currency"] == "GBP"
    raw.control("POST", f"/shops/{created['shop_id']}/orders:generate", {"count": 30, "seed": 1, "days": 5})
    mutated = raw.control("POST", f"/shops/{created['shop_id']}/orders:mutate", {"count": 5, "seed": 2})
    truth = raw.control("GET", f"/shops/{created['shop_id']}/orders")
    assert truth["total"] == 30 + len(mutated["added"]) == len(truth["orders"])
    products = raw.control("GET", f"/shops/{created['shop_id']}/products")["products"]
    assert any(p["title"].startswith("Glow Recipe Watermelon Toner") for p in products)
    assert raw.http.post("/_sandbox/faults", json={"kind": "nope"}).status_code == 400
    assert raw.http.get("/_sandbox/shops/404/orders").status_code == 404


def test_faults_and_call_log(sandbox, raw, shop):
    raw.control("DELETE", "/calls")
    raw.control("POST", "/faults", {"kind": "rate_limit", "count": 1, "retry_after": 2})
    raw.control("POST", "/faults", {"kind": "server_error", "count": 1})
    raw.control("POST", "/faults", {"kind": "expire_token", "count": 1})
    response = raw.http.get(SHOPS)  # unsigned: rejected before any fault is spent
    assert response.json()["code"] != 0
    status, envelope = raw.call("GET", SHOPS)
    assert (status, envelope["code"]) == (429, 36009002)
    status, envelope = raw.call("GET", SHOPS)
    assert (status, envelope["code"]) == (500, 36009003)
    assert raw.call("GET", SHOPS)[1]["code"] == 105002
    assert raw.call("GET", SHOPS)[1]["code"] == 105002  # the token really expired
    calls = raw.control("GET", "/calls")["calls"]
    assert [c["code"] for c in calls] == [36009004, 36009002, 36009003, 105002, 105002]
    assert calls[1]["path"] == SHOPS and calls[1]["status"] == 429 and calls[1]["method"] == "GET"
    raw.control("DELETE", "/calls")
    assert raw.control("GET", "/calls")["calls"] == []


def test_rate_limit_fault_sets_retry_after(raw, shop):
    raw.control("POST", "/faults", {"kind": "rate_limit", "count": 1, "retry_after": 7})
    response = raw.http.get(SHOPS, params={"app_key": APP_KEY})  # fails on signature first
    assert response.json()["code"] == 36009004
    params = {"app_key": APP_KEY, "timestamp": str(int(raw.clock()))}
    params["sign"] = sign_request(APP_SECRET, SHOPS, params)
    response = raw.http.get(SHOPS, params=params, headers={"x-tts-access-token": raw.token})
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"


def test_out_of_window_fault_returns_orders_outside_the_window(sandbox, raw, shop, clock):
    now = int(clock())
    body = {"update_time_ge": now - 30 * 86400, "update_time_lt": now - 10 * 86400}
    raw.control("POST", "/faults", {"kind": "out_of_window", "count": 1})
    raw.call("GET", SHOPS)  # not an order search: the fault waits for one
    query = {
        "page_size": 100,
        "shop_cipher": shop["cipher"],
        "sort_field": "update_time",
        "sort_order": "ASC",
    }
    orders = raw.call("POST", SEARCH, query, body)[1]["data"]["orders"]
    outside = [o for o in orders if not body["update_time_ge"] <= o["update_time"] < body["update_time_lt"]]
    assert outside
    again = raw.call("POST", SEARCH, query, body)[1]["data"]["orders"]
    assert all(body["update_time_ge"] <= o["update_time"] < body["update_time_lt"] for o in again)


def test_qps_limit_per_shop(clock):
    app = create_app(APP_KEY, APP_SECRET, clock=clock, qps_limit=2)
    raw = Raw(app, clock)
    created = app.create_shop("Busy")
    raw.token = token_get(raw, app.authorize(created["shop_id"]))["data"]["access_token"]
    codes = [raw.call("GET", SHOPS)[1]["code"] for _ in range(3)]
    assert codes == [0, 0, 36009002]
    clock.now += 1.5
    assert raw.call("GET", SHOPS)[1]["code"] == 0


def test_webhook_is_signed_and_delivered(sandbox, raw, shop):
    order = sandbox.ground_truth(shop["shop_id"])[0]
    signed = raw.control(
        "POST",
        f"/shops/{shop['shop_id']}/webhooks:send",
        {"type": 1, "order_id": order["id"], "deliver": False},
    )["request"]
    assert verify_webhook(APP_KEY, APP_SECRET, signed["body"].encode(), signed["headers"]["Authorization"])
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    sandbox.webhook_url = "https://clicktok.test/webhooks/tiktok-shop"
    sandbox.webhook_transport = httpx.MockTransport(receiver)
    result = raw.control(
        "POST",
        f"/shops/{shop['shop_id']}/webhooks:send",
        {"type": "ORDER_STATUS_CHANGE", "order_id": order["id"]},
    )
    assert result["delivered"] and result["status"] == 200
    (request,) = received
    assert verify_webhook(APP_KEY, APP_SECRET, request.content, request.headers["Authorization"])
    payload = httpx.Response(200, content=request.content).json()
    assert payload["type"] == 1 and payload["shop_id"] == shop["shop_id"] and payload["tts_notification_id"]
    assert payload["data"] == {
        "order_id": order["id"],
        "order_status": order["status"],
        "update_time": order["update_time"],
    }


def test_served_over_http_with_a_real_timeout():
    app = create_app(APP_KEY, APP_SECRET)
    url, stop = serve(app)
    try:
        with httpx.Client(base_url=url, timeout=5) as http:
            created = http.post("/_sandbox/shops", json={"name": "Served"}).json()
            http.post("/_sandbox/faults", json={"kind": "timeout", "count": 1, "seconds": 0.6})
            code = app.authorize(created["shop_id"])
            query = {
                "app_key": APP_KEY,
                "app_secret": APP_SECRET,
                "auth_code": code,
                "grant_type": "authorized_code",
            }
            token = http.get("/api/v2/token/get", params=query).json()["data"]["access_token"]
            params = {"app_key": APP_KEY, "timestamp": str(int(time.time()))}
            params["sign"] = sign_request(APP_SECRET, SHOPS, params)
            with pytest.raises(httpx.ReadTimeout):
                http.get(SHOPS, params=params, headers={"x-tts-access-token": token}, timeout=0.2)
            assert http.get(SHOPS, params=params, headers={"x-tts-access-token": token}).json()["code"] == 0
    finally:
        stop()
