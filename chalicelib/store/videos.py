"""Video jobs: one item per render a tenant asked for (full videos and template previews).

In the entities table: pk ``TENANT#{tenant}``, sk ``VIDEO#{video_id}``; ``video_id`` is
``vid_`` + a time-ordered id, so a tenant's jobs list newest first from its own partition. A job of
a product is also in the entities table's ``by_parent`` index (``parent_pk`` =
``TENANT#{tenant}#PRODUCT#{product_id}``, ``parent_sk`` = its sk), so one product's jobs list newest
first without reading the tenant's other jobs (template previews of the sample product are not in it).

The rendered files are content-addressed and shared (``videos/{render_key}.mp4|.jpg|.json`` and the
animated preview ``videos/{render_key}-preview.mp4`` in the media bucket): deleting a job never deletes
them, as another job may point at the same render.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.store.entities import ByParent, EntityItem, parent_partition, tenant_partition

QUEUED, RENDERING, READY, FAILED = "queued", "rendering", "ready", "failed"
STATUSES = (QUEUED, RENDERING, READY, FAILED)


class VideoJobItem(EntityItem, discriminator="video_job"):
    tenant_id = UnicodeAttribute()
    video_id = UnicodeAttribute()
    # video | preview (a template preview: 720x1280, 3 seconds)
    job_kind = UnicodeAttribute()
    product_id = UnicodeAttribute(null=True)  # a preview without a product renders a sample one
    template_id = UnicodeAttribute()
    # the template document as it was when the job was created (a later edit or delete of a tenant
    # template does not change what a queued job renders)
    template = JSONAttribute()
    duration = NumberAttribute()
    size = UnicodeAttribute()  # 1080x1920 | 720x1280
    caption_text = UnicodeAttribute(null=True)
    voiceover = UnicodeAttribute(null=True)
    music = UnicodeAttribute(null=True)  # None: the template's style; "none"; or a style name
    params = JSONAttribute(default=dict)
    # queued | rendering | ready | failed
    status = UnicodeAttribute()
    percent = NumberAttribute(default=0)
    reason_code = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    notes = JSONAttribute(default=list)  # what the render left out (e.g. a voiceover without TTS)
    render_key = UnicodeAttribute(null=True)
    reused = BooleanAttribute(null=True)
    bytes = NumberAttribute(null=True)
    thumbnail_bytes = NumberAttribute(null=True)
    # the animated preview's size; None for template previews and for renders made before previews
    preview_bytes = NumberAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    render_seconds = NumberAttribute(null=True)
    attempts = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    # the by_parent index: set on jobs of a product (see product_keys)
    parent_pk = UnicodeAttribute(null=True)
    parent_sk = UnicodeAttribute(null=True)

    by_parent: ByParent[VideoJobItem] = ByParent()

    SORT_PREFIX = "VIDEO#"

    @classmethod
    def key(cls, tenant_id: str, video_id: str) -> tuple[str, str]:
        return tenant_partition(tenant_id), cls.SORT_PREFIX + video_id

    @classmethod
    def product_keys(cls, tenant_id: str, product_id: str, video_id: str | None = None) -> tuple[str, str]:
        """The ``by_parent`` keys of a job of ``product_id`` (no ``video_id``: the sort key prefix)."""
        return parent_partition(tenant_id, "PRODUCT", product_id), cls.SORT_PREFIX + (video_id or "")


def video_object_keys(render_key: str) -> dict[str, str]:
    """Where a render lives in the media bucket."""
    return {
        "video": f"videos/{render_key}.mp4",
        "thumbnail": f"videos/{render_key}.jpg",
        "metadata": f"videos/{render_key}.json",
        "preview": f"videos/{render_key}-preview.mp4",
    }
