"""Whether this deployment can reach what it needs: the entities table and the media bucket."""

from __future__ import annotations

from chalicelib.config import get_settings
from chalicelib.integrations.aws.clients import client


def run_checks() -> dict[str, str]:
    settings = get_settings()
    checks: dict[str, str] = {}
    try:
        client("dynamodb").describe_table(TableName=settings.table("entities"))
        checks["table"] = "ok"
    except Exception:
        checks["table"] = "error"
    try:
        client("s3").head_bucket(Bucket=settings.bucket("media"))
        checks["bucket"] = "ok"
    except Exception:
        checks["bucket"] = "error"
    return checks
