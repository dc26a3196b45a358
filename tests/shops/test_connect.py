"""Connecting a TikTok Shop account through OAuth against the sandbox."""

import json

from tests.shops.conftest import APP_KEY


def test_connecting_a_shop_stores_tokens_in_secrets_manager_and_queues_a_full_sync(
    api, make_tenant, shop_sandbox, queued, cloud
):
    from chalicelib.integrations.aws.clients import client

    tenant = make_tenant()
    shop = shop_sandbox.app.create_shop("Glow Lab", "US")
    start = api.get("/shops/connect", key=tenant.owner_key)
    assert start.status == 200
    assert f"app_key={APP_KEY}" in start.body["authorize_url"]
    assert start.body["state"] in start.body["authorize_url"]

    back = shop_sandbox.follow_authorize(start.body["authorize_url"], shop["shop_id"])
    assert back["state"] == start.body["state"]
    done = api.get(f"/shops/oauth/callback?code={back['code']}&state={back['state']}")
    assert done.status == 200, done.body
    assert done.body["tenant_id"] == tenant.tenant_id
    (connected,) = done.body["shops"]
    assert connected["shop_id"] == shop["shop_id"] and connected["status"] == "connected"

    # the tokens are in Secrets Manager, never in DynamoDB or the answer
    names = [s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]]
    assert any(
        name.startswith(f"clicktok/test/tiktok-shop/connections/{tenant.tenant_id}/") for name in names
    )
    connection_secret = next(n for n in names if "/connections/" in n)
    stored = json.loads(client("secretsmanager").get_secret_value(SecretId=connection_secret)["SecretString"])
    assert stored["access_token"] and stored["refresh_token"]
    table_dump = json.dumps(client("dynamodb").scan(TableName=cloud.table("entities"))["Items"])
    assert stored["access_token"] not in table_dump and stored["refresh_token"] not in table_dump
    assert stored["access_token"] not in json.dumps(done.body)

    messages = queued()
    assert sorted((m["stream"], m["full"]) for m in messages) == [("orders", True), ("products", True)]
    listed = api.get("/shops", key=tenant.owner_key).body["items"]
    assert [s["shop_id"] for s in listed] == [shop["shop_id"]]
    assert {name: s["state"] for name, s in listed[0]["sync"].items()} == {
        "orders": "queued",
        "products": "queued",
    }

    audit = api.get("/audit?action=shop.connect", key=tenant.owner_key).body["items"]
    assert audit[0]["target"] == shop["shop_id"] and audit[0]["actor"] == tenant.owner_id


def test_a_bad_or_reused_state_is_refused_and_stores_nothing(api, make_tenant, shop_sandbox, queued):
    tenant = make_tenant()
    shop = shop_sandbox.app.create_shop("Glow Lab", "US")
    start = api.get("/shops/connect", key=tenant.owner_key).body
    back = shop_sandbox.follow_authorize(start["authorize_url"], shop["shop_id"])

    forged = api.get(f"/shops/oauth/callback?code={back['code']}&state=forged-state-value")
    assert forged.status == 400 and forged.body["error"]["details"][0]["field"] == "state"
    assert api.get("/shops", key=tenant.owner_key).body["items"] == []
    assert queued() == []

    assert api.get(f"/shops/oauth/callback?code={back['code']}&state={back['state']}").status == 200
    reused = api.get(f"/shops/oauth/callback?code={back['code']}&state={back['state']}")
    assert reused.status == 400
    missing = api.get("/shops/oauth/callback?state=x")
    assert missing.status == 400 and "code" in missing.body["error"]["message"]


def test_an_expired_state_is_refused(api, make_tenant, shop_sandbox, monkeypatch):
    from datetime import UTC, datetime, timedelta

    from chalicelib.services import shops

    tenant = make_tenant()
    shop = shop_sandbox.app.create_shop("Glow Lab", "US")
    start = api.get("/shops/connect", key=tenant.owner_key).body
    back = shop_sandbox.follow_authorize(start["authorize_url"], shop["shop_id"])
    later = datetime.now(UTC) + timedelta(minutes=11)
    monkeypatch.setattr(shops, "_now", lambda: later)
    assert api.get(f"/shops/oauth/callback?code={back['code']}&state={back['state']}").status == 400
    assert api.get("/shops", key=tenant.owner_key).body["items"] == []


def test_shops_are_tenant_private_and_role_gated(api, make_tenant, connected_shop):
    tenant, shop = connected_shop
    other = make_tenant("Other Co")
    assert api.get(f"/shops/{shop['shop_id']}", key=other.owner_key).status == 404
    assert api.get(f"/shops/{shop['shop_id']}/sync", key=other.owner_key).status == 404
    assert api.post(f"/shops/{shop['shop_id']}/sync", key=other.owner_key, json_body={}).status == 404
    assert api.delete(f"/shops/{shop['shop_id']}", key=other.owner_key).status == 404
    viewer = api.add_user(tenant.owner_key, "view@glow.test", "viewer")
    assert api.get(f"/shops/{shop['shop_id']}", key=viewer["api_key"]).status == 200
    assert api.post(f"/shops/{shop['shop_id']}/sync", key=viewer["api_key"], json_body={}).status == 403
    assert api.get("/shops/connect", key=viewer["api_key"]).status == 403


def test_sync_requests_queue_streams_and_conflict_while_queued(api, connected_shop, queued):
    from chalicelib.services.shops import sync_streams

    tenant, shop = connected_shop
    # the connection queued the first sync: a second request conflicts
    busy = api.post(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key, json_body={"streams": ["orders"]})
    assert busy.status == 409
    for stream in sync_streams(tenant.tenant_id, shop["shop_id"]):
        stream.update(actions=[type(stream).state.set("succeeded")])
    bad = api.post(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key, json_body={"streams": ["refunds"]})
    assert bad.status == 422 and "streams" in bad.body["error"]["message"]
    ok = api.post(
        f"/shops/{shop['shop_id']}/sync",
        key=tenant.owner_key,
        json_body={"full": True, "streams": ["orders"]},
    )
    assert ok.status == 202, ok.body
    assert ok.body["streams"]["orders"]["state"] == "queued"
    assert ok.body["streams"]["products"]["state"] == "succeeded"
    (message,) = queued()
    assert message["stream"] == "orders" and message["full"] is True
    status = api.get(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key).body
    assert status["streams"]["orders"]["state"] == "queued"


def test_disconnecting_deletes_the_tokens_and_stops_syncs(api, connected_shop, cloud):
    from chalicelib.integrations.aws.clients import client

    tenant, shop = connected_shop
    assert api.delete(f"/shops/{shop['shop_id']}", key=tenant.owner_key).status == 204
    got = api.get(f"/shops/{shop['shop_id']}", key=tenant.owner_key).body
    assert got["status"] == "disconnected"
    assert {s["state"] for s in got["sync"].values()} == {"stopped"}
    names = [s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]]
    assert not any("/connections/" in name for name in names)
    assert api.post(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key, json_body={}).status == 409
