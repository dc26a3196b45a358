"""ClickTok's Chalice app: middleware, blueprints, and one-line delegates for event handlers.

Event handlers live here, not in blueprints, because blueprint event handlers skip the app's
middleware in Lambda; their bodies are in ``chalicelib/jobs``.
"""

from chalice import Chalice

from chalicelib.api import register_blueprints
from chalicelib.api.middleware import event_middleware, http_middleware

app = Chalice(app_name="clicktok")
app.register_middleware(http_middleware, "http")
for _event_type in ("sqs", "scheduled", "pure_lambda", "s3", "sns", "cloudwatch"):
    app.register_middleware(event_middleware, _event_type)
register_blueprints(app)
