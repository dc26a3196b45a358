"""Points the PynamoDB models at this stage's tables and endpoint.

Table names are only known at run time (CloudFormation names them), so models carry their
logical key and are bound once the settings are loaded.
"""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.config import Settings
from chalicelib.store.tables import TABLE_MODELS


def _with_subclasses(model: type[Model]) -> list[type[Model]]:
    found = [model]
    for sub in model.__subclasses__():
        found.extend(_with_subclasses(sub))
    return found


def bind_models(settings: Settings) -> None:
    host = settings.endpoint_for("dynamodb")
    for key, model in TABLE_MODELS.items():
        model.Meta.table_name = settings.table(key)
        model.Meta.region = settings.region
        model.Meta.host = host
        for cls in _with_subclasses(model):
            cls._connection = None


def transaction() -> TransactWrite:
    """A PynamoDB write transaction against the bound tables' endpoint."""
    model = TABLE_MODELS["entities"]
    return TransactWrite(connection=Connection(region=model.Meta.region, host=model.Meta.host))
