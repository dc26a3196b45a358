"""Video jobs: queue renders (one product or a batch), follow them, fetch the MP4 and thumbnail.

``POST /videos`` validates everything before anything is queued (the product is the tenant's, the
template exists and allows the duration, ``params`` follow the renderer's schema), writes a
``queued`` job and sends one message to the render queue: 202. ``GET /videos/{id}`` tells
``queued``, ``rendering`` (with ``percent``), ``ready`` (with presigned links, 15 minutes, to the
MP4, its thumbnail and its animated preview) or ``failed`` (with ``reason_code`` and ``reason``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from chalice import Blueprint
from pydantic import Field, StringConstraints, field_validator

from chalicelib.api.models import ApiModel, ItemsPage, PageQuery, RequestModel
from chalicelib.api.routing import Reply, RequestContext, route
from chalicelib.domain.principals import Role
from chalicelib.services import videos
from chalicelib.store.videos import STATUSES, VideoJobItem

bp = Blueprint(__name__)

ProductId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TemplateId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Music = Literal["none", "upbeat", "chill", "pulse"]


class VideoFields(RequestModel):
    template_id: TemplateId
    duration: float = Field(ge=6, le=60, description="seconds, 6 to 60 (and within the template's rules)")
    caption_text: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = Field(
        default=None, description="burned-in captions: one line per line of text, timed evenly"
    )
    voiceover: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = Field(
        default=None,
        description="text to speak over the video, or 'auto' for the caption text (else the product title); "
        "without a text-to-speech provider configured the video renders without voice, with a note",
    )
    music: Music | None = Field(default=None, description="a track style, 'none', or the template's own")
    params: dict[str, Any] | None = Field(
        default=None, description="headline, cta_text, accent_color, music_volume, show_price"
    )


class CreateVideo(VideoFields):
    product_id: ProductId


class CreateVideos(VideoFields):
    product_ids: list[ProductId] = Field(min_length=1, max_length=videos.MAX_BATCH)

    @field_validator("product_ids")
    @classmethod
    def _unique(cls, ids: list[str]) -> list[str]:
        if len(set(ids)) != len(ids):
            raise ValueError("lists a product twice")
        return ids


class VideoQuery(PageQuery):
    status: Literal["queued", "rendering", "ready", "failed"] | None = None
    product_id: ProductId | None = None


class Video(ApiModel):
    video_id: str
    kind: Literal["video", "preview"]
    status: Literal["queued", "rendering", "ready", "failed"]
    percent: float = Field(description="0 to 100")
    reason_code: str | None
    reason: str | None
    notes: list[str]
    product_id: str | None
    template_id: str
    duration: float
    size: str
    width: int | None
    height: int | None
    bytes: int | None
    thumbnail_bytes: int | None
    preview_bytes: int | None = Field(description="the animated preview's size")
    render_seconds: float | None
    render_key: str | None
    reused: bool | None = Field(description="an identical earlier render was reused")
    video_url: str | None = Field(description="presigned GET of the MP4 (15 minutes) once ready")
    thumbnail_url: str | None
    preview_url: str | None = Field(
        description="presigned GET (15 minutes) of the animated preview once ready: 3 muted seconds, "
        "360x640 H.264 MP4, from the thumbnail's frame on; none for template previews and for renders "
        "reused from before previews existed"
    )
    urls_expire_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class VideoPage(ItemsPage[Video]):
    pass


class Queued(ApiModel):
    video_id: str
    status: Literal["queued"]


class QueuedBatch(ApiModel):
    status: Literal["queued"]
    count: int
    video_ids: list[str]
    items: list[Queued]


def video_body(item: VideoJobItem, *, with_urls: bool = True) -> Video:
    urls = videos.download_urls(item) if with_urls else None
    return Video(
        video_id=item.video_id,
        kind=item.job_kind,  # type: ignore[arg-type]
        status=item.status if item.status in STATUSES else "queued",  # type: ignore[arg-type]
        percent=float(item.percent or 0),
        reason_code=item.reason_code,
        reason=item.reason,
        notes=list(item.notes or []),
        product_id=item.product_id,
        template_id=item.template_id,
        duration=float(item.duration),
        size=item.size,
        width=int(item.width) if item.width is not None else None,
        height=int(item.height) if item.height is not None else None,
        bytes=int(item.bytes) if item.bytes is not None else None,
        thumbnail_bytes=int(item.thumbnail_bytes) if item.thumbnail_bytes is not None else None,
        preview_bytes=int(item.preview_bytes) if item.preview_bytes is not None else None,
        render_seconds=float(item.render_seconds) if item.render_seconds is not None else None,
        render_key=item.render_key,
        reused=item.reused,
        video_url=urls["video"] if urls else None,
        thumbnail_url=urls["thumbnail"] if urls else None,
        preview_url=urls.get("preview") if urls else None,
        urls_expire_at=datetime.now(UTC) + timedelta(seconds=videos.URL_SECONDS) if urls else None,
        created_at=item.created_at,
        started_at=item.started_at,
        finished_at=item.finished_at,
    )


def _request(body: VideoFields) -> videos.VideoRequest:
    return videos.VideoRequest(
        template_id=body.template_id,
        duration=body.duration,
        caption_text=body.caption_text,
        voiceover=body.voiceover,
        music=body.music,
        params=body.params,
    )


@route(
    bp,
    "/videos",
    "POST",
    summary="Queue a video of a product with a template (202; follow it with GET /videos/{id})",
    role=Role.EDITOR,
    body=CreateVideo,
    response=Queued,
    status=202,
    action="video.create",
    errors=(404, 422),
)
def create_video(ctx: RequestContext) -> Queued:
    body: CreateVideo = ctx.body
    ctx.audit_target = body.product_id
    [item] = videos.create_videos(
        ctx.caller.tenant_id or "", [body.product_id], _request(body), created_by=ctx.caller.user_id
    )
    ctx.audit_target = item.video_id
    ctx.audit_details = {
        "product_id": item.product_id,
        "template_id": item.template_id,
        "duration": body.duration,
    }
    return Queued(video_id=item.video_id, status="queued")


@route(
    bp,
    "/videos/batch",
    "POST",
    summary="Queue one video per product (up to 1000): one job and one render message each",
    role=Role.EDITOR,
    body=CreateVideos,
    response=QueuedBatch,
    status=202,
    action="video.create",
    errors=(404, 422),
)
def create_videos(ctx: RequestContext) -> QueuedBatch:
    body: CreateVideos = ctx.body
    items = videos.create_videos(
        ctx.caller.tenant_id or "", body.product_ids, _request(body), created_by=ctx.caller.user_id
    )
    ctx.audit_target = "/videos/batch"
    ctx.audit_details = {
        "count": len(items),
        "template_id": body.template_id,
        "duration": body.duration,
        "video_ids": [item.video_id for item in items[:20]],
    }
    ids = [item.video_id for item in items]
    return QueuedBatch(
        status="queued",
        count=len(ids),
        video_ids=ids,
        items=[Queued(video_id=vid, status="queued") for vid in ids],
    )


@route(
    bp,
    "/videos",
    "GET",
    summary="Video jobs, newest first (by status or product)",
    role=Role.VIEWER,
    query=VideoQuery,
    response=VideoPage,
)
def list_videos(ctx: RequestContext) -> VideoPage:
    query: VideoQuery = ctx.query
    page = videos.list_videos(
        ctx.caller.tenant_id or "",
        status=query.status,
        product_id=query.product_id,
        limit=query.limit,
        cursor=query.cursor,
    )
    return VideoPage(items=[video_body(item) for item in page.items], next_cursor=page.next_cursor)


@route(
    bp,
    "/videos/{video_id}",
    "GET",
    summary="A video job: status, percent, reason, and presigned MP4, thumbnail and preview links once ready",
    role=Role.VIEWER,
    response=Video,
    errors=(404,),
)
def get_video(ctx: RequestContext, video_id: str) -> Video:
    return video_body(videos.get_video(ctx.caller.tenant_id or "", unquote(video_id)))


@route(
    bp,
    "/videos/{video_id}",
    "DELETE",
    summary="Delete a video job (the stored render stays while other jobs may share it)",
    role=Role.EDITOR,
    status=204,
    action="video.delete",
    errors=(404,),
)
def delete_video(ctx: RequestContext, video_id: str) -> Reply:
    video_id = unquote(video_id)
    ctx.audit_target = video_id
    removed = videos.delete_video(ctx.caller.tenant_id or "", video_id)
    ctx.audit_details = {"product_id": removed.product_id, "status": removed.status}
    return Reply(None, 204)
