"""TikTok Shop webhooks: verified before anything is read, deduplicated, work queued."""


def post_webhook(api, signed, *, signature=None, body=None):
    headers = dict(signed["headers"])
    if signature is not None:
        headers["Authorization"] = signature
    return api.call(
        "POST",
        "/webhooks/tiktok-shop",
        raw=(body if body is not None else signed["body"]).encode(),
        headers={k.lower(): v for k, v in headers.items()},
    )


def test_an_order_status_change_queues_a_refresh_of_that_order_once(
    api, connected_shop, shop_sandbox, queued
):
    tenant, shop = connected_shop
    shop_sandbox.app.generate_orders(shop["shop_id"], count=3, seed=1)
    order_id = shop_sandbox.app.ground_truth(shop["shop_id"])[0]["id"]
    signed = shop_sandbox.app.signed_webhook(shop["shop_id"], "ORDER_STATUS_CHANGE", order_id)

    first = post_webhook(api, signed)
    assert first.status == 200 and first.body["status"] == "processed"
    assert queued() == [
        {"kind": "orders", "tenant_id": tenant.tenant_id, "shop_id": shop["shop_id"], "order_ids": [order_id]}
    ]
    again = post_webhook(api, signed)
    assert again.status == 200 and again.body["status"] == "duplicate"
    assert queued() == []


def test_a_forged_webhook_is_refused_and_changes_nothing(api, connected_shop, shop_sandbox, queued):
    tenant, shop = connected_shop
    shop_sandbox.app.generate_orders(shop["shop_id"], count=1, seed=2)
    order_id = shop_sandbox.app.ground_truth(shop["shop_id"])[0]["id"]
    signed = shop_sandbox.app.signed_webhook(shop["shop_id"], "ORDER_STATUS_CHANGE", order_id)

    assert post_webhook(api, signed, signature="0" * 64).status == 401
    assert post_webhook(api, signed, signature=signed["headers"]["Authorization"].upper()).status == 401
    tampered = signed["body"].replace(order_id, "999")
    assert post_webhook(api, signed, body=tampered).status == 401
    assert post_webhook(api, signed, signature="").status == 401
    deauth = shop_sandbox.app.signed_webhook(shop["shop_id"], "SELLER_DEAUTHORIZATION")
    assert post_webhook(api, deauth, signature="f" * 64).status == 401
    assert queued() == []
    assert api.get(f"/shops/{shop['shop_id']}", key=tenant.owner_key).body["status"] == "connected"
    # the genuine one still works afterwards: refused attempts recorded nothing
    assert post_webhook(api, signed).body["status"] == "processed"


def test_seller_deauthorization_disconnects_the_shop(api, connected_shop, shop_sandbox, cloud):
    from chalicelib.integrations.aws.clients import client

    tenant, shop = connected_shop
    signed = shop_sandbox.app.signed_webhook(shop["shop_id"], "SELLER_DEAUTHORIZATION")
    answer = post_webhook(api, signed)
    assert answer.status == 200 and answer.body["status"] == "processed"
    got = api.get(f"/shops/{shop['shop_id']}", key=tenant.owner_key).body
    assert got["status"] == "disconnected" and "deauthorized" in got["status_reason"]
    names = [s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]]
    assert not any("/connections/" in name for name in names)


def test_a_webhook_for_an_unknown_shop_is_acknowledged_and_ignored(api, shop_sandbox, cloud, queued):
    stranger = shop_sandbox.app.create_shop("Nobody's", "US")
    shop_sandbox.app.generate_orders(stranger["shop_id"], count=1, seed=3)
    order_id = shop_sandbox.app.ground_truth(stranger["shop_id"])[0]["id"]
    signed = shop_sandbox.app.signed_webhook(stranger["shop_id"], "ORDER_STATUS_CHANGE", order_id)
    answer = post_webhook(api, signed)
    assert answer.status == 200 and answer.body["status"] == "ignored"
    assert queued() == []
