"""TikTok Shop order statuses (contract §1, Search Orders) and which of them count toward GMV."""

from __future__ import annotations

from typing import Literal

ORDER_STATUSES: tuple[str, ...] = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)

OrderStatus = Literal[ORDER_STATUSES]  # type: ignore[valid-type]
