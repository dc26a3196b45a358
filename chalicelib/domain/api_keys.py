"""API keys: random secrets shown once, stored and looked up only by their SHA-256.

A key carries 256 bits of randomness, so a fast hash is safe here (no dictionary to attack) and
keeps authentication to one hash and one GetItem.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "ctk_"


def new_api_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def looks_like_api_key(value: str) -> bool:
    return value.startswith(PREFIX) and 20 <= len(value) <= 128 and value.isascii()
