"""One frozen settings object, read from the environment once and validated at start.

Every name the runtime needs (tables, bucket, queues, secrets prefix, endpoints) comes from here;
nothing else reads ``os.environ`` for configuration. A bad value fails with a message that names
the environment variable, so a broken deployment says what to fix instead of failing later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError

from chalicelib.resources import BUCKETS, QUEUES, TABLES

Stage = Literal["local", "test", "dev", "staging", "prod"]


class ConfigError(RuntimeError):
    """The environment does not describe a runnable ClickTok; the message names the variable."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: Stage = Field(alias="CLICKTOK_STAGE")
    region: str = Field(default="us-east-1", alias="AWS_DEFAULT_REGION", min_length=1)
    tables: dict[str, str]
    buckets: dict[str, str]
    queues: dict[str, str]
    aws_endpoint_url: AnyHttpUrl | None = Field(default=None, alias="CLICKTOK_AWS_ENDPOINT_URL")
    dynamodb_endpoint_url: AnyHttpUrl | None = Field(default=None, alias="CLICKTOK_DYNAMODB_ENDPOINT_URL")
    secrets_prefix: str = Field(default="", alias="CLICKTOK_SECRETS_PREFIX")
    secrets_kms_key_arn: str | None = Field(default=None, alias="CLICKTOK_SECRETS_KMS_KEY_ARN")
    audit_retention_days: int = Field(default=365, ge=1, le=3650, alias="CLICKTOK_AUDIT_RETENTION_DAYS")
    rate_limit_per_minute: int = Field(default=600, ge=1, alias="CLICKTOK_RATE_LIMIT_PER_MINUTE")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, alias="CLICKTOK_MAX_BODY_BYTES")
    public_api_url: AnyHttpUrl | None = Field(default=None, alias="CLICKTOK_PUBLIC_API_URL")
    sync_interval_minutes: int = Field(default=15, ge=1, le=1440, alias="CLICKTOK_SYNC_INTERVAL_MINUTES")
    tiktok_shop_api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://open-api.tiktokglobalshop.com"), alias="CLICKTOK_TIKTOK_SHOP_API_URL"
    )
    tiktok_shop_auth_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://auth.tiktok-shops.com"), alias="CLICKTOK_TIKTOK_SHOP_AUTH_URL"
    )
    tiktok_shop_authorize_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://services.tiktokshop.com/open/authorize"),
        alias="CLICKTOK_TIKTOK_SHOP_AUTHORIZE_URL",
    )

    @property
    def is_deployed(self) -> bool:
        return self.stage in ("dev", "staging", "prod")

    def table(self, key: str) -> str:
        return self.tables[key]

    def bucket(self, key: str) -> str:
        return self.buckets[key]

    def queue_url(self, key: str) -> str:
        return self.queues[key]

    def endpoint_for(self, service: str) -> str | None:
        if service == "dynamodb" and self.dynamodb_endpoint_url is not None:
            return str(self.dynamodb_endpoint_url).rstrip("/")
        return str(self.aws_endpoint_url).rstrip("/") if self.aws_endpoint_url is not None else None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build and validate settings from ``environ`` (the process environment by default)."""
    env = os.environ if environ is None else environ
    missing = [spec.env_var for spec in (*TABLES, *BUCKETS, *QUEUES) if not env.get(spec.env_var, "").strip()]
    if not env.get("CLICKTOK_STAGE", "").strip():
        missing.insert(0, "CLICKTOK_STAGE")
    if missing:
        raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")
    stage = env["CLICKTOK_STAGE"].strip()
    raw = {name: env[name].strip() for name in _SCALAR_ENV_NAMES if name in env and env[name].strip()}
    raw.setdefault("CLICKTOK_SECRETS_PREFIX", f"clicktok/{stage}/")
    try:
        return Settings.model_validate(
            {
                **raw,
                "tables": {spec.key: env[spec.env_var].strip() for spec in TABLES},
                "buckets": {spec.key: env[spec.env_var].strip() for spec in BUCKETS},
                "queues": {spec.key: env[spec.env_var].strip() for spec in QUEUES},
            }
        )
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            value = env.get(field, "")
            problems.append(f"{field}={value!r}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


_SCALAR_ENV_NAMES = tuple(field.alias for field in Settings.model_fields.values() if field.alias)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
