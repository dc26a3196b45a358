"""boto3 clients for this stage: one per service, created on first use and pointed at the
local cloud's endpoints when the settings name one."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

from chalicelib.config import get_settings

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@cache
def client(service: str) -> Any:
    import boto3  # only paths that talk to AWS directly pay for importing boto3

    settings = get_settings()
    return boto3.session.Session().client(
        service,
        region_name=settings.region,
        endpoint_url=settings.endpoint_for(service),
        config=_CLIENT_CONFIG,
    )


def reset_clients() -> None:
    client.cache_clear()
