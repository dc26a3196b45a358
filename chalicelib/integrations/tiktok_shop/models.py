"""Typed results of the TikTok Shop client.

Every model keeps the fields it does not name (``extra="allow"``), so ``model_dump()`` returns the
raw object as TikTok sent it; amounts stay strings, times stay Unix seconds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Raw(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TokenSet(_Raw):
    """``data`` of ``/api/v2/token/get`` and ``/api/v2/token/refresh``; ``*_expire_in`` are absolute."""

    access_token: str
    access_token_expire_in: int
    refresh_token: str
    refresh_token_expire_in: int
    open_id: str = ""
    seller_name: str = ""
    seller_base_region: str = ""
    user_type: int = 0
    granted_scopes: list[str] = Field(default_factory=list)


class Shop(_Raw):
    id: str
    name: str = ""
    region: str = ""
    code: str = ""
    cipher: str
    seller_type: str = ""


class Money(_Raw):
    amount: str = "0"
    currency: str = ""


class Payment(_Raw):
    currency: str = ""
    sub_total: str = "0"
    total_amount: str = "0"
    shipping_fee: str = "0"
    seller_discount: str = "0"
    platform_discount: str = "0"
    tax: str = "0"


class LineItem(_Raw):
    id: str
    product_id: str = ""
    product_name: str = ""
    sku_id: str = ""
    sku_name: str = ""
    seller_sku: str = ""
    sale_price: str = "0"
    original_price: str = "0"
    currency: str = ""


class Order(_Raw):
    id: str
    status: str
    create_time: int
    update_time: int
    paid_time: int | None = None
    payment: Payment | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    user_id: str | None = None
    buyer_email: str | None = None
    shipping_type: str | None = None


class OrdersPage(_Raw):
    orders: list[Order] = Field(default_factory=list)
    next_page_token: str = ""
    total_count: int = 0


class SkuPrice(_Raw):
    currency: str = ""
    sale_price: str = "0"


class SkuInventory(_Raw):
    quantity: int = 0
    warehouse_id: str = ""


class Sku(_Raw):
    id: str
    seller_sku: str = ""
    price: SkuPrice | None = None
    inventory: list[SkuInventory] = Field(default_factory=list)


class Product(_Raw):
    id: str
    title: str = ""
    status: str = ""
    create_time: int = 0
    update_time: int = 0
    skus: list[Sku] = Field(default_factory=list)
    main_images: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def image_urls(self) -> list[str]:
        return [url for image in self.main_images for url in image.get("urls", [])[:1]]


class ProductsPage(_Raw):
    products: list[Product] = Field(default_factory=list)
    next_page_token: str = ""
    total_count: int = 0


class PerformanceInterval(_Raw):
    """One interval of ``/analytics/202405/shop/performance`` (202405 schema: ``gmv.amount``)."""

    start_date: str
    end_date: str
    gmv: Money = Field(default_factory=Money)
    orders: int = 0
    sku_orders: int = 0
    units_sold: int = 0
    buyers: int = 0
    avg_order_value: Money = Field(default_factory=Money)


class ShopPerformance(_Raw):
    intervals: list[PerformanceInterval] = Field(default_factory=list)
    latest_available_date: str = ""
