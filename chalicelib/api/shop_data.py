"""A connected shop's data: orders, order stats, KPIs, its products, and order exports."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from chalicelib.api.models import ApiModel, ItemsPage, PageQuery, RequestModel
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.principals import Role
from chalicelib.errors import NotFound
from chalicelib.integrations.aws import queues
from chalicelib.services import exports, orders, shops
from chalicelib.store.entities import tenant_partition
from chalicelib.store.orders import OrderItem
from chalicelib.store.products import ProductItem
from chalicelib.store.shops import ExportItem

bp = Blueprint(__name__)

Text = Annotated[str, StringConstraints(min_length=1, max_length=100)]
EXPORTS_QUEUE = "exports"


def _shop_of(ctx: RequestContext, shop_id: str) -> str:
    """The caller's tenant id, once the shop is known to be theirs (another tenant's shop is 404)."""
    tenant_id = ctx.caller.tenant_id or ""
    shops.get_shop(tenant_id, shop_id)
    return tenant_id


# --- orders ----------------------------------------------------------------------------------


class OrderQuery(PageQuery):
    status: OrderStatus | None = None
    brand: Text | None = Field(default=None, description="exact brand, as shown on orders")
    q: Text | None = Field(default=None, description="text in the order id, product names or SKUs")
    created_from: AwareDatetime | None = Field(default=None, description="created at or after (ISO 8601)")
    created_to: AwareDatetime | None = Field(default=None, description="created before (ISO 8601)")


class Order(ApiModel):
    order_id: str
    status: str
    create_time: datetime
    update_time: datetime
    paid_time: datetime | None
    currency: str
    total_amount: str = Field(description="as TikTok Shop sends it: a decimal string")
    brands: list[str]
    line_items: list[dict[str, Any]]


class OrderPage(ItemsPage[Order]):
    pass


def _time(value: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None


def _order(item: OrderItem) -> Order:
    return Order(
        order_id=item.order_id,
        status=item.status,
        create_time=_time(item.create_time),  # type: ignore[arg-type]
        update_time=_time(item.update_time),  # type: ignore[arg-type]
        paid_time=_time(item.paid_time),
        currency=item.currency,
        total_amount=item.total_amount,
        brands=list(item.brands or []),
        line_items=list(item.line_items or []),
    )


@route(
    bp,
    "/shops/{shop_id}/orders",
    "GET",
    summary="A shop's orders, newest first",
    role=Role.VIEWER,
    query=OrderQuery,
    response=OrderPage,
)
def list_orders(ctx: RequestContext, shop_id: str) -> OrderPage:
    query: OrderQuery = ctx.query
    page = orders.list_orders(
        _shop_of(ctx, shop_id),
        shop_id,
        status=query.status,
        brand=query.brand,
        q=query.q,
        created_from=query.created_from,
        created_to=query.created_to,
        limit=query.limit,
        cursor=query.cursor,
    )
    return OrderPage(items=[_order(item) for item in page.items], next_cursor=page.next_cursor)


class StatsQuery(RequestModel):
    from_: date = Field(alias="from", description="first UTC day, YYYY-MM-DD")
    to: date = Field(description="last UTC day, YYYY-MM-DD (included)")


class BrandStats(ApiModel):
    orders: int
    gmv: str | None
    gmv_minor: int


class OrderStats(ApiModel):
    from_: str = Field(alias="from")
    to: str
    granularity: str
    currency: str | None
    orders: int = Field(description="orders created in the range, every status")
    gmv_orders: int = Field(description="the orders that count toward GMV (not UNPAID or CANCELLED)")
    gmv: str | None
    gmv_minor: int
    average_order_value: str | None
    average_order_value_minor: int
    by_status: dict[str, int]
    by_brand: dict[str, BrandStats]


@route(
    bp,
    "/shops/{shop_id}/orders/stats",
    "GET",
    summary="Order count, GMV, average order value, by status and by brand, for a range of days",
    role=Role.VIEWER,
    query=StatsQuery,
    response=OrderStats,
)
def order_stats(ctx: RequestContext, shop_id: str) -> OrderStats:
    query: StatsQuery = ctx.query
    return OrderStats.model_validate(
        orders.order_stats(_shop_of(ctx, shop_id), shop_id, query.from_, query.to)
    )


@route(bp, "/shops/{shop_id}/orders/{order_id}", "GET", summary="One order", role=Role.VIEWER, response=Order)
def get_order(ctx: RequestContext, shop_id: str, order_id: str) -> Order:
    return _order(orders.get_order(_shop_of(ctx, shop_id), shop_id, order_id))


# --- KPIs ------------------------------------------------------------------------------------


class KpiQuery(RequestModel):
    days: int = Field(default=30, ge=1, le=366)


class KpiTotals(ApiModel):
    orders: int
    gmv_orders: int
    gmv_minor: int
    gmv: str | None
    aov_minor: int
    average_order_value: str | None


class KpiPrevious(KpiTotals):
    from_: str = Field(alias="from")
    to: str


class KpiChange(ApiModel):
    absolute: int
    percent: float | None = Field(description="None when the previous period was 0")


class KpiPoint(ApiModel):
    model_config = {"extra": "allow"}

    day: str
    orders: int
    gmv_minor: int
    gmv: str | None


class Kpis(ApiModel):
    from_: str = Field(alias="from")
    to: str
    days: int
    currency: str | None
    totals: KpiTotals
    previous: KpiPrevious
    change: dict[str, KpiChange]
    series: list[KpiPoint]


@route(
    bp,
    "/shops/{shop_id}/kpis",
    "GET",
    summary="Totals and a daily series of the last days, with the change against the period before",
    role=Role.VIEWER,
    query=KpiQuery,
    response=Kpis,
)
def kpis(ctx: RequestContext, shop_id: str) -> Kpis:
    query: KpiQuery = ctx.query
    return Kpis.model_validate(orders.kpis(_shop_of(ctx, shop_id), shop_id, query.days))


# --- products --------------------------------------------------------------------------------


class ProductQuery(PageQuery):
    status: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]{1,32}$")] | None = Field(
        default=None,
        description="ClickTok's status (new, video_created) or, any other value, the status in TikTok Shop "
        "(ACTIVATE, SELLER_DEACTIVATED, …)",
    )
    q: Text | None = None


class Product(ApiModel):
    product_id: str
    source: str
    shop_id: str | None
    title: str
    brand: str | None
    status: str = Field(description="ClickTok's: new, then video_created once a video of it is ready")
    shop_status: str | None = Field(description="the product's status in TikTok Shop (ACTIVATE, …)")
    currency: str | None
    price: str | None
    stock: int | None
    skus: list[dict[str, Any]]
    image_urls: list[str]
    updated_at: datetime


class ProductPage(ItemsPage[Product]):
    pass


def _product(item: ProductItem) -> Product:
    return Product(
        product_id=item.product_id,
        source=item.source,
        shop_id=item.shop_id,
        title=item.title,
        brand=item.brand,
        status=item.status,
        shop_status=item.shop_status,
        currency=item.currency,
        price=item.price,
        stock=int(item.stock) if item.stock is not None else None,
        skus=list(item.skus or []),
        image_urls=list(item.image_urls or []),
        updated_at=item.updated_at,
    )


@route(
    bp,
    "/shops/{shop_id}/products",
    "GET",
    summary="The shop's products in the tenant's catalogue",
    role=Role.VIEWER,
    query=ProductQuery,
    response=ProductPage,
)
def list_products(ctx: RequestContext, shop_id: str) -> ProductPage:
    query: ProductQuery = ctx.query
    page = orders.list_shop_products(
        _shop_of(ctx, shop_id),
        shop_id,
        status=query.status,
        q=query.q,
        limit=query.limit,
        cursor=query.cursor,
    )
    return ProductPage(items=[_product(item) for item in page.items], next_cursor=page.next_cursor)


# --- exports ---------------------------------------------------------------------------------


class CreateExport(RequestModel):
    kind: Literal["orders"] = "orders"
    from_: date = Field(alias="from", description="first UTC day of orders by creation time")
    to: date = Field(description="last UTC day (included)")
    format: Literal["csv"] = "csv"

    @model_validator(mode="after")
    def _ordered(self) -> CreateExport:
        if self.to < self.from_:
            raise ValueError("to must not be before from")
        if (self.to - self.from_) > timedelta(days=3660):
            raise ValueError("at most ten years per export")
        return self


class Export(ApiModel):
    export_id: str
    shop_id: str
    kind: str
    format: str
    status: Literal["queued", "running", "ready", "failed"]
    params: dict[str, Any]
    rows: int | None
    bytes: int | None
    error: str | None
    url: str | None = Field(description="presigned download link (15 minutes) once ready")
    created_at: datetime
    finished_at: datetime | None


def _export(item: ExportItem) -> Export:
    return Export(
        export_id=item.export_id,
        shop_id=item.shop_id,
        kind=item.export_kind,
        format=item.format,
        status=item.status,  # type: ignore[arg-type]
        params=dict(item.params or {}),
        rows=int(item.rows) if item.rows is not None else None,
        bytes=int(item.bytes) if item.bytes is not None else None,
        error=item.error,
        url=exports.export_download_url(item),
        created_at=item.created_at,
        finished_at=item.finished_at,
    )


@route(
    bp,
    "/shops/{shop_id}/exports",
    "POST",
    summary="Export a shop's orders to CSV; a worker builds it",
    role=Role.EDITOR,
    body=CreateExport,
    response=Export,
    status=202,
    action="export.create",
)
def create_export(ctx: RequestContext, shop_id: str) -> Export:
    body: CreateExport = ctx.body
    tenant_id = _shop_of(ctx, shop_id)
    export_id = f"exp_{uuid.uuid4().hex[:16]}"
    item = ExportItem(
        pk=tenant_partition(tenant_id),
        sk=ExportItem.SORT_PREFIX + export_id,
        tenant_id=tenant_id,
        export_id=export_id,
        shop_id=shop_id,
        export_kind=body.kind,
        format=body.format,
        params={"from": body.from_.isoformat(), "to": body.to.isoformat()},
        status="queued",
        created_at=datetime.now(UTC),
        created_by=ctx.caller.user_id,
    )
    item.save()
    queues.send(EXPORTS_QUEUE, {"tenant_id": tenant_id, "export_id": export_id})
    ctx.audit_target = export_id
    ctx.audit_details = {"shop_id": shop_id, **item.params}
    return _export(item)


@route(
    bp,
    "/exports/{export_id}",
    "GET",
    summary="An export's status and download link",
    role=Role.VIEWER,
    response=Export,
)
def get_export(ctx: RequestContext, export_id: str) -> Export:
    try:
        item = ExportItem.get(
            tenant_partition(ctx.caller.tenant_id or ""), ExportItem.SORT_PREFIX + export_id
        )
    except ExportItem.DoesNotExist:
        raise NotFound(f"export {export_id!r} not found") from None
    return _export(item)
