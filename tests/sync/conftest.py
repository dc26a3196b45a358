"""A sandbox TikTok Shop in-process, a real client on it, and helpers to queue and run syncs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from chalicelib.integrations.tiktok_shop.client import TikTokShopClient
from chalicelib.integrations.tiktok_shop.models import TokenSet
from local.sandboxes.tiktok_shop import SandboxTransport, create_app

APP_KEY, APP_SECRET = "sbx_key", "sbx_secret"


class Clock:
    """Shared by the sandbox, the client and the sync, so tests can move time on."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 60.0) -> None:
        self.now += seconds


TENANT = "t_sync"


class SandboxTokens:
    """A TokenSource that refreshes through the client (what the real token source does, minus storage)."""

    def __init__(self, tokens: TokenSet) -> None:
        self.token = tokens
        self.client: TikTokShopClient | None = None
        self.refreshes = 0

    def current(self) -> TokenSet:
        return self.token

    def refreshed(self, stale: Any) -> TokenSet:
        if self.token.access_token == stale.access_token:
            assert self.client is not None
            self.token = self.client.refresh_token(self.token.refresh_token)
            self.refreshes += 1
        return self.token


@dataclass
class Shop:
    sandbox: Any
    client: TikTokShopClient
    tokens: SandboxTokens
    shop_id: str
    cipher: str
    clock: Clock
    tenant_id: str = TENANT

    def queue(self, stream: str = "orders", *, full: bool = False) -> str:
        """What engineer B's enqueue does: the stream item ``queued`` with a new run id."""
        from chalicelib.store.entities import tenant_partition
        from chalicelib.store.shops import SyncStreamItem

        run_id = uuid.uuid4().hex
        sk = f"{SyncStreamItem.SORT_PREFIX}{self.shop_id}#{stream}"
        try:
            item = SyncStreamItem.get(tenant_partition(self.tenant_id), sk)
        except SyncStreamItem.DoesNotExist:
            item = SyncStreamItem(
                pk=tenant_partition(self.tenant_id),
                sk=sk,
                tenant_id=self.tenant_id,
                shop_id=self.shop_id,
                stream=stream,
            )
        item.state, item.run_id, item.full = "queued", run_id, full
        item.page_token = item.window_start = item.window_end = None
        item.save()
        return run_id

    def sync(
        self, stream: str = "orders", *, full: bool = False, run_id: str | None = None, **kwargs: Any
    ) -> Any:
        from chalicelib.services.shop_sync import run_stream

        run_id = run_id or self.queue(stream, full=full)
        kwargs.setdefault("now", self.clock)
        self.clock.tick(1)
        return run_stream(
            self.tenant_id,
            self.shop_id,
            stream,
            self.client,
            shop_cipher=self.cipher,
            run_id=run_id,
            full=full,
            **kwargs,
        )

    def stream_item(self, stream: str = "orders") -> Any:
        from chalicelib.store.entities import tenant_partition
        from chalicelib.store.shops import SyncStreamItem

        return SyncStreamItem.get(
            tenant_partition(self.tenant_id), f"{SyncStreamItem.SORT_PREFIX}{self.shop_id}#{stream}"
        )

    def truth(self) -> list[dict[str, Any]]:
        return self.sandbox.ground_truth(self.shop_id)

    def order_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.sandbox.calls() if c["path"] == "/order/202309/orders/search"]


def make_shop(sandbox: Any, *, orders: int, seed: int = 7, days: int = 60, region: str = "US") -> Shop:
    created = sandbox.create_shop(f"Shop {seed}", region)
    if orders:
        sandbox.generate_orders(created["shop_id"], orders, seed=seed, days=days)
    transport = SandboxTransport(app=sandbox)
    bootstrap = TikTokShopClient(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        api_base_url="http://sandbox",
        auth_base_url="http://sandbox",
        transport=transport,
    )
    tokens = SandboxTokens(bootstrap.get_token(sandbox.authorize(created["shop_id"])))
    client = TikTokShopClient(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        api_base_url="http://sandbox",
        auth_base_url="http://sandbox",
        tokens=tokens,
        transport=transport,
        clock=sandbox.clock,
        sleep=lambda _seconds: None,
        timeout=httpx.Timeout(5.0),
    )
    tokens.client = client
    sandbox.clear_calls()
    return Shop(sandbox, client, tokens, created["shop_id"], created["cipher"], sandbox.clock)


@pytest.fixture
def sandbox() -> Any:
    return create_app(APP_KEY, APP_SECRET, clock=Clock())


@pytest.fixture
def shop(cloud: Any, sandbox: Any) -> Iterator[Shop]:
    made = make_shop(sandbox, orders=320)
    yield made
    made.client.close()


@pytest.fixture(autouse=True)
def _fast_moto_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto backs up whole tables (``copy.deepcopy``) before every TransactWriteItems, which makes a
    sync O(table size) per page. Give it a snapshot that copies the table's index of items but
    deep-copies only the items the transaction touches; rollback stays exact for those items."""
    import copy as real_copy
    import inspect
    import types
    from collections import defaultdict

    from moto.dynamodb import models as dynamo_models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = dynamo_models.DynamoDBBackend.transact_write_items
    source = inspect.getsource(original)
    assert "copy.deepcopy(" in source and "original_table_state" in source, "moto changed: revisit this shim"

    def fast(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            touched[table.name].append(key)

        def snapshot(table: Any, memo: Any = None) -> Any:
            if not isinstance(table, Table):
                return real_copy.deepcopy(table, memo)
            clone = real_copy.copy(table)
            clone.items = defaultdict(
                dict, {h: (dict(v) if isinstance(v, dict) else v) for h, v in table.items.items()}
            )
            for key in touched.get(table.name, []):
                hash_value = DynamoType(key[table.hash_key_attr])
                if table.range_key_attr:
                    range_value = DynamoType(key[table.range_key_attr])
                    current = table.items.get(hash_value, {}).get(range_value)
                    if current is not None:
                        clone.items[hash_value][range_value] = real_copy.deepcopy(current)
                else:
                    current = table.items.get(hash_value)
                    if current is not None:
                        clone.items[hash_value] = real_copy.deepcopy(current)
            return clone

        monkeypatch.setattr(
            dynamo_models, "copy", types.SimpleNamespace(deepcopy=snapshot, copy=real_copy.copy)
        )
        try:
            original(self, transact_items)
        finally:
            monkeypatch.setattr(dynamo_models, "copy", real_copy)

    monkeypatch.setattr(dynamo_models.DynamoDBBackend, "transact_write_items", fast)
