"""Video templates: the shipped ones (``chalicelib/render/templates``) and each tenant's own.

A tenant template is a JSON document validated by the renderer's pydantic schema
(``chalicelib.render.template``, pydantic only: no Pillow, numpy or ffmpeg is loaded here). Ids are
shared between the two kinds: a tenant cannot store a template under a shipped template's id, and
shipped templates cannot be deleted.

Listing pages through the shipped templates first, then the tenant's own (by id), with one opaque
cursor over both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.errors import Conflict, NotFound
from chalicelib.store.entities import tenant_partition
from chalicelib.store.paging import decode_cursor, encode_cursor, prefix_page
from chalicelib.store.templates import TemplateItem

if TYPE_CHECKING:
    from chalicelib.render.template import Template


@dataclass(frozen=True)
class TemplateView:
    template: Template
    builtin: bool
    created_at: datetime | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class TemplatePage:
    items: list[TemplateView]
    next_cursor: str | None


def _render_template() -> Any:
    from chalicelib.render import template  # pydantic only

    return template


def builtin_ids() -> list[str]:
    return list(_render_template().builtin_template_ids())


def _builtin(template_id: str) -> TemplateView | None:
    module = _render_template()
    if template_id not in module.builtin_template_ids():
        return None
    return TemplateView(module.load_builtin(template_id), builtin=True)


def _tenant_view(item: TemplateItem) -> TemplateView:
    return TemplateView(
        _render_template().parse_template(item.document),
        builtin=False,
        created_at=item.created_at,
        created_by=item.created_by,
    )


def get_template(tenant_id: str, template_id: str) -> TemplateView:
    """A shipped template or one of the tenant's; 404 otherwise (another tenant's is not found)."""
    found = _builtin(template_id)
    if found is not None:
        return found
    if not 1 <= len(template_id) <= 63:
        raise NotFound(f"template {template_id[:63]!r} not found")
    try:
        item = TemplateItem.get(*TemplateItem.key(tenant_id, template_id))
    except DoesNotExist:
        raise NotFound(f"template {template_id!r} not found") from None
    return _tenant_view(item)


def create_template(tenant_id: str, document: dict[str, Any], *, created_by: str | None) -> TemplateView:
    """Validate ``document`` (422 naming each bad field) and store it; 409 when the id is taken."""
    template = _render_template().parse_template(document)
    if _builtin(template.id) is not None:
        raise Conflict(
            f"template id {template.id!r} is a shipped template: choose another id",
            details={"field": "id", "template_id": template.id},
        )
    now = datetime.now(UTC)
    pk, sk = TemplateItem.key(tenant_id, template.id)
    item = TemplateItem(
        pk=pk,
        sk=sk,
        tenant_id=tenant_id,
        template_id=template.id,
        name=template.name,
        document=template.model_dump(mode="json"),
        created_at=now,
        created_by=created_by,
    )
    try:
        item.save(condition=TemplateItem.sk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise Conflict(
            f"template {template.id!r} exists: delete it first or choose another id",
            details={"field": "id", "template_id": template.id},
        ) from None
    return TemplateView(template, builtin=False, created_at=now, created_by=created_by)


def delete_template(tenant_id: str, template_id: str) -> None:
    if _builtin(template_id) is not None:
        raise Conflict(f"template {template_id!r} ships with ClickTok and cannot be deleted")
    if not 1 <= len(template_id) <= 63:
        raise NotFound(f"template {template_id[:63]!r} not found")
    try:
        TemplateItem(*TemplateItem.key(tenant_id, template_id)).delete(condition=TemplateItem.sk.exists())
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise NotFound(f"template {template_id!r} not found") from None


def list_templates(tenant_id: str, *, limit: int, cursor: str | None) -> TemplatePage:
    """Shipped templates, then the tenant's own, ``limit`` at a time."""
    scope = ("templates", tenant_id)
    state = decode_cursor(cursor, scope) or {"b": 0}
    items: list[TemplateView] = []
    inner: str | None = None
    if "b" in state:
        ids = builtin_ids()
        offset = int(state.get("b") or 0)
        for template_id in ids[offset : offset + limit]:
            view = _builtin(template_id)
            if view is not None:
                items.append(view)
        if offset + limit < len(ids):
            return TemplatePage(items, encode_cursor({"b": offset + limit}, scope))
    else:
        inner = state.get("t")
    room = limit - len(items)
    if room <= 0:
        # the shipped templates filled the page: the tenant's own start on the next one
        has_own = next(iter(TemplateItem.query(
            tenant_partition(tenant_id), TemplateItem.sk.startswith(TemplateItem.SORT_PREFIX), limit=1
        )), None)  # fmt: skip
        return TemplatePage(items, encode_cursor({"t": None}, scope) if has_own else None)
    page = prefix_page(
        TemplateItem, tenant_partition(tenant_id), TemplateItem.SORT_PREFIX, limit=room, cursor=inner
    )
    items.extend(_tenant_view(item) for item in page.items)
    return TemplatePage(items, encode_cursor({"t": page.next_cursor}, scope) if page.next_cursor else None)


def template_style(template: Template) -> str:
    return template.audio.style
