"""The TikTok Shop Open API client over httpx (contract §1).

One client serves one seller authorization (one ``TokenSource``); shop-scoped methods take the
shop's ``cipher``. Every API request carries ``app_key``, ``timestamp`` and ``sign`` in the query,
``shop_cipher`` only where the endpoint takes it, the ``x-tts-access-token`` header and
``Content-Type: application/json`` (even on GET). JSON bodies are serialised once and the same
bytes are signed and sent. Envelopes with ``code != 0`` raise typed errors (``errors.py``).

Retries: rate limits (429/36009002), server errors (5xx/36009003/36009007) and timeouts are retried
with exponential backoff and full jitter, honouring ``Retry-After``, up to ``max_attempts``. An
access token that expires within ``refresh_margin`` seconds is refreshed before the call; a 105002
makes the client ask ``tokens.refreshed(stale)`` once and retry.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, Protocol, Self
from urllib.parse import urlencode, urlsplit

import httpx

from chalicelib.integrations.tiktok_shop.errors import (
    ACCESS_TOKEN_EXPIRED,
    ACCESS_TOKEN_INVALID,
    AccessTokenExpired,
    AuthError,
    NetworkTimeout,
    RateLimited,
    TikTokShopError,
    error_for,
)
from chalicelib.integrations.tiktok_shop.models import (
    Order,
    OrdersPage,
    Product,
    ProductsPage,
    Shop,
    ShopPerformance,
    TokenSet,
)
from chalicelib.integrations.tiktok_shop.signing import query_value, shop_cipher_allowed, sign_request

DEFAULT_API_BASE_URL = "https://open-api.tiktokglobalshop.com"
DEFAULT_AUTH_BASE_URL = "https://auth.tiktok-shops.com"
ORDER_DETAIL_MAX_IDS = 50

PATH_TOKEN_GET = "/api/v2/token/get"  # noqa: S105 (a path, not a secret)
PATH_TOKEN_REFRESH = "/api/v2/token/refresh"  # noqa: S105
PATH_AUTHORIZED_SHOPS = "/authorization/202309/shops"
PATH_ORDER_SEARCH = "/order/202309/orders/search"
PATH_ORDER_DETAIL = "/order/202309/orders"
PATH_PRODUCT_SEARCH = "/product/202309/products/search"
PATH_PRODUCT_DETAIL = "/product/202309/products/{product_id}"
PATH_SHOP_PERFORMANCE = "/analytics/202405/shop/performance"


class AccessToken(Protocol):
    """What the client needs of a token: the value and its absolute expiry (Unix seconds)."""

    @property
    def access_token(self) -> str: ...

    @property
    def access_token_expire_in(self) -> int: ...


class TokenSource(Protocol):
    """Where the client gets its access token; the implementation makes refreshes race-safe."""

    def current(self) -> AccessToken: ...

    def refreshed(self, stale: AccessToken) -> AccessToken:
        """A token newer than ``stale`` (refreshing it unless another worker already did)."""
        ...


class RequestBudget(Protocol):
    """Admission per shop before each request; may sleep, or raise to give up."""

    def acquire(self, shop_key: str) -> None: ...


class StaticTokens:
    """A ``TokenSource`` over one known token (the OAuth callback, scripts); it cannot refresh."""

    def __init__(self, token: AccessToken) -> None:
        self._token = token

    def current(self) -> AccessToken:
        return self._token

    def refreshed(self, stale: AccessToken) -> AccessToken:
        raise AccessTokenExpired(105002, "static token cannot be refreshed")


class TokenBucketBudget:
    """In-process token bucket per shop: each shop gets ``rate`` requests/s with bursts of ``burst``.

    Buckets are independent, so one busy shop waits on its own bucket and never on another's.
    """

    def __init__(
        self,
        rate: float = 100.0,
        burst: float = 100.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst = rate, burst
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[str, tuple[float, float]] = {}  # shop -> (tokens, at)
        self._lock = threading.Lock()

    def acquire(self, shop_key: str) -> None:
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(shop_key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate) - 1.0
            self._buckets[shop_key] = (tokens, now)
        if tokens < 0:  # the debt is ours: wait it out outside the lock
            self._sleep(-tokens / self.rate)


def _retry_after_seconds(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The one serialisation of a JSON body: compact, UTF-8, signed and sent as these bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class TikTokShopClient:
    """Sync client of the TikTok Shop Open API and its token host."""

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        api_base_url: str = DEFAULT_API_BASE_URL,
        auth_base_url: str = DEFAULT_AUTH_BASE_URL,
        tokens: TokenSource | None = None,
        budget: RequestBudget | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = 10.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        max_retry_after: float = 60.0,
        refresh_margin: int = 300,
        authorize_base_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.app_key = app_key
        self._app_secret = app_secret
        self.api_base_url = api_base_url.rstrip("/")
        self.auth_base_url = auth_base_url.rstrip("/")
        self.authorize_base_url = authorize_base_url or f"{self.auth_base_url}/oauth/authorize"
        self.tokens = tokens
        self.budget: RequestBudget = budget if budget is not None else TokenBucketBudget()
        self.max_attempts = max_attempts
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.max_retry_after = max_retry_after
        self.refresh_margin = refresh_margin
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self._calls_lock = threading.Lock()
        self.calls = 0  # HTTP requests sent, retries included (the sync's "API calls")

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- OAuth -------------------------------------------------------------------------------

    def authorize_url(
        self, service_id_or_app_key: str, state: str, *, extra: Mapping[str, str] | None = None
    ) -> str:
        """Where to send the seller: ``app_key=`` when given our app key, else ``service_id=``."""
        key = "app_key" if service_id_or_app_key == self.app_key else "service_id"
        params = {key: service_id_or_app_key, "state": state, **(extra or {})}
        return f"{self.authorize_base_url}?{urlencode(params)}"

    def get_token(self, auth_code: str) -> TokenSet:
        """Exchange the callback's ``code`` (unsigned GET on the auth host)."""
        data = self._auth_get(
            PATH_TOKEN_GET,
            {
                "app_key": self.app_key,
                "app_secret": self._app_secret,
                "auth_code": auth_code,
                "grant_type": "authorized_code",
            },
        )
        return TokenSet.model_validate(data)

    def refresh_token(self, refresh_token: str) -> TokenSet:
        """A new token pair; the old refresh token stops working (persist both in one write)."""
        data = self._auth_get(
            PATH_TOKEN_REFRESH,
            {
                "app_key": self.app_key,
                "app_secret": self._app_secret,
                "refresh_token": refresh_token,
                "grant_type": "refresh_token",
            },
        )
        return TokenSet.model_validate(data)

    # -- endpoints ---------------------------------------------------------------------------

    def authorized_shops(self) -> list[Shop]:
        data = self.request("GET", PATH_AUTHORIZED_SHOPS)
        return [Shop.model_validate(shop) for shop in data.get("shops") or []]

    def search_orders(
        self,
        shop_cipher: str,
        *,
        update_time_ge: int | None = None,
        update_time_lt: int | None = None,
        create_time_ge: int | None = None,
        create_time_lt: int | None = None,
        order_status: str | None = None,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        page_size: int = 100,
        page_token: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> OrdersPage:
        """One page of ``POST /order/202309/orders/search``; ``filters`` adds other body filters
        (``shipping_type``, ``buyer_user_id``, ``is_buyer_request_cancel``, ``warehouse_ids``)."""
        body = _drop_none(
            {
                "order_status": order_status,
                "create_time_ge": create_time_ge,
                "create_time_lt": create_time_lt,
                "update_time_ge": update_time_ge,
                "update_time_lt": update_time_lt,
                **(filters or {}),
            }
        )
        query = _drop_none(
            {
                "page_size": page_size,
                "sort_field": sort_field,
                "sort_order": sort_order,
                "page_token": page_token or None,
            }
        )
        data = self.request("POST", PATH_ORDER_SEARCH, query=query, body=body, shop_cipher=shop_cipher)
        return OrdersPage.model_validate(data)

    def get_orders(self, shop_cipher: str, ids: Iterable[str]) -> list[Order]:
        """Order details, ``ORDER_DETAIL_MAX_IDS`` ids per call (more ids make more calls)."""
        wanted = list(ids)
        orders: list[Order] = []
        for start in range(0, len(wanted), ORDER_DETAIL_MAX_IDS):
            chunk = wanted[start : start + ORDER_DETAIL_MAX_IDS]
            data = self.request("GET", PATH_ORDER_DETAIL, query={"ids": chunk}, shop_cipher=shop_cipher)
            orders.extend(Order.model_validate(order) for order in data.get("orders") or [])
        return orders

    def search_products(
        self,
        shop_cipher: str,
        *,
        update_time_ge: int | None = None,
        update_time_le: int | None = None,
        status: str | None = None,
        page_size: int = 100,
        page_token: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> ProductsPage:
        """One page of ``POST /product/202309/products/search`` (bounds inclusive: ``_le``)."""
        body = _drop_none(
            {"status": status, "update_time_ge": update_time_ge, "update_time_le": update_time_le}
        )
        body.update(filters or {})
        query = _drop_none({"page_size": page_size, "page_token": page_token or None})
        data = self.request("POST", PATH_PRODUCT_SEARCH, query=query, body=body, shop_cipher=shop_cipher)
        return ProductsPage.model_validate(data)

    def get_product(self, shop_cipher: str, product_id: str) -> Product:
        path = PATH_PRODUCT_DETAIL.format(product_id=product_id)
        return Product.model_validate(self.request("GET", path, shop_cipher=shop_cipher))

    def shop_performance(
        self,
        shop_cipher: str,
        start_date_ge: date | str,
        end_date_lt: date | str,
        granularity: str = "1D",
        currency: str = "LOCAL",
    ) -> ShopPerformance:
        """``GET /analytics/202405/shop/performance``: dates in the shop's timezone, end exclusive."""
        query = {
            "start_date_ge": str(start_date_ge),
            "end_date_lt": str(end_date_lt),
            "granularity": granularity,
            "currency": currency,
        }
        data = self.request("GET", PATH_SHOP_PERFORMANCE, query=query, shop_cipher=shop_cipher)
        return ShopPerformance.model_validate(data.get("performance") or {})

    # -- transport ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        shop_cipher: str | None = None,
    ) -> dict[str, Any]:
        """A signed Open API call; returns the envelope's ``data`` or raises a typed error."""
        method = method.upper()
        if self.tokens is None:
            raise RuntimeError("this client has no TokenSource; pass tokens= to call the Open API")
        if shop_cipher is not None and not shop_cipher_allowed(method, path):
            raise ValueError(f"{path} does not take shop_cipher")
        url = self.api_base_url + path
        signed_path = urlsplit(url).path
        # Serialised once: these bytes are signed and sent, on every attempt.
        content = encode_body(body or {}) if method != "GET" else None
        params = {key: query_value(value) for key, value in _drop_none(query or {}).items()}
        if shop_cipher is not None:
            params["shop_cipher"] = shop_cipher
        token = self._fresh_token()
        refreshed_after_expiry = False
        attempt = 0
        while True:
            attempt += 1
            self.budget.acquire(shop_cipher or "")
            signed = {**params, "app_key": self.app_key, "timestamp": str(int(self._clock()))}
            signed["sign"] = sign_request(self._app_secret, signed_path, signed, content or b"")
            headers = {"Content-Type": "application/json", "x-tts-access-token": token.access_token}
            try:
                return self._send(method, url, signed, headers, content)
            except AuthError as exc:
                # 105002 is an expired token; 105001 (invalid) may be one revoked by a refresh
                # elsewhere. Either way one refresh tells: a new token, or RefreshTokenInvalid.
                if refreshed_after_expiry or exc.code not in (ACCESS_TOKEN_EXPIRED, ACCESS_TOKEN_INVALID):
                    raise
                refreshed_after_expiry = True
                attempt -= 1  # a refresh is not a failed attempt
                token = self.tokens.refreshed(token)
            except TikTokShopError as exc:
                self._backoff_or_raise(exc, attempt)

    def _fresh_token(self) -> AccessToken:
        assert self.tokens is not None
        token = self.tokens.current()
        if token.access_token_expire_in - self._clock() <= self.refresh_margin:
            token = self.tokens.refreshed(token)
        return token

    def _auth_get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """Unsigned GET on the token host, retried like any call; no access-token header."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._send("GET", self.auth_base_url + path, params, {}, None)
            except TikTokShopError as exc:
                self._backoff_or_raise(exc, attempt)

    def _backoff_or_raise(self, exc: TikTokShopError, attempt: int) -> None:
        if not exc.retryable or attempt >= self.max_attempts:
            raise exc
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        if retry_after is not None:
            delay = min(retry_after, self.max_retry_after)
        else:  # full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]
            delay = self._jitter() * min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        self._sleep(delay)

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        content: bytes | None,
    ) -> dict[str, Any]:
        with self._calls_lock:
            self.calls += 1
        try:
            response = self._http.request(method, url, params=params, headers=headers, content=content)
        except httpx.TimeoutException as exc:
            raise NetworkTimeout(None, f"timed out: {exc!r}") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise NetworkTimeout(None, f"connection failed: {exc!r}") from exc
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> dict[str, Any]:
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        retry_after = _retry_after_seconds(response.headers.get("Retry-After"), self._clock())
        if not isinstance(envelope, dict) or "code" not in envelope:
            message = response.text[:200] or response.reason_phrase
            raise error_for(None, message, None, response.status_code, retry_after=retry_after)
        code = int(envelope.get("code") or 0)
        request_id = envelope.get("request_id")
        if code != 0 or response.status_code >= 400:
            raise error_for(
                code or None,
                str(envelope.get("message") or ""),
                request_id,
                response.status_code,
                retry_after=retry_after,
            )
        data = envelope.get("data")
        return data if isinstance(data, dict) else {}
