"""In-memory order index of one sandbox shop: sorted ``(time, id)`` lists per sort field.

A page request bisects into the list for its sort field and walks at most one page (plus the
items its other filters skip), so paging 100,000 orders never sorts or scans the whole shop.
Orders are replaced, never changed in place, so a page can be serialised outside the lock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from typing import Any

SORT_FIELDS = ("create_time", "update_time")
_REBUILD_AT = 2_000  # more changes than this in one batch: rebuild the indexes instead of inserting

Order = dict[str, Any]
Key = tuple[int, str]


class OrderStore:
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.index: dict[str, list[Key]] = {field: [] for field in SORT_FIELDS}
        self.version = 0
        self._counts: dict[tuple[Any, ...], int] = {}

    def __len__(self) -> int:
        return len(self.orders)

    def put_many(self, orders: Iterable[Order]) -> None:
        batch = list(orders)
        if len(batch) > _REBUILD_AT:
            for order in batch:
                self.orders[order["id"]] = order
            for field in SORT_FIELDS:
                self.index[field] = sorted((o[field], o["id"]) for o in self.orders.values())
        else:
            for order in batch:
                old = self.orders.get(order["id"])
                for field in SORT_FIELDS:
                    keys = self.index[field]
                    if old is not None:
                        at = bisect_left(keys, (old[field], old["id"]))
                        if at < len(keys) and keys[at] == (old[field], old["id"]):
                            del keys[at]
                    insort(keys, (order[field], order["id"]))
                self.orders[order["id"]] = order
        self.version += 1
        self._counts.clear()

    def earliest(self, field: str) -> int:
        keys = self.index[field]
        return keys[0][0] if keys else 0

    def bounds(self, field: str, ge: int, lt: int) -> tuple[int, int]:
        keys = self.index[field]
        return bisect_left(keys, (ge, "")), bisect_left(keys, (lt, ""))

    def page(
        self,
        field: str,
        descending: bool,
        ge: int,
        lt: int,
        accept: Callable[[Order], bool] | None,
        after: Key | None,
        size: int,
    ) -> tuple[list[Order], Key | None]:
        """Up to ``size`` orders after ``after`` in index order, and the key to continue from."""
        keys = self.index[field]
        lo, hi = self.bounds(field, ge, lt)
        if descending:
            end = hi if after is None else min(hi, bisect_left(keys, after))
            positions: Iterator[int] = iter(range(end - 1, lo - 1, -1))
        else:
            start = lo if after is None else max(lo, bisect_right(keys, after))
            positions = iter(range(start, hi))
        found: list[Order] = []
        last: Key | None = None
        for position in positions:
            order = self.orders[keys[position][1]]
            if accept is not None and not accept(order):
                continue
            if len(found) == size:  # one more match exists: there is a next page
                return found, last
            found.append(order)
            last = keys[position]
        return found, None

    def count(
        self,
        field: str,
        ge: int,
        lt: int,
        accept: Callable[[Order], bool] | None,
        fingerprint: tuple[Any, ...],
    ) -> int:
        lo, hi = self.bounds(field, ge, lt)
        if accept is None:
            return hi - lo
        cache_key = (field, ge, lt, fingerprint)
        if cache_key not in self._counts:
            keys = self.index[field]
            self._counts[cache_key] = sum(1 for p in range(lo, hi) if accept(self.orders[keys[p][1]]))
        return self._counts[cache_key]

    def outside(self, field: str, ge: int, lt: int, limit: int) -> list[Order]:
        """Orders just outside ``[ge, lt)``: after the window first (updated while paging), then before."""
        keys = self.index[field]
        lo, hi = self.bounds(field, ge, lt)
        picked = [self.orders[key[1]] for key in keys[hi : hi + limit]]
        if len(picked) < limit:
            picked += [self.orders[key[1]] for key in keys[max(0, lo - (limit - len(picked))) : lo]]
        return picked
