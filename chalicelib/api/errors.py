"""The one error shape: ``{"error": {"code", "message", "details"}}``, plus the request id."""

from __future__ import annotations

import uuid
from typing import Any

from chalice import Response
from chalice.app import Request
from pydantic import ValidationError

from chalicelib.errors import AppError, BadRequest, Unprocessable

# Errors about the shape of the input (missing, wrong type, unknown field) are 400; errors about
# well-formed values that are not acceptable (an unknown role, an empty name) are 422.
_SHAPE_ERRORS = ("missing", "extra_forbidden", "json_")
_TYPE_SUFFIXES = ("_type", "_parsing")


def request_id_of(request: Request | None) -> str:
    """API Gateway's request id; where there is none (chalice local), one is made and kept."""
    if request is None:
        return str(uuid.uuid4())
    if request.context is None:
        request.context = {}
    return str(request.context.setdefault("requestId", str(uuid.uuid4())))


def error_body(code: str, message: str, details: Any, request_id: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details, "request_id": request_id}}


def error_response(error: AppError | None, request_id: str) -> Response:
    if error is None:
        status, body = 500, error_body("internal_error", "an unexpected error occurred", None, request_id)
        headers: dict[str, str] = {}
    else:
        status = error.status
        body = error_body(error.code, error.message, error.details, request_id)
        headers = dict(error.headers)
    headers.update({"Content-Type": "application/json", "X-Request-Id": request_id})
    return Response(body=body, status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) if loc else "(root)"


def validation_error(exc: ValidationError, *, location: str) -> AppError:
    details = []
    shape_problem = False
    for error in exc.errors(include_url=False, include_input=False):
        kind = error["type"]
        if kind.startswith(_SHAPE_ERRORS) or kind.endswith(_TYPE_SUFFIXES):
            shape_problem = True
        reason = "unknown field" if kind == "extra_forbidden" else error["msg"]
        details.append({"field": _field_name(error["loc"]), "in": location, "reason": reason, "type": kind})
    summary = "; ".join(f"{d['field']}: {d['reason']}" for d in details)
    error_class = BadRequest if shape_problem else Unprocessable
    return error_class(f"invalid {location}: {summary}", details=details)
