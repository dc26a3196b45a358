"""Tenants' own video templates (the shipped ones live in ``chalicelib/render/templates``).

In the entities table: pk ``TENANT#{tenant}``, sk ``TEMPLATE#{template_id}``; ``document`` is the
template JSON as validated by ``chalicelib.render.template.parse_template``.
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.store.entities import EntityItem, tenant_partition


class TemplateItem(EntityItem, discriminator="template"):
    tenant_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    name = UnicodeAttribute()
    document = JSONAttribute()
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)

    SORT_PREFIX = "TEMPLATE#"

    @classmethod
    def key(cls, tenant_id: str, template_id: str) -> tuple[str, str]:
        return tenant_partition(tenant_id), cls.SORT_PREFIX + template_id
