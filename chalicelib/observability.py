"""Powertools logger, metrics and tracer shared by every handler.

The logger's formatter redacts secrets (API keys, tokens, passwords, signatures) from every
record, whatever field they hide in, so a careless ``logger.info(..., extra=...)`` cannot leak one.
"""

from __future__ import annotations

import os
import re
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = "clicktok"
REDACTED = "[REDACTED]"

_SECRET_FIELD = re.compile(
    r"(^sign$|api[_-]?key|token|secret|password|authorization|signature|cookie)",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(ctk_[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._~+/\-]+=*|sk-[A-Za-z0-9_\-]{8,})",
)


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` with secret-looking fields and values replaced by ``[REDACTED]``."""
    if key is not None and _SECRET_FIELD.search(key) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    _STRUCTURAL_KEYS = frozenset(
        {"level", "location", "timestamp", "service", "xray_trace_id", "sampling_rate"}
    )

    def serialize(self, log: dict[str, Any]) -> str:
        cleaned = {
            key: value if key in self._STRUCTURAL_KEYS else redact(value, key) for key, value in log.items()
        }
        return super().serialize(cleaned)


logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
metrics = Metrics(namespace="ClickTok", service=SERVICE)


@lru_cache(maxsize=1)
def _tracer() -> Any:
    # The X-Ray SDK costs a quarter of a second to import: load it only in Lambda with tracing on.
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get(
        "POWERTOOLS_TRACE_DISABLED", ""
    ).lower() in (
        "1",
        "true",
    ):
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def trace_segment(name: str) -> AbstractContextManager[Any]:
    """An X-Ray subsegment around a handler's work, or nothing where tracing is off."""
    tracer = _tracer()
    return nullcontext() if tracer is None or tracer.disabled else tracer.provider.in_subsegment(name)
