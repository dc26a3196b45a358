"""Access tokens: refreshed once however many workers find them expired; a dead refresh token
marks the shop needs_reconnect."""

import threading

import pytest


def shop_client(tenant_id, shop_id):
    from chalicelib.services import shops, tiktok_shop_access

    shop = shops.get_shop(tenant_id, shop_id)
    return tiktok_shop_access.client_for_shop(tenant_id, shop), shop


def test_two_workers_with_an_expired_token_cause_one_refresh(connected_shop, shop_sandbox):
    tenant, shop = connected_shop
    shop_sandbox.app.expire_tokens()
    shop_sandbox.app.clear_calls()
    results, errors = [], []
    start = threading.Barrier(2)

    def worker():
        client, item = shop_client(tenant.tenant_id, shop["shop_id"])
        try:
            start.wait()
            results.append(client.search_orders(item.cipher, page_size=10).total_count)
        except Exception as exc:
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 2
    assert shop_sandbox.refresh_calls() == 1


def test_a_refresh_writes_both_tokens_and_the_next_client_uses_them(connected_shop, shop_sandbox):
    from chalicelib.integrations.aws import secrets

    tenant, shop = connected_shop
    client, item = shop_client(tenant.tenant_id, shop["shop_id"])
    before = secrets.read_secret(f"tiktok-shop/connections/{tenant.tenant_id}/{item.open_id}", fresh=True)
    shop_sandbox.app.expire_tokens()
    client.search_orders(item.cipher, page_size=1)
    after = secrets.read_secret(f"tiktok-shop/connections/{tenant.tenant_id}/{item.open_id}", fresh=True)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    client.close()
    fresh_client, _ = shop_client(tenant.tenant_id, shop["shop_id"])
    shop_sandbox.app.clear_calls()
    fresh_client.search_orders(item.cipher, page_size=1)
    assert shop_sandbox.refresh_calls() == 0


def test_a_revoked_refresh_token_marks_the_shop_needs_reconnect(api, connected_shop, shop_sandbox):
    from chalicelib.integrations.tiktok_shop.errors import AuthError

    tenant, shop = connected_shop
    shop_sandbox.app.revoke_shop(shop["shop_id"])
    client, item = shop_client(tenant.tenant_id, shop["shop_id"])
    with pytest.raises(AuthError):
        client.search_orders(item.cipher, page_size=1)
    got = api.get(f"/shops/{shop['shop_id']}", key=tenant.owner_key).body
    assert got["status"] == "needs_reconnect"
    assert api.post(f"/shops/{shop['shop_id']}/sync", key=tenant.owner_key, json_body={}).status == 409


def test_the_token_schedule_refreshes_what_expires_within_a_day(connected_shop, shop_sandbox):
    import time

    from chalicelib.services.shops import refresh_expiring_tokens
    from chalicelib.services.tiktok_shop_access import connection_of

    tenant, shop = connected_shop
    _, item = shop_client(tenant.tenant_id, shop["shop_id"])
    connection = connection_of(tenant.tenant_id, item.open_id)
    assert refresh_expiring_tokens(now=int(time.time())) == 0
    shop_sandbox.app.clear_calls()
    assert refresh_expiring_tokens(now=connection.access_token_expires_at - 3600) == 1
    assert shop_sandbox.refresh_calls() == 1
    assert (
        connection_of(tenant.tenant_id, item.open_id).access_token_expires_at
        >= connection.access_token_expires_at
    )
