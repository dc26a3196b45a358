"""ClickTok's Chalice app: middleware, blueprints, and one-line delegates for event handlers.

Event handlers live here, not in blueprints, because blueprint event handlers skip the app's
middleware in Lambda; their bodies are in ``chalicelib/jobs``.
"""

from typing import Any

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib.api import register_blueprints
from chalicelib.api.middleware import event_middleware, http_middleware

app = Chalice(app_name="clicktok")
app.register_middleware(http_middleware, "http")
for _event_type in ("sqs", "scheduled", "pure_lambda", "s3", "sns", "cloudwatch"):
    app.register_middleware(event_middleware, _event_type)
register_blueprints(app)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="queue_due_syncs")
def queue_due_syncs(event: CloudWatchEvent) -> None:
    """Queue the shop streams whose sync interval (CLICKTOK_SYNC_INTERVAL_MINUTES) has passed."""
    from chalicelib.jobs import shop_sync

    shop_sync.queue_due_syncs()


@app.schedule(Rate(1, unit=Rate.HOURS), name="refresh_shop_tokens")
def refresh_shop_tokens(event: CloudWatchEvent) -> None:
    from chalicelib.jobs import shop_sync

    shop_sync.refresh_tokens()


@app.on_sqs_message(queue="sync", batch_size=1, name="sync_worker")
def sync_worker(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.jobs import shop_sync

    return shop_sync.handle_sync_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue="exports", batch_size=1, name="export_worker")
def export_worker(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.jobs import exports

    return exports.handle_export_batch(event.to_dict())
