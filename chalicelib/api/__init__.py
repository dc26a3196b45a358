"""HTTP blueprints: parse and validate, call a service, map the result or error to JSON."""

from __future__ import annotations

from chalice import Chalice


def register_blueprints(app: Chalice) -> None:
    from chalicelib.api import (
        audit,
        identity,
        products,
        shop_data,
        shops,
        system,
        templates,
        tenants,
        videos,
    )

    for module in (system, tenants, identity, audit, shops, shop_data, products, videos, templates):
        app.register_blueprint(module.bp)
