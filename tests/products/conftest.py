"""The image sandbox reached in-process, and a tenant with an editor and a viewer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from local.sandboxes.images import ImagesSandbox, create_app

SANDBOX = "http://127.0.0.1:8765"  # loopback: allowed in the test stage; the transport is in-process


@dataclass
class Images:
    app: ImagesSandbox
    base: str = SANDBOX

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def hits(self, path: str) -> int:
        return int(self.app.hits(path))  # type: ignore[arg-type]


@pytest.fixture
def images(cloud: Any) -> Any:
    from chalicelib.integrations import http_fetch

    app = create_app()
    http_fetch.use_transport(httpx.WSGITransport(app=app))
    yield Images(app)
    http_fetch.use_transport(None)
    http_fetch.use_resolver(None)


@dataclass
class Team:
    tenant_id: str
    owner: str
    editor: str
    viewer: str


@pytest.fixture
def team(api: Any, make_tenant: Any) -> Team:
    tenant = make_tenant()
    editor = api.add_user(tenant.owner_key, "ed@acme.test", "editor")["api_key"]
    viewer = api.add_user(tenant.owner_key, "vi@acme.test", "viewer")["api_key"]
    return Team(tenant.tenant_id, tenant.owner_key, editor, viewer)


@pytest.fixture
def new_product(api: Any, team: Team, images: Images) -> Any:
    def create(**fields: Any) -> dict[str, Any]:
        key = fields.pop("key", None) or team.editor
        body = {
            "title": "Glow Serum",
            "price": "19.99",
            "currency": "USD",
            "image_urls": [images.url("/images/bottle-serum.jpg?w=400&h=400")],
            **fields,
        }
        answer = api.post("/products", key=key, json_body=body)
        assert answer.status == 201, answer.body
        return answer.body

    return create
