"""Order exports: a worker streams a shop's orders for a range into a CSV object in S3.

The CSV is never whole in memory: orders are read a query page at a time (oldest first, by
creation time) and rows go into a buffer that is uploaded as one multipart part whenever it
reaches ``part_size`` (S3's minimum is 5 MiB for every part but the last), so memory stays at
about one part whatever the range. The object is ``exports/{tenant_id}/{export_id}.csv`` in the
media bucket; the download is a presigned GET valid for 15 minutes.

``params`` of the export: ``from`` and ``to`` as ``YYYY-MM-DD`` (UTC days, both inclusive), ISO
datetimes or Unix seconds (``to`` exclusive for those two).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.config import get_settings
from chalicelib.integrations.aws.clients import client
from chalicelib.store.entities import tenant_partition
from chalicelib.store.orders import OrderItem, shop_key
from chalicelib.store.shops import ExportItem

log = logging.getLogger(__name__)

MIN_PART_SIZE = 5 * 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
URL_SECONDS = 15 * 60
QUERY_PAGE = 500
COLUMNS = (
    "order_id",
    "status",
    "create_time",
    "update_time",
    "paid_time",
    "currency",
    "total_amount",
    "brands",
    "items",
    "products",
    "skus",
)


class ExportFailed(Exception):
    """The export's parameters cannot be served; the reason is recorded on the export."""


def _iso(timestamp: int | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bound(value: Any, name: str, *, end: bool) -> int:
    if isinstance(value, bool) or value is None:
        raise ExportFailed(f"{name} is required")
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ExportFailed(f"{name} is not a date, datetime or Unix time: {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def export_key(tenant_id: str, export_id: str) -> str:
    return f"exports/{tenant_id}/{export_id}.csv"


def _row(order: OrderItem) -> list[str]:
    lines = order.line_items or []
    return [
        order.order_id,
        order.status,
        _iso(order.create_time),
        _iso(order.update_time),
        _iso(order.paid_time),
        order.currency,
        order.total_amount,
        "|".join(order.brands or []),
        str(len(lines)),
        "|".join(str(line.get("product_name", "")) for line in lines),
        "|".join(str(line.get("seller_sku", "")) for line in lines),
    ]


class _MultipartWriter:
    """A text sink that uploads a part to S3 whenever ``part_size`` bytes are buffered."""

    def __init__(self, bucket: str, key: str, part_size: int) -> None:
        self.s3 = client("s3")
        self.bucket, self.key, self.part_size = bucket, key, part_size
        self.upload_id = self.s3.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType="text/csv; charset=utf-8"
        )["UploadId"]
        self.parts: list[dict[str, Any]] = []
        self.buffer = io.BytesIO()
        self.bytes = 0

    def write(self, text: str) -> int:
        data = text.encode()
        self.buffer.write(data)
        self.bytes += len(data)
        if self.buffer.tell() >= self.part_size:
            self._flush()
        return len(text)

    def _flush(self) -> None:
        body = self.buffer.getvalue()
        self.buffer = io.BytesIO()
        number = len(self.parts) + 1
        answer = self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def complete(self) -> None:
        if self.buffer.tell() or not self.parts:
            self._flush()  # the last part may be smaller than the minimum (or empty: no rows)
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    def abort(self) -> None:
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except Exception:  # the export is failing already; the bucket's lifecycle rule cleans up
            log.exception("could not abort multipart upload %s", self.upload_id)


def _get_export(tenant_id: str, export_id: str) -> ExportItem:
    return ExportItem.get(tenant_partition(tenant_id), f"{ExportItem.SORT_PREFIX}{export_id}")


def build_export(tenant_id: str, export_id: str, *, part_size: int = DEFAULT_PART_SIZE) -> ExportItem:
    """Build export ``export_id``: ``ready`` with ``s3_key``, ``rows`` and ``bytes``, or ``failed``
    with ``error``. Idempotent: building it again rewrites the same object."""
    item = _get_export(tenant_id, export_id)
    if item.status == "ready":
        return item
    item.update(actions=[ExportItem.status.set("running"), ExportItem.error.remove()])
    writer: _MultipartWriter | None = None
    try:
        if item.export_kind != "orders" or item.format != "csv":
            raise ExportFailed(f"unsupported export {item.export_kind}/{item.format}; only orders/csv")
        params = item.params if isinstance(item.params, dict) else json.loads(item.params or "{}")
        low = _bound(params.get("from"), "from", end=False)
        high = _bound(params.get("to"), "to", end=True)
        if high <= low:
            raise ExportFailed("to must be after from")
        key = export_key(tenant_id, export_id)
        writer = _MultipartWriter(get_settings().bucket("media"), key, max(1, part_size))
        out = csv.writer(writer, lineterminator="\r\n")
        out.writerow(COLUMNS)
        rows = 0
        orders = OrderItem.by_created.query(
            shop_key(tenant_id, item.shop_id),
            OrderItem.created_key.between(f"{low:010d}", f"{high:010d}"),
            page_size=QUERY_PAGE,
        )
        for order in orders:
            out.writerow(_row(order))
            rows += 1
        writer.complete()
        item.update(
            actions=[
                ExportItem.status.set("ready"),
                ExportItem.s3_key.set(key),
                ExportItem.rows.set(rows),
                ExportItem.bytes.set(writer.bytes),
                ExportItem.finished_at.set(datetime.now(UTC)),
            ]
        )
    except ExportFailed as exc:
        _fail(item, writer, str(exc)[:300])
    except Exception as exc:
        _fail(item, writer, f"export failed: {type(exc).__name__}")
        raise
    return item


def _fail(item: ExportItem, writer: _MultipartWriter | None, reason: str) -> None:
    if writer is not None:
        writer.abort()
    item.update(
        actions=[
            ExportItem.status.set("failed"),
            ExportItem.error.set(reason),
            ExportItem.finished_at.set(datetime.now(UTC)),
        ]
    )


def export_download_url(item: ExportItem, *, expires_in: int = URL_SECONDS) -> str | None:
    """A presigned GET of a ready export's CSV (15 minutes), or None while it is not ready."""
    if item.status != "ready" or not item.s3_key:
        return None
    return client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": get_settings().bucket("media"),
            "Key": item.s3_key,
            "ResponseContentDisposition": f'attachment; filename="orders-{item.export_id}.csv"',
            "ResponseContentType": "text/csv",
        },
        ExpiresIn=expires_in,
    )
