"""The table behind Powertools idempotency (a job delivered twice runs once).

Powertools reads and writes it itself; this model only declares its keys and TTL so the stack and
the local cloud create it like every other table. Attribute names are Powertools' defaults.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model


class IdempotencyRecord(Model):
    class Meta:
        table_name = "idempotency"
        ttl_attribute = "expiration"

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
