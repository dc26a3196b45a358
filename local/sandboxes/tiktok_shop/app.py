"""The TikTok Shop sandbox: a thread-safe, in-memory WSGI emulator of contract §1.

One app serves the three hosts of the contract, so both ``api_base_url`` and ``auth_base_url`` of
the client point at it:

- the authorize page ``GET /oauth/authorize`` (also ``/open/authorize``), which grants the shop named
  by ``sandbox_shop_id`` (the newest shop when absent) and redirects (302) with ``code`` and ``state``;
- the token host: ``GET /api/v2/token/get`` and ``/api/v2/token/refresh`` (unsigned);
- the Open API: ``/authorization/202309/shops``, order search and detail, product search and
  detail, ``/analytics/202405/shop/performance``; signed, timestamped, token-checked, with the
  ``shop_cipher`` rules, envelopes ``{code, message, request_id, data}`` and the contract's codes.

The control API under ``/_sandbox/`` (unsigned JSON) creates shops and orders, mutates them, injects
faults, lists the calls received, revokes and expires tokens, and sends signed webhooks. Every
control operation is also a Python method of ``TikTokShopSandbox`` for in-process tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from chalicelib.integrations.tiktok_shop.signing import shop_cipher_allowed, sign_request, webhook_signature
from local.sandboxes.tiktok_shop.generate import (
    DAY,
    ORDER_STATUSES,
    PRODUCT_STATUSES,
    REGIONS,
    OrderFactory,
    SkuSpec,
    is_terminal,
    make_catalogue,
    money,
    to_minor,
)
from local.sandboxes.tiktok_shop.store import SORT_FIELDS, OrderStore

# Envelope codes (contract §1, "Response envelope and errors").
OK = 0
RATE_LIMITED = 36009002
INTERNAL_ERROR = 36009003
INVALID_PARAM = 36009004
SERVICE_TIMEOUT = 36009007
TOKEN_INVALID = 105001
TOKEN_EXPIRED = 105002
INVALID_SIGNATURE = 106001
REFRESH_EXPIRED = 36004001
AUTH_FAILED = 36004004
AUTH_RECORD_MISSING = 36004005

TIMESTAMP_WINDOW = 300
STATE_VERSION = 1  # of dump()/load()
AUTH_CODE_TTL = 1800
FAULT_KINDS = ("rate_limit", "server_error", "timeout", "expire_token", "out_of_window")
WEBHOOK_TYPES = {
    "ORDER_STATUS_CHANGE": 1,
    "REVERSE_STATUS_UPDATE": 2,
    "RECIPIENT_ADDRESS_UPDATE": 3,
    "PACKAGE_UPDATE": 4,
    "PRODUCT_STATUS_CHANGE": 5,
    "SELLER_DEAUTHORIZATION": 6,
    "UPCOMING_AUTHORIZATION_EXPIRATION": 7,
    "CANCELLATION_STATUS_CHANGE": 11,
    "RETURN_STATUS_CHANGE": 12,
}
FAULT_HEADER = "X-Sandbox-Fault"
SHIPPING_TYPES = ("TIKTOK", "SELLER")
_PRODUCT_SUMMARY_FIELDS = (
    "id",
    "title",
    "status",
    "create_time",
    "update_time",
    "skus",
    "sales_regions",
    "is_not_for_sale",
)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class Fail(Exception):
    """An error envelope to answer with."""

    def __init__(
        self, code: int, message: str, status: int = 200, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.headers = code, message, status, list(headers)


@dataclass
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds to sleep (outside the lock) before answering: the timeout fault
    code: int | None = None  # the envelope's code, for the call log


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError:
            raise Fail(INVALID_PARAM, "Invalid JSON body") from None
        if not isinstance(value, dict):
            raise Fail(INVALID_PARAM, "The body must be a JSON object")
        return value


@dataclass
class SandboxShop:
    shop_id: str
    cipher: str
    name: str
    region: str
    code: str
    seller_type: str = "LOCAL"
    orders: OrderStore = field(default_factory=OrderStore)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    factory: OrderFactory | None = None

    @property
    def currency(self) -> str:
        return REGIONS[self.region][0]

    def public(self) -> dict[str, Any]:
        return {
            "id": self.shop_id,
            "name": self.name,
            "region": self.region,
            "code": self.code,
            "cipher": self.cipher,
            "seller_type": self.seller_type,
        }


@dataclass
class Grant:
    grant_id: str
    open_id: str
    shop_ids: list[str]
    seller_name: str
    region: str
    revoked: bool = False


@dataclass
class TokenRecord:
    grant_id: str
    expires_at: int


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _unb64(token: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise Fail(INVALID_PARAM, "Invalid page_token") from None
    if not isinstance(value, dict):
        raise Fail(INVALID_PARAM, "Invalid page_token")
    return value


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise Fail(INVALID_PARAM, f"Invalid {name}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Fail(INVALID_PARAM, f"Invalid {name}") from None


def _page_size(query: dict[str, str]) -> int:
    if "page_size" not in query:
        raise Fail(INVALID_PARAM, "page_size is required")
    size = _int(query["page_size"], "page_size")
    if not 1 <= size <= 100:
        raise Fail(INVALID_PARAM, "Invalid page_size: it must be between 1 and 100")
    return size


class TikTokShopSandbox:
    """The WSGI app; see the module docstring. Create it with ``create_app``."""

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        *,
        webhook_url: str | None = None,
        clock: Callable[[], float] = time.time,
        redirect_uri: str | None = None,
        service_id: str | None = None,
        qps_limit: float | None = None,
        access_token_ttl: int = 7 * DAY,
        refresh_token_ttl: int = 365 * DAY,
        timeout_fault_seconds: float = 0.0,
        image_base_url: str = "https://p16-oec-sandbox.tiktokcdn.com/img",
        webhook_transport: httpx.BaseTransport | None = None,
        max_calls_logged: int = 100_000,
    ) -> None:
        self.app_key, self.app_secret = app_key, app_secret
        self.webhook_url, self.redirect_uri, self.service_id = webhook_url, redirect_uri, service_id
        self.clock = clock
        self.qps_limit = qps_limit
        self.access_token_ttl, self.refresh_token_ttl = access_token_ttl, refresh_token_ttl
        self.timeout_fault_seconds = timeout_fault_seconds
        self.image_base_url = image_base_url.rstrip("/")
        self.webhook_transport = webhook_transport
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.shops: dict[str, SandboxShop] = {}
        self._by_cipher: dict[str, SandboxShop] = {}
        self._grants: dict[str, Grant] = {}
        self._codes: dict[str, tuple[str, int]] = {}  # code -> (shop_id, expires_at)
        self._access: dict[str, TokenRecord] = {}
        self._refresh: dict[str, TokenRecord] = {}
        self._faults: list[dict[str, Any]] = []
        self._calls: deque[dict[str, Any]] = deque(maxlen=max_calls_logged)
        self._recent: dict[str, deque[float]] = {}
        self.instance = secrets.token_hex(8)  # tells this sandbox's saved state from another's

    # == WSGI ===================================================================================

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        request = self._read(environ)
        try:
            if request.path.startswith("/_sandbox/"):
                reply = self._control(request)
            elif request.path in ("/oauth/authorize", "/open/authorize"):
                reply = self._authorize_page(request)
            else:
                reply = self._platform(request)
        except Fail as fail:  # control API errors
            reply = self._json(fail.status, {"error": {"code": fail.code, "message": fail.message}})
        if reply.delay > 0:
            time.sleep(reply.delay)
        status = f"{reply.status} {HTTPStatus(reply.status).phrase}"
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        start_response(status, headers)
        return [reply.body]

    @staticmethod
    def _read(environ: Environ) -> Request:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        return Request(
            environ["REQUEST_METHOD"].upper(), environ.get("PATH_INFO") or "/", query, body, headers
        )

    @staticmethod
    def _json(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return Reply(status, body, [("Content-Type", "application/json"), *headers])

    def _request_id(self) -> str:
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%d%H%M%S")
        return f"{stamp}{next(self._ids):018X}"

    def _envelope(
        self,
        code: int,
        message: str,
        data: Any = None,
        status: int = 200,
        headers: Iterable[tuple[str, str]] = (),
    ) -> Reply:
        payload = {"code": code, "message": message, "request_id": self._request_id(), "data": data or {}}
        reply = self._json(status, payload, headers)
        reply.code = code
        return reply

    def _now(self) -> int:
        return int(self.clock())

    # == the platform: token host and Open API ==================================================

    def _platform(self, request: Request) -> Reply:
        with self._lock:
            try:
                if request.path in ("/api/v2/token/get", "/api/v2/token/refresh"):
                    reply = self._token_host(request)
                else:
                    reply = self._open_api(request)
            except Fail as fail:
                reply = self._envelope(fail.code, fail.message, status=fail.status, headers=fail.headers)
            self._log(request, reply)
        return reply

    def _log(self, request: Request, reply: Reply) -> None:
        query = dict(request.query)
        if "app_secret" in query:
            query["app_secret"] = "***"  # noqa: S105 - a mask, not a secret
        self._calls.append(
            {
                "method": request.method,
                "path": request.path,
                "query": query,
                "status": reply.status,
                "code": reply.code,
                "fault": dict(reply.headers).get(FAULT_HEADER),
                "at": self.clock(),
            }
        )

    # -- token host ----------------------------------------------------------------------------

    def _token_host(self, request: Request) -> Reply:
        q = request.query
        if request.method != "GET":
            raise Fail(INVALID_PARAM, "Method not allowed", status=405)
        if q.get("app_key") != self.app_key or not hmac.compare_digest(
            q.get("app_secret", "").encode(), self.app_secret.encode()
        ):
            raise Fail(AUTH_FAILED, "Invalid app_key or app_secret")
        now = self._now()
        if request.path.endswith("/get"):
            if q.get("grant_type") != "authorized_code":
                raise Fail(INVALID_PARAM, "grant_type must be authorized_code")
            entry = self._codes.pop(q.get("auth_code", ""), None)  # single use
            if entry is None or entry[1] < now:
                raise Fail(AUTH_FAILED, "The auth_code is invalid, used or expired")
            shop = self.shops[entry[0]]
            grant = Grant(
                grant_id=f"g{next(self._ids)}",
                open_id=f"sbx-{hashlib.sha256(shop.shop_id.encode()).hexdigest()[:22]}",
                shop_ids=[shop.shop_id],
                seller_name=shop.name,
                region=shop.region,
            )
            self._grants[grant.grant_id] = grant
        else:
            if q.get("grant_type") != "refresh_token":
                raise Fail(INVALID_PARAM, "grant_type must be refresh_token")
            record = self._refresh.get(q.get("refresh_token", ""))
            if record is None or self._grants[record.grant_id].revoked:
                raise Fail(AUTH_RECORD_MISSING, "can not find related auth record")
            if record.expires_at < now:
                raise Fail(REFRESH_EXPIRED, "rt has expired")
            del self._refresh[q["refresh_token"]]  # rotation: the old refresh token stops working
            grant = self._grants[record.grant_id]
        return self._envelope(OK, "success", self._issue_tokens(grant, now))

    def _issue_tokens(self, grant: Grant, now: int) -> dict[str, Any]:
        access, refresh = f"ROW_{secrets.token_urlsafe(30)}", f"ROW_{secrets.token_urlsafe(30)}"
        self._access[access] = TokenRecord(grant.grant_id, now + self.access_token_ttl)
        self._refresh[refresh] = TokenRecord(grant.grant_id, now + self.refresh_token_ttl)
        return {
            "access_token": access,
            "access_token_expire_in": now + self.access_token_ttl,
            "refresh_token": refresh,
            "refresh_token_expire_in": now + self.refresh_token_ttl,
            "open_id": grant.open_id,
            "seller_name": grant.seller_name,
            "seller_base_region": grant.region,
            "user_type": 0,
            "granted_scopes": [
                "seller.authorization.info",
                "seller.order.info",
                "seller.product.basic",
                "data.shop_analytics.public.read",
            ],
        }

    # -- Open API ------------------------------------------------------------------------------

    _ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
        ("GET", re.compile(r"^/authorization/202309/shops$"), "_authorized_shops"),
        ("POST", re.compile(r"^/order/202309/orders/search$"), "_search_orders"),
        ("GET", re.compile(r"^/order/202309/orders$"), "_order_detail"),
        ("POST", re.compile(r"^/product/202309/products/search$"), "_search_products"),
        ("GET", re.compile(r"^/product/202309/products/(?P<product_id>[^/]+)$"), "_product_detail"),
        ("GET", re.compile(r"^/analytics/202405/shop/performance$"), "_shop_performance"),
    )

    def _open_api(self, request: Request) -> Reply:
        q = request.query
        route = next(
            (
                (name, m)
                for method, rx, name in self._ROUTES
                if method == request.method and (m := rx.match(request.path))
            ),
            None,
        )
        if route is None:
            raise Fail(INVALID_PARAM, f"API not found: {request.method} {request.path}", status=404)
        if q.get("app_key") != self.app_key:
            raise Fail(INVALID_PARAM, "Invalid app_key")
        self._check_timestamp(q.get("timestamp"))
        multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
        body = request.body if request.method != "GET" and not multipart else b""
        expected = sign_request(self.app_secret, request.path, q, body)
        if not hmac.compare_digest(expected.encode(), q.get("sign", "").encode()):  # uppercase hex fails too
            raise Fail(INVALID_SIGNATURE, "Invalid signature", status=401)
        grant, token = self._check_token(request.headers.get("x-tts-access-token", ""))
        shop = self._check_shop(request, grant)
        self._check_qps(shop.cipher if shop else f"grant:{grant.grant_id}")
        name, match = route
        fault = self._take_fault(name == "_search_orders")
        if fault is not None and fault["kind"] != "out_of_window":
            return self._fault_reply(fault, token)
        handler = getattr(self, name)
        data = handler(request, shop, grant, **match.groupdict(), out_of_window=fault is not None)
        return self._envelope(OK, "Success", data)

    def _check_timestamp(self, raw: str | None) -> None:
        if raw is None or not raw.isdigit():
            raise Fail(INVALID_PARAM, "Invalid timestamp: timestamp is required and must be Unix seconds")
        if abs(self._now() - int(raw)) > TIMESTAMP_WINDOW:
            raise Fail(
                INVALID_PARAM,
                "Invalid timestamp: the timestamp must not be earlier than 5 minutes before the current time",
            )

    def _check_token(self, access_token: str) -> tuple[Grant, str]:
        record = self._access.get(access_token)
        if record is None or self._grants[record.grant_id].revoked:
            raise Fail(TOKEN_INVALID, "Invalid access token", status=401)
        if record.expires_at <= self._now():
            raise Fail(TOKEN_EXPIRED, "Access token is expired, please refresh it", status=401)
        return self._grants[record.grant_id], access_token

    def _check_shop(self, request: Request, grant: Grant) -> SandboxShop | None:
        cipher = request.query.get("shop_cipher")
        if not shop_cipher_allowed(request.method, request.path):
            if cipher is not None:
                raise Fail(INVALID_PARAM, "The `shop_cipher` query parameter is not required for this API")
            return None
        if not cipher:
            raise Fail(INVALID_PARAM, "shop_cipher is required")
        shop = self._by_cipher.get(cipher)
        if shop is None:
            raise Fail(INVALID_PARAM, "Invalid shop_cipher")
        if shop.shop_id not in grant.shop_ids:
            raise Fail(INVALID_PARAM, "The shop_cipher does not belong to the authorized seller")
        return shop

    def _check_qps(self, key: str) -> None:
        if not self.qps_limit:
            return
        now = self.clock()
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= self.qps_limit:
            raise Fail(RATE_LIMITED, "Too many requests. Please retry later.", 429, [("Retry-After", "1")])
        recent.append(now)

    def _take_fault(self, order_search: bool) -> dict[str, Any] | None:
        for fault in self._faults:
            if fault["kind"] == "out_of_window" and not order_search:
                continue
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                self._faults.remove(fault)
            return fault
        return None

    def _fault_reply(self, fault: dict[str, Any], token: str) -> Reply:
        kind = fault["kind"]
        if kind == "rate_limit":
            retry_after = fault.get("retry_after", 1)
            headers = [(FAULT_HEADER, kind)]
            if retry_after is not None:
                headers.append(("Retry-After", str(retry_after)))
            return self._envelope(RATE_LIMITED, "Too many requests. Please retry later.", None, 429, headers)
        if kind == "server_error":
            return self._envelope(INTERNAL_ERROR, "Internal error", None, 500, [(FAULT_HEADER, kind)])
        if kind == "expire_token":
            self._access[token].expires_at = self._now() - 1
            return self._envelope(TOKEN_EXPIRED, "Access token is expired, please refresh it", None, 401)
        seconds = float(fault.get("seconds", self.timeout_fault_seconds))
        reply = self._envelope(SERVICE_TIMEOUT, "Request timeout", None, 504, [(FAULT_HEADER, "timeout")])
        reply.delay = seconds
        return reply

    # -- endpoints -----------------------------------------------------------------------------

    def _authorized_shops(self, request: Request, shop: None, grant: Grant, **_: Any) -> dict[str, Any]:
        return {"shops": [self.shops[shop_id].public() for shop_id in grant.shop_ids]}

    def _search_orders(
        self, request: Request, shop: SandboxShop, grant: Grant, *, out_of_window: bool = False, **_: Any
    ) -> dict[str, Any]:
        q, body = request.query, request.json()
        size = _page_size(q)
        sort_field = q.get("sort_field", "create_time")
        sort_order = q.get("sort_order", "DESC")
        if sort_field not in SORT_FIELDS:
            raise Fail(INVALID_PARAM, "Invalid sort_field")
        if sort_order not in ("ASC", "DESC"):
            raise Fail(INVALID_PARAM, "Invalid sort_order")
        fingerprint = _fingerprint(sort_field, sort_order, body)
        token = _unb64(q["page_token"]) if q.get("page_token") else None
        if token is not None and token.get("f") != fingerprint:
            raise Fail(INVALID_PARAM, "Invalid page_token: it does not match the search conditions")
        now = self._now()
        windows = {f: self._window(shop, body, f, now) for f in SORT_FIELDS}
        if token is not None:  # the implied "now" bounds are those of the first page
            windows = {f: (token["w"][f][0], token["w"][f][1]) for f in SORT_FIELDS}
        accept = self._order_filter(body, windows, sort_field)
        ge, lt = windows[sort_field]
        after = (int(token["k"][0]), str(token["k"][1])) if token is not None else None
        store = shop.orders
        orders, last = store.page(sort_field, sort_order == "DESC", ge, lt, accept, after, size)
        total = store.count(sort_field, ge, lt, accept, (fingerprint, tuple(windows.items())))
        if out_of_window and ("update_time_ge" in body or "update_time_lt" in body):
            ge_u, lt_u = windows["update_time"]
            orders = orders + store.outside("update_time", ge_u, lt_u, 3)
        next_token = "" if last is None else _b64({"k": list(last), "f": fingerprint, "w": windows})
        return {"orders": orders, "next_page_token": next_token, "total_count": total}

    @staticmethod
    def _window(shop: SandboxShop, body: dict[str, Any], name: str, now: int) -> tuple[int, int]:
        ge_raw, lt_raw = body.get(f"{name}_ge"), body.get(f"{name}_lt")
        ge = _int(ge_raw, f"{name}_ge") if ge_raw is not None else None
        lt = _int(lt_raw, f"{name}_lt") if lt_raw is not None else None
        if ge is not None and lt is None:
            lt = now + 1  # "if *_ge is set without *_lt, the upper bound is now"
        if lt is not None and ge is None:
            ge = shop.orders.earliest(name)  # "... the lower bound is the shop's earliest time"
        if ge is None or lt is None:
            return (-(2**62), 2**62)
        if ge < 0 or lt < 0:
            raise Fail(INVALID_PARAM, f"Invalid {name} range")
        return (ge, lt)

    @staticmethod
    def _order_filter(
        body: dict[str, Any], windows: dict[str, tuple[int, int]], sort_field: str
    ) -> Callable[[dict[str, Any]], bool] | None:
        checks: list[Callable[[dict[str, Any]], bool]] = []
        status = body.get("order_status")
        if status is not None:
            if status not in ORDER_STATUSES:
                raise Fail(INVALID_PARAM, "Invalid order_status")
            checks.append(lambda o: o["status"] == status)
        shipping = body.get("shipping_type")
        if shipping is not None:
            if shipping not in SHIPPING_TYPES:
                raise Fail(INVALID_PARAM, "Invalid shipping_type")
            checks.append(lambda o: o["shipping_type"] == shipping)
        buyer = body.get("buyer_user_id")
        if buyer is not None:
            checks.append(lambda o: o["user_id"] == str(buyer))
        cancel = body.get("is_buyer_request_cancel")
        if cancel is not None:
            if not isinstance(cancel, bool):
                raise Fail(INVALID_PARAM, "Invalid is_buyer_request_cancel")
            checks.append(lambda o: o["is_buyer_request_cancel"] is cancel)
        warehouses = body.get("warehouse_ids")
        if warehouses is not None:
            if not isinstance(warehouses, list) or len(warehouses) > 100:
                raise Fail(INVALID_PARAM, "Invalid warehouse_ids: at most 100")
            wanted = {str(w) for w in warehouses}
            checks.append(lambda o: o["warehouse_id"] in wanted)
        other = "create_time" if sort_field == "update_time" else "update_time"
        if f"{other}_ge" in body or f"{other}_lt" in body:
            lo, hi = windows[other]
            checks.append(lambda o: lo <= o[other] < hi)
        if not checks:
            return None
        if len(checks) == 1:
            return checks[0]
        return lambda o: all(check(o) for check in checks)

    def _order_detail(self, request: Request, shop: SandboxShop, grant: Grant, **_: Any) -> dict[str, Any]:
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if not ids:
            raise Fail(INVALID_PARAM, "ids is required")
        if len(ids) > 50:
            raise Fail(INVALID_PARAM, "Invalid ids: at most 50 order ids")
        return {"orders": [shop.orders.orders[i] for i in ids if i in shop.orders.orders]}

    def _search_products(self, request: Request, shop: SandboxShop, grant: Grant, **_: Any) -> dict[str, Any]:
        q, body = request.query, request.json()
        size = _page_size(q)
        status = body.get("status", "ALL")
        if status != "ALL" and status not in PRODUCT_STATUSES:
            raise Fail(INVALID_PARAM, "Invalid status")
        sku_ids = body.get("sku_ids")
        if sku_ids is not None and (not isinstance(sku_ids, list) or len(sku_ids) > 10):
            raise Fail(INVALID_PARAM, "Invalid sku_ids: at most 10")
        seller_skus = body.get("seller_skus")
        bounds = {
            key: _int(body[key], key)
            for key in ("create_time_ge", "create_time_le", "update_time_ge", "update_time_le")
            if body.get(key) is not None
        }

        def accept(p: dict[str, Any]) -> bool:
            if status != "ALL" and p["status"] != status:
                return False
            for key, bound in bounds.items():
                value = p[key[:-3]]
                if (key.endswith("_ge") and value < bound) or (key.endswith("_le") and value > bound):
                    return False
            if sku_ids is not None and not {s["id"] for s in p["skus"]} & {str(s) for s in sku_ids}:
                return False
            return seller_skus is None or bool({s["seller_sku"] for s in p["skus"]} & set(seller_skus))

        fingerprint = _fingerprint(body)
        offset = 0
        if q.get("page_token"):
            token = _unb64(q["page_token"])
            if token.get("f") != fingerprint:
                raise Fail(INVALID_PARAM, "Invalid page_token: it does not match the search conditions")
            offset = _int(token.get("o"), "page_token")
        matched = [p for _, p in sorted(shop.products.items()) if accept(p)]
        page = [{k: p[k] for k in _PRODUCT_SUMMARY_FIELDS} for p in matched[offset : offset + size]]
        more = offset + size < len(matched)
        return {
            "products": page,
            "next_page_token": _b64({"o": offset + size, "f": fingerprint}) if more else "",
            "total_count": len(matched),
        }

    def _product_detail(
        self, request: Request, shop: SandboxShop, grant: Grant, *, product_id: str, **_: Any
    ) -> dict[str, Any]:
        product = shop.products.get(product_id)
        if product is None:
            raise Fail(INVALID_PARAM, f"Product {product_id} does not exist")
        return product

    def _shop_performance(
        self, request: Request, shop: SandboxShop, grant: Grant, **_: Any
    ) -> dict[str, Any]:
        q = request.query
        try:
            start = date.fromisoformat(q["start_date_ge"])
            end = date.fromisoformat(q["end_date_lt"])
        except (KeyError, ValueError):
            raise Fail(INVALID_PARAM, "start_date_ge and end_date_lt are required, as YYYY-MM-DD") from None
        if end <= start:
            raise Fail(INVALID_PARAM, "end_date_lt must be after start_date_ge")
        granularity, currency = q.get("granularity", "ALL"), q.get("currency", "LOCAL")
        if granularity not in ("ALL", "1D") or currency not in ("USD", "LOCAL"):
            raise Fail(INVALID_PARAM, "Invalid granularity or currency")
        spans = (
            [(start + timedelta(days=i), start + timedelta(days=i + 1)) for i in range((end - start).days)]
            if granularity == "1D"
            else [(start, end)]
        )
        _, _, offset, _ = REGIONS[shop.region]
        local_today = datetime.fromtimestamp(self.clock() + offset * 3600, UTC).date()
        intervals = [self._interval(shop, a, b, offset, currency) for a, b in spans]
        return {
            "performance": {"intervals": intervals},
            "latest_available_date": (local_today - timedelta(days=1)).isoformat(),
        }

    def _interval(
        self, shop: SandboxShop, start: date, end: date, offset: int, currency: str
    ) -> dict[str, Any]:
        code, decimals, _, per_usd = REGIONS[shop.region]

        def epoch(d: date) -> int:
            return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) - offset * 3600

        keys = shop.orders.index["create_time"]
        lo, hi = shop.orders.bounds("create_time", epoch(start), epoch(end))
        gmv = orders = units = 0
        buyers: set[str] = set()
        for position in range(lo, hi):
            order = shop.orders.orders[keys[position][1]]
            if order["status"] in ("UNPAID", "CANCELLED"):
                continue
            orders += 1
            units += len(order["line_items"])
            buyers.add(order["user_id"])
            gmv += to_minor(order["payment"]["total_amount"], decimals)
        if currency == "USD":
            gmv = round(gmv / per_usd * (100 if decimals == 0 else 1))
            code, decimals = "USD", 2
        aov = gmv // orders if orders else 0
        return {
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "gmv": {"amount": money(gmv, decimals), "currency": code},
            "orders": orders,
            "sku_orders": units,
            "units_sold": units,
            "buyers": len(buyers),
            "avg_order_value": {"amount": money(aov, decimals), "currency": code},
            "product_impressions": units * 37,
            "product_page_views": units * 9,
        }

    # == authorize page =========================================================================

    def _authorize_page(self, request: Request) -> Reply:
        q = request.query
        if q.get("app_key") != self.app_key and not (
            q.get("service_id") and (self.service_id is None or q["service_id"] == self.service_id)
        ):
            return self._json(400, {"error": {"message": "unknown app_key or service_id"}})
        redirect = q.get("redirect_uri") or self.redirect_uri
        if not redirect:
            return self._json(400, {"error": {"message": "no redirect_uri configured or given"}})
        try:
            code = self.authorize(q.get("sandbox_shop_id"))
        except Fail as fail:
            return self._json(400, {"error": {"message": fail.message}})
        parts = urlsplit(redirect)
        extra = urlencode({"code": code, "state": q.get("state", "")})
        location = urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))
        return Reply(302, b"", [("Location", location), ("Content-Type", "text/plain")])

    # == control API (also the Python API) ======================================================

    def create_shop(self, name: str, region: str = "US") -> dict[str, Any]:
        region = region.upper()
        if region not in REGIONS:
            raise Fail(400, f"unknown region {region}; one of {sorted(REGIONS)}", status=400)
        with self._lock:
            serial = len(self.shops) + 1
            shop_id = str(7494000000000000000 + serial * 7919)
            digest = hashlib.sha256(f"{self.app_key}:{shop_id}".encode()).digest()
            cipher = "GCP_" + base64.urlsafe_b64encode(digest[:24]).decode()
            shop_code = region + hashlib.sha1(shop_id.encode(), usedforsecurity=False).hexdigest()[:8].upper()
            shop = SandboxShop(shop_id, cipher, name, region, shop_code)
            self.shops[shop_id] = shop
            self._by_cipher[cipher] = shop
            return {**shop.public(), "shop_id": shop_id, "currency": shop.currency}

    def _shop(self, shop_id: str) -> SandboxShop:
        shop = self.shops.get(shop_id)
        if shop is None:
            raise Fail(404, f"no sandbox shop {shop_id}", status=404)
        return shop

    def _ensure_catalogue(self, shop: SandboxShop, seed: int) -> OrderFactory:
        if shop.factory is None:
            rng = random.Random(f"catalogue:{shop.shop_id}:{seed}")  # noqa: S311 - seeded test data
            products, skus = make_catalogue(shop.shop_id, shop.region, rng, self._now(), self.image_base_url)
            shop.products = {p["id"]: p for p in products}
            shop.factory = OrderFactory(shop.shop_id, shop.region, skus)
        return shop.factory

    def generate_orders(self, shop_id: str, count: int, seed: int = 0, days: int = 30) -> dict[str, Any]:
        with self._lock:
            shop = self._shop(shop_id)
            factory = self._ensure_catalogue(shop, seed)
            rng = random.Random(f"orders:{shop_id}:{seed}")  # noqa: S311 - seeded test data
            taken = dict(shop.orders.orders)
            orders = factory.generate(rng, int(count), int(days), self._now(), taken)
            shop.orders.put_many(orders)
            return {"generated": len(orders), "total": len(shop.orders), "products": len(shop.products)}

    def mutate_orders(
        self, shop_id: str, count: int, seed: int = 0, new: int | None = None
    ) -> dict[str, Any]:
        with self._lock:
            shop = self._shop(shop_id)
            factory = self._ensure_catalogue(shop, seed)
            rng = random.Random(f"mutate:{shop_id}:{seed}:{len(shop.orders)}:{shop.orders.version}")  # noqa: S311 - seeded test data
            now = self._now()
            ids = sorted(shop.orders.orders)
            open_ids = [i for i in ids if not is_terminal(shop.orders.orders[i]["status"])]
            done_ids = [i for i in ids if is_terminal(shop.orders.orders[i]["status"])]
            count = int(count)
            picked = rng.sample(open_ids, min(count, len(open_ids)))
            picked += rng.sample(done_ids, min(count - len(picked), len(done_ids)))
            changed = [factory.mutated(rng, shop.orders.orders[i], now) for i in picked]
            added_count = max(1, count // 4) if new is None else int(new)
            taken = dict(shop.orders.orders)
            added = []
            for _ in range(added_count):
                order_id = factory.new_id(rng, taken)
                created = now - rng.randint(0, 600)
                status = rng.choice(("UNPAID", "AWAITING_SHIPMENT", "AWAITING_SHIPMENT"))
                order = factory.order(rng, order_id, created, now, status)
                taken[order_id] = order
                added.append(order)
            shop.orders.put_many([*changed, *added])
            return {
                "changed": [o["id"] for o in changed],
                "added": [o["id"] for o in added],
                "total": len(shop.orders),
            }

    def ground_truth(self, shop_id: str) -> list[dict[str, Any]]:
        with self._lock:
            shop = self._shop(shop_id)
            return [shop.orders.orders[key[1]] for key in shop.orders.index["create_time"]]

    def authorize(self, shop_id: str | None = None) -> str:
        """An auth code for ``shop_id`` (the newest shop when None), as the authorize page grants."""
        with self._lock:
            if shop_id is None:
                if not self.shops:
                    raise Fail(400, "no sandbox shop yet: POST /_sandbox/shops first", status=400)
                shop_id = next(reversed(self.shops))
            self._shop(shop_id)
            code = secrets.token_urlsafe(24)
            self._codes[code] = (shop_id, self._now() + AUTH_CODE_TTL)
            return code

    def inject_fault(self, kind: str, count: int = 1, **options: Any) -> dict[str, Any]:
        if kind not in FAULT_KINDS:
            raise Fail(400, f"unknown fault kind {kind!r}; one of {FAULT_KINDS}", status=400)
        fault = {"kind": kind, "remaining": max(1, int(count)), **options}
        with self._lock:
            self._faults.append(fault)
            return dict(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def revoke_shop(self, shop_id: str) -> int:
        with self._lock:
            self._shop(shop_id)
            grants = [g for g in self._grants.values() if shop_id in g.shop_ids and not g.revoked]
            for grant in grants:
                grant.revoked = True
            return len(grants)

    def expire_tokens(self) -> int:
        with self._lock:
            now = self._now()
            for record in self._access.values():
                record.expires_at = min(record.expires_at, now)
            return len(self._access)

    def signed_webhook(
        self, shop_id: str, type_: int | str, order_id: str | None = None, url: str | None = None
    ) -> dict[str, Any]:
        """The webhook request TikTok would send: ``{"url", "headers", "body"}`` (body as str)."""
        event = WEBHOOK_TYPES.get(str(type_).upper()) if not str(type_).isdigit() else int(type_)
        if event is None:
            raise Fail(400, f"unknown webhook type {type_!r}", status=400)
        with self._lock:
            shop = self._shop(shop_id)
            now = self._now()
            data: dict[str, Any] = {}
            if order_id is not None:
                order = shop.orders.orders.get(order_id)
                if order is None:
                    raise Fail(404, f"no order {order_id} in shop {shop_id}", status=404)
                data = {
                    "order_id": order_id,
                    "order_status": order["status"],
                    "update_time": order["update_time"],
                }
            elif event == WEBHOOK_TYPES["SELLER_DEAUTHORIZATION"]:
                data = {"message": "The seller has deauthorized the app"}
            payload = {
                "type": event,
                "tts_notification_id": f"{now}{next(self._ids):010d}",
                "shop_id": shop.shop_id,
                "timestamp": now,
                "data": data,
            }
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        headers = {
            "Authorization": webhook_signature(self.app_key, self.app_secret, body.encode()),
            "Content-Type": "application/json",
        }
        return {"url": url or self.webhook_url, "headers": headers, "body": body}

    def send_webhook(
        self, shop_id: str, type_: int | str, order_id: str | None = None, url: str | None = None
    ) -> dict[str, Any]:
        signed = self.signed_webhook(shop_id, type_, order_id, url)
        if not signed["url"]:
            raise Fail(400, "no webhook_url configured or given", status=400)
        with httpx.Client(transport=self.webhook_transport, timeout=10.0) as client:
            response = client.post(signed["url"], content=signed["body"].encode(), headers=signed["headers"])
        return {"delivered": True, "status": response.status_code, "request": signed}

    def _control(self, request: Request) -> Reply:
        method, path = request.method, request.path[len("/_sandbox") :]
        body = request.json() if request.method in ("POST", "PUT") else {}
        shop_route = re.match(r"^/shops/(?P<id>[^/:]+)(?P<rest>.*)$", path)
        if shop_route and path != "/shops":
            shop_id, rest = shop_route["id"], shop_route["rest"]
            if (method, rest) == ("POST", "/orders:generate"):
                result = self.generate_orders(
                    shop_id, _int(body.get("count", 100), "count"), body.get("seed", 0), body.get("days", 30)
                )
                return self._json(200, result)
            if (method, rest) == ("POST", "/orders:mutate"):
                new = body.get("new")
                result = self.mutate_orders(
                    shop_id, _int(body.get("count", 10), "count"), body.get("seed", 0), new
                )
                return self._json(200, result)
            if (method, rest) == ("GET", "/orders"):
                orders = self.ground_truth(shop_id)
                return self._json(200, {"orders": orders, "total": len(orders)})
            if (method, rest) == ("GET", "/products"):
                with self._lock:
                    products = sorted(self._shop(shop_id).products.values(), key=lambda p: p["id"])
                return self._json(200, {"products": products, "total": len(products)})
            if (method, rest) == ("POST", "/webhooks:send"):
                args = (shop_id, body.get("type", 1), body.get("order_id"), body.get("url"))
                if body.get("deliver", True) is False:
                    return self._json(200, {"delivered": False, "request": self.signed_webhook(*args)})
                return self._json(200, self.send_webhook(*args))
            if (method, rest) == ("POST", ":revoke"):
                return self._json(200, {"revoked_grants": self.revoke_shop(shop_id)})
            if (method, rest) == ("GET", ""):
                with self._lock:
                    shop = self._shop(shop_id)
                    info = {**shop.public(), "shop_id": shop_id, "currency": shop.currency}
                    info.update(orders=len(shop.orders), products=len(shop.products))
                return self._json(200, info)
        elif (method, path) == ("POST", "/shops"):
            if not body.get("name"):
                raise Fail(400, "name is required", status=400)
            return self._json(201, self.create_shop(str(body["name"]), str(body.get("region") or "US")))
        elif (method, path) == ("GET", "/shops"):
            with self._lock:
                shops = [
                    {**s.public(), "shop_id": s.shop_id, "orders": len(s.orders)} for s in self.shops.values()
                ]
            return self._json(200, {"shops": shops})
        elif (method, path) == ("POST", "/faults"):
            options = {k: v for k, v in body.items() if k not in ("kind", "count")}
            return self._json(201, self.inject_fault(str(body.get("kind")), body.get("count", 1), **options))
        elif (method, path) == ("GET", "/faults"):
            with self._lock:
                return self._json(200, {"faults": [dict(f) for f in self._faults]})
        elif (method, path) == ("DELETE", "/faults"):
            self.clear_faults()
            return self._json(200, {"faults": []})
        elif (method, path) == ("GET", "/calls"):
            calls = self.calls()
            return self._json(200, {"calls": calls, "total": len(calls)})
        elif (method, path) == ("DELETE", "/calls"):
            self.clear_calls()
            return self._json(200, {"calls": []})
        elif (method, path) == ("POST", "/tokens:expire"):
            return self._json(200, {"expired": self.expire_tokens()})
        elif (method, path) == ("POST", "/authorize"):
            return self._json(200, {"code": self.authorize(body.get("shop_id"))})
        elif (method, path) == ("GET", "/config"):
            return self._json(200, self._config())
        elif (method, path) == ("PUT", "/config"):
            with self._lock:
                for key in ("webhook_url", "redirect_uri", "qps_limit", "timeout_fault_seconds"):
                    if key in body:
                        setattr(self, key, body[key])
            return self._json(200, self._config())
        raise Fail(404, f"no control route {method} {request.path}", status=404)

    # == state that outlives a restart (the local stack saves it with its moto snapshot) ========

    def dump(self) -> dict[str, Any]:
        """Everything a restart must keep, as JSON-ready plain data: shops with their orders,
        products and catalogue, grants, auth codes, access and refresh tokens, pending faults and
        the id counter. The call log and the QPS windows are not kept.

        Orders and products are the sandbox's own dicts, not copies: they are replaced, never
        changed in place, so serialising them after this returns is safe. ``orders_version`` of a
        shop changes whenever its orders do (a writer may skip unchanged shops)."""
        with self._lock:
            next_id = next(self._ids)
            self._ids = itertools.count(next_id)
            return {
                "version": STATE_VERSION,
                "app_key": self.app_key,
                "instance": self.instance,
                "next_id": next_id,
                "shops": [
                    {
                        "shop_id": shop.shop_id,
                        "cipher": shop.cipher,
                        "name": shop.name,
                        "region": shop.region,
                        "code": shop.code,
                        "seller_type": shop.seller_type,
                        "orders_version": shop.orders.version,
                        "orders": list(shop.orders.orders.values()),
                        "products": list(shop.products.values()),
                        "skus": None if shop.factory is None else [asdict(s) for s in shop.factory.skus],
                    }
                    for shop in self.shops.values()
                ],
                "grants": [asdict(grant) for grant in self._grants.values()],
                "codes": {code: list(entry) for code, entry in self._codes.items()},
                "access_tokens": {token: asdict(r) for token, r in self._access.items()},
                "refresh_tokens": {token: asdict(r) for token, r in self._refresh.items()},
                "faults": [dict(fault) for fault in self._faults],
            }

    def load(self, state: dict[str, Any]) -> None:
        """Replace the whole state with one from :meth:`dump` (of a sandbox with the same app key)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unknown sandbox state version {state.get('version')!r}")
        if state.get("app_key") != self.app_key:
            raise ValueError("the saved sandbox state belongs to another app key")
        shops: dict[str, SandboxShop] = {}
        for saved in state["shops"]:
            shop = SandboxShop(
                saved["shop_id"],
                saved["cipher"],
                saved["name"],
                saved["region"],
                saved["code"],
                seller_type=saved.get("seller_type", "LOCAL"),
            )
            shop.orders.put_many(saved["orders"])
            shop.orders.version = int(saved.get("orders_version", shop.orders.version))
            shop.products = {product["id"]: product for product in saved["products"]}
            if saved.get("skus") is not None:
                skus = [SkuSpec(**sku) for sku in saved["skus"]]
                shop.factory = OrderFactory(shop.shop_id, shop.region, skus)
            shops[shop.shop_id] = shop
        with self._lock:
            self.instance = str(state.get("instance") or self.instance)
            self._ids = itertools.count(int(state["next_id"]))
            self.shops = shops
            self._by_cipher = {shop.cipher: shop for shop in shops.values()}
            self._grants = {g["grant_id"]: Grant(**g) for g in state["grants"]}
            self._codes = {code: (entry[0], int(entry[1])) for code, entry in state["codes"].items()}
            self._access = {t: TokenRecord(**r) for t, r in state["access_tokens"].items()}
            self._refresh = {t: TokenRecord(**r) for t, r in state["refresh_tokens"].items()}
            self._faults = [dict(fault) for fault in state.get("faults", [])]
            self._recent.clear()

    def _config(self) -> dict[str, Any]:
        return {
            "app_key": self.app_key,
            "webhook_url": self.webhook_url,
            "redirect_uri": self.redirect_uri,
            "qps_limit": self.qps_limit,
            "timeout_fault_seconds": self.timeout_fault_seconds,
        }


def create_app(
    app_key: str,
    app_secret: str,
    *,
    webhook_url: str | None = None,
    clock: Callable[[], float] = time.time,
    **options: Any,
) -> TikTokShopSandbox:
    """A new sandbox with empty state. ``options``: ``redirect_uri``, ``service_id``, ``qps_limit``
    (per shop, off by default), ``access_token_ttl``, ``refresh_token_ttl``,
    ``timeout_fault_seconds`` (how long a timeout fault stalls over real HTTP), ``webhook_transport``."""
    return TikTokShopSandbox(app_key, app_secret, webhook_url=webhook_url, clock=clock, **options)
