"""The tenant's product catalogue: products by hand, shop products, and their images.

Shop products (``source: "shop"``) are TikTok Shop's: only ClickTok's own fields (the affiliate
link) change on them, and they cannot be deleted while their shop is connected. Images are
fetched into S3 while the request runs (5 s per image; a broken URL marks that image failed and
never fails the request); ``GET /products/{id}/images`` gives each image's state and a presigned
link.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from chalice import Blueprint
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chalicelib.api.models import ApiModel, ItemsPage, PageQuery, RequestModel
from chalicelib.api.routing import Reply, RequestContext, route
from chalicelib.domain.principals import Role
from chalicelib.errors import NotFound
from chalicelib.services import products
from chalicelib.store.products import ProductItem

bp = Blueprint(__name__)

MAX_IMAGES = 10
MAX_URL = 2048

# ISO 4217 active currency codes
CURRENCIES = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SLL",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
        "ZWL",
    ]
)


def _currency(value: str) -> str:
    if value not in CURRENCIES:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


def _url(value: str, *, https_only: bool) -> str:
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    allowed = ("https",) if https_only else ("http", "https")
    if parts.scheme.lower() not in allowed or not parts.hostname:
        raise ValueError("must be an https URL" if https_only else "must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password")
    return value


def _image_url(value: str) -> str:
    return _url(value, https_only=False)


def _https_url(value: str) -> str:
    return _url(value, https_only=True)


def _unique(urls: list[str]) -> list[str]:
    seen: set[str] = set()
    for url in urls:
        if url in seen:
            raise ValueError(f"{url} is listed twice")
        seen.add(url)
    return urls


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Currency = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$"),
    AfterValidator(_currency),
]
Price = Annotated[
    str | int | float,
    BeforeValidator(products.decimal_text),
    Field(description="a positive decimal string (or number) with at most the currency's decimals"),
]
ImageUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL),
    AfterValidator(_image_url),
]
ImageUrls = Annotated[
    list[ImageUrl],
    Field(min_length=1, max_length=MAX_IMAGES, description="1 to 10 http(s) image URLs (JPEG, PNG, WebP)"),
    AfterValidator(_unique),
]
AffiliateLink = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL),
    AfterValidator(_https_url),
]


def _priced(price: Any, info: ValidationInfo) -> Any:
    currency = info.data.get("currency")
    if price is not None and currency:
        products.price_in(str(price), currency)
    return price


class CreateProduct(RequestModel):
    title: Title
    currency: Currency
    price: Price
    image_urls: ImageUrls
    affiliate_link: AffiliateLink | None = None
    category: Label | None = None
    brand: Label | None = None

    _price_in_currency = field_validator("price")(_priced)


class UpdateProduct(RequestModel):
    """Send only the fields to change; ``null`` clears ``affiliate_link``, ``category`` or ``brand``."""

    title: Title | None = None
    currency: Currency | None = None
    price: Price | None = None
    image_urls: ImageUrls | None = None
    affiliate_link: AffiliateLink | None = None
    category: Label | None = None
    brand: Label | None = None

    _price_in_currency = field_validator("price")(_priced)

    @field_validator("title", "currency", "price", "image_urls", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null: leave the field out to keep it")
        return value


class ProductQuery(PageQuery):
    source: Literal["shop", "manual", "affiliate"] | None = None
    shop_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = Field(
        default=None, description="one shop's products (implies source=shop)"
    )
    status: Literal["new", "video_created"] | None = Field(
        default=None,
        description="ClickTok's status of the product; a shop's products by their TikTok Shop status: "
        "GET /shops/{shop_id}/products?status=",
    )
    q: Label | None = Field(default=None, description="text in the title, brand or category")

    @model_validator(mode="after")
    def _shop_source(self) -> ProductQuery:
        if self.shop_id and self.source not in (None, "shop"):
            raise ValueError("shop_id lists shop products: leave source out or set it to shop")
        return self


class ImageSummary(ApiModel):
    source_url: str
    status: Literal["ready", "failed", "pending"]
    reason_code: str | None
    reason: str | None


class CatalogueProduct(ApiModel):
    product_id: str
    source: str
    shop_id: str | None
    title: str
    brand: str | None
    category: str | None
    status: str = Field(description="ClickTok's: new, then video_created once a video of it is ready")
    shop_status: str | None = Field(
        description="a shop product's status in TikTok Shop (ACTIVATE, SELLER_DEACTIVATED, …), from the sync"
    )
    currency: str | None
    price: str | None
    price_minor: int | None
    stock: int | None
    skus: list[dict[str, Any]]
    image_urls: list[str]
    affiliate_link: str | None
    created_at: datetime
    updated_at: datetime
    images: list[ImageSummary] | None = Field(
        default=None, description="each image's state; on single-product answers, not in lists"
    )


class CatalogueProductPage(ItemsPage[CatalogueProduct]):
    pass


class ProductImage(ApiModel):
    position: int
    source_url: str
    status: Literal["ready", "failed", "pending"]
    reason_code: str | None
    reason: str | None
    http_status: int | None
    width: int | None
    height: int | None
    bytes: int | None
    sha256: str | None
    content_type: str | None
    source_type: str | None
    source_width: int | None
    source_height: int | None
    fetched_at: datetime | None
    url: str | None = Field(description="presigned GET (15 minutes) once ready")
    url_expires_at: datetime | None


class ProductImages(ApiModel):
    product_id: str
    items: list[ProductImage]


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _product(item: ProductItem, images: list[Any] | None = None) -> CatalogueProduct:
    return CatalogueProduct(
        product_id=item.product_id,
        source=item.source,
        shop_id=item.shop_id,
        title=item.title,
        brand=item.brand,
        category=item.category,
        status=item.status,
        shop_status=item.shop_status,
        currency=item.currency,
        price=item.price,
        price_minor=_int(item.price_minor),
        stock=_int(item.stock),
        skus=list(item.skus or []),
        image_urls=list(item.image_urls or []),
        affiliate_link=item.affiliate_link,
        created_at=item.created_at,
        updated_at=item.updated_at,
        images=None
        if images is None
        else [
            ImageSummary(
                source_url=state.source_url,
                status=state.status,
                reason_code=state.reason_code,
                reason=state.reason,
            )
            for state in images
        ],
    )


def _view(view: products.ProductView) -> CatalogueProduct:
    return _product(view.item, view.images)


def _product_id(raw: str) -> str:
    product_id = unquote(raw)
    if not 1 <= len(product_id) <= 200:
        raise NotFound(f"product {product_id[:200]!r} not found")
    return product_id


def _image_counts(view: products.ProductView) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in view.images:
        counts[state.status] = counts.get(state.status, 0) + 1
    return counts


@route(
    bp,
    "/products",
    "POST",
    summary="Add a product by hand; its images are fetched into S3",
    role=Role.EDITOR,
    body=CreateProduct,
    response=CatalogueProduct,
    status=201,
    action="product.create",
)
def create_product(ctx: RequestContext) -> CatalogueProduct:
    body: CreateProduct = ctx.body
    view = products.create_product(
        ctx.caller.tenant_id or "",
        title=body.title,
        price=str(body.price),
        currency=body.currency,
        image_urls=body.image_urls,
        affiliate_link=body.affiliate_link,
        category=body.category,
        brand=body.brand,
    )
    ctx.audit_target = view.item.product_id
    ctx.audit_details = {"title": view.item.title, "images": _image_counts(view)}
    return _view(view)


@route(
    bp,
    "/products",
    "GET",
    summary="The catalogue: products of every source (shop, manual, affiliate)",
    role=Role.VIEWER,
    query=ProductQuery,
    response=CatalogueProductPage,
)
def list_products(ctx: RequestContext) -> CatalogueProductPage:
    query: ProductQuery = ctx.query
    page = products.list_products(
        ctx.caller.tenant_id or "",
        source=query.source,
        shop_id=query.shop_id,
        status=query.status,
        q=query.q,
        limit=query.limit,
        cursor=query.cursor,
    )
    return CatalogueProductPage(items=[_product(item) for item in page.items], next_cursor=page.next_cursor)


@route(
    bp,
    "/products/{product_id}",
    "GET",
    summary="One product, with the state of each image",
    role=Role.VIEWER,
    response=CatalogueProduct,
)
def get_product(ctx: RequestContext, product_id: str) -> CatalogueProduct:
    return _view(products.product_view(ctx.caller.tenant_id or "", _product_id(product_id)))


@route(
    bp,
    "/products/{product_id}",
    "PATCH",
    summary="Change some fields; on shop products only the affiliate link",
    role=Role.EDITOR,
    body=UpdateProduct,
    response=CatalogueProduct,
    action="product.update",
    errors=(404, 409, 422),
)
def update_product(ctx: RequestContext, product_id: str) -> CatalogueProduct:
    body: UpdateProduct = ctx.body
    product_id = _product_id(product_id)
    ctx.audit_target = product_id
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if "price" in changes:
        changes["price"] = str(changes["price"])
    ctx.audit_details = {"fields": sorted(changes)}
    view = products.update_product(ctx.caller.tenant_id or "", product_id, changes)
    ctx.audit_details["images"] = _image_counts(view)
    return _view(view)


@route(
    bp,
    "/products/{product_id}",
    "DELETE",
    summary="Delete a product (a shop product only once its shop is disconnected)",
    role=Role.EDITOR,
    status=204,
    action="product.delete",
    errors=(404, 409),
)
def delete_product(ctx: RequestContext, product_id: str) -> Reply:
    product_id = _product_id(product_id)
    ctx.audit_target = product_id
    removed = products.delete_product(ctx.caller.tenant_id or "", product_id)
    ctx.audit_details = {"source": removed.source, "title": removed.title}
    return Reply(None, 204)


@route(
    bp,
    "/products/{product_id}/images",
    "GET",
    summary="Each image of a product: state, reason, size, sha256 and a presigned link (15 minutes)",
    role=Role.VIEWER,
    response=ProductImages,
)
def product_images(ctx: RequestContext, product_id: str) -> ProductImages:
    from chalicelib.services import product_images as stored

    view = products.product_view(ctx.caller.tenant_id or "", _product_id(product_id))
    expires = datetime.now(UTC) + timedelta(seconds=stored.URL_SECONDS)
    items = []
    for position, state in enumerate(view.images):
        item = state.item
        url = stored.download_url(item) if item is not None else None
        items.append(
            ProductImage(
                position=position,
                source_url=state.source_url,
                status=state.status,  # type: ignore[arg-type]
                reason_code=state.reason_code,
                reason=state.reason,
                http_status=_int(item.http_status) if item else None,
                width=_int(item.width) if item else None,
                height=_int(item.height) if item else None,
                bytes=_int(item.bytes) if item else None,
                sha256=item.sha256 if item else None,
                content_type=item.content_type if item else None,
                source_type=item.source_type if item else None,
                source_width=_int(item.source_width) if item else None,
                source_height=_int(item.source_height) if item else None,
                fetched_at=item.fetched_at if item else None,
                url=url,
                url_expires_at=expires if url else None,
            )
        )
    return ProductImages(product_id=view.item.product_id, items=items)


@route(
    bp,
    "/products/{product_id}/images/refresh",
    "POST",
    summary="Fetch the product's pending and failed images again (shop products' images too)",
    role=Role.EDITOR,
    response=CatalogueProduct,
    action="product.update",
    errors=(404,),
)
def refresh_images(ctx: RequestContext, product_id: str) -> CatalogueProduct:
    product_id = _product_id(product_id)
    ctx.audit_target = product_id
    view = products.refresh_images(ctx.caller.tenant_id or "", product_id)
    ctx.audit_details = {"fields": ["images"], "images": _image_counts(view)}
    return _view(view)
