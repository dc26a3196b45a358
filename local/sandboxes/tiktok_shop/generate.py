"""Realistic, seed-deterministic shop data: a branded catalogue, orders and their life cycle.

Amounts are integers in minor units while generating and strings on the wire, as TikTok sends them.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.order_status import ORDER_STATUSES

PRODUCT_STATUSES = (
    "DRAFT",
    "PENDING",
    "FAILED",
    "ACTIVATE",
    "SELLER_DEACTIVATED",
    "PLATFORM_DEACTIVATED",
    "FREEZE",
    "DELETED",
)

# region -> (currency, decimals, UTC offset hours, units per USD)
REGIONS: dict[str, tuple[str, int, int, float]] = {
    "US": ("USD", 2, -8, 1.0),
    "GB": ("GBP", 2, 0, 0.79),
    "IE": ("EUR", 2, 0, 0.92),
    "DE": ("EUR", 2, 1, 0.92),
    "FR": ("EUR", 2, 1, 0.92),
    "ES": ("EUR", 2, 1, 0.92),
    "IT": ("EUR", 2, 1, 0.92),
    "MX": ("MXN", 2, -6, 17.0),
    "BR": ("BRL", 2, -3, 5.0),
    "JP": ("JPY", 0, 9, 150.0),
    "SG": ("SGD", 2, 8, 1.35),
    "MY": ("MYR", 2, 8, 4.7),
    "PH": ("PHP", 2, 8, 56.0),
    "TH": ("THB", 2, 7, 36.0),
    "VN": ("VND", 0, 7, 24000.0),
    "ID": ("IDR", 0, 7, 15600.0),
}

# brand -> products (name, price in USD cents, variant names)
CATALOGUE: dict[str, list[tuple[str, int, tuple[str, ...]]]] = {
    "Glow Recipe": [
        ("Watermelon Toner 150ml", 3500, ("150ml", "40ml")),
        ("Plum Plump Hyaluronic Cream 50ml", 3900, ("50ml",)),
        ("Dew Drops Serum 40ml", 3500, ("40ml", "Mini 15ml")),
    ],
    "CeraVe": [
        ("Hydrating Facial Cleanser 473ml", 1699, ("473ml", "236ml")),
        ("Moisturizing Cream 453g", 1999, ("453g",)),
    ],
    "The Ordinary": [
        ("Niacinamide 10% + Zinc 1% 30ml", 650, ("30ml", "60ml")),
        ("Hyaluronic Acid 2% + B5 30ml", 890, ("30ml",)),
    ],
    "Rare Beauty": [
        ("Soft Pinch Liquid Blush", 2300, ("Joy", "Hope", "Grace")),
        ("Positive Light Liquid Luminizer", 2600, ("Enlighten", "Mesmerize")),
    ],
    "Fenty Beauty": [("Gloss Bomb Universal Lip Luminizer", 2100, ("Fenty Glow", "Fu$$y", "Hot Chocolit"))],
    "Stanley": [("Quencher H2.0 FlowState Tumbler 40oz", 4500, ("Rose Quartz", "Charcoal", "Cream"))],
    "Owala": [("FreeSip Insulated Water Bottle 24oz", 2799, ("Shy Marshmallow", "Denim", "Candy Coral"))],
    "Dyson": [("Airwrap Multi-Styler Complete Long", 59999, ("Nickel/Copper", "Prussian Blue"))],
    "Anker": [
        ("Nano Power Bank 10000mAh", 2999, ("Black", "White")),
        ("737 GaNPrime Charger 120W", 7999, ("Black",)),
    ],
    "Apple": [("AirPods Pro (2nd generation)", 24900, ("USB-C",))],
    "Crocs": [("Classic Clog", 4999, ("M7/W9", "M9/W11", "M10/W12"))],
    "Skims": [("Fits Everybody T-Shirt Bra", 4200, ("XS", "S", "M", "L"))],
    "Medicube": [("Zero Pore Pad 2.0 70 pads", 2590, ("70 pads",))],
    "COSRX": [("Advanced Snail 96 Mucin Power Essence 100ml", 2500, ("100ml",))],
    "Laneige": [("Lip Sleeping Mask Berry 20g", 2400, ("Berry", "Vanilla", "Gummy Bear"))],
    "Tree Hut": [("Shea Sugar Scrub Moroccan Rose 510g", 1099, ("Moroccan Rose", "Tropical Mango"))],
    "e.l.f.": [("Power Grip Primer 24ml", 1000, ("24ml",))],
    "Olaplex": [("No. 3 Hair Perfector 100ml", 3000, ("100ml", "250ml"))],
}

_FIRST = ("Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Lily", "Lucas", "Chloe", "Mateo", "Aria", "Leo")
_LAST = ("Nguyen", "Smith", "Garcia", "Kim", "Patel", "Brown", "Lopez", "Chen", "Silva", "Tanaka")
_STREETS = ("Maple Ave", "Oak St", "Sunset Blvd", "Market St", "High St", "Cedar Ln", "Pine Rd")
_TERMINAL = frozenset({"COMPLETED", "CANCELLED"})

# status -> statuses it may move to (the order life cycle the mutations follow)
NEXT_STATUS: dict[str, tuple[str, ...]] = {
    "UNPAID": ("AWAITING_SHIPMENT", "AWAITING_SHIPMENT", "CANCELLED"),
    "ON_HOLD": ("AWAITING_SHIPMENT",),
    "AWAITING_SHIPMENT": ("AWAITING_COLLECTION", "AWAITING_COLLECTION", "PARTIALLY_SHIPPING", "CANCELLED"),
    "PARTIALLY_SHIPPING": ("IN_TRANSIT",),
    "AWAITING_COLLECTION": ("IN_TRANSIT",),
    "IN_TRANSIT": ("DELIVERED",),
    "DELIVERED": ("COMPLETED",),
}

DAY = 86_400
CATEGORY = {"id": "601450", "local_name": "Beauty & Personal Care", "is_leaf": False}
_SHIPPED = frozenset({"PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"})


def money(minor: int, decimals: int) -> str:
    if decimals == 0:
        return str(minor)
    return f"{minor // 100}.{minor % 100:02d}"


def to_minor(amount: str, decimals: int) -> int:
    if decimals == 0:
        return int(amount.split(".")[0])
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


@dataclass(frozen=True)
class SkuSpec:
    product_id: str
    product_name: str
    sku_id: str
    sku_name: str
    seller_sku: str
    price_minor: int
    image_url: str


def make_catalogue(
    shop_id: str, region: str, rng: random.Random, now: int, image_base: str
) -> tuple[list[dict[str, Any]], list[SkuSpec]]:
    """Products (202309 detail shape) and a flat list of their SKUs for order lines."""
    currency, decimals, _, per_usd = REGIONS[region]
    products: list[dict[str, Any]] = []
    skus: list[SkuSpec] = []
    serial = 0
    for brand, lines in CATALOGUE.items():
        for name, usd_cents, variants in lines:
            serial += 1
            product_id = f"17{shop_id[-6:]}{serial:010d}"
            title = f"{brand} {name}"
            created = now - rng.randint(60, 400) * DAY
            status = rng.choices(PRODUCT_STATUSES, weights=(2, 1, 1, 40, 3, 1, 1, 1))[0]
            image = f"{image_base}/{product_id}.jpg"
            product_skus = []
            for index, variant in enumerate(variants):
                sku_id = f"{product_id}{index + 1:02d}"
                scale = per_usd * (1.0 + 0.1 * index) / (100 if decimals == 0 else 1)
                minor = max(1, round(usd_cents * scale))
                seller_sku = f"{brand[:3].upper()}-{serial:03d}-{index + 1}"
                product_skus.append(
                    {
                        "id": sku_id,
                        "seller_sku": seller_sku,
                        "price": {
                            "currency": currency,
                            "sale_price": money(minor, decimals),
                            "tax_exclusive_price": money(minor, decimals),
                        },
                        "inventory": [{"warehouse_id": f"WH{shop_id[-4:]}", "quantity": rng.randint(0, 500)}],
                        "sales_attributes": [{"id": "100000", "name": "Variant", "value_name": variant}],
                    }
                )
                skus.append(SkuSpec(product_id, title, sku_id, variant, seller_sku, minor, image))
            products.append(
                {
                    "id": product_id,
                    "title": title,
                    "description": f"<p>{title}. Authentic {brand}, shipped from our warehouse.</p>",
                    "status": status,
                    "create_time": created,
                    "update_time": created + rng.randint(0, 30) * DAY,
                    "brand": {"id": f"7{zlib.crc32(brand.encode()):011d}", "name": brand},
                    "category_chains": [
                        {"id": "601450", "local_name": "Beauty & Personal Care", "is_leaf": False}
                    ],
                    "main_images": [
                        {"uri": f"tos-sandbox/{product_id}", "urls": [image], "height": 800, "width": 800}
                    ],
                    "skus": product_skus,
                    "sales_regions": [region],
                    "is_not_for_sale": False,
                }
            )
    return products, skus


def _status_for_age(rng: random.Random, age: int) -> str:
    if age > 14 * DAY:
        return rng.choices(("COMPLETED", "CANCELLED", "DELIVERED", "IN_TRANSIT"), weights=(75, 10, 10, 5))[0]
    if age > 3 * DAY:
        return rng.choices(
            ("COMPLETED", "DELIVERED", "IN_TRANSIT", "AWAITING_COLLECTION", "CANCELLED"),
            weights=(35, 25, 20, 10, 10),
        )[0]
    return rng.choices(
        ORDER_STATUSES,
        weights=(5, 3, 35, 2, 15, 25, 10, 0, 5),
    )[0]


class OrderFactory:
    """Builds order dicts (202309 shape) for one shop from its SKUs."""

    def __init__(self, shop_id: str, region: str, skus: list[SkuSpec]) -> None:
        self.shop_id = shop_id
        self.region = region
        self.currency, self.decimals, _, per_usd = REGIONS[region]
        unit = per_usd if self.decimals else per_usd / 100  # minor units per US cent
        self.free_shipping_from = round(3500 * unit)
        self.shipping_fee = round(599 * unit)
        self.skus = skus
        self.warehouse_id = f"WH{shop_id[-4:]}"

    def new_id(self, rng: random.Random, taken: dict[str, Any]) -> str:
        while True:
            candidate = f"57{rng.randrange(10**16):016d}"
            if candidate not in taken:
                return candidate

    def order(
        self, rng: random.Random, order_id: str, create_time: int, update_time: int, status: str
    ) -> dict[str, Any]:
        decimals, currency = self.decimals, self.currency
        lines = []
        subtotal = 0
        for index in range(rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0]):
            sku = self.skus[rng.randrange(len(self.skus))]
            subtotal += sku.price_minor
            lines.append(
                {
                    "id": f"{order_id[-12:]}{index:02d}",
                    "product_id": sku.product_id,
                    "product_name": sku.product_name,
                    "sku_id": sku.sku_id,
                    "sku_name": sku.sku_name,
                    "seller_sku": sku.seller_sku,
                    "sku_image": sku.image_url,
                    "sale_price": money(sku.price_minor, decimals),
                    "original_price": money(sku.price_minor, decimals),
                    "platform_discount": "0" if decimals == 0 else "0.00",
                    "seller_discount": "0" if decimals == 0 else "0.00",
                    "currency": currency,
                    "display_status": status,
                }
            )
        shipping = 0 if subtotal >= self.free_shipping_from else self.shipping_fee
        tax = round(subtotal * 0.07) if self.region == "US" else 0
        total = subtotal + shipping + tax
        zero = money(0, decimals)
        buyer = rng.randrange(10**6)
        first, last = _FIRST[buyer % len(_FIRST)], _LAST[buyer % len(_LAST)]
        order: dict[str, Any] = {
            "id": order_id,
            "status": status,
            "create_time": create_time,
            "update_time": update_time,
            "user_id": f"7{buyer:018d}",
            "buyer_email": f"v{buyer:08d}@scs.tiktokw.us",
            "buyer_message": "",
            "shipping_type": "TIKTOK" if buyer % 3 else "SELLER",
            "fulfillment_type": "FULFILLMENT_BY_SELLER",
            "delivery_option_name": "Standard shipping",
            "warehouse_id": self.warehouse_id,
            "is_buyer_request_cancel": False,
            "is_cod": False,
            "payment": {
                "currency": currency,
                "sub_total": money(subtotal, decimals),
                "shipping_fee": money(shipping, decimals),
                "seller_discount": zero,
                "platform_discount": zero,
                "tax": money(tax, decimals),
                "total_amount": money(total, decimals),
                "original_total_product_price": money(subtotal, decimals),
                "original_shipping_fee": money(shipping, decimals),
            },
            "line_items": lines,
            "recipient_address": {
                "name": f"{first} {last}",
                "phone_number": f"(+1)***-***-{buyer % 10000:04d}",
                "full_address": f"{buyer % 900 + 100} {_STREETS[buyer % len(_STREETS)]}",
                "region_code": self.region,
                "postal_code": f"{buyer % 90000 + 10000}",
            },
            "packages": [],
        }
        self.apply_status(order, status, update_time)
        return order

    def apply_status(self, order: dict[str, Any], status: str, at: int) -> None:
        order["status"] = status
        for line in order["line_items"]:
            line["display_status"] = status
        if status not in ("UNPAID", "CANCELLED") and "paid_time" not in order:
            order["paid_time"] = min(at, order["create_time"] + 120)
        if status == "CANCELLED":
            order["cancel_time"] = at
        if status in _SHIPPED and not order["packages"]:
            order["packages"] = [{"id": f"11{order['id'][-16:]}"}]
        if status in ("IN_TRANSIT", "DELIVERED", "COMPLETED") and "rts_time" not in order:
            order["rts_time"] = at
        if status in ("DELIVERED", "COMPLETED") and "delivery_time" not in order:
            order["delivery_time"] = at

    def generate(
        self, rng: random.Random, count: int, days: int, now: int, taken: dict[str, Any]
    ) -> list[dict[str, Any]]:
        span = max(1, days) * DAY
        out = []
        for _ in range(count):
            order_id = self.new_id(rng, taken)
            created = now - rng.randrange(span)
            age = now - created
            updated = created + rng.randint(0, min(age, 7 * DAY))
            order = self.order(rng, order_id, created, updated, _status_for_age(rng, age))
            taken[order_id] = order
            out.append(order)
        return out

    def mutated(self, rng: random.Random, order: dict[str, Any], now: int) -> dict[str, Any]:
        """A copy of ``order`` one life-cycle step on (or just touched), ``update_time`` strictly later."""
        changed = {
            **order,
            "line_items": [dict(line) for line in order["line_items"]],
            "packages": list(order["packages"]),
        }
        at = max(now, order["update_time"] + 1)
        changed["update_time"] = at
        choices = NEXT_STATUS.get(order["status"])
        if choices:
            self.apply_status(changed, rng.choice(choices), at)
        return changed


def is_terminal(status: str) -> bool:
    return status in _TERMINAL
