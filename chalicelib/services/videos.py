"""Video jobs: what ``POST /videos`` (and template previews) queue for the renderer.

A job is written ``queued`` with everything the render needs (product id, a snapshot of the
template document, duration, size, captions, music, params) and one message
``{"tenant_id", "video_id"}`` goes to the ``render`` queue; the renderer Lambda
(``chalicelib.jobs.render``) does the rest and moves the job to ``rendering`` (with ``percent``),
``ready`` or ``failed`` (with ``reason_code`` and ``reason``).

Nothing here imports the renderer's heavy libraries: templates and params are validated with the
pydantic-only ``chalicelib.render.template``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib.config import get_settings
from chalicelib.domain.ids import time_ordered_id
from chalicelib.errors import NotFound, Unprocessable
from chalicelib.integrations.aws import queues
from chalicelib.integrations.aws.clients import client
from chalicelib.observability import logger
from chalicelib.services import templates
from chalicelib.store.entities import tenant_partition
from chalicelib.store.paging import Page, query_source_page
from chalicelib.store.products import ProductItem
from chalicelib.store.videos import FAILED, QUEUED, VideoJobItem, video_object_keys

RENDER_QUEUE = "render"
VIDEO_SIZE = "1080x1920"  # tests may patch this to the preview size to render faster
PREVIEW_SIZE = "720x1280"
PREVIEW_SECONDS = 3.0
MUSIC_CHOICES = ("none", "upbeat", "chill", "pulse")
URL_SECONDS = 900
MAX_BATCH = 1000


@dataclass(frozen=True)
class VideoRequest:
    template_id: str
    duration: float
    caption_text: str | None = None
    voiceover: str | None = None
    music: str | None = None
    params: dict[str, Any] | None = None


def _field_error(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"invalid body: {field}: {message}",
        details=[{"field": field, "in": "body", "reason": message, "type": "value_error"}],
    )


def _checked_params(params: dict[str, Any] | None) -> dict[str, Any]:
    from chalicelib.render.template import TemplateError, parse_params

    try:
        parsed = parse_params(params)
    except TemplateError as exc:
        errors = [{"field": f"params.{e['field']}", "message": e["message"]} for e in exc.errors]
        raise TemplateError(errors, what="params") from None
    return parsed.model_dump(mode="json", exclude_none=True)


def _new_item(
    tenant_id: str,
    *,
    kind: str,
    product_id: str | None,
    template: Any,
    request: VideoRequest,
    size: str,
    params: dict[str, Any],
    created_by: str | None,
    now: datetime,
) -> VideoJobItem:
    video_id = f"vid_{time_ordered_id()}"
    pk, sk = VideoJobItem.key(tenant_id, video_id)
    parent_pk, parent_sk = (
        VideoJobItem.product_keys(tenant_id, product_id, video_id) if product_id else (None, None)
    )
    return VideoJobItem(
        pk=pk,
        sk=sk,
        parent_pk=parent_pk,
        parent_sk=parent_sk,
        tenant_id=tenant_id,
        video_id=video_id,
        job_kind=kind,
        product_id=product_id,
        template_id=template.id,
        template=template.model_dump(mode="json"),
        duration=request.duration,
        size=size,
        caption_text=request.caption_text,
        voiceover=request.voiceover,
        music=request.music,
        params=params,
        status=QUEUED,
        percent=0,
        created_at=now,
        created_by=created_by,
    )


def _existing_products(tenant_id: str, product_ids: Sequence[str]) -> set[str]:
    keys = [(tenant_id, pid) for pid in dict.fromkeys(product_ids)]
    return {item.product_id for item in ProductItem.batch_get(keys)}


def _enqueue(items: list[VideoJobItem]) -> None:
    """Write the jobs, then one message each; jobs whose message could not be sent are failed."""
    with VideoJobItem.batch_write() as batch:
        for item in items:
            batch.save(item)
    try:
        queues.send_batch(
            RENDER_QUEUE, ({"tenant_id": item.tenant_id, "video_id": item.video_id} for item in items)
        )
    except Exception:
        logger.exception("render messages not sent", extra={"jobs": len(items)})
        for item in items:
            try:
                item.update(
                    actions=[
                        VideoJobItem.status.set(FAILED),
                        VideoJobItem.reason_code.set("not_queued"),
                        VideoJobItem.reason.set("the render queue refused the job; create it again"),
                    ],
                    condition=VideoJobItem.status == QUEUED,
                )
            except Exception:  # pragma: no cover - best effort; the job stays queued
                logger.exception("job not marked failed", extra={"video_id": item.video_id})
        raise


def create_videos(
    tenant_id: str, product_ids: Sequence[str], request: VideoRequest, *, created_by: str | None
) -> list[VideoJobItem]:
    """One ``queued`` job and one render message per product (all validated before any is written)."""
    view = templates.get_template(tenant_id, request.template_id)
    template = view.template
    if not template.duration.min <= request.duration <= template.duration.max:
        raise _field_error(
            "duration",
            f"template {template.id!r} renders {template.duration.min:g} to "
            f"{template.duration.max:g} seconds",
        )
    if request.music is not None and request.music not in MUSIC_CHOICES:  # pragma: no cover - model checks
        raise _field_error("music", f"must be one of {', '.join(MUSIC_CHOICES)}")
    params = _checked_params(request.params)
    existing = _existing_products(tenant_id, product_ids)
    missing = [pid for pid in dict.fromkeys(product_ids) if pid not in existing]
    if missing:
        noun = "product" if len(missing) == 1 else "products"
        raise NotFound(
            f"{noun} {', '.join(repr(m) for m in missing[:5])} not found",
            details=[{"product_id": pid} for pid in missing[:100]],
        )
    now = datetime.now(UTC)
    items = [
        _new_item(
            tenant_id,
            kind="video",
            product_id=pid,
            template=template,
            request=request,
            size=VIDEO_SIZE,
            params=params,
            created_by=created_by,
            now=now,
        )
        for pid in product_ids
    ]
    _enqueue(items)
    return items


def create_preview(
    tenant_id: str,
    template_id: str,
    *,
    product_id: str | None,
    params: dict[str, Any] | None,
    created_by: str | None,
) -> VideoJobItem:
    """A 3-second 720x1280 clip of a template (with a sample product when none is named)."""
    template = templates.get_template(tenant_id, template_id).template
    checked = _checked_params(params)
    if product_id is not None and not _existing_products(tenant_id, [product_id]):
        raise NotFound(f"product {product_id!r} not found")
    item = _new_item(
        tenant_id,
        kind="preview",
        product_id=product_id,
        template=template,
        request=VideoRequest(template_id=template.id, duration=PREVIEW_SECONDS),
        size=PREVIEW_SIZE,
        params=checked,
        created_by=created_by,
        now=datetime.now(UTC),
    )
    _enqueue([item])
    return item


def get_video(tenant_id: str, video_id: str) -> VideoJobItem:
    if not 1 <= len(video_id) <= 64:
        raise NotFound(f"video {video_id[:64]!r} not found")
    try:
        return VideoJobItem.get(*VideoJobItem.key(tenant_id, video_id))
    except DoesNotExist:
        raise NotFound(f"video {video_id!r} not found") from None


def list_videos(
    tenant_id: str,
    *,
    status: str | None = None,
    product_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[VideoJobItem]:
    """The tenant's jobs, newest first: one product's from the ``by_parent`` index, else the tenant's
    partition; ``status`` filters within either."""
    status_filter = VideoJobItem.status == status if status else None
    scope = ("videos", tenant_id, status, product_id)
    if product_id:
        parent_pk, prefix = VideoJobItem.product_keys(tenant_id, product_id)
        return query_source_page(
            VideoJobItem.by_parent,
            parent_pk,
            VideoJobItem.parent_sk.startswith(prefix),
            filter_condition=status_filter,
            newest_first=True,
            limit=limit,
            cursor=cursor,
            scope=(*scope, "by_parent"),
            key_names=("pk", "sk", "parent_pk", "parent_sk"),
        )
    return query_source_page(
        VideoJobItem,
        tenant_partition(tenant_id),
        VideoJobItem.sk.startswith(VideoJobItem.SORT_PREFIX),
        filter_condition=status_filter,
        newest_first=True,
        limit=limit,
        cursor=cursor,
        scope=scope,
        key_names=("pk", "sk"),
    )


def delete_video(tenant_id: str, video_id: str) -> VideoJobItem:
    """Delete the job; the content-addressed render stays (other jobs may use the same one)."""
    item = get_video(tenant_id, video_id)
    try:
        item.delete(condition=VideoJobItem.sk.exists())
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise NotFound(f"video {video_id!r} not found") from None
    return item


def download_urls(item: VideoJobItem, *, expires_in: int = URL_SECONDS) -> dict[str, str] | None:
    """Presigned GETs (15 minutes) of a ready job's MP4, thumbnail and, when it has one, animated
    preview (``preview``: template previews and renders stored before previews existed have none);
    None until the job is ready."""
    if item.status != "ready" or not item.render_key:
        return None
    s3 = client("s3")
    bucket = get_settings().bucket("media")
    keys = video_object_keys(item.render_key)

    def url(name: str, **params: str) -> str:
        return str(
            s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": keys[name], **params}, ExpiresIn=expires_in
            )
        )

    urls = {
        "video": url(
            "video",
            ResponseContentType="video/mp4",
            ResponseContentDisposition=f'inline; filename="{item.video_id}.mp4"',
        ),
        "thumbnail": url("thumbnail"),
    }
    if item.preview_bytes:
        urls["preview"] = url("preview")
    return urls
