"""Cursor paging over PynamoDB queries.

A cursor is opaque to clients: the last returned item's key plus a fingerprint of the query it
continues. A cursor from another query (another tenant, other filters) is refused, so it can
never reach outside the caller's partition. Queries ask for one item more than the page, so the
last page says ``next_cursor: null`` instead of sending the client to an empty page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pynamodb.models import Model

from chalicelib.errors import BadRequest

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    next_cursor: str | None


def _fingerprint(scope: Sequence[object]) -> str:
    return hashlib.sha256(json.dumps([str(part) for part in scope]).encode()).hexdigest()[:16]


def encode_cursor(key: dict[str, Any], scope: Sequence[object]) -> str:
    raw = json.dumps({"k": key, "s": _fingerprint(scope)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: Sequence[object]) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key, fingerprint = data["k"], data["s"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadRequest(
            "cursor is not valid", details=[{"field": "cursor", "reason": "malformed"}]
        ) from None
    if fingerprint != _fingerprint(scope) or not isinstance(key, dict):
        raise BadRequest(
            "cursor does not belong to this query",
            details=[{"field": "cursor", "reason": "issued for another query; start again without it"}],
        )
    return key


def query_page(
    run: Callable[[int, dict[str, Any] | None], Iterable[M]],
    *,
    limit: int,
    cursor: str | None,
    scope: Sequence[object],
    key_names: Sequence[str],
) -> Page[M]:
    """One page of ``run(limit, start_key)``, which must issue the query with those two values."""
    start = decode_cursor(cursor, scope)
    items: list[M] = []
    for item in run(limit + 1, start):
        items.append(item)
        if len(items) > limit:
            break
    if len(items) <= limit:
        return Page(items, None)
    items = items[:limit]
    serialized = items[-1].serialize()
    last_key = {name: serialized[name] for name in key_names}
    return Page(items, encode_cursor(last_key, scope))


def query_source_page(
    source: Any,
    hash_value: str,
    range_condition: Any = None,
    *,
    filter_condition: Any = None,
    newest_first: bool = False,
    limit: int,
    cursor: str | None,
    scope: Sequence[object],
    key_names: Sequence[str],
) -> Page[Any]:
    """One page of a query of ``source`` (a model or an index) on one partition."""
    return query_page(
        lambda page_size, start: source.query(
            hash_value,
            range_condition,
            filter_condition=filter_condition,
            scan_index_forward=not newest_first,
            limit=page_size,
            last_evaluated_key=start,
        ),
        limit=limit,
        cursor=cursor,
        scope=scope,
        key_names=key_names,
    )


def prefix_page(model: type[M], partition: str, prefix: str, *, limit: int, cursor: str | None) -> Page[M]:
    """One page of the items of ``partition`` whose sort key starts with ``prefix`` (``pk``/``sk`` tables)."""
    return query_source_page(
        model,
        partition,
        model.sk.startswith(prefix),  # type: ignore[attr-defined]
        limit=limit,
        cursor=cursor,
        scope=(model.__name__, partition, prefix),
        key_names=("pk", "sk"),
    )


def all_of(conditions: Sequence[Any]) -> Any:
    """The conjunction of PynamoDB ``conditions`` (None when there are none): a query's filter."""
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined
