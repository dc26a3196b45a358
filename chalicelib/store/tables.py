"""The tables: which PynamoDB model defines each one, and its schema as plain data.

``table_schema`` is what the CDK stack and the local cloud create tables from.
"""

from __future__ import annotations

from typing import Any

from pynamodb.models import Model

from chalicelib.store import connections, product_images, shops, templates, videos  # noqa: F401 - registers entity kinds and indexes
from chalicelib.store.audit import AuditEventItem
from chalicelib.store.daily import DailyShopItem
from chalicelib.store.entities import EntityItem
from chalicelib.store.idempotency import IdempotencyRecord
from chalicelib.store.orders import OrderItem
from chalicelib.store.products import ProductItem

TABLE_MODELS: dict[str, type[Model]] = {
    "entities": EntityItem,
    "audit": AuditEventItem,
    "orders": OrderItem,
    "daily": DailyShopItem,
    "products": ProductItem,
    "idempotency": IdempotencyRecord,
}


def table_schema(model: type[Model]) -> dict[str, Any]:
    """Keys, attribute types, global secondary indexes and the TTL attribute of ``model``'s table."""
    schema = model._get_schema()
    key_types = {item["AttributeName"]: item["AttributeType"] for item in schema["attribute_definitions"]}
    keys = {item["KeyType"]: item["AttributeName"] for item in schema["key_schema"]}
    indexes = []
    for gsi in schema["global_secondary_indexes"]:
        gsi_keys = {item["KeyType"]: item["AttributeName"] for item in gsi["key_schema"]}
        indexes.append(
            {
                "name": gsi["index_name"],
                "hash_key": gsi_keys["HASH"],
                "range_key": gsi_keys.get("RANGE"),
                "projection": gsi["projection"]["ProjectionType"],
            }
        )
    return {
        "hash_key": keys["HASH"],
        "range_key": keys.get("RANGE"),
        "attribute_types": key_types,
        "global_secondary_indexes": indexes,
        "ttl_attribute": getattr(model.Meta, "ttl_attribute", None),
    }
