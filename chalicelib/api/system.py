"""Unauthenticated system routes: health and the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint

from chalicelib import __version__
from chalicelib.api.models import ApiModel
from chalicelib.api.openapi import OpenApiDocument, build_openapi
from chalicelib.api.routing import Reply, RequestContext, route
from chalicelib.services.health import run_checks

bp = Blueprint(__name__)


class Health(ApiModel):
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, str]


@route(
    bp, "/health", "GET", summary="Whether the API can reach its table and bucket", role=None, response=Health
)
def health(ctx: RequestContext) -> Reply:
    checks = run_checks()
    healthy = all(value == "ok" for value in checks.values())
    body = Health(status="ok" if healthy else "degraded", version=__version__, checks=checks)
    return Reply(body, 200 if healthy else 503)


@route(
    bp,
    "/openapi.json",
    "GET",
    summary="This API as an OpenAPI 3.1 document",
    role=None,
    response=OpenApiDocument,
)
def openapi(ctx: RequestContext) -> OpenApiDocument:
    return build_openapi()
