"""Product images into S3: fetched once per tenant and URL, checked, normalized, content-addressed.

``ingest`` runs in the request that creates or updates a product (there is no images queue yet):
each URL not yet known for the tenant is fetched (5 s per image, ``http_fetch``'s address checks:
in deployed stages nothing private, loopback or link-local, on every redirect), checked and
normalized (``domain.images``), stored as ``images/{sha256}.jpg|png`` unless that object already
exists, and recorded as a ``ProductImageItem`` (ready or failed with a reason). A URL already
ready for the tenant is not fetched again; a failed one is tried again after
``FAILED_RETRY_SECONDS`` (or at once on an explicit refresh). URLs the request's time budget does
not reach stay ``pending`` and are fetched by the next update or refresh of the product.

Imported lazily by the product service: it loads Pillow and httpx.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.domain import images
from chalicelib.integrations import http_fetch
from chalicelib.integrations.aws.clients import client
from chalicelib.observability import logger
from chalicelib.store.product_images import ProductImageItem

FETCH_TIMEOUT_SECONDS = 5.0
MAX_REDIRECTS = 3
REQUEST_BUDGET_SECONDS = 20.0  # API Gateway answers within 29 s; leave room for the rest
FAILED_RETRY_SECONDS = 600
URL_SECONDS = 900


@dataclass(frozen=True)
class ImageState:
    source_url: str
    status: str  # ready | failed | pending
    reason_code: str | None = None
    reason: str | None = None
    item: ProductImageItem | None = None


def object_key(sha256: str, extension: str) -> str:
    return f"images/{sha256}.{extension}"


def lookup(tenant_id: str, urls: Iterable[str]) -> dict[str, ProductImageItem]:
    """The known state of each URL (absent: never fetched), in one BatchGet."""
    keys = list(dict.fromkeys(ProductImageItem.key(tenant_id, url) for url in urls))
    found: dict[str, ProductImageItem] = {}
    for start in range(0, len(keys), 100):
        for item in ProductImageItem.batch_get(keys[start : start + 100]):
            if isinstance(item, ProductImageItem):
                found[item.source_url] = item
    return found


def states(tenant_id: str, urls: Sequence[str]) -> list[ImageState]:
    known = lookup(tenant_id, urls)
    return [_state(url, known.get(url)) for url in urls]


def _state(url: str, item: ProductImageItem | None) -> ImageState:
    if item is None:
        return ImageState(url, "pending", "not_fetched", "not fetched yet")
    return ImageState(url, item.status, item.reason_code, item.reason, item)


def _due(item: ProductImageItem | None, *, retry_failed: bool, now: datetime) -> bool:
    if item is None:
        return True
    if item.status == "ready":
        return False
    return retry_failed or now - item.fetched_at >= timedelta(seconds=FAILED_RETRY_SECONDS)


def ingest(
    tenant_id: str,
    urls: Sequence[str],
    *,
    retry_failed: bool = False,
    budget_seconds: float = REQUEST_BUDGET_SECONDS,
) -> list[ImageState]:
    """Fetch what is not yet stored for ``urls`` and return every URL's state, in order."""
    started = time.monotonic()
    known = lookup(tenant_id, urls)
    now = datetime.now(UTC)
    for url in dict.fromkeys(urls):
        if not _due(known.get(url), retry_failed=retry_failed, now=now):
            continue
        if time.monotonic() - started > budget_seconds:
            logger.info("image fetch budget spent; left pending", extra={"url": url})
            continue
        known[url] = fetch_and_store(tenant_id, url, previous=known.get(url))
    return [_state(url, known.get(url)) for url in urls]


def _head_check(head: bytes) -> str | None:
    return None if images.sniff(head) else "not a JPEG, PNG or WebP image (by its first bytes)"


def fetch_and_store(
    tenant_id: str, url: str, *, previous: ProductImageItem | None = None
) -> ProductImageItem:
    """Fetch, check, normalize and store one URL; its state item is written either way."""
    pk, sk = ProductImageItem.key(tenant_id, url)
    item = ProductImageItem(
        pk=pk,
        sk=sk,
        tenant_id=tenant_id,
        source_url=url,
        status="failed",
        fetched_at=datetime.now(UTC),
        attempts=int(previous.attempts or 0) + 1 if previous is not None else 1,
    )
    try:
        fetched = http_fetch.fetch(
            url,
            allow_loopback=not get_settings().is_deployed,
            max_bytes=images.MAX_BYTES,
            timeout=FETCH_TIMEOUT_SECONDS,
            max_redirects=MAX_REDIRECTS,
            head_check=_head_check,
        )
        normalized = images.normalize(fetched.data)
    except http_fetch.FetchError as exc:
        code = "not_an_image" if exc.code == "rejected" else exc.code
        return _failed(item, code, exc.message, http_status=exc.http_status)
    except images.ImageRejected as exc:
        return _failed(item, exc.code, exc.message)
    except Exception:
        logger.exception("image processing failed", extra={"url": url})
        return _failed(item, "internal", "the image could not be processed")
    key = object_key(normalized.sha256, normalized.extension)
    _store_object(key, normalized)
    item.status = "ready"
    item.sha256 = normalized.sha256
    item.s3_key = key
    item.content_type = normalized.content_type
    item.width, item.height, item.bytes = normalized.width, normalized.height, len(normalized.data)
    item.source_type = normalized.source_type
    item.source_width, item.source_height = normalized.source_width, normalized.source_height
    item.source_bytes = len(fetched.data)
    item.save()
    return item


def _failed(
    item: ProductImageItem, code: str, reason: str, *, http_status: int | None = None
) -> ProductImageItem:
    item.status = "failed"
    item.reason_code = code
    item.reason = reason[:500]
    item.http_status = http_status
    item.save()
    logger.info("image failed", extra={"url": item.source_url, "reason_code": code})
    return item


def _store_object(key: str, image: images.NormalizedImage) -> None:
    s3 = client("s3")
    bucket = get_settings().bucket("media")
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return  # content-addressed: the same bytes are already there
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=image.data,
        ContentType=image.content_type,
        CacheControl="public, max-age=31536000, immutable",
        Metadata={"sha256": image.sha256, "width": str(image.width), "height": str(image.height)},
    )


def download_url(item: ProductImageItem, *, expires_in: int = URL_SECONDS) -> str | None:
    """A presigned GET of a ready image (15 minutes), or None."""
    if item.status != "ready" or not item.s3_key:
        return None
    params: dict[str, Any] = {"Bucket": get_settings().bucket("media"), "Key": item.s3_key}
    return str(client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in))
