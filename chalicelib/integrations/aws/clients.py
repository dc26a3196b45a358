"""boto3 clients for this stage: one per service, created on first use and pointed at the
local cloud's endpoints when the settings name one."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

from chalicelib.config import get_settings

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
_UNVALIDATED = _CLIENT_CONFIG.merge(Config(parameter_validation=False))


@cache
def _session() -> Any:
    import boto3  # only paths that talk to AWS directly pay for importing boto3

    # One session for the process: it caches the service models every client is built from.
    return boto3.session.Session()


@cache
def client(service: str, *, validate: bool = True) -> Any:
    settings = get_settings()
    return _session().client(
        service,
        region_name=settings.region,
        endpoint_url=settings.endpoint_for(service),
        config=_CLIENT_CONFIG if validate else _UNVALIDATED,
    )


def fast_client(service: str) -> Any:
    """Like ``client`` but without botocore's client-side parameter validation, for hot paths that
    build their requests in code (the service still validates every request)."""
    return client(service, validate=False)


def reset_clients() -> None:
    client.cache_clear()
