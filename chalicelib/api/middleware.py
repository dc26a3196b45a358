"""App-wide middleware: correlation ids, access logs, metrics, and one error shape everywhere.

Chalice answers some requests itself (405 for a method a path lacks, 415 for a non-JSON body,
500 for an error outside our views); ``http_middleware`` rewrites those into the project's error
shape so a client never has to parse two formats.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from chalice import Response
from chalice.app import Request

from chalicelib.api.errors import error_body, request_id_of
from chalicelib.observability import logger, metrics, trace_segment

_CHALICE_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


def _is_ours(body: Any) -> bool:
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return False
    return isinstance(body, dict) and isinstance(body.get("error"), dict)


def _normalize(response: Response, request_id: str) -> Response:
    answered_by_a_route = any(name.lower() == "x-request-id" for name in response.headers)
    if response.status_code < 400 or answered_by_a_route or _is_ours(response.body):
        return response
    body = response.body if isinstance(response.body, dict) else {}
    message = str(body.get("Message") or body.get("message") or "request failed")
    if response.status_code >= 500:
        message = "an unexpected error occurred"
    code = _CHALICE_CODES.get(response.status_code, "error")
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    headers.update({"Content-Type": "application/json", "X-Request-Id": request_id})
    return Response(
        body=error_body(code, message, None, request_id), status_code=response.status_code, headers=headers
    )


def http_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    request_id = request_id_of(event)
    logger.clear_state()  # a warm Lambda must not log the last invocation's caller
    logger.set_correlation_id(request_id)
    started = time.perf_counter()
    with trace_segment("## http"):
        response = _normalize(get_response(event), request_id)
    elapsed_ms = (time.perf_counter() - started) * 1000
    logger.info(
        "request",
        extra={
            "method": event.method,
            "path": event.path,
            "status": response.status_code,
            "duration_ms": round(elapsed_ms, 1),
        },
    )
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if response.status_code >= 500:
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    metrics.flush_metrics()
    return response


def event_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Logging context, tracing and metrics for the non-HTTP handlers (queues, schedules, tasks)."""
    context = getattr(event, "context", None)
    request_id = getattr(context, "aws_request_id", None)
    logger.clear_state()
    if request_id:
        logger.set_correlation_id(request_id)
    try:
        with trace_segment("## event"):
            return get_response(event)
    except Exception:
        logger.exception("event handler failed")
        metrics.add_metric(name="HandlerErrors", unit=MetricUnit.Count, value=1)
        raise
    finally:
        metrics.flush_metrics()
