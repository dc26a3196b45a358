"""The tenant's product catalogue: products by hand, and the shop products the sync brings.

Ownership of fields:
- ``manual`` (and ``affiliate``) products belong to ClickTok entirely: title, price, currency,
  images, brand, category and affiliate link may change; the id is ``manual:{uuid}``.
- ``shop`` products belong to TikTok Shop: the sync rewrites title, price, currency, stock, SKUs,
  images, brand, category and ``shop_status`` (the listing status in TikTok Shop) from the shop.
  Only ClickTok's own fields may change on them (``SHOP_EDITABLE``: the affiliate link); any other
  field is refused with 422 naming it. A shop product cannot be deleted while its shop is connected
  (the next sync would bring it back): 409.
- ``status`` is ClickTok's own for every source: ``new``, then ``video_created`` once a video of the
  product is ready (the renderer sets it; the sync never changes it).

Image URLs are fetched into S3 before the product is written (``product_images``), so a request
that fails writes no product; a broken URL is recorded as a failed image and never fails the
request.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from chalicelib.domain.money import decimals, from_minor, to_minor
from chalicelib.errors import Conflict, NotFound, Unprocessable
from chalicelib.store.entities import tenant_partition
from chalicelib.store.paging import Page, all_of, query_source_page
from chalicelib.store.products import NEW, STATUSES, ProductItem, source_key
from chalicelib.store.shops import ShopItem

if TYPE_CHECKING:
    from chalicelib.services.product_images import ImageState

MANUAL = "manual"
SOURCES = ("shop", "manual", "affiliate")
SHOP_EDITABLE = frozenset({"affiliate_link"})
EDITABLE = frozenset({"title", "price", "currency", "image_urls", "affiliate_link", "category", "brand"})
MAX_PRICE_MINOR = 10**13


@dataclass(frozen=True)
class ProductView:
    item: ProductItem
    images: list[ImageState]


# --- validation --------------------------------------------------------------------------------


def decimal_text(value: object) -> str:
    """A price as sent (a decimal string or a JSON number) as a plain decimal string."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a decimal string or a number")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("must be a decimal number such as 19.99") from None
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount <= 0:
        raise ValueError("must be greater than 0")
    return format(amount, "f")


def price_in(price: str, currency: str) -> tuple[str, int]:
    """(canonical decimal string, minor units) of ``price`` in ``currency``; ValueError otherwise."""
    try:
        minor = to_minor(price, currency)
    except ValueError:
        places = decimals(currency)
        raise ValueError(
            f"{currency} has {places} decimal place{'s' if places != 1 else ''}; {price} has more"
        ) from None
    if minor <= 0:
        raise ValueError("must be greater than 0")
    if minor > MAX_PRICE_MINOR:
        raise ValueError(f"must be at most {from_minor(MAX_PRICE_MINOR, currency)}")
    return from_minor(minor, currency), minor


def _invalid(field: str, reason: str) -> Unprocessable:
    return Unprocessable(
        f"invalid body: {field}: {reason}",
        details=[{"field": field, "in": "body", "reason": reason, "type": "value_error"}],
    )


def _search_text(title: str, brand: str | None, category: str | None) -> str:
    return " ".join(part for part in (title, brand, category) if part).casefold()


def _ingest(tenant_id: str, urls: Sequence[str], *, retry_failed: bool = False) -> list[ImageState]:
    from chalicelib.services import product_images  # Pillow and httpx load only here

    return product_images.ingest(tenant_id, urls, retry_failed=retry_failed)


def image_states(tenant_id: str, urls: Sequence[str]) -> list[ImageState]:
    from chalicelib.services import product_images

    return product_images.states(tenant_id, urls)


# --- use cases ---------------------------------------------------------------------------------


def create_product(
    tenant_id: str,
    *,
    title: str,
    price: str,
    currency: str,
    image_urls: Sequence[str],
    affiliate_link: str | None = None,
    category: str | None = None,
    brand: str | None = None,
) -> ProductView:
    try:
        price_text, minor = price_in(price, currency)
    except ValueError as exc:
        raise _invalid("price", str(exc)) from None
    images = _ingest(tenant_id, image_urls)
    now = datetime.now(UTC)
    item = ProductItem(
        tenant_id=tenant_id,
        product_id=f"{MANUAL}:{uuid.uuid4()}",
        source_key=source_key(tenant_id, MANUAL),
        source=MANUAL,
        title=title,
        brand=brand,
        category=category,
        status=NEW,
        currency=currency,
        price=price_text,
        price_minor=minor,
        image_urls=list(image_urls),
        affiliate_link=affiliate_link,
        search_text=_search_text(title, brand, category),
        created_at=now,
        updated_at=now,
    )
    try:
        item.save(condition=ProductItem.product_id.does_not_exist())
    except PutError as exc:  # pragma: no cover - a uuid4 collision
        raise Conflict("a product with this id exists; try again") from exc
    return ProductView(item, images)


def get_product(tenant_id: str, product_id: str) -> ProductItem:
    try:
        return ProductItem.get(tenant_id, product_id)
    except DoesNotExist:
        raise NotFound(f"product {product_id!r} not found") from None


def product_view(tenant_id: str, product_id: str) -> ProductView:
    item = get_product(tenant_id, product_id)
    return ProductView(item, image_states(tenant_id, list(item.image_urls or [])))


def list_products(
    tenant_id: str,
    *,
    source: str | None = None,
    shop_id: str | None = None,
    status: str | None = None,
    shop_status: str | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ProductItem]:
    """Products of every source by id; one source (or one shop's) through the ``by_source`` index.

    ``status`` filters ClickTok's lifecycle status, ``shop_status`` TikTok Shop's listing status.
    """
    conditions: list[Any] = []
    if status:
        conditions.append(ProductItem.status == status)
    if shop_status:
        conditions.append(ProductItem.shop_status == shop_status)
    if q:
        conditions.append(ProductItem.search_text.contains(q.strip().casefold()))
    filter_condition = all_of(conditions)
    scope = ("products", tenant_id, source, shop_id, status, shop_status, q)
    if shop_id is not None or source in ("manual", "affiliate"):
        hash_value = (
            source_key(tenant_id, "shop", shop_id) if shop_id else source_key(tenant_id, source or "")
        )
        return query_source_page(
            ProductItem.by_source,
            hash_value,
            filter_condition=filter_condition,
            limit=limit,
            cursor=cursor,
            scope=scope,
            key_names=("tenant_id", "product_id", "source_key"),
        )
    # every shop's products (product ids start with their source) or the whole catalogue
    range_condition = ProductItem.product_id.startswith(f"{source}:") if source else None
    return query_source_page(
        ProductItem,
        tenant_id,
        range_condition,
        filter_condition=filter_condition,
        limit=limit,
        cursor=cursor,
        scope=scope,
        key_names=("tenant_id", "product_id"),
    )


def split_status(value: str | None) -> tuple[str | None, str | None]:
    """A status filter of shop products as ``(status, shop_status)``: ClickTok's statuses (``new``,
    ``video_created``, any case) filter ``status``; anything else is TikTok's (``ACTIVATE``, …,
    matched in upper case) and filters ``shop_status``."""
    if not value:
        return None, None
    if value.lower() in STATUSES:
        return value.lower(), None
    return None, value.upper()


def update_product(tenant_id: str, product_id: str, changes: Mapping[str, Any]) -> ProductView:
    """Apply ``changes`` (field → new value; None clears an optional field)."""
    item = get_product(tenant_id, product_id)
    unknown = set(changes) - EDITABLE
    if unknown:  # pragma: no cover - the request model refuses them first
        raise _invalid(sorted(unknown)[0], "unknown field")
    if item.source == "shop":
        owned = sorted(set(changes) - SHOP_EDITABLE)
        if owned:
            reason = "owned by TikTok Shop (synced from the shop): change it in the shop"
            raise Unprocessable(
                f"invalid body: {', '.join(owned)}: {reason}; only {', '.join(sorted(SHOP_EDITABLE))} "
                "may change on a shop product",
                details=[
                    {"field": name, "in": "body", "reason": reason, "type": "value_error"} for name in owned
                ],
            )
    actions: list[Any] = []
    if "price" in changes or "currency" in changes:
        currency = changes.get("currency") or item.currency or ""
        price = changes.get("price") or item.price or ""
        try:
            price_text, minor = price_in(price, currency)
        except ValueError as exc:
            raise _invalid("price" if "price" in changes else "currency", str(exc)) from None
        actions += [
            ProductItem.price.set(price_text),
            ProductItem.price_minor.set(minor),
            ProductItem.currency.set(currency),
        ]
    if "title" in changes:
        actions.append(ProductItem.title.set(changes["title"]))
    for name in ("brand", "category", "affiliate_link"):
        if name in changes:
            attribute = getattr(ProductItem, name)
            actions.append(attribute.set(changes[name]) if changes[name] is not None else attribute.remove())
    if item.source != "shop" and {"title", "brand", "category"} & set(changes):
        actions.append(
            ProductItem.search_text.set(
                _search_text(
                    changes.get("title", item.title),
                    changes.get("brand", item.brand),
                    changes.get("category", item.category),
                )
            )
        )
    urls = list(changes["image_urls"]) if "image_urls" in changes else list(item.image_urls or [])
    # a shop product's images are fetched on refresh only: its PATCH touches the affiliate link
    fetch = "image_urls" in changes or item.source != "shop"
    images = _ingest(tenant_id, urls) if fetch else image_states(tenant_id, urls)
    if "image_urls" in changes:
        actions.append(ProductItem.image_urls.set(urls))
    if actions:
        actions.append(ProductItem.updated_at.set(datetime.now(UTC)))
        # Fields derived from the stored ones (search text, price with currency) need the item as
        # read: a concurrent update makes this one fail instead of mixing the two.
        condition = ProductItem.product_id.exists()
        if item.source != "shop":
            condition &= ProductItem.updated_at == item.updated_at
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            raise Conflict(
                f"product {product_id!r} changed or was deleted meanwhile; read it and retry"
            ) from None
    return ProductView(item, images)


def refresh_images(tenant_id: str, product_id: str) -> ProductView:
    """Fetch the product's images that are pending or failed (shop products' too)."""
    item = get_product(tenant_id, product_id)
    return ProductView(item, _ingest(tenant_id, list(item.image_urls or []), retry_failed=True))


def delete_product(tenant_id: str, product_id: str) -> ProductItem:
    item = get_product(tenant_id, product_id)
    if item.source == "shop" and item.shop_id:
        try:
            shop = ShopItem.get(tenant_partition(tenant_id), ShopItem.SORT_PREFIX + item.shop_id)
        except DoesNotExist:
            shop = None
        if shop is not None and shop.status != "disconnected":
            raise Conflict(
                f"product {product_id!r} comes from shop {item.shop_id}, which is {shop.status}: the next "
                "sync would bring it back; disconnect the shop or remove the product in TikTok Shop",
                details={"shop_id": item.shop_id, "shop_status": shop.status},
            )
    try:
        item.delete(condition=ProductItem.product_id.exists())
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise NotFound(f"product {product_id!r} not found") from None
    return item


__all__ = [
    "SHOP_EDITABLE",
    "SOURCES",
    "ProductView",
    "create_product",
    "decimal_text",
    "delete_product",
    "get_product",
    "image_states",
    "list_products",
    "price_in",
    "product_view",
    "refresh_images",
    "split_status",
    "update_product",
]
