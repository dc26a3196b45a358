"""Video templates: the shipped ones and the tenant's own (JSON documents), and 3-second previews.

A template is validated by the renderer's pydantic schema (``chalicelib.render.template``, loaded
lazily and pydantic only): a bad one gets 422 whose ``details`` name each field
(``layers.2.box.w``). Shipped templates cannot be replaced or deleted (409).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Blueprint
from pydantic import ConfigDict, Field

from chalicelib.api.models import ApiModel, ItemsPage, PageQuery, RequestModel
from chalicelib.api.routing import Reply, RequestContext, route
from chalicelib.api.videos import ProductId, Video, video_body
from chalicelib.domain.principals import Role
from chalicelib.services import templates, videos
from chalicelib.services.templates import TemplateView

bp = Blueprint(__name__)


class TemplateDocument(ApiModel):
    """A template document (see the shipped ones under ``GET /templates``); validated as a whole."""

    model_config = ConfigDict(extra="allow")


class TemplateOut(ApiModel):
    template_id: str
    name: str
    description: str
    builtin: bool = Field(description="ships with ClickTok (cannot be deleted)")
    music_style: str
    min_duration: float
    max_duration: float
    default_duration: float
    created_at: datetime | None
    created_by: str | None
    document: dict[str, Any] = Field(description="the full template document")


class TemplatePage(ItemsPage[TemplateOut]):
    pass


class PreviewRequest(RequestModel):
    product_id: ProductId | None = Field(default=None, description="a product of yours; else a sample one")
    params: dict[str, Any] | None = None


def _out(view: TemplateView) -> TemplateOut:
    t = view.template
    return TemplateOut(
        template_id=t.id,
        name=t.name,
        description=t.description,
        builtin=view.builtin,
        music_style=t.audio.style,
        min_duration=t.duration.min,
        max_duration=t.duration.max,
        default_duration=t.duration.default,
        created_at=view.created_at,
        created_by=view.created_by,
        document=t.model_dump(mode="json"),
    )


@route(
    bp,
    "/templates",
    "GET",
    summary="Video templates: the shipped ones, then your own",
    role=Role.VIEWER,
    query=PageQuery,
    response=TemplatePage,
)
def list_templates(ctx: RequestContext) -> TemplatePage:
    query: PageQuery = ctx.query
    page = templates.list_templates(ctx.caller.tenant_id or "", limit=query.limit, cursor=query.cursor)
    return TemplatePage(items=[_out(view) for view in page.items], next_cursor=page.next_cursor)


@route(
    bp,
    "/templates/{template_id}",
    "GET",
    summary="One template with its full document",
    role=Role.VIEWER,
    response=TemplateOut,
    errors=(404,),
)
def get_template(ctx: RequestContext, template_id: str) -> TemplateOut:
    return _out(templates.get_template(ctx.caller.tenant_id or "", template_id))


@route(
    bp,
    "/templates",
    "POST",
    summary="Store a template of your own (validated: a bad one is 422 naming each field)",
    role=Role.EDITOR,
    body=TemplateDocument,
    response=TemplateOut,
    status=201,
    action="template.create",
    errors=(409, 422),
)
def create_template(ctx: RequestContext) -> TemplateOut:
    document = ctx.body.model_dump()
    ctx.audit_target = str(document.get("id") or "")[:63] or None
    view = templates.create_template(ctx.caller.tenant_id or "", document, created_by=ctx.caller.user_id)
    ctx.audit_target = view.template.id
    ctx.audit_details = {"name": view.template.name, "layers": len(view.template.layers)}
    return _out(view)


@route(
    bp,
    "/templates/{template_id}",
    "DELETE",
    summary="Delete one of your templates (shipped templates cannot be deleted: 409)",
    role=Role.EDITOR,
    status=204,
    action="template.delete",
    errors=(404, 409),
)
def delete_template(ctx: RequestContext, template_id: str) -> Reply:
    ctx.audit_target = template_id
    templates.delete_template(ctx.caller.tenant_id or "", template_id)
    return Reply(None, 204)


@route(
    bp,
    "/templates/{template_id}/preview",
    "POST",
    summary="Queue a 3-second 720x1280 preview clip of a template (a video job of kind preview)",
    role=Role.VIEWER,
    body=PreviewRequest,
    response=Video,
    status=202,
    action="template.preview",
    errors=(404, 422),
)
def preview_template(ctx: RequestContext, template_id: str) -> Video:
    body: PreviewRequest = ctx.body
    item = videos.create_preview(
        ctx.caller.tenant_id or "",
        template_id,
        product_id=body.product_id,
        params=body.params,
        created_by=ctx.caller.user_id,
    )
    ctx.audit_target = item.video_id
    ctx.audit_details = {"template_id": item.template_id, "product_id": item.product_id}
    return video_body(item)
