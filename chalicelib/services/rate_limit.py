"""A fixed one-minute window per API key, counted atomically in DynamoDB (expires by TTL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from chalicelib.errors import RateLimited
from chalicelib.store.entities import RateWindowItem


def check_rate(key_hash: str, limit_per_minute: int, now: float | None = None) -> None:
    now = time.time() if now is None else now
    minute = int(now // 60)
    window = RateWindowItem(pk=RateWindowItem.partition(key_hash), sk=str(minute))
    window.update(
        actions=[
            RateWindowItem.hits.add(1),
            RateWindowItem.kind.set(RateWindowItem),
            RateWindowItem.expires_at.set(datetime.fromtimestamp(minute * 60 + 120, UTC)),
        ]
    )
    if window.hits > limit_per_minute:
        retry_after = max(1, int((minute + 1) * 60 - now))
        raise RateLimited(
            f"more than {limit_per_minute} requests in a minute; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
