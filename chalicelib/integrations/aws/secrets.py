"""Secrets Manager: one JSON secret per connection, under the stage's prefix, KMS-encrypted.

Reads go through Powertools parameters, cached for a few minutes, so a busy function does not
call Secrets Manager on every request; writes invalidate the cache of the secret they change.
"""

from __future__ import annotations

import json
from contextlib import suppress
from functools import lru_cache
from typing import Any

from chalicelib.config import get_settings
from chalicelib.integrations.aws.clients import client

CACHE_SECONDS = 300


class SecretNotFound(LookupError):
    pass


def secret_name(relative: str) -> str:
    return get_settings().secrets_prefix + relative.lstrip("/")


@lru_cache(maxsize=1)
def _provider() -> Any:
    # imported here: Powertools parameters pulls in boto3, which most API requests never need
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


def read_secret(relative: str, *, fresh: bool = False) -> dict[str, Any]:
    name = secret_name(relative)
    sm = client("secretsmanager")
    try:
        value = _provider().get(name, max_age=CACHE_SECONDS, transform="json", force_fetch=fresh)
    except Exception as exc:  # Powertools wraps the client error; look at what it wrapped
        if isinstance(exc.__cause__, sm.exceptions.ResourceNotFoundException) or "ResourceNotFound" in str(
            exc
        ):
            raise SecretNotFound(name) from None
        raise
    return dict(value)


def write_secret(relative: str, value: dict[str, Any]) -> None:
    """Create or replace the secret in one call; the new value is what the next read returns."""
    name = secret_name(relative)
    sm = client("secretsmanager")
    payload = json.dumps(value, separators=(",", ":"))
    try:
        sm.put_secret_value(SecretId=name, SecretString=payload)
    except sm.exceptions.ResourceNotFoundException:
        extra = {"KmsKeyId": get_settings().secrets_kms_key_arn} if get_settings().secrets_kms_key_arn else {}
        sm.create_secret(Name=name, SecretString=payload, **extra)
    _provider().clear_cache()


def delete_secret(relative: str) -> None:
    sm = client("secretsmanager")
    with suppress(sm.exceptions.ResourceNotFoundException):
        sm.delete_secret(SecretId=secret_name(relative), ForceDeleteWithoutRecovery=True)
    _provider().clear_cache()


def reset_secrets_cache() -> None:
    _provider.cache_clear()
