"""Syncs one stream (``orders`` or ``products``) of one shop: the body of a sync queue message.

Claim. A message ``{tenant_id, shop_id, stream, run_id, full}`` runs only if the stream item is
``queued`` or ``failed`` (an SQS redelivery after our own failure) with that ``run_id``, or
``running`` with that ``run_id`` and an expired lease (the worker crashed or timed out). Anything
else (a stale or duplicate message) is a no-op. The claim sets ``running`` and a lease that every
checkpoint renews; every later write is fenced on ``run_id`` and ``state = running``, so a worker
that lost its lease stops instead of overwriting the new owner's progress.

Windows (orders). Incremental runs page ``update_time`` in ``[cursor - 300 s, start)``, sorted
``update_time ASC``, 100 per page. A first sync (no cursor) or a forced full sync pages
``[shop's earliest, start)`` and then one catch-up window ``[start - 300 s, now)`` for what changed
while the full pass ran (at 100,000 orders that is minutes). With nothing changed meanwhile the
catch-up is one empty call: a full sync of N orders costs ceil(N/100) + 1 calls (the last page of
a window comes back without a ``next_page_token``, so no call is spent on an empty page), and an
incremental sync that finds nothing new costs exactly 1 call and writes only its status.

Cursor. At the end ``cursor = window_end`` (of the last window), never the largest ``update_time``
seen: TikTok returns orders outside the requested window ("update times may exceed the selected
search range due to ongoing data refreshes"), and a cursor moved past ``window_end`` to such an
order would skip the orders between ``window_end`` and it that no page has returned yet. Orders
outside the window are written anyway (idempotent by ``update_time``) and seen again by the next
window. The 300 s overlap re-reads the tail of the previous window for orders that the API
indexed late; re-read orders are dropped by ``update_time`` before any write.

Checkpoints. The next ``page_token``, the window, the phase and the running stats go on the
stream item in the page's last write (``store/sync_ledger.py``: fenced on the item's version,
holding the page's aggregate deltas until they are flushed to the daily table), so a redelivered
message resumes at the page that was not yet written (writes are idempotent: a page done twice
counts once). The next page of orders is fetched while one is written.

Fast pass. A shop's first sync (the main window of its first run; never a forced resync) stores
most orders without conditions or transactions, at the speed of a plain ``BatchWriteItem``:
- only the orders it will see once, those whose ``update_time`` is inside the window and older
  than its last 300 s; the rest (late-indexed, out of the window) take the conditional path;
- nobody else writes the shop's orders meanwhile: webhook refreshes stand back while the stream
  item holds ``fast_pass`` (what they name changed after the pass began, so the closing catch-up
  stores it); a failure, a yield or a re-queue drops ``fast_pass``, and the rest of that run is
  conditional;
- before a page is written its settled order ids and a fresh mark go on the stream item
  (``intent``, in the previous page's checkpoint); each order carries the mark; the page's
  checkpoint holds their deltas. A run that resumes with an ``intent`` on the item reads those
  orders and holds the deltas of the ones that carry its mark (written, never counted), then
  writes the page it resumes at conditionally.

Failures. Any error marks the stream ``failed`` with a short message (no token, no secret) and is
re-raised for SQS to redeliver (and finally dead-letter). A refused refresh token or credentials
(``AuthError``) marks it ``stopped`` with ``needs_reconnect: …`` and re-raises that error.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.domain.brands import brand_of
from chalicelib.domain.money import to_minor
from chalicelib.domain.order_contribution import OrderFacts
from chalicelib.integrations.aws.clients import client as aws_client
from chalicelib.integrations.tiktok_shop.errors import AuthError
from chalicelib.store import products as products_store
from chalicelib.store.entities import tenant_partition
from chalicelib.store.order_writes import (
    FirstSyncInProgress,
    WriteCounts,
    newest_facts,
    put_settled,
    uncounted,
    write_order_facts,
    write_orders,
)
from chalicelib.store.orders import shop_key
from chalicelib.store.products import source_key
from chalicelib.store.shops import SyncStreamItem
from chalicelib.store.sync_ledger import (
    HeldDeltas,
    LeaseLost,
    RunLedger,
    conditional_failed,
    held_in,
    update_parts,
)

log = logging.getLogger(__name__)

OVERLAP_SECONDS = 300
LEASE_SECONDS = 300
PAGE_SIZE = 100
STREAMS = ("orders", "products")
_DATETIME = "%Y-%m-%dT%H:%M:%S.%f+0000"  # PynamoDB's UTCDateTimeAttribute format
_SECRET_PARAMS = re.compile(r"((?:access_token|refresh_token|app_secret|auth_code|sign)=)[^&\s'\"]+", re.I)


class ShopApi(Protocol):
    """What a sync needs of ``TikTokShopClient``."""

    calls: int

    def search_orders(self, shop_cipher: str, **kwargs: Any) -> Any: ...

    def get_orders(self, shop_cipher: str, ids: Iterable[str]) -> Sequence[Any]: ...

    def search_products(self, shop_cipher: str, **kwargs: Any) -> Any: ...

    def get_product(self, shop_cipher: str, product_id: str) -> Any: ...


@dataclass
class SyncResult:
    stream: str
    run_id: str
    # succeeded | skipped (stale or duplicate message) | superseded (lease lost to another worker)
    # | continued (yielded at a checkpoint; send the message again)
    state: str
    cursor: int | None = None
    stats: dict[str, int] = field(default_factory=dict)


def after_page_hook(stream: str, pages: int) -> None:
    """Called after each page is written and checkpointed; tests patch it to simulate a crash."""


# -- the stream item, through low-level conditional updates ------------------------------------


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime(_DATETIME)


def _stream_key(tenant_id: str, shop_id: str, stream: str) -> dict[str, Any]:
    return {
        "pk": {"S": tenant_partition(tenant_id)},
        "sk": {"S": f"{SyncStreamItem.SORT_PREFIX}{shop_id}#{stream}"},
    }


def _plain(value: Mapping[str, Any]) -> Any:
    if "S" in value:
        return value["S"]
    if "N" in value:
        return int(value["N"])
    if "BOOL" in value:
        return value["BOOL"]
    return None


def _update_stream(
    key: dict[str, Any],
    *,
    set_values: Mapping[str, Any],
    remove: Sequence[str] = (),
    condition: str,
    condition_values: Mapping[str, Any],
) -> dict[str, Any]:
    """One conditional update of the stream item; ``set_values`` are plain Python values. Returns
    the item as it is after the update (plain values)."""
    expression, names, values = update_parts(set_values, remove, condition)
    for placeholder, value in condition_values.items():
        values[placeholder] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
    answer = aws_client("dynamodb").update_item(
        TableName=get_settings().table("entities"),
        Key=key,
        UpdateExpression=expression,
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
    )
    return {name: _plain(value) for name, value in answer.get("Attributes", {}).items()}


_FENCE = "#run_id = :run AND #state = :running"
_CLAIMABLE = (
    "#run_id = :run AND (#state IN (:queued, :failed) OR (#state = :running AND #lease_until < :now))"
)


def _claim(key: dict[str, Any], run_id: str, now: float) -> dict[str, Any] | None:
    try:
        return _update_stream(
            key,
            set_values={
                "state": "running",
                "lease_until": int(now) + LEASE_SECONDS,
                "started_at": _iso(now),
            },
            condition=_CLAIMABLE,
            condition_values={
                ":run": run_id,
                ":queued": "queued",
                ":failed": "failed",
                ":running": "running",
                ":now": int(now),
            },
        )
    except ClientError as exc:
        if conditional_failed(exc):
            return None
        raise


def _short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    text = _SECRET_PARAMS.sub(r"\1***", text)
    text = re.sub(r"\b(ROW_|Bearer\s+)[A-Za-z0-9_\-\.]{8,}", r"\1***", text)
    return text[:300]


def _mark_ended(key: dict[str, Any], run_id: str, state: str, message: str, now: float) -> None:
    try:
        _update_stream(
            key,
            set_values={"state": state, "last_error": message, "finished_at": _iso(now)},
            remove=("lease_until", "fast_pass"),
            condition=_FENCE,
            condition_values={":run": run_id, ":running": "running"},
        )
    except ClientError as exc:
        if not conditional_failed(exc):
            log.exception("could not record the end of sync run %s", run_id)


# -- the run -----------------------------------------------------------------------------------


@dataclass
class _Progress:
    seen: int = 0
    written: int = 0
    api_calls: int = 0
    pages: int = 0
    started: float = 0.0

    @classmethod
    def load(cls, raw: str | None, now: float) -> _Progress:
        data = json.loads(raw) if raw else {}
        if "run_started" not in data:
            return cls(started=now)
        return cls(
            int(data.get("seen", 0)),
            int(data.get("written", 0)),
            int(data.get("api_calls", 0)),
            int(data.get("pages", 0)),
            float(data["run_started"]),
        )

    def after(self, counts: WriteCounts, api_calls: int) -> _Progress:
        """The progress once a page with ``counts`` is written, ``api_calls`` made so far."""
        return replace(
            self,
            seen=self.seen + counts.seen,
            written=self.written + counts.written,
            api_calls=api_calls,
            pages=self.pages + 1,
        )

    def checkpoint(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "written": self.written,
            "api_calls": self.api_calls,
            "pages": self.pages,
            "run_started": self.started,
        }

    def final(self, stream: str, now: float) -> dict[str, int]:
        noun = "orders" if stream == "orders" else "products"
        return {
            f"{noun}_seen": self.seen,
            f"{noun}_written": self.written,
            "api_calls": self.api_calls,
            "pages": self.pages,
            "duration_ms": max(0, int((now - self.started) * 1000)),
        }


@dataclass
class _Window:
    phase: str  # main | catchup
    start: int | None  # None: no lower bound (a full pass)
    end: int
    page_token: str | None = None


def run_stream(
    tenant_id: str,
    shop_id: str,
    stream: str,
    client: ShopApi,
    *,
    shop_cipher: str,
    run_id: str,
    full: bool = False,
    now: Callable[[], float] = time.time,
    next_due_in: int = 900,
    should_yield: Callable[[], bool] | None = None,
) -> SyncResult:
    """Run (or resume) sync run ``run_id`` of ``stream``; see the module docstring.

    ``should_yield`` is asked after every checkpoint; when it says so (the Lambda is about to run
    out of time), the run is put back to ``queued`` at its checkpoint and ``continued`` returned,
    for the caller to send its message again: a long sync goes on in the next invocation."""
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; one of {STREAMS}")
    key = _stream_key(tenant_id, shop_id, stream)
    claimed = _claim(key, run_id, now())
    if claimed is None:
        return SyncResult(stream, run_id, "skipped")
    full = full or bool(claimed.get("full"))
    cursor = claimed.get("cursor")
    first_sync = cursor is None
    ledger = RunLedger(
        key,
        shop_key(tenant_id, shop_id),
        run_id,
        int(claimed["version"]),
        held_in(claimed),
        create_days=first_sync,
        now=now,
        lease_seconds=LEASE_SECONDS,
    )
    calls_before = client.calls
    progress = _Progress.load(claimed.get("stats") if claimed.get("window_end") else None, now())
    progress_calls_before = progress.api_calls
    fetch, write = (
        (_fetch_orders, _write_orders) if stream == "orders" else (_fetch_products, _write_products)
    )
    resuming = claimed.get("window_end") is not None
    # a shop's very first pass over its orders writes them without conditions (see the module doc);
    # a redelivery of that run goes on with it, but writes its first page with conditions
    starting_fast = stream == "orders" and first_sync and not resuming and not claimed.get("fast_pass_used")
    fast = starting_fast or (stream == "orders" and claimed.get("fast_pass") == run_id)
    intent: _Intent | None = None
    # the orders stream fetches its next page while it writes this one (one call at a time)
    ahead_pool = ThreadPoolExecutor(max_workers=1) if stream == "orders" else None
    try:
        if claimed.get("intent"):  # what a crash may have written but not counted
            left = json.loads(str(claimed["intent"]))
            ledger.update(hold=uncounted(tenant_id, shop_id, left["ids"], left["mark"]), remove=("intent",))
        if resuming:  # resume this run's checkpoint
            window = _Window(
                str(claimed.get("phase") or "main"),
                claimed.get("window_start"),
                int(claimed["window_end"]),
                claimed.get("page_token") or None,
            )
        else:
            start = None if (full or first_sync) else int(cursor) - OVERLAP_SECONDS
            # update_time_lt is exclusive: + 1 takes in what changed in this very second
            window = _Window("main", start, int(now()) + 1)
        page = fetch(client, shop_cipher, window)
        if starting_fast:
            intent = _Intent.of(run_id, ledger.version, page, window)
            ledger.update({"fast_pass": run_id, "fast_pass_used": True, "intent": intent.record()})
        while True:
            calls = progress_calls_before + (client.calls - calls_before)
            following = _following(
                window, page.next_token, closing_pass=stream == "orders" and (full or first_sync), now=now
            )
            ahead: Future[_Page] | None = None
            if ahead_pool is not None and following is not None and following.page_token:
                ahead = ahead_pool.submit(fetch, client, shop_cipher, following)

            if fast and window.phase == "main":
                counts, held = _write_fast_page(tenant_id, shop_id, page, intent, ledger)
                set_values, remove = (
                    ({}, ()) if following is None else _checkpoint(progress, following, calls, counts)
                )
                next_page = ahead.result() if ahead is not None else None
                if next_page is not None and following is not None and following.phase == "main":
                    intent = _Intent.of(run_id, ledger.version, next_page, following)
                    set_values["intent"] = intent.record()
                else:  # the fast pass ends with its window; the catch-up pass writes with conditions
                    fast, intent = False, None
                    remove = (*remove, "intent", "fast_pass")
                ledger.update(set_values, remove, hold=held)
            else:
                counts = write(
                    tenant_id,
                    shop_id,
                    page,
                    client,
                    shop_cipher,
                    assume_new=first_sync and window.phase == "main",
                    ledger=ledger,
                    checkpoint=None
                    if following is None
                    else partial(_checkpoint, progress, following, calls),
                )
            progress = progress.after(counts, calls)
            if following is None:
                break
            window = following
            if ledger.should_flush():
                ledger.flush()
            after_page_hook(stream, progress.pages)
            if should_yield is not None and should_yield():
                if ahead is not None and not ahead.cancel():
                    ahead.exception()  # let the call in flight finish, so that it is counted
                progress.api_calls = progress_calls_before + (client.calls - calls_before)
                ledger.flush()
                ledger.update(
                    {"state": "queued", "stats": progress.checkpoint()}, ("lease_until", "fast_pass")
                )
                return SyncResult(stream, run_id, "continued", None, progress.checkpoint())
            page = ahead.result() if ahead is not None else fetch(client, shop_cipher, window)
        progress.api_calls = progress_calls_before + (client.calls - calls_before)
        ledger.flush()
        finished = now()
        stats = progress.final(stream, finished)
        ledger.update(
            {
                "state": "succeeded",
                "cursor": window.end,
                "last_success_at": _iso(finished),
                "finished_at": _iso(finished),
                "stats": stats,
                "full": False,
                "due_pk": f"DUE#{stream}",
                "due_at": int(finished) + next_due_in,
            },
            (
                "page_token",
                "window_start",
                "window_end",
                "phase",
                "lease_until",
                "last_error",
                "fast_pass",
                "intent",
            ),
        )
        return SyncResult(stream, run_id, "succeeded", window.end, stats)
    except LeaseLost:
        log.warning("sync run %s of %s/%s lost its lease to another worker", run_id, shop_id, stream)
        return SyncResult(stream, run_id, "superseded")
    except AuthError as exc:
        _mark_ended(key, run_id, "stopped", f"needs_reconnect: {_short_error(exc)}", now())
        raise
    except Exception as exc:
        _mark_ended(key, run_id, "failed", _short_error(exc), now())
        raise
    finally:
        if ahead_pool is not None:
            ahead_pool.shutdown(wait=True, cancel_futures=True)


_Saved = tuple[dict[str, Any], tuple[str, ...]]


def _following(
    window: _Window, next_token: str, *, closing_pass: bool, now: Callable[[], float]
) -> _Window | None:
    """Where the run goes after a page: the window's next page, a full pass's closing catch-up
    window, or nowhere (the run is done)."""
    if next_token:
        return _Window(window.phase, window.start, window.end, next_token)
    if closing_pass and window.phase == "main":
        return _Window("catchup", window.end - OVERLAP_SECONDS, max(int(now()) + 1, window.end))
    return None


def _checkpoint(before: _Progress, window: _Window, api_calls: int, counts: WriteCounts) -> _Saved:
    """What the stream item keeps once a page with ``counts`` is written (``before`` it), so that a
    redelivered message resumes at ``window``'s page."""
    progress = before.after(counts, api_calls)
    return (
        {
            "window_end": window.end,
            "phase": window.phase,
            "stats": progress.checkpoint(),
            **({"window_start": window.start} if window.start is not None else {}),
            **({"page_token": window.page_token} if window.page_token else {}),
        },
        (
            *(("window_start",) if window.start is None else ()),
            *(("page_token",) if not window.page_token else ()),
        ),
    )


@dataclass
class _Page:
    items: list[dict[str, Any]]
    next_token: str
    # orders pages: the newest version of each order, normalised (where the page is fetched)
    facts: list[OrderFacts] = field(default_factory=list)


def _raw(item: Any) -> dict[str, Any]:
    return item.model_dump() if hasattr(item, "model_dump") else dict(item)


def _fetch_orders(client: ShopApi, shop_cipher: str, window: _Window) -> _Page:
    page = client.search_orders(
        shop_cipher,
        sort_field="update_time",
        sort_order="ASC",
        page_size=PAGE_SIZE,
        update_time_ge=window.start,
        update_time_lt=window.end,
        page_token=window.page_token,
    )
    items = [_raw(order) for order in page.orders]
    return _Page(items, page.next_page_token or "", newest_facts(items)[1])


def _write_orders(
    tenant_id: str,
    shop_id: str,
    page: _Page,
    client: ShopApi,
    shop_cipher: str,
    *,
    assume_new: bool,
    ledger: RunLedger,
    checkpoint: Callable[[WriteCounts], _Saved] | None,
) -> WriteCounts:
    del client, shop_cipher
    return write_order_facts(
        tenant_id,
        shop_id,
        page.facts,
        seen=len(page.items),
        assume_new=assume_new,
        ledger=ledger,
        checkpoint=checkpoint,
    )


@dataclass(frozen=True)
class _Intent:
    """The orders of a page that the fast pass will write unconditionally, recorded (with the
    mark they will carry) in the checkpoint before they are written."""

    mark: str
    ids: frozenset[str]

    @classmethod
    def of(cls, run_id: str, version: int, page: _Page, window: _Window) -> _Intent:
        settled_before = window.end - OVERLAP_SECONDS
        facts = page.facts
        ids = frozenset(
            f.order_id
            for f in facts
            if f.update_time < settled_before and (window.start is None or f.update_time >= window.start)
        )
        return cls(f"{run_id}:{version}", ids)

    def record(self) -> dict[str, Any]:
        return {"mark": self.mark, "ids": sorted(self.ids)}


def _write_fast_page(
    tenant_id: str, shop_id: str, page: _Page, intent: _Intent | None, ledger: RunLedger
) -> tuple[WriteCounts, HeldDeltas]:
    """A page of the fast pass: its settled orders (the intent's) with ``put_settled``, the others
    (and all of them when no intent covers the page: the first page after a resume) through the
    ledger's transactions. Returns the counts and the deltas of the settled orders, to hold."""
    seen, facts = len(page.items), page.facts
    ids = intent.ids if intent is not None else frozenset()
    settled = [f for f in facts if f.order_id in ids]
    others = [f for f in facts if f.order_id not in ids]
    counts = (
        write_order_facts(tenant_id, shop_id, others, assume_new=True, ledger=ledger)
        if others
        else WriteCounts()
    )
    held = (
        put_settled(tenant_id, shop_id, settled, intent.mark)
        if intent is not None and settled
        else HeldDeltas()
    )
    written = counts.written + len(settled)
    return WriteCounts(seen, written, seen - written), held


def refresh_orders(
    tenant_id: str, shop_id: str, order_ids: Iterable[str], client: ShopApi, *, shop_cipher: str
) -> WriteCounts:
    """Fetch ``order_ids`` (webhooks; ≤50 ids per call) and write them like a sync page would.

    Until the shop's first sync has finished its fast pass nothing is written: that pass, or its
    closing catch-up over everything that changed while it ran, stores these orders anyway (and
    would count an order stored before it began a second time)."""
    wanted = list(dict.fromkeys(order_ids))
    if not wanted:
        return WriteCounts()
    orders = [_raw(order) for order in client.get_orders(shop_cipher, wanted)]
    guard = {
        "TableName": get_settings().table("entities"),
        "Key": _stream_key(tenant_id, shop_id, "orders"),
        "ConditionExpression": "(attribute_exists(#cursor) OR attribute_exists(fast_pass_used))"
        " AND attribute_not_exists(fast_pass)",
        "ExpressionAttributeNames": {"#cursor": "cursor"},
    }
    total = WriteCounts()
    try:
        for start in range(0, len(orders), PAGE_SIZE):
            total = total + write_orders(tenant_id, shop_id, orders[start : start + PAGE_SIZE], guard=guard)
    except FirstSyncInProgress:
        log.info("orders of shop %s are left to its first sync, which has not finished its pass", shop_id)
        return total + WriteCounts(len(orders) - total.seen, 0, len(orders) - total.seen)
    return total


# -- products ------------------------------------------------------------------------------------


def _fetch_products(client: ShopApi, shop_cipher: str, window: _Window) -> _Page:
    page = client.search_products(
        shop_cipher,
        page_size=PAGE_SIZE,
        update_time_ge=window.start,
        update_time_le=window.end,
        page_token=window.page_token,
    )
    return _Page([_raw(product) for product in page.products], page.next_page_token or "")


def _write_products(
    tenant_id: str,
    shop_id: str,
    page: _Page,
    client: ShopApi,
    shop_cipher: str,
    *,
    assume_new: bool,
    ledger: RunLedger,
    checkpoint: Callable[[WriteCounts], _Saved] | None,
) -> WriteCounts:
    del assume_new
    counts = upsert_shop_products(tenant_id, shop_id, page.items, client, shop_cipher=shop_cipher)
    if checkpoint is not None:
        ledger.update(*checkpoint(counts))
    return counts


def _stored_product_times(tenant_id: str, product_ids: Sequence[str]) -> dict[str, int]:
    if not product_ids:
        return {}
    table = get_settings().table("products")
    dynamodb = aws_client("dynamodb")
    found: dict[str, int] = {}
    for start in range(0, len(product_ids), 100):
        request: dict[str, Any] = {
            table: {
                "Keys": [
                    {"tenant_id": {"S": tenant_id}, "product_id": {"S": pid}}
                    for pid in product_ids[start : start + 100]
                ],
                "ProjectionExpression": "product_id, update_time",
            }
        }
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                if "update_time" in item:
                    found[item["product_id"]["S"]] = int(item["update_time"]["N"])
            request = answer.get("UnprocessedKeys") or {}
    return found


def product_fields(tenant_id: str, shop_id: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The catalogue fields of a shop product (TikTok's product detail JSON)."""
    skus_raw = raw.get("skus") or []
    currency = ""
    skus = []
    prices: list[tuple[int, str]] = []
    stock = 0
    for sku in skus_raw:
        price = sku.get("price") or {}
        currency = currency or str(price.get("currency") or "")
        sale = str(price.get("sale_price") or "0")
        quantity = sum(int(inv.get("quantity") or 0) for inv in sku.get("inventory") or [])
        stock += quantity
        minor = to_minor(sale, price.get("currency") or currency or "USD")
        prices.append((minor, sale))
        skus.append(
            {
                "id": str(sku.get("id")),
                "seller_sku": sku.get("seller_sku") or "",
                "price": sale,
                "price_minor": minor,
                "currency": price.get("currency") or currency,
                "stock": quantity,
                "attributes": [
                    attr.get("value_name")
                    for attr in sku.get("sales_attributes") or []
                    if attr.get("value_name")
                ],
            }
        )
    title = str(raw.get("title") or "")
    brand_info = raw.get("brand") or {}
    brand = brand_info.get("name") or brand_of(title)
    images = [url for image in raw.get("main_images") or [] for url in (image.get("urls") or [])[:1]]
    chains = raw.get("category_chains") or []
    cheapest = min(prices) if prices else None
    return {
        "product_id": f"shop:{raw['id']}",
        "source": "shop",
        "source_key": source_key(tenant_id, "shop", shop_id),
        "shop_id": shop_id,
        "external_id": str(raw["id"]),
        "title": title,
        "brand": brand,
        "category": chains[-1].get("local_name") if chains else None,
        "status": products_store.NEW,  # ClickTok's own: written only when the product has none
        "shop_status": str(raw.get("status") or ""),
        "currency": currency or None,
        "price": cheapest[1] if cheapest else None,
        "price_minor": cheapest[0] if cheapest else None,
        "stock": stock,
        "skus": skus,
        "image_urls": images,
        "search_text": " ".join([title, *(s["seller_sku"] for s in skus)]).casefold(),
        "update_time": int(raw.get("update_time") or 0),
    }


def upsert_shop_products(
    tenant_id: str,
    shop_id: str,
    products: Sequence[Mapping[str, Any]],
    client: ShopApi,
    *,
    shop_cipher: str,
) -> WriteCounts:
    """Upsert newer versions of ``products`` (search summaries) into the catalogue; the detail
    (images, brand, category) is fetched only for products that changed. ClickTok's ``status`` is
    set only on products that have none, so a resync never undoes ``video_created``."""
    if not products:
        return WriteCounts()
    stored = _stored_product_times(tenant_id, [f"shop:{p['id']}" for p in products])
    dynamodb = aws_client("dynamodb")
    table = get_settings().table("products")
    written = 0
    for summary in products:
        product_id = f"shop:{summary['id']}"
        update_time = int(summary.get("update_time") or 0)
        if product_id in stored and stored[product_id] >= update_time:
            continue
        detail = _raw(client.get_product(shop_cipher, str(summary["id"])))
        fields = product_fields(tenant_id, shop_id, {**summary, **detail})
        now_iso = _iso(time.time())
        names: dict[str, str] = {"#ut": "update_time", "#created": "created_at"}
        values: dict[str, Any] = {":ut": {"N": str(fields["update_time"])}, ":now": {"S": now_iso}}
        sets = ["#created = if_not_exists(#created, :now)", "#updated = :now"]
        removes = []
        names["#updated"] = "updated_at"
        for index, (name, value) in enumerate(fields.items()):
            if name == "product_id":
                continue
            names[f"#f{index}"] = name
            if value is None:
                removes.append(f"#f{index}")
                continue
            values[f":f{index}"] = _attr(name, value)
            if name == "status":
                sets.append(f"#f{index} = if_not_exists(#f{index}, :f{index})")
            else:
                sets.append(f"#f{index} = :f{index}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            dynamodb.update_item(
                TableName=table,
                Key={"tenant_id": {"S": tenant_id}, "product_id": {"S": product_id}},
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(#ut) OR #ut < :ut",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            written += 1
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
    return WriteCounts(len(products), written, len(products) - written)


def _attr(name: str, value: Any) -> dict[str, Any]:
    if name == "skus":
        return {"S": json.dumps(value, separators=(",", ":"), ensure_ascii=False)}
    if name == "image_urls":
        return {"L": [{"S": str(url)} for url in value]}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": str(value)}
