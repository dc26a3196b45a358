"""The TikTok Shop sandbox's state survives a restart: ``dump()`` → files → ``load()``."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.integrations.tiktok_shop.client import StaticTokens, TikTokShopClient
from local.persistence import dump_sandbox, load_sandbox
from local.sandboxes.tiktok_shop import SandboxTransport, TikTokShopSandbox, create_app

APP_KEY, APP_SECRET = "6sandboxkey01", "s" * 40


def _client(sandbox: TikTokShopSandbox, tokens: object = None) -> TikTokShopClient:
    return TikTokShopClient(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        api_base_url="http://sandbox",
        auth_base_url="http://sandbox",
        tokens=tokens,  # type: ignore[arg-type]
        transport=SandboxTransport(app=sandbox),
        max_attempts=1,
    )


def _restarted(sandbox: TikTokShopSandbox, directory: Path) -> TikTokShopSandbox:
    dump_sandbox(directory, sandbox.dump())
    state = load_sandbox(directory)
    assert state is not None
    fresh = create_app(APP_KEY, APP_SECRET)
    fresh.load(state)
    return fresh


def test_shops_orders_and_tokens_survive_a_restart(tmp_path: Path) -> None:
    before = create_app(APP_KEY, APP_SECRET)
    shop = before.create_shop("Kept", "GB")
    other = before.create_shop("Other")
    before.generate_orders(shop["shop_id"], 300, seed=3)
    before.mutate_orders(shop["shop_id"], 20, seed=4)
    tokens = _client(before).get_token(before.authorize(shop["shop_id"]))
    unused_code = before.authorize(other["shop_id"])

    after = _restarted(before, tmp_path)
    assert next(after._ids) == next(before._ids)  # ids continue from the saved counter

    assert after.ground_truth(shop["shop_id"]) == before.ground_truth(shop["shop_id"])
    assert after.shops[shop["shop_id"]].products == before.shops[shop["shop_id"]].products
    assert after.shops[shop["shop_id"]].orders.index == before.shops[shop["shop_id"]].orders.index
    client = _client(after, StaticTokens(tokens))
    assert [s.id for s in client.authorized_shops()] == [shop["shop_id"]]  # the access token still works
    page = client.search_orders(shop["cipher"], page_size=100)
    assert page.total_count == len(before.ground_truth(shop["shop_id"]))
    refreshed = _client(after).refresh_token(tokens.refresh_token)  # so does the refresh token
    assert refreshed.access_token != tokens.access_token
    assert _client(after).get_token(unused_code).access_token  # and an auth code not yet exchanged
    # the restored catalogue keeps making orders, and new shops and ids do not collide
    mutated = after.mutate_orders(shop["shop_id"], 10, seed=5)
    assert mutated["total"] == len(before.ground_truth(shop["shop_id"])) + len(mutated["added"])
    third = after.create_shop("Third")
    assert third["shop_id"] not in (shop["shop_id"], other["shop_id"])


def test_unchanged_orders_are_not_written_again(tmp_path: Path) -> None:
    sandbox = create_app(APP_KEY, APP_SECRET)
    shop = sandbox.create_shop("Shop")
    sandbox.generate_orders(shop["shop_id"], 50)
    assert dump_sandbox(tmp_path, sandbox.dump())["files_written"] == 1
    sandbox.authorize(shop["shop_id"])  # changes tokens, not orders
    assert dump_sandbox(tmp_path, sandbox.dump())["files_written"] == 0
    sandbox.mutate_orders(shop["shop_id"], 5)
    assert dump_sandbox(tmp_path, sandbox.dump()) == {"shops": 1, "orders": 51, "files_written": 1}
    assert len(list(tmp_path.glob("orders-*.json"))) == 1  # the old version's file is gone
    restored = create_app(APP_KEY, APP_SECRET)
    state = load_sandbox(tmp_path)
    assert state is not None
    restored.load(state)
    assert restored.ground_truth(shop["shop_id"]) == sandbox.ground_truth(shop["shop_id"])


def test_no_saved_state_and_a_foreign_state(tmp_path: Path) -> None:
    assert load_sandbox(tmp_path) is None
    sandbox = create_app(APP_KEY, APP_SECRET)
    sandbox.create_shop("Shop")
    dump_sandbox(tmp_path, sandbox.dump())
    state = load_sandbox(tmp_path)
    assert state is not None
    with pytest.raises(ValueError, match="another app key"):
        create_app("6otherappkey0", APP_SECRET).load(state)
