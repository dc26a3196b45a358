"""Declared routes: one decorator gives a route its role, request and response models, and audit.

``route`` registers a Chalice view that authenticates the caller, checks the least role the route
declares, rate-limits the key, parses and validates the JSON body and the query string with
pydantic, calls the handler with a ``RequestContext``, writes an audit event for every mutating
request, and maps every error to ``{"error": {"code", "message", "details"}}``. The same
declarations feed ``GET /openapi.json``, so the document cannot drift from what is enforced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib.api.errors import error_response, request_id_of, validation_error
from chalicelib.domain.principals import Principal, Role, at_least
from chalicelib.errors import AppError, BadRequest, Forbidden, PayloadTooLarge, Unauthorized
from chalicelib.observability import logger
from chalicelib.runtime import ensure_ready
from chalicelib.services import accounts, audit
from chalicelib.services.rate_limit import check_rate

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    summary: str
    tag: str
    role: Role | None
    operators: bool
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    action: str | None
    errors: tuple[int, ...]

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)


ROUTES: list[RouteSpec] = []


@dataclass
class Reply:
    """A handler result with a status or headers other than the route's default."""

    body: BaseModel | None
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RequestContext:
    request: Request
    request_id: str
    source_ip: str | None
    principal: Principal | None = None
    body: Any = None
    query: Any = None
    audit_target: str | None = None
    audit_details: dict[str, Any] | None = None

    @property
    def caller(self) -> Principal:
        if self.principal is None:
            raise Unauthorized("authentication required")
        return self.principal


def route(
    bp: Blueprint,
    path: str,
    method: str,
    *,
    summary: str,
    role: Role | None,
    operators: bool = False,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    action: str | None = None,
    errors: tuple[int, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route. ``role`` is the least tenant role it needs (``Role.OPERATOR``: operators
    only; ``None``: public). ``operators=True`` lets operators call a tenant route as well."""
    method = method.upper()
    if method in MUTATING and role is not None and action is None:
        raise ValueError(f"{method} {path} mutates and must name its audit action")
    spec = RouteSpec(
        method=method,
        path=path,
        summary=summary,
        tag=bp._import_name.rsplit(".", 1)[-1],
        role=role,
        operators=operators,
        body=body,
        query=query,
        response=response,
        status=status,
        action=action,
        errors=errors,
    )
    ROUTES.append(spec)

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        def view(**path_params: str) -> Response:
            return _serve(bp, spec, handler, path_params)

        view.__name__ = handler.__name__
        view.__doc__ = handler.__doc__
        bp.route(path, methods=[method], content_types=["application/json"])(view)
        return handler

    return register


def _serve(
    bp: Blueprint, spec: RouteSpec, handler: Callable[..., Any], path_params: dict[str, str]
) -> Response:
    request = bp.current_request
    context = request.context or {}
    ctx = RequestContext(
        request=request,
        request_id=request_id_of(request),
        source_ip=(context.get("identity") or {}).get("sourceIp"),
    )
    status = 500
    try:
        settings = ensure_ready()
        if spec.role is not None:
            ctx.principal = _authenticate(request)
            logger.append_keys(tenant_id=ctx.principal.tenant_id, user_id=ctx.principal.user_id)
            check_rate(ctx.principal.key_hash, settings.rate_limit_per_minute)
            _authorize(spec, ctx.principal)
        if spec.body is not None:
            ctx.body = _parse_body(request, spec.body, settings.max_body_bytes)
        if spec.query is not None:
            ctx.query = _parse_query(request, spec.query)
        result = handler(ctx, **path_params)
        reply = result if isinstance(result, Reply) else Reply(result, spec.status)
        status = reply.status
        payload = reply.body.model_dump(mode="json", by_alias=True) if reply.body is not None else None
        headers = {"Content-Type": "application/json", "X-Request-Id": ctx.request_id, **reply.headers}
        return Response(body=payload if payload is not None else "", status_code=status, headers=headers)
    except AppError as exc:
        status = exc.status
        return error_response(exc, ctx.request_id)
    except Exception:
        logger.exception("unhandled error", extra={"route": f"{spec.method} {spec.path}"})
        status = 500
        return error_response(None, ctx.request_id)
    finally:
        # A rate-limited request is not audited: under a flood, that would double the writes.
        if spec.action and ctx.principal is not None and status != 429:
            _audit(spec, ctx, path_params, status)


def _authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "send your API key as 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": 'Bearer realm="clicktok"'},
        )
    return accounts.authenticate(token.strip())


def _authorize(spec: RouteSpec, principal: Principal) -> None:
    needed = spec.role
    if needed == Role.OPERATOR:
        if not principal.is_operator:
            raise Forbidden("this route is for platform operators")
        return
    if principal.is_operator:
        if not spec.operators:
            raise Forbidden("operators act on a tenant with a key of one of its users")
        return
    if needed is not None and not at_least(principal.role, needed):
        raise Forbidden(f"this route needs role {needed.value} or higher; you are {principal.role.value}")


def _parse_body(request: Request, model: type[BaseModel], max_bytes: int) -> BaseModel:
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {max_bytes}")
    if not raw.strip():
        raise BadRequest("request body is required: a JSON object")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            details=[{"field": None, "reason": exc.msg, "line": exc.lineno, "column": exc.colno}],
        ) from None
    if not isinstance(data, dict):
        raise BadRequest(f"request body must be a JSON object, not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, location="body") from None


def _parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    params = dict(request.query_params or {})
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise validation_error(exc, location="query") from None


def _audit(spec: RouteSpec, ctx: RequestContext, path_params: dict[str, str], status: int) -> None:
    outcome = "success" if status < 400 else "denied" if status in (401, 403) else "failure"
    target = ctx.audit_target or (spec.path.format(**path_params) if path_params else spec.path)
    try:
        audit.record(
            ctx.caller,
            audit.AuditRecord(
                action=spec.action or "",
                target=target,
                outcome=outcome,
                status_code=status,
                request_id=ctx.request_id,
                source_ip=ctx.source_ip,
                details=ctx.audit_details,
            ),
        )
    except Exception:
        logger.exception("audit event not written", extra={"action": spec.action, "status": status})
