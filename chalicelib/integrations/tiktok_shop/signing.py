"""Request and webhook signatures of the TikTok Shop Open API (contract §1, "Request signing").

``sign_request`` is shared by the client and the sandbox, so the bytes that are signed are the
bytes that are checked; the client sends the exact ``body`` it passed here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

# Never part of the signed string (EcomPHP also drops the header name when it leaks into the query).
UNSIGNED_PARAMS = frozenset({"sign", "access_token", "x-tts-access-token"})


def query_value(value: Any) -> str:
    """How a query value goes on the wire and into the signature: lists comma-joined, bools lowercase."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(query_value(v) for v in value)
    return str(value)


def string_to_sign(path: str, query: Mapping[str, Any], body: bytes = b"") -> bytes:
    """``path`` + sorted ``{key}{value}`` pairs + body bytes (callers pass ``b""`` for GET/multipart)."""
    # Sorting str keys by code point is the same as sorting their UTF-8 bytes (PHP ``ksort``).
    pairs = "".join(
        f"{key}{query_value(query[key])}"
        for key in sorted(query)
        if key not in UNSIGNED_PARAMS and query[key] is not None
    )
    return (path + pairs).encode() + body


def sign_request(app_secret: str, path: str, query: Mapping[str, Any], body: bytes = b"") -> str:
    """HMAC-SHA256 keyed by the secret over ``secret + string_to_sign + secret``, lowercase hex."""
    secret = app_secret.encode()
    wrapped = secret + string_to_sign(path, query, body) + secret
    return hmac.new(secret, wrapped, hashlib.sha256).hexdigest()


def webhook_signature(app_key: str, app_secret: str, raw_body: bytes) -> str:
    """The ``Authorization`` header of a webhook: hex HMAC-SHA256(app_secret, app_key + raw body)."""
    return hmac.new(app_secret.encode(), app_key.encode() + raw_body, hashlib.sha256).hexdigest()


def verify_webhook(app_key: str, app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """Constant-time check of a webhook's ``Authorization`` header; an absent header fails."""
    if not header:
        return False
    expected = webhook_signature(app_key, app_secret, raw_body)
    return hmac.compare_digest(expected.encode(), header.strip().encode())


# Endpoints that must not receive ``shop_cipher`` (EcomPHP Client.php); sending it is a 36009004.
_NO_SHOP_CIPHER = re.compile(
    r"^/(authorization|seller)/|/global_products|/files/upload|/images/upload|/compliance"
)


def shop_cipher_allowed(method: str, path: str) -> bool:
    """Whether an endpoint takes ``shop_cipher``: never ``/authorization/*``, ``/seller/*`` and friends."""
    if _NO_SHOP_CIPHER.search(path):
        return False
    return not (method.upper() == "POST" and path.rstrip("/").endswith("/brands"))
