"""Identifiers: short, random, URL-safe, and sortable by creation time where it helps."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def time_ordered_id() -> str:
    """A 26-character id whose lexical order follows creation time (milliseconds, then randomness)."""
    return f"{int(time.time() * 1000):013x}{secrets.token_hex(7)[:13]}"
