"""Typed errors of the TikTok Shop Open API, built from the response envelope (contract §1).

``code != 0`` is an error even on HTTP 200. ``retryable`` tells the client's retry loop which
errors are worth another attempt (rate limits, server errors, timeouts).
"""

from __future__ import annotations

# Envelope codes named by the contract.
RATE_LIMITED = 36009002
INTERNAL_ERROR = 36009003
INVALID_PARAM = 36009004
SERVICE_TIMEOUT = 36009007
ACCESS_TOKEN_INVALID = 105001
ACCESS_TOKEN_EXPIRED = 105002
MISSING_SCOPE = 105005
INVALID_SIGNATURE = 106001
REFRESH_TOKEN_EXPIRED = 36004001
AUTH_FAILED = 36004004
AUTH_RECORD_NOT_FOUND = 36004005


class TikTokShopError(Exception):
    """An error answer (or no answer) from TikTok Shop."""

    retryable = False

    def __init__(
        self,
        code: int | None,
        message: str,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(f"TikTok Shop error {code}: {message} (http {http_status}, request {request_id})")
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status


class RateLimited(TikTokShopError):
    """HTTP 429 / 36009002; ``retry_after`` is the server's ``Retry-After`` in seconds, if any."""

    retryable = True

    def __init__(
        self,
        code: int | None,
        message: str,
        request_id: str | None = None,
        http_status: int | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, message, request_id, http_status)
        self.retry_after = retry_after


class ServerError(TikTokShopError):
    """HTTP 5xx, 36009003 (internal error) or 36009007 (service timeout)."""

    retryable = True


class NetworkTimeout(TikTokShopError):
    """No answer in time (connect, read or write timeout, or the connection dropped)."""

    retryable = True


class AuthError(TikTokShopError):
    """The credentials were refused (105xxx, 36004004); the shop may need to reconnect."""


class AccessTokenExpired(AuthError):
    """105002: refresh the access token and try again."""


class RefreshTokenInvalid(AuthError):
    """36004001 (refresh token expired) or 36004005 (auth record gone): the seller must reconnect."""


class InvalidSignature(TikTokShopError):
    """106001: the request signature did not match (a bug on our side, never retried)."""


class InvalidParam(TikTokShopError):
    """36009004, overloaded: stale timestamp, ``shop_cipher`` where not allowed, bad page size..."""


class MissingScope(TikTokShopError):
    """105005: the app lacks the API package for this endpoint; the seller must re-authorize it."""


_BY_CODE: dict[int, type[TikTokShopError]] = {
    RATE_LIMITED: RateLimited,
    INTERNAL_ERROR: ServerError,
    SERVICE_TIMEOUT: ServerError,
    INVALID_PARAM: InvalidParam,
    ACCESS_TOKEN_EXPIRED: AccessTokenExpired,
    MISSING_SCOPE: MissingScope,
    INVALID_SIGNATURE: InvalidSignature,
    REFRESH_TOKEN_EXPIRED: RefreshTokenInvalid,
    AUTH_RECORD_NOT_FOUND: RefreshTokenInvalid,
    AUTH_FAILED: AuthError,
}


def error_for(
    code: int | None,
    message: str,
    request_id: str | None,
    http_status: int | None,
    *,
    retry_after: float | None = None,
) -> TikTokShopError:
    """The typed error for an envelope ``code`` (or, with no envelope, for the HTTP status)."""
    cls: type[TikTokShopError] | None = _BY_CODE.get(code) if code is not None else None
    if cls is None:
        if code is not None and str(code).startswith("105"):
            cls = AuthError
        elif http_status == 429:
            cls = RateLimited
        elif http_status is not None and http_status >= 500:
            cls = ServerError
        else:
            cls = TikTokShopError
    if cls is RateLimited:
        return RateLimited(code, message, request_id, http_status, retry_after=retry_after)
    return cls(code, message, request_id, http_status)
