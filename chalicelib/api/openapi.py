"""The OpenAPI 3.1 document, generated from the route declarations and their pydantic models."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from chalicelib import __version__
from chalicelib.api.models import ErrorResponse
from chalicelib.api.routing import MUTATING, ROUTES, RouteSpec
from chalicelib.domain.principals import Role

_REF = "#/components/schemas/{model}"
_ERROR_TEXT = {
    400: "Malformed JSON, a wrong type or an unknown field; the message names the field",
    401: "Missing, invalid or revoked API key",
    403: "The caller's role is not enough for this route",
    404: "Not found (or owned by another tenant)",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "Request body is not JSON",
    422: "A well-formed value that is not acceptable; the message names the field",
    429: "Too many requests; retry after the Retry-After header",
    500: "Unexpected error; quote the request id",
    503: "A dependency is unavailable",
}


class OpenApiDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


def _error_statuses(spec: RouteSpec) -> list[int]:
    statuses = set(spec.errors) | {500}
    if spec.role is not None:
        statuses |= {401, 403, 429}
    if spec.body is not None:
        statuses |= {400, 413, 415, 422}
    if spec.query is not None:
        statuses |= {400, 422}
    if spec.path_params:
        statuses.add(404)
    return sorted(statuses)


def _role_text(spec: RouteSpec) -> str:
    if spec.role is None:
        return "Public."
    if spec.role == Role.OPERATOR:
        return "Platform operators only."
    extra = " Operators too." if spec.operators else ""
    return f"Least role: `{spec.role.value}`.{extra}"


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorResponse}
    for spec in ROUTES:
        models.update(m for m in (spec.body, spec.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    refs, definitions = models_json_schema(
        [(m, "validation" if any(m is s.body for s in ROUTES) else "serialization") for m in ordered],
        ref_template=_REF,
    )
    schemas = definitions.get("$defs", {})

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        for (candidate, _mode), schema in refs.items():
            if candidate is model:
                return schema
        raise KeyError(model.__name__)

    paths: dict[str, Any] = {}
    for spec in ROUTES:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in spec.path_params
        ]
        if spec.query is not None:
            query_schema = spec.query.model_json_schema(ref_template=_REF)
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                parameters.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": name in required,
                        "description": prop.get("description", ""),
                        "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
                    }
                )
        responses: dict[str, Any] = {
            str(spec.status): {
                "description": "Success",
                **(
                    {"content": {"application/json": {"schema": ref(spec.response)}}} if spec.response else {}
                ),
            }
        }
        for status in _error_statuses(spec):
            responses[str(status)] = {
                "description": _ERROR_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": ref(ErrorResponse)}},
            }
        operation: dict[str, Any] = {
            "operationId": re.sub(r"[^a-z0-9]+", "_", f"{spec.method} {spec.path}".lower()).strip("_"),
            "summary": spec.summary,
            "description": _role_text(spec)
            + (" Audited." if spec.method in MUTATING and spec.action else ""),
            "tags": [spec.tag],
            "parameters": parameters,
            "responses": responses,
            "security": [] if spec.role is None else [{"bearerAuth": []}],
        }
        if spec.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(spec.body)}},
            }
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ClickTok API",
            "version": __version__,
            "description": "Social-commerce engine for TikTok Shop sellers, creators and agencies.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "ClickTok API key"}
            },
        },
    }


def build_openapi() -> OpenApiDocument:
    return OpenApiDocument.model_validate(_document())
